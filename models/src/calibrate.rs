//! `serversim calibrate`: fit a scenario's per-request demands — the mean CPU and the mean
//! waiting of its request mix — so that one of its servers, simulated under the loads a real load
//! test used, reproduces the throughput, median and 99th percentile that test measured. The
//! optimiser is argmin's Nelder–Mead over the logarithms of the two means; every evaluation runs
//! the same seeds (common random numbers), so the error surface it descends is deterministic.

use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;

use crate::config::{Arrival, LoadConfig, Scenario};
use crate::runner::{RunControl, run_one_with};

/// How a measured point loaded the server.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PointLoad {
    /// A closed loop of this many connections with no think time (`ab -c`, `wrk -c`, `oha -c`,
    /// locust users with no wait).
    Connections(u32),
    /// An open load at this many requests per second (`wrk2 -R`, `oha -q`).
    Rate(f64),
}

/// One point of a real load test.
#[derive(Debug, Clone, PartialEq)]
pub struct MeasuredPoint {
    /// The CSV line it came from (1-based, the header being line 1).
    pub line: usize,
    /// The load.
    pub load: PointLoad,
    /// Completed requests per second measured.
    pub throughput_rps: f64,
    /// Median latency measured, ms.
    pub p50_ms: f64,
    /// 99th-percentile latency measured, ms.
    pub p99_ms: f64,
}

/// A measured-points file that cannot be used: where and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct MeasuredError {
    /// The file.
    pub file: String,
    /// The line (1-based).
    pub line: usize,
    /// What is wrong and what is allowed.
    pub message: String,
}

/// The columns a measured-points CSV must have (besides one of `LOAD_COLUMNS`).
pub const COLUMNS: [&str; 3] = ["throughput_rps", "p50_ms", "p99_ms"];

/// The load columns, exactly one of which a measured-points CSV has.
pub const LOAD_COLUMNS: [&str; 2] = ["concurrency", "rate_rps"];

/// Read a measured-points CSV: a header naming `concurrency` or `rate_rps` and `throughput_rps`,
/// `p50_ms`, `p99_ms` (in any order; other columns are ignored), then one line per point. Blank
/// lines and lines starting with `#` are skipped. At least two points are needed to fit two
/// means.
pub fn parse_measured(text: &str, file: &str) -> Result<Vec<MeasuredPoint>, MeasuredError> {
    let err = |line: usize, message: String| MeasuredError { file: file.to_owned(), line, message };
    let mut lines =
        text.lines().enumerate().map(|(i, l)| (i + 1, l.trim())).filter(|(_, l)| !l.is_empty() && !l.starts_with('#'));
    let (header_line, header) = lines.next().ok_or_else(|| {
        err(1, "no header line: expected concurrency (or rate_rps),throughput_rps,p50_ms,p99_ms".into())
    })?;
    let names: Vec<&str> = header.split(',').map(str::trim).collect();
    let find = |name: &str| names.iter().position(|n| *n == name);
    let mut columns = Vec::new();
    for name in COLUMNS {
        columns.push(find(name).ok_or_else(|| {
            err(header_line, format!("missing column `{name}`; the header must name concurrency or rate_rps, and throughput_rps, p50_ms, p99_ms (got: {header})"))
        })?);
    }
    let load = match (find("concurrency"), find("rate_rps")) {
        (Some(c), None) => (c, true),
        (None, Some(r)) => (r, false),
        (Some(_), Some(_)) => {
            return Err(err(
                header_line,
                "both `concurrency` and `rate_rps`: a file's points are either closed loops or open loads".into(),
            ));
        }
        (None, None) => {
            return Err(err(
                header_line,
                format!("missing column `concurrency` (closed loops) or `rate_rps` (open loads) (got: {header})"),
            ));
        }
    };
    let mut points = Vec::new();
    for (line, text) in lines {
        let cells: Vec<&str> = text.split(',').map(str::trim).collect();
        let cell = |index: usize, name: &str| -> Result<f64, MeasuredError> {
            let raw = cells.get(index).ok_or_else(|| {
                err(line, format!("column `{name}` is missing: {} cells, the header has {}", cells.len(), names.len()))
            })?;
            raw.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| err(line, format!("column `{name}`: `{raw}` is not a number")))
        };
        let load_value = cell(load.0, if load.1 { "concurrency" } else { "rate_rps" })?;
        let load_kind = if load.1 {
            if load_value.fract() != 0.0 || !(1.0..=1_000_000.0).contains(&load_value) {
                return Err(err(
                    line,
                    format!("column `concurrency`: {load_value}; allowed a whole number from 1 to 1,000,000"),
                ));
            }
            PointLoad::Connections(load_value as u32)
        } else {
            if !(load_value > 0.0 && load_value <= crate::limits::MAX_RATE_RPS) {
                return Err(err(
                    line,
                    format!("column `rate_rps`: {load_value}; allowed > 0 and at most {}", crate::limits::MAX_RATE_RPS),
                ));
            }
            PointLoad::Rate(load_value)
        };
        let (throughput_rps, p50_ms, p99_ms) =
            (cell(columns[0], COLUMNS[0])?, cell(columns[1], COLUMNS[1])?, cell(columns[2], COLUMNS[2])?);
        for (name, v) in [(COLUMNS[0], throughput_rps), (COLUMNS[1], p50_ms), (COLUMNS[2], p99_ms)] {
            if v <= 0.0 {
                return Err(err(line, format!("column `{name}`: {v}; allowed > 0")));
            }
        }
        if p99_ms < p50_ms {
            return Err(err(line, format!("p99_ms {p99_ms} is below p50_ms {p50_ms}")));
        }
        points.push(MeasuredPoint { line, load: load_kind, throughput_rps, p50_ms, p99_ms });
    }
    if points.len() < 2 {
        return Err(err(
            header_line,
            format!("{} point(s); at least two are needed to fit two means (a low and a high load)", points.len()),
        ));
    }
    Ok(points)
}

