//! Who accepts the next connection (`accept`): each balancing policy against the queueing
//! result that describes it exactly, and the concentration that epoll's wake-up order causes
//! under a GIL. Demands are IO only (no CPU) where the exact results need servers that do not
//! share anything else; the tolerance is 4 standard errors of 10 replications, as in theory.rs.

mod common;

use common::*;
use models::config::{Accept, ArchitectureKind::*, ServerConfig};
use sim::Dist;

fn exp_ms(ms: f64) -> Dist {
    Dist::exp(ms / 1e3).unwrap()
}

fn zero() -> Dist {
    Dist::constant(0.0).unwrap()
}

/// P processes × T threads with `accept`, serving exponential IO of mean 1/μ = 100 ms.
fn pool(p: u32, t: u32, accept: Accept) -> ServerConfig {
    server(Worker, |s| {
        s.processes = p;
        s.threads = t;
        s.accept = accept;
    })
}

const MU: f64 = 10.0;

fn mean_latency_ms(p: u32, t: u32, accept: Accept, lambda: f64) -> sim::stats::Estimate {
    let sc = scenario(lambda, zero(), exp_ms(1e3 / MU), 4, vec![pool(p, t, accept)]);
    run_single(&sc).estimate(|x| x.latency.mean_ms())
}

/// Random assignment (SO_REUSEPORT, gunicorn gthread): each process gets a Poisson stream of
/// λ/P (a random split of a Poisson process is Poisson) and serves it with its own T threads, busy
/// or not: P independent M/M/T queues at λ/P. With T = 1 that is P × M/M/1: mean 1/(μ − λ/P).
#[test]
fn random_assignment_is_independent_queues() {
    let lambda = 28.0; // ρ = 0.7 per process
    for (p, t) in [(4u32, 1u32), (4, 4)] {
        let l = lambda * f64::from(t);
        let expect = mmc_response_s(t, l / f64::from(p), MU) * 1e3;
        assert_agrees(
            &format!("random, {p} x {t}: mean latency (ms)"),
            mean_latency_ms(p, t, Accept::Random, l),
            expect,
            4.0,
        );
    }
}

/// One shared queue that a free worker pulls from (accept mutex, gunicorn sync): the P × T
/// workers are one pool, M/M/(P·T).
#[test]
fn a_shared_queue_is_one_pool() {
    for (p, t) in [(4u32, 1u32), (4, 4)] {
        let l = 28.0 * f64::from(t);
        let expect = mmc_response_s(p * t, l, MU) * 1e3;
        assert_agrees(
            &format!("shared, {p} x {t}: mean latency (ms)"),
            mean_latency_ms(p, t, Accept::Shared, l),
            expect,
            4.0,
        );
    }
}

/// The knee: 4 × 4 threads at 112 req/s. Shared, M/M/16 waits little; random, four
/// M/M/4 at 28 req/s each, already queues: latency leaves its floor at a clearly lower load.
#[test]
fn random_assignment_bends_before_a_shared_queue() {
    let l = 112.0;
    let (shared, random) = (mmc_response_s(16, l, MU), mmc_response_s(4, l / 4.0, MU));
    assert!(random > 1.2 * shared, "theory: random {random:.4} s vs shared {shared:.4} s");
    let (s, r) = (mean_latency_ms(4, 4, Accept::Shared, l), mean_latency_ms(4, 4, Accept::Random, l));
    assert!(r.mean > s.mean + 4.0 * (r.std_error + s.std_error), "random {r:?} vs shared {s:?}");
}

/// Round robin sends every P-th arrival to a process: each single-threaded process sees
/// Erlang-P inter-arrival times (P phases of rate λ) and exponential service, an E_P/M/1 queue.
/// GI/M/1: σ solves σ = A*(μ(1 − σ)) with A*(s) = (λ/(λ + s))^P, and the mean response is
/// 1/(μ(1 − σ)). Smoother arrivals than Poisson: between M/M/P and P × M/M/1.
#[test]
fn round_robin_is_erlang_arrivals_per_process() {
    let (p, lambda) = (4u32, 28.0);
    let mut sigma: f64 = 0.5;
    for _ in 0..10_000 {
        sigma = (lambda / (lambda + MU * (1.0 - sigma))).powi(p as i32);
    }
    let expect = 1e3 / (MU * (1.0 - sigma));
    let (mmp, mm1) = (mmc_response_s(p, lambda, MU) * 1e3, 1e3 / (MU - lambda / f64::from(p)));
    assert!(mmp < expect && expect < mm1, "E_4/M/1 {expect:.1} ms between M/M/4 {mmp:.1} and M/M/1 {mm1:.1}");
    assert_agrees("round robin: mean latency (ms)", mean_latency_ms(p, 1, Accept::RoundRobin, lambda), expect, 4.0);
}

