//! Parameter sweeps for capacity planning: one scenario run at several values of one parameter
//! (the arrival rate, the closed-load users, or the servers' processes or threads). Every
//! (value, server, replication) is an independent simulation; they run in parallel with rayon and
//! are collected in job order, so the results do not depend on the number of threads.

use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;

use crate::architectures;
use crate::config::{Arrival, Scenario};
use crate::limits::{MAX_COUNT, MAX_RATE_RPS, MAX_WORKERS};
use crate::metrics::{RunResult, StopReason};
use crate::runner::{Report, RunControl, ServerReport, run_one_with};

/// What a sweep varies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SweepParam {
    /// `load.rate_rps` (open loads), requests per second.
    RateRps,
    /// `load.users` (closed loads).
    Users,
    /// The pool size in each architecture's own terms: `processes` (prefork, worker, event
    /// loop), `daemons` (daemon), `max_processes` (cgi).
    Processes,
    /// `threads` per process (threaded, worker, daemon).
    Threads,
}

/// Most values in one sweep.
pub const MAX_VALUES: usize = 1_000;

impl SweepParam {
    /// Every parameter with its command-line name.
    pub const ALL: [(&'static str, SweepParam); 4] = [
        ("rate_rps", SweepParam::RateRps),
        ("users", SweepParam::Users),
        ("processes", SweepParam::Processes),
        ("threads", SweepParam::Threads),
    ];

    /// The parameter called `name` on the command line.
    pub fn parse(name: &str) -> Result<Self, SweepError> {
        Self::ALL.iter().find(|(n, _)| *n == name).map(|(_, p)| *p).ok_or_else(|| SweepError::UnknownParam {
            name: name.to_owned(),
            allowed: Self::ALL.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", "),
        })
    }

    /// Its command-line name.
    pub fn name(self) -> &'static str {
        Self::ALL.iter().find(|(_, p)| *p == self).map_or("?", |(n, _)| n)
    }

    /// The x-axis label of a chart over it.
    pub fn axis_label(self) -> &'static str {
        match self {
            SweepParam::RateRps => "offered load (req/s)",
            SweepParam::Users => "clients (closed load)",
            SweepParam::Processes => "processes per server",
            SweepParam::Threads => "threads per process",
        }
    }

    /// Whether its values are whole numbers.
    pub fn is_count(self) -> bool {
        !matches!(self, SweepParam::RateRps)
    }

    /// Whether this parameter applies to a server of architecture `a`: load parameters to
    /// every server, `processes` and `threads` to those whose sizes have one.
    fn applies_to(self, a: &architectures::ArchitectureInfo) -> bool {
        match self {
            SweepParam::Processes => a.sizes.processes.is_some(),
            SweepParam::Threads => a.sizes.threads.is_some(),
            SweepParam::RateRps | SweepParam::Users => true,
        }
    }

    /// Indices of the servers of `scenario` this parameter applies to (all for load parameters).
    pub fn servers(self, scenario: &Scenario) -> Vec<usize> {
        (0..scenario.servers.len())
            .filter(|&i| self.applies_to(architectures::info(scenario.servers[i].architecture)))
            .collect()
    }
}

/// Why a sweep cannot run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SweepError {
    /// Not a parameter a sweep can vary.
    #[error("cannot sweep `{name}`; allowed parameters: {allowed}")]
    UnknownParam {
        /// What was asked for.
        name: String,
        /// The allowed names.
        allowed: String,
    },
    /// A value outside what the parameter allows.
    #[error("{param} = {value} is not allowed: {allowed}")]
    BadValue {
        /// The parameter.
        param: &'static str,
        /// The value.
        value: f64,
        /// What is allowed.
        allowed: String,
    },
    /// Too many or no values.
    #[error("a sweep needs 1 to {MAX_VALUES} values, not {0}")]
    ValueCount(usize),
    /// The parameter does not fit the scenario's load.
    #[error("{0}")]
    WrongLoad(String),
    /// No server has the parameter.
    #[error("no server in the scenario has a `{param}` setting (architectures with one: {architectures})")]
    NoServer {
        /// The parameter.
        param: &'static str,
        /// Architectures that have it.
        architectures: String,
    },
}

