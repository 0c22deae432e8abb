//! The shared backend database: every request's IO is a query that needs a connection from its
//! process's pool and a database worker. Expected numbers are queueing theory (Erlang C) and
//! hand-traced schedules, in each test's comment.

use models::runner::{capacity, run_one};
use models::scenario::parse;

/// Poisson arrivals at 15 req/s, no CPU, exponential 100 ms queries; `backend` and `server` are
/// the TOML of the `[backend]` table and one server.
fn queries(backend: &str, server: &str) -> models::config::Scenario {
    let text = format!(
        r#"
[run]
duration_s = 20000.0
warmup_s = 100.0
[machine]
cores = 4
[backend]
{backend}
[load]
arrival = "poisson"
rate_rps = 15.0
[[request]]
cpu_ms = 0.0
io_ms = {{ dist = "exp", mean = 100.0 }}
[[server]]
{server}
"#
    );
    parse(&text, "backend-test.toml").expect("valid test scenario")
}

fn close_to(what: &str, got: f64, want: f64, rel: f64) {
    assert!((got - want).abs() <= rel * want, "{what}: got {got}, expected {want} (±{:.0}%)", rel * 100.0);
}

// Erlang C for M/M/2 with λ = 15/s, 1/μ = 0.1 s: offered load a = 1.5, ρ = 0.75.
//   C(2, 1.5) = (a²/2 · 2/(2 − a)) / (1 + a + a²/2 · 2/(2 − a)) = 4.5 / 7 = 0.642857
//   Wq = C / (2μ − λ) = 0.642857 / 5 = 0.128571 s; response = 0.1 + 0.128571 = 228.57 ms;
//   busy = λ/μ = 1.5; waiting = λ·Wq = 1.9286.
// Over 20,000 s (300,000 queries, waits correlated over a few seconds) the means are within ~1%;
// the tolerances are 3%.
const MM2_RESPONSE_MS: f64 = 228.571;

#[test]
fn a_database_with_two_workers_is_an_m_m_2_queue() {
    // 100 threads never run short; 100 connections never run out: only the database queues.
    let r =
        run_one(&queries("workers = 2\nconnections = 100", "architecture = \"threaded\"\nthreads = 100"), 0, 0, false);
    close_to("mean latency", r.latency.mean_ms(), MM2_RESPONSE_MS, 0.03);
    close_to("database busy", r.mean_db_busy, 1.5, 0.03);
    close_to("queries waiting", r.mean_db_waiting, 1.9286, 0.05);
    assert_eq!(r.counts.failed, 0);
}

#[test]
fn a_pool_of_two_connections_is_the_same_queue_in_the_process() {
    // The database has 100 workers, but the process's pool holds 2 connections: queries queue
    // for a connection instead — the same M/M/2.
    let r = run_one(
        &queries("workers = 100\nconnections = 100", "architecture = \"threaded\"\nthreads = 100\ndb_pool = 2"),
        0,
        0,
        false,
    );
    close_to("mean latency", r.latency.mean_ms(), MM2_RESPONSE_MS, 0.03);
    close_to("connections open", r.mean_db_connections, 2.0, 0.01);
}

#[test]
fn an_event_loop_queries_the_same_database() {
    // A non-blocking driver: the loop is never held, the database is the M/M/2.
    let r = run_one(&queries("workers = 2\nconnections = 100", "architecture = \"event_loop\""), 0, 0, false);
    close_to("mean latency", r.latency.mean_ms(), MM2_RESPONSE_MS, 0.03);
}

#[test]
fn the_capacity_estimate_names_the_database() {
    // Two workers at 0.1 s a query: 20 req/s, well below 100 threads / 0.1 s = 1000 req/s.
    let sc = queries("workers = 2\nconnections = 100", "architecture = \"threaded\"\nthreads = 100");
    let (name, rps) = capacity(&sc, 0).expect("an estimate");
    assert!(name.contains("database"), "{name}");
    close_to("capacity", rps, 20.0, 1e-9);
}

#[test]
fn past_max_connections_queries_are_refused_and_their_requests_fail() {
    // One process, pool unlimited, database max_connections = 3; a request every 0.1 s, each a
    // 0.45 s query. Tracing it: requests at 0, 0.1, 0.2 open the 3 connections; at 0.3 and 0.4
    // all 3 are busy and a 4th is refused; at 0.5, 0.6, 0.7 the connections freed at 0.45,
    // 0.55, 0.65 are reused; 0.8 and 0.9 are refused; … — 2 of every 5 fail: 40%.
    let text = r#"
[run]
duration_s = 100.0
warmup_s = 0.0
[backend]
workers = 10
connections = 3
[load]
arrival = "uniform"
rate_rps = 10.0
[[request]]
cpu_ms = 0.0
io_ms = 450.0
[[server]]
architecture = "threaded"
threads = 50
"#;
    let r = run_one(&parse(text, "refused.toml").unwrap(), 0, 0, false);
    let c = r.counts;
    close_to("failed share", c.failed as f64 / c.arrived as f64, 0.4, 0.01);
    assert_eq!(c.db_refused, c.failed);
    close_to("connections open", r.mean_db_connections, 3.0, 0.01);
}

#[test]
fn the_capacity_estimate_counts_the_pools_connections() {
    // One process with a pool of 2 connections, 0.1 s a query: 2 / 0.1 = 20 req/s, although the
    // database could run 100 queries at once.
    let sc = queries("workers = 100\nconnections = 100", "architecture = \"threaded\"\nthreads = 100\ndb_pool = 2");
    let (name, rps) = capacity(&sc, 0).expect("an estimate");
    assert!(name.contains("2 database connections"), "{name}");
    close_to("capacity", rps, 20.0, 1e-9);
}
