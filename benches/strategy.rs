//! The strategy's hot path: a 40-question neg-risk group re-evaluated after one top change,
//! both sides, sized through 8 ask levels per leg. `no_edge`: the usual case (asks sum over 1,
//! NO asks over N − 1). `walk`: a YES set through six levels of every leg, with different sizes
//! per leg so the walk takes many steps. Run: `cargo bench --bench strategy`; instruction
//! counts: see [`loops`].

use std::hint::black_box;

use criterion::{Criterion, criterion_group};
use polyarb::core::fees::FeeSchedule;
use polyarb::core::{AskDepth, AssetIndex, Price, Size, TopOfBook};
use polyarb::strategy::dutch::DutchBook;
use polyarb::strategy::{OutcomeGroup, StrategyConfig};

const N: u32 = 40;

fn ladder(best: u32, step: u32, size: u64) -> AskDepth {
    AskDepth::from_levels((0..8).map(|i| (Price(best + i * step), Size(size + u64::from(i)))))
}

fn top(asset: u32, asks: AskDepth) -> TopOfBook {
    TopOfBook {
        asset: AssetIndex(asset),
        ask: asks.prices[0],
        ask_size: asks.sizes[0],
        asks,
        tradeable: true,
        recv_ns: 1,
        ..TopOfBook::default()
    }
}

/// The strategy with every leg's ladder in: YES leg k's asks from `yes(k)`, NO asks 0.975 up.
fn strategy(fees: FeeSchedule, yes: impl Fn(u32) -> AskDepth) -> DutchBook {
    let g = OutcomeGroup::new(
        1,
        (0..N).map(AssetIndex).collect(),
        (N..2 * N).map(AssetIndex).collect(),
        fees,
        Size(5_000_000),
    );
    let cfg = StrategyConfig {
        max_top_age_ms: 0,
        max_size: Size(u64::MAX / 4),
        ..StrategyConfig::default()
    };
    let mut s = DutchBook::new(cfg, vec![g]);
    for k in 0..N {
        s.on_top(top(k, yes(k)), 2);
        s.on_top(top(N + k, ladder(975_000, 1_000, 500_000_000)), 2);
    }
    s
}

/// One measured case: the strategy, the top it is fed (leg 0's first ask size flips between
/// two values, so every call is a change that must be evaluated) and the two sizes.
struct Case {
    name: String,
    s: DutchBook,
    t: TopOfBook,
    sizes: [u64; 2],
}

fn cases() -> Vec<Case> {
    let fee = FeeSchedule {
        rate_ppm: 30_000,
        exponent: 1,
        taker_only: true,
    };
    let mut out = Vec::new();
    for (name, fees) in [("free", FeeSchedule::FREE), ("fee", fee)] {
        // Σ YES asks 1.04: nothing on either side.
        let flat = |_| ladder(26_000, 1_000, 500_000_000);
        out.push(Case {
            name: format!("strategy_40q/no_edge/{name}"),
            s: strategy(fees, flat),
            t: top(0, flat(0)),
            sizes: [400_000_000, 500_000_000],
        });
        // Σ YES asks 0.96 + 0.004 per level: six levels clear 0.98; sizes differ per leg.
        let yes = |k: u32| ladder(24_000, 100, 100_000_000 + u64::from(k) * 7_000_000);
        out.push(Case {
            name: format!("strategy_40q/walk/{name}"),
            s: strategy(fees, yes),
            t: top(0, yes(0)),
            sizes: [90_000_000, 100_000_000],
        });
    }
    out
}

fn bench(c: &mut Criterion) {
    for mut case in cases() {
        let mut flip = false;
        c.bench_function(&case.name, |b| {
            b.iter(|| {
                flip = !flip;
                case.t.asks.sizes[0] = Size(case.sizes[usize::from(flip)]);
                black_box(case.s.on_top(black_box(case.t), 3))
            })
        });
    }
}

/// `STRATEGY_LOOPS=N cargo bench --bench strategy`: runs every case N times without
/// criterion and prints nothing else, for instruction counts under valgrind (run it with two
/// values of N; the difference over the difference of N is the count per evaluation).
fn loops(n: u64) {
    for mut case in cases() {
        let mut found = 0u64;
        for i in 0..n {
            case.t.asks.sizes[0] = Size(case.sizes[(i & 1) as usize]);
            found += u64::from(black_box(case.s.on_top(black_box(case.t), 3)).is_some());
        }
        println!("{} {n} evaluations, {found} emitted", case.name);
    }
}

criterion_group!(benches, bench);

fn main() {
    if let Some(n) = std::env::var("STRATEGY_LOOPS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        loops(n);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