/// `count` evenly spaced values from `from` to `to` inclusive (rounded to whole numbers, without
/// repeats, for count parameters).
pub fn evenly_spaced(param: SweepParam, from: f64, to: f64, count: usize) -> Vec<f64> {
    let n = count.max(1);
    let mut values: Vec<f64> = (0..n)
        .map(|k| if n == 1 { from } else { from + (to - from) * k as f64 / (n - 1) as f64 })
        .map(|v| if param.is_count() { v.round() } else { v })
        .collect();
    values.dedup();
    values
}

/// Check that `values` can be swept on `scenario`; returns the servers the sweep covers.
pub fn check(scenario: &Scenario, param: SweepParam, values: &[f64]) -> Result<Vec<usize>, SweepError> {
    if values.is_empty() || values.len() > MAX_VALUES {
        return Err(SweepError::ValueCount(values.len()));
    }
    let closed = matches!(scenario.load.arrival, Arrival::Closed { .. });
    if matches!(scenario.load.arrival, Arrival::Log(_)) && matches!(param, SweepParam::RateRps | SweepParam::Users) {
        return Err(SweepError::WrongLoad(format!(
            "{} does not apply to a replayed access log, whose times are fixed; sweep processes or threads",
            param.name()
        )));
    }
    match param {
        SweepParam::RateRps if closed => {
            return Err(SweepError::WrongLoad(
                "rate_rps applies to open loads (poisson or uniform); this scenario has a closed load: sweep `users`"
                    .into(),
            ));
        }
        SweepParam::Users if !closed => {
            return Err(SweepError::WrongLoad(
                "users applies to closed loads; this scenario has an open load: sweep `rate_rps`".into(),
            ));
        }
        _ => {}
    }
    for &value in values {
        let ok = if param.is_count() {
            value.is_finite() && value >= 1.0 && value <= f64::from(MAX_COUNT) && value.fract() == 0.0
        } else {
            value.is_finite() && value > 0.0 && value <= MAX_RATE_RPS
        };
        if !ok {
            let allowed = if param.is_count() {
                format!("a whole number from 1 to {MAX_COUNT}")
            } else {
                format!("a rate > 0 and at most {MAX_RATE_RPS} req/s")
            };
            return Err(SweepError::BadValue { param: param.name(), value, allowed });
        }
    }
    // Each point must stay within the limits a scenario file is held to.
    for &value in values {
        let sc = apply(scenario, param, value);
        let requests = crate::limits::run_requests(&sc.load, &sc.requests, sc.run.end_s());
        if requests > crate::limits::MAX_REQUESTS_PER_RUN {
            return Err(SweepError::BadValue {
                param: param.name(),
                value,
                allowed: format!(
                    "a value whose run simulates at most {:.0e} requests per server (this one: about {requests:.2e}); \
                     shorten the run",
                    crate::limits::MAX_REQUESTS_PER_RUN
                ),
            });
        }
        if let Some(s) = sc.servers.iter().find(|s| u64::from(s.processes) * u64::from(s.threads) > MAX_WORKERS) {
            return Err(SweepError::BadValue {
                param: param.name(),
                value,
                allowed: format!(
                    "a value that keeps processes × threads at most {MAX_WORKERS} (server {} would have {})",
                    s.name,
                    u64::from(s.processes) * u64::from(s.threads)
                ),
            });
        }
    }
    let servers = param.servers(scenario);
    if servers.is_empty() {
        let architectures = architectures::ids_where(|a| param.applies_to(a));
        return Err(SweepError::NoServer { param: param.name(), architectures });
    }
    Ok(servers)
}

/// `scenario` with `param` set to `value` (on every server it applies to).
pub fn apply(scenario: &Scenario, param: SweepParam, value: f64) -> Scenario {
    let mut sc = scenario.clone();
    match param {
        SweepParam::RateRps => {
            sc.load.rate_rps = value;
            // A schedule would override the swept rate; a sweep point is one steady rate.
            sc.load.schedule.clear();
        }
        SweepParam::Users => {
            if let Arrival::Closed { users, .. } = &mut sc.load.arrival {
                *users = value as u32;
            }
        }
        SweepParam::Processes | SweepParam::Threads => {
            for i in param.servers(scenario) {
                let s = &mut sc.servers[i];
                if param == SweepParam::Processes {
                    s.processes = value as u32;
                } else {
                    s.threads = value as u32;
                }
            }
        }
    }
    sc
}

