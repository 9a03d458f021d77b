//! L2 order books for every asset, applied from `MarketMsg`s, with health per asset.
//!
//! A book is `ok` only between a full snapshot and the first sign that it may be wrong: the
//! venue's claimed top of book disagrees with ours (a missed delta), the book crossed, the tick
//! size changed, the connection dropped, a ring overflowed, or the asset went silent. Such a
//! book is `resync_needed` (first reason kept) and keeps applying deltas, but nothing may trade
//! on it until a new snapshot makes it `ok` again. The hot stage that keeps them is
//! `book_stage`; storage rebuilds them with this same code.

pub mod dump;
pub mod ladder;

pub use ladder::Ladder;

pub use crate::core::market::ResyncReason;

use crate::core::{AssetIndex, ClaimedTop, MarketMsg, Price, Side, Size, TickSize};

/// Health of one asset's book.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BookState {
    /// No snapshot has arrived yet.
    Empty,
    Ok,
    ResyncNeeded(ResyncReason),
}

impl BookState {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Empty => "empty",
            Self::Ok => "ok",
            Self::ResyncNeeded(_) => "resync_needed",
        }
    }

    pub const fn reason(self) -> Option<ResyncReason> {
        match self {
            Self::ResyncNeeded(r) => Some(r),
            _ => None,
        }
    }
}

/// The book of one outcome token.
#[derive(Clone, Debug)]
pub struct OrderBook {
    pub bids: Ladder,
    pub asks: Ladder,
    pub tick: Option<TickSize>,
    pub state: BookState,
    /// Receive time (ns) of the last frame that touched this asset.
    pub last_event_ns: u64,
    /// Receive time (ns) of the last snapshot.
    pub last_snapshot_ns: u64,
}

impl Default for OrderBook {
    fn default() -> Self {
        Self {
            bids: Ladder::new(Side::Bid),
            asks: Ladder::new(Side::Ask),
            tick: None,
            state: BookState::Empty,
            last_event_ns: 0,
            last_snapshot_ns: 0,
        }
    }
}

impl OrderBook {
    pub fn side(&self, side: Side) -> &Ladder {
        match side {
            Side::Bid => &self.bids,
            Side::Ask => &self.asks,
        }
    }

    fn side_mut(&mut self, side: Side) -> &mut Ladder {
        match side {
            Side::Bid => &mut self.bids,
            Side::Ask => &mut self.asks,
        }
    }

    /// Marks the book untrustworthy; the first reason is kept until the next snapshot.
    pub fn invalidate(&mut self, reason: ResyncReason) {
        if self.state == BookState::Ok {
            self.state = BookState::ResyncNeeded(reason);
        }
    }

    pub fn is_tradeable(&self) -> bool {
        self.state == BookState::Ok
    }

    pub fn is_crossed(&self) -> bool {
        matches!((self.bids.best_price(), self.asks.best_price()), (Some(b), Some(a)) if b >= a)
    }

    /// Whether our top of book agrees with the venue's claim (a zero claim = empty side).
    fn agrees_with(&self, claimed: ClaimedTop) -> bool {
        let ok = |ours: Option<Price>, theirs: Option<Price>| match theirs {
            None => true,
            Some(p) => ours.unwrap_or(Price::ZERO) == p,
        };
        ok(self.bids.best_price(), claimed.bid) && ok(self.asks.best_price(), claimed.ask)
    }
}

/// What the book stage has done.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct BookCounters {
    /// Snapshots applied.
    pub books: u64,
    /// Level changes applied.
    pub deltas: u64,
    /// Changes for an asset that never had a snapshot (nothing created).
    pub orphan: u64,
    /// Events after which our top disagreed with the venue's claim.
    pub mismatch: u64,
    /// Events after which a book was crossed.
    pub crossed: u64,
    /// Tick size changes applied.
    pub tick_size_changes: u64,
}

/// Every asset's book, indexed by `AssetIndex`.
#[derive(Default)]
pub struct Books {
    books: Vec<OrderBook>,
    pub counters: BookCounters,
    /// Receive time of the frame being applied.
    frame_ns: u64,
}

impl Books {
    pub fn new() -> Self {
        Self::default()
    }

