//! The OS scheduler's time slices (`machine.time_slice_ms`): what they change, what they leave
//! exact, and the lock-step of identical processes under ideal processor sharing that they break.
//! Every expected number comes from queueing theory or a hand calculation in the comments.

mod common;

use common::*;
use models::config::{ArchitectureKind::*, Arrival, Scenario};
use sim::Dist;

fn ms(v: f64) -> Dist {
    Dist::constant(v / 1e3).unwrap()
}

fn exp_ms(v: f64) -> Dist {
    Dist::exp(v / 1e3).unwrap()
}

/// The case: 48 users with zero think time on 16 single-threaded prefork processes, each
/// request `cpu` of CPU then 50 ms of IO, on 2 cores. 48 > 16, so all 16 processes are always
/// busy: a closed network of 16 jobs cycling between a 2-core CPU and a 50 ms delay.
fn closed_16_on_2_cores(cpu: Dist, slice_ms: f64) -> Scenario {
    let mut sc = scenario(0.0, cpu, ms(50.0), 2, vec![server(Prefork, |s| s.processes = 16)]);
    sc.load.arrival = Arrival::Closed { users: 48, think_s: Dist::Const(0.0) };
    sc.machine.time_slice_ms = slice_ms;
    sc.run.duration_s = 300.0;
    sc.run.warmup_s = 30.0;
    sc
}

/// Throughput of that network when it is product-form (BCMP): 16 jobs, a processor-sharing
/// station of 2 servers with mean demand D = 5 ms, and an infinite-server delay of Z = 50 ms.
/// p(n jobs at the CPU) ∝ Z^(16−n)/(16−n)! · Π_{k≤n} D/min(k, 2); X = Σ p(n)·min(n, 2)/D.
/// For processor sharing this holds for any demand distribution (BCMP insensitivity) once the
/// jobs are out of phase; for exponential demands it holds for any order of service.
fn bcmp_throughput_rps() -> f64 {
    let (n_jobs, d, z) = (16u32, 0.005, 0.05_f64);
    let mut weights = Vec::new();
    for n in 0..=n_jobs {
        let mut w = z.powi((n_jobs - n) as i32) / (1..=(n_jobs - n)).map(f64::from).product::<f64>();
        for k in 1..=n {
            w *= d / f64::from(k.min(2));
        }
        weights.push(w);
    }
    let g: f64 = weights.iter().sum();
    weights.iter().enumerate().map(|(n, w)| w * (n as f64).min(2.0) / d).sum::<f64>() / g
}

/// Under ideal processor sharing, constant demands lock the 16 processes in phase for ever: they
/// start together, all 16 share 2 cores (each at 1/8 of a core, so 5 ms of CPU takes 40 ms),
/// then all wait 50 ms together. A cycle is 90 ms: 16 / 0.090 = 177.8 req/s, every latency the
/// same. This is the artefact, shown exactly, that `time_slice_ms = 0` keeps for theory.
#[test]
fn processor_sharing_locks_identical_processes_in_phase() {
    let r = run_single(&closed_16_on_2_cores(ms(5.0), 0.0));
    let x = r.estimate(|x| x.throughput_rps).mean;
    let lock_step = 16.0 / (16.0 * 0.005 / 2.0 + 0.05);
    assert!((x - lock_step).abs() < 0.005 * lock_step, "throughput {x:.1}, lock-step gives {lock_step:.1}");
}

/// With Linux's 4 ms slices the same constant demands fall out of phase: of 16 runnable
/// processes two run their 5 ms (a 4 ms slice, then 1 ms after a round), the others wait, so
/// processes leave the CPU at different times and return from IO at different times.
/// No cycle can be shorter than D + Z = 55 ms, so throughput ≤ 16 / 0.055 = 290.9 req/s. The
/// deterministic round-robin network is not product-form, so BCMP's 276.9 is not exact for it;
/// we require it within 10% — far from the lock-step's 177.8, which is 36% below.
#[test]
fn time_slices_break_the_lock_step() {
    let r = run_single(&closed_16_on_2_cores(ms(5.0), 4.0));
    let x = r.estimate(|x| x.throughput_rps).mean;
    let (bcmp, bound) = (bcmp_throughput_rps(), 16.0 / 0.055);
    assert!(x <= bound * 1.001, "throughput {x:.1} above the bound {bound:.1}");
    assert!(x > 0.9 * bcmp, "throughput {x:.1}: still phase-locked? (BCMP {bcmp:.1}, lock-step 177.8)");
}

/// A 2% spread in CPU time breaks the lock-step of processor sharing too, and then BCMP is exact
/// (insensitivity); exponential demands give BCMP under processor sharing and under time slices
/// alike (memorylessness: the CPU serves at min(n, 2)/D whatever order it takes jobs in).
#[test]
fn out_of_phase_networks_match_bcmp() {
    let bcmp = bcmp_throughput_rps();
    let spread = Dist::lognormal(0.005, 0.02).unwrap();
    for (what, cpu, slice) in [
        ("processor sharing, 2% spread", spread, 0.0),
        ("processor sharing, exponential", exp_ms(5.0), 0.0),
        ("4 ms slices, exponential", exp_ms(5.0), 4.0),
    ] {
        let r = run_single(&closed_16_on_2_cores(cpu, slice));
        assert_agrees(what, r.estimate(|x| x.throughput_rps), bcmp, 4.0);
    }
}

/// Open M/D/1 on one core with a thread per request (64 threads, no GIL), 2 ms of CPU each at
/// ρ = 0.7. Processor sharing gives M/D/1-PS: mean response S/(1−ρ) = 6.667 ms (insensitive to
/// the distribution). A 4 ms slice is longer than every demand, so each request runs to the end
/// in its first slice, in arrival order: FCFS M/D/1, mean response S + ρS/(2(1−ρ)) = 4.333 ms
/// (Pollaczek–Khinchine). Both exact, and far apart.
#[test]
fn slices_longer_than_every_demand_serve_in_arrival_order() {
    let (lambda, s) = (350.0, 0.002);
    let rho: f64 = lambda * s;
    for (slice, expect_s) in [(0.0, s / (1.0 - rho)), (4.0, s + rho * s / (2.0 * (1.0 - rho)))] {
        let mut sc = scenario(lambda, ms(2.0), ms(0.0), 1, vec![server(Threaded, |x| x.threads = 64)]);
        sc.machine.time_slice_ms = slice;
        let r = run_single(&sc);
        assert_agrees(
            &format!("M/D/1 with {slice} ms slices: mean response (ms)"),
            r.estimate(|x| x.latency.mean_ms()),
            expect_s * 1e3,
            4.0,
        );
    }
}

/// For exponential demands every order of service that does not look at the demands gives the
/// same number in system, so M/M/1 stays exact with slices: mean response 1/(μ−λ).
#[test]
fn time_slices_keep_mm1_exact_for_exponential_demands() {
    let (lambda, mu) = (80.0, 100.0);
    let mut sc = scenario(lambda, exp_ms(10.0), ms(0.0), 1, vec![server(Threaded, |x| x.threads = 64)]);
    sc.machine.time_slice_ms = 4.0;
    let r = run_single(&sc);
    assert_agrees(
        "M/M/1 with slices: mean response (ms)",
        r.estimate(|x| x.latency.mean_ms()),
        1e3 / (mu - lambda),
        4.0,
    );
}
