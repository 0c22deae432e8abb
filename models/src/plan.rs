//! Capacity planning (`serversim plan`): for each server of a scenario, the cheapest pool size
//! that meets a latency and loss objective at a given rate. Meeting it is a statistical
//! statement — the upper end of the 95% confidence interval of p99 over independent replications
//! must be within the target — and the search starts from the capacity estimate and Erlang C,
//! then bisects on the size (assumed monotone: more workers never make p99 worse), so a plan
//! costs tens of simulations, not a grid.

use rayon::prelude::*;
use sim::stats::Estimate;

use crate::architectures::{self, SizeField};
use crate::claim::erlang_c;
use crate::config::{Arrival, Scenario, ServerConfig};
use crate::limits::MAX_WORKERS;
use crate::runner::{capacity, run_one};

/// What a configuration must achieve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Objective {
    /// The offered arrival rate, requests per second.
    pub rate_rps: f64,
    /// The 99th-percentile latency the upper end of its 95% confidence interval must not exceed,
    /// ms.
    pub p99_ms: f64,
    /// The largest fraction of arrivals that may be lost (refused, failed or timed out).
    pub max_lost: f64,
    /// The memory the server may use at its peak, MB (`None`: no limit).
    pub memory_mb: Option<f64>,
}

/// Why a plan cannot be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    /// The objective is not one a plan can meet.
    #[error("{0}")]
    BadObjective(String),
    /// The scenario's load has no rate to set.
    #[error("a plan sets the arrival rate, so it needs an open load (poisson or uniform); this scenario's is {0}")]
    WrongLoad(&'static str),
}

/// One configuration's measured outcome at the objective's rate.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// `processes` and `threads` of the configuration.
    pub sizes: (u32, u32),
    /// p99 latency over the replications, ms.
    pub p99_ms: Estimate,
    /// Fraction of arrivals lost, over all replications.
    pub lost_fraction: f64,
    /// Largest peak memory of any replication, MB (shared pages counted once: what the machine
    /// spends).
    pub memory_mb: f64,
    /// Largest peak of resident memory as `ps` sums it over the processes, MB (shared pages
    /// counted in every process).
    pub rss_sum_mb: f64,
    /// Mean fraction of all cores busy.
    pub cpu_utilization: f64,
    /// It meets the objective.
    pub meets: bool,
}

/// The plan for one server.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerPlan {
    /// The server's name.
    pub name: String,
    /// Its architecture's id.
    pub architecture: &'static str,
    /// The chosen sizes as (field, value), in the architecture's terms (`None` if infeasible).
    pub sizes: Option<Vec<(&'static str, u32)>>,
    /// The chosen configuration's outcome (`None` if infeasible).
    pub chosen: Option<Evaluation>,
    /// The largest rate at which the chosen configuration still meets the objective, found by
    /// bisection to ±1%, req/s.
    pub headroom_rps: Option<f64>,
    /// Erlang C's answer for the chosen configuration, or what takes it outside M/M/c.
    pub analytic: Option<Result<crate::analytic::Analytic, Vec<String>>>,
    /// Simulations this server's plan ran.
    pub simulations: usize,
    /// One line saying why.
    pub reason: String,
}

/// The plan for every server, and the best one.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The objective planned for.
    pub objective: Objective,
    /// Replications per configuration.
    pub replications: u32,
    /// Simulated seconds measured per replication (after warm-up).
    pub duration_s: f64,
    /// One plan per server, in the scenario's order.
    pub servers: Vec<ServerPlan>,
    /// The index of the feasible server with the least memory, then the fewest workers (`None`
    /// if none is feasible).
    pub best: Option<usize>,
}

/// Worker threads of a pool of `sizes` (processes, threads).
fn workers(sizes: (u32, u32)) -> u64 {
    u64::from(sizes.0) * u64::from(sizes.1)
}

/// Fewest replications a plan uses per configuration (the confidence interval needs several).
pub const MIN_REPLICATIONS: u32 = 5;

