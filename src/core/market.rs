//! Market-data messages that cross the hot path: small `Copy` structs of integers.
//!
//! The parser turns one venue event into a short run of these; the book stage applies them. A
//! `book` snapshot becomes `SnapshotStart` + one `SnapshotLevel` per level; a `price_change`
//! becomes `LevelChange`s; every asset an event touched gets one `AssetEventEnd` carrying the
//! venue's claimed top of book, so the book can cross-check itself at event granularity (the
//! venue has no sequence numbers: that check is how gaps are found). `FrameStart`/`FrameEnd`
//! bracket a frame and carry its receive time for freshness and end-to-end latency.

use super::decimal::{Price, Size, TickSize};
use super::ids::AssetIndex;

/// Which side of a book a level is on. The venue's `BUY` is the bid side, `SELL` the ask side.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Side {
    Bid = 0,
    Ask = 1,
}

impl Side {
    /// Maps the venue's order side string.
    #[inline]
    pub fn from_venue(s: &[u8]) -> Option<Self> {
        match s {
            b"BUY" => Some(Self::Bid),
            b"SELL" => Some(Self::Ask),
            _ => None,
        }
    }

    pub const fn venue_str(self) -> &'static str {
        match self {
            Self::Bid => "BUY",
            Self::Ask => "SELL",
        }
    }

    pub const fn opposite(self) -> Self {
        match self {
            Self::Bid => Self::Ask,
            Self::Ask => Self::Bid,
        }
    }
}

/// Why a book cannot be trusted until its next snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ResyncReason {
    /// The venue's `best_bid`/`best_ask` after an event differ from ours: we missed something.
    BestMismatch,
    /// Best bid at or above best ask.
    Crossed,
    /// The tick size changed; the venue re-snapshots the book.
    TickSizeChange,
    /// The connection carrying the asset dropped.
    Reconnect,
    /// A message for the asset could not be delivered through a full ring.
    RingFull,
    /// No event for too long while its connection is alive (quarantine).
    Stale,
}

impl ResyncReason {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::BestMismatch => "best_mismatch",
            Self::Crossed => "crossed",
            Self::TickSizeChange => "tick_size_change",
            Self::Reconnect => "reconnect",
            Self::RingFull => "ring_full",
            Self::Stale => "stale",
        }
    }
}

/// The top of book the venue says holds after an event (from `best_bid`/`best_ask`).
/// A zero price means that side is empty; `None` means the venue did not say.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClaimedTop {
    pub bid: Option<Price>,
    pub ask: Option<Price>,
}

impl ClaimedTop {
    pub const UNKNOWN: Self = Self {
        bid: None,
        ask: None,
    };
}

/// One message from the parse stage to the book stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MarketMsg {
    /// A full snapshot of `asset` begins: its book is cleared and becomes healthy.
    SnapshotStart {
        asset: AssetIndex,
        tick: Option<TickSize>,
        /// The venue's timestamp of the snapshot (ms; 0 when unknown).
        venue_ts_ms: u64,
    },
    /// One level of the snapshot in progress (size is never zero; zero levels are dropped).
    SnapshotLevel {
        asset: AssetIndex,
        side: Side,
        price: Price,
        size: Size,
    },
    /// An absolute level size from a `price_change` (zero removes the level).
    LevelChange {
        asset: AssetIndex,
        side: Side,
        price: Price,
        size: Size,
    },
    /// The venue changed the asset's tick size: the book needs a fresh snapshot.
    TickSizeChange { asset: AssetIndex, tick: TickSize },
    /// A trade printed on the asset (`last_trade_price`); changes no book.
    Trade {
        asset: AssetIndex,
        side: Side,
        price: Price,
        size: Size,
    },
    /// The end of one venue event for one asset it touched: run the consistency checks.
    AssetEventEnd {
        asset: AssetIndex,
        claimed: ClaimedTop,
        /// The event's venue timestamp (ms; 0 when unknown).
        venue_ts_ms: u64,
    },
    /// Something outside the venue's data says this asset's book can no longer be trusted
    /// (a dropped connection, an undeliverable message, silence).
    Invalidate {
        asset: AssetIndex,
        reason: ResyncReason,
    },
    /// A frame begins; its bytes were read from the socket at `recv_ns` (monotonic clock) and
    /// its messages handed on at `sent_ns` (for per-stage queue-wait timing).
    FrameStart { recv_ns: u64, sent_ns: u64 },
    /// The frame that began with the matching `FrameStart` is complete.
    FrameEnd { recv_ns: u64 },
}

impl MarketMsg {
    /// The asset a message is about, if any.
    #[inline]
    pub fn asset(&self) -> Option<AssetIndex> {
        match *self {
            Self::SnapshotStart { asset, .. }
            | Self::SnapshotLevel { asset, .. }
            | Self::LevelChange { asset, .. }
            | Self::TickSizeChange { asset, .. }
            | Self::Trade { asset, .. }
            | Self::AssetEventEnd { asset, .. }
            | Self::Invalidate { asset, .. } => Some(asset),
            Self::FrameStart { .. } | Self::FrameEnd { .. } => None,
        }
    }
}

// Hot-path messages must stay small enough that a ring slot is a fraction of a cache line.
const _: () = assert!(std::mem::size_of::<MarketMsg>() <= 32);

/// Ask levels the book stage hands the strategy with each top: the most a strategy can size
/// through (`[strategy] depth_levels` reads the first of them).
pub const MAX_DEPTH: usize = 16;

/// The first ask levels of a book, best (lowest) first, in fixed arrays so that a top stays a
/// `Copy` ring slot without a pointer to the book (no lock, no allocation on the way).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AskDepth {
    /// Levels filled, at most [`MAX_DEPTH`].
    pub len: u8,
    pub prices: [Price; MAX_DEPTH],
    pub sizes: [Size; MAX_DEPTH],
}

impl AskDepth {
    /// Levels from `(price, size)` pairs, best first (the first [`MAX_DEPTH`] are kept).
    pub fn from_levels(levels: impl IntoIterator<Item = (Price, Size)>) -> Self {
        let mut d = Self::default();
        for (p, s) in levels.into_iter().take(MAX_DEPTH) {
            d.prices[d.len as usize] = p;
            d.sizes[d.len as usize] = s;
            d.len += 1;
        }
        d
    }

    #[inline]
    pub fn prices(&self) -> &[Price] {
        &self.prices[..self.len as usize]
    }

    #[inline]
    pub fn sizes(&self) -> &[Size] {
        &self.sizes[..self.len as usize]
    }
}

/// The book stage's summary of one asset after a change: what strategies read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TopOfBook {
    pub asset: AssetIndex,
    /// Best bid and its size (zero price = no bid).
    pub bid: Price,
    pub bid_size: Size,
    /// Best ask and its size (zero price = no ask).
    pub ask: Price,
    pub ask_size: Size,
    /// Only an `ok` book may be traded on.
    pub tradeable: bool,
    /// The first ask levels (`asks.prices[0]` is `ask` when there is one).
    pub asks: AskDepth,
    /// Receive time of the frame that produced this top (for end-to-end latency).
    pub recv_ns: u64,
    /// When the book stage handed it on (for queue-wait timing).
    pub sent_ns: u64,
}

// A ring slot of the book → strategy ring: the top plus its ask ladder, four cache lines.
const _: () = assert!(std::mem::size_of::<TopOfBook>() <= 256);
