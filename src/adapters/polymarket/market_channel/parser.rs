//! The market-channel parser: one raw WebSocket text frame in, `MarketMsg`s out.
//!
//! Built on simd-json's tape with buffers reused across frames, so after warm-up a frame is
//! parsed without allocating. Validation is per event and atomic: every field of an event is
//! checked before any of its messages is kept, so a bad event changes nothing and is counted.

use simd_json::prelude::*;
use simd_json::{Buffers, INPUT_PADDING, Tape};

use crate::core::{AssetIndex, AssetRegistry, ClaimedTop, MarketMsg, Price, Side, Size, TickSize};

use super::wire::{EventError, EventType};

/// Padding a caller must leave after a frame passed to [`MarketParser::parse_padded`].
pub const FRAME_PADDING: usize = INPUT_PADDING;

/// Nesting depth beyond which a frame is refused as invalid JSON.
const MAX_DEPTH: usize = 32;

/// What the parser has seen (book-side outcomes are counted by the book).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ParseCounters {
    /// Frames handed to the parser.
    pub frames: u64,
    /// JSON objects seen (array elements one by one).
    pub events: u64,
    /// Frames that were not valid JSON, and events with any bad part.
    pub invalid: u64,
    /// Non-JSON frames (`PONG`, `NO NEW ASSETS`) and events of an unknown type.
    pub ignored: u64,
    /// `last_trade_price`, `best_bid_ask`, `new_market`, `market_resolved`.
    pub other: u64,
    /// Book changes for a token id this process has no index for.
    pub orphan: u64,
}

/// Parses market-channel frames into hot-path messages.
pub struct MarketParser {
    buffers: Buffers,
    /// Kept empty between frames; re-lifetimed onto each frame's bytes while parsing it.
    tape: Tape<'static>,
    /// Copy of a frame with simd-json's padding, for callers that hold an unpadded frame.
    padded: Vec<u8>,
    /// Assets touched by the event being parsed, with the top of book the venue claims.
    touched: Vec<(AssetIndex, ClaimedTop)>,
    /// Assign an index to an unknown token when its `book` arrives (replay); live feeds
    /// pre-register their subscriptions instead and treat unknown tokens as orphans.
    register_on_book: bool,
    pub counters: ParseCounters,
    /// Why the most recent invalid event was refused (for diagnostics, never on the hot path).
    pub last_error: Option<EventError>,
}

impl MarketParser {
    pub fn new(register_on_book: bool) -> Self {
        Self {
            // Real events nest four deep; anything past this is hostile and refused early.
            buffers: Buffers::with_max_depth(4096, MAX_DEPTH),
            tape: Tape(Vec::with_capacity(1024)),
            padded: Vec::with_capacity(4096 + FRAME_PADDING),
            touched: Vec::with_capacity(16),
            register_on_book,
            counters: ParseCounters::default(),
            last_error: None,
        }
    }

    /// Parses an unpadded frame (copies it into an internal padded buffer first).
    pub fn parse(
        &mut self,
        frame: &[u8],
        recv_ns: u64,
        registry: &mut AssetRegistry,
        out: &mut Vec<MarketMsg>,
    ) {
        let mut padded = std::mem::take(&mut self.padded);
        padded.clear();
        padded.extend_from_slice(frame);
        padded.resize(frame.len() + FRAME_PADDING, 0);
        self.parse_padded(&mut padded, frame.len(), recv_ns, registry, out);
        self.padded = padded;
    }

