//! Output buffering and backpressure: a client that keeps sending requests but never reads the
//! responses (`reads = false`), against unbounded and bounded (`output_buffer_kb`) write
//! buffers; and bounded buffers in a daemon front-end pushing slow clients back onto the
//! daemons. Expected numbers are hand calculations in each test's comment.

use models::runner::{capacity, run_one};
use models::scenario::parse;

/// 10 requests/s evenly spaced, 10% from a client that never reads; 1 ms of CPU and a 100 KB
/// response each; readers on a fast link. `extra` goes into `[machine]`, `server` is one server.
fn attacked(duration_s: f64, machine: &str, server: &str) -> models::config::Scenario {
    let text = format!(
        r#"
[run]
duration_s = {duration_s}
warmup_s = 0.0
[machine]
cores = 2
{machine}
[load]
arrival = "uniform"
rate_rps = 10.0
[[load.clients]]
name = "readers"
weight = 0.9
bandwidth_kbps = 1000000000.0
[[load.clients]]
name = "attacker"
weight = 0.1
bandwidth_kbps = 1000000000.0
reads = false
[[request]]
cpu_ms = 1.0
response_kb = 100.0
[[server]]
{server}
"#
    );
    parse(&text, "slow-reader-test.toml").expect("valid test scenario")
}

fn close_to(what: &str, got: f64, want: f64, rel: f64) {
    assert!((got - want).abs() <= rel * want, "{what}: got {got}, expected {want} (±{:.0}%)", rel * 100.0);
}

// Statistics: which client sends each request is a coin flip (p = 0.1), so after n requests the
// attacker has sent Binomial(n, 0.1): over 10,000 requests 1,000 ± 30 (3%). The tolerances below
// are 10%, over three standard deviations.

#[test]
fn an_unbounded_buffer_grows_linearly_with_what_is_never_read() {
    // Twisted: every response to the attacker stays in the loop's buffer. 1 attack request/s ×
    // 100 KB = 100/1024 MB/s = 0.0977 MB/s on top of the 50 MB process: after 1000 s the process
    // holds 50 + 97.7 = 147.7 MB; averaged over the run, 50 + 97.7/2 = 98.8 MB.
    let r = run_one(&attacked(1000.0, "", "architecture = \"event_loop\"\nprocess_mb = 50.0\n"), 0, 0, false);
    close_to("peak memory growth", r.memory_peak_mb - 50.0, 97.66, 0.10);
    close_to("mean memory growth", r.memory_mean_mb - 50.0, 48.83, 0.10);
    // The buffers are the loop process's own memory.
    close_to("largest process growth", r.largest_process_mean_mb - 50.0, 48.83, 0.10);
    // None of the attacker's ~1000 requests ever completes; every reader's does.
    close_to("requests still inside", r.in_system_at_end as f64, 1000.0, 0.10);
    close_to("readers answered", r.counts.completed as f64, 9000.0, 0.05);
}

#[test]
fn a_bounded_buffer_stops_reading_and_holds_memory_flat() {
    // output_buffer_kb = 64: the first attack response fills the connection's buffer (64 of its
    // 100 KB) and the loop stops reading the connection. Each request read holds 100 KB of
    // working memory (memory_kb) for as long as it is inside, so had the loop kept reading the
    // attacker, memory would grow 0.1 MB/s. It stays at 50 MB + 64 KB of buffer + the one attack
    // request read (100 KB), + at most a reader's 64 KB and 100 KB for the instant it is in flight.
    let r = run_one(
        &attacked(
            1000.0,
            "",
            "architecture = \"event_loop\"\nprocess_mb = 50.0\nmemory_kb = 100\noutput_buffer_kb = 64\n",
        ),
        0,
        0,
        false,
    );
    assert!(r.memory_peak_mb <= 50.0 + (64.0 + 100.0) * 2.0 / 1024.0 + 1e-9, "peak {} MB", r.memory_peak_mb);
    assert!(r.memory_mean_mb <= 50.0 + (64.0 + 100.0) / 1024.0 + 1e-3, "mean {} MB", r.memory_mean_mb);
    // The attacker's requests wait unread in its connection; the readers are served.
    close_to("requests still inside", r.in_system_at_end as f64, 1000.0, 0.10);
    close_to("readers answered", r.counts.completed as f64, 9000.0, 0.05);
}