/// Plan every server of `scenario` for `objective`.
pub fn plan(scenario: &Scenario, objective: Objective) -> Result<Plan, PlanError> {
    check(scenario, &objective)?;
    let mut base = scenario.clone();
    base.load.rate_rps = objective.rate_rps;
    base.load.schedule.clear();
    base.run.replications = base.run.replications.max(MIN_REPLICATIONS);
    base.claims.clear();
    let servers: Vec<ServerPlan> = (0..base.servers.len()).map(|i| plan_server(&base, i, &objective)).collect();
    let best = servers
        .iter()
        .enumerate()
        .filter_map(|(i, s)| s.chosen.as_ref().map(|e| (i, e)))
        .min_by(|a, b| a.1.memory_mb.total_cmp(&b.1.memory_mb).then(workers(a.1.sizes).cmp(&workers(b.1.sizes))))
        .map(|(i, _)| i);
    Ok(Plan { objective, replications: base.run.replications, duration_s: base.run.duration_s, servers, best })
}

/// The objective is one a plan can meet, on a load whose rate it can set.
fn check(scenario: &Scenario, o: &Objective) -> Result<(), PlanError> {
    let bad = |m: String| Err(PlanError::BadObjective(m));
    if !(o.rate_rps.is_finite() && o.rate_rps > 0.0 && o.rate_rps <= crate::limits::MAX_RATE_RPS) {
        return bad(format!(
            "--rate {}: allowed: a rate > 0 and at most {} req/s",
            o.rate_rps,
            crate::limits::MAX_RATE_RPS
        ));
    }
    if !(o.p99_ms.is_finite() && o.p99_ms > 0.0) {
        return bad(format!("--p99-ms {}: allowed: milliseconds > 0", o.p99_ms));
    }
    if !(0.0..1.0).contains(&o.max_lost) {
        return bad(format!("--max-lost {}: allowed: a fraction from 0 to less than 1", o.max_lost));
    }
    if let Some(m) = o.memory_mb
        && !(m.is_finite() && m > 0.0)
    {
        return bad(format!("--memory-mb {m}: allowed: megabytes > 0"));
    }
    match scenario.load.arrival {
        Arrival::Poisson | Arrival::Uniform => Ok(()),
        Arrival::Closed { .. } => Err(PlanError::WrongLoad("closed")),
        Arrival::Log(_) => Err(PlanError::WrongLoad("a replayed log")),
    }
}

/// Counts simulations and remembers every configuration tried.
struct Search<'a> {
    scenario: &'a Scenario,
    index: usize,
    objective: &'a Objective,
    simulations: usize,
    tried: Vec<Evaluation>,
}

