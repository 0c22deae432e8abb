//! Slowloris: clients that open a connection and trickle their request headers. A server whose
//! workers read requests themselves gives each such client a worker for as long as it trickles;
//! an event loop gives it only a connection; a header time-out (Apache mod_reqtimeout, nginx
//! client_header_timeout) bounds both. Expected numbers are Little's law on hand-computed
//! holding times, in each test's comment.

use models::runner::run_one;
use models::scenario::parse;

/// Poisson arrivals at 20 req/s, 5% from Slowloris clients trickling headers for 100 s, the rest
/// on a fast local link; each request needs 10 ms of IO. `server` is the TOML of one server.
fn attacked(server: &str) -> models::config::Scenario {
    let text = format!(
        r#"
[run]
duration_s = 3000.0
warmup_s = 200.0
[load]
arrival = "poisson"
rate_rps = 20.0
[[load.clients]]
name = "browsers"
weight = 0.95
bandwidth_kbps = 1000000000.0
[[load.clients]]
name = "slowloris"
weight = 0.05
bandwidth_kbps = 1000000000.0
header_s = 100.0
[[request]]
io_ms = 10.0
[[server]]
{server}
"#
    );
    parse(&text, "slowloris-test.toml").expect("valid test scenario")
}

fn close_to(what: &str, got: f64, want: f64, rel: f64) {
    assert!((got - want).abs() <= rel * want, "{what}: got {got}, expected {want} (±{:.0}%)", rel * 100.0);
}

// Statistical tolerance: 1 Slowloris connection a second, each held 100 s (or 20 s), is an
// M/G/∞ system with Poisson(100) busy workers and a correlation time of ~100 s: over 3000 s the
// mean's standard error is about √(100 × 2 × 100 / 3000) ≈ 2.6 (2.6%); 10% is ~4 standard errors.

#[test]
fn trickled_headers_hold_a_thread_for_as_long_as_they_trickle() {
    // 1 Slowloris client/s × 100 s + 19 browsers/s × 0.01 s = 100.19 threads busy (of 300).
    let r = run_one(&attacked("architecture = \"threaded\"\nthreads = 300\n"), 0, 0, false);
    close_to("busy threads", r.worker_utilization * 300.0, 100.19, 0.10);
    // Every Slowloris request eventually finishes sending and is answered.
    assert_eq!(r.counts.failed, 0);
}

#[test]
fn a_header_timeout_cuts_them_off_and_fails_them() {
    // With header_timeout_s = 20: 1/s × 20 s + 0.19 = 20.19 busy threads, and every Slowloris
    // request (5% of arrivals) fails.
    let r = run_one(&attacked("architecture = \"threaded\"\nthreads = 300\nheader_timeout_s = 20.0\n"), 0, 0, false);
    close_to("busy threads", r.worker_utilization * 300.0, 20.19, 0.10);
    let c = r.counts;
    // Binomial(n, 0.05): standard error √(0.05 × 0.95 / n) ≈ 0.0009 for n ≈ 56,000; ±0.005 is
    // over 5 standard errors.
    let failed_share = c.failed as f64 / c.arrived as f64;
    assert!((failed_share - 0.05).abs() < 0.005, "failed share {failed_share}: {c:?}");
}

#[test]
fn an_event_loop_holds_only_the_connections() {
    // The loop is never held by a trickling client: it is busy only for the browsers' requests
    // (no CPU here, so its "busy worker" is idle), while the connections stay open: 100.19
    // requests in the system on average (Little's law, as above).
    let r = run_one(&attacked("architecture = \"event_loop\"\n"), 0, 0, false);
    assert!(r.worker_utilization < 0.01, "the loop is not held: {}", r.worker_utilization);
    close_to("open connections", r.mean_connections, 100.19, 0.10);
    // A prefork pool of 50 children cannot hold 100 trickling clients: it is exhausted, its
    // backlog stays full, and a child that gets free serves queued requests until it draws the
    // next Slowloris one — 19 browsers' requests on average (geometric, p = 0.05) — and is held
    // again for 100 s. So each child completes 1 + 19 = 20 requests per 100 + 19 × 0.01 s:
    // 50 × 20 / 100.19 = 9.98 req/s in all, about half the 20 req/s offered. (About 0.5 child
    // releases a second over 2800 s: ~1400 cycles, a standard error near 2.7%; ±8% is 3.)
    let r = run_one(&attacked("architecture = \"prefork\"\nprocesses = 50\nlisten_backlog = 100\n"), 0, 0, false);
    close_to("prefork: every child busy", r.worker_utilization, 1.0, 0.02);
    close_to("prefork throughput", r.throughput_rps, 50.0 * 20.0 / 100.19, 0.08);
}
