//! The engine's state as the cold side reads it: what `/metrics` and `/status` serve.
//!
//! The hot path publishes here and never waits: per-asset cells of single-writer atomics
//! (the book thread writes the book cells, the dispatch thread the order cells), written
//! with a relaxed store like every other stage counter. Everything else here is written by
//! cold threads only, and only those take the locks:
//!
//! - asset labels (token, market), set at start and when the catalog lists new markets;
//! - **risk breakers**: the risk module registers each breaker once, at setup, with
//!   [`BreakerBoard::register`] and keeps the returned [`BreakerCell`]; its measure is an
//!   atomic store, a trip (which stores its reason) takes the cell's lock, as trips happen on
//!   cold threads;
//! - **positions and PnL**: whoever owns the account's positions (a cold thread) publishes a
//!   whole [`PositionsReport`] with [`PositionsSlot::publish`] whenever they change.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use super::Counter;
use super::status::{BreakerStatus, PositionsReport};
use crate::book::BookState;
use crate::core::market::ResyncReason;
use crate::core::{AssetIndex, AssetRegistry};

/// Every resync reason, in the order of [`AssetBookCell::invalidations`].
pub const REASONS: [ResyncReason; 6] = [
    ResyncReason::BestMismatch,
    ResyncReason::Crossed,
    ResyncReason::TickSizeChange,
    ResyncReason::Reconnect,
    ResyncReason::RingFull,
    ResyncReason::Stale,
];

/// The index of `r` in [`REASONS`].
#[inline]
pub const fn reason_index(r: ResyncReason) -> usize {
    match r {
        ResyncReason::BestMismatch => 0,
        ResyncReason::Crossed => 1,
        ResyncReason::TickSizeChange => 2,
        ResyncReason::Reconnect => 3,
        ResyncReason::RingFull => 4,
        ResyncReason::Stale => 5,
    }
}

/// A book's state as one number: 0 empty, 1 ok, 2 + reason index resync needed, 255 retired.
pub const STATE_RETIRED: u64 = 255;

#[inline]
pub const fn state_code(s: BookState) -> u64 {
    match s {
        BookState::Empty => 0,
        BookState::Ok => 1,
        BookState::ResyncNeeded(r) => 2 + reason_index(r) as u64,
    }
}

/// The state name and resync reason of a [`state_code`].
pub fn state_name(code: u64) -> (&'static str, Option<&'static str>) {
    match code {
        0 => ("empty", None),
        1 => ("ok", None),
        STATE_RETIRED => ("retired", None),
        c => (
            "resync_needed",
            REASONS.get((c - 2) as usize).map(|r| r.as_str()),
        ),
    }
}

/// What the book thread publishes about one asset.
#[derive(Debug, Default)]
pub struct AssetBookCell {
    /// Events applied (each `book`, `price_change`, `tick_size_change` for the asset).
    pub events: Counter,
    /// Full snapshots applied (in-band `book` messages and REST snapshots).
    pub snapshots: Counter,
    /// Times the book became untrustworthy, by reason ([`REASONS`] order).
    pub invalidations: [Counter; 6],
    /// REST snapshots requested to heal it.
    pub resync_requests: Counter,
    /// Times it became healthy again after being marked.
    pub resyncs: Counter,
    /// [`state_code`] of its book.
    pub state: Counter,
    /// Best bid and ask in micro-units (0 = none).
    pub bid: Counter,
    pub ask: Counter,
    /// Receive time (`clock::now_ns`) of its last event.
    pub last_event_ns: Counter,
}

/// What the dispatch thread publishes about one asset.
#[derive(Debug, Default)]
pub struct AssetOrderCell {
    /// Opportunities (the strategy's quotes of a set) with a leg on this asset.
    pub quotes: Counter,
    /// Order legs on this asset handed to dispatch (dry-run intents, or orders to send).
    pub orders: Counter,
}

