//! `serversim calibrate`: from points simulated with known demands (and other seeds), the fit
//! recovers those demands; bad measured files are refused with file, line and column.

mod common;

use common::*;
use models::calibrate::{self, Demands, MeasuredPoint, PointLoad};
use models::config::ArchitectureKind::Threaded;
use sim::Dist;

/// A pool of 16 threads without a GIL on 2 cores: at one connection a request takes cpu + io
/// (throughput 1 / 25 ms = 40 req/s), at 64 the two cores saturate (2 / 5 ms = 400 req/s), so
/// throughput alone pins both means; the latencies add their spread.
fn pool(cpu_ms: f64, io_ms: f64, seed: u64) -> models::config::Scenario {
    let mut sc = scenario(
        10.0,
        Dist::exp(cpu_ms / 1e3).unwrap(),
        Dist::exp(io_ms / 1e3).unwrap(),
        2,
        vec![server(Threaded, |s| {
            s.threads = 16;
            s.gil = false;
        })],
    );
    sc.run.duration_s = 120.0;
    sc.run.warmup_s = 10.0;
    sc.run.seed = seed;
    sc.run.replications = 1;
    sc
}

fn measured_from(sc: &models::config::Scenario) -> Vec<MeasuredPoint> {
    let loads = [1, 4, 16, 64].map(PointLoad::Connections);
    let blank: Vec<MeasuredPoint> = loads
        .iter()
        .enumerate()
        .map(|(i, &load)| MeasuredPoint { line: i + 2, load, throughput_rps: 1.0, p50_ms: 1.0, p99_ms: 1.0 })
        .collect();
    let sim = calibrate::simulate(sc, 0, &blank, calibrate::demands_of(sc));
    blank
        .into_iter()
        .zip(sim)
        .map(|(p, s)| MeasuredPoint { throughput_rps: s.throughput_rps, p50_ms: s.p50_ms, p99_ms: s.p99_ms, ..p })
        .collect()
}

#[test]
fn the_fit_recovers_the_demands_the_points_were_simulated_with() {
    // The "real server": 5 ms of CPU and 20 ms of waiting, seed 7. By theory its one-connection
    // throughput is 1 / 25 ms = 40 req/s and its 64-connection throughput 2 / 5 ms = 400 req/s.
    let measured = measured_from(&pool(5.0, 20.0, 7));
    assert!((measured[0].throughput_rps - 40.0).abs() < 2.0, "{:?}", measured[0]);
    assert!((measured[3].throughput_rps - 400.0).abs() < 8.0, "{:?}", measured[3]);
    // The scenario to calibrate starts far off (2 ms and 50 ms) and runs other seeds.
    let start = pool(2.0, 50.0, 99);
    let fit = calibrate::calibrate(&start, 0, &measured, 60).unwrap();
    let Demands { cpu_ms, io_ms } = fit.fitted;
    assert!((cpu_ms - 5.0).abs() < 0.05 * 5.0, "cpu {cpu_ms} ms");
    assert!((io_ms - 20.0).abs() < 0.05 * 20.0, "io {io_ms} ms");
    assert!(fit.rms_relative_error < 0.05, "rms {}", fit.rms_relative_error);
    assert!(fit.evaluations > 3 && fit.simulations == (fit.evaluations + 1) * 4);
    // The calibrated scenario carries the fitted means, each class keeping its shape.
    let calibrated = calibrate::with_demands(&start, fit.fitted);
    assert!((calibrated.requests[0].cpu_s.mean() * 1e3 - cpu_ms).abs() < 1e-9);
    assert!(matches!(calibrated.requests[0].io_s, Dist::Exp { .. }));
}

#[test]
fn bad_measured_files_name_the_file_line_and_column() {
    let ok = "concurrency,throughput_rps,p50_ms,p99_ms\n1,40,20,90\n# a comment\n\n64,400,150,400\n";
    let points = calibrate::parse_measured(ok, "m.csv").unwrap();
    assert_eq!(points.iter().map(|p| p.line).collect::<Vec<_>>(), [2, 5]);
    assert_eq!(points[1].load, PointLoad::Connections(64));
    let rate = calibrate::parse_measured(
        "rate_rps,p99_ms,p50_ms,throughput_rps,extra\n50,90,20,49.9,x\n100,120,25,99.8,y\n",
        "r.csv",
    )
    .unwrap();
    assert_eq!((rate[0].load, rate[0].p99_ms, rate[0].throughput_rps), (PointLoad::Rate(50.0), 90.0, 49.9));
    for (text, says) in [
        ("concurrency,throughput_rps,p50_ms\n1,40,20\n2,80,20\n", "m.csv:1: missing column `p99_ms`"),
        (
            "throughput_rps,p50_ms,p99_ms\n40,20,90\n",
            "m.csv:1: missing column `concurrency` (closed loops) or `rate_rps`",
        ),
        ("concurrency,rate_rps,throughput_rps,p50_ms,p99_ms\n", "both `concurrency` and `rate_rps`"),
        (
            "concurrency,throughput_rps,p50_ms,p99_ms\n1,40,20,90\n4,fast,20,90\n",
            "m.csv:3: column `throughput_rps`: `fast` is not a number",
        ),
        ("concurrency,throughput_rps,p50_ms,p99_ms\n1,40,20,90\n4,160,20\n", "m.csv:3: column `p99_ms` is missing"),
        (
            "concurrency,throughput_rps,p50_ms,p99_ms\n1.5,40,20,90\n4,160,20,90\n",
            "m.csv:2: column `concurrency`: 1.5; allowed a whole number",
        ),
        (
            "concurrency,throughput_rps,p50_ms,p99_ms\n1,40,20,10\n4,160,20,90\n",
            "m.csv:2: p99_ms 10 is below p50_ms 20",
        ),
        ("concurrency,throughput_rps,p50_ms,p99_ms\n1,40,20,90\n", "at least two are needed"),
        ("", "m.csv:1: no header line"),
    ] {
        let e = calibrate::parse_measured(text, "m.csv").unwrap_err().to_string();
        assert!(e.contains(says), "{text:?}: {e}");
    }
}