impl Search<'_> {
    /// `config` with its pool set to `sizes`, as a one-server scenario at `rate_rps`.
    fn scenario_with(&self, sizes: (u32, u32), rate_rps: f64) -> Scenario {
        let mut sc = self.scenario.clone();
        let mut c: ServerConfig = sc.servers[self.index].clone();
        (c.processes, c.threads) = sizes;
        if let Some(d) = &mut c.dynamic {
            d.start_processes = d.start_processes.min(c.processes);
        }
        sc.servers = vec![c];
        sc.load.rate_rps = rate_rps;
        sc
    }

    /// Run every replication of `sizes` at `rate_rps`.
    fn measure(&mut self, sizes: (u32, u32), rate_rps: f64) -> Evaluation {
        let sc = self.scenario_with(sizes, rate_rps);
        let reps = sc.run.replications;
        let runs: Vec<_> = (0..reps).into_par_iter().map(|r| run_one(&sc, 0, r, false)).collect();
        self.simulations += runs.len();
        let p99: Vec<f64> = runs.iter().map(|r| r.latency.quantile_ms(0.99)).collect();
        let p99_ms = Estimate::from_replications(&p99);
        let (lost, arrived) = runs.iter().fold((0, 0), |(l, a), r| (l + r.counts.lost(), a + r.counts.arrived));
        let lost_fraction = lost as f64 / arrived.max(1) as f64;
        let memory_mb = runs.iter().map(|r| r.memory_peak_mb).fold(0.0, f64::max);
        let rss_sum_mb = runs.iter().map(|r| r.rss_sum_peak_mb).fold(0.0, f64::max);
        let cpu_utilization = runs.iter().map(|r| r.cpu_utilization).sum::<f64>() / runs.len().max(1) as f64;
        let o = self.objective;
        let completed = runs.iter().all(|r| r.counts.completed > 0);
        let meets = completed
            && p99_ms.mean + p99_ms.half_width <= o.p99_ms
            && lost_fraction <= o.max_lost
            && o.memory_mb.is_none_or(|m| memory_mb <= m);
        Evaluation { sizes, p99_ms, lost_fraction, memory_mb, rss_sum_mb, cpu_utilization, meets }
    }

    /// `measure` at the objective's rate, remembered.
    fn evaluate(&mut self, sizes: (u32, u32)) -> Evaluation {
        if let Some(e) = self.tried.iter().find(|e| e.sizes == sizes) {
            return e.clone();
        }
        let e = self.measure(sizes, self.objective.rate_rps);
        self.tried.push(e.clone());
        e
    }

    /// The estimated saturation rate of `sizes` (from mean demands).
    fn capacity_rps(&self, sizes: (u32, u32)) -> (String, f64) {
        capacity(&self.scenario_with(sizes, self.objective.rate_rps), 0).unwrap_or(("nothing".into(), f64::INFINITY))
    }

    /// The smallest `n` (with `sizes(n)` the pool) that meets the objective, searching up from
    /// the estimate `start` and bisecting above `lo` (a size too small to keep up with the rate);
    /// `None` if none up to `max` does — or if doubling the pool no longer raises its capacity,
    /// so that another resource binds.
    fn smallest(&mut self, lo: u32, start: u32, max: u32, sizes: impl Fn(u32) -> (u32, u32)) -> Option<u32> {
        let mut lo = lo.min(start.saturating_sub(1));
        let mut n = start.clamp(1, max);
        let mut previous: Option<Evaluation> = None;
        let hi = loop {
            let e = self.evaluate(sizes(n));
            if e.meets {
                break n;
            }
            let over_memory = self.objective.memory_mb.is_some_and(|m| e.memory_mb > m);
            // Doubling the pool no longer helps: p99 and losses stayed where they were (they are
            // the requests' own time and faults, not waiting for a worker).
            let stuck = previous
                .as_ref()
                .is_some_and(|p| e.p99_ms.mean >= 0.99 * p.p99_ms.mean && e.lost_fraction >= 0.99 * p.lost_fraction);
            lo = n;
            let next = n.saturating_mul(2).min(max);
            let gains = self.capacity_rps(sizes(next)).1 > self.capacity_rps(sizes(n)).1 * 1.001;
            if n >= max || over_memory || !gains || stuck {
                return None;
            }
            previous = Some(e);
            n = next;
        };
        // Bisect in (lo, hi]: `hi` meets, `lo` fails (or is 0).
        let mut hi = hi;
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if self.evaluate(sizes(mid)).meets { hi = mid } else { lo = mid }
        }
        Some(hi)
    }
}

