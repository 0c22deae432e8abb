//! Runs a scenario: every server × replication as an independent simulation (in parallel with
//! rayon; results do not depend on the thread count), then combines replications into estimates
//! with Student-t 95% confidence intervals. This is where reported numbers are derived.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use rayon::prelude::*;
use sim::stats::Estimate;

use crate::architectures::{self, Workload, bottleneck};
use crate::config::{Arrival, Scenario};
use crate::limits;
use crate::metrics::{Counts, EarlyStop, RunResult, SeriesRow, StopReason};

/// Run every server of `scenario` for every replication. `series` keeps the time series (of the
/// first replication).
pub fn run(scenario: &Scenario, series: bool) -> Report {
    run_with(scenario, series, &RunControl::default())
}

/// Progress of a run and a way to interrupt it, shared with whoever watches (the CLI's progress
/// bar and Ctrl-C handler).
#[derive(Debug)]
pub struct RunControl {
    /// Set to stop every simulation at its next check (within `CHECK_EVENTS` events); the
    /// results then cover the time simulated so far.
    pub interrupt: AtomicBool,
    /// Simulated milliseconds completed, summed over every server and replication.
    pub done_ms: AtomicU64,
    /// A simulation stops (diverged) with more requests than this inside its server
    /// (`limits::MAX_IN_SYSTEM` unless a test lowers it).
    pub max_in_system: u64,
}

impl Default for RunControl {
    fn default() -> Self {
        Self { interrupt: AtomicBool::new(false), done_ms: AtomicU64::new(0), max_in_system: limits::MAX_IN_SYSTEM }
    }
}

impl RunControl {
    /// Simulated milliseconds a whole run of `scenario` takes (for a progress bar's length).
    pub fn total_ms(scenario: &Scenario) -> u64 {
        let jobs = scenario.servers.len() as f64 * f64::from(scenario.run.replications.max(1));
        (jobs * scenario.run.end_s() * 1e3) as u64
    }
}

/// Like `run`, reporting progress to and honouring interrupts from `control`.
pub fn run_with(scenario: &Scenario, series: bool, control: &RunControl) -> Report {
    let reps = scenario.run.replications.max(1);
    let jobs: Vec<(usize, u32)> = (0..scenario.servers.len()).flat_map(|s| (0..reps).map(move |r| (s, r))).collect();
    let results: Vec<RunResult> =
        jobs.par_iter().map(|&(s, r)| run_one_with(scenario, s, r, series && r == 0, control)).collect();
    report_of(scenario, results)
}

/// Events a simulation may handle without its clock moving before it is declared stalled (a
/// modelling bug looping at one instant; no real scenario comes near it).
pub const STALL_EVENTS: u64 = 20_000_000;

/// Events between checks for interrupts, divergence and stalls (about 0.2 s of simulation).
pub const CHECK_EVENTS: u64 = 1_000_000;

/// One replication of one server, start to end.
pub fn run_one(scenario: &Scenario, server: usize, replication: u32, series: bool) -> RunResult {
    run_one_with(scenario, server, replication, series, &RunControl::default())
}

/// One replication of one server, checking every `CHECK_EVENTS` events whether to stop early
/// (`RunResult::stopped`): on an interrupt, when more than `limits::MAX_IN_SYSTEM` requests are
/// in the server (the queue is diverging), or when the clock has not moved for `STALL_EVENTS`
/// events. The results then cover the time before the stop. Checking in chunks changes nothing
/// else: the events handled are the same.
pub fn run_one_with(
    scenario: &Scenario,
    server: usize,
    replication: u32,
    series: bool,
    control: &RunControl,
) -> RunResult {
    let mut job = Job::new(scenario, server, replication, series);
    while !job.advance(CHECK_EVENTS, control) {}
    job.finish()
}

/// One replication of one server that can be advanced a slice at a time (`run_one_with` in one
/// go; the web page, which has no threads, a slice per frame). However it is sliced, it handles
/// the same events and checks for an early stop at the same points — every `CHECK_EVENTS`
/// events — so its result is the same.
pub struct Job {
    sim: sim::Simulation<crate::engine::ServerSim>,
    end_s: f64,
    stopped: Option<EarlyStop>,
    /// When the clock last moved, and events handled since then (stall detection).
    still_since_s: f64,
    still_events: u64,
    /// Events handled since the last check.
    since_check: u64,
    /// Simulated milliseconds already added to `RunControl::done_ms`.
    reported_ms: u64,
    finished: bool,
}

