//! Market-data hot path: parse, apply and parse+apply of the current-format `price_change` and
//! of a 50+50-level `book`; and the level-store choice (sorted ladder vs tick-grid array vs
//! BTreeMap) under a realistic update mix. Run: `cargo bench --bench market_data`.

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use polyarb::adapters::polymarket::market_channel::MarketParser;
use polyarb::book::{Books, Ladder};
use polyarb::core::{AssetRegistry, MarketMsg, Price, Side, Size};
use rand::{Rng, SeedableRng, rngs::StdRng};

const A: &str = "71321045679252212594626385532706912750332728571942532289631379312455583992563";
const B: &str = "48331043336612883890938759509493159234755048973500640148014422747788308965732";
const M: &str = "0x5f65177b394277fd294cd75650044e32ba009a95022d88a0c1d565897d72f8f1";

fn price_change(n: usize) -> String {
    // Two assets of one market, as the venue sends a YES/NO pair.
    let entries: Vec<String> = (0..n)
        .map(|i| {
            let (asset, side, p) = if i % 2 == 0 { (A, "BUY", 0.50) } else { (B, "SELL", 0.50) };
            format!(
                r#"{{"asset_id":"{asset}","price":"{p:.2}","size":"{}","side":"{side}","hash":"bf32b3746fff40c76c98021b7f3f07261169dd26","best_bid":"0.5","best_ask":"0.51"}}"#,
                3300 + i
            )
        })
        .collect();
    format!(
        r#"{{"market":"{M}","price_changes":[{}],"event_type":"price_change","timestamp":"1729084877448"}}"#,
        entries.join(",")
    )
}