    /// Parses `buf[..len]`; `buf` must extend at least [`FRAME_PADDING`] bytes past `len`.
    /// Messages are appended to `out`, closed by `FrameEnd`; the frame's bytes are clobbered
    /// (simd-json unescapes in place).
    pub fn parse_padded(
        &mut self,
        buf: &mut [u8],
        len: usize,
        recv_ns: u64,
        registry: &mut AssetRegistry,
        out: &mut Vec<MarketMsg>,
    ) {
        self.counters.frames += 1;
        let first = buf[..len].iter().find(|b| !b.is_ascii_whitespace());
        if !matches!(first, Some(b'{') | Some(b'[')) {
            self.counters.ignored += 1;
            return;
        }
        if buf.len() < len + FRAME_PADDING {
            self.counters.invalid += 1;
            self.last_error = Some(EventError::Unpadded);
            return;
        }
        let mut tape: Tape<'_> = std::mem::replace(&mut self.tape, Tape(Vec::new())).reset();
        if simd_json::fill_tape_padded(buf, len, &mut self.buffers, &mut tape).is_err() {
            self.counters.invalid += 1;
            self.last_error = Some(EventError::NotJson);
            self.tape = tape.reset();
            return;
        }
        out.push(MarketMsg::FrameStart {
            recv_ns,
            sent_ns: 0,
        });
        let root = tape.as_value();
        if let Some(arr) = root.as_array() {
            for v in arr.iter() {
                self.event(v, registry, out);
            }
        } else {
            self.event(root, registry, out);
        }
        out.push(MarketMsg::FrameEnd { recv_ns });
        self.tape = tape.reset();
    }

    fn event(
        &mut self,
        v: simd_json::tape::Value<'_, '_>,
        registry: &mut AssetRegistry,
        out: &mut Vec<MarketMsg>,
    ) {
        let Some(obj) = v.as_object() else {
            self.counters.invalid += 1;
            self.last_error = Some(EventError::NotAnObject);
            return;
        };
        self.counters.events += 1;
        let fields = Fields::collect(obj);
        let mark = out.len();
        self.touched.clear();
        let result = match fields.event_type() {
            Ok(EventType::Book) => self.book(&fields, registry, out),
            Ok(EventType::PriceChange) => self.price_change(&fields, registry, out),
            Ok(EventType::TickSizeChange) => self.tick_size_change(&fields, registry, out),
            Ok(EventType::LastTradePrice) => {
                self.counters.other += 1;
                self.trade(&fields, registry, out);
                return;
            }
            Ok(EventType::BestBidAsk | EventType::NewMarket | EventType::MarketResolved) => {
                self.counters.other += 1;
                return;
            }
            Ok(EventType::Unknown) => {
                self.counters.ignored += 1;
                return;
            }
            Err(e) => Err(e),
        };
        match result {
            Ok(orphans) => {
                self.counters.orphan += orphans;
                let venue_ts_ms = fields.timestamp_ms();
                for &(asset, claimed) in &self.touched {
                    out.push(MarketMsg::AssetEventEnd {
                        asset,
                        claimed,
                        venue_ts_ms,
                    });
                }
            }
            Err(e) => {
                out.truncate(mark);
                self.counters.invalid += 1;
                self.last_error = Some(e);
            }
        }
    }

    fn book(
        &mut self,
        f: &Fields<'_, '_>,
        registry: &mut AssetRegistry,
        out: &mut Vec<MarketMsg>,
    ) -> Result<u64, EventError> {
        let token = f.str_field(f.asset_id, "asset_id")?;
        let market = f.str_field(f.market, "market")?;
        let tick = match f.tick_size {
            None => None,
            Some(v) => {
                let s = v.into_string().ok_or(EventError::Type("tick_size"))?;
                Some(TickSize::parse(s).map_err(|_| EventError::Decimal("tick_size"))?)
            }
        };
        let bids = f.array_field(f.bids, "bids")?;
        let asks = f.array_field(f.asks, "asks")?;
        // Validate every level before the asset is looked up or registered.
        let placeholder = AssetIndex(u32::MAX);
        let start = out.len();
        out.push(MarketMsg::SnapshotStart {
            asset: placeholder,
            tick,
            venue_ts_ms: f.timestamp_ms(),
        });
        for (side, levels) in [(Side::Bid, bids), (Side::Ask, asks)] {
            for lv in levels.iter() {
                let o = lv.as_object().ok_or(EventError::Type("level"))?;
                let (mut price, mut size) = (None, None);
                for (k, v) in o.iter() {
                    match k {
                        "price" => price = Some(v),
                        "size" => size = Some(v),
                        _ => {}
                    }
                }
                let price = level_price(price)?;
                let size = level_size(size)?;
                if !size.is_zero() {
                    out.push(MarketMsg::SnapshotLevel {
                        asset: placeholder,
                        side,
                        price,
                        size,
                    });
                }
            }
        }
        let asset = match registry.lookup(token.as_bytes()) {
            Some(a) => a,
            None if self.register_on_book => registry
                .register(token.as_bytes())
                .map_err(|_| EventError::BadAssetId)?,
            None => {
                validate_token(token)?;
                out.truncate(start);
                return Ok(1);
            }
        };
        registry.set_market(asset, market);
        for m in &mut out[start..] {
            match m {
                MarketMsg::SnapshotStart { asset: a, .. }
                | MarketMsg::SnapshotLevel { asset: a, .. } => *a = asset,
                _ => {}
            }
        }
        self.touched.push((asset, ClaimedTop::UNKNOWN));
        Ok(0)
    }

