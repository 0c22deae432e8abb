//! Bad code and process life cycle: infinite loops with and without a watchdog, waits that never
//! return, memory leaks with and without `max_requests` recycling, and memory hogs.

mod common;

use common::*;
use models::config::{ArchitectureKind, Hang, Scenario};
use models::metrics::Level;
use sim::Dist;

fn prefork(processes: u32, f: impl FnOnce(&mut models::config::ServerConfig)) -> models::config::ServerConfig {
    server(ArchitectureKind::Prefork, |s| {
        s.processes = processes;
        f(s);
    })
}

fn one_run(sc: &Scenario) -> models::metrics::RunResult {
    run_single(sc).runs.into_iter().next().unwrap()
}

fn base(rate: f64, server: models::config::ServerConfig) -> Scenario {
    let mut sc = scenario(rate, Dist::exp(0.01).unwrap(), Dist::Const(0.0), 2, vec![server]);
    sc.run.replications = 1;
    sc.run.warmup_s = 0.0;
    sc.run.duration_s = 300.0;
    sc
}

/// Without a watchdog, every infinite loop keeps its prefork child forever: with 1% of requests
/// hanging at 20 req/s, the fourth hang (after ~400 requests, ~20 s) leaves no process free and
/// the server answers nothing more. The four loops keep both cores busy to the end.
#[test]
fn infinite_loops_without_a_watchdog_take_every_process() {
    let mut sc = base(20.0, prefork(4, |_| {}));
    sc.requests[0].hang_fraction = 0.01;
    let r = models::runner::run(&sc, true).servers.remove(0).runs.remove(0);
    assert!(r.counts.completed < r.counts.arrived / 4, "{:?}", r.counts);
    let last = r.series.last().expect("series");
    assert!((last.cpu_utilization - 1.0).abs() < 1e-9, "the loops burn both cores: {}", last.cpu_utilization);
    assert_eq!(last.completed_rps, 0.0);
}

/// With a 2 s watchdog every hanging request is killed with its child (prefork: one request per
/// kill) and the server keeps serving. Hanging requests are binomial(n, 1%): allow 5 sd.
#[test]
fn a_watchdog_kills_infinite_loops_and_keeps_the_server_alive() {
    let mut sc = base(20.0, prefork(4, |s| s.request_timeout_s = Some(2.0)));
    sc.requests[0].hang_fraction = 0.01;
    let r = one_run(&sc);
    let c = r.counts;
    assert!(c.completed as f64 > 0.95 * c.arrived as f64, "{c:?}");
    assert_eq!(c.lost_to_crashes, c.kills, "prefork loses exactly the hung request per kill");
    let n = (c.completed + c.kills) as f64;
    assert!((c.kills as f64 - 0.01 * n).abs() < 5.0 * (n * 0.01 * 0.99).sqrt(), "{c:?}");
    assert_eq!(c.crashes, 0, "kills are not counted as crashes");
    assert_conserved("prefork with watchdog", &r);
}

/// In a threaded server the watchdog must restart the whole process: a wait that never returns
/// costs every other request in flight too. Besides the hung request, the process is an M/G/∞
/// queue (9 free threads for L = λW = 20 × 0.21 = 4.2; Poisson(4.2) exceeds 9 only 1.4% of the
/// time), so a kill loses the hung request, Poisson(4.2) others, and any other hang still
/// waiting (0.005 × 20 × 1 s = 0.1): 5.3 per kill, less about 2% because each restart starts
/// empty (λE[S²]/2 = 0.84 request-seconds per ten-second cycle, of 42) — 5.2. Each kill's loss
/// has variance ≈ 4.2, so the mean over n kills is within 4·sqrt(4.2 / n).
#[test]
fn a_watchdog_in_a_threaded_server_loses_the_other_requests_too() {
    let mut sc = base(
        20.0,
        server(ArchitectureKind::Threaded, |s| {
            s.threads = 10;
            s.request_timeout_s = Some(1.0);
        }),
    );
    sc.requests[0].io_s = Dist::exp(0.2).unwrap(); // L ≈ 20 × 0.21 ≈ 4 in flight
    sc.requests[0].hang_fraction = 0.005;
    sc.requests[0].hang = Hang::Io;
    let r = one_run(&sc);
    let c = r.counts;
    assert!(c.kills > 10, "{c:?}");
    let per_kill = c.lost_to_crashes as f64 / c.kills as f64;
    let tolerance = 4.0 * (4.2 / c.kills as f64).sqrt();
    assert!((per_kill - 5.2).abs() < tolerance, "lost per kill {per_kill} vs 5.2 ± {tolerance}: {c:?}");
    assert_conserved("threaded with watchdog", &r);
}

/// A leak with no recycling: every finished request leaves 1 MB in its process, so at the end the
/// server holds exactly its base memory plus 1 MB per request served.
#[test]
fn a_leak_grows_memory_by_exactly_what_was_served() {
    let mut sc = base(20.0, prefork(2, |s| s.process_mb = 30.0));
    sc.requests[0].leak_kb = 1024.0;
    sc.run.duration_s = 100.0;
    let mut sim = models::architectures::simulation(&sc, 0, 0, false);
    sim.run_until(100.0);
    let core = &sim.model.core;
    let served = core.recorder.counts().completed as f64;
    let memory = core.recorder.level(Level::MemoryMb);
    assert!((memory - (60.0 + served)).abs() < 1e-6, "memory {memory} MB after {served} requests");
}

