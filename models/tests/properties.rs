//! Engine invariants as property tests (proptest): for random valid scenarios across every
//! architecture — with GIL, backlogs, client time-outs, crashes, slow clients and overload in
//! the mix, and keep-alive connections — requests are conserved, no time or level is negative, utilisations stay within
//! [0, 1], Little's law holds as a sample-path inequality, runs are deterministic, and stepping a
//! simulation in many small slices (as the window does) gives exactly the result of one run.

mod common;

use common::*;
use models::architectures::REGISTRY;
use models::config::{ClientClass, Scenario};
use models::metrics::RunResult;
use models::runner::run_one;
use proptest::prelude::*;
use sim::Dist;

/// What a random scenario is made of.
#[derive(Debug, Clone)]
struct Params {
    architecture: usize,
    pool: u32,
    threads: u32,
    cores: u32,
    rate_rps: f64,
    cpu_ms: f64,
    io_ms: f64,
    lognormal: bool,
    gil: bool,
    backlog: Option<u32>,
    timeout_s: Option<f64>,
    crash_fraction: f64,
    slow_clients: bool,
    seed: u64,
    /// Keep-alive on: (timeout s, requests per connection, clients leave connections open).
    keepalive: Option<(f64, u32, bool)>,
    /// Client retries: (how many, backoff s).
    retries: Option<(u32, f64)>,
    /// Blocking calls each request's IO is made of.
    io_calls: u32,
}

fn params() -> impl Strategy<Value = Params> {
    (
        (0..REGISTRY.len(), 1u32..5, 1u32..9, 1u32..5, 1.0f64..400.0),
        (0.0f64..20.0, 0.0f64..200.0, any::<bool>(), any::<bool>()),
        (proptest::option::of(0u32..50), proptest::option::of(0.2f64..5.0), prop_oneof![Just(0.0), 0.0f64..0.05]),
        (
            any::<bool>(),
            any::<u64>(),
            proptest::option::of((0.05f64..3.0, 1u32..6, any::<bool>())),
            proptest::option::of((1u32..4, 0.0f64..0.3)),
            1u32..4,
        ),
    )
        .prop_map(
            |(
                (architecture, pool, threads, cores, rate_rps),
                (cpu_ms, io_ms, lognormal, gil),
                (backlog, timeout_s, crash_fraction),
                (slow_clients, seed, keepalive, retries, io_calls),
            )| Params {
                architecture,
                pool,
                threads,
                cores,
                rate_rps,
                cpu_ms,
                io_ms,
                lognormal,
                gil,
                backlog,
                timeout_s,
                crash_fraction,
                slow_clients,
                seed,
                keepalive,
                retries,
                io_calls,
            },
        )
}