fn book50() -> String {
    let lv = |from: u32, step: i32| -> String {
        (0..50)
            .map(|i| {
                let p = (from as i32 + step * i) as f64 / 1000.0;
                format!(r#"{{"price":"{p:.3}","size":"{}.25"}}"#, 100 + i)
            })
            .collect::<Vec<_>>()
            .join(",")
    };
    // Best price last, as the venue sends them.
    format!(
        r#"{{"event_type":"book","asset_id":"{A}","market":"{M}","bids":[{}],"asks":[{}],"timestamp":"1","hash":"0458ea5755c9f73d64a14636fa5c36ed460ec394","tick_size":"0.001"}}"#,
        lv(450, 1),
        lv(550, -1)
    )
}

fn registry() -> AssetRegistry {
    let mut r = AssetRegistry::new();
    r.register(A.as_bytes()).unwrap();
    r.register(B.as_bytes()).unwrap();
    r
}

fn bench_parse_apply(c: &mut Criterion) {
    let mut g = c.benchmark_group("market_channel");
    for (name, frame) in [
        ("price_change_1", price_change(1)),
        ("price_change_2", price_change(2)),
        ("price_change_8", price_change(8)),
        ("book_50x50", book50()),
    ] {
        let mut reg = registry();
        let mut parser = MarketParser::new(false);
        let mut msgs = Vec::with_capacity(256);
        let mut books = Books::with_assets(2);
        // Books must exist for deltas to apply.
        parser.parse(book50().as_bytes(), 0, &mut reg, &mut msgs);
        let b_book = book50().replace(A, B);
        parser.parse(b_book.as_bytes(), 0, &mut reg, &mut msgs);
        msgs.iter().for_each(|m| books.apply(m));

        // The floor: simd-json's tape for the same bytes and nothing else.
        let mut buffers = simd_json::Buffers::new(4096);
        let mut tape = simd_json::Tape::null();
        let mut padded = Vec::with_capacity(frame.len() + simd_json::INPUT_PADDING);
        g.bench_function(format!("json_floor/{name}"), |b| {
            b.iter(|| {
                padded.clear();
                padded.extend_from_slice(black_box(frame.as_bytes()));
                padded.resize(frame.len() + simd_json::INPUT_PADDING, 0);
                let mut t = std::mem::replace(&mut tape, simd_json::Tape::null()).reset();
                let ok =
                    simd_json::fill_tape_padded(&mut padded, frame.len(), &mut buffers, &mut t)
                        .is_ok();
                tape = t.reset();
                black_box(ok)
            })
        });
        g.bench_function(format!("parse/{name}"), |b| {
            b.iter(|| {
                msgs.clear();
                parser.parse(black_box(frame.as_bytes()), 1, &mut reg, &mut msgs);
                black_box(msgs.len())
            })
        });
        msgs.clear();
        parser.parse(frame.as_bytes(), 1, &mut reg, &mut msgs);
        let parsed: Vec<MarketMsg> = msgs.clone();
        g.bench_function(format!("apply/{name}"), |b| {
            b.iter(|| {
                for m in black_box(&parsed) {
                    books.apply(m);
                }
            })
        });
        g.bench_function(format!("parse_apply/{name}"), |b| {
            b.iter(|| {
                msgs.clear();
                parser.parse(black_box(frame.as_bytes()), 1, &mut reg, &mut msgs);
                for m in &msgs {
                    books.apply(m);
                }
            })
        });
    }
    g.finish();
}

/// The level-store alternatives, as a book stage would use them.
trait LevelStore {
    fn set(&mut self, price: u32, size: u64);
    fn best(&self) -> Option<u32>;
}

impl LevelStore for Ladder {
    fn set(&mut self, price: u32, size: u64) {
        Ladder::set(self, Price(price), Size(size));
    }
    fn best(&self) -> Option<u32> {
        self.best_price().map(|p| p.0)
    }
}

/// Bid side as a dense array over a 0.001 tick grid, best index tracked and rescanned on removal.
struct GridArray {
    sizes: Vec<u64>,
    tick: u32,
    best: Option<usize>,
}

impl LevelStore for GridArray {
    fn set(&mut self, price: u32, size: u64) {
        let i = (price / self.tick) as usize;
        self.sizes[i] = size;
        match self.best {
            Some(b) if size > 0 && i > b => self.best = Some(i),
            None if size > 0 => self.best = Some(i),
            Some(b) if size == 0 && i == b => {
                self.best = (0..b).rev().find(|&j| self.sizes[j] > 0);
            }
            _ => {}
        }
    }
    fn best(&self) -> Option<u32> {
        self.best.map(|i| i as u32 * self.tick)
    }
}

struct Tree(BTreeMap<u32, u64>);

impl LevelStore for Tree {
    fn set(&mut self, price: u32, size: u64) {
        if size == 0 {
            self.0.remove(&price);
        } else {
            self.0.insert(price, size);
        }
    }
    fn best(&self) -> Option<u32> {
        self.0.keys().next_back().copied()
    }
}

/// 40 bid levels on a 0.001 grid; updates hit the top 5 levels 80% of the time, 10% remove a
/// level (re-added later), the rest land anywhere in the book.
fn update_mix() -> Vec<(u32, u64)> {
    let mut rng = StdRng::seed_from_u64(7);
    (0..4096)
        .map(|_| {
            let depth = if rng.random_bool(0.8) {
                rng.random_range(0..5)
            } else {
                rng.random_range(0..40)
            };
            let price = (500 - depth) * 1000;
            let size = if rng.random_bool(0.1) {
                0
            } else {
                rng.random_range(1..1_000_000_000)
            };
            (price, size)
        })
        .collect()
}

fn run_mix<S: LevelStore>(store: &mut S, mix: &[(u32, u64)]) -> u32 {
    let mut acc = 0u32;
    for &(p, s) in mix {
        store.set(p, s);
        acc = acc.wrapping_add(store.best().unwrap_or(0));
    }
    acc
}

fn bench_level_store(c: &mut Criterion) {
    let mix = update_mix();
    let mut g = c.benchmark_group("level_store_4096_updates");
    let fill = |s: &mut dyn FnMut(u32, u64)| (0..40).for_each(|d| s((500 - d) * 1000, 1_000_000));
    let mut ladder = Ladder::new(Side::Bid);
    fill(&mut |p, s| LevelStore::set(&mut ladder, p, s));
    g.bench_function("sorted_ladder", |b| {
        b.iter(|| run_mix(&mut ladder, black_box(&mix)))
    });
    let mut grid = GridArray {
        sizes: vec![0; 1000],
        tick: 1000,
        best: None,
    };
    fill(&mut |p, s| grid.set(p, s));
    g.bench_function("tick_grid_array", |b| {
        b.iter(|| run_mix(&mut grid, black_box(&mix)))
    });
    let mut tree = Tree(BTreeMap::new());
    fill(&mut |p, s| tree.set(p, s));
    g.bench_function("btreemap", |b| {
        b.iter(|| run_mix(&mut tree, black_box(&mix)))
    });
    g.finish();
}

criterion_group!(benches, bench_parse_apply, bench_level_store);
criterion_main!(benches);