/// Per-asset cells, allocated once for the engine's asset capacity (assets listed while
/// running stay within it), so the hot path never grows them.
#[derive(Debug)]
pub struct AssetTable {
    book: Box<[AssetBookCell]>,
    orders: Box<[AssetOrderCell]>,
}

impl AssetTable {
    pub fn new(capacity: usize) -> Self {
        Self {
            book: (0..capacity).map(|_| AssetBookCell::default()).collect(),
            orders: (0..capacity).map(|_| AssetOrderCell::default()).collect(),
        }
    }

    #[inline]
    pub fn book(&self, a: AssetIndex) -> Option<&AssetBookCell> {
        self.book.get(a.get())
    }

    #[inline]
    pub fn orders(&self, a: AssetIndex) -> Option<&AssetOrderCell> {
        self.orders.get(a.get())
    }

    pub fn capacity(&self) -> usize {
        self.book.len()
    }
}

/// An asset's names, for labels.
#[derive(Clone, Debug)]
pub struct AssetLabel {
    pub token: Box<str>,
    /// The market (condition id); the token itself where the registry has none.
    pub market: Box<str>,
}

/// One breaker as the risk module publishes it: ok or tripped, why it last tripped, how
/// often, and its measure against its threshold (in `unit`).
#[derive(Debug)]
pub struct BreakerCell {
    name: String,
    tripped: AtomicBool,
    trips: AtomicU64,
    changed_ms: AtomicU64,
    value: AtomicI64,
    /// [`NO_THRESHOLD`] when the breaker has none configured.
    threshold: AtomicI64,
    unit: Mutex<&'static str>,
    reason: Mutex<String>,
}

/// A threshold not configured (the breaker never trips on its measure).
pub const NO_THRESHOLD: i64 = i64::MIN;

impl BreakerCell {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Trips it (counted when it was ok) with `reason`. Takes a lock for the reason: the
    /// risk module trips from cold threads only.
    pub fn trip(&self, reason: &str) {
        *self.reason.lock().unwrap_or_else(|e| e.into_inner()) = reason.to_string();
        if !self.tripped.swap(true, Ordering::Relaxed) {
            self.trips.fetch_add(1, Ordering::Relaxed);
            self.changed_ms
                .store(super::clock::unix_ms(), Ordering::Relaxed);
        }
    }

    /// Back to ok (the last reason is kept: it says why it tripped last).
    pub fn clear(&self) {
        if self.tripped.swap(false, Ordering::Relaxed) {
            self.changed_ms
                .store(super::clock::unix_ms(), Ordering::Relaxed);
        }
    }

    /// The breaker's measure now. Lock-free.
    pub fn set_value(&self, v: i64) {
        self.value.store(v, Ordering::Relaxed);
    }

    /// The threshold (`None`: not configured) and the unit of value and threshold.
    pub fn set_threshold(&self, t: Option<i64>, unit: &'static str) {
        self.threshold
            .store(t.unwrap_or(NO_THRESHOLD), Ordering::Relaxed);
        *self.unit.lock().unwrap_or_else(|e| e.into_inner()) = unit;
    }

    pub fn is_tripped(&self) -> bool {
        self.tripped.load(Ordering::Relaxed)
    }

    pub fn trips(&self) -> u64 {
        self.trips.load(Ordering::Relaxed)
    }

    pub fn status(&self) -> BreakerStatus {
        let tripped = self.is_tripped();
        let threshold = self.threshold.load(Ordering::Relaxed);
        BreakerStatus {
            name: self.name.clone(),
            state: if tripped { "tripped" } else { "ok" }.to_string(),
            tripped,
            trips: self.trips(),
            reason: self
                .reason
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
            value: self.value.load(Ordering::Relaxed),
            threshold: (threshold != NO_THRESHOLD).then_some(threshold),
            unit: self
                .unit
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .to_string(),
            changed_ms: self.changed_ms.load(Ordering::Relaxed),
        }
    }
}

/// The risk breakers' published states (registered by the risk module at setup).
#[derive(Debug, Default)]
pub struct BreakerBoard {
    cells: RwLock<Vec<Arc<BreakerCell>>>,
}

