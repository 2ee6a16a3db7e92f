//! Simulated sessions per second on one core with faults on (swarm), through the real
//! path: the real Session, the models, the fault middleware and the checker. Also prints
//! the virtual-to-wall time ratio.

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use facepay_sim::campaign::run_checked;
use facepay_sim::simulation::{Scratch, SessionSpec};

const BATCH: u64 = 1_000;

fn sessions(c: &mut Criterion) {
    // The virtual-to-wall ratio over one larger batch, measured once.
    let mut scratch = Scratch::default();
    let started = Instant::now();
    let mut virtual_ms = 0u64;
    for i in 0..20_000 {
        virtual_ms += run_checked(&SessionSpec::draw(7, i, true), &mut scratch).virtual_ms;
    }
    let wall = started.elapsed().as_secs_f64();
    println!(
        "swarm, 1 core: {:.0} sessions/s, virtual/wall = {:.0}x",
        20_000.0 / wall,
        virtual_ms as f64 / 1000.0 / wall
    );

    let mut g = c.benchmark_group("campaign");
    g.throughput(Throughput::Elements(BATCH));
    let mut next = 0u64;
    g.bench_function("swarm_sessions", |b| {
        b.iter(|| {
            for _ in 0..BATCH {
                let spec = SessionSpec::draw(1, next, true);
                next += 1;
                black_box(run_checked(&spec, &mut scratch));
            }
        })
    });
    g.bench_function("standard_sessions", |b| {
        b.iter(|| {
            for _ in 0..BATCH {
                let spec = SessionSpec::draw(1, next, false);
                next += 1;
                black_box(run_checked(&spec, &mut scratch));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, sessions);
criterion_main!(benches);
