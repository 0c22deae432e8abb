//! The simulator against exact queueing theory. Every expected number is computed from a
//! closed-form result in `common.rs`; each comparison allows 4 standard errors of the mean of 10
//! independent replications. A correct model fails one such check with probability P(|t₉| > 4) =
//! 0.31% (Student's t with 9 degrees of freedom); the seeds are fixed, so a check that passes
//! keeps passing until the model changes.

mod common;

use common::*;
use models::config::ArchitectureKind::*;
use sim::Dist;

fn exp_ms(ms: f64) -> Dist {
    Dist::exp(ms / 1e3).unwrap()
}
fn zero() -> Dist {
    Dist::constant(0.0).unwrap()
}

/// M/M/1 via a one-thread threaded server, CPU-only demands: mean response 1/(μ-λ) and, since
/// the response time is exponential with rate μ-λ, p99 = ln(100)/(μ-λ).
///
/// Two estimates also have their spread checked against theory (`assert_agrees_and_se`), over
/// R = 10 replications of T = 2000 s:
/// - Utilisation: the busy indicator is an alternating renewal process (idle ~ Exp(λ), mean
///   m₀ = 1/λ, variance v₀ = 1/λ²; busy periods of mean m₁ = 1/(μ−λ) and variance
///   v₁ = (1+ρ)/(μ²(1−ρ)³)), whose time average has asymptotic variance
///   (m₀²v₁ + m₁²v₀)/(m₀+m₁)³ / T. At λ = 80, μ = 100: 0.016 / T, so the standard error of the
///   mean of R runs is √(0.016/2000/10) = 0.00089.
/// - Mean number in system: the time average of M/M/1's queue length has asymptotic variance
///   2ρ(1+ρ)/(μ(1−ρ)⁴) / T (Whitt, "Planning queueing simulations", 1989) = 18 / T here, so the
///   standard error of the mean of R runs is √(18/2000/10) = 0.030; its mean is ρ/(1−ρ) = 4.
#[test]
fn mm1_mean_and_p99() {
    let (lambda, mu) = (80.0, 100.0);
    let sc = scenario(lambda, exp_ms(10.0), zero(), 1, vec![server(Threaded, |s| s.threads = 1)]);
    let r = run_single(&sc);
    assert_agrees("M/M/1 mean response (ms)", r.estimate(|x| x.latency.mean_ms()), 1e3 / (mu - lambda), 4.0);
    // hdrhistogram at 3 significant digits adds at most 0.1% to a percentile.
    let p99 = 1e3 * 100f64.ln() / (mu - lambda);
    assert_agrees("M/M/1 p99 response (ms)", r.estimate(|x| x.latency.quantile_ms(0.99)), p99, 4.0);
    let (rho, t, reps) = (lambda / mu, sc.run.duration_s, f64::from(sc.run.replications));
    let (m0, v0, m1, v1) =
        (1.0 / lambda, 1.0 / lambda.powi(2), 1.0 / (mu - lambda), (1.0 + rho) / (mu.powi(2) * (1.0 - rho).powi(3)));
    let busy_var = (m0 * m0 * v1 + m1 * m1 * v0) / (m0 + m1).powi(3);
    let se_u = (busy_var / t / reps).sqrt();
    assert_agrees_and_se("M/M/1 utilisation", r.estimate(|x| x.cpu_utilization), rho, 4.0, se_u);
    let se_l = (2.0 * rho * (1.0 + rho) / (mu * (1.0 - rho).powi(4)) / t / reps).sqrt();
    assert_agrees_and_se("M/M/1 mean in system", r.estimate(|x| x.mean_in_system), rho / (1.0 - rho), 4.0, se_l);
}

/// M/M/c (Erlang C) via c threads whose requests only wait on IO (no CPU): threads are servers.
#[test]
fn mmc_erlang_c_threaded() {
    let (c, lambda, mu) = (8, 70.0, 10.0); // ρ = 0.875
    let sc = scenario(lambda, zero(), exp_ms(100.0), 2, vec![server(Threaded, |s| s.threads = c)]);
    let r = run_single(&sc);
    let w = mmc_response_s(c, lambda, mu) * 1e3;
    assert_agrees("M/M/8 mean response (ms)", r.estimate(|x| x.latency.mean_ms()), w, 4.0);
    let wq = (mmc_response_s(c, lambda, mu) - 1.0 / mu) * 1e3;
    assert_agrees("M/M/8 mean wait (ms)", r.estimate(|x| x.wait.mean_ms()), wq, 4.0);
}