    fn price_change(
        &mut self,
        f: &Fields<'_, '_>,
        registry: &AssetRegistry,
        out: &mut Vec<MarketMsg>,
    ) -> Result<u64, EventError> {
        let mut orphans = 0;
        if let Some(changes) = f.price_changes {
            // Current format: one entry per level, each naming its asset and the new top.
            let changes = changes
                .as_array()
                .ok_or(EventError::Type("price_changes"))?;
            for entry in changes.iter() {
                let o = entry
                    .as_object()
                    .ok_or(EventError::Type("price_changes[]"))?;
                let e = EntryFields::collect(o);
                let token = string_bytes(e.asset_id, "asset_id")?;
                let change = LevelFields {
                    price: e.price,
                    side: e.side,
                    size: e.size,
                }
                .parse()?;
                let claimed = ClaimedTop {
                    bid: claimed_price(e.best_bid, "best_bid")?,
                    ask: claimed_price(e.best_ask, "best_ask")?,
                };
                match registry.lookup(token) {
                    Some(asset) => {
                        out.push(change.into_msg(asset));
                        self.touch(asset, claimed);
                    }
                    None => {
                        validate_token_bytes(token)?;
                        orphans += 1;
                    }
                }
            }
            return Ok(orphans);
        }
        let token = f.str_field(f.asset_id, "asset_id")?;
        let asset = registry.lookup(token.as_bytes());
        if asset.is_none() {
            validate_token(token)?;
        }
        if let Some(changes) = f.changes {
            // Legacy (before 2025-09-15): one asset, a `changes` array, no claimed top.
            let changes = changes.as_array().ok_or(EventError::Type("changes"))?;
            for entry in changes.iter() {
                let o = entry.as_object().ok_or(EventError::Type("changes[]"))?;
                let change = LevelFields::from(&Fields::collect(o)).parse()?;
                match asset {
                    Some(asset) => out.push(change.into_msg(asset)),
                    None => orphans += 1,
                }
            }
        } else {
            // Legacy flat (2024): the single level at the top level of the event.
            let change = LevelFields::from(f).parse()?;
            match asset {
                Some(asset) => out.push(change.into_msg(asset)),
                None => orphans += 1,
            }
        }
        if let Some(asset) = asset {
            self.touch(asset, ClaimedTop::UNKNOWN);
        }
        Ok(orphans)
    }

    fn tick_size_change(
        &mut self,
        f: &Fields<'_, '_>,
        registry: &AssetRegistry,
        out: &mut Vec<MarketMsg>,
    ) -> Result<u64, EventError> {
        let token = f.str_field(f.asset_id, "asset_id")?;
        let tick = f.str_field(f.new_tick_size, "new_tick_size")?;
        let tick = TickSize::parse(tick).map_err(|_| EventError::Decimal("new_tick_size"))?;
        match registry.lookup(token.as_bytes()) {
            Some(asset) => {
                out.push(MarketMsg::TickSizeChange { asset, tick });
                self.touch(asset, ClaimedTop::UNKNOWN);
                Ok(0)
            }
            None => {
                validate_token(token)?;
                Ok(1)
            }
        }
    }

    /// `last_trade_price` never touches a book; a well-formed one for a known asset is passed
    /// on for strategies and storage, anything else is only counted as `other`.
    fn trade(&mut self, f: &Fields<'_, '_>, registry: &AssetRegistry, out: &mut Vec<MarketMsg>) {
        let Ok(token) = f.str_field(f.asset_id, "asset_id") else {
            return;
        };
        let Some(asset) = registry.lookup(token.as_bytes()) else {
            return;
        };
        if let Ok(l) = LevelFields::from(f).parse() {
            out.push(MarketMsg::Trade {
                asset,
                side: l.side,
                price: l.price,
                size: l.size,
            });
        }
    }

