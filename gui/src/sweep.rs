//! The throughput-versus-offered-load sweep (the "hockey stick"), computed on a background
//! thread (in the browser, in slices between frames) with progress and cancel so the window
//! never waits for it: every server of the current
//! scenario at a grid of arrival rates, each an independent run with the same seed.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use models::config::{Arrival, Scenario};
use models::runner::capacity;
use models::sweep::{SweepParam, SweepProgress};

/// One point of a server's throughput curve, as the window draws it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CurvePoint {
    /// Offered arrival rate, req/s.
    pub offered_rps: f64,
    /// Completed per second.
    pub throughput_rps: f64,
    /// Mean latency, ms.
    pub mean_ms: f64,
    /// 99th-percentile latency, ms.
    pub p99_ms: f64,
}

impl CurvePoint {
    /// The point of one run at offered rate `offered_rps`.
    fn of(offered_rps: f64, result: &models::metrics::RunResult) -> Self {
        CurvePoint {
            offered_rps,
            throughput_rps: result.throughput_rps,
            mean_ms: result.latency.mean_ms(),
            p99_ms: result.latency.quantile_ms(0.99),
        }
    }
}

/// Simulated seconds measured per point (after `SWEEP_WARMUP_S`).
pub const SWEEP_DURATION_S: f64 = 60.0;
/// Simulated warm-up per point.
pub const SWEEP_WARMUP_S: f64 = 10.0;

/// A sweep in progress or finished.
pub struct Sweep {
    /// The arrival rates, req/s.
    pub rates: Vec<f64>,
    /// Server names, in order.
    pub names: Vec<String>,
    /// `points[server][rate]`, filled in as runs finish.
    pub points: Arc<Mutex<Vec<Vec<Option<CurvePoint>>>>>,
    progress: Arc<SweepProgress>,
    handle: Option<JoinHandle<()>>,
    /// The runs computed in the frames instead (the browser), and how many have been drawn.
    frames: Option<(models::runner::Batch, usize)>,
}

impl Sweep {
    /// The rates to try: `steps` evenly spaced up to 1.5 × the largest estimated capacity among
    /// the servers (so every hockey stick shows its knee), or 3 × the current rate if no
    /// estimate is finite.
    pub fn rates_for(scenario: &Scenario, steps: usize) -> Vec<f64> {
        let caps: Vec<f64> = (0..scenario.servers.len())
            .filter_map(|i| capacity(scenario, i))
            .map(|c| c.1)
            .filter(|c| c.is_finite())
            .collect();
        let top = caps.iter().copied().fold(0.0, f64::max);
        let max = if top > 0.0 { 1.5 * top } else { 3.0 * scenario.load.rate_rps.max(1.0) };
        (1..=steps).map(|k| max * k as f64 / steps as f64).collect()
    }

    /// Start sweeping `scenario` (open loads only) on a background thread (in the browser, in
    /// the frames).
    pub fn start(scenario: &Scenario, steps: usize) -> Result<Self, String> {
        Self::begin(scenario, steps, cfg!(target_arch = "wasm32"))
    }

    /// Start sweeping with the runs computed only as `advance` is called (as in the browser).
    pub fn start_in_frames(scenario: &Scenario, steps: usize) -> Result<Self, String> {
        Self::begin(scenario, steps, true)
    }

    fn begin(scenario: &Scenario, steps: usize, in_frames: bool) -> Result<Self, String> {
        if !matches!(scenario.load.arrival, Arrival::Poisson | Arrival::Uniform) {
            return Err("a load sweep varies the arrival rate, so it needs an open load (poisson or uniform)".into());
        }
        let rates = Self::rates_for(scenario, steps.max(2));
        let names = scenario.servers.iter().map(|s| s.name.clone()).collect();
        let points = Arc::new(Mutex::new(vec![vec![None; rates.len()]; scenario.servers.len()]));
        let progress = Arc::new(SweepProgress::default());
        let mut base = scenario.clone();
        base.run.duration_s = SWEEP_DURATION_S;
        base.run.warmup_s = SWEEP_WARMUP_S;
        base.run.replications = 1;
        if in_frames {
            let scenarios = rates.iter().map(|&r| models::sweep::apply(&base, SweepParam::RateRps, r)).collect();
            let frames = Some((models::runner::Batch::new(scenarios, false), 0));
            return Ok(Self { rates, names, points, progress, handle: None, frames });
        }
        // The one sweep engine: every (rate, server) an independent run, in parallel, cancelled
        // through `progress`; each point is drawn as soon as its run finishes.
        let handle = {
            let (rates, points, progress) = (rates.clone(), points.clone(), progress.clone());
            std::thread::spawn(move || {
                let observe = |r: usize, s: usize, result: &models::metrics::RunResult| {
                    if let Ok(mut p) = points.lock() {
                        p[s][r] = Some(CurvePoint::of(rates[r], result));
                    }
                };
                let _ = models::sweep::run_observed(&base, SweepParam::RateRps, &rates, &progress, &observe);
            })
        };
        Ok(Self { rates, names, points, progress, handle: Some(handle), frames: None })
    }

    /// Handle up to `events` events of a sweep computed in the frames, drawing each point as
    /// its run finishes; true while runs remain (false at once for a sweep on a thread).
    pub fn advance(&mut self, events: u64) -> bool {
        let Some((batch, drawn)) = &mut self.frames else { return false };
        if self.progress.control.interrupt.load(Ordering::Relaxed) {
            self.frames = None;
            return false;
        }
        let finished = batch.advance(events);
        while let Some((r, s, result)) = batch.result(*drawn) {
            if let Ok(mut p) = self.points.lock() {
                p[s][r] = Some(CurvePoint::of(self.rates[r], result));
            }
            *drawn += 1;
            self.progress.done.fetch_add(1, Ordering::Relaxed);
        }
        if finished {
            self.frames = None;
        }
        !finished
    }

    /// Runs finished so far, out of `total()`.
    pub fn done(&self) -> usize {
        self.progress.done.load(Ordering::Relaxed)
    }

    /// Runs in the whole sweep.
    pub fn total(&self) -> usize {
        self.rates.len() * self.names.len()
    }

    /// True once the background work has stopped (finished or cancelled).
    pub fn finished(&self) -> bool {
        self.frames.is_none() && self.handle.as_ref().is_none_or(|h| h.is_finished())
    }

    /// Stop after the runs in progress.
    pub fn cancel(&self) {
        self.progress.cancel();
    }

    /// True if it was cancelled.
    pub fn cancelled(&self) -> bool {
        self.progress.control.interrupt.load(Ordering::Relaxed)
    }

    /// Wait for the background thread (tests).
    pub fn join(&mut self) {
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

impl Drop for Sweep {
    fn drop(&mut self) {
        self.cancel();
    }
}
