//! Crashing requests (a segfault in a C extension) kill their whole process: one request in
//! prefork, every request in flight in a threaded server or an event loop; the process respawns
//! after `respawn_ms`, and a single-process server refuses connections meanwhile.

mod common;

use common::*;
use models::architectures::REGISTRY;
use models::config::{ArchitectureKind, Scenario};
use sim::Dist;

fn crashing(servers: Vec<models::config::ServerConfig>, rate: f64, fraction: f64) -> Scenario {
    let mut sc = scenario(rate, Dist::constant(0.002).unwrap(), Dist::exp(0.05).unwrap(), 2, servers);
    sc.requests[0].crash_fraction = fraction;
    sc.run.replications = 1;
    sc.run.duration_s = 1000.0;
    sc
}

/// Prefork: each process holds exactly one request, so every crash loses exactly one request
/// (the one that crashed), and the number of crashes is binomial(started requests, f):
/// mean f·n, sd sqrt(n f (1-f)); allow 5 sd.
#[test]
fn a_prefork_crash_loses_only_its_own_request() {
    let f = 0.01;
    let sc = crashing(vec![server(ArchitectureKind::Prefork, |s| s.processes = 8)], 50.0, f);
    let r = &run_single(&sc).runs[0];
    let c = r.counts;
    assert_eq!(c.lost_to_crashes, c.crashes, "{c:?}");
    let n = (c.completed + c.lost_to_crashes) as f64;
    assert!((c.crashes as f64 - f * n).abs() < 5.0 * (n * f * (1.0 - f)).sqrt(), "{c:?}");
    assert_conserved("prefork", r);
}

/// Requests lost per crash when a crash takes every request in the process: the crasher plus
/// the others present. Below its pool size the server is an M/G/∞ queue (2 ms of CPU serialised
/// by the GIL — an M/D/1 wait of ρS/(2(1 − ρ)) = 0.1 × 2 / 1.8 = 0.11 ms — then exp(50 ms) of
/// IO: W = 52.1 ms), so the others present at any instant are Poisson with mean λW = 2.6,
/// independent of the crasher: 1 + λW = 3.6 per crash. The restarts (the process starts empty
/// and needs about W to fill again) lower it by λE[S²]/2 = 0.13 request-seconds per ten-second
/// cycle between crashes, under 1%. Each crash's loss has the Poisson variance λW, so the mean
/// over n crashes is within 4·sqrt(λW / n) (a 4-standard-error band).
fn assert_lost_per_crash(c: &models::metrics::Counts) {
    let lambda_w = 50.0 * 0.0521;
    let per_crash = c.lost_to_crashes as f64 / c.crashes as f64;
    let tolerance = 4.0 * (lambda_w / c.crashes as f64).sqrt();
    assert!((per_crash - (1.0 + lambda_w)).abs() < tolerance, "lost per crash {per_crash} vs 3.6 ± {tolerance}: {c:?}");
}

/// Threaded: a crash takes every in-flight request with it: 1 + λW = 3.6 per crash
/// (`assert_lost_per_crash`). While the process is down (respawn 300 ms) arrivals are refused:
/// about λ·R = 15 per crash (Poisson; 5 sd).
#[test]
fn a_threaded_crash_loses_everything_in_flight_and_refuses_connections_while_down() {
    let sc = crashing(
        vec![server(ArchitectureKind::Threaded, |s| {
            s.threads = 20;
            s.respawn_s = 0.3;
        })],
        50.0,
        0.002,
    );
    let r = &run_single(&sc).runs[0];
    let c = r.counts;
    assert!(c.crashes > 30, "{c:?}");
    assert_lost_per_crash(&c);
    let expected = 50.0 * 0.3 * c.crashes as f64;
    assert!((c.rejected as f64 - expected).abs() < 5.0 * expected.sqrt(), "rejected {} vs {expected}", c.rejected);
    assert_conserved("threaded", r);
}

/// Prefork keeps its listening socket in the master: a crash refuses nobody.
#[test]
fn prefork_keeps_accepting_while_a_child_respawns() {
    let sc = crashing(
        vec![server(ArchitectureKind::Prefork, |s| {
            s.processes = 8;
            s.respawn_s = 0.3;
        })],
        50.0,
        0.01,
    );
    let c = run_single(&sc).runs[0].counts;
    assert!(c.crashes > 100);
    assert_eq!(c.rejected, 0);
}

/// An event loop loses everything it holds, including requests parked on non-blocking IO.
#[test]
fn an_event_loop_crash_loses_parked_requests_too() {
    let sc = crashing(vec![server(ArchitectureKind::EventLoop, |_| {})], 50.0, 0.002);
    let r = &run_single(&sc).runs[0];
    let c = r.counts;
    // In flight λW ≈ 2.6 (mostly parked on IO): 1 + λW = 3.6 per crash, as for threads.
    assert_lost_per_crash(&c);
    assert_conserved("event_loop", r);
}

/// Every architecture keeps its books balanced with crashes, respawns, time-outs and a backlog.
#[test]
fn crashes_keep_every_architecture_consistent() {
    for info in &REGISTRY {
        let mut s = typical_server(info, 3);
        s.respawn_s = 0.2;
        s.listen_backlog = Some(30);
        s.gil = true;
        let mut sc = crashing(vec![s], 60.0, 0.01);
        sc.requests.push(class("static", 0.2, Dist::constant(0.001).unwrap(), Dist::Const(0.0), true));
        sc.requests[1].crash_fraction = 0.01;
        sc.load.timeout_s = Some(1.0);
        sc.run.duration_s = 300.0;
        let r = &run_single(&sc).runs[0];
        assert!(r.counts.crashes > 10, "{}: {:?}", info.id, r.counts);
        assert!(r.counts.lost_to_crashes <= r.counts.failed);
        assert_conserved(info.id, r);
    }
}
