//! The book stage: applies market messages, keeps every asset's health, heals books (with
//! its cold resync worker, `resync`) and records what it applied to storage.
//!
//! Healing. When a book becomes `resync_needed`, the stage asks the resync worker (a cold
//! thread) for a REST snapshot: at once for evidence of a wrong book (mismatch, crossed, lost
//! delta, staleness), and only after `reconnect_grace_ms` for a reconnect or a tick size
//! change, after which the venue re-sends the book in-band (usually within microseconds).
//!
//! Deltas during the fetch are not lost: while a request is out, the asset's deltas are also
//! kept in a bounded buffer with their venue timestamps. When the snapshot arrives it replaces
//! the book, then every buffered delta stamped at or after the snapshot's timestamp is applied
//! again. Sizes are absolute, so re-applying a delta the snapshot already contains is harmless,
//! and using `>=` covers deltas sharing the snapshot's millisecond. A snapshot older than the
//! book's current one (an in-band `book` won the race) is discarded. A full buffer means the
//! guarantee is gone: the asset is re-requested after the snapshot.
//!
//! Watchdog. Quiet is not stale: an `ok` book stays tradeable however long it is silent, as
//! long as its connection is alive (the feed reconnects a connection that stops answering
//! PING). Instead, a book silent for `audit_after_ms` is audited: the resync worker re-reads it
//! with `POST /books` in batches, within its share of the REST budget, and the stage compares
//! the venue's levels with its own. Equal: nothing happens. Different twice in a row with no
//! event in between (once could be a change still in flight on the WebSocket): the book is
//! marked `resync_needed` (`Stale`) and healed like any other. At most `audit_in_flight`
//! audits are outstanding, so audits never crowd out resync requests. A request unanswered for
//! `resync_timeout_ms` is sent again.
//!
//! Registry changes. Assets of markets listed while running arrive by `BookCtl::Extend` (their
//! books and tables grown within the capacity reserved at start); closed markets' assets are
//! retired (`BookCtl::Retire`: book emptied, top untradeable, no resync, messages ignored) and
//! revived if they reopen. All are sent before the feed subscribes (or after it unsubscribes),
//! and a message for an asset not known or retired drains the control channel first.
//!
//! Output. After every event the stage emits the changed `TopOfBook`s (a change of best
//! price, size, tradeability or of the first `MAX_DEPTH` ask levels, which strategies size
//! through). Backpressure (book → strategy ring): tops conflate, so an
//! undeliverable top only marks its asset dirty and the latest top is sent when room returns;
//! a strategy never acts on an old top because it always gets the newest.

use std::sync::Arc;

use crossbeam::channel::{Receiver, Sender};
use serde::Deserialize;

mod control;
mod healing;
mod recording;
pub mod resync;
#[cfg(test)]
mod tests;

pub use control::{AssetView, BookCtl, MarketView};
pub use healing::ResyncRequest;
pub use recording::StorageLink;

use crate::book::{BookState, Books, ResyncReason};
use crate::core::{
    AssetIndex, AssetRegistry, AssetSet, MarketMsg, Price, RegistryExtension, Side, Size, TickSize,
    TopOfBook,
};
use crate::obs::clock::now_ns;

/// How long shutdown waits for room in the storage channel to repair stored streams.
const FINISH_REPAIR_LIMIT: std::time::Duration = std::time::Duration::from_secs(10);
use crate::book::dump::{BookDump, dump_books};
use crate::obs::replica::{AssetBookCell, AssetTable, reason_index, state_code};
use crate::obs::{LatencyHistogram, LiveLatency};
use crate::pipeline::ring::{Counter, RingRx};
use crate::pipeline::stage::{Out, Stage};
use crate::storage::StorageSender;
use crate::storage::event::{BookChange, BookEvent, ResyncEvent, StorageEvent};
use crate::storage::time::WallClock;

/// `[book]` in the engine's TOML.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BookStageConfig {
    /// Audit an `ok` book (re-read it from REST and compare) after this long without an
    /// event, and again every this long while it stays silent (0 = never).
    pub audit_after_ms: u64,
    /// Most audits outstanding at once.
    pub audit_in_flight: usize,
    /// How often the watchdog scans every asset.
    pub watchdog_interval_ms: u64,
    /// Re-request a snapshot not received within this time.
    pub resync_timeout_ms: u64,
    /// After a reconnect or a tick size change, the venue re-sends the book in-band; wait
    /// this long for it before asking REST.
    pub reconnect_grace_ms: u64,
    /// Deltas buffered for assets whose snapshot is in flight (all assets together).
    pub pending_capacity: usize,
}