impl BreakerBoard {
    /// The breaker named `name`, registered once (ok): a second call returns the same
    /// cell. Cold: call at setup and keep the cell.
    pub fn register(&self, name: &str) -> Arc<BreakerCell> {
        let mut cells = self.cells.write().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = cells.iter().find(|c| c.name == name) {
            return c.clone();
        }
        let c = Arc::new(BreakerCell {
            name: name.to_string(),
            tripped: AtomicBool::new(false),
            trips: AtomicU64::new(0),
            changed_ms: AtomicU64::new(0),
            value: AtomicI64::new(0),
            threshold: AtomicI64::new(NO_THRESHOLD),
            unit: Mutex::new(""),
            reason: Mutex::new(String::new()),
        });
        cells.push(c.clone());
        c
    }

    pub fn snapshot(&self) -> Vec<BreakerStatus> {
        self.cells
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|c| c.status())
            .collect()
    }
}

/// The latest positions and PnL, published whole by their owner (a cold thread).
#[derive(Debug, Default)]
pub struct PositionsSlot(Mutex<Option<PositionsReport>>);

impl PositionsSlot {
    /// Replaces the published report. Never call it from the hot path (it takes a lock).
    pub fn publish(&self, r: PositionsReport) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
    }

    pub fn latest(&self) -> Option<PositionsReport> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// The state replica of a running engine.
#[derive(Debug)]
pub struct OpsReplica {
    pub assets: Arc<AssetTable>,
    labels: RwLock<Vec<AssetLabel>>,
    pub breakers: BreakerBoard,
    pub positions: PositionsSlot,
    pub started: Instant,
}

impl OpsReplica {
    /// A replica with cells for `capacity` assets, labelled from `registry`.
    pub fn new(capacity: usize, registry: &AssetRegistry) -> Self {
        let r = Self {
            assets: Arc::new(AssetTable::new(capacity.max(registry.len()))),
            labels: RwLock::new(Vec::new()),
            breakers: BreakerBoard::default(),
            positions: PositionsSlot::default(),
            started: Instant::now(),
        };
        r.set_labels(registry);
        r
    }

    /// Relabels from the registry (at start, and when the catalog extends it).
    pub fn set_labels(&self, registry: &AssetRegistry) {
        let labels = registry
            .iter()
            .map(|(_, info)| AssetLabel {
                token: info.token_str.clone(),
                market: info
                    .market
                    .clone()
                    .unwrap_or_else(|| info.token_str.clone()),
            })
            .collect();
        *self.labels.write().unwrap_or_else(|e| e.into_inner()) = labels;
    }

    /// Every labelled asset with its index.
    pub fn labels(&self) -> Vec<AssetLabel> {
        self.labels
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_codes_round_trip_and_breakers_count_trips() {
        for r in REASONS {
            let (name, reason) = state_name(state_code(BookState::ResyncNeeded(r)));
            assert_eq!((name, reason), ("resync_needed", Some(r.as_str())));
        }
        assert_eq!(state_name(state_code(BookState::Ok)).0, "ok");
        assert_eq!(state_name(STATE_RETIRED).0, "retired");
        let board = BreakerBoard::default();
        let b = board.register("max_loss");
        assert!(Arc::ptr_eq(&b, &board.register("max_loss")));
        b.set_threshold(Some(5_000_000), "micro_pusd");
        b.set_value(6_000_000);
        b.trip("lost 6");
        b.trip("lost 6 again");
        b.clear();
        b.trip("lost 7");
        let s = board.snapshot();
        assert_eq!((s[0].state.as_str(), s[0].trips), ("tripped", 2));
        assert_eq!(
            (s[0].reason.as_str(), s[0].value, s[0].threshold),
            ("lost 7", 6_000_000, Some(5_000_000))
        );
        b.clear();
        b.set_threshold(None, "");
        let s = board.snapshot();
        assert_eq!(
            (s[0].state.as_str(), s[0].tripped, s[0].threshold),
            ("ok", false, None)
        );
    }
}