/// One value of a sweep and the results of every covered server at it.
#[derive(Debug, Clone)]
pub struct SweepPoint {
    /// The parameter's value.
    pub value: f64,
    /// The results, one `ServerReport` per covered server (with its replications).
    pub report: Report,
}

/// Progress and cancellation shared with whoever watches a sweep.
#[derive(Debug, Default)]
pub struct SweepProgress {
    /// Simulations finished.
    pub done: AtomicUsize,
    /// Its `interrupt` cancels the sweep: simulations in progress stop at their next check and
    /// the rest do not start.
    pub control: RunControl,
}

impl SweepProgress {
    /// Cancel the sweep.
    pub fn cancel(&self) {
        self.control.interrupt.store(true, Ordering::Relaxed);
    }
}

/// Run the sweep: every value × covered server × replication, in parallel. `None` if cancelled.
/// Call `check` first; values it would refuse are run as given.
pub fn run(
    scenario: &Scenario,
    param: SweepParam,
    values: &[f64],
    progress: &SweepProgress,
) -> Option<Vec<SweepPoint>> {
    run_observed(scenario, param, values, progress, &|_, _, _| {})
}

/// `run`, calling `observe(value index, server index, result)` as each simulation finishes (in
/// any order, from the worker threads) — for a window that draws points as they come in.
pub fn run_observed(
    scenario: &Scenario,
    param: SweepParam,
    values: &[f64],
    progress: &SweepProgress,
    observe: &(dyn Fn(usize, usize, &RunResult) + Sync),
) -> Option<Vec<SweepPoint>> {
    let servers = param.servers(scenario);
    let scenarios: Vec<Scenario> = values.iter().map(|&v| apply(scenario, param, v)).collect();
    let reports = run_scenarios(&scenarios, &servers, progress, observe)?;
    Some(values.iter().zip(reports).map(|(&value, report)| SweepPoint { value, report }).collect())
}

/// Run servers `servers` of every scenario in `scenarios` (the points of a sweep or a grid), every
/// replication, in parallel, collected in job order; `observe(point, server, result)` sees each
/// simulation as it finishes. `None` if cancelled.
pub fn run_scenarios(
    scenarios: &[Scenario],
    servers: &[usize],
    progress: &SweepProgress,
    observe: &(dyn Fn(usize, usize, &RunResult) + Sync),
) -> Option<Vec<Report>> {
    let reps = |v: usize| scenarios[v].run.replications.max(1);
    let jobs: Vec<(usize, usize, u32)> = (0..scenarios.len())
        .flat_map(|v| servers.iter().flat_map(move |&s| (0..reps(v)).map(move |r| (v, s, r))))
        .collect();
    let results: Vec<Option<RunResult>> = jobs
        .par_iter()
        .map(|&(v, s, r)| {
            if progress.control.interrupt.load(Ordering::Relaxed) {
                return None;
            }
            let result = run_one_with(&scenarios[v], s, r, false, &progress.control);
            let interrupted = result.stopped.map(|s| s.reason) == Some(StopReason::Interrupted);
            if !interrupted {
                observe(v, s, &result);
            }
            progress.done.fetch_add(1, Ordering::Relaxed);
            (!interrupted).then_some(result)
        })
        .collect();
    let mut results = results.into_iter().collect::<Option<Vec<_>>>()?.into_iter();
    let reports = scenarios
        .iter()
        .enumerate()
        .map(|(v, sc)| Report {
            scenario: sc.name.clone(),
            seed: sc.run.seed,
            replications: reps(v),
            servers: servers
                .iter()
                .map(|&s| ServerReport::new(sc, s, results.by_ref().take(reps(v) as usize).collect()))
                .collect(),
            has_backend: sc.backend.is_some(),
        })
        .collect();
    Some(reports)
}

