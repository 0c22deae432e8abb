//! Grids (`sweep --vary`): every point's results are exactly those of running that scenario on
//! its own, and bad paths or values are refused with what is allowed.

mod common;

use common::*;
use models::config::ArchitectureKind::{Prefork, Threaded};
use models::grid;
use models::runner::{JsonReport, run};
use models::sweep::{SweepProgress, run_scenarios};
use sim::Dist;

fn base() -> models::config::Scenario {
    let mut sc = scenario(
        40.0,
        Dist::exp(0.005).unwrap(),
        Dist::exp(0.02).unwrap(),
        2,
        vec![server(Threaded, |s| s.threads = 2), server(Prefork, |s| s.processes = 2)],
    );
    sc.run.duration_s = 60.0;
    sc.run.warmup_s = 5.0;
    sc.run.replications = 2;
    sc
}

#[test]
fn a_grid_point_is_the_scenario_run_on_its_own() {
    let sc = base();
    let varies =
        vec![grid::parse("load.rate_rps=40,80").unwrap(), grid::parse("server[threaded].threads=2..6/3").unwrap()];
    let points = grid::points(&sc, &varies).unwrap();
    assert_eq!(points.len(), 6, "2 rates × 3 thread counts");
    let scenarios: Vec<_> = points.iter().map(|(_, s)| s.clone()).collect();
    let reports = run_scenarios(&scenarios, &[0, 1], &SweepProgress::default(), &|_, _, _| {}).unwrap();
    for ((values, _), report) in points.iter().zip(&reports) {
        // The same scenario set by hand, run alone.
        let mut alone = base();
        alone.load.rate_rps = values[0];
        alone.servers[0].threads = values[1] as u32;
        let want = serde_json::to_string(&JsonReport::from_report(&run(&alone, false))).unwrap();
        let got = serde_json::to_string(&JsonReport::from_report(report)).unwrap();
        assert_eq!(got, want, "point {values:?}");
    }
    // The first --vary changes slowest; only the named server changes.
    assert_eq!(
        points.iter().map(|(v, _)| v.clone()).collect::<Vec<_>>()[..3],
        [vec![40.0, 2.0], vec![40.0, 4.0], vec![40.0, 6.0]]
    );
    assert!(points.iter().all(|(_, s)| s.servers[1].processes == 2));
}

#[test]
fn demands_and_cores_are_varied_by_their_mean_and_count() {
    let sc = base();
    let (p, v) = grid::parse("request.cpu_ms.mean=1,10").unwrap();
    let with = grid::apply(&sc, &p, v[1]).unwrap();
    assert!((with.requests[0].cpu_s.mean() - 0.010).abs() < 1e-15);
    let (p, _) = grid::parse("machine.cores=4").unwrap();
    assert_eq!(grid::apply(&sc, &p, 4.0).unwrap().machine.cores, 4);
}

#[test]
fn bad_paths_and_values_are_refused_with_what_is_allowed() {
    let sc = base();
    for (spec, says) in [
        ("server.bogus=1,2", "allowed: load.rate_rps"),
        ("load.rate_rps=9..3/3", "empty or reversed"),
        ("load.rate_rps=a,b", "not a number"),
        ("load.rate_rps", "PATH=VALUES"),
        ("load.rate_rps=1..5/1", "steps"),
    ] {
        let e = grid::parse(spec).unwrap_err().to_string();
        assert!(e.contains(says), "{spec}: {e}");
    }
    let varies = vec![grid::parse("server.threads=0").unwrap()];
    assert!(grid::points(&sc, &varies).unwrap_err().to_string().contains("whole number"));
    let varies = vec![grid::parse("server[nobody].threads=3").unwrap()];
    assert!(grid::points(&sc, &varies).unwrap_err().to_string().contains("nobody"));
    let varies = vec![grid::parse("load.users=3").unwrap()];
    assert!(grid::points(&sc, &varies).unwrap_err().to_string().contains("closed loads"));
}
