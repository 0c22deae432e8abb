//! The GIL convoy: a thread coming back from a blocking call waits up to a switch interval for
//! the GIL held by a CPU-bound thread (CPython issue bpo-7946; D. Beazley, "Understanding the
//! Python GIL", 2010), and every hand-off to a sleeping thread costs a context switch
//! (`gil_switch_cost_ms`). Requests make `io_calls` blocking calls. Every expected number is a
//! hand calculation in the test's comment.

mod common;

use common::*;
use models::architectures::REGISTRY;
use models::runner::run_one;
use models::scenario::parse;
use sim::Dist;

/// Switch interval and hand-off cost of these tests, ms.
const S_MS: f64 = 5.0;
const C_MS: f64 = 0.05;

fn scenario(run: &str, load: &str, request: &str, server: &str) -> models::config::Scenario {
    let text = format!(
        "[run]\n{run}\n[machine]\ncores = 2\n[load]\n{load}\n[[request]]\n{request}\n[[server]]\n{server}\ngil = true\ngil_switch_ms = {S_MS}\ngil_switch_cost_ms = {C_MS}\n"
    );
    parse(&text, "gil-convoy-test.toml").expect("valid test scenario")
}

#[test]
fn a_thread_back_from_io_waits_one_switch_interval_behind_a_cpu_hog() {
    // A threaded server with a GIL and 2 threads. Requests arrive every 0.5 s; each makes 10
    // blocking calls of 1 ms, each after 0.01 ms of CPU. One request in 50 loops for ever on the
    // CPU (a hog that never gives the GIL up by itself).
    //
    // Before the first hog, a request runs alone: 10 × (0.01 + 1) = 10.1 ms.
    // With one hog on the other thread, each of its 10 calls goes: ask for the GIL and wait,
    // alone, one switch interval s (nothing changes hands meanwhile, so it then forces a switch);
    // take it, paying the hand-off c, and run 0.01 ms; give it back (the hog, waiting, takes it);
    // block 1 ms. So 10 × (s + c + 0.01 + 1) = 10 × (5 + 0.05 + 1.01) = 60.6 ms: six times
    // slower, on an idle second core. (A model where the waiter waited for the hog's stale
    // interval would give about 10 × 2s = 100 ms; one without a switch cost 60.1 ms.)
    // A second hog takes the second thread and nothing completes any more.
    // Requests are 0.5 s apart and take at most 61 ms, so each 0.5 s window of the series holds
    // at most one completion and its p50 is that request's latency.
    let sc = scenario(
        "duration_s = 400.0\nwarmup_s = 0.0\nwindow_s = 0.5\nseed = 3",
        "arrival = \"uniform\"\nrate_rps = 2.0",
        "cpu_ms = 0.1\nio_ms = 10.0\nio_calls = 10\nhang_fraction = 0.02\nhang = \"cpu\"",
        "architecture = \"threaded\"\nthreads = 2",
    );
    let r = run_one(&sc, 0, 0, true);
    let (fast, slow) = (10.1, 10.0 * (S_MS + C_MS + 1.01));
    let (mut n_fast, mut n_slow, mut other) = (0, 0, Vec::new());
    let mut seen_slow = false;
    for w in r.series.iter().filter(|w| w.completed_rps > 0.0) {
        let l = w.latency_p50_ms;
        if (l - fast).abs() < 1e-6 {
            n_fast += 1;
            assert!(!seen_slow, "a fast request after the hog at {} s: {l} ms", w.start_s);
        } else if (l - slow).abs() < 1e-6 {
            n_slow += 1;
            seen_slow = true;
        } else {
            other.push((w.start_s, l));
        }
    }
    assert!(n_fast >= 10 && n_slow >= 10, "fast {n_fast}, slow {n_slow}: the seed should give both");
    // At most the request in progress when the first hog arrives is neither.
    assert!(other.len() <= 1, "requests that are neither {fast} nor {slow} ms: {other:?}");
}

#[test]
fn forced_switches_cost_cpu_by_hand() {
    // Two users with no think time on 2 threads under a GIL, each request 100 ms of CPU and no
    // IO: the GIL is always wanted by both. Every turn begins with a hand-off to a thread that
    // was asleep (cost c of CPU) and ends s after it began, when the waiter forces a switch —
    // unless the holder's request finishes first. So a request gets full turns of s − c = 4.95
    // ms of its own work: k = floor(100 / 4.95) = 20 of them, then a last turn of c + the
    // remaining 100 − 20 × 4.95 = 1 ms. The GIL is never idle, so each request takes 20 × 5 +
    // 1.05 = 101.05 ms of GIL time and the server completes 1 / 0.10105 = 9.896 req/s. With no
    // cost it would be exactly 10.
    let sc = |cost_ms: f64| {
        let mut sc = scenario(
            "duration_s = 300.0\nwarmup_s = 10.0",
            "arrival = \"closed\"\nusers = 2\nthink_ms = 0.0",
            "cpu_ms = 100.0",
            "architecture = \"threaded\"\nthreads = 2",
        );
        sc.servers[0].gil_switch_cost_s = cost_ms / 1e3;
        sc
    };
    let (k, rest) = ((100.0 / (S_MS - C_MS)).floor(), 100.0 - (100.0 / (S_MS - C_MS)).floor() * (S_MS - C_MS));
    let want = 1e3 / (k * S_MS + C_MS + rest);
    // Counted are the requests that arrive in the 300 s after warm-up and complete in them: the
    // two users' arrivals are 300·X ± 1 each, and at most their two last are still in progress
    // at the end, so the count is within [300·X − 4, 300·X + 2].
    let within = |x: f64, want: f64| (-4.01..=2.01).contains(&(300.0 * (x - want)));
    let with = run_one(&sc(C_MS), 0, 0, false).throughput_rps;
    assert!(within(with, want), "with the switch cost: {with} req/s, want {want}");
    let without = run_one(&sc(0.0), 0, 0, false).throughput_rps;
    assert!(within(without, 10.0), "without: {without} req/s, want 10");
}

#[test]
fn calls_leave_a_lone_request_unchanged_in_every_architecture() {
    // One request at a time (every 2 s), 4 ms of CPU and 40 ms of IO made as 8 calls: with no
    // one to wait for, its latency is the sum of its work, 44 ms, however it is split — in every
    // architecture, with the GIL or without.
    for info in &REGISTRY {
        for calls in [1, 8] {
            let mut sc = common::scenario(
                0.5,
                Dist::constant(0.004).unwrap(),
                Dist::constant(0.04).unwrap(),
                2,
                vec![typical_server(info, 2)],
            );
            sc.load.arrival = models::config::Arrival::Uniform;
            sc.requests[0].io_calls = calls;
            sc.servers[0].gil = true;
            sc.run.replications = 1;
            sc.run.duration_s = 200.0;
            sc.run.warmup_s = 0.0;
            if info.kind == models::config::ArchitectureKind::Cgi {
                sc.servers[0].startup_s = 0.0;
            }
            let r = run_one(&sc, 0, 0, false);
            let (lo, hi) = (r.latency.quantile_ms(0.0), r.latency.quantile_ms(1.0));
            assert!(r.counts.completed >= 99, "{} with {calls} calls: {} completed", info.id, r.counts.completed);
            assert!((lo - 44.0).abs() < 0.1 && (hi - 44.0).abs() < 0.1, "{} with {calls} calls: {lo}–{hi} ms", info.id);
        }
    }
}