/// The size the capacity estimate and Erlang C suggest for a pool of `n` (via `sizes(n)`): the
/// smallest `n` whose estimated capacity exceeds the rate and whose M/M/c p99 — with the mean
/// hold time the capacity estimate implies — is within the target. Returns (the largest `n`
/// whose capacity does not exceed the rate, or 0; the suggestion), or `None` if even `max` does
/// not keep up.
fn estimate(search: &Search<'_>, max: u32, sizes: &dyn Fn(u32) -> (u32, u32)) -> Option<(u32, u32)> {
    let rate = search.objective.rate_rps;
    let workers = |n: u32| {
        let (p, t) = sizes(n);
        f64::from(p) * f64::from(t)
    };
    // The smallest n with capacity above the rate (capacity grows with n until another
    // resource binds).
    if search.capacity_rps(sizes(max)).1 <= rate {
        return None;
    }
    let mut n = 1;
    while n < max && search.capacity_rps(sizes(n)).1 <= rate {
        n = n.saturating_mul(2).min(max);
    }
    let (mut lo, mut hi) = (if search.capacity_rps(sizes(n)).1 > rate && n == 1 { 0 } else { n / 2 }, n);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if search.capacity_rps(sizes(mid)).1 > rate { hi = mid } else { lo = mid }
    }
    // M/M/c with c = workers and the hold time capacity = c / hold implies.
    let (_, cap) = search.capacity_rps(sizes(hi));
    let hold_s = workers(hi) / cap;
    if !(hold_s.is_finite() && hold_s > 0.0) {
        return Some((lo, hi));
    }
    let target_s = search.objective.p99_ms / 1e3;
    if hold_s >= target_s {
        // Even without waiting the mean hold exceeds the target: no pool size fixes that, and the
        // simulations will say by how much.
        return Some((lo, hi));
    }
    let mut c = hi;
    while c < max {
        let servers = workers(c);
        let a = rate * hold_s;
        let p_wait = erlang_c(servers, a);
        // P(wait > t) = C · e^{-(c/h − λ) t}: the 1% tail of the wait, plus the mean hold.
        let drain = servers / hold_s - rate;
        let wait99 = if p_wait <= 0.01 { 0.0 } else { (p_wait / 0.01).ln() / drain };
        if drain > 0.0 && wait99 + hold_s <= target_s {
            break;
        }
        c += 1;
    }
    Some((lo, c))
}

/// The plan for server `index` of `scenario` (already at the objective's rate).
fn plan_server(scenario: &Scenario, index: usize, objective: &Objective) -> ServerPlan {
    let config = &scenario.servers[index];
    let info = architectures::info(config.architecture);
    let mut search = Search { scenario, index, objective, simulations: 0, tried: Vec::new() };
    let (pf, tf) = (info.sizes.processes, info.sizes.threads);
    let fixed = (config.processes, config.threads);
    let chosen = match (pf, tf) {
        (None, None) => Some(search.evaluate(fixed)).filter(|e| e.meets),
        (Some(_), None) => one_size(&mut search, &|n| (n, fixed.1)),
        (None, Some(_)) => one_size(&mut search, &|n| (fixed.0, n)),
        (Some(_), Some(_)) => two_sizes(&mut search),
    };
    let named = |e: &Evaluation| -> Vec<(&'static str, u32)> {
        let field = |f: Option<SizeField>, v: u32| f.map(|f| (f.field, v));
        [field(pf, e.sizes.0), field(tf, e.sizes.1)].into_iter().flatten().collect()
    };
    let headroom_rps = chosen.as_ref().map(|e| headroom(&mut search, e.sizes));
    let analytic =
        chosen.as_ref().map(|e| crate::analytic::pool(&search.scenario_with(e.sizes, objective.rate_rps), 0));
    let reason = match &chosen {
        Some(e) => {
            format!("{} meets it with {} in {:.0} MB", info.id, sizes_text(&search, e.sizes), e.memory_mb)
        }
        None => why_not(&search, info.id),
    };
    ServerPlan {
        name: config.name.clone(),
        architecture: info.id,
        sizes: chosen.as_ref().map(named),
        chosen,
        headroom_rps,
        analytic,
        simulations: search.simulations,
        reason,
    }
}

/// The largest pool a plan tries in one dimension.
fn max_size() -> u32 {
    u32::try_from(MAX_WORKERS.min(4096)).unwrap_or(4096)
}

/// The cheapest single-size pool (`sizes(n)`).
fn one_size(search: &mut Search<'_>, sizes: &dyn Fn(u32) -> (u32, u32)) -> Option<Evaluation> {
    let max = max_size();
    let (lo, start) = estimate(search, max, sizes)?;
    search.smallest(lo, start, max, sizes).map(|n| search.evaluate(sizes(n)))
}

