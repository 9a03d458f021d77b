//! A batch: the rows one transaction writes, in ingest order, as the writer hands them to a
//! backend (`EventStore::write_batch`), and the stored forms read back.
//!
//! Rows still name assets by the process's `AssetIndex`; the backend maps them to its own keys
//! from the `Asset` registration rows it has committed (or that come earlier in the same batch),
//! and assigns each market's `seq` as it writes, so a batch that fails assigns nothing.

use crate::book::{BookState, ResyncReason};
use crate::core::{AssetIndex, ClaimedTop, Price, Side, Size, TickSize};

use super::event::{
    AssetRegistration, FillRecord, JournalEntry, MarketRecord, OrderRecord, OrderUpdate,
    PositionRecord, RuleAck, RuleChangeRecord,
};
use super::schema::kind;

/// One transaction's worth of rows.
#[derive(Debug, Default)]
pub struct Batch {
    /// Monotonic over the database's life (the `batches` table records each one).
    pub id: u64,
    pub rows: Vec<Row>,
}

impl Batch {
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// One row to write: the stored form of a [`StorageEvent`](super::event::StorageEvent) (the
/// recorder turns market-data events into rows, and passes trading records through as they are).
#[derive(Debug, Clone)]
pub enum Row {
    Asset(Box<AssetRegistration>),
    Book(BookRow),
    Trade(TradeRow),
    Snapshot(Box<SnapshotRow>),
    Resync(ResyncRow),
    Market(Box<MarketRecord>),
    Order(Box<OrderRecord>),
    OrderUpdate(Box<OrderUpdate>),
    Journal(Box<JournalEntry>),
    Fill(Box<FillRecord>),
    Position(Box<PositionRecord>),
    RuleChange(Box<RuleChangeRecord>),
    RuleAck(Box<RuleAck>),
    TobBar(TobBar),
    TradeBar(TradeBar),
}

impl Row {
    /// Whether this row is raw market data (which a writer under memory pressure may drop).
    /// Nothing else is ever dropped: which events are critical to trading is decided once, at
    /// enqueue, by [`StorageEvent::is_critical`](super::event::StorageEvent::is_critical).
    pub fn is_market_data(&self) -> bool {
        matches!(self, Self::Book(_) | Self::Trade(_))
    }
}

/// What one `orderbook_events` row is (the `kind` column and its payload).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BookRowKind {
    BookStart {
        tick: Option<TickSize>,
    },
    BookLevel {
        side: Side,
        price: Price,
        size: Size,
    },
    Change {
        side: Side,
        price: Price,
        size: Size,
    },
    TickSize {
        tick: TickSize,
    },
    /// An event end that could not be folded into a previous row.
    EventEnd,
    Invalidate {
        reason: ResyncReason,
    },
}

impl BookRowKind {
    pub const fn code(&self) -> i64 {
        match self {
            Self::BookStart { .. } => kind::BOOK_START,
            Self::BookLevel { .. } => kind::BOOK_LEVEL,
            Self::Change { .. } => kind::CHANGE,
            Self::TickSize { .. } => kind::TICK_SIZE,
            Self::EventEnd => kind::EVENT_END,
            Self::Invalidate { .. } => kind::INVALIDATE,
        }
    }

    /// The `(side, price, size)` columns.
    pub fn columns(&self) -> (Option<i64>, Option<i64>, Option<u64>) {
        match *self {
            Self::BookStart { tick } => (None, tick.map(|t| i64::from(t.micros())), None),
            Self::BookLevel { side, price, size } | Self::Change { side, price, size } => (
                Some(side_code(side)),
                Some(i64::from(price.0)),
                Some(size.0),
            ),
            Self::TickSize { tick } => (None, Some(i64::from(tick.micros())), None),
            Self::EventEnd => (None, None, None),
            Self::Invalidate { reason } => (None, Some(i64::from(reason_code(reason))), None),
        }
    }

