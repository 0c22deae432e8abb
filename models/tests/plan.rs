//! `serversim plan` against theory: on a pool whose service is exponential and uncontended
//! (M/M/c), the plan must find the pool size the exact M/M/c response-time distribution gives,
//! and what it chooses must still meet the objective when run with other seeds.

mod common;

use common::*;
use models::config::ArchitectureKind::Threaded;
use models::plan::{Objective, PlanError, plan};
use sim::Dist;

/// P(T > t) for M/M/c's response time (FIFO): the wait is 0 with probability 1 − C (Erlang C),
/// else Exp(θ) with θ = cμ − λ; the service is Exp(μ), independent.
fn mmc_response_tail(c: u32, lambda: f64, mu: f64, t: f64) -> f64 {
    let wait = erlang_c(c, lambda / mu);
    let theta = f64::from(c) * mu - lambda;
    // P(Exp(θ) + Exp(μ) > t); when θ = μ the sum is Erlang-2.
    let both = if (theta - mu).abs() < 1e-9 {
        (1.0 + mu * t) * (-mu * t).exp()
    } else {
        (theta * (-mu * t).exp() - mu * (-theta * t).exp()) / (theta - mu)
    };
    (1.0 - wait) * (-mu * t).exp() + wait * both
}

fn mmc_p99_s(c: u32, lambda: f64, mu: f64) -> f64 {
    let (mut lo, mut hi) = (0.0, 100.0);
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if mmc_response_tail(c, lambda, mu, mid) > 0.01 { lo = mid } else { hi = mid }
    }
    lo
}

#[test]
fn the_plan_finds_the_pool_size_erlang_c_gives() {
    let (lambda, mu) = (200.0, 20.0);
    // Exact p99s: 11 threads 313 ms, 12 threads 249 ms (service alone: ln 100 / μ = 230 ms). A
    // 280 ms target sits 30 ms from both, many times the replications' interval (a few ms).
    let target_ms = 280.0;
    let theory = (1..64).find(|&c| f64::from(c) * mu > lambda && 1e3 * mmc_p99_s(c, lambda, mu) <= target_ms).unwrap();
    assert_eq!(theory, 12);
    assert!(1e3 * mmc_p99_s(11, lambda, mu) > target_ms + 25.0 && 1e3 * mmc_p99_s(12, lambda, mu) < target_ms - 25.0);
    let p = plan(&mmc_io_pool(), Objective { rate_rps: lambda, p99_ms: target_ms, max_lost: 0.001, memory_mb: None })
        .unwrap();
    let s = &p.servers[0];
    assert_eq!(s.sizes, Some(vec![("threads", theory)]), "{}", s.reason);
    let e = s.chosen.as_ref().unwrap();
    assert!(e.p99_ms.mean + e.p99_ms.half_width <= target_ms);
    assert_agrees("planned pool's p99 (ms)", e.p99_ms, 1e3 * mmc_p99_s(theory, lambda, mu), 4.0);
    // A search, not a grid: the estimate starts near the answer.
    assert!(s.simulations <= 5 * 30, "{} simulations", s.simulations);
    // Headroom: the largest rate at which 12 threads still meet 280 ms, to ±1%, lies where the
    // exact p99 crosses the target.
    let h = s.headroom_rps.unwrap();
    assert!(h > lambda, "headroom {h}");
    let exact = (2000..2400).map(|r| f64::from(r) / 10.0).find(|&r| 1e3 * mmc_p99_s(12, r, mu) > target_ms).unwrap();
    assert!((h - exact).abs() <= 0.05 * exact, "headroom {h} req/s, theory {exact}");
}

#[test]
fn a_plan_still_meets_its_objective_with_other_seeds() {
    let target_ms = 280.0;
    let objective = Objective { rate_rps: 200.0, p99_ms: target_ms, max_lost: 0.001, memory_mb: None };
    let p = plan(&mmc_io_pool(), objective).unwrap();
    let Some(sizes) = &p.servers[0].sizes else { panic!("{}", p.servers[0].reason) };
    let mut sc = mmc_io_pool();
    sc.servers[0].threads = sizes[0].1;
    for seed in [101, 202, 303] {
        sc.run.seed = seed;
        let r = run_single(&sc);
        let p99 = r.estimate(|x| x.latency.quantile_ms(0.99)).mean;
        assert!(p99 <= target_ms, "seed {seed}: p99 {p99} ms");
    }
}