impl Job {
    /// Replication `replication` of server `server` of `scenario`, not started.
    pub fn new(scenario: &Scenario, server: usize, replication: u32, series: bool) -> Self {
        Job {
            sim: architectures::simulation(scenario, server, replication, series),
            end_s: scenario.run.end_s(),
            stopped: None,
            still_since_s: 0.0,
            still_events: 0,
            since_check: 0,
            reported_ms: 0,
            finished: false,
        }
    }

    /// Handle at most `max_events` events (fewer if a check falls due first); true once the run
    /// is over (its end reached, or stopped early).
    pub fn advance(&mut self, max_events: u64, control: &RunControl) -> bool {
        if self.finished {
            return true;
        }
        // Checked first too, so simulations not yet started when Ctrl-C comes stop at once.
        if control.interrupt.load(Ordering::Relaxed) {
            self.stop(StopReason::Interrupted);
            return true;
        }
        let want = max_events.clamp(1, CHECK_EVENTS - self.since_check);
        let handled = self.sim.run_until_limited(self.end_s, want);
        self.since_check += handled;
        let now = self.sim.now_s();
        let now_ms = (now * 1e3) as u64;
        control.done_ms.fetch_add(now_ms.saturating_sub(self.reported_ms), Ordering::Relaxed);
        self.reported_ms = self.reported_ms.max(now_ms);
        if handled < want || now >= self.end_s {
            self.finished = true;
            return true;
        }
        if self.since_check < CHECK_EVENTS {
            return false;
        }
        let checked = std::mem::take(&mut self.since_check);
        if self.sim.model.has_diverged(control.max_in_system) {
            self.stop(StopReason::Diverged);
            return true;
        }
        if now > self.still_since_s {
            (self.still_since_s, self.still_events) = (now, 0);
        }
        self.still_events += checked;
        if self.still_events >= STALL_EVENTS {
            self.stop(StopReason::Stalled);
            return true;
        }
        false
    }

    fn stop(&mut self, reason: StopReason) {
        self.stopped = Some(EarlyStop { at_s: self.sim.now_s(), reason });
        self.finished = true;
    }

    /// Simulated seconds reached so far.
    pub fn now_s(&self) -> f64 {
        self.sim.now_s()
    }

    /// The results, at the end or where it stopped.
    pub fn finish(mut self) -> RunResult {
        let stop = self.stopped.map_or(self.end_s, |s| s.at_s);
        let mut result = self.sim.model.finish(stop);
        result.stopped = self.stopped;
        result
    }
}

/// Put the results of every server × replication of `scenario`, in job order (server by server,
/// replications in order), into its report.
pub fn report_of(scenario: &Scenario, results: Vec<RunResult>) -> Report {
    let reps = scenario.run.replications.max(1);
    let mut results = results.into_iter();
    let servers = (0..scenario.servers.len())
        .map(|s| {
            let runs: Vec<RunResult> = results.by_ref().take(reps as usize).collect();
            ServerReport::new(scenario, s, runs)
        })
        .collect();
    Report {
        scenario: scenario.name.clone(),
        seed: scenario.run.seed,
        replications: reps,
        servers,
        has_backend: scenario.backend.is_some(),
    }
}

/// Scenarios run to reports one slice at a time, one simulation after another, for a caller
/// without threads (the web page advances it a slice per frame). The reports equal
/// `run(scenario, series)`'s for each.
pub struct Batch {
    scenarios: Vec<Scenario>,
    series: bool,
    /// (scenario, server, replication) of every simulation, in report order.
    jobs: Vec<(usize, usize, u32)>,
    current: Option<Job>,
    results: Vec<RunResult>,
    control: RunControl,
}

impl Batch {
    /// Every server × replication of every scenario of `scenarios`, none started.
    pub fn new(scenarios: Vec<Scenario>, series: bool) -> Self {
        let jobs = scenarios
            .iter()
            .enumerate()
            .flat_map(|(v, sc)| {
                let reps = sc.run.replications.max(1);
                (0..sc.servers.len()).flat_map(move |s| (0..reps).map(move |r| (v, s, r)))
            })
            .collect();
        Batch { scenarios, series, jobs, current: None, results: Vec::new(), control: RunControl::default() }
    }

    /// Handle at most `max_events` events of the simulation in progress (starting the next, or
    /// finishing one, as needed); true once every simulation is done.
    pub fn advance(&mut self, max_events: u64) -> bool {
        let Some(&(v, s, r)) = self.jobs.get(self.results.len()) else { return true };
        let job = self.current.get_or_insert_with(|| Job::new(&self.scenarios[v], s, r, self.series && r == 0));
        if job.advance(max_events, &self.control)
            && let Some(job) = self.current.take()
        {
            self.results.push(job.finish());
        }
        self.results.len() == self.jobs.len()
    }