/// M/M/c/K: `listen_backlog` = K - c; the loss probability matches the birth-death solution.
#[test]
fn mmck_loss_probability() {
    let (c, backlog, lambda, mu) = (4, 6, 45.0, 10.0);
    let sc = scenario(
        lambda,
        zero(),
        exp_ms(100.0),
        1,
        vec![server(Threaded, |s| {
            s.threads = c;
            s.listen_backlog = Some(backlog);
        })],
    );
    let r = run_single(&sc);
    let loss = mmck_loss(c, c + backlog, lambda, mu);
    let est = r.estimate(|x| x.counts.rejected as f64 / x.counts.arrived as f64);
    assert_agrees("M/M/4/10 loss probability", est, loss, 4.0);
}

/// M/D/1 and M/G/1 (Pollaczek–Khinchine) on an event loop: one loop, CPU only, FIFO.
/// W = E[S] + λE[S²] / (2(1-ρ)).
#[test]
fn mg1_pollaczek_khinchine_event_loop() {
    let lambda = 70.0;
    for cpu in [Dist::constant(0.01).unwrap(), Dist::lognormal(0.01, 2.0).unwrap(), Dist::erlang(0.01, 4).unwrap()] {
        let es = cpu.mean();
        let es2 = cpu.second_moment();
        let w = (es + lambda * es2 / (2.0 * (1.0 - lambda * es))) * 1e3;
        let sc = scenario(lambda, cpu.clone(), zero(), 1, vec![server(EventLoop, |_| {})]);
        let r = run_single(&sc);
        assert_agrees(&format!("M/G/1 mean response (ms) for {cpu:?}"), r.estimate(|x| x.latency.mean_ms()), w, 4.0);
    }
}

/// A closed system: N users with exponential think time, one worker (prefork with 1 process),
/// exponential service — the machine-repairman model.
#[test]
fn closed_finite_source() {
    let (n, z, s) = (10, 0.5, 0.04);
    let mut sc = scenario(0.0, exp_ms(s * 1e3), zero(), 1, vec![server(Prefork, |c| c.processes = 1)]);
    sc.load.arrival = models::config::Arrival::Closed { users: n, think_s: Dist::exp(z).unwrap() };
    let r = run_single(&sc);
    let (x, resp) = repairman(n, z, s);
    assert_agrees("closed throughput (req/s)", r.estimate(|x| x.throughput_rps), x, 4.0);
    assert_agrees("closed mean response (ms)", r.estimate(|x| x.latency.mean_ms()), resp * 1e3, 4.0);
}

/// The GIL turns many threads into one CPU server: 8 threads on 4 cores with a GIL and CPU-only
/// exponential demands behave as M/M/1 (one request's worth of CPU progresses at a time).
#[test]
fn gil_makes_threads_one_cpu_server() {
    let (lambda, mu) = (70.0, 100.0);
    let sc = scenario(
        lambda,
        exp_ms(10.0),
        zero(),
        4,
        vec![server(Threaded, |s| {
            s.threads = 8;
            s.gil = true;
        })],
    );
    let r = run_single(&sc);
    assert_agrees("GIL threaded mean response (ms)", r.estimate(|x| x.latency.mean_ms()), 1e3 / (mu - lambda), 4.0);
    // Without the GIL the same server uses all 4 cores: up to 8 requests share them (processor
    // sharing, each at min(1, 4/n) of a core) and the rest wait for a thread, so the departure
    // rate is min(n, 4)μ: exactly M/M/4. Checked at 350 req/s, 3.5 times what one GIL could
    // serve, where M/M/4 (10 + C(4, 3.5) × 10 / 0.5 ≈ 24 ms) and a model that ignored the core
    // limit (M/M/∞: 10 ms) are far apart.
    let lambda2 = 350.0;
    let sc2 = scenario(lambda2, exp_ms(10.0), zero(), 4, vec![server(Threaded, |s| s.threads = 8)]);
    let r2 = run_single(&sc2);
    let mm4 = mmc_response_s(4, lambda2, mu) * 1e3;
    assert!(mm4 > 20.0, "the load separates M/M/4 ({mm4} ms) from M/M/∞ (10 ms)");
    assert_agrees("no-GIL threaded (M/M/4) mean response (ms)", r2.estimate(|x| x.latency.mean_ms()), mm4, 4.0);
}

