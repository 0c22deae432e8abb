//! Limits on sizes a scenario may ask for, so that every run finishes in bounded time and memory
//! (documented in docs/scenario-format.md). Values beyond them are refused up front with the
//! limit named, never run into an apparent hang or an out-of-memory crash. The validator in
//! `scenario` enforces them; `runner` also stops a run whose queue diverges.

/// Largest arrival rate, requests per second of simulated time.
pub const MAX_RATE_RPS: f64 = 1_000_000.0;
/// Largest number of threads, processes, daemons, loops or closed-load users in one setting.
pub const MAX_COUNT: u32 = 1_000_000;
/// Largest number of worker threads in one server (processes × threads).
pub const MAX_WORKERS: u64 = 1_000_000;
/// Largest number of requests one run (one server, one replication) may be asked to simulate:
/// the arrival rate (its peak, with a schedule) × the run's length, or for closed loads users ×
/// run length / mean think time (an upper bound). At the measured ~5 million requests per second
/// that is at most a few minutes per run, with progress shown and Ctrl-C honoured.
pub const MAX_REQUESTS_PER_RUN: f64 = 1e9;
/// An upper bound on the requests one run of `load` over `end_s` simulated seconds asks for: the
/// peak rate × `end_s`, users × `end_s` / mean think time, or the lines of a replayed log (0 for
/// a closed load whose think time has no positive mean, which validation refuses anyway).
pub fn run_requests(load: &crate::config::LoadConfig, end_s: f64) -> f64 {
    use crate::config::Arrival;
    match &load.arrival {
        Arrival::Closed { users, think_s } => {
            let think = think_s.mean();
            if think > 0.0 { f64::from(*users) * end_s / think } else { 0.0 }
        }
        Arrival::Log(log) => {
            log.times_s.len() as f64 * f64::from(load.requests_per_connection) * f64::from(1 + load.retries)
        }
        Arrival::Poisson | Arrival::Uniform => {
            load.peak_rate_rps() * end_s * f64::from(load.requests_per_connection) * f64::from(1 + load.retries)
        }
    }
}

/// Most retries a client makes of one request.
pub const MAX_RETRIES: u32 = 100;
/// Largest access log a scenario may replay, bytes (a few million lines).
pub const MAX_LOG_BYTES: u64 = 512 << 20;
/// Largest number of time-series windows in one run (rows are kept in memory).
pub const MAX_WINDOWS: f64 = 10_000_000.0;
/// A run stops early, with a warning, once this many requests are inside one server at once: an
/// unlimited queue under overload would otherwise grow until the simulator ran out of memory
/// (about 100 bytes a request: 5 million is about 500 MB).
pub const MAX_IN_SYSTEM: u64 = 5_000_000;