/// Number of simulations `run` performs.
pub fn job_count(scenario: &Scenario, param: SweepParam, values: &[f64]) -> usize {
    values.len() * param.servers(scenario).len() * scenario.run.replications.max(1) as usize
}

/// The point where a server meets a latency target: the largest rate or user count, or the
/// smallest pool, whose p99 (mean over replications) is at most `p99_ms` while losing (refusing,
/// failing — crashes included — or timing out) at most 0.1% of arrivals. `None` if no value meets it.
pub fn meets_target(points: &[SweepPoint], server: usize, param: SweepParam, p99_ms: f64) -> Option<&SweepPoint> {
    let ok = |p: &&SweepPoint| meets(&p.report.servers[server], p99_ms);
    match param {
        SweepParam::RateRps | SweepParam::Users => points.iter().filter(ok).max_by(|a, b| a.value.total_cmp(&b.value)),
        SweepParam::Processes | SweepParam::Threads => {
            points.iter().filter(ok).min_by(|a, b| a.value.total_cmp(&b.value))
        }
    }
}

/// Whether a server's runs meet a latency target: some completed, p99 (mean over replications)
/// at most `p99_ms`, and at most 0.1% of arrivals lost — the one rule `meets_target`,
/// `refine_target` and the grid's target search use.
pub fn meets(s: &ServerReport, p99_ms: f64) -> bool {
    let (c, _) = s.total_counts();
    let p99 = s.estimate(|r| r.latency.quantile_ms(0.99)).mean;
    c.completed > 0 && p99 <= p99_ms && c.lost() as f64 <= 0.001 * c.arrived.max(1) as f64
}

/// `meets_target`'s answer refined between grid points by bisection: to ±1% of the value for a
/// rate, to the next whole number for users or pool sizes. `server` indexes the swept servers
/// (as in `SweepPoint::report`). Returns the grid's answer when there is no failing neighbour
/// to bisect towards, and `None` if no grid point meets the target.
pub fn refine_target(
    scenario: &Scenario,
    points: &[SweepPoint],
    server: usize,
    param: SweepParam,
    p99_ms: f64,
    progress: &SweepProgress,
) -> Option<f64> {
    let best = meets_target(points, server, param, p99_ms)?.value;
    let index = param.servers(scenario)[server];
    let larger_is_harder = matches!(param, SweepParam::RateRps | SweepParam::Users);
    // The nearest grid value on the failing side of `best`.
    let failing = points
        .iter()
        .filter(|p| if larger_is_harder { p.value > best } else { p.value < best })
        .filter(|p| !meets(&p.report.servers[server], p99_ms))
        .map(|p| p.value)
        .min_by(|a, b| (a - best).abs().total_cmp(&(b - best).abs()))?;
    let evaluate = |v: f64| meets_at(&apply(scenario, param, v), index, p99_ms, progress);
    Some(bisect(best, failing, param.is_count(), evaluate, || progress.control.interrupt.load(Ordering::Relaxed)))
}

/// Whether server `index` of `scenario` meets the latency target (`meets`), running its
/// replications in parallel and counting them in `progress`.
pub fn meets_at(scenario: &Scenario, index: usize, p99_ms: f64, progress: &SweepProgress) -> bool {
    let reps = scenario.run.replications.max(1);
    let runs: Vec<RunResult> =
        (0..reps).into_par_iter().map(|r| run_one_with(scenario, index, r, false, &progress.control)).collect();
    progress.done.fetch_add(runs.len(), Ordering::Relaxed);
    meets(&ServerReport::new(scenario, index, runs), p99_ms)
}

/// Bisect between `ok`, a value that meets a target, and `bad`, one that does not (on either
/// side), until they are within 1% of `ok` or — for `whole` numbers — adjacent; `meets(v)` runs
/// the test at `v`. Returns the last value that met it (`ok` if `interrupted()` turns true).
pub fn bisect(
    mut ok: f64,
    mut bad: f64,
    whole: bool,
    mut meets: impl FnMut(f64) -> bool,
    interrupted: impl Fn() -> bool,
) -> f64 {
    loop {
        let close_enough = if whole { (bad - ok).abs() <= 1.0 } else { (bad - ok).abs() <= 0.01 * ok.abs() };
        if close_enough || interrupted() {
            return ok;
        }
        let mid = if whole { ((ok + bad) / 2.0).round() } else { 0.5 * (ok + bad) };
        if mid == ok || mid == bad {
            return ok;
        }
        if meets(mid) { ok = mid } else { bad = mid }
    }
}

