//! The book stage: applies market messages, keeps every asset's health, and heals books.
//!
//! Healing. When a book becomes `resync_needed`, the stage asks the resync worker (a cold
//! thread) for a REST snapshot, at once for evidence of a wrong book (mismatch, crossed, tick
//! change, lost delta, staleness) and after `reconnect_grace_ms` for a reconnect (whose fresh
//! subscription re-sends the snapshot in-band, usually first).
//!
//! Deltas during the fetch are not lost: while a request is out, the asset's deltas are also
//! kept in a bounded buffer with their venue timestamps. When the snapshot arrives it replaces
//! the book, then every buffered delta stamped at or after the snapshot's timestamp is applied
//! again. Sizes are absolute, so re-applying a delta the snapshot already contains is harmless,
//! and using `>=` covers deltas sharing the snapshot's millisecond. A snapshot older than the
//! book's current one (an in-band `book` won the race) is discarded. A full buffer means the
//! guarantee is gone: the asset is re-requested after the snapshot.
//!
//! Watchdog. An `ok` book with no event for `stale_after_ms` is quarantined (`Stale`) and
//! re-snapshotted; a request unanswered for `resync_timeout_ms` is sent again.

use std::sync::Arc;

use crossbeam::channel::Sender;
use serde::Deserialize;

use super::{BookState, Books, ResyncReason};
use crate::core::{AssetIndex, MarketMsg, Price, Side, Size};
use crate::obs::LatencyHistogram;
use crate::pipeline::ring::Counter;

/// `[book]` in the engine's TOML.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BookStageConfig {
    /// Quarantine an `ok` book after this long without an event (0 = never).
    pub stale_after_ms: u64,
    /// How often the watchdog scans every asset.
    pub watchdog_interval_ms: u64,
    /// Re-request a snapshot not received within this time.
    pub resync_timeout_ms: u64,
    /// After a reconnect, wait this long for the in-band snapshot before asking REST.
    pub reconnect_grace_ms: u64,
    /// Deltas buffered for assets whose snapshot is in flight (all assets together).
    pub pending_capacity: usize,
}

impl Default for BookStageConfig {
    fn default() -> Self {
        Self {
            stale_after_ms: 60_000,
            watchdog_interval_ms: 100,
            resync_timeout_ms: 2_000,
            reconnect_grace_ms: 2_000,
            pending_capacity: 65_536,
        }
    }
}

/// A request for a REST snapshot of one asset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResyncRequest {
    pub asset: AssetIndex,
    pub reason: ResyncReason,
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
    pub resync_requests: Counter,
    pub resync_retries: Counter,
    pub resyncs_completed: Counter,
    pub rest_snapshots_applied: Counter,
    pub rest_snapshots_discarded: Counter,
    pub pending_overflows: Counter,
    pub quarantined: Counter,
    pub healthy_assets: Counter,
    pub unhealthy_assets: Counter,
}

pub struct BookStage {
    pub books: Books,
    health: Vec<Health>,
    pending: Vec<PendingDelta>,
    cfg: BookStageConfig,
    resync_tx: Sender<ResyncRequest>,
    pub stats: Arc<BookStats>,
    /// Frame received → every message of it applied.
    pub apply_latency: LatencyHistogram,
    /// Book found untrustworthy → healthy again.
    pub resync_latency: LatencyHistogram,
    next_watchdog_ns: u64,
    /// A REST snapshot being applied (its asset), so that its events are not buffered.
    applying_rest: Option<AssetIndex>,
}