#[test]
fn past_memory_and_swap_the_oom_killer_takes_the_loop() {
    // 100 MB of memory, no swap: the 50 MB loop grows 0.0977 MB/s and crosses 100 MB after
    // 50 / 0.0977 = 512 s; the OOM killer kills it (losing everything inside: the ~512 attack
    // requests in its buffer and whatever readers' requests it held), it respawns at once with
    // empty buffers and grows again. In 1800 s: kills at ~512, ~1024, ~1536 s = 3.
    let r = run_one(
        &attacked(1800.0, "memory_mb = 100.0", "architecture = \"event_loop\"\nprocess_mb = 50.0\n"),
        0,
        0,
        true,
    );
    assert_eq!(r.counts.oom_kills, 3, "OOM kills");
    // The series has them where they happened (no warm-up: the totals match).
    let kills: f64 = r.series.iter().map(|w| w.oom_kills).sum();
    let lost: f64 = r.series.iter().map(|w| w.lost_to_crashes_rps * w.width_s).sum();
    assert_eq!(kills, 3.0);
    assert!((lost - r.counts.lost_to_crashes as f64).abs() < 1e-6, "lost {lost} vs {:?}", r.counts);
    // Each kill comes when the buffer holds one response too many: 50 MB + n × 100 KB > 100 MB
    // first at n = 513, all lost with the loop, plus at most one reader's request in the loop
    // at that instant (readers hold it 1 ms of every 100 ms). The count is fixed by memory, not
    // by chance: 3 × 513 = 1539, up to 3 more.
    let lost = r.counts.lost_to_crashes;
    assert!((1539..=1542).contains(&lost), "requests lost to the kills: {lost}, expected 3 × 513 (+ ≤ 3 readers)");
    assert!(r.memory_peak_mb <= 100.0 + 0.2, "peak {} MB", r.memory_peak_mb);
}

#[test]
fn a_blocking_worker_sticks_on_the_first_response_that_does_not_fit() {
    // A threaded server writes into a 64 KB socket buffer: the first 100 KB attack response does
    // not fit, so its worker blocks writing for ever, and nothing more is read from the
    // attacker's connection. Busy workers: that 1, plus readers 9/s × 1 ms = 0.009.
    let r = run_one(
        &attacked(1000.0, "", "architecture = \"threaded\"\nthreads = 10\nsocket_buffer_kb = 64\n"),
        0,
        0,
        false,
    );
    // The first attack request comes within the first few seconds (p = 0.1 per request at
    // 10/s), so the stuck worker is there for ~99% of the run.
    close_to("busy workers", r.worker_utilization * 10.0, 1.009, 0.03);
    close_to("readers answered", r.counts.completed as f64, 9000.0, 0.05);
}

/// Daemon front-end with `daemons` × 10 threads; every client on a 1000 kbit/s link; 5 req/s
/// Poisson; 10 ms CPU and a 100 KB response (0.8 s to send).
fn slow_clients_behind_a_front_end(buffer: &str) -> models::config::Scenario {
    let text = format!(
        r#"
[run]
duration_s = 4000.0
warmup_s = 100.0
[machine]
cores = 2
[load]
arrival = "poisson"
rate_rps = 5.0
[[load.clients]]
name = "dsl"
bandwidth_kbps = 1000.0
[[request]]
cpu_ms = 10.0
response_kb = 100.0
[[server]]
architecture = "daemon"
daemons = 1
threads = 10
frontend_mb = 10.0
{buffer}
"#
    );
    parse(&text, "backpressure-test.toml").expect("valid test scenario")
}

