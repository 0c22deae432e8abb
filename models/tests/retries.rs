//! Client retries with exponential backoff, goodput versus what the server serves, and wasted
//! work. Loads and service times are constant, so every expected number is a hand calculation
//! (in each test's comment), exact up to a request or two at the edges of the run.

use models::runner::run_one;
use models::scenario::parse;

fn close_to(what: &str, got: f64, want: f64, abs: f64) {
    assert!((got - want).abs() <= abs, "{what}: got {got}, expected {want} ± {abs}");
}

#[test]
fn refused_requests_are_retried_with_doubling_backoff() {
    // One prefork child, no listen backlog, and requests that hang for ever (a wait that never
    // returns): the first request takes the only child for good, and every later connection is
    // refused. Each request arrives every 0.1 s (uniform) and is retried 3 times, 0.1, 0.2 and
    // 0.4 s apart (backoff 100 ms, doubling), so the attempts are 4 copies of the arrival stream
    // shifted by 0, 0.1, 0.3 and 0.7 s: in the 100 s measured, 4 × 10 × 100 = 4000 attempts
    // (± 4 at the edges), 3000 of them retries, all refused.
    let text = r#"
[run]
duration_s = 100.0
warmup_s = 10.0
[load]
arrival = "uniform"
rate_rps = 10.0
retries = 3
retry_backoff_ms = 100.0
[[request]]
io_ms = 10.0
hang_fraction = 1.0
hang = "io"
[[server]]
architecture = "prefork"
processes = 1
listen_backlog = 0
"#;
    let r = run_one(&parse(text, "retries.toml").expect("valid"), 0, 0, false);
    let c = r.counts;
    close_to("attempts", c.arrived as f64, 4000.0, 4.0);
    close_to("retries", c.retries as f64, 3000.0, 4.0);
    assert_eq!(c.rejected, c.arrived, "every attempt refused: {c:?}");
}

#[test]
fn goodput_counts_only_answers_in_time_and_the_rest_is_wasted() {
    // Requests arrive every 0.1 s (the k-th at 0.1·k s) and each needs 150 ms of CPU on one
    // core with one thread: the server is always busy from the first arrival, and request k
    // completes at 0.1 + 0.15·k s, after a latency of 0.1 + 0.05·k s. Clients give up after
    // 1.02 s, so only requests 1..=18 are answered in time: goodput = 18 / 200 s = 0.09 req/s.
    // The server still finishes every request it started: by t = 200 s, those with
    // 0.1 + 0.15·k ≤ 200, i.e. k ≤ 1332, so it served 1332 / 200 = 6.66 req/s, of which
    // 1332 − 18 = 1314 after their clients had gone: 1314 × 0.15 = 197.1 s of wasted CPU.
    let text = r#"
[run]
duration_s = 200.0
warmup_s = 0.0
[load]
arrival = "uniform"
rate_rps = 10.0
timeout_s = 1.02
[[request]]
cpu_ms = 150.0
[[server]]
architecture = "threaded"
threads = 1
"#;
    let r = run_one(&parse(text, "goodput.toml").expect("valid"), 0, 0, false);
    assert_eq!(r.counts.completed, 18, "{:?}", r.counts);
    close_to("goodput", r.throughput_rps, 0.09, 1e-9);
    close_to("served", r.served_rps, 6.66, 0.006);
    close_to("wasted requests", r.counts.wasted as f64, 1314.0, 1.0);
    close_to("wasted CPU", r.wasted_cpu_s, 197.1, 0.15 + 1e-9);
}

#[test]
fn timed_out_requests_are_retried_until_the_client_gives_up() {
    // 50 users, each request takes exactly 2 s (IO, 100 threads: no queueing) but clients give
    // up after 1 s and retry twice, 0.5 s and then 1 s later. A user's cycle: send at 0, give up
    // at 1, retry at 1.5, give up at 2.5, retry at 3.5, give up at 4.5 (no retries left), think
    // 1 s, send again at 5.5. So 3 attempts per 5.5 s per user, all timed out and all finished
    // by the server later (wasted): 50 × 3 / 5.5 = 27.27 attempts/s, of which 50 × 2 / 5.5 =
    // 18.18 retries/s. Over 550 s measured (100 cycles): 15,000 attempts, 10,000 retries.
    let text = r#"
[run]
duration_s = 550.0
warmup_s = 55.0
[load]
arrival = "closed"
users = 50
think_ms = 1000.0
timeout_s = 1.0
retries = 2
retry_backoff_ms = 500.0
[[request]]
io_ms = 2000.0
[[server]]
architecture = "threaded"
threads = 100
"#;
    let r = run_one(&parse(text, "storm.toml").expect("valid"), 0, 0, false);
    let c = r.counts;
    close_to("attempts", c.arrived as f64, 15_000.0, 50.0);
    close_to("retries", c.retries as f64, 10_000.0, 50.0);
    assert_eq!(c.completed, 0, "nothing answered in time: {c:?}");
    close_to("timed out", c.timed_out as f64, c.arrived as f64, 50.0);
    close_to("served (all wasted)", r.served_rps, 15_000.0 / 550.0, 0.1);
}