    /// Records that the current event touched `asset`; the last entry's claim wins.
    fn touch(&mut self, asset: AssetIndex, claimed: ClaimedTop) {
        match self.touched.iter_mut().find(|(a, _)| *a == asset) {
            Some(t) => t.1 = claimed,
            None => self.touched.push((asset, claimed)),
        }
    }
}

impl Default for MarketParser {
    fn default() -> Self {
        Self::new(false)
    }
}

type Val<'t, 'i> = simd_json::tape::Value<'t, 'i>;

/// The fields of one event object, gathered in a single pass over its keys.
#[derive(Default)]
struct Fields<'t, 'i> {
    event_type: Option<Val<'t, 'i>>,
    asset_id: Option<Val<'t, 'i>>,
    market: Option<Val<'t, 'i>>,
    bids: Option<Val<'t, 'i>>,
    asks: Option<Val<'t, 'i>>,
    tick_size: Option<Val<'t, 'i>>,
    new_tick_size: Option<Val<'t, 'i>>,
    price_changes: Option<Val<'t, 'i>>,
    changes: Option<Val<'t, 'i>>,
    price: Option<Val<'t, 'i>>,
    side: Option<Val<'t, 'i>>,
    size: Option<Val<'t, 'i>>,
    best_bid: Option<Val<'t, 'i>>,
    best_ask: Option<Val<'t, 'i>>,
    timestamp: Option<Val<'t, 'i>>,
}

impl<'t, 'i> Fields<'t, 'i> {
    #[inline]
    fn collect(obj: simd_json::tape::Object<'t, 'i>) -> Self {
        let mut f = Self::default();
        for (k, v) in obj.iter() {
            // Dispatch on the key's length first: most keys are then told apart by one
            // fixed-size comparison, and unknown keys (`hash`, `fee_rate_bps`…) rarely reach one.
            let slot = match (k.len(), k.as_bytes()) {
                (4, b"side") => &mut f.side,
                (4, b"size") => &mut f.size,
                (4, b"bids") => &mut f.bids,
                (4, b"asks") => &mut f.asks,
                (5, b"price") => &mut f.price,
                (6, b"market") => &mut f.market,
                (7, b"changes") => &mut f.changes,
                (8, b"asset_id") => &mut f.asset_id,
                (8, b"best_bid") => &mut f.best_bid,
                (8, b"best_ask") => &mut f.best_ask,
                (9, b"timestamp") => &mut f.timestamp,
                (9, b"tick_size") => &mut f.tick_size,
                (10, b"event_type") => &mut f.event_type,
                (13, b"price_changes") => &mut f.price_changes,
                (13, b"new_tick_size") => &mut f.new_tick_size,
                _ => continue,
            };
            *slot = Some(v);
        }
        f
    }

    /// The event's venue timestamp in ms. Informational (ordering and storage), so a missing
    /// or malformed one is 0 rather than a reason to refuse the event.
    fn timestamp_ms(&self) -> u64 {
        let Some(s) = self.timestamp.and_then(|v| v.into_string()) else {
            return 0;
        };
        // At most 19 digits always fit in a u64, so no step needs an overflow check.
        if s.is_empty() || s.len() > 19 {
            return 0;
        }
        let mut ms = 0u64;
        for b in s.bytes() {
            let d = b.wrapping_sub(b'0');
            if d > 9 {
                return 0;
            }
            ms = ms * 10 + u64::from(d);
        }
        ms
    }

    fn event_type(&self) -> Result<EventType, EventError> {
        let v = self.event_type.ok_or(EventError::Missing("event_type"))?;
        let s = v.into_string().ok_or(EventError::Type("event_type"))?;
        Ok(EventType::from_wire(s))
    }