impl BookStage {
    pub fn new(cfg: BookStageConfig, assets: usize, resync_tx: Sender<ResyncRequest>) -> Self {
        Self {
            books: Books::with_assets(assets),
            health: vec![Health::default(); assets],
            pending: Vec::with_capacity(cfg.pending_capacity),
            cfg,
            resync_tx,
            stats: Arc::new(BookStats::default()),
            apply_latency: LatencyHistogram::new("frame received → book applied"),
            resync_latency: LatencyHistogram::new("resync detected → book healthy"),
            next_watchdog_ns: 0,
            applying_rest: None,
        }
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

    /// Applies one message from the market stream.
    #[inline]
    pub fn on_msg(&mut self, m: &MarketMsg, now_ns: impl Fn() -> u64) {
        match *m {
            MarketMsg::FrameEnd { recv_ns } => {
                self.stats.frames.inc();
                let now = now_ns();
                self.apply_latency.record(now.saturating_sub(recv_ns));
                self.publish_counters();
                if now >= self.next_watchdog_ns {
                    self.watchdog(now);
                }
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
            MarketMsg::SnapshotLevel { .. }
            | MarketMsg::Trade { .. }
            | MarketMsg::FrameStart { .. } => {
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
        let after = self.state(asset);
        if matches!(
            m,
            MarketMsg::AssetEventEnd { .. }
                | MarketMsg::Invalidate { .. }
                | MarketMsg::TickSizeChange { .. }
        ) {
            self.transition(asset, before, after, now_ns);
        }
    }

    fn transition(
        &mut self,
        asset: AssetIndex,
        before: BookState,
        after: BookState,
        now_ns: impl Fn() -> u64,
    ) {
        match (before, after) {
            (BookState::Ok, BookState::ResyncNeeded(reason)) => {
                self.stats.invalidations.inc();
                let now = now_ns();
                let h = self.health_mut(asset);
                h.detected_ns = now;
                if reason != ResyncReason::Reconnect {
                    self.request(asset, reason, now);
                }
            }
            (_, BookState::Ok)
                if self
                    .health
                    .get(asset.get())
                    .is_some_and(|h| h.detected_ns != 0 || h.requested_ns != 0) =>
            {
                let now = now_ns();
                let h = self.health_mut(asset);
                let detected = std::mem::take(&mut h.detected_ns);
                h.requested_ns = 0;
                let overflowed = std::mem::take(&mut h.overflowed);
                if detected != 0 {
                    self.resync_latency.record(now.saturating_sub(detected));
                    self.stats.resyncs_completed.inc();
                }
                self.pending.retain(|d| d.asset != asset);
                if overflowed {
                    // Some deltas of the fetch window were not kept: this book is unproven.
                    self.books.invalidate(asset, ResyncReason::RingFull);
                    self.transition(asset, BookState::Ok, self.state(asset), now_ns);
                }
            }
            _ => {}
        }
    }

    fn request(&mut self, asset: AssetIndex, reason: ResyncReason, now: u64) {
        if self
            .resync_tx
            .try_send(ResyncRequest { asset, reason })
            .is_ok()
        {
            self.stats.resync_requests.inc();
            self.health_mut(asset).requested_ns = now;
        }
        // A full request channel leaves `requested_ns` at 0: the watchdog asks again.
    }

    fn buffer(&mut self, asset: AssetIndex, side: Side, price: Price, size: Size) {
        if self.pending.len() < self.cfg.pending_capacity {
            self.pending.push(PendingDelta {
                asset,
                side,
                price,
                size,
                venue_ts_ms: 0,
            });
        } else {
            self.stats.pending_overflows.inc();
            self.health_mut(asset).overflowed = true;
        }
    }

    /// The event's timestamp arrives after its deltas: stamp the asset's unstamped tail.
    fn stamp_pending(&mut self, asset: AssetIndex, ts: u64) {
        for d in self.pending.iter_mut().rev() {
            if d.asset != asset {
                continue;
            }
            if d.venue_ts_ms != 0 {
                break;
            }
            d.venue_ts_ms = ts;
        }
    }

    /// Applies a REST snapshot (messages for one asset: start, levels, event end).
    pub fn on_rest_snapshot(&mut self, msgs: &[MarketMsg], now_ns: impl Fn() -> u64 + Copy) {
        let Some(MarketMsg::SnapshotStart {
            asset, venue_ts_ms, ..
        }) = msgs.first().copied()
        else {
            return;
        };
        let h = self.health.get(asset.get()).copied().unwrap_or_default();
        let current = self.state(asset);
        // Unrequested, or older than what the book already has: discard.
        let stale = venue_ts_ms != 0 && h.snapshot_ts_ms > venue_ts_ms;
        if h.requested_ns == 0 && current == BookState::Ok || stale {
            self.stats.rest_snapshots_discarded.inc();
            return;
        }
        self.applying_rest = Some(asset);
        // The snapshot is "received" now: that is what its freshness is measured from.
        self.books
            .apply(&MarketMsg::FrameStart { recv_ns: now_ns() });
        let end = msgs.len() - 1;
        for m in &msgs[..end] {
            self.on_msg(m, now_ns);
        }
        // Re-apply the deltas of the fetch window that the snapshot may not contain.
        for d in self
            .pending
            .iter()
            .filter(|d| d.asset == asset && d.venue_ts_ms >= venue_ts_ms)
        {
            self.books.apply(&MarketMsg::LevelChange {
                asset,
                side: d.side,
                price: d.price,
                size: d.size,
            });
        }
        self.on_msg(&msgs[end], now_ns);
        self.applying_rest = None;
        self.stats.rest_snapshots_applied.inc();
    }

    /// Runs the watchdog if it is due (call when idle: a stalled feed delivers no frames).
    #[inline]
    pub fn maybe_watchdog(&mut self, now: u64) {
        if now >= self.next_watchdog_ns {
            self.watchdog(now);
        }
    }

    /// Periodic checks: staleness, assets still without a first snapshot, due and timed-out
    /// requests.
    pub fn watchdog(&mut self, now: u64) {
        self.next_watchdog_ns = now + self.cfg.watchdog_interval_ms * 1_000_000;
        let stale_after = self.cfg.stale_after_ms * 1_000_000;
        let timeout = self.cfg.resync_timeout_ms * 1_000_000;
        let grace = self.cfg.reconnect_grace_ms * 1_000_000;
        let (mut healthy, mut unhealthy) = (0, 0);
        for i in 0..self.health.len() {
            let asset = AssetIndex(i as u32);
            let Some(b) = self.books.book(asset) else {
                continue;
            };
            let (state, last) = (b.state, b.last_event_ns.max(b.last_snapshot_ns));
            let h = self.health[i];
            match state {
                BookState::Ok => {
                    healthy += 1;
                    if stale_after > 0 && last != 0 && now.saturating_sub(last) > stale_after {
                        self.stats.quarantined.inc();
                        self.books.invalidate(asset, ResyncReason::Stale);
                        self.transition(asset, BookState::Ok, self.state(asset), || now);
                    }
                }
                BookState::ResyncNeeded(reason) => {
                    unhealthy += 1;
                    let due = if h.requested_ns != 0 {
                        now.saturating_sub(h.requested_ns) > timeout
                    } else {
                        reason != ResyncReason::Reconnect
                            || now.saturating_sub(h.detected_ns) > grace
                    };
                    if due {
                        if h.requested_ns != 0 {
                            self.stats.resync_retries.inc();
                        }
                        self.request(asset, reason, now);
                    }
                }
                BookState::Empty => {
                    // Subscribed but never snapshotted (e.g. past the venue's per-connection
                    // snapshot limit): give the feed the grace period, then ask REST.
                    unhealthy += 1;
                    if h.empty_since_ns == 0 {
                        self.health[i].empty_since_ns = now;
                    } else if (h.requested_ns == 0 && now.saturating_sub(h.empty_since_ns) > grace)
                        || (h.requested_ns != 0 && now.saturating_sub(h.requested_ns) > timeout)
                    {
                        self.request(asset, ResyncReason::Reconnect, now);
                    }
                }
            }
        }
        self.stats.healthy_assets.set(healthy);
        self.stats.unhealthy_assets.set(unhealthy);
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