/// The cheapest processes × threads pool: for each process count tried, the fewest threads that
/// meet the objective; of those, the least memory, then the fewest workers.
fn two_sizes(search: &mut Search<'_>) -> Option<Evaluation> {
    let cores = search.scenario.machine.cores;
    let mut counts: Vec<u32> = [1, 2, 3, 4, 6, 8, 12, 16].into_iter().chain([cores, 2 * cores]).collect();
    counts.sort_unstable();
    counts.dedup();
    let max = max_size();
    let mut feasible = Vec::new();
    for p in counts {
        let sizes = move |t: u32| (p, t);
        let Some((lo, start)) = estimate(search, max / p.max(1), &sizes) else { continue };
        if let Some(t) = search.smallest(lo, start, max / p.max(1), sizes) {
            feasible.push(search.evaluate((p, t)));
        }
    }
    feasible
        .into_iter()
        .min_by(|a, b| a.memory_mb.total_cmp(&b.memory_mb).then(workers(a.sizes).cmp(&workers(b.sizes))))
}

/// The largest rate at which `sizes` still meets the objective, by bisection to ±1%.
fn headroom(search: &mut Search<'_>, sizes: (u32, u32)) -> f64 {
    let rate = search.objective.rate_rps;
    let (_, cap) = search.capacity_rps(sizes);
    let mut lo = rate;
    let mut hi = if cap.is_finite() && cap > rate { cap * 1.05 } else { rate * 4.0 };
    let meets = |s: &mut Search<'_>, r: f64| s.measure(sizes, r).meets;
    // Make sure `hi` fails (the estimate may be low for some mixes).
    let mut grow = 0;
    while meets(search, hi) && grow < 4 {
        (lo, hi) = (hi, hi * 2.0);
        grow += 1;
    }
    while (hi - lo) > 0.01 * lo {
        let mid = 0.5 * (lo + hi);
        if meets(search, mid) { lo = mid } else { hi = mid }
    }
    lo
}

/// Why no configuration met the objective: what the largest one tried runs into.
fn why_not(search: &Search<'_>, id: &str) -> String {
    let o = search.objective;
    let Some(last) = search.tried.iter().max_by_key(|e| u64::from(e.sizes.0) * u64::from(e.sizes.1)) else {
        // Nothing was simulated: even the largest pool's estimated capacity is below the rate.
        let c = &search.scenario.servers[search.index];
        let info = architectures::info(c.architecture);
        let max = max_size();
        let sizes = (
            if info.sizes.processes.is_some() { max } else { c.processes },
            if info.sizes.threads.is_some() { max } else { c.threads },
        );
        let (resource, cap) = search.capacity_rps(sizes);
        return format!(
            "{id} cannot meet it: {resource} cap it at {cap:.0} req/s however large the pool (the rate is {} req/s)",
            o.rate_rps
        );
    };
    if let Some(m) = o.memory_mb
        && last.memory_mb > m
    {
        let fast_enough = last.p99_ms.mean + last.p99_ms.half_width <= o.p99_ms && last.lost_fraction <= o.max_lost;
        return format!(
            "{id} cannot meet it within {m:.0} MB: {} uses {:.0} MB{}",
            sizes_text(search, last.sizes),
            last.memory_mb,
            if fast_enough { " (it would meet the latency and loss targets)" } else { "" }
        );
    }
    let (resource, cap) = search.capacity_rps(last.sizes);
    if cap <= o.rate_rps * 1.0001 {
        return format!("{id} cannot meet it: {resource} cap it at {cap:.0} req/s (the rate is {} req/s)", o.rate_rps);
    }
    let mut misses = Vec::new();
    if last.p99_ms.mean + last.p99_ms.half_width > o.p99_ms {
        misses.push(format!("p99 stays at {:.0} ± {:.0} ms", last.p99_ms.mean, last.p99_ms.half_width));
    }
    if last.lost_fraction > o.max_lost {
        misses.push(format!("{:.2}% are lost", 100.0 * last.lost_fraction));
    }
    format!(
        "{id} cannot meet it: at the largest pool tried ({}) {} — more workers no longer help: it is the requests' own time and faults, not the pool",
        sizes_text(search, last.sizes),
        misses.join(" and ")
    )
}

