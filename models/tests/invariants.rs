//! Properties every architecture must have, checked by iterating the registry: Little's law,
//! request conservation, determinism, common random numbers, and bounded behaviour under
//! overload.

mod common;

use common::*;
use models::architectures::REGISTRY;
use models::config::ArchitectureKind;
use models::runner::{JsonReport, run};
use sim::Dist;

/// A mixed workload (static and dynamic, CPU and IO, pages that make three blocking calls)
/// that every architecture can serve.
fn mixed(sc: &mut models::config::Scenario) {
    let page = models::config::RequestClass {
        io_calls: 3,
        ..class("page", 0.7, Dist::exp(0.004).unwrap(), Dist::exp(0.03).unwrap(), false)
    };
    sc.requests = vec![
        page,
        class("api", 0.2, Dist::lognormal(0.002, 1.5).unwrap(), Dist::constant(0.01).unwrap(), false),
        class("static", 0.1, Dist::constant(0.0005).unwrap(), Dist::constant(0.0).unwrap(), true),
    ];
}

/// Little's law L = X·W holds on every sample path up to boundary terms: requests present at the
/// start or end of the measured interval, about (N(start) + N(end)) · W / T in absolute terms —
/// under 0.1% of L here (N ≈ 10, W ≈ 0.05 s, T = 1000 s). Allow 1%.
#[test]
fn littles_law_for_every_architecture() {
    for info in &REGISTRY {
        let mut sc = scenario(100.0, Dist::Const(0.0), Dist::Const(0.0), 2, vec![typical_server(info, 8)]);
        mixed(&mut sc);
        sc.servers[0].gil = true;
        sc.run.replications = 1;
        sc.run.duration_s = 1000.0;
        let r = run_single(&sc);
        let run = &r.runs[0];
        let l = run.mean_in_system;
        let xw = run.throughput_rps * run.latency.mean_ms() / 1e3;
        assert!(run.counts.completed > 50_000, "{}: too few completions", info.id);
        assert!((l - xw).abs() <= 0.01 * l, "{}: L = {l:.4} but X·W = {xw:.4}", info.id);
    }
}

/// Every request is accounted for exactly once, even with a bounded backlog, client time-outs,
/// a daemon queue time-out and overload: arrived = completed + rejected + timed_out + failed +
/// in_flight_at_end.
#[test]
fn requests_are_conserved_for_every_architecture() {
    for info in &REGISTRY {
        let mut server = typical_server(info, 3);
        server.listen_backlog = Some(20);
        if info.kind == ArchitectureKind::Daemon {
            server.queue_timeout_s = Some(0.2);
        }
        let mut sc = scenario(400.0, Dist::Const(0.0), Dist::Const(0.0), 2, vec![server]);
        mixed(&mut sc);
        sc.load.timeout_s = Some(0.5);
        sc.run.replications = 2;
        sc.run.duration_s = 200.0;
        let r = run_single(&sc);
        for run in &r.runs {
            assert_conserved(info.id, run);
            let c = run.counts;
            assert!(c.rejected + c.timed_out + c.failed > 0, "{}: overload should lose requests", info.id);
        }
    }
}

/// The same scenario and seed give byte-identical JSON, whatever the number of worker threads.
#[test]
fn runs_are_deterministic() {
    let sc = models::scenario::default_scenario();
    let a = serde_json::to_string(&JsonReport::from_report(&run(&sc, true))).unwrap();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let b = pool.install(|| serde_json::to_string(&JsonReport::from_report(&run(&sc, true))).unwrap());
    assert_eq!(a, b);
    let mut other = sc.clone();
    other.run.seed += 1;
    let c = serde_json::to_string(&JsonReport::from_report(&run(&other, false))).unwrap();
    assert_ne!(a, c, "a different seed must give different results");
}

