//! Theory beside simulation (`models::analytic`): the formulas against hand calculations, and
//! the report saying when they apply and when the simulation agrees.

mod common;

use common::*;
use models::config::ArchitectureKind::{Prefork, Threaded};
use sim::Dist;

#[test]
fn one_worker_with_constant_service_is_pollaczek_khinchine_by_hand() {
    // M/D/1, λ = 80/s, S = 10 ms: ρ = 0.8, W = λE[S²]/(2(1−ρ)) + E[S] = 80 × 1e-4 / 0.4 + 0.01
    // = 30 ms. No p99 in closed form.
    let sc = scenario(
        80.0,
        Dist::constant(0.01).unwrap(),
        Dist::constant(0.0).unwrap(),
        1,
        vec![server(Threaded, |s| s.threads = 1)],
    );
    let t = models::analytic::pool(&sc, 0).unwrap();
    assert_eq!((t.model, t.exact, t.p99_ms), ("M/G/1 (Pollaczek–Khinchine)", true, None));
    assert!((t.mean_ms - 30.0).abs() < 1e-9, "{t:?}");
    assert!((t.utilization - 0.8).abs() < 1e-12);
}

#[test]
fn several_workers_with_general_service_are_an_approximation() {
    // M/D/4 by Allen–Cunneen: Erlang C's wait × (1 + 0)/2, flagged as not exact.
    let sc = scenario(
        300.0,
        Dist::constant(0.0).unwrap(),
        Dist::constant(0.01).unwrap(),
        1,
        vec![server(Prefork, |s| s.processes = 4)],
    );
    let t = models::analytic::pool(&sc, 0).unwrap();
    assert!(!t.exact && t.p99_ms.is_none(), "{t:?}");
    let (c, a) = (4, 300.0 * 0.01);
    let erlang_wait = erlang_c(c, a) / (f64::from(c) / 0.01 - 300.0);
    assert!((t.mean_ms - 1e3 * (erlang_wait / 2.0 + 0.01)).abs() < 1e-9, "{t:?}");
}

#[test]
fn the_report_says_whether_simulation_and_theory_agree_and_why_not_when_no_formula_applies() {
    // M/M/8 (Erlang C), 10 replications: the report's analytic object agrees.
    let sc = scenario(
        70.0,
        Dist::constant(0.0).unwrap(),
        Dist::exp(0.1).unwrap(),
        2,
        vec![server(Threaded, |s| s.threads = 8)],
    );
    let report = models::runner::run(&sc, false);
    let json = serde_json::to_value(models::runner::JsonReport::from_report(&report)).unwrap();
    let a = &json["servers"][0]["analytic"];
    assert_eq!(a["applies"], true);
    assert!((a["mean_ms"].as_f64().unwrap() - 1e3 * mmc_response_s(8, 70.0, 10.0)).abs() < 1e-6, "{a}");
    // `agrees` is whether theory lies within the simulated 95% intervals of mean and p99 —
    // which a correct model misses now and then (that is what 95% means) — and theory is within
    // 4 standard errors of both.
    let s = &report.servers[0];
    let (mean, p99) = (s.estimate(|r| r.latency.mean_ms()), s.estimate(|r| r.latency.quantile_ms(0.99)));
    let (tm, tp) = (a["mean_ms"].as_f64().unwrap(), a["p99_ms"].as_f64().unwrap());
    let within = |e: sim::stats::Estimate, v: f64| (e.mean - v).abs() <= e.half_width;
    assert_eq!(a["agrees"], within(mean, tm) && within(p99, tp), "{a}");
    assert_agrees("M/M/8 mean (ms)", mean, tm, 4.0);
    assert_agrees("M/M/8 p99 (ms)", p99, tp, 4.0);
    // The GIL with CPU work shared by threads: no formula, and the report says why.
    let gil = scenario(
        70.0,
        Dist::exp(0.002).unwrap(),
        Dist::constant(0.0).unwrap(),
        2,
        vec![server(Threaded, |s| {
            s.threads = 8;
            s.gil = true;
        })],
    );
    let report = models::runner::run(&gil, false);
    let json = serde_json::to_value(models::runner::JsonReport::from_report(&report)).unwrap();
    let a = &json["servers"][0]["analytic"];
    assert_eq!(a["applies"], false);
    let outside: Vec<&str> = a["outside"].as_array().unwrap().iter().filter_map(|v| v.as_str()).collect();
    assert!(outside.iter().any(|w| w.contains("GIL")), "{outside:?}");
}