/// The plan as `serversim plan --json` prints it (`docs/output-format.md`, "serversim plan").
pub fn json(plan: &Plan) -> Result<String, serde_json::Error> {
    #[derive(serde::Serialize)]
    struct JsonPlan<'a> {
        rate_rps: f64,
        p99_ms: f64,
        max_lost: f64,
        memory_mb: Option<f64>,
        replications: u32,
        duration_s: f64,
        servers: Vec<JsonServer<'a>>,
        best: Option<&'a str>,
    }
    #[derive(serde::Serialize)]
    struct JsonServer<'a> {
        name: &'a str,
        architecture: &'a str,
        feasible: bool,
        sizes: serde_json::Map<String, serde_json::Value>,
        p99_ms: Option<f64>,
        p99_ci95_ms: Option<f64>,
        lost_fraction: Option<f64>,
        memory_mb: Option<f64>,
        rss_sum_mb: Option<f64>,
        cpu_utilization: Option<f64>,
        headroom_rps: Option<f64>,
        analytic: Option<JsonAnalytic>,
        simulations: usize,
        reason: &'a str,
    }
    #[derive(serde::Serialize)]
    struct JsonAnalytic {
        applies: bool,
        model: Option<&'static str>,
        p99_ms: Option<f64>,
        mean_ms: Option<f64>,
        exact: Option<bool>,
        agrees: Option<bool>,
        outside: Vec<String>,
    }
    let servers = plan
        .servers
        .iter()
        .map(|s| JsonServer {
            name: &s.name,
            architecture: s.architecture,
            feasible: s.chosen.is_some(),
            sizes: s.sizes.iter().flatten().map(|(f, v)| ((*f).to_string(), serde_json::Value::from(*v))).collect(),
            p99_ms: s.chosen.as_ref().map(|e| e.p99_ms.mean),
            p99_ci95_ms: s.chosen.as_ref().map(|e| e.p99_ms.half_width),
            lost_fraction: s.chosen.as_ref().map(|e| e.lost_fraction),
            memory_mb: s.chosen.as_ref().map(|e| e.memory_mb),
            rss_sum_mb: s.chosen.as_ref().map(|e| e.rss_sum_mb),
            cpu_utilization: s.chosen.as_ref().map(|e| e.cpu_utilization),
            headroom_rps: s.headroom_rps,
            analytic: s.analytic.as_ref().map(|a| match a {
                Ok(t) => JsonAnalytic {
                    applies: true,
                    model: Some(t.model),
                    p99_ms: t.p99_ms,
                    exact: Some(t.exact),
                    mean_ms: Some(t.mean_ms),
                    agrees: s.chosen.as_ref().and_then(|e| agrees(e, t)),
                    outside: Vec::new(),
                },
                Err(why) => JsonAnalytic {
                    applies: false,
                    model: None,
                    p99_ms: None,
                    mean_ms: None,
                    exact: None,
                    agrees: None,
                    outside: why.clone(),
                },
            }),
            simulations: s.simulations,
            reason: &s.reason,
        })
        .collect();
    serde_json::to_string_pretty(&JsonPlan {
        rate_rps: plan.objective.rate_rps,
        p99_ms: plan.objective.p99_ms,
        max_lost: plan.objective.max_lost,
        memory_mb: plan.objective.memory_mb,
        replications: plan.replications,
        duration_s: plan.duration_s,
        servers,
        best: plan.best.map(|b| plan.servers[b].name.as_str()),
    })
}

/// `sizes` in the architecture's terms: "threads = 6", "daemons × threads = 2 × 5".
fn sizes_text(search: &Search<'_>, sizes: (u32, u32)) -> String {
    let info = architectures::info(search.scenario.servers[search.index].architecture);
    match (info.sizes.processes, info.sizes.threads) {
        (Some(p), Some(t)) => format!("{} × {} = {} × {}", p.field, t.field, sizes.0, sizes.1),
        (Some(p), None) => format!("{} = {}", p.field, sizes.0),
        (None, Some(t)) => format!("{} = {}", t.field, sizes.1),
        (None, None) => "its configured pool".to_string(),
    }
}

/// The simulated p99 and theory's agree: theory's lies within the simulation's 95% confidence
/// interval (`None` where theory gives no p99).
pub fn agrees(e: &Evaluation, theory: &crate::analytic::Analytic) -> Option<bool> {
    theory.p99_ms.map(|p| (e.p99_ms.mean - p).abs() <= e.p99_ms.half_width)
}
