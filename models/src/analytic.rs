//! Theory beside simulation: where a server is a pool of workers fed by Poisson arrivals, its
//! response time from queueing theory (Erlang C for M/M/c, Pollaczek–Khinchine for M/G/1,
//! Allen–Cunneen's approximation for M/G/c); where it is not, the features of the scenario that
//! take it outside the formulas' assumptions — so a user knows when a spreadsheet's answer stops
//! applying.

use crate::architectures;
use crate::claim::erlang_c;
use crate::config::{Arrival, Discipline, Scenario};
use sim::Dist;

/// The closed form's answer for one server.
#[derive(Debug, Clone, PartialEq)]
pub struct Analytic {
    /// The model ("M/M/c (Erlang C)").
    pub model: &'static str,
    /// Servers of the model (worker threads).
    pub servers: u32,
    /// Utilisation ρ = λ / (c μ).
    pub utilization: f64,
    /// Mean response time, ms.
    pub mean_ms: f64,
    /// 99th-percentile response time, ms (`None` where the model gives only the mean).
    pub p99_ms: Option<f64>,
    /// The mean is exact for the model (false: an approximation).
    pub exact: bool,
}

/// Queueing theory's answer for server `index` of `scenario`, or the features that take it
/// outside the formulas' assumptions (Poisson arrivals; one shared FIFO queue, unbounded, no
/// time-outs; c workers each held for a whole request, with nothing shared between them). With
/// one exponential service time: M/M/c (Erlang C), exact mean and p99 — or, for a closed load
/// with exponential (or no) think times, M/M/c//N, exact mean; one worker: M/G/1
/// (Pollaczek–Khinchine), exact mean; otherwise M/G/c by Allen–Cunneen, an approximation.
pub fn pool(scenario: &Scenario, index: usize) -> Result<Analytic, Vec<String>> {
    let c = &scenario.servers[index];
    let info = architectures::info(c.architecture);
    let load = &scenario.load;
    let mut why = Vec::new();
    let mut not = |cond: bool, reason: &str| {
        if cond {
            why.push(reason.to_string());
        }
    };
    let closed = match &load.arrival {
        Arrival::Closed { users, think_s } => Some((*users, think_s.clone())),
        _ => None,
    };
    not(closed.is_none() && !matches!(load.arrival, Arrival::Poisson), "arrivals are not Poisson");
    not(
        closed.as_ref().is_some_and(|(_, z)| !matches!(z, Dist::Exp { .. }) && !z.is_zero()),
        "think times are not exponential",
    );
    not(!load.schedule.is_empty(), "the rate changes over time");
    not(load.timeout_s.is_some(), "clients time out");
    not(load.retries > 0, "clients retry");
    not(load.requests_per_connection > 1 || c.keepalive_timeout_s.is_some(), "keep-alive connections");
    not(scenario.requests.iter().any(|r| r.io_calls > 1), "several blocking calls per request");
    // One event loop whose IO blocks it is one server held for each whole request. With
    // non-blocking IO its callbacks wait for the loop's next turn behind the CPU work in progress
    // — the reactor's own delay, which no M/G/1 formula includes (the simulation shows it: 76 ms
    // where CPU-only M/G/1 plus the IO says 70, `models/tests/analytic.rs`).
    let lone_loop = info.id == "event_loop" && c.processes == 1 && c.offload_threads == 0;
    not(
        lone_loop && !c.blocking_io && scenario.requests.iter().any(|r| !r.io_s.is_zero()),
        "non-blocking IO whose callbacks wait for the loop's next turn",
    );
    not(
        info.id == "event_loop" && !lone_loop,
        "several event loops or offload threads (not one queue in front of one server)",
    );
    not(
        !matches!(info.id, "threaded" | "prefork" | "worker" | "event_loop"),
        "it is not one pool of workers held for each whole request",
    );
    not(c.listen_backlog.is_some(), "a bounded backlog (M/M/c/K)");
    not(c.queue_timeout_s.is_some() || c.request_timeout_s.is_some(), "time-outs in the server");
    not(c.queue_discipline != Discipline::Fifo, "a LIFO queue");
    not(c.accept.per_process(), "a queue per process");
    not(c.dynamic.is_some() || c.max_requests.is_some(), "a pool that forks, stops or recycles processes");
    not(scenario.backend.is_some(), "a shared database");
    not(
        load.clients.iter().any(|k| k.bandwidth_kbps.is_finite() || k.rtt_s > 0.0 || k.header_s > 0.0 || !k.reads),
        "slow clients (the network holds workers)",
    );
    not(
        scenario
            .requests
            .iter()
            .any(|r| r.crash_fraction > 0.0 || r.hang_fraction > 0.0 || r.leak_kb > 0.0 || r.memory_hog_mb > 0.0),
        "faults (crashes, hangs, leaks)",
    );
    let workers = c.processes * c.threads;
    let uses_cpu = scenario.requests.iter().any(|r| r.cpu_s.mean() > 0.0);
    not(uses_cpu && c.gil && c.threads > 1, "the GIL (threads of a process share one interpreter)");
    not(uses_cpu && workers > scenario.machine.cores, "more workers than cores share the CPU");
    if !why.is_empty() {
        return Err(why);
    }
    // Each request holds its worker for its CPU plus its IO (independent): the service time's
    // first two moments over the request mix.
    let total: f64 = scenario.requests.iter().map(|r| r.weight).sum();
    let (mut m1, mut m2) = (0.0, 0.0);
    for r in &scenario.requests {
        let w = r.weight / total;
        let (c1, i1) = (r.cpu_s.mean(), r.io_s.mean());
        m1 += w * (c1 + i1);
        m2 += w * (r.cpu_s.second_moment() + 2.0 * c1 * i1 + r.io_s.second_moment());
    }
    if m1 <= 0.0 {
        return Err(vec!["requests take no time".into()]);
    }
    let holds: Vec<Option<f64>> = scenario.requests.iter().map(|r| exponential_hold(&r.cpu_s, &r.io_s)).collect();
    let exponential = holds
        .first()
        .copied()
        .flatten()
        .is_some_and(|m| holds.iter().all(|h| h.is_some_and(|h| (h - m).abs() <= 1e-12 * m)));
    if let Some((users, think)) = closed {
        if !exponential {
            return Err(vec![
                "service times are not one exponential distribution (a closed load's formula needs it)".into(),
            ]);
        }
        return Ok(finite_source(users, think.mean(), m1, workers));
    }
    let lambda = load.rate_rps;
    let rho = lambda * m1 / f64::from(workers);
    if rho >= 1.0 {
        return Err(vec![format!("overload (ρ = {rho:.2} ≥ 1)")]);
    }
    // One exponential service time for every request: M/M/c, exact, with its whole distribution.
    if exponential {
        return Ok(mmc_exact(workers, lambda, 1.0 / m1, rho));
    }
    if workers == 1 {
        // M/G/1: Pollaczek–Khinchine, exact for the mean.
        let wait = lambda * m2 / (2.0 * (1.0 - rho));
        return Ok(Analytic {
            model: "M/G/1 (Pollaczek–Khinchine)",
            servers: 1,
            utilization: rho,
            mean_ms: 1e3 * (wait + m1),
            p99_ms: None,
            exact: true,
        });
    }
    // M/G/c: Allen–Cunneen's approximation, Erlang C's wait scaled by (1 + cs²) / 2.
    let cs2 = m2 / (m1 * m1) - 1.0;
    let wait = erlang_c(f64::from(workers), lambda * m1) / (f64::from(workers) / m1 - lambda) * (1.0 + cs2) / 2.0;
    Ok(Analytic {
        model: "M/G/c (Allen–Cunneen, approximate)",
        servers: workers,
        utilization: rho,
        mean_ms: 1e3 * (wait + m1),
        p99_ms: None,
        exact: false,
    })
}

