//! Criterion benchmarks of the kernel: event queue, distributions, statistics.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sim::dist::Dist;
use sim::stats::LatencyHistogram;
use sim::{EventQueue, stream};
use std::hint::black_box;

fn event_queue(c: &mut Criterion) {
    let mut g = c.benchmark_group("event_queue");
    // Hold-model: a queue of 1000 pending events; pop one, push one later (the DES steady state).
    g.throughput(Throughput::Elements(1));
    g.bench_function("hold_1000", |b| {
        let mut q = EventQueue::new();
        let mut rng = stream(1, 0, 0);
        let d = Dist::exp(1.0).unwrap();
        for _ in 0..1000 {
            q.push(d.sample(&mut rng), 0u64);
        }
        b.iter(|| {
            let (t, e) = q.pop().unwrap();
            q.push(t + d.sample(&mut rng), black_box(e));
        });
    });
    g.finish();
}

fn distributions(c: &mut Criterion) {
    let mut g = c.benchmark_group("dist_sample");
    g.throughput(Throughput::Elements(1));
    let cases = [
        ("exp", Dist::exp(5.0).unwrap()),
        ("lognormal", Dist::lognormal(5.0, 1.0).unwrap()),
        ("erlang4", Dist::erlang(5.0, 4).unwrap()),
        ("pareto", Dist::pareto(5.0, 2.5).unwrap()),
    ];
    for (name, d) in cases {
        let mut rng = stream(1, 0, 0);
        g.bench_function(name, |b| b.iter(|| black_box(d.sample(&mut rng))));
    }
    g.finish();
}

fn statistics(c: &mut Criterion) {
    let mut g = c.benchmark_group("stats");
    g.throughput(Throughput::Elements(1));
    let mut h = LatencyHistogram::new(3);
    let mut x = 0.001;
    g.bench_function("histogram_record", |b| {
        b.iter(|| {
            x = (x * 1.37) % 2.0 + 0.0001;
            h.record_s(black_box(x));
        })
    });
    g.finish();
}

criterion_group!(benches, event_queue, distributions, statistics);
criterion_main!(benches);