    /// Simulations finished, out of `total()`.
    pub fn done(&self) -> usize {
        self.results.len()
    }

    /// Simulations in the batch.
    pub fn total(&self) -> usize {
        self.jobs.len()
    }

    /// The finished simulation `i` (in job order): its scenario index, server index and result.
    pub fn result(&self, i: usize) -> Option<(usize, usize, &RunResult)> {
        self.results.get(i).map(|res| (self.jobs[i].0, self.jobs[i].1, res))
    }

    /// Every scenario's report, once all are done (`None` before).
    pub fn reports(self) -> Option<Vec<Report>> {
        if self.results.len() < self.jobs.len() {
            return None;
        }
        let mut results = self.results.into_iter();
        Some(
            self.scenarios
                .iter()
                .map(|sc| {
                    let n = sc.servers.len() * sc.run.replications.max(1) as usize;
                    report_of(sc, results.by_ref().take(n).collect())
                })
                .collect(),
        )
    }
}

/// Results of a whole scenario.
#[derive(Debug, Clone)]
pub struct Report {
    /// Scenario name.
    pub scenario: String,
    /// Seed used.
    pub seed: u64,
    /// Replications run.
    pub replications: u32,
    /// One entry per server, in scenario order.
    pub servers: Vec<ServerReport>,
    /// The scenario has a `[backend]` database.
    pub has_backend: bool,
}

/// Results for one server over all replications.
#[derive(Debug, Clone)]
pub struct ServerReport {
    /// Server name.
    pub name: String,
    /// Architecture id.
    pub architecture: &'static str,
    /// One result per replication.
    pub runs: Vec<RunResult>,
    /// Estimated saturation rate in requests per second and the resource that sets it.
    pub capacity: Option<(String, f64)>,
    /// Warnings for the reader (overload, growing queue).
    pub warnings: Vec<String>,
    /// Queueing theory's answer for this server, or what takes it outside the formulas.
    pub analytic: Result<crate::analytic::Analytic, Vec<String>>,
}

/// Estimated saturation rate (requests per second) of server `index` and the resource that sets
/// it, from mean demands (see docs/model.md).
pub fn capacity(scenario: &Scenario, index: usize) -> Option<(String, f64)> {
    let config = &scenario.servers[index];
    let info = architectures::info(config.architecture);
    let workload =
        Workload::of(&scenario.requests).with_clients(&scenario.load.clients).with_connections(&scenario.load);
    let mut resources = (info.resources)(config, &workload, scenario.machine.cores);
    if let Some(b) = &scenario.backend {
        // Each query in progress holds a connection: at most max_connections, or what the
        // processes' pools hold if that is fewer.
        let processes = info.process_count(config);
        let pooled = config.db_pool.map_or(u64::MAX, |n| u64::from(processes) * u64::from(n));
        let connections = pooled.min(u64::from(b.connections));
        resources.push(architectures::Resource {
            name: format!("{connections} database connections"),
            busy_per_rps: workload.io_s(),
            units: connections as f64,
        });
        // Every request's IO is a query: the database's workers are busy io_s per request.
        resources.push(architectures::Resource {
            name: format!("database, {} queries at once", b.workers),
            busy_per_rps: workload.io_s(),
            units: f64::from(b.workers),
        });
    }
    bottleneck(&resources).map(|(r, c)| (r.name.clone(), c))
}