/// The same leak with `max_requests = 50`: each child is recycled after 50 requests, releasing
/// what leaked, so memory never exceeds the base plus 50 MB per child, and the number of recycles
/// is the number of complete batches of 50 (served / 50, less at most one partial batch each).
#[test]
fn max_requests_recycles_leaking_processes() {
    let mut sc = base(
        20.0,
        prefork(2, |s| {
            s.process_mb = 30.0;
            s.max_requests = Some(50);
        }),
    );
    sc.requests[0].leak_kb = 1024.0;
    let r = one_run(&sc);
    assert!(r.memory_peak_mb <= 60.0 + 2.0 * 50.0 + 1e-6, "peak {}", r.memory_peak_mb);
    let batches = r.counts.completed as f64 / 50.0;
    assert!(r.counts.recycles as f64 <= batches && r.counts.recycles as f64 >= batches - 2.0, "{:?}", r.counts);
    assert_conserved("recycling", &r);
}

/// Recycling is not free: with `spawn_ms = 500` each restart burns half a CPU-second. With
/// `max_requests = 20` at λ = 20 req/s a child is recycled λ / 20 = 1 time per second, so the
/// busy cores are λ × 10 ms + 1 × 0.5 = 0.2 + 0.5 = 0.7 — derived from the load, not from the
/// run's own recycle count.
/// Tolerance: over 600 s the CPU-seconds are the requests' compound Poisson sum (variance
/// λT·E[X²] = 12,000 × 2 × 10⁻⁴ = 2.4 s², sd 1.5 s) plus N/40 for the spawns (variance
/// 12,000 / 1,600 = 7.5 s², sd 2.7 s); the two move together through N, so the sd is at most
/// 4.3 s of 420 s, 1.0%. Four of those, plus the edges (each child's last partial batch and the
/// first spawns, ≤ 4 × 0.5 s = 0.5%), is under 5%.
#[test]
fn recycling_costs_spawn_cpu() {
    let mut sc = base(
        20.0,
        prefork(4, |s| {
            s.max_requests = Some(20);
            s.spawn_s = 0.5;
        }),
    );
    sc.run.duration_s = 600.0;
    let r = one_run(&sc);
    let busy_cores = r.cpu_utilization * 2.0;
    let expected = 20.0 * 0.01 + (20.0 / 20.0) * 0.5;
    assert!((busy_cores - expected).abs() < 0.05 * expected, "busy {busy_cores} vs {expected}");
}

/// A memory hog holds its allocation while it runs: by Little's law the mean extra memory is
/// λ × time in progress × 100 MB = 10 × 0.06 × 100 = 60 MB.
#[test]
fn a_memory_hog_holds_memory_while_it_runs() {
    let mut sc = scenario(10.0, Dist::exp(0.01).unwrap(), Dist::exp(0.05).unwrap(), 2, vec![prefork(8, |_| {})]);
    sc.requests[0].memory_hog_mb = 100.0;
    let r = run_single(&sc);
    assert_agrees("mean memory (MB)", r.estimate(|x| x.memory_mean_mb), 60.0, 4.0);
}

/// A machine that swaps the whole time (a 60 MB process in 50 MB of memory, swap to spare) runs
/// every CPU-second k times slower: an event loop with exponential CPU at 10 ms is M/M/1 with
/// service rate 100/k, so W = 1 / (100/k − λ): with k = 3 and λ = 20, W = 75 ms.
#[test]
fn swapping_slows_the_cpu_by_the_configured_factor() {
    let mut sc = scenario(
        20.0,
        Dist::exp(0.01).unwrap(),
        Dist::Const(0.0),
        1,
        vec![server(ArchitectureKind::EventLoop, |s| s.process_mb = 60.0)],
    );
    sc.machine.memory_mb = Some(50.0);
    sc.machine.swap_mb = 1000.0;
    sc.machine.swap_slowdown = 3.0;
    let r = run_single(&sc);
    assert_agrees(
        "mean response while swapping (ms)",
        r.estimate(|x| x.latency.mean_ms()),
        1e3 / (100.0 / 3.0 - 20.0),
        4.0,
    );
    assert!(r.runs.iter().all(|x| (x.swapped_fraction - 1.0).abs() < 1e-12));
}

/// The OOM killer caps a leak: 4 prefork children of 30 MB in 200 MB with no swap, each request
/// leaking 1 MB. Whenever the total passes 200 MB the largest child is killed (and respawned with
/// nothing leaked), so memory never exceeds the limit by more than the 1 MB of one leak.
#[test]
fn the_oom_killer_caps_a_leak() {
    let mut sc = base(20.0, prefork(4, |s| s.process_mb = 30.0));
    sc.requests[0].leak_kb = 1024.0;
    sc.machine.memory_mb = Some(200.0);
    let r = one_run(&sc);
    assert!(r.counts.oom_kills > 10, "{:?}", r.counts);
    assert!(r.memory_peak_mb <= 201.0 + 1e-9, "peak {}", r.memory_peak_mb);
    assert_conserved("oom", &r);
}
