//! Deterministic synthetic market-channel frames for the storage tests: `SynthFeed` writes
//! real frames (JSON, as the venue sends them) from a seeded model of binary markets.
//!
//! The feed exercises what the store must reproduce and the venue model does not send: frames
//! that batch two events, tick-size changes whose book comes only later (so a book waits in
//! `tick_size_change`), and a chosen start time. Wrong claimed tops come from the venue model's
//! `wrong_top_fault_per_mille`; everything else is the model's too (`synth::write_frames`).

use std::collections::BTreeMap;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use polyarb::core::{Price, Size};

/// One cent: the model's price grid (on every tick grid the venue uses).
const CENT: u32 = 10_000;

/// What the feed generates, in events per thousand.
#[derive(Clone, Debug)]
pub struct SynthConfig {
    pub markets: usize,
    pub seed: u64,
    /// Levels per side in a fresh book.
    pub depth: usize,
    pub book_per_mille: u32,
    pub tick_change_per_mille: u32,
    pub trade_per_mille: u32,
    /// Frames that batch two events in an array.
    pub batched_per_mille: u32,
    /// Venue timestamp of the first frame (UNIX ms).
    pub start_ms: u64,
}

impl Default for SynthConfig {
    fn default() -> Self {
        Self {
            markets: 4,
            seed: 1,
            depth: 15,
            book_per_mille: 15,
            tick_change_per_mille: 3,
            trade_per_mille: 40,
            batched_per_mille: 100,
            start_ms: 1_764_000_000_000,
        }
    }
}

struct Asset {
    token: String,
    /// Bids live at or below `mid`, asks above it (in cents).
    mid: u32,
    bids: BTreeMap<u32, u64>,
    asks: BTreeMap<u32, u64>,
    tick: &'static str,
}

struct Market {
    condition: String,
    assets: [Asset; 2],
}

/// A seeded generator of market-channel frames.
pub struct SynthFeed {
    cfg: SynthConfig,
    rng: StdRng,
    markets: Vec<Market>,
    ts_ms: u64,
}

fn px(cents: u32) -> String {
    Price(cents * CENT).to_string()
}

fn sz(micros: u64) -> String {
    Size(micros).to_string()
}

impl SynthFeed {
    pub fn new(cfg: SynthConfig) -> Self {
        let mut rng = StdRng::seed_from_u64(cfg.seed);
        let mut markets = Vec::with_capacity(cfg.markets);
        for _ in 0..cfg.markets {
            let condition = format!(
                "0x{:032x}{:032x}",
                rng.random::<u128>(),
                rng.random::<u128>()
            );
            let mid = rng.random_range(20..80);
            let mk = |rng: &mut StdRng, mid: u32| Asset {
                token: rng.random::<u128>().to_string(),
                mid,
                bids: BTreeMap::new(),
                asks: BTreeMap::new(),
                tick: "0.01",
            };
            let a = mk(&mut rng, mid);
            let b = mk(&mut rng, 99 - mid);
            markets.push(Market {
                condition,
                assets: [a, b],
            });
        }
        let ts_ms = cfg.start_ms;
        let mut feed = Self {
            cfg,
            rng,
            markets,
            ts_ms,
        };
        for m in 0..feed.markets.len() {
            for a in 0..2 {
                feed.refill(m, a);
            }
        }
        feed
    }

    /// The subscription's initial dump: per market, one frame with an array of both books.
    pub fn initial_frames(&mut self) -> Vec<String> {
        (0..self.markets.len())
            .map(|m| Value::Array(vec![self.book(m, 0), self.book(m, 1)]).to_string())
            .collect()
    }

    /// The initial dump followed by `n` more frames.
    pub fn frames(&mut self, n: usize) -> Vec<String> {
        let mut out = self.initial_frames();
        out.extend((0..n).map(|_| self.next_frame()));
        out
    }

    /// The next frame.
    pub fn next_frame(&mut self) -> String {
        self.ts_ms += self.rng.random_range(0..40);
        let first = self.next_event();
        if self.rng.random_range(0..1000) < self.cfg.batched_per_mille {
            let second = self.next_event();
            let mut events = match first {
                Value::Array(v) => v,
                v => vec![v],
            };
            match second {
                Value::Array(v) => events.extend(v),
                v => events.push(v),
            }
            Value::Array(events).to_string()
        } else {
            first.to_string()
        }
    }

    fn next_event(&mut self) -> Value {
        let m = self.rng.random_range(0..self.markets.len());
        let a = self.rng.random_range(0..2);
        let mut r = self.rng.random_range(0..1000u32);
        if r < self.cfg.book_per_mille {
            if self.rng.random_range(0..4) == 0 {
                self.refill(m, a);
            }
            return self.book(m, a);
        }
        r -= self.cfg.book_per_mille;
        if r < self.cfg.tick_change_per_mille {
            let asset = &mut self.markets[m].assets[a];
            let old = asset.tick;
            asset.tick = if old == "0.01" { "0.001" } else { "0.01" };
            // The venue re-snapshots the book after a tick change, here sometimes at once and
            // sometimes only with a later `book`, so the book waits in `tick_size_change`.
            let change = json!({
                "event_type": "tick_size_change",
                "asset_id": asset.token,
                "market": self.markets[m].condition,
                "old_tick_size": old,
                "new_tick_size": self.markets[m].assets[a].tick,
                "timestamp": self.ts_ms.to_string(),
            });
            if self.rng.random_bool(0.5) {
                return change;
            }
            return Value::Array(vec![change, self.book(m, a)]);
        }
        r -= self.cfg.tick_change_per_mille;
        if r < self.cfg.trade_per_mille {
            return self.trade(m, a);
        }
        self.price_change(m)
    }