/// Processes are bounded by cores: 8 single-threaded processes on 2 cores, CPU-only exponential
/// demands. Processor sharing over ≤8 processes gives total service rate min(n,2)μ: M/M/2.
#[test]
fn prefork_processes_bounded_by_cores() {
    let (lambda, mu) = (170.0, 100.0);
    let sc = scenario(lambda, exp_ms(10.0), zero(), 2, vec![server(Prefork, |s| s.processes = 8)]);
    let r = run_single(&sc);
    // With more than 8 requests present the extra ones wait in the listen queue, but the
    // departure rate is still 2μ, so the number in system is exactly that of M/M/2.
    assert_agrees(
        "prefork on 2 cores (M/M/2) mean response (ms)",
        r.estimate(|x| x.latency.mean_ms()),
        mmc_response_s(2, lambda, mu) * 1e3,
        4.0,
    );
}

/// An event loop with non-blocking IO: the CPU phase is M/M/1 (the loop serves new requests in
/// arrival order, work-conserving), then a constant IO wait D that holds no thread, then the
/// callback waits for the end of the loop's current iteration (due callbacks run first in the
/// next one). The IO completion at t is a CPU departure at t − D; departures are Poisson (Burke)
/// and D = 200 ms is eight mean busy periods, so it sees the loop in its time-stationary state.
/// Its wait lies between two exact cases:
/// - at least the residual of the callback running (iterations of one request each):
///   λE[S²]/2, the M/G/1 residual work in service;
/// - at most the rest of a gated iteration (an iteration takes every request ready when it
///   begins): by renewal-reward over busy cycles, E[Σ T_k²] / (2 E[cycle]) where a busy period's
///   iteration lengths branch as T_{k+1} = the work of the arrivals during T_k, so
///   E[Σ T_k²] = E[S²] / ((1 − ρ)²(1 + ρ)), E[cycle] = 1 / (λ(1 − ρ)), and the wait is
///   λE[S²] / (2(1 − ρ²)).
///
/// Twisted's accept count (all that are ready, up to an adaptive limit) falls between them.
#[test]
fn event_loop_non_blocking_io() {
    let (lambda, mu, d) = (60.0, 100.0, 0.2);
    let sc = scenario(lambda, exp_ms(10.0), Dist::constant(d).unwrap(), 1, vec![server(EventLoop, |_| {})]);
    let r = run_single(&sc);
    let rho = lambda / mu;
    let es2 = 2.0 / (mu * mu);
    let least = (1.0 / (mu - lambda) + d + lambda * es2 / 2.0) * 1e3;
    let most = (1.0 / (mu - lambda) + d + lambda * es2 / (2.0 * (1.0 - rho * rho))) * 1e3;
    let w = r.estimate(|x| x.latency.mean_ms());
    let se = w.std_error;
    assert!(
        w.mean > least - 4.0 * se && w.mean < most + 4.0 * se,
        "event loop non-blocking IO mean response {} ms, not within [{least}, {most}] ms",
        w.mean
    );
    // The same loop with blocking IO is one FIFO server with service CPU + D: M/G/1.
    // E[S] = 0.01 + D, E[S²] = E[C²] + 2E[C]D + D² with E[C²] = 2·0.01²; D = 50 ms and λ = 12
    // give ρ = 0.72.
    let (lambda, d) = (12.0, 0.05);
    let sc = scenario(
        lambda,
        exp_ms(10.0),
        Dist::constant(d).unwrap(),
        1,
        vec![server(EventLoop, |s| s.blocking_io = true)],
    );
    let r = run_single(&sc);
    let (es, es2) = (0.01 + d, 2.0 * 0.01 * 0.01 + 2.0 * 0.01 * d + d * d);
    let w = (es + lambda * es2 / (2.0 * (1.0 - lambda * es))) * 1e3;
    assert_agrees("event loop blocking IO (M/G/1) mean response (ms)", r.estimate(|x| x.latency.mean_ms()), w, 4.0);
}