impl ServerReport {
    /// The report of server `index` of `scenario` from its runs (one per replication, at least
    /// one), with its capacity estimate and warnings.
    pub fn new(scenario: &Scenario, index: usize, runs: Vec<RunResult>) -> Self {
        let config = &scenario.servers[index];
        let info = architectures::info(config.architecture);
        let capacity = capacity(scenario, index);
        let mut warnings = Vec::new();
        let offered = scenario.load.peak_rate_rps();
        if let Some((name, cap)) = &capacity
            && !matches!(scenario.load.arrival, Arrival::Closed { .. })
            && offered >= *cap
        {
            warnings.push(format!(
                "offered load {offered:.1} req/s reaches its capacity of about {cap:.1} req/s (bottleneck: {name}); \
                 queues grow without bound"
            ));
        }
        if let Arrival::Log(log) = &scenario.load.arrival
            && log.malformed > 0
        {
            let examples: Vec<String> = log.examples.iter().map(|(l, why)| format!("line {l}: {why}")).collect();
            warnings.push(format!(
                "access log {}: {} of {} lines could not be used and were skipped ({})",
                log.path,
                log.malformed,
                log.lines,
                examples.join("; ")
            ));
        }
        if let Some(limit) = scenario.machine.memory_mb {
            let peak = runs.iter().map(|r| r.memory_peak_mb).fold(0.0, f64::max);
            if peak > limit {
                warnings.push(format!(
                    "peak memory {peak:.0} MB exceeds the machine's {limit:.0} MB (a real machine would swap or kill a process)"
                ));
            }
        }
        if let Some(stop) = runs.iter().find_map(|r| r.stopped) {
            let t = stop.at_s;
            warnings.push(match stop.reason {
                StopReason::Stalled => format!(
                    "the simulation stopped advancing at t = {t} s ({STALL_EVENTS} events at one instant); results cover \
                     only the time before it — please report this scenario"
                ),
                StopReason::Diverged => format!(
                    "stopped at t = {t:.1} s: more requests were inside the server than the simulator keeps ({} by \
                     default; the queue diverges: offered load above capacity with no listen_backlog); results cover \
                     only the time before it",
                    limits::MAX_IN_SYSTEM
                ),
                StopReason::Interrupted => {
                    format!("interrupted at t = {t:.1} s; results cover only the time simulated before it")
                }
            });
            if t <= scenario.run.warmup_s
                && let Some(w) = warnings.last_mut()
            {
                w.push_str(" — still in the warm-up, so no request was counted and averages cover the warm-up");
            }
        }
        let first = &runs[0];
        let completed = first.counts.completed.max(1) as f64;
        // Requests from clients that never read stay by design; they are not a growing queue.
        let inside = first.in_system_at_end.saturating_sub(first.never_read_at_end);
        if inside as f64 > 0.05 * completed && inside > 100 {
            warnings.push(format!(
                "{inside} requests were still in the server at the end ({} waiting for a worker): the queue was growing",
                first.waiting_at_end
            ));
        }
        let analytic = crate::analytic::pool(scenario, index);
        Self { name: config.name.clone(), architecture: info.id, runs, capacity, warnings, analytic }
    }

    /// Combine one metric over replications.
    pub fn estimate(&self, f: impl Fn(&RunResult) -> f64) -> Estimate {
        let v: Vec<f64> = self.runs.iter().map(f).collect();
        Estimate::from_replications(&v)
    }

    /// Outcome counts summed over replications.
    pub fn total_counts(&self) -> (Counts, u64) {
        let mut c = Counts::default();
        let mut in_flight = 0;
        for r in &self.runs {
            c += r.counts;
            in_flight += r.in_flight_at_end;
        }
        (c, in_flight)
    }

    /// The time series of the first replication.
    pub fn series(&self) -> &[SeriesRow] {
        &self.runs[0].series
    }
}

pub use crate::json::JsonReport;

/// The time series of every server as CSV: one row per server per window.
pub fn series_csv(report: &Report) -> String {
    series_csv_of(report.servers.iter().map(|s| (s.name.as_str(), s.architecture, s.series())))
}

/// Time series as CSV from (server name, architecture id, rows) triples: the one writer behind
/// `--series` and the window's "Export time series".
pub fn series_csv_of<'a>(servers: impl IntoIterator<Item = (&'a str, &'a str, &'a [SeriesRow])>) -> String {
    let mut out = format!("server,architecture,{}\n", SeriesRow::COLUMNS.join(","));
    for (name, architecture, rows) in servers {
        for r in rows {
            out.push_str(&csv_field(name));
            out.push(',');
            out.push_str(architecture);
            r.write_csv(&mut out);
            out.push('\n');
        }
    }
    out
}

/// `s` as one CSV field: quoted (with doubled quotes) if it holds a comma, quote or line break.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}

/// The outcome of one `[[claim]]` of a scenario on its run.
#[derive(Debug, Clone)]
pub struct ClaimCheck {
    /// The claim.
    pub claim: crate::config::ScenarioClaim,
    /// Whether it holds (an evaluation error — a metric that does not exist — does not).
    pub holds: bool,
    /// The values compared, or why it could not be evaluated.
    pub detail: String,
}

/// Check the scenario's `[[claim]]`s on `report` (the scenario's run), reading the metrics of
/// the JSON view.
pub fn check_claims(scenario: &Scenario, report: &Report) -> Vec<ClaimCheck> {
    let json = serde_json::to_value(JsonReport::from_report(report)).unwrap_or_default();
    let servers = json.get("servers").and_then(|s| s.as_array()).cloned().unwrap_or_default();
    let m = crate::claim::JsonMetrics { servers: &servers };
    scenario
        .claims
        .iter()
        .map(|c| {
            let (holds, detail) = match c.claim.check(&m) {
                Ok(v) => (v.holds, v.detail),
                Err(e) => (false, e.0),
            };
            ClaimCheck { claim: c.clone(), holds, detail }
        })
        .collect()
}