#[test]
fn a_small_front_end_buffer_hands_slow_clients_back_to_the_daemons() {
    // Tolerances: each quantity is the time average over T = 4000 s of an M/G/∞ count (requests
    // in a phase of fixed length D, Poisson arrivals at λ = 5/s; the daemon threads rarely queue),
    // whose variance is λD²/T: relative standard deviation √(λD²/T)/(λD) = 1/√(λT) = 0.71%,
    // whatever D. 3% is four standard deviations.
    //
    // Unbounded: the daemon's thread is free once it has handed over the response: busy
    // 5/s × 10 ms = 0.05 threads; the front-end holds 100 KB for each 0.8 s download:
    // 5 × 0.8 × 100/1024 = 0.3906 MB on average.
    let free = run_one(&slow_clients_behind_a_front_end(""), 0, 0, false);
    close_to("busy daemon threads (unbounded)", free.worker_utilization * 10.0, 0.05, 0.03);
    close_to("front-end buffers (unbounded)", free.memory_mean_mb - 10.0, 5.0 * 0.8 * 100.0 / 1024.0, 0.03);
    // output_buffer_kb = 20: the daemon writes the 80 KB that do not fit as the client drains
    // them, 80 × 8 / 1000 = 0.64 s: busy 5 × (0.01 + 0.64) = 3.25 threads. The front-end's 20 KB
    // buffer for the connection is full all the while the daemon writes (0.64 s) and then
    // drains (0.16 s): 5 × 0.8 × 20/1024 = 0.0781 MB.
    let bounded = run_one(&slow_clients_behind_a_front_end("output_buffer_kb = 20"), 0, 0, false);
    close_to("busy daemon threads (20 KB buffer)", bounded.worker_utilization * 10.0, 3.25, 0.03);
    close_to("front-end buffers (20 KB buffer)", bounded.memory_mean_mb - 10.0, 5.0 * 0.8 * 20.0 / 1024.0, 0.03);
    // Latency is the same either way: 10 ms + 0.8 s (plus a little queueing for a daemon
    // thread in the bounded case: 3.25 of 10 busy).
    close_to("mean latency (unbounded)", free.latency.mean_ms(), 810.0, 0.02);
}

#[test]
fn the_capacity_estimate_counts_the_daemons_writing_under_backpressure() {
    // 10 daemon threads each held 10 ms + 0.64 s per request behind a 20 KB buffer:
    // 10 / 0.65 = 15.38 req/s. Unbounded, the threads hold only the 10 ms of CPU and the 2
    // cores bind first: 2 / 0.01 = 200 req/s.
    let (_, bounded) = capacity(&slow_clients_behind_a_front_end("output_buffer_kb = 20"), 0).expect("an estimate");
    close_to("capacity (20 KB buffer)", bounded, 10.0 / 0.65, 1e-9);
    let (_, free) = capacity(&slow_clients_behind_a_front_end(""), 0).expect("an estimate");
    close_to("capacity (unbounded)", free, 200.0, 1e-9);
}

/// One request a second for 100 s, each leaking 1 MB into its daemon, 500 ms of IO and a
/// 100 KB response to a 1000 kbit/s client through a 20 KB front-end buffer: the daemon thread
/// writes the 80 KB that do not fit for 0.64 s after its IO. `extra` is added to the server.
fn leaking_behind_a_small_buffer(extra: &str) -> models::config::Scenario {
    let text = format!(
        r#"
[run]
duration_s = 100.0
warmup_s = 0.0
[load]
arrival = "uniform"
rate_rps = 1.0
[[load.clients]]
name = "dsl"
bandwidth_kbps = 1000.0
[[request]]
cpu_ms = 1.0
io_ms = 500.0
response_kb = 100.0
leak_kb = 1024.0
[[server]]
architecture = "daemon"
daemons = 1
threads = 10
output_buffer_kb = 20
{extra}
"#
    );
    parse(&text, "backpressure-leak-test.toml").expect("valid test scenario")
}

#[test]
fn writing_under_backpressure_is_part_of_the_same_request() {
    // Each request leaks its 1 MB once, however its response is written: 100 requests → the
    // daemon holds 100 MB at the end (the peak), not 200.
    let r = run_one(&leaking_behind_a_small_buffer(""), 0, 0, false);
    assert!((r.memory_peak_mb - 100.0).abs() < 1.5, "peak {} MB", r.memory_peak_mb);
    // The watchdog times the whole request: 1 ms + 500 ms + 640 ms = 1.141 s on the daemon
    // thread. A 1 s limit kills the daemon during every request's writing (each kill also takes
    // the request that arrived meanwhile, in the same process): nothing completes. A 2 s limit
    // kills nothing.
    let killed = run_one(&leaking_behind_a_small_buffer("request_timeout_s = 1.0"), 0, 0, false);
    assert_eq!(killed.counts.completed, 0, "{:?}", killed.counts);
    assert!(killed.counts.kills > 0 && killed.counts.lost_to_crashes == killed.counts.arrived, "{:?}", killed.counts);
    let spared = run_one(&leaking_behind_a_small_buffer("request_timeout_s = 2.0"), 0, 0, false);
    assert_eq!(spared.counts.kills, 0);
    assert_eq!(spared.counts.completed + spared.in_flight_at_end, spared.counts.arrived);
}