impl Default for BookStageConfig {
    fn default() -> Self {
        Self {
            audit_after_ms: 60_000,
            audit_in_flight: 200,
            watchdog_interval_ms: 100,
            resync_timeout_ms: 2_000,
            reconnect_grace_ms: 2_000,
            pending_capacity: 65_536,
        }
    }
}

/// Health bookkeeping beside each book.
#[derive(Clone, Copy, Debug, Default)]
struct Health {
    /// When the book last became untrustworthy (0 = it is fine).
    detected_ns: u64,
    /// When a snapshot was last requested (0 = none outstanding).
    requested_ns: u64,
    /// Venue timestamp of the snapshot the book was built from.
    snapshot_ts_ms: u64,
    /// Buffered deltas were lost to a full buffer during the current fetch.
    overflowed: bool,
    /// When the watchdog first saw the asset without any snapshot (0 = not waiting).
    empty_since_ns: u64,
    /// Unsubscribed (its market closed): no book, no requests, its messages ignored.
    retired: bool,
    /// When an audit of the book was requested (0 = none outstanding).
    audit_sent_ns: u64,
    /// When the book was last audited (requested), so a silent book is audited once per
    /// `audit_after_ms`.
    audited_ns: u64,
    /// The last audit found a difference; a second one in a row marks the book.
    audit_suspect: bool,
}

/// A delta kept while its asset's snapshot is in flight.
#[derive(Clone, Copy, Debug)]
struct PendingDelta {
    asset: AssetIndex,
    side: Side,
    price: Price,
    size: Size,
    venue_ts_ms: u64,
}

/// What the book stage has done (single writer: the book thread).
#[derive(Debug, Default)]
pub struct BookStats {
    pub frames: Counter,
    pub books: Counter,
    pub deltas: Counter,
    pub orphan: Counter,
    pub mismatch: Counter,
    pub crossed: Counter,
    pub tick_size_changes: Counter,
    pub invalidations: Counter,
    pub tops_conflated: Counter,
    pub invalidated_reconnect: Counter,
    pub invalidated_ring_full: Counter,
    /// Storage events the writer's channel refused (each affected asset is re-snapshotted into
    /// storage when the channel has room again).
    pub storage_dropped: Counter,
    pub storage_repairs: Counter,
    /// Assets whose stored stream got a hole (a full storage channel); each is repaired.
    pub storage_holes: Counter,
    pub resync_requests: Counter,
    pub resync_retries: Counter,
    pub resyncs_completed: Counter,
    pub rest_snapshots_applied: Counter,
    pub rest_snapshots_discarded: Counter,
    pub pending_overflows: Counter,
    /// Audits requested (silent books to re-read).
    pub audits_requested: Counter,
    /// Audit snapshots compared with the local book.
    pub audits: Counter,
    /// Audits that found the local book different from the venue's (each re-audited once).
    pub audit_differences: Counter,
    /// Books marked `resync_needed` because two audits in a row found them different.
    pub audit_mismatches: Counter,
    /// Audit snapshots not compared: the book changed while the audit was out.
    pub audits_skipped: Counter,
    pub healthy_assets: Counter,
    pub unhealthy_assets: Counter,
    /// Assets added while running (`BookCtl::Extend`).
    pub extended_assets: Counter,
    /// Assets retired (unsubscribed) and revived (subscribed again).
    pub retired_assets: Counter,
    pub revived_assets: Counter,
    /// Messages for an asset this stage does not know or has retired: dropped.
    pub ignored: Counter,
    /// Frame received → book applied, published about once a second.
    pub apply_live: LiveLatency,
    pub resync_live: LiveLatency,
    /// Bumped by a controller to start a new measurement window (histograms reset).
    pub epoch: Counter,
}

/// The book stage's links to the cold side.
pub struct BookLinks {
    pub resync_tx: Sender<ResyncRequest>,
    /// REST snapshots from the resync worker.
    pub snapshots: Option<RingRx<MarketMsg>>,
    pub ctl: Option<Receiver<BookCtl>>,
    /// Views out, and their buffers back.
    pub views: Option<(Sender<MarketView>, Receiver<MarketView>)>,
    pub view_interval_ms: u64,
    /// Token ids for dumps; its length is the assets this stage knows.
    pub registry: AssetRegistry,
    /// Tables are sized for this many assets, so extensions up to it never reallocate them.
    pub max_assets: usize,
    /// The storage writer's channel (cold thread), if storage is on.
    pub storage: Option<StorageLink>,
}