#[test]
fn a_closed_load_is_the_finite_source_model() {
    let closed = |users: u32, think: Dist, workers: u32| {
        let mut sc = scenario(
            0.0,
            Dist::exp(0.04).unwrap(),
            Dist::constant(0.0).unwrap(),
            8,
            vec![server(Prefork, |s| s.processes = workers)],
        );
        sc.load.arrival = models::config::Arrival::Closed { users, think_s: think };
        models::analytic::pool(&sc, 0).unwrap()
    };
    // One worker: the machine-repairman model (common::repairman, its own derivation).
    let (_, resp) = repairman(10, 0.5, 0.04);
    let t = closed(10, Dist::exp(0.5).unwrap(), 1);
    assert!((t.mean_ms - 1e3 * resp).abs() < 1e-9, "{t:?} vs {resp}");
    // A worker per user: nobody waits, the response is the service, 40 ms.
    assert!((closed(6, Dist::exp(0.5).unwrap(), 8).mean_ms - 40.0).abs() < 1e-9);
    // No think time: all N always inside, X = min(N, c)/S, R = N/X: 12 users on 4 workers, 120 ms.
    assert!((closed(12, Dist::constant(0.0).unwrap(), 4).mean_ms - 120.0).abs() < 1e-9);
    // Think times that are not exponential are outside the formula.
    let mut sc = scenario(
        0.0,
        Dist::exp(0.04).unwrap(),
        Dist::constant(0.0).unwrap(),
        8,
        vec![server(Prefork, |s| s.processes = 2)],
    );
    sc.load.arrival = models::config::Arrival::Closed { users: 5, think_s: Dist::constant(1.0).unwrap() };
    assert_eq!(models::analytic::pool(&sc, 0).unwrap_err(), vec!["think times are not exponential".to_string()]);
}

#[test]
fn one_event_loop_held_by_blocking_io_is_m_g_1_and_non_blocking_io_is_outside_it() {
    use models::config::ArchitectureKind::EventLoop;
    // λ = 10/s, CPU Exp(10 ms) then 50 ms of IO that blocks the loop: service S = CPU + IO,
    // ρ = 0.6, E[S²] = E[cpu²] + 2 E[cpu] io + io² = 2e-4 + 1e-3 + 2.5e-3 = 3.7e-3, so
    // W = λE[S²]/(2(1−ρ)) = 10 × 3.7e-3 / 0.8 = 46.25 ms and the mean response is 106.25 ms.
    let sc = scenario(
        10.0,
        Dist::exp(0.01).unwrap(),
        Dist::constant(0.05).unwrap(),
        1,
        vec![server(EventLoop, |s| s.blocking_io = true)],
    );
    let t = models::analytic::pool(&sc, 0).unwrap();
    assert!((t.mean_ms - 106.25).abs() < 1e-9, "{t:?}");
    assert_agrees("blocking loop's mean response (ms)", run_single(&sc).estimate(|x| x.latency.mean_ms()), 106.25, 4.0);
    // Non-blocking IO: the callbacks wait for the loop's turn. At λ = 50/s the CPU alone is
    // M/M/1 (ρ = 0.5, P-K 20 ms) and the IO adds 50 ms: 70 ms, yet the simulation shows about
    // 76 ms — each callback also waits for the CPU work in progress. So no formula is offered.
    let mut open = sc.clone();
    open.load.rate_rps = 50.0;
    open.servers[0].blocking_io = false;
    let why = models::analytic::pool(&open, 0).unwrap_err();
    assert!(why[0].contains("non-blocking IO"), "{why:?}");
    let simulated = run_single(&open).estimate(|x| x.latency.mean_ms());
    assert!(simulated.mean > 70.0 + 10.0 * simulated.std_error, "{simulated:?}: the reactor's delay is real");
    let mut two = sc.clone();
    two.servers[0].processes = 2;
    assert!(models::analytic::pool(&two, 0).unwrap_err()[0].contains("several event loops"));
}
