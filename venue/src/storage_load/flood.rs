//! `StorageEvent`s for load, without frames or parsing: what `polyarb db bench` and
//! `db crash-writer` feed the engine's storage writer.

use std::collections::BTreeMap;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use polyarb::core::{AssetIndex, ClaimedTop, Price, Side, Size, TokenId};
use polyarb::storage::event::{AssetRegistration, BookChange, BookEvent, StorageEvent};

/// One cent: the flood's price grid (on every tick grid the venue uses).
const CENT: u32 = 10_000;

/// `StorageEvent`s for load: a fixed set of assets (two per market), each event one level
/// change and its event end, with a fresh venue book now and then.
pub struct EventFlood {
    rng: StdRng,
    assets: Vec<(TokenId, String)>,
    books: Vec<(BTreeMap<u32, u64>, BTreeMap<u32, u64>)>,
    venue_ts_ms: u64,
}

impl EventFlood {
    pub fn new(markets: usize, seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut assets = Vec::with_capacity(markets * 2);
        for _ in 0..markets {
            let condition = format!(
                "0x{:032x}{:032x}",
                rng.random::<u128>(),
                rng.random::<u128>()
            );
            for _ in 0..2 {
                assets.push((TokenId::from_u64(rng.random()), condition.clone()));
            }
        }
        let books = vec![(BTreeMap::new(), BTreeMap::new()); assets.len()];
        Self {
            rng,
            assets,
            books,
            venue_ts_ms: 1_764_000_000_000,
        }
    }

    pub fn assets(&self) -> usize {
        self.assets.len()
    }

    /// The token id of asset `i` (`AssetIndex(i)` in the registrations).
    pub fn token(&self, i: usize) -> TokenId {
        self.assets.get(i).map(|a| a.0).unwrap_or_default()
    }

    /// One registration per asset.
    pub fn registrations(&self) -> Vec<StorageEvent> {
        self.assets
            .iter()
            .enumerate()
            .map(|(i, (token, condition))| {
                StorageEvent::RegisterAsset(Box::new(AssetRegistration {
                    asset: AssetIndex(i as u32),
                    token: *token,
                    condition_id: condition.clone(),
                    outcome: Some(if i % 2 == 0 { "Yes" } else { "No" }.into()),
                    outcome_index: Some((i % 2) as u32),
                }))
            })
            .collect()
    }

    /// A venue book of `depth` levels per side for `asset` (start, levels, end).
    pub fn book(&mut self, asset: usize, depth: u32, recv_ns: u64, out: &mut Vec<StorageEvent>) {
        let a = AssetIndex(asset as u32);
        let (bids, asks) = &mut self.books[asset];
        bids.clear();
        asks.clear();
        let ev = |change| {
            StorageEvent::Book(BookEvent {
                asset: a,
                venue_ts_ms: self.venue_ts_ms,
                recv_ns,
                change,
            })
        };
        out.push(ev(BookChange::SnapshotStart {
            tick: Some(polyarb::core::TickSize::CENT),
        }));
        for k in 0..depth.min(49) {
            let size = self.rng.random_range(1..=50_000u64) * CENT as u64;
            bids.insert(50 - k, size);
            asks.insert(51 + k, size);
        }
        for (side, levels) in [(Side::Bid, &*bids), (Side::Ask, &*asks)] {
            for (&p, &s) in levels {
                out.push(ev(BookChange::SnapshotLevel {
                    side,
                    price: Price(p * CENT),
                    size: Size(s),
                }));
            }
        }
        out.push(ev(BookChange::EventEnd {
            claimed: ClaimedTop::UNKNOWN,
        }));
    }

    /// One level change of a random asset, with its event end and the claimed top.
    pub fn change(&mut self, recv_ns: u64, out: &mut Vec<StorageEvent>) {
        let i = self.rng.random_range(0..self.assets.len());
        self.change_of(i, recv_ns, out);
    }

    /// One level change of `asset`.
    pub fn change_of(&mut self, asset: usize, recv_ns: u64, out: &mut Vec<StorageEvent>) {
        self.venue_ts_ms += u64::from(self.rng.random_range(0..3u8));
        let (bids, asks) = &mut self.books[asset];
        let bid = self.rng.random_bool(0.5);
        let (levels, range) = if bid {
            (bids, 30..=50)
        } else {
            (asks, 51..=71)
        };
        let p = self.rng.random_range(range);
        let size = if self.rng.random_range(0..4) == 0 {
            0
        } else {
            self.rng.random_range(1..=50_000u64) * CENT as u64
        };
        if size == 0 {
            levels.remove(&p);
        } else {
            levels.insert(p, size);
        }
        let (bids, asks) = &self.books[asset];
        let claimed = ClaimedTop {
            bid: Some(Price(bids.keys().next_back().map_or(0, |&p| p * CENT))),
            ask: Some(Price(asks.keys().next().map_or(0, |&p| p * CENT))),
        };
        let a = AssetIndex(asset as u32);
        let side = if bid { Side::Bid } else { Side::Ask };
        for change in [
            BookChange::Level {
                side,
                price: Price(p * CENT),
                size: Size(size),
            },
            BookChange::EventEnd { claimed },
        ] {
            out.push(StorageEvent::Book(BookEvent {
                asset: a,
                venue_ts_ms: self.venue_ts_ms,
                recv_ns,
                change,
            }));
        }
    }
}