/// One (value, server) line of a sweep, derived once for the table, the CSV, the chart and the
/// target search's report.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepRow {
    /// The parameter's value.
    pub value: f64,
    /// Index among the swept servers.
    pub server_index: usize,
    /// The server's name.
    pub server: String,
    /// Completed requests per second (mean over replications).
    pub throughput_rps: f64,
    /// Mean latency, ms (mean over replications).
    pub mean_ms: f64,
    /// 99th-percentile latency, ms (mean over replications).
    pub p99_ms: f64,
    /// Lost (`Counts::lost`: refused, failed — crashes included — and timed out) as a fraction of
    /// arrivals, over all replications.
    pub lost_fraction: f64,
    /// Lost requests per second measured.
    pub lost_rps: f64,
    /// Fraction of all cores busy (mean over replications).
    pub cpu_utilization: f64,
    /// The largest resident memory of any replication, MB.
    pub peak_memory_mb: f64,
    /// Half-width of the 95% confidence interval of `throughput_rps` (`None` with one
    /// replication).
    pub throughput_ci95_rps: Option<f64>,
    /// Half-width of the 95% confidence interval of `p99_ms` (`None` with one replication).
    pub p99_ci95_ms: Option<f64>,
}

/// Every (value, server) row of `points`, in order; `warmup_s` and `duration_s` are the run's.
pub fn rows(points: &[SweepPoint], warmup_s: f64, duration_s: f64) -> Vec<SweepRow> {
    points
        .iter()
        .flat_map(|p| p.report.servers.iter().enumerate().map(move |(i, s)| row(p.value, i, s, warmup_s, duration_s)))
        .collect()
}

/// The row of server `s` (index `server_index` among those swept) at `value` — the one place a
/// sweep's or a grid's numbers are derived from the replications.
pub fn row(value: f64, server_index: usize, s: &ServerReport, warmup_s: f64, duration_s: f64) -> SweepRow {
    let (c, _) = s.total_counts();
    let lost = c.lost() as f64;
    let runs = s.runs.len().max(1) as f64;
    SweepRow {
        value,
        server_index,
        server: s.name.clone(),
        throughput_rps: s.estimate(|r| r.throughput_rps).mean,
        mean_ms: s.estimate(|r| r.latency.mean_ms()).mean,
        p99_ms: s.estimate(|r| r.latency.quantile_ms(0.99)).mean,
        lost_fraction: lost / c.arrived.max(1) as f64,
        // Per second measured: a run stopped early measured less than duration_s.
        lost_rps: lost / runs / measured_s(s, warmup_s, duration_s),
        cpu_utilization: s.estimate(|r| r.cpu_utilization).mean,
        peak_memory_mb: s.runs.iter().map(|r| r.memory_peak_mb).fold(0.0, f64::max),
        throughput_ci95_rps: ci(s.estimate(|r| r.throughput_rps)),
        p99_ci95_ms: ci(s.estimate(|r| r.latency.quantile_ms(0.99))),
    }
}

/// A 95% half-width, if the replications give one.
fn ci(e: sim::stats::Estimate) -> Option<f64> {
    e.half_width.is_finite().then_some(e.half_width)
}

/// Mean simulated seconds measured (after warm-up) per run of `s`: `duration_s`, or less for a
/// run stopped early.
fn measured_s(s: &ServerReport, warmup_s: f64, duration_s: f64) -> f64 {
    let n = s.runs.len().max(1) as f64;
    let total: f64 = s.runs.iter().map(|r| r.stopped.map_or(duration_s, |st| (st.at_s - warmup_s).max(0.0))).sum();
    (total / n).max(f64::MIN_POSITIVE)
}

