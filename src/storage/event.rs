//! What producers send to the storage writer: `StorageEvent`, owned and small.
//!
//! Market data arrives as `BookEvent`s that mirror the hot path's `MarketMsg`s one for one (plus
//! the venue timestamp and the wall-clock receive time), so the book stage can forward what it
//! applies without allocating: `StorageEvent::from_market_msg`. Assets are referred to by the
//! process's dense `AssetIndex`; each asset is registered once (`RegisterAsset`, cold path) with
//! its token id and market before its first event. Trading rows (orders, fills, journal,
//! positions) and catalog rows are boxed: they are rare, and a large variant would make every
//! market-data event as big as the largest one.

use crossbeam::channel::Sender;

use crate::book::ResyncReason;
use crate::core::{
    Amount, AssetIndex, ClaimedTop, MarketMsg, Price, Side, Size, TickSize, TokenId,
};

use super::metrics::CommitNotice;

/// One change to one asset's book, as the book stage applied it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BookEvent {
    pub asset: AssetIndex,
    /// The venue's `timestamp` of the event (UNIX ms; 0 when the venue sent none).
    pub venue_ts_ms: u64,
    /// Local receive time of the frame (UNIX ns; see `time::WallClock`).
    pub recv_ns: u64,
    pub change: BookChange,
}

/// The book-changing part of a `MarketMsg`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BookChange {
    /// A venue `book` snapshot begins: the book is cleared.
    SnapshotStart { tick: Option<TickSize> },
    /// One level of the snapshot in progress.
    SnapshotLevel {
        side: Side,
        price: Price,
        size: Size,
    },
    /// A `price_change` entry: the new absolute size at a price (zero removes the level).
    Level {
        side: Side,
        price: Price,
        size: Size,
    },
    /// The venue changed the tick size.
    TickSize { tick: TickSize },
    /// The venue event that touched the asset is complete; `claimed` is the top of book the
    /// venue says holds after it.
    EventEnd { claimed: ClaimedTop },
}

/// A `last_trade_price` print.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TradeEvent {
    pub asset: AssetIndex,
    pub side: Side,
    pub price: Price,
    pub size: Size,
    pub fee_rate_bps: Option<u32>,
    pub venue_ts_ms: u64,
    pub recv_ns: u64,
}

/// The book of an asset was marked untrustworthy outside the venue's stream (reconnect, ring
/// full, staleness). Stored in the event stream (so rebuilt books carry the same state) and in
/// the `resyncs` log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResyncEvent {
    pub asset: AssetIndex,
    pub reason: ResyncReason,
    pub recv_ns: u64,
}

/// Maps a process-local asset index to what it is on the venue. Sent once per asset, before
/// its first event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssetRegistration {
    pub asset: AssetIndex,
    pub token: TokenId,
    /// The market's condition id as the venue spells it (`0x` + 64 hex).
    pub condition_id: String,
    /// The outcome's name (`Yes`, `No`, a candidate…) when the catalog knows it.
    pub outcome: Option<String>,
    pub outcome_index: Option<u32>,
}

/// A market as the catalog sees it (upserted by condition id).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MarketRecord {
    pub condition_id: String,
    pub question: Option<String>,
    pub slug: Option<String>,
    pub neg_risk: bool,
    pub neg_risk_market_id: Option<String>,
    pub tick_size: Option<TickSize>,
    pub min_order_size: Option<Size>,
    pub active: Option<bool>,
    pub closed: Option<bool>,
    pub accepting_orders: Option<bool>,
    pub end_date_ms: Option<u64>,
    pub rule_hash: Option<String>,
    /// Outcome tokens in the market's outcome order.
    pub outcomes: Vec<OutcomeRecord>,
    pub updated_ns: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutcomeRecord {
    pub token: TokenId,
    pub outcome: Option<String>,
}

/// A new order of ours (inserted once; a second insert with the same hash or the same
/// `plan_id` + `client_oid` is refused as a duplicate).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderRecord {
    /// The EIP-712 order digest (`0x` + 64 hex): the venue's order id.
    pub order_hash: String,
    pub plan_id: String,
    pub client_oid: String,
    pub token: TokenId,
    pub side: Side,
    pub price: Price,
    pub size: Size,
    /// `GTC`, `GTD`, `FOK`, `FAK`.
    pub order_type: String,
    pub status: String,
    pub created_ns: u64,
}