pub struct BookStage {
    pub books: Books,
    tops: Out<TopOfBook>,
    last_top: Vec<TopOfBook>,
    /// Assets whose latest top did not fit the ring: re-sent when it has room.
    dirty: AssetSet,
    links: BookLinks,
    /// Assets whose stored stream lost an event to a full storage channel.
    storage_lost: AssetSet,
    /// One repair snapshot's events, reused (grows to the deepest book once).
    repair_buf: Vec<StorageEvent>,
    snap_buf: Vec<MarketMsg>,
    next_view_ns: u64,
    next_publish_ns: u64,
    epoch: u64,
    frame_start_ns: u64,
    /// Frame handed on by the parser → taken by this stage.
    queue_wait: LatencyHistogram,
    /// This stage's work on one frame.
    work: LatencyHistogram,
    health: Vec<Health>,
    pending: Vec<PendingDelta>,
    cfg: BookStageConfig,
    pub stats: Arc<BookStats>,
    /// Frame received → every message of it applied.
    pub apply_latency: LatencyHistogram,
    /// Book found untrustworthy → healthy again.
    pub resync_latency: LatencyHistogram,
    next_watchdog_ns: u64,
    /// A REST snapshot being applied (its asset), so that its events are not buffered.
    applying_rest: Option<AssetIndex>,
    /// Audits outstanding.
    audits_out: usize,
    /// Where the watchdog's next audit scan starts, so every quiet book gets its turn.
    audit_cursor: usize,
    /// Per-asset cells of the state replica (`obs::replica`), if the engine serves them.
    replica: Option<Arc<AssetTable>>,
    /// Where every book goes when the input ends (a recording's closing `books` record).
    final_books: Option<Sender<Vec<BookDump>>>,
}

impl BookStage {
    pub fn new(cfg: BookStageConfig, tops: Out<TopOfBook>, mut links: BookLinks) -> Self {
        let assets = links.registry.len();
        let cap = assets.max(links.max_assets);
        links.registry.reserve_total(cap);
        let mut books = Books::with_assets(assets);
        books.reserve_total(cap);
        let mut last_top = Vec::with_capacity(cap);
        last_top.resize(assets, TopOfBook::default());
        let mut health = Vec::with_capacity(cap);
        health.resize(assets, Health::default());
        Self {
            books,
            tops,
            last_top,
            dirty: AssetSet::with_capacity(cap),
            storage_lost: AssetSet::with_capacity(cap),
            repair_buf: Vec::with_capacity(256),
            links,
            snap_buf: Vec::with_capacity(4096),
            next_view_ns: 0,
            next_publish_ns: 0,
            epoch: 0,
            frame_start_ns: 0,
            queue_wait: LatencyHistogram::new("book: queue wait"),
            work: LatencyHistogram::new("book: work per frame"),
            health,
            pending: Vec::with_capacity(cfg.pending_capacity),
            cfg,
            stats: Arc::new(BookStats::default()),
            apply_latency: LatencyHistogram::new("received → book applied"),
            resync_latency: LatencyHistogram::new("resync detected → healthy"),
            next_watchdog_ns: 0,
            audits_out: 0,
            audit_cursor: 0,
            applying_rest: None,
            replica: None,
            final_books: None,
        }
    }

    /// Sends a dump of every book to `tx` when the input ends (`Stage::finish`).
    pub fn set_final_books(&mut self, tx: Sender<Vec<BookDump>>) {
        self.final_books = Some(tx);
    }

    /// Publishes per-asset counts, states and tops to `table` (the state replica's cells).
    pub fn with_replica(mut self, table: Arc<AssetTable>) -> Self {
        self.replica = Some(table);
        self
    }

    /// The replica cell of `asset`, if the replica is on.
    #[inline]
    fn cell(&self, asset: AssetIndex) -> Option<&AssetBookCell> {
        self.replica.as_ref().and_then(|t| t.book(asset))
    }

    fn health_mut(&mut self, asset: AssetIndex) -> &mut Health {
        let i = asset.get();
        if i >= self.health.len() {
            self.health.resize(i + 1, Health::default());
        }
        &mut self.health[i]
    }

