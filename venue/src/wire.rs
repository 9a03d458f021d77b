//! The venue's events in Polymarket's real wire shapes (market channel and CLOB REST).
//!
//! Market channel: `book` (bids ascending and asks descending, i.e. BEST PRICE LAST, as the
//! real venue sends them), current-format `price_change` (`price_changes[]` with the top of
//! book after each change), `tick_size_change`, `last_trade_price`. REST: the `GET /book` /
//! `POST /books` summary with `hash`, `timestamp`, `tick_size`, `min_order_size`, `neg_risk`,
//! `last_trade_price`. Every number is a canonical decimal string rendered from integer
//! micro-units; timestamps are millisecond strings.
//!
//! Hashes: a book's `hash` is the official summary hash (SHA-1 of the compact summary JSON with
//! an empty `hash`, `py-clob-client generate_orderbook_summary_hash`), so a client that checks it
//! can; `price_change` entries carry a cheap 40-hex change token instead, because hashing a
//! whole book per level change would dominate flood mode (the real venue's are not reproducible
//! either: clients may only use them as opaque tokens).

use std::fmt::{self, Display};
use std::io::Write;

use serde::ser::{SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};
use sha1::{Digest, Sha1};

use polyarb::core::{Price, Side, Size};

use super::book::{Levels, VenueBooks};
use super::event::{EventBuf, LevelDelta, VenueEvent};
use super::model::rng::splitmix64;

/// Serializes any `Display` value as a JSON string without an intermediate `String`.
struct Disp<T>(T);

impl<T: Display> Serialize for Disp<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

/// A 40-hex change token expanded from 64 bits.
struct ChangeHash(u64);

impl Display for ChangeHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut x = self.0;
        let (a, b, c) = (splitmix64(&mut x), splitmix64(&mut x), splitmix64(&mut x));
        write!(f, "{a:016x}{b:016x}{:08x}", c as u32)
    }
}

/// A claimed best price: `"0"` when the side is empty (what our parser contract reads as empty).
struct Best(Option<Price>);

impl Serialize for Best {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0.unwrap_or(Price::ZERO))
    }
}

#[derive(Serialize)]
struct LevelRef {
    price: Price,
    size: Size,
}

/// One side of a book as the venue sends it: best price last.
struct BestLast<'a> {
    levels: &'a Levels,
    side: Side,
}

impl Serialize for BestLast<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.levels.len()))?;
        let item = |(&price, &size): (&Price, &Size)| LevelRef { price, size };
        match self.side {
            // Bids ascending, asks descending: the best level is the last element.
            Side::Bid => {
                for l in self.levels.iter().map(item) {
                    seq.serialize_element(&l)?;
                }
            }
            Side::Ask => {
                for l in self.levels.iter().rev().map(item) {
                    seq.serialize_element(&l)?;
                }
            }
        }
        seq.end()
    }
}

/// One price level of a REST book, as strings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestLevel {
    pub price: String,
    pub size: String,
}

/// The `GET /book` / `POST /books` summary, field order as the venue sends it (and as the
/// official hash algorithm serializes it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestBook {
    pub market: String,
    pub asset_id: String,
    pub timestamp: String,
    pub hash: String,
    pub bids: Vec<RestLevel>,
    pub asks: Vec<RestLevel>,
    pub min_order_size: String,
    pub tick_size: String,
    pub neg_risk: bool,
    pub last_trade_price: String,
}

impl RestBook {
    /// The summary of an asset's book at `ts_ms`, with its official hash filled in.
    pub fn of(books: &VenueBooks, asset: u32, ts_ms: u64) -> Self {
        let a = books.asset(asset);
        let m = books.market_of(asset);
        let book = a.published();
        let side = |levels: &Levels, side: Side| -> Vec<RestLevel> {
            let level = |(p, s): (&Price, &Size)| RestLevel {
                price: p.to_string(),
                size: s.to_string(),
            };
            match side {
                Side::Bid => levels.iter().map(level).collect(),
                Side::Ask => levels.iter().rev().map(level).collect(),
            }
        };
        let mut b = Self {
            market: m.condition_id.clone(),
            asset_id: a.token_str.to_string(),
            timestamp: ts_ms.to_string(),
            hash: String::new(),
            bids: side(&book.bids, Side::Bid),
            asks: side(&book.asks, Side::Ask),
            min_order_size: a.min_order_size.to_string(),
            tick_size: a.tick.to_string(),
            neg_risk: m.neg_risk(),
            last_trade_price: a.last_trade.map(|p| p.to_string()).unwrap_or_default(),
        };
        b.hash = b.summary_hash();
        b
    }

