//! The open-load rate schedule and the time series that shows it.

mod common;

use common::*;
use models::config::{ArchitectureKind, RateStep};
use models::runner::{run, series_csv};
use sim::Dist;

/// A step from 50 to 200 req/s at t = 100 s and back to 50 at t = 150 s: the arrivals per second
/// in each phase match the scheduled rate. Over a 50 s phase the count is Poisson, so the mean
/// rate has sd sqrt(rate/50) (1.0 at 50/s, 2.0 at 200/s); allow 5 sd.
#[test]
fn scheduled_rate_changes_show_in_the_series() {
    let mut sc = scenario(
        50.0,
        Dist::Const(0.0),
        Dist::constant(0.001).unwrap(),
        1,
        vec![server(ArchitectureKind::Threaded, |s| s.threads = 4)],
    );
    sc.run.warmup_s = 0.0;
    sc.run.duration_s = 200.0;
    sc.run.replications = 1;
    sc.load.schedule = vec![RateStep { at_s: 100.0, rate_rps: 200.0 }, RateStep { at_s: 150.0, rate_rps: 50.0 }];
    let report = run(&sc, true);
    let series = report.servers[0].series();
    assert_eq!(series.len(), 200);
    let mean_rate =
        |from: usize, to: usize| series[from..to].iter().map(|r| r.arrived_rps).sum::<f64>() / (to - from) as f64;
    assert!((mean_rate(50, 100) - 50.0).abs() < 5.0 * 1.0, "{}", mean_rate(50, 100));
    assert!((mean_rate(100, 150) - 200.0).abs() < 5.0 * 2.0, "{}", mean_rate(100, 150));
    assert!((mean_rate(150, 200) - 50.0).abs() < 5.0 * 1.0, "{}", mean_rate(150, 200));
    let csv = series_csv(&report);
    assert_eq!(csv.lines().count(), 201);
    assert!(csv.starts_with("server,architecture,start_s,"));
}