/// A state change of an order we stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderUpdate {
    pub order_hash: String,
    pub status: String,
    pub size_matched: Size,
    pub updated_ns: u64,
}

/// An entry of the order journal: what we are about to do or just did with an order. The
/// order manager journals the hash before sending and flushes (`StorageSender::flush`; see
/// `exec::journal_db`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JournalEntry {
    pub order_hash: String,
    pub plan_id: String,
    pub client_oid: String,
    /// `send`, `sent`, `timeout`, `lookup`, `cancel`…
    pub action: String,
    pub detail: Option<String>,
    pub recv_ns: u64,
}

/// One fill of one of our orders (a venue trade seen from the order's side). The same fill
/// again with a new status (MATCHED → MINED → CONFIRMED) updates it; the same status again is
/// refused as a duplicate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FillRecord {
    pub trade_id: String,
    pub order_hash: String,
    pub token: TokenId,
    pub side: Side,
    pub price: Price,
    pub size: Size,
    pub fee: Amount,
    /// `TAKER` or `MAKER`.
    pub trader_side: Option<String>,
    pub status: String,
    pub match_time_ms: Option<u64>,
    pub recv_ns: u64,
}

/// Our inventory in one outcome token (upserted).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PositionRecord {
    pub token: TokenId,
    pub size: Size,
    /// Collateral paid for the current size (micro-pUSD).
    pub cost: Amount,
    /// Realised profit and loss so far (micro-pUSD, signed).
    pub realized_pnl: i64,
    pub updated_ns: u64,
}

/// A market's resolution rules changed (detected by the catalog's rule hash).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleChangeRecord {
    pub condition_id: String,
    pub old_hash: Option<String>,
    pub new_hash: String,
    pub detected_ns: u64,
    pub detail: Option<String>,
}

/// An operator acknowledged every pending rule change of a market.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleAck {
    pub condition_id: String,
    pub acked_ns: u64,
}

/// Everything the storage writer accepts.
#[derive(Debug)]
pub enum StorageEvent {
    RegisterAsset(Box<AssetRegistration>),
    Book(BookEvent),
    Trade(TradeEvent),
    Resync(ResyncEvent),
    Market(Box<MarketRecord>),
    Order(Box<OrderRecord>),
    OrderUpdate(Box<OrderUpdate>),
    Journal(Box<JournalEntry>),
    Fill(Box<FillRecord>),
    Position(Box<PositionRecord>),
    RuleChange(Box<RuleChangeRecord>),
    RuleAck(Box<RuleAck>),
    /// Commit what is pending now and report the committed batch on `ack` (a durability barrier:
    /// every event sent before it is stored when the notice arrives).
    Flush(Sender<CommitNotice>),
}

// Market-data events cross the channel at hundreds of thousands per second: one cache line.
const _: () = assert!(std::mem::size_of::<StorageEvent>() <= 64);

impl StorageEvent {
    /// The storage event for one hot-path message, received at `recv_ns` (UNIX ns). `None` for
    /// frame brackets, which carry no data of their own. The venue timestamp comes from the
    /// message where it has one (snapshot start, event end); level changes leave it 0 and the
    /// writer fills in their event's timestamp when the event ends.
    #[inline]
    pub fn from_market_msg(msg: &MarketMsg, recv_ns: u64) -> Option<Self> {
        let book = |asset, venue_ts_ms, change| {
            Some(Self::Book(BookEvent {
                asset,
                venue_ts_ms,
                recv_ns,
                change,
            }))
        };
        match *msg {
            MarketMsg::SnapshotStart {
                asset,
                tick,
                venue_ts_ms,
            } => book(asset, venue_ts_ms, BookChange::SnapshotStart { tick }),
            MarketMsg::SnapshotLevel {
                asset,
                side,
                price,
                size,
            } => book(asset, 0, BookChange::SnapshotLevel { side, price, size }),
            MarketMsg::LevelChange {
                asset,
                side,
                price,
                size,
            } => book(asset, 0, BookChange::Level { side, price, size }),
            MarketMsg::TickSizeChange { asset, tick } => {
                book(asset, 0, BookChange::TickSize { tick })
            }
            MarketMsg::AssetEventEnd {
                asset,
                claimed,
                venue_ts_ms,
            } => book(asset, venue_ts_ms, BookChange::EventEnd { claimed }),
            MarketMsg::Trade {
                asset,
                side,
                price,
                size,
            } => Some(Self::Trade(TradeEvent {
                asset,
                side,
                price,
                size,
                fee_rate_bps: None,
                venue_ts_ms: 0,
                recv_ns,
            })),
            MarketMsg::Invalidate { asset, reason } => Some(Self::Resync(ResyncEvent {
                asset,
                reason,
                recv_ns,
            })),
            MarketMsg::FrameStart { .. } | MarketMsg::FrameEnd { .. } => None,
        }
    }