/// A daemon pool: static requests (40%) are served by the front-end; dynamic ones form a Poisson
/// stream of rate 0.6λ into 2 daemons × 3 threads = M/M/6 when their work is IO.
#[test]
fn daemon_pool_is_mmc_for_dynamic_requests() {
    let lambda = 80.0;
    let mut sc = scenario(
        lambda,
        zero(),
        zero(),
        2,
        vec![server(Daemon, |s| {
            s.processes = 2;
            s.threads = 3;
        })],
    );
    sc.requests = vec![
        class("static", 0.4, Dist::constant(0.0).unwrap(), zero(), true),
        class("dynamic", 0.6, zero(), exp_ms(100.0), false),
    ];
    let r = run_single(&sc);
    let lam_d = 0.6 * lambda; // 48/s into 6 servers of 10/s: ρ = 0.8
    let wq = (mmc_response_s(6, lam_d, 10.0) - 0.1) * 1e3;
    // Static requests never wait for a daemon (they are served at once with zero work), so the
    // mean wait over all requests is 0.6 × the dynamic requests' M/M/6 wait.
    assert_agrees("daemon pool mean wait (ms)", r.estimate(|x| x.wait.mean_ms()), 0.6 * wq, 4.0);
}

/// Uniform (evenly spaced) arrivals with exponential service: D/M/1. With σ the root in (0,1) of
/// σ = exp(-μ(1-σ)/λ) (GI/M/1 with a deterministic inter-arrival LST), W = 1/(μ(1-σ)).
#[test]
fn uniform_arrivals_d_m_1() {
    let (lambda, mu) = (80.0, 100.0);
    let mut sigma: f64 = 0.5;
    for _ in 0..500 {
        sigma = (-mu * (1.0 - sigma) / lambda).exp();
    }
    let mut sc = scenario(lambda, exp_ms(10.0), zero(), 1, vec![server(Threaded, |s| s.threads = 1)]);
    sc.load.arrival = models::config::Arrival::Uniform;
    let r = run_single(&sc);
    let w = 1e3 / (mu * (1.0 - sigma));
    assert_agrees("D/M/1 mean response (ms)", r.estimate(|x| x.latency.mean_ms()), w, 4.0);
}

/// CGI with one process at a time: each request costs `startup_ms` of CPU before its own work,
/// so the service time is startup + IO; with Poisson arrivals that is M/G/1 (Pollaczek–Khinchine).
#[test]
fn cgi_startup_is_part_of_service() {
    let (lambda, startup, io_mean) = (40.0, 0.005, 0.01);
    let sc = scenario(
        lambda,
        zero(),
        exp_ms(io_mean * 1e3),
        1,
        vec![server(Cgi, |s| {
            s.processes = 1;
            s.startup_s = startup;
        })],
    );
    let r = run_single(&sc);
    let es = startup + io_mean;
    let es2 = startup * startup + 2.0 * startup * io_mean + 2.0 * io_mean * io_mean;
    let w = (es + lambda * es2 / (2.0 * (1.0 - lambda * es))) * 1e3;
    assert_agrees("CGI M/G/1 mean response (ms)", r.estimate(|x| x.latency.mean_ms()), w, 4.0);
}

/// An event loop handing blocking calls to `offload_threads` (deferToThread): with no CPU work
/// the loop is never the bottleneck, and the offload pool is an M/M/c queue.
#[test]
fn event_loop_offload_pool_is_mmc() {
    let (lambda, mu, c) = (35.0, 10.0, 4);
    let sc = scenario(
        lambda,
        zero(),
        exp_ms(100.0),
        1,
        vec![server(EventLoop, |s| {
            s.blocking_io = true;
            s.offload_threads = c;
        })],
    );
    let r = run_single(&sc);
    assert_agrees(
        "offload pool (M/M/4) mean response (ms)",
        r.estimate(|x| x.latency.mean_ms()),
        mmc_response_s(c, lambda, mu) * 1e3,
        4.0,
    );
}

/// Memory by hand: 4 prefork processes of 30 MB plus 12 MB shared once = 132 MB at rest; each
/// request in progress holds 1 MB, and the mean number in progress is λ·E[S] = 20 × 0.1 = 2
/// (Little's law on the workers; no queueing limit on it), so the mean is 134 MB. The peak is at
/// most 132 + 4 (all four workers busy).
#[test]
fn memory_accounting_by_hand() {
    let sc = scenario(
        20.0,
        zero(),
        exp_ms(100.0),
        1,
        vec![server(Prefork, |s| {
            s.processes = 4;
            s.process_mb = 30.0;
            s.shared_mb = 12.0;
            s.memory_kb = 1024.0;
        })],
    );
    let r = run_single(&sc);
    assert_agrees("mean memory (MB)", r.estimate(|x| x.memory_mean_mb), 134.0, 4.0);
    for run in &r.runs {
        assert!(run.memory_peak_mb <= 136.0 + 1e-9 && run.memory_peak_mb >= 135.0, "{}", run.memory_peak_mb);
    }
}

