//! Market-channel vocabulary: event types as the venue names them, and why an event is refused.
//!
//! Wire shapes (all numbers are JSON strings):
//! - `book`: `asset_id, market, bids[{price,size}], asks[..], timestamp, hash[, tick_size,
//!   last_trade_price]`, best price LAST in each array;
//! - `price_change`, current: `market, timestamp, price_changes[{asset_id, price, size, side,
//!   hash, best_bid, best_ask}]`; legacy: `asset_id, changes[{price, side, size}]`; legacy flat:
//!   `asset_id, price, side, size`; `size` is the new absolute level size, `"0"` removes it;
//! - `tick_size_change`: `asset_id, old_tick_size, new_tick_size`;
//! - `last_trade_price`, `best_bid_ask`, `new_market`, `market_resolved`: no book effect.

use thiserror::Error;

/// The `event_type` of a market-channel event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    Book,
    PriceChange,
    TickSizeChange,
    LastTradePrice,
    BestBidAsk,
    NewMarket,
    MarketResolved,
    /// A type this build does not know: ignored and counted, never an error.
    Unknown,
}

impl EventType {
    pub fn from_wire(s: &str) -> Self {
        match s {
            "book" => Self::Book,
            "price_change" => Self::PriceChange,
            "tick_size_change" => Self::TickSizeChange,
            "last_trade_price" => Self::LastTradePrice,
            "best_bid_ask" => Self::BestBidAsk,
            "new_market" => Self::NewMarket,
            "market_resolved" => Self::MarketResolved,
            _ => Self::Unknown,
        }
    }
}

/// Why one event (or a whole frame) was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum EventError {
    #[error("frame is not valid JSON")]
    NotJson,
    #[error("frame buffer lacks the parser's padding")]
    Unpadded,
    #[error("array element is not an object")]
    NotAnObject,
    #[error("missing field `{0}`")]
    Missing(&'static str),
    #[error("field `{0}` has the wrong JSON type")]
    Type(&'static str),
    #[error("field `{0}` is not an exact decimal")]
    Decimal(&'static str),
    #[error("level price not strictly between 0 and 1")]
    PriceOutOfRange,
    #[error("side is neither BUY nor SELL")]
    BadSide,
    #[error("asset_id is not a uint256 decimal")]
    BadAssetId,
}
