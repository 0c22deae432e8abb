//! Limits on sizes a scenario may ask for, so that every run finishes in bounded time and memory
//! (documented in docs/scenario-format.md). Values beyond them are refused up front with the
//! limit named, never run into an apparent hang or an out-of-memory crash.

/// Largest arrival rate, requests per second of simulated time.
pub const MAX_RATE_RPS: f64 = 1_000_000.0;
/// Largest number of threads, processes, daemons, loops or closed-load users in one setting.
pub const MAX_COUNT: u32 = 100_000;