/// The columns of a sweep's (and, after its varied paths, a grid's) CSV after the value:
/// `docs/output-format.md`, "serversim sweep".
pub const CSV_COLUMNS: &str = "server,throughput_rps,latency_mean_ms,latency_p99_ms,lost_fraction,lost_rps,\
cpu_utilization,peak_memory_mb,throughput_ci95_rps,latency_p99_ci95_ms";

/// The sweep's rows as CSV (`docs/output-format.md`, "serversim sweep").
pub fn csv(param: SweepParam, rows: &[SweepRow]) -> String {
    let mut csv = format!("{},{CSV_COLUMNS}\n", param.name());
    for r in rows {
        csv.push_str(&format!("{},{}\n", r.value, csv_cells(r)));
    }
    csv
}

/// `r`'s cells in `CSV_COLUMNS` order (an interval is empty with one replication).
pub fn csv_cells(r: &SweepRow) -> String {
    format!(
        "{},{},{},{},{},{},{},{},{},{}",
        crate::runner::csv_field(&r.server),
        r.throughput_rps,
        r.mean_ms,
        r.p99_ms,
        r.lost_fraction,
        r.lost_rps,
        r.cpu_utilization,
        r.peak_memory_mb,
        r.throughput_ci95_rps.map(|x| x.to_string()).unwrap_or_default(),
        r.p99_ci95_ms.map(|x| x.to_string()).unwrap_or_default()
    )
}