/// Non-preemptive LCFS M/M/1: P(not finished after n jumps of the uniformized chain), n = 0..steps.
///
/// A request that finds the server idle (probability 1 − ρ) is served at once. Otherwise every
/// later arrival goes ahead of it, so it waits until the server has cleared the work in service
/// and everything that arrives meanwhile — a busy period, started by the residual Exp(μ) service
/// — and is then served itself. Uniformize at rate Λ = λ + μ: while waiting, the number of
/// requests ahead steps up with probability λ/Λ and down with μ/Λ (reaching 0 starts its
/// service); while served, each jump finishes it with probability μ/Λ.
fn lifo_mm1_survival(lambda: f64, mu: f64, steps: usize) -> Vec<f64> {
    let (up, down) = (lambda / (lambda + mu), mu / (lambda + mu));
    let rho = lambda / mu;
    let mut ahead = vec![0.0; steps + 3];
    ahead[1] = rho;
    let mut serving = 1.0 - rho;
    let mut survival = Vec::with_capacity(steps + 1);
    for _ in 0..=steps {
        survival.push(ahead.iter().sum::<f64>() + serving);
        let mut next = vec![0.0; ahead.len()];
        for k in 1..ahead.len() - 1 {
            next[k + 1] += up * ahead[k];
            next[k - 1] += down * ahead[k];
        }
        serving = next[0] + up * serving;
        next[0] = 0.0;
        ahead = next;
    }
    survival
}

/// P(T > t) from the uniformized survival: Σₙ Poisson(Λt; n) · survival[n].
fn lifo_mm1_tail(lambda: f64, mu: f64, survival: &[f64], t: f64) -> f64 {
    let x = (lambda + mu) * t;
    let mut weight = (-x).exp();
    let mut tail = 0.0;
    for (n, s) in survival.iter().enumerate() {
        tail += weight * s;
        weight *= x / (n + 1) as f64;
    }
    tail
}

/// LIFO on M/M/1: the order of service does not change the mean response of a work-conserving
/// queue that ignores job sizes (still 1/(μ-λ) = 50 ms), but the tail is much heavier than
/// FIFO's exponential one (p99 = ln(100)/(μ-λ) = 230 ms): unlucky requests wait a busy period.
/// The p99 comes from the exact response-time distribution (`lifo_mm1_survival`): 630 ms at
/// λ = 80, μ = 100 (checked by hand in a separate script: its mean, Σ survival / Λ, is the 50 ms
/// every such discipline has, which this test also asserts of the derivation).
#[test]
fn lifo_keeps_the_mean_and_fattens_the_tail() {
    let (lambda, mu) = (80.0, 100.0);
    let sc = scenario(
        lambda,
        exp_ms(10.0),
        zero(),
        1,
        vec![server(Threaded, |s| {
            s.threads = 1;
            s.queue_discipline = models::config::Discipline::Lifo;
        })],
    );
    let r = run_single(&sc);
    assert_agrees("LIFO M/M/1 mean response (ms)", r.estimate(|x| x.latency.mean_ms()), 1e3 / (mu - lambda), 4.0);
    // The derivation first: its mean is the discipline-free 1/(μ−λ) (the survival after 6000
    // jumps is below 1e-15, so the truncated sum is exact to far better than 0.1%).
    let survival = lifo_mm1_survival(lambda, mu, 6000);
    assert!(survival[6000] < 1e-15);
    let mean_ms = 1e3 * survival.iter().sum::<f64>() / (lambda + mu);
    assert!((mean_ms - 50.0).abs() < 0.05, "the LIFO derivation's mean is {mean_ms} ms");
    let (mut lo, mut hi) = (0.0, 10.0);
    for _ in 0..50 {
        let mid = 0.5 * (lo + hi);
        if lifo_mm1_tail(lambda, mu, &survival, mid) > 0.01 { lo = mid } else { hi = mid }
    }
    let lifo_p99 = 1e3 * 0.5 * (lo + hi);
    let fifo_p99 = 1e3 * 100f64.ln() / (mu - lambda);
    assert!(lifo_p99 > 2.5 * fifo_p99, "theory: LIFO p99 {lifo_p99} ms, FIFO {fifo_p99} ms");
    assert_agrees("LIFO M/M/1 p99 response (ms)", r.estimate(|x| x.latency.quantile_ms(0.99)), lifo_p99, 4.0);
}

