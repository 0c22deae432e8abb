//! Helpers shared by the integration tests: build scenarios in code and compute the exact
//! queueing-theory answers they are compared against.

#![allow(dead_code)]

use models::config::*;
use models::runner::{ServerReport, run};
use sim::Dist;
use sim::stats::Estimate;

/// A scenario with one request class and the given servers.
pub fn scenario(rate_rps: f64, cpu_s: Dist, io_s: Dist, cores: u32, servers: Vec<ServerConfig>) -> Scenario {
    Scenario {
        name: "test".into(),
        run: RunConfig { duration_s: 2000.0, warmup_s: 100.0, seed: 7, replications: 10, window_s: 1.0 },
        machine: MachineConfig { cores, memory_mb: None, swap_mb: 0.0, swap_slowdown: 1.0, time_slice_ms: 0.0 },
        load: LoadConfig::new(Arrival::Poisson, rate_rps),
        requests: vec![class("page", 1.0, cpu_s, io_s, false)],
        servers,
        backend: None,
        claims: Vec::new(),
    }
}

/// A request class.
pub fn class(name: &str, weight: f64, cpu_s: Dist, io_s: Dist, is_static: bool) -> RequestClass {
    RequestClass { weight, is_static, ..RequestClass::new(name, cpu_s, io_s) }
}

/// A server of `kind` with `f` applied to its defaults, except that a GIL hand-off costs
/// nothing (theory knows no context switches; tests of the cost set it themselves).
pub fn server(kind: ArchitectureKind, f: impl FnOnce(&mut ServerConfig)) -> ServerConfig {
    let mut s = ServerConfig::new(kind.id(), kind);
    s.gil_switch_cost_s = 0.0;
    f(&mut s);
    s
}

/// M/M/c through a threaded pool: λ = 200/s, each request holds its thread for Exp(50 ms) of IO
/// (μ = 20/s) and uses no CPU, 4 threads; 5 replications of 200 s after 20 s of warm-up.
pub fn mmc_io_pool() -> Scenario {
    let mut sc = scenario(
        200.0,
        Dist::constant(0.0).unwrap(),
        Dist::exp(0.05).unwrap(),
        2,
        vec![server(ArchitectureKind::Threaded, |s| s.threads = 4)],
    );
    sc.run.duration_s = 200.0;
    sc.run.warmup_s = 20.0;
    sc.run.replications = 5;
    sc
}

/// Run and return the single server's report.
pub fn run_single(sc: &Scenario) -> ServerReport {
    run(sc, false).servers.into_iter().next().expect("one server")
}

/// Assert that a replication estimate agrees with theory within `k` standard errors of the mean
/// of independent replications (the tolerance comes from the run's own variability, not from
/// tuning). `what` names the quantity for the failure message.
pub fn assert_agrees(what: &str, est: Estimate, theory: f64, k: f64) {
    let diff = (est.mean - theory).abs();
    assert!(
        diff <= k * est.std_error,
        "{what}: simulated {:.5} ± {:.5} (se), theory {theory:.5}; off by {:.2} standard errors (allowed {k})",
        est.mean,
        est.std_error,
        diff / est.std_error
    );
}

/// `assert_agrees`, and also that the replications' spread is no larger than theory predicts for
/// runs of this length: the standard error is at most twice `predicted_se` (the asymptotic
/// standard error of the mean of the replications). A bug that only adds noise widens
/// `assert_agrees`'s own tolerance; this catches it. With 10 replications the sample variance
/// over the true one is χ²₉/9, so a correct model exceeds twice the predicted standard error with
/// probability P(χ²₉ > 36) ≈ 4·10⁻⁵.
pub fn assert_agrees_and_se(what: &str, est: Estimate, theory: f64, k: f64, predicted_se: f64) {
    assert_agrees(what, est, theory, k);
    assert!(
        est.std_error <= 2.0 * predicted_se,
        "{what}: standard error {:.5} is more than twice the {predicted_se:.5} theory predicts for this run length",
        est.std_error
    );
}

/// Erlang C: probability that an arrival waits in M/M/c with offered load a = λ/μ.
pub fn erlang_c(c: u32, a: f64) -> f64 {
    let mut term = 1.0; // a^k / k!
    let mut sum = 0.0;
    for k in 0..c {
        if k > 0 {
            term *= a / f64::from(k);
        }
        sum += term;
    }
    let top = term * a / f64::from(c) * f64::from(c) / (f64::from(c) - a); // a^c/c! · c/(c-a)
    top / (sum + top)
}

/// Mean response time of M/M/c, seconds.
pub fn mmc_response_s(c: u32, lambda: f64, mu: f64) -> f64 {
    let a = lambda / mu;
    erlang_c(c, a) / (f64::from(c) * mu - lambda) + 1.0 / mu
}

/// Loss probability of M/M/c/K (K = c servers + waiting room).
pub fn mmck_loss(c: u32, k: u32, lambda: f64, mu: f64) -> f64 {
    let a = lambda / mu;
    let mut p = vec![1.0f64];
    for n in 1..=k {
        let rate_out = f64::from(n.min(c)) * mu;
        let prev = p[(n - 1) as usize];
        p.push(prev * lambda / rate_out);
    }
    let _ = a;
    let total: f64 = p.iter().sum();
    p[k as usize] / total
}

/// Closed M/M/1//N (machine repairman): throughput and mean response, given users N, mean think
/// time Z and mean service S (seconds).
pub fn repairman(n: u32, z: f64, s: f64) -> (f64, f64) {
    // p_k ∝ N!/(N-k)! (S/Z)^k
    let mut term = 1.0;
    let mut sum = 1.0;
    for k in 1..=n {
        term *= f64::from(n - k + 1) * s / z;
        sum += term;
    }
    let p0 = 1.0 / sum;
    let x = (1.0 - p0) / s;
    (x, f64::from(n) / x - z)
}

/// A server of architecture `info` with its required pool sizes set to `n`.
pub fn typical_server(info: &models::architectures::ArchitectureInfo, n: u32) -> ServerConfig {
    let mut s = ServerConfig::new(info.id, info.kind);
    for f in info.required() {
        match f {
            "threads" => s.threads = n,
            "processes" | "daemons" | "max_processes" => s.processes = n,
            other => panic!("test helper does not know required field {other}"),
        }
    }
    s
}

/// Every counted request is accounted for exactly once in a run.
pub fn assert_conserved(what: &str, r: &models::metrics::RunResult) {
    let c = r.counts;
    assert_eq!(
        c.arrived,
        c.completed + c.rejected + c.timed_out + c.failed + r.in_flight_at_end,
        "{what}: {c:?}, in flight at end {}",
        r.in_flight_at_end
    );
}