/// Common random numbers: two identical servers in one scenario see the same arrivals and
/// demands, so their results are identical; and every server sees the same arrival count.
#[test]
fn identical_servers_get_identical_results() {
    let mut sc = models::scenario::default_scenario();
    let mut twin = sc.servers[0].clone();
    twin.name = "twin".into();
    sc.servers.push(twin);
    let report = run(&sc, false);
    let json = serde_json::to_value(JsonReport::from_report(&report)).unwrap();
    let servers = json["servers"].as_array().unwrap();
    let (first, last) = (&servers[0], servers.last().unwrap());
    for key in ["requests", "throughput_rps", "latency_ms", "wait_ms", "utilization", "memory_mb"] {
        assert_eq!(first[key], last[key], "{key}");
    }
    let arrived: Vec<u64> = report.servers.iter().map(|s| s.runs[0].counts.arrived).collect();
    assert!(arrived.windows(2).all(|w| w[0] == w[1]), "{arrived:?}");
}

/// Offered load far beyond capacity: the run finishes, warns, and reports the growing queue.
/// One thread serving 10 ms of IO has capacity 100 req/s; offer 300 req/s for 100 s: about
/// 20,000 requests must be left waiting ((300 - 100) × 100).
#[test]
fn overload_finishes_warns_and_reports_the_queue() {
    let mut sc = scenario(
        300.0,
        Dist::Const(0.0),
        Dist::constant(0.01).unwrap(),
        1,
        vec![server(ArchitectureKind::Threaded, |s| s.threads = 1)],
    );
    sc.run.duration_s = 100.0;
    sc.run.warmup_s = 0.0;
    sc.run.replications = 1;
    let r = run_single(&sc);
    assert!(!r.warnings.is_empty());
    let waiting = r.runs[0].waiting_at_end as f64;
    // Poisson arrivals over 100 s: sd of the count ≈ sqrt(30000) ≈ 173; allow 5 sd.
    assert!((waiting - 20_000.0).abs() < 5.0 * 173.0, "waiting at end: {waiting}");
    assert!((r.runs[0].throughput_rps - 100.0).abs() < 1.0);
}

/// A model that loops forever at one instant (a closed load with zero think time and zero-work
/// requests, which scenario files refuse) is cut short with a warning instead of hanging.
#[test]
fn a_run_stuck_at_one_instant_stops_with_a_warning() {
    let mut sc = scenario(
        0.0,
        Dist::Const(0.0),
        Dist::Const(0.0),
        1,
        vec![server(ArchitectureKind::Threaded, |s| s.threads = 1)],
    );
    sc.load.arrival = models::config::Arrival::Closed { users: 1, think_s: Dist::Const(0.0) };
    sc.run.replications = 1;
    let r = run_single(&sc);
    let stop = r.runs[0].stopped.expect("stopped early");
    assert_eq!((stop.at_s, stop.reason), (0.0, models::metrics::StopReason::Stalled));
    assert!(r.warnings.iter().any(|w| w.contains("stopped advancing")), "{:?}", r.warnings);
}

/// One thread serving 10 ms of IO offered 1,000 req/s for 10,000 s after `warmup_s`, run with
/// an in-system cap of 50,000: the scenario and its (early-stopped) result.
fn diverging(warmup_s: f64) -> (models::config::Scenario, models::metrics::RunResult) {
    let mut sc = scenario(
        1_000.0,
        Dist::Const(0.0),
        Dist::constant(0.01).unwrap(),
        1,
        vec![server(ArchitectureKind::Threaded, |s| s.threads = 1)],
    );
    sc.run.duration_s = 10_000.0;
    sc.run.warmup_s = warmup_s;
    let control = models::runner::RunControl { max_in_system: 50_000, ..Default::default() };
    let r = models::runner::run_one_with(&sc, 0, 0, false, &control);
    (sc, r)
}