/// A closed load of `users` who think an exponential `think_s` (or not at all) between requests
/// to `workers` exponential servers of mean `hold_s`: the finite-source birth–death chain
/// (M/M/c//N, the machine-repairman model), exact. p_k ∝ N!/(N−k)! · (S/Z)^k / (k! for k ≤ c,
/// c!·c^(k−c) above); throughput X = Σ p_k · min(k, c) / S; mean response N/X − Z (Little).
fn finite_source(users: u32, think_s: f64, hold_s: f64, workers: u32) -> Analytic {
    let (n, c) = (users, workers);
    let throughput = if think_s <= 0.0 {
        // Everyone is always waiting or being served.
        f64::from(n.min(c)) / hold_s
    } else {
        let r = hold_s / think_s;
        let mut p = vec![1.0f64];
        for k in 1..=n {
            let prev = p[(k - 1) as usize];
            p.push(prev * f64::from(n - k + 1) * r / f64::from(k.min(c)));
            if prev > 1e250 {
                // Rescale: only the ratios matter.
                p.iter_mut().for_each(|x| *x *= 1e-250);
            }
        }
        let total: f64 = p.iter().sum();
        p.iter().enumerate().map(|(k, pk)| pk / total * f64::from((k as u32).min(c)) / hold_s).sum()
    };
    Analytic {
        model: "M/M/c//N (closed, finite source)",
        servers: c,
        utilization: throughput * hold_s / f64::from(c),
        mean_ms: 1e3 * (f64::from(n) / throughput - think_s),
        p99_ms: None,
        exact: true,
    }
}

/// M/M/c's exact mean and p99 with `workers` servers of rate `mu`.
fn mmc_exact(workers: u32, lambda: f64, mu: f64, rho: f64) -> Analytic {
    let wait = erlang_c(f64::from(workers), lambda / mu);
    let theta = f64::from(workers) * mu - lambda;
    let tail = |t: f64| {
        // P(T > t): the wait is 0 with probability 1 − C, else Exp(θ); plus an Exp(μ) service.
        let both = if (theta - mu).abs() < 1e-9 * mu {
            (1.0 + mu * t) * (-mu * t).exp()
        } else {
            (theta * (-mu * t).exp() - mu * (-theta * t).exp()) / (theta - mu)
        };
        (1.0 - wait) * (-mu * t).exp() + wait * both
    };
    let (mut lo, mut hi) = (0.0, 1.0 / mu);
    while tail(hi) > 0.01 {
        hi *= 2.0;
    }
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if tail(mid) > 0.01 { lo = mid } else { hi = mid }
    }
    Analytic {
        model: "M/M/c (Erlang C)",
        servers: workers,
        utilization: rho,
        mean_ms: 1e3 * (wait / theta + 1.0 / mu),
        p99_ms: Some(1e3 * 0.5 * (lo + hi)),
        exact: true,
    }
}

/// The mean of `cpu + io` if it is exponential (one part exponential, the other zero).
fn exponential_hold(cpu: &Dist, io: &Dist) -> Option<f64> {
    let zero = |d: &Dist| matches!(d, Dist::Const(x) if *x == 0.0);
    let exp = |d: &Dist| matches!(d, Dist::Exp { .. });
    if zero(cpu) && exp(io) {
        Some(io.mean())
    } else if zero(io) && exp(cpu) {
        Some(cpu.mean())
    } else {
        None
    }
}