/// The sweep's JSON view (`serversim sweep --json`), pretty-printed: every point's full report, and with a
/// target the value each server meets it at (`targets`, in `names` order).
pub fn json(
    scenario: &str,
    param: SweepParam,
    target_p99_ms: Option<f64>,
    names: &[&str],
    targets: &[Option<f64>],
    points: &[SweepPoint],
) -> Result<String, serde_json::Error> {
    #[derive(serde::Serialize)]
    struct JsonSweep<'a> {
        scenario: &'a str,
        param: &'a str,
        target_p99_ms: Option<f64>,
        best: Vec<JsonBest<'a>>,
        points: Vec<JsonPoint<'a>>,
    }
    #[derive(serde::Serialize)]
    struct JsonBest<'a> {
        server: &'a str,
        value: Option<f64>,
    }
    #[derive(serde::Serialize)]
    struct JsonPoint<'a> {
        value: f64,
        report: crate::runner::JsonReport<'a>,
    }
    let json = JsonSweep {
        scenario,
        param: param.name(),
        target_p99_ms,
        best: if target_p99_ms.is_some() {
            names.iter().zip(targets).map(|(n, v)| JsonBest { server: n, value: *v }).collect()
        } else {
            Vec::new()
        },
        points: points
            .iter()
            .map(|p| JsonPoint { value: p.value, report: crate::runner::JsonReport::from_report(&p.report) })
            .collect(),
    };
    serde_json::to_string_pretty(&json)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::*;
    use sim::Dist;

    fn mm_c(threads: u32, rate_rps: f64) -> Scenario {
        let mut server = ServerConfig::new("pool", ArchitectureKind::Threaded);
        server.threads = threads;
        Scenario {
            name: "sweep test".into(),
            run: RunConfig { duration_s: 2_000.0, warmup_s: 100.0, seed: 3, replications: 2, window_s: 1.0 },
            machine: MachineConfig {
                cores: 64,
                memory_mb: None,
                swap_mb: 0.0,
                swap_slowdown: 1.0,
                time_slice_ms: MachineConfig::DEFAULT_TIME_SLICE_MS,
            },
            load: LoadConfig::new(Arrival::Poisson, rate_rps),
            requests: vec![RequestClass::new("io", Dist::Const(0.0), Dist::exp(0.1).unwrap())],
            servers: vec![server],
            backend: None,
            claims: Vec::new(),
        }
    }

    #[test]
    fn evenly_spaced_values_include_both_ends_and_round_counts() {
        assert_eq!(evenly_spaced(SweepParam::RateRps, 10.0, 40.0, 4), vec![10.0, 20.0, 30.0, 40.0]);
        assert_eq!(evenly_spaced(SweepParam::Threads, 1.0, 3.0, 5), vec![1.0, 2.0, 3.0]);
        assert_eq!(evenly_spaced(SweepParam::Threads, 7.0, 9.0, 1), vec![7.0]);
    }

    #[test]
    fn bad_sweeps_are_refused_with_what_is_allowed() {
        let sc = mm_c(4, 30.0);
        assert!(matches!(SweepParam::parse("thread"), Err(SweepError::UnknownParam { .. })));
        assert!(matches!(check(&sc, SweepParam::Users, &[5.0]), Err(SweepError::WrongLoad(_))));
        assert!(matches!(check(&sc, SweepParam::Threads, &[0.0]), Err(SweepError::BadValue { .. })));
        assert!(matches!(check(&sc, SweepParam::Threads, &[2.5]), Err(SweepError::BadValue { .. })));
        assert!(matches!(check(&sc, SweepParam::RateRps, &[f64::NAN]), Err(SweepError::BadValue { .. })));
        assert!(matches!(check(&sc, SweepParam::RateRps, &[]), Err(SweepError::ValueCount(0))));
        // 1e6 req/s over the 2,100 s run is 2.1e9 requests: over the per-run limit of 1e9.
        let e = check(&sc, SweepParam::RateRps, &[10.0, 1e6]).unwrap_err();
        assert!(e.to_string().contains("1e9 requests"), "{e}");
        let e = check(&sc, SweepParam::Processes, &[2.0]).unwrap_err();
        assert!(e.to_string().contains("prefork"), "{e}");
        assert_eq!(check(&sc, SweepParam::Threads, &[1.0, 8.0]), Ok(vec![0]));
    }

    #[test]
    fn thread_sweep_finds_the_smallest_pool_meeting_an_erlang_c_target() {
        // 30 req/s of exponential 100 ms IO (μ = 10/s): a = 3 Erlangs. M/M/c by hand: the
        // response R is the Erlang C wait W (P(W > 0) = C, then exponential at rate cμ − λ) plus
        // the exponential service S.
        // c = 4: C = 13.5 / 26.5 = 0.509, cμ − λ = 10/s = μ, so P(R > x) = e^(−10x)(1 + 5.09x),
        //        which is 0.0100 at x = 0.60 s: p99 ≈ 600 ms.
        // c = 5: C = 5.06 / 21.44 = 0.236, cμ − λ = 20/s, so
        //        P(R > x) = 1.236 e^(−10x) − 0.236 e^(−20x) = 0.01 at x ≈ 0.48 s: p99 ≈ 482 ms.
        // So the smallest pool meeting a 550 ms p99 target is 5 threads.
        let sc = mm_c(1, 30.0);
        let values = [4.0, 5.0, 6.0, 8.0];
        check(&sc, SweepParam::Threads, &values).unwrap();
        let points = run(&sc, SweepParam::Threads, &values, &SweepProgress::default()).unwrap();
        assert_eq!(points.len(), 4);
        let best = meets_target(&points, 0, SweepParam::Threads, 550.0).expect("5 threads meet it");
        assert_eq!(best.value, 5.0);
        let p99 = |i: usize| points[i].report.servers[0].estimate(|r| r.latency.quantile_ms(0.99)).mean;
        assert!((p99(0) - 600.0).abs() < 0.05 * 600.0, "4 threads: p99 {} ms", p99(0));
        assert!((p99(1) - 482.0).abs() < 0.05 * 482.0, "5 threads: p99 {} ms", p99(1));
    }

    #[test]
    fn results_do_not_depend_on_the_thread_count() {
        let sc = mm_c(4, 30.0);
        let values = [10.0, 25.0, 35.0];
        let summary = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| run(&sc, SweepParam::RateRps, &values, &SweepProgress::default()).unwrap())
                .iter()
                .map(|p| {
                    let s = &p.report.servers[0];
                    (s.total_counts().0.completed, s.estimate(|r| r.latency.mean_ms()).mean.to_bits())
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(summary(1), summary(3));
    }

    #[test]
    fn a_cancelled_sweep_returns_nothing() {
        let sc = mm_c(4, 30.0);
        let progress = SweepProgress::default();
        progress.cancel();
        assert!(run(&sc, SweepParam::RateRps, &[10.0, 20.0], &progress).is_none());
    }
}