    fn state(&self, asset: AssetIndex) -> BookState {
        self.books.book(asset).map_or(BookState::Empty, |b| b.state)
    }

    /// Whether messages for `asset` are applied: known and not retired. An asset that is not
    /// first drains the control channel, where its extension or revival is waiting if the
    /// feed subscribed it.
    #[inline]
    fn admits(&mut self, asset: AssetIndex) -> bool {
        let i = asset.get();
        (i < self.health.len() && !self.health[i].retired) || self.admits_after_ctl(asset)
    }

    #[cold]
    #[inline(never)]
    fn admits_after_ctl(&mut self, asset: AssetIndex) -> bool {
        let i = asset.get();
        while self.serve_ctl() {}
        let ok = i < self.health.len() && !self.health[i].retired;
        if !ok {
            self.stats.ignored.inc();
        }
        ok
    }

    /// Applies one message from the market stream.
    #[inline]
    pub fn on_msg(&mut self, m: &MarketMsg, now_ns: impl Fn() -> u64 + Copy) {
        if let Some(a) = m.asset()
            && !self.admits(a)
        {
            return;
        }
        if self.links.storage.is_some() {
            self.store(m);
        }
        match *m {
            MarketMsg::FrameStart { sent_ns, .. } => {
                let now = now_ns();
                self.frame_start_ns = now;
                if sent_ns != 0 {
                    self.queue_wait.record(now.saturating_sub(sent_ns));
                }
                self.books.apply(m);
                return;
            }
            MarketMsg::FrameEnd { recv_ns } => {
                self.stats.frames.inc();
                let now = now_ns();
                self.apply_latency.record(now.saturating_sub(recv_ns));
                self.work.record(now.saturating_sub(self.frame_start_ns));
                self.publish_counters();
                self.tops.flush();
                return;
            }
            MarketMsg::LevelChange {
                asset,
                side,
                price,
                size,
            } => {
                if self
                    .health
                    .get(asset.get())
                    .is_some_and(|h| h.requested_ns != 0)
                    && self.applying_rest != Some(asset)
                {
                    self.buffer(asset, side, price, size);
                }
                self.books.apply(m);
                return;
            }
            MarketMsg::SnapshotLevel { .. } | MarketMsg::Trade { .. } => {
                self.books.apply(m);
                return;
            }
            _ => {}
        }
        // Messages that can change an asset's health.
        let Some(asset) = m.asset() else { return };
        let before = self.state(asset);
        if let MarketMsg::SnapshotStart { venue_ts_ms, .. } = *m {
            self.health_mut(asset).snapshot_ts_ms = venue_ts_ms;
        }
        if let MarketMsg::AssetEventEnd { venue_ts_ms, .. } = *m {
            self.stamp_pending(asset, venue_ts_ms);
        }
        self.books.apply(m);
        if let Some(c) = self.cell(asset) {
            match *m {
                MarketMsg::SnapshotStart { .. } => c.snapshots.inc(),
                MarketMsg::AssetEventEnd { .. } => {
                    c.events.inc();
                    c.last_event_ns.set(self.books.frame_ns());
                }
                _ => {}
            }
        }
        let after = self.state(asset);
        if matches!(
            m,
            MarketMsg::AssetEventEnd { .. }
                | MarketMsg::Invalidate { .. }
                | MarketMsg::TickSizeChange { .. }
        ) {
            self.transition(asset, before, after, now_ns);
            self.emit_top(asset, self.books.frame_ns());
        }
    }

    /// Sends the asset's top if it changed; a full ring marks it dirty (latest wins later).
    #[inline]
    fn emit_top(&mut self, asset: AssetIndex, recv_ns: u64) {
        let Some(b) = self.books.book(asset) else {
            return;
        };
        let (bid, bid_size) = b.bids.best().unwrap_or_default();
        let (ask, ask_size) = b.asks.best().unwrap_or_default();
        if let Some(c) = self.replica.as_ref().and_then(|t| t.book(asset)) {
            c.state.set(state_code(b.state));
            c.bid.set(u64::from(bid.0));
            c.ask.set(u64::from(ask.0));
        }
        let top = TopOfBook {
            asset,
            bid,
            bid_size,
            ask,
            ask_size,
            tradeable: b.is_tradeable(),
            asks: b.asks.ask_depth(),
            recv_ns,
            sent_ns: 0,
        };
        let i = asset.get();
        if i >= self.last_top.len() {
            self.last_top.resize(i + 1, TopOfBook::default());
        }
        let last = &self.last_top[i];
        let changed = last.asset != asset
            || (
                last.bid,
                last.bid_size,
                last.ask,
                last.ask_size,
                last.tradeable,
                last.asks,
            ) != (
                top.bid,
                top.bid_size,
                top.ask,
                top.ask_size,
                top.tradeable,
                top.asks,
            );
        if !changed && !self.dirty.contains(asset) {
            return;
        }
        self.last_top[i] = top;
        let mut out = top;
        out.sent_ns = now_ns();
        if self.tops.emit(out).is_err() {
            self.mark_dirty(asset);
        }
    }