    fn str_field(&self, v: Option<Val<'t, 'i>>, name: &'static str) -> Result<&'i str, EventError> {
        v.ok_or(EventError::Missing(name))?
            .into_string()
            .ok_or(EventError::Type(name))
    }

    fn array_field(
        &self,
        v: Option<Val<'t, 'i>>,
        name: &'static str,
    ) -> Result<simd_json::tape::Array<'t, 'i>, EventError> {
        v.ok_or(EventError::Missing(name))?
            .as_array()
            .ok_or(EventError::Type(name))
    }
}

/// The fields of one current-format `price_changes[]` entry: the hot path's most frequent
/// object, so it gets its own small collector instead of the event-wide [`Fields`].
#[derive(Default)]
struct EntryFields<'t, 'i> {
    asset_id: Option<Val<'t, 'i>>,
    price: Option<Val<'t, 'i>>,
    size: Option<Val<'t, 'i>>,
    side: Option<Val<'t, 'i>>,
    best_bid: Option<Val<'t, 'i>>,
    best_ask: Option<Val<'t, 'i>>,
}

impl<'t, 'i> EntryFields<'t, 'i> {
    #[inline]
    fn collect(obj: simd_json::tape::Object<'t, 'i>) -> Self {
        let mut e = Self::default();
        for (k, v) in obj.iter() {
            let slot = match (k.len(), k.as_bytes()) {
                (4, b"side") => &mut e.side,
                (4, b"size") => &mut e.size,
                (5, b"price") => &mut e.price,
                (8, b"asset_id") => &mut e.asset_id,
                (8, b"best_bid") => &mut e.best_bid,
                (8, b"best_ask") => &mut e.best_ask,
                _ => continue,
            };
            *slot = Some(v);
        }
        e
    }
}

/// The `price`/`side`/`size` triple of one level change, not yet validated.
struct LevelFields<'t, 'i> {
    price: Option<Val<'t, 'i>>,
    side: Option<Val<'t, 'i>>,
    size: Option<Val<'t, 'i>>,
}

impl<'t, 'i> From<&Fields<'t, 'i>> for LevelFields<'t, 'i> {
    fn from(f: &Fields<'t, 'i>) -> Self {
        Self {
            price: f.price,
            side: f.side,
            size: f.size,
        }
    }
}

struct LevelChange {
    side: Side,
    price: Price,
    size: Size,
}

impl LevelFields<'_, '_> {
    fn parse(&self) -> Result<LevelChange, EventError> {
        let price = level_price(self.price)?;
        let size = level_size(self.size)?;
        let side = string_bytes(self.side, "side")?;
        let side = Side::from_venue(side).ok_or(EventError::BadSide)?;
        Ok(LevelChange { side, price, size })
    }
}

impl LevelChange {
    fn into_msg(self, asset: AssetIndex) -> MarketMsg {
        MarketMsg::LevelChange {
            asset,
            side: self.side,
            price: self.price,
            size: self.size,
        }
    }
}

fn string_bytes<'i>(v: Option<Val<'_, 'i>>, name: &'static str) -> Result<&'i [u8], EventError> {
    v.ok_or(EventError::Missing(name))?
        .into_string()
        .map(str::as_bytes)
        .ok_or(EventError::Type(name))
}

/// A level's price: an exact decimal strictly between 0 and 1.
fn level_price(v: Option<Val<'_, '_>>) -> Result<Price, EventError> {
    let p =
        Price::parse_bytes(string_bytes(v, "price")?).map_err(|_| EventError::Decimal("price"))?;
    if p.is_level_price() {
        Ok(p)
    } else {
        Err(EventError::PriceOutOfRange)
    }
}

fn level_size(v: Option<Val<'_, '_>>) -> Result<Size, EventError> {
    Size::parse_bytes(string_bytes(v, "size")?).map_err(|_| EventError::Decimal("size"))
}

/// A claimed best price: absent means "not said"; `""` or `"0"` means the side is empty.
fn claimed_price(v: Option<Val<'_, '_>>, name: &'static str) -> Result<Option<Price>, EventError> {
    let Some(v) = v else { return Ok(None) };
    let s = v.into_string().ok_or(EventError::Type(name))?.as_bytes();
    if s.is_empty() {
        return Ok(Some(Price::ZERO));
    }
    Price::parse_bytes(s)
        .map(Some)
        .map_err(|_| EventError::Decimal(name))
}

/// An unknown token must still be a well-formed token id for its event to be valid.
fn validate_token(token: &str) -> Result<(), EventError> {
    validate_token_bytes(token.as_bytes())
}

fn validate_token_bytes(token: &[u8]) -> Result<(), EventError> {
    crate::core::TokenId::parse_bytes(token)
        .map(|_| ())
        .map_err(|_| EventError::BadAssetId)
}
