//! HTTP keep-alive: an idle connection holds a worker in prefork/threaded/worker servers
//! (Apache's MaxClients exhaustion) but only memory in an event loop. Every expected number is a
//! hand calculation in the test's comment; the loads use constant times so that the answers are
//! exact up to the edges of the measured interval.

use models::runner::run_one;
use models::scenario::parse;

/// A closed load of `users` users thinking 1 s between requests of exactly 100 ms of IO (no
/// CPU), each sending `per_connection` requests per connection, against one server described by
/// the TOML lines `server`.
fn closed(users: u32, per_connection: u32, server: &str) -> models::config::Scenario {
    let text = format!(
        r#"
[run]
duration_s = 400.0
warmup_s = 40.0
[machine]
cores = 4
[load]
arrival = "closed"
users = {users}
think_ms = 1000.0
requests_per_connection = {per_connection}
[[request]]
io_ms = 100.0
[[server]]
{server}
"#
    );
    parse(&text, "keepalive-test.toml").expect("valid test scenario")
}

fn close_to(what: &str, got: f64, want: f64, rel: f64) {
    assert!((got - want).abs() <= rel * want.abs(), "{what}: got {got}, expected {want} (±{:.1}%)", rel * 100.0);
}

#[test]
fn idle_keepalive_connections_exhaust_a_prefork_pool() {
    // 20 users, 5 single-threaded processes, a user's think time (1 s) shorter than the
    // keep-alive timeout (5 s), connections never closed by the client.
    //
    // With keep-alive, the first 5 users to connect each keep a process for good: it serves
    // their request (0.1 s), then waits on the idle connection through their think time (1 s).
    // The other 15 users wait in the listen queue for ever. Throughput = 5 / (0.1 + 1.0) =
    // 4.545 req/s; every worker is always taken (utilisation 1); idle connections = 5 × 1.0/1.1
    // = 4.545; open connections = 20 (5 held + 15 queued).
    let ka = "architecture = \"prefork\"\nprocesses = 5\nkeepalive_timeout_s = 5.0\n";
    let r = run_one(&closed(20, 1_000_000, ka), 0, 0, false);
    close_to("prefork with keep-alive: throughput", r.throughput_rps, 5.0 / 1.1, 0.01);
    close_to("prefork with keep-alive: worker utilisation", r.worker_utilization, 1.0, 0.001);
    close_to("prefork with keep-alive: idle connections", r.mean_idle_connections, 5.0 / 1.1, 0.01);
    close_to("prefork with keep-alive: open connections", r.mean_connections, 20.0, 0.001);

    // Without keep-alive each request takes a process for 0.1 s only: capacity 50 req/s, far
    // above the users' 20 / 1.1 = 18.18 req/s, so nobody waits after the first round.
    let off = "architecture = \"prefork\"\nprocesses = 5\n";
    let r = run_one(&closed(20, 1_000_000, off), 0, 0, false);
    close_to("prefork without keep-alive: throughput", r.throughput_rps, 20.0 / 1.1, 0.01);
    close_to(
        "prefork without keep-alive: open connections = requests in system",
        r.mean_connections,
        r.mean_in_system,
        1e-9,
    );
    assert_eq!(r.mean_idle_connections, 0.0);

    // An event loop keeps the same idle connections with no worker held: 18.18 req/s, and all
    // 20 connections stay open, idle 1.0 of every 1.1 s: 20 / 1.1 = 18.18 idle on average, each
    // holding `keepalive_kb` = 1024 KB = 1 MB (the only memory in this scenario).
    let el = "architecture = \"event_loop\"\nkeepalive_timeout_s = 5.0\nkeepalive_kb = 1024.0\n";
    let r = run_one(&closed(20, 1_000_000, el), 0, 0, false);
    close_to("event loop with keep-alive: throughput", r.throughput_rps, 20.0 / 1.1, 0.01);
    close_to("event loop with keep-alive: idle connections", r.mean_idle_connections, 20.0 / 1.1, 0.01);
    close_to("event loop with keep-alive: open connections", r.mean_connections, 20.0, 0.001);
    close_to("event loop with keep-alive: memory", r.memory_mean_mb, 20.0 / 1.1, 0.01);
}

#[test]
fn a_keepalive_timeout_shorter_than_the_think_time_still_holds_workers() {
    // Timeout 0.5 s < think 1 s: every connection closes before the user's next request, but
    // only after holding its process for 0.5 s. Each request then takes a process for
    // 0.1 + 0.5 = 0.6 s, so 5 processes serve at most 5 / 0.6 = 8.33 req/s — less than the
    // users' 18.18 req/s, so the pool is the bottleneck and throughput is 8.33.
    let s = "architecture = \"prefork\"\nprocesses = 5\nkeepalive_timeout_s = 0.5\n";
    let r = run_one(&closed(20, 1_000_000, s), 0, 0, false);
    close_to("throughput", r.throughput_rps, 5.0 / 0.6, 0.01);
    close_to("worker utilisation", r.worker_utilization, 1.0, 0.001);
    // Each process is idle-connected 0.5 of every 0.6 s.
    close_to("idle connections", r.mean_idle_connections, 5.0 * 0.5 / 0.6, 0.01);
}