    /// Pre-sizes the table so that assets below `n` never allocate a book on the hot path.
    pub fn with_assets(n: usize) -> Self {
        let mut b = Self::default();
        b.books.resize_with(n, OrderBook::default);
        b
    }

    pub fn get(&self, asset: AssetIndex) -> Option<&OrderBook> {
        self.books
            .get(asset.get())
            .filter(|b| b.state != BookState::Empty)
    }

    /// The asset's slot, including one that has not had a snapshot yet.
    pub fn book(&self, asset: AssetIndex) -> Option<&OrderBook> {
        self.books.get(asset.get())
    }

    pub fn get_mut(&mut self, asset: AssetIndex) -> Option<&mut OrderBook> {
        self.books.get_mut(asset.get())
    }

    fn slot(&mut self, asset: AssetIndex) -> &mut OrderBook {
        let i = asset.get();
        if i >= self.books.len() {
            self.books.resize_with(i + 1, OrderBook::default);
        }
        &mut self.books[i]
    }

    /// Assets that have had a snapshot, with their books.
    pub fn iter(&self) -> impl Iterator<Item = (AssetIndex, &OrderBook)> {
        self.books
            .iter()
            .enumerate()
            .filter(|(_, b)| b.state != BookState::Empty)
            .map(|(i, b)| (AssetIndex(i as u32), b))
    }

    /// Receive time of the frame being applied.
    pub fn frame_ns(&self) -> u64 {
        self.frame_ns
    }

    pub fn capacity(&self) -> usize {
        self.books.len()
    }

    /// Room for `total` books without reallocating the table.
    pub fn reserve_total(&mut self, total: usize) {
        self.books
            .reserve_exact(total.saturating_sub(self.books.len()));
    }

    /// Adds empty books up to `n` assets (a registry extension: rare, on a control message).
    pub fn grow_to(&mut self, n: usize) {
        if n > self.books.len() {
            self.books.resize_with(n, OrderBook::default);
        }
    }

    /// Forgets an asset's book (its market closed): empty, untradeable, levels kept allocated.
    pub fn retire(&mut self, asset: AssetIndex) {
        if let Some(b) = self.books.get_mut(asset.get()) {
            b.bids.clear();
            b.asks.clear();
            b.tick = None;
            b.state = BookState::Empty;
        }
    }

    /// Marks an asset untrustworthy from outside the message stream (reconnect, full ring,
    /// staleness).
    pub fn invalidate(&mut self, asset: AssetIndex, reason: ResyncReason) {
        if let Some(b) = self.books.get_mut(asset.get()) {
            b.invalidate(reason);
        }
    }

    /// Applies one message.
    #[inline]
    pub fn apply(&mut self, msg: &MarketMsg) {
        match *msg {
            MarketMsg::FrameStart { recv_ns, .. } => self.frame_ns = recv_ns,
            MarketMsg::SnapshotStart { asset, tick, .. } => {
                let now = self.frame_ns;
                let b = self.slot(asset);
                b.bids.clear();
                b.asks.clear();
                if tick.is_some() {
                    b.tick = tick;
                }
                b.state = BookState::Ok;
                b.last_snapshot_ns = now;
                self.counters.books += 1;
            }
            MarketMsg::SnapshotLevel {
                asset,
                side,
                price,
                size,
            } => self.slot(asset).side_mut(side).load(price, size),
            MarketMsg::LevelChange {
                asset,
                side,
                price,
                size,
            } => self.change(asset, side, price, size),
            MarketMsg::TickSizeChange { asset, tick } => match self.books.get_mut(asset.get()) {
                Some(b) if b.state != BookState::Empty => {
                    b.tick = Some(tick);
                    b.invalidate(ResyncReason::TickSizeChange);
                    self.counters.tick_size_changes += 1;
                }
                _ => self.counters.orphan += 1,
            },
            MarketMsg::AssetEventEnd { asset, claimed, .. } => self.check(asset, claimed),
            MarketMsg::Invalidate { asset, reason } => self.invalidate(asset, reason),
            MarketMsg::Trade { .. } | MarketMsg::FrameEnd { .. } => {}
        }
    }