/// An unlimited queue under overload stops at the in-system cap instead of growing until the
/// simulator runs out of memory. One thread, 10 ms of IO (capacity 100 req/s), offered 1,000
/// req/s: the queue grows by 900 a second and passes a cap of 50,000 after about 56 s.
#[test]
fn a_diverging_queue_stops_at_the_cap_with_a_warning() {
    let (sc, r) = diverging(0.0);
    let stop = r.stopped.expect("stopped early");
    assert_eq!(stop.reason, models::metrics::StopReason::Diverged);
    // Checks come every CHECK_EVENTS (1 million) events, about 909 s of this model (1,000
    // arrivals + 100 completions a second), so the first check after 56 s is at about 909 s:
    // long before the 10,000 s end, with the queue over the cap.
    assert!(stop.at_s > 50.0 && stop.at_s < 1_100.0, "stopped at {}", stop.at_s);
    assert!(r.in_system_at_end > 50_000, "{}", r.in_system_at_end);
    assert!((r.throughput_rps - 100.0).abs() < 2.0, "{}", r.throughput_rps);
    // The report says so.
    let report = models::runner::ServerReport::new(&sc, 0, vec![r]);
    assert!(report.warnings.iter().any(|w| w.contains("diverges")), "{:?}", report.warnings);
}

/// An interrupt stops every simulation at its next check; the results cover the time before it.
#[test]
fn an_interrupted_run_reports_what_it_simulated() {
    let mut sc = scenario(
        100.0,
        Dist::Const(0.0),
        Dist::constant(0.01).unwrap(),
        1,
        vec![server(ArchitectureKind::Threaded, |s| s.threads = 4)],
    );
    sc.run.duration_s = 1e6;
    sc.run.warmup_s = 0.0;
    use std::sync::atomic::Ordering;
    // Interrupted before it starts: it stops at once, having simulated nothing.
    let control = models::runner::RunControl::default();
    control.interrupt.store(true, Ordering::Relaxed);
    let r = models::runner::run_one_with(&sc, 0, 0, false, &control);
    let stop = r.stopped.expect("stopped early");
    assert_eq!((stop.at_s, stop.reason), (0.0, models::metrics::StopReason::Interrupted));
    assert_eq!(r.counts.arrived, 0);
    // Interrupted while running (once the first 1-million-event chunk, about 5,000 s at 200
    // events a second, has reported progress): it stops at a later check, long before the
    // 1,000,000 s end, with the throughput of what it simulated (100 req/s offered).
    let control = models::runner::RunControl::default();
    let r = std::thread::scope(|s| {
        s.spawn(|| {
            while control.done_ms.load(Ordering::Relaxed) == 0 {
                std::thread::yield_now();
            }
            control.interrupt.store(true, Ordering::Relaxed);
        });
        models::runner::run_one_with(&sc, 0, 0, false, &control)
    });
    let stop = r.stopped.expect("stopped early");
    assert_eq!(stop.reason, models::metrics::StopReason::Interrupted);
    assert!(stop.at_s > 1_000.0 && stop.at_s < 500_000.0, "{}", stop.at_s);
    assert!((r.throughput_rps - 100.0).abs() < 2.0, "{}", r.throughput_rps);
}

/// A run stopped before its warm-up ends counted nothing, and its averages cover [0, stop]
/// instead of dividing by a zero span. The diverging model above with a 2,000 s warm-up stops
/// at its first check, about 909 s in, with a queue growing at 900 a second from empty: the mean
/// number inside is about 900 × T / 2.
#[test]
fn a_run_stopped_during_warm_up_reports_finite_averages() {
    let (sc, r) = diverging(2_000.0);
    let stop = r.stopped.expect("stopped early");
    assert!(stop.at_s < sc.run.warmup_s, "{}", stop.at_s);
    assert_eq!(r.counts.arrived, 0, "nothing is counted during warm-up");
    let expected = 900.0 * stop.at_s / 2.0;
    assert!((r.mean_in_system - expected).abs() < 0.05 * expected, "{} vs {expected}", r.mean_in_system);
    for v in [r.cpu_utilization, r.worker_utilization, r.memory_mean_mb, r.mean_waiting] {
        assert!(v.is_finite() && (0.0..=1e7).contains(&v), "{v}");
    }
    assert!((r.worker_utilization - 1.0).abs() < 1e-3, "the one thread is always busy");
    let report = models::runner::ServerReport::new(&sc, 0, vec![r]);
    assert!(report.warnings.iter().any(|w| w.contains("still in the warm-up")), "{:?}", report.warnings);
}