    /// Sets the venue timestamp of a market-data event that has none yet.
    pub fn or_venue_ts(mut self, venue_ts_ms: u64) -> Self {
        match &mut self {
            Self::Book(e) if e.venue_ts_ms == 0 => e.venue_ts_ms = venue_ts_ms,
            Self::Trade(t) if t.venue_ts_ms == 0 => t.venue_ts_ms = venue_ts_ms,
            _ => {}
        }
        self
    }

    /// Whether losing this event would lose trading state (orders, fills, positions, journal,
    /// rule changes): such events are never dropped by the writer, and a producer that cannot
    /// enqueue one must halt trading.
    pub fn is_critical(&self) -> bool {
        matches!(
            self,
            Self::Order(_)
                | Self::OrderUpdate(_)
                | Self::Journal(_)
                | Self::Fill(_)
                | Self::Position(_)
                | Self::RuleChange(_)
                | Self::RuleAck(_)
        )
    }
}

impl BookChange {
    /// The hot-path message this change replays as.
    #[inline]
    pub fn to_market_msg(self, asset: AssetIndex, venue_ts_ms: u64) -> MarketMsg {
        match self {
            Self::SnapshotStart { tick } => MarketMsg::SnapshotStart {
                asset,
                tick,
                venue_ts_ms,
            },
            Self::SnapshotLevel { side, price, size } => MarketMsg::SnapshotLevel {
                asset,
                side,
                price,
                size,
            },
            Self::Level { side, price, size } => MarketMsg::LevelChange {
                asset,
                side,
                price,
                size,
            },
            Self::TickSize { tick } => MarketMsg::TickSizeChange { asset, tick },
            Self::EventEnd { claimed } => MarketMsg::AssetEventEnd {
                asset,
                claimed,
                venue_ts_ms,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn market_msgs_round_trip_through_book_events() {
        let a = AssetIndex(3);
        let msgs = [
            MarketMsg::SnapshotStart {
                asset: a,
                tick: Some(TickSize::CENT),
                venue_ts_ms: 5,
            },
            MarketMsg::SnapshotLevel {
                asset: a,
                side: Side::Bid,
                price: Price(500_000),
                size: Size(7),
            },
            MarketMsg::LevelChange {
                asset: a,
                side: Side::Ask,
                price: Price(510_000),
                size: Size(0),
            },
            MarketMsg::TickSizeChange {
                asset: a,
                tick: TickSize::MILLI,
            },
            MarketMsg::AssetEventEnd {
                asset: a,
                claimed: ClaimedTop {
                    bid: Some(Price(500_000)),
                    ask: None,
                },
                venue_ts_ms: 5,
            },
        ];
        for m in msgs {
            match StorageEvent::from_market_msg(&m, 6).map(|e| e.or_venue_ts(5)) {
                Some(StorageEvent::Book(e)) => {
                    assert_eq!((e.asset, e.venue_ts_ms, e.recv_ns), (a, 5, 6));
                    assert_eq!(e.change.to_market_msg(a, 5), m);
                }
                other => panic!("{other:?}"),
            }
        }
        let start = MarketMsg::FrameStart {
            recv_ns: 1,
            sent_ns: 1,
        };
        assert!(StorageEvent::from_market_msg(&start, 0).is_none());
        let t = MarketMsg::Trade {
            asset: a,
            side: Side::Bid,
            price: Price(1),
            size: Size(2),
        };
        assert!(matches!(
            StorageEvent::from_market_msg(&t, 0),
            Some(StorageEvent::Trade(_))
        ));
        let inv = MarketMsg::Invalidate {
            asset: a,
            reason: crate::book::ResyncReason::Stale,
        };
        assert!(matches!(
            StorageEvent::from_market_msg(&inv, 9),
            Some(StorageEvent::Resync(ResyncEvent { recv_ns: 9, .. }))
        ));
    }
}