    #[inline]
    fn change(&mut self, asset: AssetIndex, side: Side, price: Price, size: Size) {
        match self.books.get_mut(asset.get()) {
            Some(b) if b.state != BookState::Empty => {
                b.side_mut(side).set(price, size);
                self.counters.deltas += 1;
            }
            _ => self.counters.orphan += 1,
        }
    }

    /// End-of-event checks for one asset: claimed top, then crossing.
    #[inline]
    fn check(&mut self, asset: AssetIndex, claimed: ClaimedTop) {
        let now = self.frame_ns;
        let Some(b) = self.books.get_mut(asset.get()) else {
            return;
        };
        if b.state == BookState::Empty {
            return;
        }
        b.last_event_ns = now;
        if !b.agrees_with(claimed) {
            b.invalidate(ResyncReason::BestMismatch);
            self.counters.mismatch += 1;
        }
        if b.is_crossed() {
            b.invalidate(ResyncReason::Crossed);
            self.counters.crossed += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: AssetIndex = AssetIndex(0);

    fn lvl(side: Side, p: u32, s: u64) -> MarketMsg {
        MarketMsg::LevelChange {
            asset: A,
            side,
            price: Price(p),
            size: Size(s),
        }
    }

    fn snapshot(b: &mut Books) {
        b.apply(&MarketMsg::SnapshotStart {
            asset: A,
            tick: Some(TickSize::CENT),
            venue_ts_ms: 0,
        });
        for (side, p) in [
            (Side::Bid, 490_000),
            (Side::Bid, 500_000),
            (Side::Ask, 520_000),
            (Side::Ask, 510_000),
        ] {
            b.apply(&MarketMsg::SnapshotLevel {
                asset: A,
                side,
                price: Price(p),
                size: Size(1_000_000),
            });
        }
        b.apply(&MarketMsg::AssetEventEnd {
            asset: A,
            claimed: ClaimedTop::UNKNOWN,
            venue_ts_ms: 0,
        });
    }

    #[test]
    fn deltas_before_a_snapshot_are_orphans() {
        let mut b = Books::new();
        b.apply(&lvl(Side::Bid, 500_000, 1));
        assert_eq!(b.counters.orphan, 1);
        assert!(b.get(A).is_none());
    }

    #[test]
    fn mismatch_keeps_first_reason_and_snapshot_heals() {
        let mut b = Books::new();
        snapshot(&mut b);
        assert!(b.get(A).unwrap().is_tradeable());
        b.apply(&lvl(Side::Bid, 505_000, 1));
        b.apply(&MarketMsg::AssetEventEnd {
            asset: A,
            claimed: ClaimedTop {
                bid: Some(Price(500_000)),
                ask: Some(Price(510_000)),
            },
            venue_ts_ms: 0,
        });
        assert_eq!(
            b.get(A).unwrap().state,
            BookState::ResyncNeeded(ResyncReason::BestMismatch)
        );
        // Crossing afterwards is counted but does not replace the first reason.
        b.apply(&lvl(Side::Bid, 515_000, 1));
        b.apply(&MarketMsg::AssetEventEnd {
            asset: A,
            claimed: ClaimedTop::UNKNOWN,
            venue_ts_ms: 0,
        });
        assert_eq!(b.counters.crossed, 1);
        assert_eq!(
            b.get(A).unwrap().state.reason(),
            Some(ResyncReason::BestMismatch)
        );
        snapshot(&mut b);
        assert_eq!(b.get(A).unwrap().state, BookState::Ok);
        assert_eq!(b.counters.books, 2);
    }

    #[test]
    fn claimed_zero_means_empty_side() {
        let mut b = Books::new();
        snapshot(&mut b);
        b.apply(&lvl(Side::Ask, 510_000, 0));
        b.apply(&lvl(Side::Ask, 520_000, 0));
        b.apply(&MarketMsg::AssetEventEnd {
            asset: A,
            claimed: ClaimedTop {
                bid: Some(Price(500_000)),
                ask: Some(Price::ZERO),
            },
            venue_ts_ms: 0,
        });
        assert_eq!(b.get(A).unwrap().state, BookState::Ok);
        assert_eq!(b.counters.mismatch, 0);
    }
}
