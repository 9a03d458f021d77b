//! The pre-trade exposure check (`ExposureGuard::will_exceed_exposure`) on plans of 2, 4 and 8
//! legs of one neg-risk event, every cap set, the exposure part-used so that the check does
//! all its arithmetic (plans that fit and plans that are cut). Run:
//! `cargo bench --bench risk_guard`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use polyarb::core::{Amount, AssetIndex, Price, Size};
use polyarb::risk::exposure::{Caps, ExposureGuard};
use polyarb::strategy::Leg;

fn guard(questions: usize) -> ExposureGuard {
    let mut g = ExposureGuard::new(
        Caps {
            token_shares: 400_000_000,
            token_cost: 150_000_000,
            market_shares: 600_000_000,
            market_cost: 200_000_000,
            event_shares: 2_000_000_000,
            event_cost: 800_000_000,
            gross_cost: 3_000_000_000,
        },
        Amount(10_000),
    );
    for k in 0..questions {
        g.map_asset(2 * k, k as u32, Some(0));
        g.map_asset(2 * k + 1, k as u32, Some(0));
        g.set_token(2 * k, 50_000_000 + k as i128 * 1_000_000, 20_000_000);
    }
    g
}

fn legs(n: usize) -> Vec<Leg> {
    (0..n)
        .map(|k| Leg {
            asset: AssetIndex(2 * k as u32),
            price: Price(900_000 / n as u32),
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("will_exceed_exposure");
    for n in [2usize, 4, 8] {
        let g = guard(n);
        let l = legs(n);
        group.bench_function(format!("{n} legs, fits"), |b| {
            b.iter(|| {
                black_box(g.will_exceed_exposure(
                    black_box(&l),
                    black_box(Size(10_000_000)),
                    Amount(500_000),
                    Size(5_000_000),
                ))
            })
        });
        group.bench_function(format!("{n} legs, cut"), |b| {
            b.iter(|| {
                black_box(g.will_exceed_exposure(
                    black_box(&l),
                    black_box(Size(900_000_000)),
                    Amount(50_000_000),
                    Size(5_000_000),
                ))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