/// The request mix's mean demands, ms (weighted by the classes' weights).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Demands {
    /// Mean CPU per request, ms.
    pub cpu_ms: f64,
    /// Mean waiting (IO) per request, ms.
    pub io_ms: f64,
}

/// The mix's mean demands.
pub fn demands_of(scenario: &Scenario) -> Demands {
    let total: f64 = scenario.requests.iter().map(|r| r.weight).sum::<f64>().max(f64::MIN_POSITIVE);
    let mean = |f: &dyn Fn(&crate::config::RequestClass) -> f64| {
        scenario.requests.iter().map(|r| r.weight * f(r)).sum::<f64>() / total * 1e3
    };
    Demands { cpu_ms: mean(&|r| r.cpu_s.mean()), io_ms: mean(&|r| r.io_s.mean()) }
}

/// `scenario` with its mix's mean demands set to `d`: every class scaled by the same factor,
/// keeping its distribution's shape (a mix whose mean is 0 gets `d` in every class).
pub fn with_demands(scenario: &Scenario, d: Demands) -> Scenario {
    let now = demands_of(scenario);
    let mut sc = scenario.clone();
    for r in &mut sc.requests {
        for (dist, was, want) in [(&mut r.cpu_s, now.cpu_ms, d.cpu_ms), (&mut r.io_s, now.io_ms, d.io_ms)] {
            let mean_s = if was > 0.0 { dist.mean() * want / was } else { want / 1e3 };
            if let Ok(scaled) = dist.with_mean(mean_s) {
                *dist = scaled;
            }
        }
    }
    sc
}

/// The scenario of one measured point: only server `server`, the load replaced by the point's
/// (a closed loop with no think time, or Poisson arrivals at the rate); the rest of the load
/// (client links, connections, time-outs) is kept.
pub fn point_scenario(scenario: &Scenario, server: usize, point: &MeasuredPoint) -> Scenario {
    let mut sc = scenario.clone();
    sc.servers = vec![scenario.servers[server].clone()];
    let mut load: LoadConfig = sc.load.clone();
    load.schedule.clear();
    match point.load {
        PointLoad::Connections(users) => {
            load.arrival = Arrival::Closed { users, think_s: sim::Dist::Const(0.0) };
        }
        PointLoad::Rate(r) => {
            load.arrival = Arrival::Poisson;
            load.rate_rps = r / f64::from(load.requests_per_connection.max(1));
        }
    }
    sc.load = load;
    sc
}

/// What the simulation gives at one point (means over the replications).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Simulated {
    /// Completed requests per second.
    pub throughput_rps: f64,
    /// Median latency, ms.
    pub p50_ms: f64,
    /// 99th-percentile latency, ms.
    pub p99_ms: f64,
}

/// Simulate server `server` of `scenario` with demands `d` at every point (every replication, in
/// parallel, the scenario's seeds).
pub fn simulate(scenario: &Scenario, server: usize, points: &[MeasuredPoint], d: Demands) -> Vec<Simulated> {
    let base = with_demands(scenario, d);
    let reps = base.run.replications.max(1);
    let jobs: Vec<(usize, u32)> = (0..points.len()).flat_map(|p| (0..reps).map(move |r| (p, r))).collect();
    let control = RunControl::default();
    let runs: Vec<(usize, crate::metrics::RunResult)> = jobs
        .par_iter()
        .map(|&(p, r)| (p, run_one_with(&point_scenario(&base, server, &points[p]), 0, r, false, &control)))
        .collect();
    (0..points.len())
        .map(|p| {
            let mine: Vec<&crate::metrics::RunResult> = runs.iter().filter(|(q, _)| *q == p).map(|(_, r)| r).collect();
            let n = mine.len().max(1) as f64;
            Simulated {
                throughput_rps: mine.iter().map(|r| r.throughput_rps).sum::<f64>() / n,
                p50_ms: mine.iter().map(|r| r.latency.quantile_ms(0.5)).sum::<f64>() / n,
                p99_ms: mine.iter().map(|r| r.latency.quantile_ms(0.99)).sum::<f64>() / n,
            }
        })
        .collect()
}

