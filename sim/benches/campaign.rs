//! Simulated sessions per second on one core with faults on (swarm), through the real
//! path: the session's draw, the real Session, the models, the fault middleware and the
//! checker. First a summary line over rounds of 10 000 sessions (best, median, worst,
//! and the virtual-to-wall time ratio), then criterion's statistics per batch of 1 000.

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use facepay_sim::campaign::run_checked;
use facepay_sim::simulation::{Scratch, SessionSpec};

const BATCH: u64 = 1_000;

/// The summary line's rounds: the best round is what one core does when it has the
/// machine to itself; the median is what it did here at the time (a shared VM's speed
/// swings by a third from minute to minute, and criterion's mean takes all of it in).
const ROUND: u64 = 10_000;
const ROUNDS: u64 = 9;

fn sessions(c: &mut Criterion) {
    let mut scratch = Scratch::default();
    let mut rates = Vec::new();
    let mut best_ratio = 0f64;
    for r in 0..ROUNDS {
        let started = Instant::now();
        let mut virtual_ms = 0u64;
        for i in r * ROUND..(r + 1) * ROUND {
            virtual_ms += run_checked(&SessionSpec::draw(7, i, true), &mut scratch).virtual_ms;
        }
        let wall = started.elapsed().as_secs_f64();
        rates.push(ROUND as f64 / wall);
        best_ratio = best_ratio.max(virtual_ms as f64 / 1000.0 / wall);
    }
    rates.sort_by(f64::total_cmp);
    println!(
        "swarm, 1 core, {ROUNDS} rounds of {ROUND} sessions: best {:.0} sessions/s, median {:.0}, worst {:.0}; \
         virtual/wall up to {:.0}x",
        rates[rates.len() - 1],
        rates[rates.len() / 2],
        rates[0],
        best_ratio
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