#[test]
fn keepalive_requests_closes_connections_and_lets_waiting_users_in() {
    // MaxKeepAliveRequests = 10: a process serves a connection's 10 requests (10 × 0.1 s) with
    // the 9 think times between them (9 × 1 s) — 10 requests per 10 s — then the connection
    // closes and the process takes the next queued user at once: 5 × 10 / 10 = 5.0 req/s (more
    // than the 4.545 of unlimited keep-alive, which never lets anyone in).
    let s = "architecture = \"prefork\"\nprocesses = 5\nkeepalive_timeout_s = 5.0\nkeepalive_requests = 10\n";
    let r = run_one(&closed(20, 1_000_000, s), 0, 0, false);
    close_to("throughput", r.throughput_rps, 5.0, 0.01);
}

#[test]
fn connections_closed_after_two_requests_give_exactly_two_per_hold() {
    // MaxKeepAliveRequests = 2: a process serves a request (0.1 s), waits through the think time
    // (1 s), serves the second (0.1 s), and the connection closes: 2 requests per 1.2 s per
    // process, 5 × 2 / 1.2 = 8.33 req/s (the users' 18.18 req/s keep the queue full). The same
    // user's next connection reuses its id, so a stale timer from an earlier idle period must
    // not close it (a regression test: it did while idle periods were numbered per connection).
    let s = "architecture = \"prefork\"\nprocesses = 5\nkeepalive_timeout_s = 5.0\nkeepalive_requests = 2\n";
    let r = run_one(&closed(20, 1_000_000, s), 0, 0, false);
    close_to("throughput", r.throughput_rps, 5.0 * 2.0 / 1.2, 0.01);
    close_to("idle connections", r.mean_idle_connections, 5.0 * 1.0 / 1.2, 0.01);
}

#[test]
fn a_process_about_to_be_recycled_closes_the_connection_instead_of_waiting() {
    // max_requests = 1: every response is a process's last before it is recycled, so no worker
    // ever waits on an idle connection and nothing stays idle: as without keep-alive, 18.18 req/s.
    let s = "architecture = \"prefork\"\nprocesses = 5\nkeepalive_timeout_s = 5.0\nmax_requests = 1\n";
    let r = run_one(&closed(20, 1_000_000, s), 0, 0, false);
    close_to("throughput", r.throughput_rps, 20.0 / 1.1, 0.01);
    assert_eq!(r.mean_idle_connections, 0.0);
}

#[test]
fn a_client_that_closes_after_each_request_never_holds_a_worker() {
    // requests_per_connection = 1: the client closes after every response, so keep-alive on
    // the server changes nothing: 18.18 req/s as without it, and no idle connections.
    let s = "architecture = \"prefork\"\nprocesses = 5\nkeepalive_timeout_s = 5.0\n";
    let r = run_one(&closed(20, 1, s), 0, 0, false);
    close_to("throughput", r.throughput_rps, 20.0 / 1.1, 0.01);
    assert_eq!(r.mean_idle_connections, 0.0);
}

/// An open load of Poisson arrivals (clients) at `rate_rps`, each sending `per_connection`
/// requests of exactly 100 ms of IO `gap_ms` apart, against `server`.
fn open(rate_rps: f64, per_connection: u32, gap_ms: f64, keeps_open: bool, server: &str) -> models::config::Scenario {
    let text = format!(
        r#"
[run]
duration_s = 2000.0
warmup_s = 100.0
[machine]
cores = 4
[load]
arrival = "poisson"
rate_rps = {rate_rps}
requests_per_connection = {per_connection}
connection_gap_ms = {gap_ms}
client_keeps_open = {keeps_open}
[[request]]
io_ms = 100.0
[[server]]
{server}
"#
    );
    parse(&text, "keepalive-test.toml").expect("valid test scenario")
}

#[test]
fn browsers_that_leave_connections_open_hold_a_worker_for_the_whole_timeout() {
    // 10 clients/s, one request each, connection left open (a browser): each takes a thread for
    // 0.1 s of work plus the 2 s keep-alive timeout. With 100 threads (never all busy), Little's
    // law gives busy threads = 10 × 2.1 = 21, idle connections = 10 × 2 = 20, open connections
    // = 21. Poisson arrivals, so these are statistical: 2000 s × 10/s = 20,000 clients, the
    // number in an M/G/∞ system is Poisson(21) with correlation time ~2 s, so the mean's
    // standard error is about √(21 × 2 × 2.1 / 2000) ≈ 0.2 (1%); 4% is 4 standard errors.
    let s = "architecture = \"threaded\"\nthreads = 100\nkeepalive_timeout_s = 2.0\n";
    let r = run_one(&open(10.0, 1, 0.0, true, s), 0, 0, false);
    close_to("busy threads", r.worker_utilization * 100.0, 21.0, 0.04);
    close_to("idle connections", r.mean_idle_connections, 20.0, 0.04);
    close_to("open connections", r.mean_connections, 21.0, 0.04);
    // A client that closes after its response frees the thread at once: 10 × 0.1 = 1 busy.
    let r = run_one(&open(10.0, 1, 0.0, false, s), 0, 0, false);
    close_to("busy threads when clients close", r.worker_utilization * 100.0, 1.0, 0.04);
    assert_eq!(r.mean_idle_connections, 0.0);
}