    /// SHA-1 hex of the compact summary JSON with `hash` empty (the SDKs' algorithm).
    pub fn summary_hash(&self) -> String {
        let mut copy = self.clone();
        copy.hash.clear();
        // Serializing plain strings and vectors into a Vec cannot fail.
        let json = serde_json::to_vec(&copy).unwrap_or_default();
        hex::encode(Sha1::digest(&json))
    }
}

#[derive(Serialize)]
struct WsBook<'a> {
    event_type: &'static str,
    asset_id: &'a str,
    market: &'a str,
    bids: BestLast<'a>,
    asks: BestLast<'a>,
    timestamp: Disp<u64>,
    hash: String,
    tick_size: Disp<polyarb::core::TickSize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_trade_price: Option<Price>,
}

/// Renders one asset's `book` event. `initial` adds `last_trade_price`, which the venue sends
/// only in the snapshots of a subscription's initial dump.
pub fn write_book(books: &VenueBooks, asset: u32, ts_ms: u64, initial: bool, out: &mut Vec<u8>) {
    let a = books.asset(asset);
    let m = books.market_of(asset);
    let book = a.published();
    let msg = WsBook {
        event_type: "book",
        asset_id: &a.token_str,
        market: &m.condition_id,
        bids: BestLast {
            levels: &book.bids,
            side: Side::Bid,
        },
        asks: BestLast {
            levels: &book.asks,
            side: Side::Ask,
        },
        timestamp: Disp(ts_ms),
        hash: RestBook::of(books, asset, ts_ms).hash,
        tick_size: Disp(a.tick),
        last_trade_price: if initial { a.last_trade } else { None },
    };
    write_json(out, &msg);
}

/// Renders several `book` events as one JSON array frame (how the initial dump arrives).
pub fn write_book_array(books: &VenueBooks, assets: &[u32], ts_ms: u64, out: &mut Vec<u8>) {
    out.push(b'[');
    for (i, &a) in assets.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_book(books, a, ts_ms, true, out);
    }
    out.push(b']');
}

#[derive(Serialize)]
struct PriceChangeEntry<'a> {
    asset_id: &'a str,
    price: Price,
    size: Size,
    side: &'static str,
    hash: Disp<ChangeHash>,
    best_bid: Best,
    best_ask: Best,
}

/// The entries of a `price_change` that pass the subscriber's filter.
struct Entries<'a, F> {
    books: &'a VenueBooks,
    deltas: &'a [LevelDelta],
    keep: &'a F,
}

impl<F: Fn(u32) -> bool> Serialize for Entries<'_, F> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        for d in self.deltas.iter().filter(|d| (self.keep)(d.asset)) {
            // Deltas carry the house book; resting user orders are added as published.
            let a = self.books.asset(d.asset);
            let user = a.user.side(d.side).get(&d.price).map_or(0, |s| s.0);
            seq.serialize_element(&PriceChangeEntry {
                asset_id: &a.token_str,
                price: d.price,
                size: Size(d.size.0 + user),
                side: d.side.venue_str(),
                hash: Disp(ChangeHash(d.hash)),
                best_bid: Best(a.published_best(Side::Bid, d.best_bid)),
                best_ask: Best(a.published_best(Side::Ask, d.best_ask)),
            })?;
        }
        seq.end()
    }
}

#[derive(Serialize)]
#[serde(bound(serialize = "F: Fn(u32) -> bool"))]
struct PriceChange<'a, F: Fn(u32) -> bool> {
    event_type: &'static str,
    market: &'a str,
    price_changes: Entries<'a, F>,
    timestamp: Disp<u64>,
}

