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
/// run length / the least mean cycle (think time + the request's own work and round trip: a
/// bound, since a response never comes back faster than its own demand). At the measured ~5 million requests per second
/// that is at most a few minutes per run, with progress shown and Ctrl-C honoured.
pub const MAX_REQUESTS_PER_RUN: f64 = 1e9;
/// The least mean time one closed-load user's cycle can take, seconds: its mean think time plus
/// the mean work of a request (CPU and IO, over the mix) and the mean round trip of its link. A
/// response never comes back faster than its own demand, so a user sends at most `end_s` / this
/// many requests in expectation. 0 means a cycle can take no time at all.
pub fn least_cycle_s(load: &crate::config::LoadConfig, requests: &[crate::config::RequestClass]) -> f64 {
    let think = match &load.arrival {
        crate::config::Arrival::Closed { think_s, .. } => think_s.mean(),
        _ => 0.0,
    };
    let weights: f64 = requests.iter().map(|r| r.weight).sum();
    let work = if weights > 0.0 {
        requests.iter().map(|r| r.weight * (r.cpu_s.mean() + r.io_s.mean())).sum::<f64>() / weights
    } else {
        0.0
    };
    let link_weights: f64 = load.clients.iter().map(|c| c.weight).sum();
    let rtt = if link_weights > 0.0 {
        load.clients.iter().map(|c| c.weight * c.rtt_s).sum::<f64>() / link_weights
    } else {
        0.0
    };
    think + work + rtt
}

/// An upper bound on the requests one run of `load` over `end_s` simulated seconds asks for: the
/// peak rate × `end_s`, users × `end_s` / the least mean cycle, or the lines of a replayed log (0
/// for a closed load whose cycle can take no time, which validation refuses anyway).
pub fn run_requests(load: &crate::config::LoadConfig, requests: &[crate::config::RequestClass], end_s: f64) -> f64 {
    use crate::config::Arrival;
    match &load.arrival {
        Arrival::Closed { users, .. } => {
            let cycle = least_cycle_s(load, requests);
            if cycle > 0.0 { f64::from(*users) * end_s / cycle } else { 0.0 }
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