#[test]
fn several_requests_per_connection_multiply_the_request_rate() {
    // 5 clients/s, each sending 4 requests 0.5 s apart over one connection and then closing it:
    // 20 requests/s. An event loop with a 2 s keep-alive timeout keeps each connection open for
    // its 4 × 0.1 s of requests and its 3 × 0.5 s gaps: open connections = 5 × 1.9 = 9.5, idle
    // = 5 × 1.5 = 7.5 (Little's law; ±4% as above).
    let s = "architecture = \"event_loop\"\nkeepalive_timeout_s = 2.0\n";
    let r = run_one(&open(5.0, 4, 500.0, false, s), 0, 0, false);
    close_to("throughput", r.throughput_rps, 20.0, 0.04);
    close_to("open connections", r.mean_connections, 9.5, 0.04);
    close_to("idle connections", r.mean_idle_connections, 7.5, 0.04);
}

#[test]
fn a_crash_closes_the_idle_connections_its_process_held() {
    // Every request crashes its process (a threaded server: the one process): the worker never
    // gets to keep a connection, and nothing is left idle or held. Conservation still holds.
    let text = r#"
[run]
duration_s = 50.0
warmup_s = 5.0
[load]
arrival = "closed"
users = 10
think_ms = 100.0
requests_per_connection = 100
[[request]]
name = "ok"
weight = 9.0
cpu_ms = 1.0
io_ms = 10.0
[[request]]
name = "segfault"
weight = 1.0
cpu_ms = 1.0
crash_fraction = 1.0
[[server]]
architecture = "worker"
processes = 2
threads = 5
respawn_ms = 200.0
keepalive_timeout_s = 5.0
"#;
    let sc = parse(text, "crash-keepalive.toml").expect("valid");
    let r = run_one(&sc, 0, 0, false);
    let c = r.counts;
    assert!(c.crashes > 10, "crashes happen: {c:?}");
    assert_eq!(c.arrived, c.completed + c.rejected + c.timed_out + c.failed + r.in_flight_at_end, "{c:?}");
    // Connections never outnumber the 10 users (each has at most one open connection).
    assert!(r.mean_connections <= 10.0 + 1e-9, "{}", r.mean_connections);
    assert!(r.worker_utilization <= 1.0 + 1e-9);
}

#[test]
fn retries_after_a_time_out_leave_no_connection_held_for_ever() {
    // Open-load clients that keep connections open time out (0.3 s) on a slow server and retry
    // on the same connection id while the abandoned request is still inside; LIFO serves the
    // retry first, so it is answered before the abandoned original finishes. Arrivals stop at
    // 60 s; every keep-alive timer (2 s) and every request (≤ a few seconds of queue) is long
    // over by 200 s, so no worker may still wait on an idle connection and none may be counted.
    // (A regression test: the abandoned request, finishing late, used to delete its retry's
    // idle connection entry, leaving that worker in KeepAlive for the rest of the run.)
    let text = r#"
[run]
duration_s = 200.0
warmup_s = 0.0
[load]
arrival = "poisson"
rate_rps = 30.0
schedule = [{ at_s = 60.0, rate_rps = 0.0 }]
timeout_s = 0.3
retries = 3
retry_backoff_ms = 50.0
requests_per_connection = 3
client_keeps_open = true
[[request]]
io_ms = { dist = "exp", mean = 250.0 }
[[server]]
architecture = "prefork"
processes = 8
queue_discipline = "lifo"
keepalive_timeout_s = 2.0
keepalive_kb = 64.0
"#;
    let sc = parse(text, "retry-keepalive.toml").expect("valid");
    let mut sim = models::architectures::simulation(&sc, 0, 0, false);
    sim.run_until(200.0);
    let core = &sim.model.core;
    let waiting = core.threads.iter().filter(|t| t.state == models::engine::ThreadState::KeepAlive).count();
    assert_eq!(waiting, 0, "workers still waiting on idle connections at 200 s");
    assert_eq!(core.recorder.level(models::metrics::Level::IdleConnections), 0.0);
    assert!(core.recorder.level(models::metrics::Level::MemoryMb).abs() < 1e-9, "idle connection memory left");
}