    /// Rebuilds the kind from stored columns; `None` if they are not a valid combination.
    pub fn from_columns(
        code: i64,
        side: Option<i64>,
        price: Option<i64>,
        size: Option<i64>,
    ) -> Option<Self> {
        let price_u32 = |p: Option<i64>| p.and_then(|p| u32::try_from(p).ok()).map(Price);
        let tick = |p: Option<i64>| price_u32(p).and_then(|p| TickSize::new(p).ok());
        Some(match code {
            kind::BOOK_START => Self::BookStart {
                tick: match price {
                    None => None,
                    Some(_) => Some(tick(price)?),
                },
            },
            kind::BOOK_LEVEL | kind::CHANGE => {
                let side = side_from_code(side?)?;
                let price = price_u32(price)?;
                let size = Size(u64::try_from(size?).ok()?);
                if code == kind::BOOK_LEVEL {
                    Self::BookLevel { side, price, size }
                } else {
                    Self::Change { side, price, size }
                }
            }
            kind::TICK_SIZE => Self::TickSize { tick: tick(price)? },
            kind::EVENT_END => Self::EventEnd,
            kind::INVALIDATE => Self::Invalidate {
                reason: reason_from_code(u8::try_from(price?).ok()?)?,
            },
            _ => return None,
        })
    }
}

/// One `orderbook_events` row before it has a `seq`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BookRow {
    pub asset: AssetIndex,
    pub kind: BookRowKind,
    /// `Some` when this row ends the asset's venue event (the claimed top may be unknown).
    pub end: Option<ClaimedTop>,
    pub venue_ts_ms: u64,
    pub recv_ns: u64,
}

/// One `trades` row before it has a `seq`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TradeRow {
    pub asset: AssetIndex,
    pub side: Side,
    pub price: Price,
    pub size: Size,
    pub fee_rate_bps: Option<u32>,
    pub venue_ts_ms: u64,
    pub recv_ns: u64,
}

/// A copy of an asset's book after every stored event of its market up to the batch position
/// of this row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotRow {
    pub asset: AssetIndex,
    pub venue_ts_ms: u64,
    pub recv_ns: u64,
    pub book: BookImage,
}

/// The parts of an `OrderBook` a snapshot keeps.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BookImage {
    pub tick: Option<TickSize>,
    pub state: StoredState,
    /// Best first.
    pub bids: Vec<(Price, Size)>,
    /// Best first.
    pub asks: Vec<(Price, Size)>,
}

/// `BookState` as stored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StoredState {
    #[default]
    Empty,
    Ok,
    ResyncNeeded(ResyncReason),
}

impl StoredState {
    pub fn from_book(s: BookState) -> Self {
        match s {
            BookState::Empty => Self::Empty,
            BookState::Ok => Self::Ok,
            BookState::ResyncNeeded(r) => Self::ResyncNeeded(r),
        }
    }

    pub fn to_book(self) -> BookState {
        match self {
            Self::Empty => BookState::Empty,
            Self::Ok => BookState::Ok,
            Self::ResyncNeeded(r) => BookState::ResyncNeeded(r),
        }
    }

    /// The `(state, reason)` columns.
    pub fn columns(self) -> (i64, Option<i64>) {
        match self {
            Self::Empty => (0, None),
            Self::Ok => (1, None),
            Self::ResyncNeeded(r) => (2, Some(i64::from(reason_code(r)))),
        }
    }

    pub fn from_columns(state: i64, reason: Option<i64>) -> Option<Self> {
        match state {
            0 => Some(Self::Empty),
            1 => Some(Self::Ok),
            2 => Some(Self::ResyncNeeded(reason_from_code(
                u8::try_from(reason?).ok()?,
            )?)),
            _ => None,
        }
    }
}

/// One `resyncs` row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResyncRow {
    pub asset: AssetIndex,
    pub reason: ResyncReason,
    pub recv_ns: u64,
}

/// Open/high/low/close of one price series within a bar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ohlc {
    pub open: Price,
    pub high: Price,
    pub low: Price,
    pub close: Price,
}

impl Ohlc {
    pub fn new(p: Price) -> Self {
        Self {
            open: p,
            high: p,
            low: p,
            close: p,
        }
    }

    pub fn update(&mut self, p: Price) {
        self.high = self.high.max(p);
        self.low = self.low.min(p);
        self.close = p;
    }
}

/// What one minute of an asset's top of book added since the last batch (merged into the stored
/// bar: open kept, high/low widened, close replaced, updates added).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TobBar {
    pub asset: AssetIndex,
    pub minute_ms: u64,
    pub bid: Option<Ohlc>,
    pub ask: Option<Ohlc>,
    pub updates: u64,
}

