//! Criterion benchmarks of whole scenarios: the M/M/c reference (a threaded server with c
//! threads, exponential IO, Poisson arrivals at 90% load, all statistics on) and the built-in
//! default scenario. Throughput is reported in simulated requests per second of wall time.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use models::config::*;
use models::runner::run_one;
use sim::Dist;

/// M/M/8 at 90% load: λ = 72 req/s, IO mean 100 ms (μ = 10/s per thread), 8 threads.
pub fn mmc_reference(duration_s: f64) -> Scenario {
    let mut server = ServerConfig::new("mmc", ArchitectureKind::Threaded);
    server.threads = 8;
    Scenario {
        name: "M/M/8 reference".into(),
        run: RunConfig { duration_s, warmup_s: 0.0, seed: 1, replications: 1, window_s: 1.0 },
        machine: MachineConfig {
            cores: 8,
            memory_mb: None,
            swap_mb: 0.0,
            swap_slowdown: 1.0,
            time_slice_ms: MachineConfig::DEFAULT_TIME_SLICE_MS,
        },
        load: LoadConfig::new(Arrival::Poisson, 72.0),
        requests: vec![RequestClass::new("io", Dist::Const(0.0), Dist::exp(0.1).unwrap())],
        servers: vec![server],
        backend: None,
        claims: Vec::new(),
    }
}

fn scenarios(c: &mut Criterion) {
    let mut g = c.benchmark_group("scenario");
    g.sample_size(10);
    // 72 req/s × 10,000 s ≈ 720,000 requests per iteration.
    let sc = mmc_reference(10_000.0);
    g.throughput(Throughput::Elements(720_000));
    g.bench_function("mmc8_rho0.9_720k_requests", |b| b.iter(|| run_one(&sc, 0, 0, true)));

    let d = models::scenario::default_scenario();
    let requests = (d.load.rate_rps * d.run.end_s()) as u64;
    g.throughput(Throughput::Elements(requests * d.servers.len() as u64));
    g.bench_function("default_scenario_all_servers", |b| {
        b.iter(|| (0..d.servers.len()).map(|s| run_one(&d, s, 0, true).counts.completed).sum::<u64>())
    });
    g.finish();
}

criterion_group!(benches, scenarios);
criterion_main!(benches);