/// A scenario from `p`: one server, 30 simulated seconds from an empty start (no warm-up, so
/// every request is counted and Little's law has no start-up boundary term).
fn build(p: &Params) -> Scenario {
    let info = &REGISTRY[p.architecture];
    let mut s = typical_server(info, p.pool);
    if info.has_field("threads") {
        s.threads = p.threads;
    }
    s.gil = p.gil;
    s.listen_backlog = p.backlog;
    s.respawn_s = 0.5;
    use models::config::ArchitectureKind as K;
    if p.gil && matches!(info.kind, K::Prefork | K::Worker | K::Daemon | K::Threaded) {
        // An application to import after a crash (or share, when preloaded).
        s.app_mb = 20.0;
        s.import_s = 0.05;
        s.preload = p.lognormal && info.kind != K::Threaded;
    }
    if !p.gil && matches!(info.kind, K::Prefork | K::Worker) && s.processes > 1 {
        // A dynamic pool that forks (at a CPU cost) and stops processes as load varies.
        s.dynamic = Some(models::config::DynamicPool {
            start_processes: 1,
            min_spare_workers: 1,
            max_spare_workers: 1 + s.threads,
        });
        s.spawn_s = 0.02;
    }
    let cpu = if p.lognormal { Dist::lognormal(p.cpu_ms / 1e3, 1.5) } else { Dist::exp(p.cpu_ms / 1e3) };
    let cpu = if p.cpu_ms > 0.0 { cpu.unwrap() } else { Dist::Const(0.0) };
    let io = if p.io_ms > 0.0 { Dist::exp(p.io_ms / 1e3).unwrap() } else { Dist::Const(0.0) };
    let mut sc = scenario(p.rate_rps, cpu, io, p.cores, vec![s]);
    sc.requests[0].crash_fraction = p.crash_fraction;
    sc.requests[0].io_calls = p.io_calls;
    sc.requests[0].response_kb = 40.0;
    sc.load.timeout_s = p.timeout_s;
    if p.slow_clients {
        sc.load.clients = vec![
            ClientClass {
                name: "broadband".into(),
                weight: 0.9,
                bandwidth_kbps: 20_000.0,
                rtt_s: 0.02,
                header_s: 0.0,
                reads: true,
            },
            ClientClass {
                name: "modem".into(),
                weight: 0.1,
                bandwidth_kbps: 56.0,
                rtt_s: 0.2,
                header_s: 0.0,
                reads: true,
            },
            ClientClass {
                name: "slowloris".into(),
                weight: 0.02,
                bandwidth_kbps: 56.0,
                rtt_s: 0.2,
                header_s: 3.0,
                reads: true,
            },
            ClientClass {
                name: "never reads".into(),
                weight: 0.02,
                bandwidth_kbps: 56.0,
                rtt_s: 0.2,
                header_s: 0.0,
                reads: false,
            },
        ];
        if p.lognormal && matches!(info.kind, K::EventLoop | K::Daemon) {
            // Bounded write buffers: backpressure, and a paused slow reader.
            sc.servers[0].output_buffer_kb = Some(16.0);
        }
    }
    if p.slow_clients && p.keepalive.is_some() {
        sc.servers[0].header_timeout_s = Some(1.5);
    }
    if let Some((timeout_s, per_connection, keeps_open)) = p.keepalive {
        sc.servers[0].keepalive_timeout_s = Some(timeout_s);
        sc.servers[0].keepalive_kb = 8.0;
        sc.load.requests_per_connection = per_connection;
        sc.load.client_keeps_open = keeps_open;
        sc.load.connection_gap_s = Dist::exp(0.2).unwrap();
        sc.load.rate_rps /= f64::from(per_connection);
    }
    if p.io_ms > 0.0 && p.seed.is_multiple_of(3) {
        // A shared database with few workers and connections: queries queue and some are
        // refused; half the time the processes' pools are capped too.
        sc.backend = Some(models::config::BackendConfig { workers: 2, connections: 6 });
        sc.servers[0].db_pool = p.seed.is_multiple_of(2).then_some(2);
    }
    if let Some((retries, backoff_s)) = p.retries {
        sc.load.retries = retries;
        sc.load.retry_backoff_s = backoff_s;
    }
    sc.run.duration_s = 30.0;
    sc.run.warmup_s = 0.0;
    sc.run.replications = 1;
    sc.run.seed = p.seed;
    sc
}

/// The numbers two runs must agree on exactly.
fn fingerprint(r: &RunResult) -> Vec<u64> {
    let c = r.counts;
    vec![
        c.arrived,
        c.completed,
        c.rejected,
        c.timed_out,
        c.failed,
        c.wasted,
        c.crashes,
        c.lost_to_crashes,
        r.in_flight_at_end,
        r.latency.mean_ms().to_bits(),
        r.latency.quantile_ms(0.99).to_bits(),
        r.wait.mean_ms().to_bits(),
        r.mean_in_system.to_bits(),
        r.cpu_utilization.to_bits(),
        r.memory_peak_mb.to_bits(),
        r.series.len() as u64,
        r.series.iter().map(|w| w.latency_p99_ms.to_bits() ^ w.waiting.to_bits()).fold(0, |a, b| a ^ b),
    ]
}