    fn mark_dirty(&mut self, a: AssetIndex) {
        if self.dirty.insert(a) {
            self.stats.tops_conflated.inc();
        }
    }

    /// Re-sends the latest top of every dirty asset while the ring has room.
    fn flush_dirty(&mut self) -> bool {
        let mut did = false;
        while let Some(a) = self.dirty.last() {
            let mut top = self.last_top[a.get()];
            top.sent_ns = now_ns();
            if self.tops.emit(top).is_err() {
                break;
            }
            did = true;
            self.dirty.pop();
        }
        if did {
            self.tops.flush();
        }
        did
    }

    fn publish_counters(&self) {
        let c = &self.books.counters;
        let s = &self.stats;
        s.books.set(c.books);
        s.deltas.set(c.deltas);
        s.orphan.set(c.orphan);
        s.mismatch.set(c.mismatch);
        s.crossed.set(c.crossed);
        s.tick_size_changes.set(c.tick_size_changes);
    }
}

impl Stage for BookStage {
    type In = MarketMsg;

    #[inline]
    fn process(&mut self, m: MarketMsg) {
        self.on_msg(&m, now_ns);
    }

    fn tick(&mut self, now: u64) -> bool {
        if self.stats.epoch.get() != self.epoch {
            self.epoch = self.stats.epoch.get();
            for h in [
                &mut self.queue_wait,
                &mut self.work,
                &mut self.apply_latency,
                &mut self.resync_latency,
            ] {
                h.reset();
            }
        }
        let mut did = self.poll_snapshots();
        while self.serve_ctl() {
            did = true;
        }
        if !self.storage_lost.is_empty() {
            did |= self.repair_storage(now);
        }
        if !self.dirty.is_empty() {
            did |= self.flush_dirty();
        }
        self.maybe_watchdog(now);
        if now >= self.next_publish_ns {
            self.next_publish_ns = now + 1_000_000_000;
            self.stats.apply_live.publish(&self.apply_latency);
            self.stats.resync_live.publish(&self.resync_latency);
        }
        if self.links.view_interval_ms > 0 && now >= self.next_view_ns {
            self.next_view_ns = now + self.links.view_interval_ms * 1_000_000;
            self.publish_view(now);
        }
        self.tops.tick(now) || did
    }

    fn has_pending(&self) -> bool {
        self.links.snapshots.as_ref().is_some_and(|r| !r.is_empty())
            || !self.dirty.is_empty()
            || self.tops.has_pending()
    }

    fn flush(&mut self) {
        self.tops.flush();
    }

    /// Nothing accepted is lost at shutdown: every asset whose stored stream has a hole is
    /// re-snapshotted into storage before the thread exits (the writer is still running; it
    /// is stopped after the stages). Bounded, so a dead writer cannot hold shutdown.
    fn finish(&mut self) {
        let deadline = std::time::Instant::now() + FINISH_REPAIR_LIMIT;
        while !self.storage_lost.is_empty() && std::time::Instant::now() < deadline {
            if !self.repair_storage(now_ns()) {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        }
        if !self.storage_lost.is_empty() {
            tracing::warn!(
                assets = self.storage_lost.len(),
                "storage did not take the repair snapshots before shutdown"
            );
        }
        if let Some(tx) = self.final_books.take() {
            let _ = tx.try_send(dump_books(&self.books, &self.links.registry));
        }
        self.tops.finish();
    }

    fn histograms(&self, out: &mut Vec<LatencyHistogram>) {
        out.push(self.queue_wait.clone());
        out.push(self.work.clone());
        out.push(self.apply_latency.clone());
        out.push(self.resync_latency.clone());
        self.tops.histograms(out);
    }
}