/// `queue_timeout_s` drops requests that waited too long: under overload (2 threads, 60 ms IO,
/// 50 req/s offered against 33 req/s of capacity) no served request waited longer than the
/// limit, and the dropped ones are counted as failed.
#[test]
fn queue_timeout_drops_requests_that_waited_too_long() {
    let mut sc = scenario(
        50.0,
        zero(),
        exp_ms(60.0),
        1,
        vec![server(Prefork, |s| {
            s.processes = 2;
            s.queue_timeout_s = Some(0.5);
        })],
    );
    sc.run.replications = 1;
    let r = run_single(&sc);
    let run = &r.runs[0];
    // Two workers of mean 60 ms serve at most 2 / 0.06 = 33.3 req/s, so at least
    // 1 − 33.3 / 50 = 1/3 of the arrivals are dropped (less 1% for the arrivals' count, ~100,000
    // in 2000 s, whose relative spread is 0.3%); the served ones cannot beat the capacity.
    let c = run.counts;
    assert!(c.failed as f64 >= (1.0 / 3.0 - 0.01) * c.arrived as f64, "{c:?}");
    assert!(run.throughput_rps <= 2.0 / 0.06 * 1.01, "throughput {} above capacity", run.throughput_rps);
    // hdrhistogram keeps 3 significant digits.
    assert!(run.wait.max_ms() <= 500.0 * 1.001, "longest served wait {} ms", run.wait.max_ms());
}

/// A benchmark load (`ab -c N`, `oha -c N`): N users with zero think time on c threads of
/// exponential IO service S. Every user always has a request in the server, so the server holds
/// exactly N requests; c of them (or all N if fewer) are served at once, so throughput is
/// min(N, c) / S, and by Little's law the mean latency is N / throughput.
#[test]
fn zero_think_closed_load_is_a_benchmark_load() {
    let s = 0.05;
    for (n, c) in [(16u32, 4u32), (3, 4)] {
        let mut sc = scenario(0.0, zero(), exp_ms(s * 1e3), 64, vec![server(Threaded, |x| x.threads = c)]);
        sc.load.arrival = models::config::Arrival::Closed { users: n, think_s: Dist::Const(0.0) };
        let r = run_single(&sc);
        let x = f64::from(n.min(c)) / s;
        assert_agrees(&format!("N={n} c={c}: throughput (req/s)"), r.estimate(|x| x.throughput_rps), x, 4.0);
        assert_agrees(
            &format!("N={n} c={c}: mean latency (ms)"),
            r.estimate(|x| x.latency.mean_ms()),
            1e3 * f64::from(n) / x,
            4.0,
        );
        // Always N inside, up to the requests completing at the very end of the run.
        let inside = r.estimate(|x| x.mean_in_system).mean;
        assert!((inside - f64::from(n)).abs() < 0.01, "N={n}: {inside} inside, not {n}");
    }
}

/// An event loop offered 1.5× its capacity (10 ms of CPU per request: 100 req/s; 150 arrive),
/// with 50 ms of non-blocking IO. Each reactor iteration first finishes the requests whose IO
/// is done, so the loop keeps completing at its capacity while the queue of new requests grows
/// by 150 − 100 = 50 a second: after T seconds about 50·T wait, 50·T/2 on average.
#[test]
fn event_loop_under_overload_serves_at_capacity() {
    let (t, mut sc) =
        (200.0, scenario(150.0, exp_ms(10.0), Dist::constant(0.05).unwrap(), 1, vec![server(EventLoop, |_| {})]));
    sc.run.warmup_s = 0.0;
    sc.run.duration_s = t;
    sc.run.replications = 3;
    let r = run_single(&sc);
    let x = r.estimate(|x| x.throughput_rps).mean;
    assert!((x - 100.0).abs() < 3.0, "throughput {x} req/s, not the capacity of 100");
    let inside = r.estimate(|x| x.mean_in_system).mean;
    assert!((inside - 50.0 * t / 2.0).abs() < 0.1 * 50.0 * t / 2.0, "{inside} inside, not about {}", 50.0 * t / 2.0);
}