#[derive(Serialize)]
struct TickSizeChangeMsg<'a> {
    event_type: &'static str,
    asset_id: &'a str,
    market: &'a str,
    old_tick_size: Disp<polyarb::core::TickSize>,
    new_tick_size: Disp<polyarb::core::TickSize>,
    timestamp: Disp<u64>,
}

#[derive(Serialize)]
struct LastTradeMsg<'a> {
    event_type: &'static str,
    asset_id: &'a str,
    market: &'a str,
    price: Price,
    size: Size,
    fee_rate_bps: &'static str,
    side: &'static str,
    timestamp: Disp<u64>,
    transaction_hash: String,
}

/// Renders one event as a frame, keeping only the assets `keep` accepts. Returns false (and
/// writes nothing) when nothing of the event is left for this subscriber.
pub fn write_event(
    books: &VenueBooks,
    buf: &EventBuf,
    ev: &VenueEvent,
    keep: &impl Fn(u32) -> bool,
    out: &mut Vec<u8>,
) -> bool {
    let ts = buf.ts_ms;
    match *ev {
        VenueEvent::PriceChange { market, start, end } => {
            let deltas = buf.deltas_of(start, end);
            if !deltas.iter().any(|d| keep(d.asset)) {
                return false;
            }
            let msg = PriceChange {
                event_type: "price_change",
                market: &books.markets[market as usize].condition_id,
                price_changes: Entries {
                    books,
                    deltas,
                    keep,
                },
                timestamp: Disp(ts),
            };
            write_json(out, &msg);
        }
        VenueEvent::Book { asset } => {
            if !keep(asset) {
                return false;
            }
            write_book(books, asset, ts, false, out);
        }
        VenueEvent::TickSizeChange { asset, old, new } => {
            if !keep(asset) {
                return false;
            }
            let msg = TickSizeChangeMsg {
                event_type: "tick_size_change",
                asset_id: &books.asset(asset).token_str,
                market: &books.market_of(asset).condition_id,
                old_tick_size: Disp(old),
                new_tick_size: Disp(new),
                timestamp: Disp(ts),
            };
            write_json(out, &msg);
        }
        VenueEvent::LastTrade {
            asset,
            side,
            price,
            size,
            tx,
        } => {
            if !keep(asset) {
                return false;
            }
            let mut x = tx;
            let words: Vec<String> = (0..4)
                .map(|_| format!("{:016x}", splitmix64(&mut x)))
                .collect();
            let msg = LastTradeMsg {
                event_type: "last_trade_price",
                asset_id: &books.asset(asset).token_str,
                market: &books.market_of(asset).condition_id,
                price,
                size,
                fee_rate_bps: "0",
                side: side.venue_str(),
                timestamp: Disp(ts),
                transaction_hash: format!("0x{}", words.concat()),
            };
            write_json(out, &msg);
        }
    }
    true
}

/// The assets an event is about (for routing to subscribers).
pub fn event_assets(buf: &EventBuf, ev: &VenueEvent, out: &mut Vec<u32>) {
    out.clear();
    match *ev {
        VenueEvent::PriceChange { start, end, .. } => {
            for d in buf.deltas_of(start, end) {
                if !out.contains(&d.asset) {
                    out.push(d.asset);
                }
            }
        }
        VenueEvent::Book { asset }
        | VenueEvent::TickSizeChange { asset, .. }
        | VenueEvent::LastTrade { asset, .. } => out.push(asset),
    }
}

fn write_json<T: Serialize>(out: &mut Vec<u8>, v: &T) {
    // Writing into a Vec<u8> cannot fail, and every value here serializes.
    let _ = serde_json::to_writer(&mut *out, v);
}

/// A JSON error body: `{"error":"..."}`.
pub fn error_body(msg: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(msg.len() + 12);
    let _ = write!(out, "{}", serde_json::json!({ "error": msg }));
    out
}

#[cfg(test)]
mod tests;