    fn book(&mut self, m: usize, a: usize) -> Value {
        let asset = &self.markets[m].assets[a];
        // Best LAST, as the venue sends it.
        let bids: Vec<Value> = asset
            .bids
            .iter()
            .map(|(&p, &s)| json!({"price": px(p), "size": sz(s)}))
            .collect();
        let asks: Vec<Value> = asset
            .asks
            .iter()
            .rev()
            .map(|(&p, &s)| json!({"price": px(p), "size": sz(s)}))
            .collect();
        json!({
            "event_type": "book",
            "asset_id": asset.token,
            "market": self.markets[m].condition,
            "bids": bids,
            "asks": asks,
            "timestamp": self.ts_ms.to_string(),
            "hash": format!("{:040x}", self.rng.random::<u128>()),
            "tick_size": asset.tick,
        })
    }

    fn trade(&mut self, m: usize, a: usize) -> Value {
        let side_buy = self.rng.random_bool(0.5);
        let asset = &self.markets[m].assets[a];
        let price = if side_buy {
            asset.asks.keys().next().copied()
        } else {
            asset.bids.keys().next_back().copied()
        }
        .unwrap_or(asset.mid.max(1));
        let size = self.rng.random_range(1..=20_000u64) * CENT as u64;
        json!({
            "asset_id": asset.token,
            "event_type": "last_trade_price",
            "fee_rate_bps": "0",
            "market": self.markets[m].condition,
            "price": px(price),
            "side": if side_buy { "BUY" } else { "SELL" },
            "size": sz(size),
            "timestamp": self.ts_ms.to_string(),
        })
    }

    fn price_change(&mut self, m: usize) -> Value {
        let n = self.rng.random_range(1..=3);
        let mut entries = Vec::with_capacity(n);
        for _ in 0..n {
            let a = self.rng.random_range(0..2);
            let (side, price, size) = self.change(m, a);
            let asset = &self.markets[m].assets[a];
            let best_bid = asset.bids.keys().next_back().copied().unwrap_or(0);
            let best_ask = asset.asks.keys().next().copied().unwrap_or(0);
            entries.push(json!({
                "asset_id": asset.token,
                "price": px(price),
                "size": sz(size),
                "side": side,
                "hash": format!("{:040x}", self.rng.random::<u128>()),
                "best_bid": px(best_bid),
                "best_ask": px(best_ask),
            }));
        }
        json!({
            "market": self.markets[m].condition,
            "price_changes": entries,
            "event_type": "price_change",
            "timestamp": self.ts_ms.to_string(),
        })
    }

    /// Applies one random level change to the model; returns (venue side, cents, size).
    fn change(&mut self, m: usize, a: usize) -> (&'static str, u32, u64) {
        let rng = &mut self.rng;
        let asset = &mut self.markets[m].assets[a];
        if rng.random_range(0..10) == 0 {
            // The mid moves one cent; the level that would now cross is removed.
            let up = rng.random_bool(0.5);
            if up && asset.mid < 94 {
                asset.mid += 1;
                asset.asks.remove(&asset.mid);
                return ("SELL", asset.mid, 0);
            } else if !up && asset.mid > 5 {
                let removed = asset.mid;
                asset.mid -= 1;
                asset.bids.remove(&removed);
                return ("BUY", removed, 0);
            }
        }
        let bid = rng.random_bool(0.5);
        let (levels, lo, hi) = if bid {
            (
                &mut asset.bids,
                asset.mid.saturating_sub(12).max(1),
                asset.mid,
            )
        } else {
            (&mut asset.asks, asset.mid + 1, (asset.mid + 13).min(99))
        };
        let price = if !levels.is_empty() && rng.random_range(0..10) < 6 {
            let near: Vec<u32> = if bid {
                levels.keys().rev().take(5).copied().collect()
            } else {
                levels.keys().take(5).copied().collect()
            };
            near[rng.random_range(0..near.len())]
        } else {
            rng.random_range(lo..=hi.max(lo))
        };
        let size = if rng.random_range(0..4) == 0 {
            0
        } else {
            rng.random_range(1..=50_000u64) * CENT as u64
        };
        if size == 0 {
            levels.remove(&price);
        } else {
            levels.insert(price, size);
        }
        (if bid { "BUY" } else { "SELL" }, price, size)
    }

    /// Gives an asset a fresh book of `depth` levels per side around its mid.
    fn refill(&mut self, m: usize, a: usize) {
        let depth = self.cfg.depth as u32;
        let rng = &mut self.rng;
        let asset = &mut self.markets[m].assets[a];
        asset.bids.clear();
        asset.asks.clear();
        for k in 0..depth {
            if asset.mid > k {
                let p = asset.mid - k;
                asset
                    .bids
                    .insert(p, rng.random_range(1..=50_000u64) * CENT as u64);
            }
            let p = asset.mid + 1 + k;
            if p <= 99 {
                asset
                    .asks
                    .insert(p, rng.random_range(1..=50_000u64) * CENT as u64);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use polyarb::replay::Replayer;

    #[test]
    fn feed_is_deterministic_and_parses_cleanly() {
        let a = SynthFeed::new(SynthConfig::default()).frames(300);
        let b = SynthFeed::new(SynthConfig::default()).frames(300);
        assert_eq!(a, b);
        let mut r = Replayer::new();
        for f in &a {
            r.frame(f.as_bytes(), 0);
        }
        let c = r.counters();
        assert_eq!(c.invalid, 0, "{c:?}");
        assert_eq!(c.orphan, 0, "{c:?}");
        assert!(c.deltas > 200 && c.books >= 8, "{c:?}");
        assert_eq!(r.books.iter().count(), 8);
    }
}
