//! The browser build's shared pieces: the simulation-speed measurement the page runs at `#bench`
//! and the native binary runs with `bench`, the same code on both, so the two figures compare.

/// The M/M/8 reference of `docs/performance.md` (`benches/peers/mmc.toml`).
pub const MMC_REFERENCE: &str = include_str!("../../benches/peers/mmc.toml");

/// How fast the reference simulated.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Speed {
    /// Requests that arrived in the simulation.
    pub requests: u64,
    /// Wall-clock seconds it took.
    pub wall_s: f64,
}

impl Speed {
    /// Simulated requests per wall-clock second.
    pub fn requests_per_s(&self) -> f64 {
        self.requests as f64 / self.wall_s.max(1e-9)
    }
}

impl std::fmt::Display for Speed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "M/M/8 reference: {} requests in {:.1} ms = {:.2} million requests/s",
            self.requests,
            self.wall_s * 1e3,
            self.requests_per_s() / 1e6
        )
    }
}

/// Simulate the M/M/8 reference once as `docs/performance.md` measures it (10,000 s, every
/// statistic on, the 1 s time series included), one simulation in one thread (as the page runs
/// it, in slices), and time it.
pub fn mmc_speed() -> Result<Speed, String> {
    let mut scenario = models::scenario::parse(MMC_REFERENCE, "benches/peers/mmc.toml").map_err(|e| e.to_string())?;
    scenario.run.duration_s = 10_000.0;
    let start = web_time::Instant::now();
    let mut batch = models::runner::Batch::new(vec![scenario], true);
    while !batch.advance(1_000_000) {}
    let wall_s = start.elapsed().as_secs_f64();
    let reports = batch.reports().ok_or("the batch did not finish")?;
    let requests = reports[0].servers[0].total_counts().0.arrived;
    Ok(Speed { requests, wall_s })
}