proptest! {
    // 200 random scenarios by default (about 2 s); PROPTEST_CASES=5000 for a longer search.
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(200)
    ))]

    #[test]
    fn invariants_hold_for_random_scenarios(p in params()) {
        let sc = build(&p);
        let r = run_one(&sc, 0, 0, true);
        let what = format!("{} {p:?}", REGISTRY[p.architecture].id);

        // Conservation: every arrival is completed, refused, timed out, failed or still inside.
        let c = r.counts;
        prop_assert_eq!(c.arrived, c.completed + c.rejected + c.timed_out + c.failed + r.in_flight_at_end, "{}", what);
        // Retries are arrivals too, and only failed attempts are retried.
        prop_assert!(c.retries <= c.rejected + c.timed_out + c.failed, "{}: {:?}", what, c);
        prop_assert!(r.served_rps + 1e-9 >= r.throughput_rps && r.wasted_cpu_s >= 0.0, "{}", what);
        // The database never runs more queries or holds more connections than it has.
        if let Some(b) = sc.backend {
            prop_assert!(r.mean_db_busy <= f64::from(b.workers) + 1e-9 && r.mean_db_busy >= 0.0, "{}", what);
            prop_assert!(r.mean_db_connections <= f64::from(b.connections) + 1e-9, "{}", what);
            prop_assert!(r.mean_db_waiting >= -1e-9, "{}", what);
            for w in &r.series {
                prop_assert!(w.db_busy <= f64::from(b.workers) + 1e-9 && w.db_waiting >= -1e-9, "{}", what);
                prop_assert!(w.db_connections >= -1e-9 && w.db_connections <= f64::from(b.connections) + 1e-9, "{}", what);
            }
        }
        // The largest process is part of resident memory.
        prop_assert!(r.largest_process_mean_mb >= 0.0 && r.largest_process_mean_mb <= r.memory_mean_mb + 1e-6,
            "{}: largest process {} of {} MB", what, r.largest_process_mean_mb, r.memory_mean_mb);

        // Nothing negative, utilisations within [0, 1], percentiles ordered.
        for v in [r.mean_in_system, r.mean_waiting, r.memory_mean_mb, r.memory_peak_mb, r.throughput_rps,
                  r.latency.mean_ms(), r.wait.mean_ms()] {
            prop_assert!(v.is_finite() && v >= 0.0, "{}: {}", what, v);
        }
        prop_assert!((0.0..=1.0 + 1e-9).contains(&r.cpu_utilization), "{}: cpu {}", what, r.cpu_utilization);
        prop_assert!((0.0..=1.0 + 1e-9).contains(&r.worker_utilization), "{}: workers {}", what, r.worker_utilization);
        prop_assert!(r.latency.quantile_ms(0.5) <= r.latency.quantile_ms(0.99) + 1e-9);
        prop_assert!(r.mean_waiting <= r.mean_in_system + 1e-9);
        prop_assert!(r.mean_idle_connections >= 0.0 && r.mean_idle_connections <= r.mean_connections + 1e-9,
            "{}: idle {} of {} connections", what, r.mean_idle_connections, r.mean_connections);
        if p.keepalive.is_none() {
            prop_assert!((r.mean_connections - r.mean_in_system).abs() < 1e-9);
        }
        for w in &r.series {
            for v in [w.arrived_rps, w.completed_rps, w.latency_mean_ms, w.latency_p99_ms, w.in_system, w.waiting,
                      w.busy_workers, w.memory_mb] {
                prop_assert!(v.is_finite() && v >= -1e-9, "{}: window at {}: {}", what, w.start_s, v);
            }
            prop_assert!(w.cpu_utilization <= 1.0 + 1e-9);
        }

        // Little's law on the sample path, starting empty over [0, T]: the area under the
        // number-in-system curve is the time every request spent inside. Completed requests
        // contribute their whole latency, so L·T >= X·T·W; what is left is the time of requests
        // refused (zero), abandoned, lost or still inside at the end. Without time-outs and
        // crashes only the failed ones (a query refused a database connection) and the last
        // remain, each inside for at most T: L − X·W <= N(end) + failed.
        let t = sc.run.duration_s;
        let l = r.mean_in_system;
        let xw = r.throughput_rps * r.latency.mean_ms() / 1e3;
        prop_assert!(l >= xw - 1e-6 * (1.0 + l), "{}: L = {} < X·W = {}", what, l, xw);
        if p.timeout_s.is_none() && p.crash_fraction == 0.0 {
            let bound = (r.in_system_at_end + r.counts.failed) as f64 + 1e-6 * (1.0 + l);
            prop_assert!(l - xw <= bound, "{}: L − X·W = {} > N(end) + failed = {} (T = {t})", what, l - xw, bound);
        }

        // Determinism: the same scenario and seed give the same numbers.
        prop_assert_eq!(fingerprint(&r), fingerprint(&run_one(&sc, 0, 0, true)), "{}", what);

        // Chunking: stepping in slices of a few events gives exactly the one-run result.
        let mut sim = models::architectures::simulation(&sc, 0, 0, true);
        let end = sc.run.end_s();
        let mut k = 0u64;
        while sim.now_s() < end {
            k += 1;
            let handled = sim.run_until_limited(end, 1 + k % 13);
            if handled == 0 {
                break;
            }
        }
        let sliced = sim.model.finish(end);
        prop_assert_eq!(fingerprint(&r), fingerprint(&sliced), "{}: sliced run differs", what);
    }
}