/// The simulated number over the measured one, for each of a point's three numbers.
pub fn ratios(point: &MeasuredPoint, s: &Simulated) -> [f64; 3] {
    // A run where nothing completed has no latency: treat it as far off, not as zero error.
    let floor = |v: f64| v.max(1e-9);
    [floor(s.throughput_rps) / point.throughput_rps, floor(s.p50_ms) / point.p50_ms, floor(s.p99_ms) / point.p99_ms]
}

/// The fit's error: the mean of the squared logarithms of every ratio (0 is a perfect fit;
/// 0.01 is about 10% off on average).
pub fn error(points: &[MeasuredPoint], simulated: &[Simulated]) -> f64 {
    let logs: Vec<f64> = points.iter().zip(simulated).flat_map(|(p, s)| ratios(p, s)).map(|r| r.ln().powi(2)).collect();
    logs.iter().sum::<f64>() / logs.len().max(1) as f64
}

/// A finished calibration.
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    /// The demands the scenario started with.
    pub start: Demands,
    /// The fitted demands.
    pub fitted: Demands,
    /// The simulation at every point with the fitted demands.
    pub simulated: Vec<Simulated>,
    /// `error` at the fitted demands.
    pub error: f64,
    /// Root-mean-square relative error over every measured number, as a fraction
    /// (`exp(√error) − 1`).
    pub rms_relative_error: f64,
    /// Evaluations of the error (each runs every point).
    pub evaluations: u64,
    /// Simulations run.
    pub simulations: u64,
}

/// Smallest mean a fit may reach, ms (a demand it drives to nothing stops there).
pub const MIN_MEAN_MS: f64 = 1e-3;
/// Largest mean a fit may reach, ms.
pub const MAX_MEAN_MS: f64 = 600_000.0;

struct Fit<'a> {
    scenario: &'a Scenario,
    server: usize,
    points: &'a [MeasuredPoint],
    evaluations: AtomicU64,
}

impl Fit<'_> {
    fn demands(x: &[f64]) -> Demands {
        let m = |v: f64| v.exp().clamp(MIN_MEAN_MS, MAX_MEAN_MS);
        Demands { cpu_ms: m(x[0]), io_ms: m(x[1]) }
    }
}

impl argmin::core::CostFunction for Fit<'_> {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, x: &Self::Param) -> Result<f64, argmin::core::Error> {
        self.evaluations.fetch_add(1, Ordering::Relaxed);
        Ok(error(self.points, &simulate(self.scenario, self.server, self.points, Self::demands(x))))
    }
}

/// Why a calibration cannot run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct CalibrateError(pub String);

/// Fit the mean CPU and waiting of `scenario`'s request mix so that server `server` reproduces
/// `points`. Starts from the scenario's means (a zero mean starts at a tenth of the fastest
/// measured median) and runs Nelder–Mead on their logarithms, from a simplex that doubles each,
/// until the simplex's costs agree within 1e-6 or `max_iters` iterations.
pub fn calibrate(
    scenario: &Scenario,
    server: usize,
    points: &[MeasuredPoint],
    max_iters: u64,
) -> Result<Calibration, CalibrateError> {
    let start = demands_of(scenario);
    let fallback = points.iter().map(|p| p.p50_ms).fold(f64::INFINITY, f64::min) / 10.0;
    let pick = |v: f64| if v > 0.0 { v } else { fallback.clamp(MIN_MEAN_MS, MAX_MEAN_MS) };
    let x0 = vec![pick(start.cpu_ms).ln(), pick(start.io_ms).ln()];
    let step = 2f64.ln();
    let simplex = vec![x0.clone(), vec![x0[0] + step, x0[1]], vec![x0[0], x0[1] + step]];
    let fit = Fit { scenario, server, points, evaluations: AtomicU64::new(0) };
    let solver = argmin::solver::neldermead::NelderMead::new(simplex)
        .with_sd_tolerance(1e-6)
        .map_err(|e| CalibrateError(e.to_string()))?;
    let result = argmin::core::Executor::new(fit, solver)
        .configure(|s| s.max_iters(max_iters))
        .run()
        .map_err(|e| CalibrateError(format!("the fit failed: {e}")))?;
    use argmin::core::State;
    let best = result.state().get_best_param().cloned().unwrap_or(x0);
    let evaluations = result.problem().problem.as_ref().map_or(0, |f| f.evaluations.load(Ordering::Relaxed));
    let fitted = Fit::demands(&best);
    let simulated = simulate(scenario, server, points, fitted);
    let e = error(points, &simulated);
    let per_eval = points.len() as u64 * u64::from(scenario.run.replications.max(1));
    Ok(Calibration {
        start,
        fitted,
        error: e,
        rms_relative_error: e.sqrt().exp() - 1.0,
        simulated,
        evaluations,
        simulations: (evaluations + 1) * per_eval,
    })
}