/// Most recent wake-up (epoll's LIFO) with single-threaded processes that share nothing is
/// still M/M/P: the servers are identical, so which idle one takes a connection does not change
/// how many requests are in the system.
#[test]
fn most_recent_wake_up_of_identical_single_workers_is_still_one_pool() {
    let (p, lambda) = (4u32, 28.0);
    let expect = mmc_response_s(p, lambda, MU) * 1e3;
    assert_agrees(
        "most recent, 4 x 1: mean latency (ms)",
        mean_latency_ms(p, 1, Accept::MostRecent, lambda),
        expect,
        4.0,
    );
}

/// With threads behind a GIL the wake-up order matters: the process that went back to waiting
/// last takes every connection while it has an idle thread, so its threads queue behind one GIL
/// while other processes' GILs sit idle. 4 processes × 4 threads, 10 ms of CPU and 10 ms of IO
/// each, 4 cores, 200 req/s (each GIL 50% busy if spread evenly): the shared queue with
/// longest-idle wake-up spreads the work, most-recent concentrates it, and its mean latency is
/// clearly higher (a version that did not concentrate would tie with the shared queue).
#[test]
fn most_recent_wake_up_concentrates_work_behind_one_gil() {
    let run = |accept| {
        let s = server(Worker, |s| {
            s.processes = 4;
            s.threads = 4;
            s.gil = true;
            s.accept = accept;
        });
        let sc = scenario(200.0, exp_ms(10.0), exp_ms(10.0), 4, vec![s]);
        run_single(&sc).estimate(|x| x.latency.mean_ms())
    };
    let (shared, recent) = (run(Accept::Shared), run(Accept::MostRecent));
    assert!(
        recent.mean > 1.1 * shared.mean && recent.mean - shared.mean > 4.0 * (recent.std_error + shared.std_error),
        "most recent {recent:?} vs shared {shared:?}"
    );
}

/// The field in scenario files: every policy round-trips through the writer, an unknown one is
/// refused with the allowed list, and a single-process or dynamic pool is refused.
#[test]
fn the_accept_field_parses_writes_back_and_refuses_what_does_not_apply() {
    let text = |arch: &str, extra: &str| {
        format!(
            "name = \"t\"\n[load]\narrival = \"poisson\"\nrate_rps = 10\n[[request]]\nname = \"p\"\ncpu_ms = 1\n\
             [[server]]\nname = \"s\"\narchitecture = \"{arch}\"\n{extra}\n"
        )
    };
    for a in Accept::ALL {
        let sc = models::scenario::parse(
            &text("worker", &format!("processes = 2\nthreads = 2\naccept = \"{}\"", a.as_str())),
            "t.toml",
        )
        .expect("parses");
        assert_eq!(sc.servers[0].accept, a);
        let again = models::scenario::parse(&models::scenario::to_toml(&sc), "t.toml").expect("written back");
        assert_eq!(again.servers[0].accept, a, "{} survives to_toml", a.as_str());
    }
    let err = models::scenario::parse(&text("prefork", "processes = 2\naccept = \"fastest\""), "t.toml")
        .unwrap_err()
        .to_string();
    assert!(err.contains("accept") && err.contains("\"round-robin\""), "{err}");
    let err = models::scenario::parse(&text("threaded", "threads = 2\naccept = \"random\""), "t.toml")
        .unwrap_err()
        .to_string();
    assert!(err.contains("`accept` does not apply"), "{err}");
    let dynamic =
        "processes = 10\naccept = \"random\"\nstart_processes = 2\nmin_spare_workers = 1\nmax_spare_workers = 3";
    let err = models::scenario::parse(&text("prefork", dynamic), "t.toml").unwrap_err().to_string();
    assert!(err.contains("dynamic pool"), "{err}");
}