#[test]
fn a_pool_that_cannot_keep_up_says_what_stops_it() {
    // One core, a GIL and 10 ms of CPU per request: 100 req/s at most, however many threads.
    let mut sc = scenario(
        150.0,
        Dist::exp(0.01).unwrap(),
        Dist::constant(0.0).unwrap(),
        1,
        vec![server(Threaded, |s| {
            s.threads = 4;
            s.gil = true;
        })],
    );
    sc.run.replications = 5;
    let p = plan(&sc, Objective { rate_rps: 150.0, p99_ms: 500.0, max_lost: 0.001, memory_mb: None }).unwrap();
    let s = &p.servers[0];
    assert!(s.chosen.is_none() && p.best.is_none());
    assert!(s.reason.contains("core") && s.reason.contains("100 req/s"), "{}", s.reason);
    assert_eq!(s.simulations, 0, "the estimate alone shows it");
}

#[test]
fn bad_objectives_are_refused() {
    let sc = mmc_io_pool();
    for (o, what) in [
        (Objective { rate_rps: 0.0, p99_ms: 100.0, max_lost: 0.001, memory_mb: None }, "--rate"),
        (Objective { rate_rps: 10.0, p99_ms: -1.0, max_lost: 0.001, memory_mb: None }, "--p99-ms"),
        (Objective { rate_rps: 10.0, p99_ms: 100.0, max_lost: 2.0, memory_mb: None }, "--max-lost"),
        (Objective { rate_rps: 10.0, p99_ms: 100.0, max_lost: 0.001, memory_mb: Some(0.0) }, "--memory-mb"),
    ] {
        match plan(&sc, o) {
            Err(PlanError::BadObjective(m)) => assert!(m.contains(what), "{m}"),
            other => panic!("{what}: {other:?}"),
        }
    }
}

#[test]
fn theory_stands_beside_the_plan_where_it_applies_and_says_why_not_where_it_does_not() {
    let (lambda, mu) = (200.0, 20.0);
    let p =
        plan(&mmc_io_pool(), Objective { rate_rps: lambda, p99_ms: 280.0, max_lost: 0.001, memory_mb: None }).unwrap();
    let s = &p.servers[0];
    let t = s.analytic.clone().unwrap().expect("a pool of exponential IO waits is M/M/c");
    // Against this file's own M/M/c response-time distribution (derived independently).
    assert!((t.p99_ms.unwrap() - 1e3 * mmc_p99_s(12, lambda, mu)).abs() < 0.01, "{t:?}");
    assert!((t.mean_ms - 1e3 * mmc_response_s(12, lambda, mu)).abs() < 1e-6, "{t:?}");
    assert_eq!(models::plan::agrees(s.chosen.as_ref().unwrap(), &t), Some(true), "{t:?} vs {:?}", s.chosen);
    // Switch on what takes a pool outside M/M/c: each is named.
    let mut gil = mmc_io_pool();
    gil.requests[0].cpu_s = Dist::exp(0.002).unwrap();
    gil.requests[0].io_s = Dist::constant(0.0).unwrap();
    gil.servers[0].gil = true;
    let why = models::analytic::pool(&gil, 0).unwrap_err();
    assert!(why.iter().any(|w| w.contains("GIL")) && why.iter().any(|w| w.contains("cores")), "{why:?}");
    let mut slow = mmc_io_pool();
    slow.load.clients = vec![models::config::ClientClass {
        name: "modem".into(),
        weight: 1.0,
        bandwidth_kbps: 56.0,
        rtt_s: 0.15,
        header_s: 0.0,
        reads: true,
    }];
    let why = models::analytic::pool(&slow, 0).unwrap_err();
    assert_eq!(why, vec!["slow clients (the network holds workers)".to_string()]);
}
