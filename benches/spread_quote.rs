//! The spread quoter's decision: a top change of a quoted market → the two quotes
//! (`strategy::spread::quote::decide`), over a cycle of tops that move the best prices, the
//! book's health and the inventory (skew, cap, SELL of what is held). Target p50 ≤ 2 µs. Run:
//! `cargo bench --bench spread_quote`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use polyarb::core::{Price, Size, TickSize};
use polyarb::strategy::spread::SpreadConfig;
use polyarb::strategy::spread::quote::{Inventory, QuoteRules, YesTop, decide};

fn tops() -> Vec<(YesTop, Inventory)> {
    let mut v = Vec::new();
    for k in 0..64u32 {
        let bid = 300_000 + (k % 16) * 10_000;
        let ask = bid + 10_000 * (1 + k % 5);
        let top = YesTop {
            bid: Price(bid),
            bid_size: Size(50_000_000),
            ask: Price(ask),
            ask_size: Size(40_000_000),
            ok: k % 13 != 0,
        };
        let inv = Inventory {
            yes: Size(u64::from(k % 7) * 7_000_000),
            no: Size(u64::from(k % 3) * 11_000_000),
        };
        v.push((top, inv));
    }
    v
}

fn bench(c: &mut Criterion) {
    let cfg = SpreadConfig {
        enabled: true,
        max_inventory: Size(50_000_000),
        ..SpreadConfig::default()
    };
    let rules = QuoteRules {
        tick: TickSize::CENT,
        min_order_size: Size(5_000_000),
    };
    let cases = tops();
    let mut k = 0usize;
    c.bench_function("spread: top change → quote decision", |b| {
        b.iter(|| {
            let (top, inv) = &cases[k % cases.len()];
            k += 1;
            black_box(decide(black_box(&cfg), &rules, black_box(top), *inv))
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