/// What one minute of an asset's trades added since the last batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TradeBar {
    pub asset: AssetIndex,
    pub minute_ms: u64,
    pub price: Ohlc,
    pub volume: Size,
    pub notional: u64,
    pub buy_volume: Size,
    pub sell_volume: Size,
    pub trades: u64,
}

/// What a committed batch did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Rows stored.
    pub written: u64,
    /// Rows refused one by one (the rest of the batch was stored).
    pub rejected: Vec<super::error::RowError>,
}

/// One `orderbook_events` row as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoredBookRow {
    pub seq: u64,
    pub asset_id: i64,
    pub kind: BookRowKind,
    pub end: Option<ClaimedTop>,
    pub venue_ts_ms: u64,
    pub recv_ns: u64,
}

/// One `trades` row as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoredTrade {
    pub seq: u64,
    pub asset_id: i64,
    pub side: Side,
    pub price: Price,
    pub size: Size,
    pub fee_rate_bps: Option<u32>,
    pub venue_ts_ms: u64,
    pub recv_ns: u64,
}

/// One `snapshots` row as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredSnapshot {
    pub asset_id: i64,
    pub seq: u64,
    pub recv_ns: u64,
    pub venue_ts_ms: u64,
    pub book: BookImage,
}

pub const fn side_code(s: Side) -> i64 {
    match s {
        Side::Bid => 0,
        Side::Ask => 1,
    }
}

pub const fn side_from_code(c: i64) -> Option<Side> {
    match c {
        0 => Some(Side::Bid),
        1 => Some(Side::Ask),
        _ => None,
    }
}

/// Stable codes for `ResyncReason` (stored: never renumber).
pub const fn reason_code(r: ResyncReason) -> u8 {
    match r {
        ResyncReason::BestMismatch => 1,
        ResyncReason::Crossed => 2,
        ResyncReason::TickSizeChange => 3,
        ResyncReason::Reconnect => 4,
        ResyncReason::RingFull => 5,
        ResyncReason::Stale => 6,
    }
}

pub const fn reason_from_code(c: u8) -> Option<ResyncReason> {
    Some(match c {
        1 => ResyncReason::BestMismatch,
        2 => ResyncReason::Crossed,
        3 => ResyncReason::TickSizeChange,
        4 => ResyncReason::Reconnect,
        5 => ResyncReason::RingFull,
        6 => ResyncReason::Stale,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn book_row_kinds_round_trip_through_columns() {
        let kinds = [
            BookRowKind::BookStart { tick: None },
            BookRowKind::BookStart {
                tick: Some(TickSize::CENT),
            },
            BookRowKind::BookLevel {
                side: Side::Bid,
                price: Price(10_000),
                size: Size(5),
            },
            BookRowKind::Change {
                side: Side::Ask,
                price: Price(990_000),
                size: Size(0),
            },
            BookRowKind::TickSize {
                tick: TickSize::MILLI,
            },
            BookRowKind::EventEnd,
            BookRowKind::Invalidate {
                reason: ResyncReason::Stale,
            },
        ];
        for k in kinds {
            let (side, price, size) = k.columns();
            let size = size.map(|s| s as i64);
            assert_eq!(
                BookRowKind::from_columns(k.code(), side, price, size),
                Some(k)
            );
        }
        assert_eq!(
            BookRowKind::from_columns(2, Some(3), Some(1), Some(1)),
            None
        );
        assert_eq!(BookRowKind::from_columns(9, None, None, None), None);
        assert_eq!(BookRowKind::from_columns(3, None, Some(3), None), None);
    }

    #[test]
    fn states_round_trip() {
        for s in [
            StoredState::Empty,
            StoredState::Ok,
            StoredState::ResyncNeeded(ResyncReason::BestMismatch),
        ] {
            let (a, b) = s.columns();
            assert_eq!(StoredState::from_columns(a, b), Some(s));
            assert_eq!(StoredState::from_book(s.to_book()), s);
        }
        for c in 0..=255u8 {
            if let Some(r) = reason_from_code(c) {
                assert_eq!(reason_code(r), c);
            }
        }
    }
}
