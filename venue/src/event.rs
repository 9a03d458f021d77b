//! What a venue source produces: market-channel events as data, before serialization.
//!
//! A source (the synthetic model, or a recording) applies each event to the venue's books and
//! appends it here; the wire layer renders it in the real shapes right after, before the source
//! takes another step, so a `Book` event always shows the book as of its own step.

use polyarb::core::{Price, Side, Size, TickSize};

/// One level change inside a `price_change`, with the top of book after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LevelDelta {
    pub asset: u32,
    pub side: Side,
    pub price: Price,
    /// New absolute size at the price; zero removes the level.
    pub size: Size,
    /// The asset's best bid/ask right after this change (`None` = that side is empty).
    pub best_bid: Option<Price>,
    pub best_ask: Option<Price>,
    /// Opaque change token rendered as the entry's 40-hex `hash`.
    pub hash: u64,
}

/// One market-channel event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VenueEvent {
    /// A `price_change` for one market; its entries are `deltas[start..end]` of the buffer.
    PriceChange { market: u32, start: u32, end: u32 },
    /// A full `book` snapshot of an asset as it stands after the step.
    Book { asset: u32 },
    TickSizeChange {
        asset: u32,
        old: TickSize,
        new: TickSize,
    },
    /// A trade print; `side` is the taker's side (`BUY` lifted an ask).
    LastTrade {
        asset: u32,
        side: Side,
        price: Price,
        size: Size,
        tx: u64,
    },
}

/// Events of one or more steps, with their level changes stored flat to avoid allocation.
#[derive(Clone, Debug, Default)]
pub struct EventBuf {
    pub events: Vec<VenueEvent>,
    pub deltas: Vec<LevelDelta>,
    /// Timestamp (ms since the epoch) stamped on every event of the buffer.
    pub ts_ms: u64,
}

impl EventBuf {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn clear(&mut self) {
        self.events.clear();
        self.deltas.clear();
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    pub fn deltas_of(&self, start: u32, end: u32) -> &[LevelDelta] {
        &self.deltas[start as usize..end as usize]
    }

    /// Level changes carried by the buffer (what load rates are measured in).
    pub fn change_count(&self) -> usize {
        self.deltas.len()
    }

    /// Starts a `price_change` for `market`; deltas pushed until `end_price_change` belong to it.
    pub fn begin_price_change(&mut self) -> u32 {
        self.deltas.len() as u32
    }

    /// Closes a `price_change` begun at `start`; an empty one is dropped.
    pub fn end_price_change(&mut self, market: u32, start: u32) {
        let end = self.deltas.len() as u32;
        if end > start {
            self.events
                .push(VenueEvent::PriceChange { market, start, end });
        }
    }
}
