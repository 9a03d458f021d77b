//! The writer's recorder: turns `StorageEvent`s into pending rows, keeping a mirror of every
//! book (the real `book::Books` code, fed the same messages as the live book stage) so that it
//! can fold each venue event's end into the event's last row, fill in the event's venue
//! timestamp, snapshot books at the configured cadence (always at an event boundary), mark
//! assets whose market data it had to drop, and accumulate the one-minute bars.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

use crossbeam::channel::Sender;

use crate::book::{Books, ResyncReason};
use crate::core::{AssetIndex, TokenId};

use super::bars::Bars;
use super::batch::{BookRow, BookRowKind, ResyncRow, Row, SnapshotRow, TradeRow};
use super::config::StorageConfig;
use super::error::{MAX_ID_LEN, MAX_LABEL_LEN, RowError, check_len};
use super::event::{BookChange, BookEvent, StorageEvent};
use super::metrics::{CommitNotice, WriterMetrics};
use super::snapshots::{SnapshotClock, SnapshotPolicy, image_of};
use super::time::{NS_PER_MS, unix_now_ns};

/// What the writer knows about one registered asset.
struct AssetSlot {
    token: TokenId,
    clock: SnapshotClock,
    /// Market data of this asset was dropped: the next stored row is a `ring_full` invalidation.
    gap: bool,
    last_venue_ts_ms: u64,
}

pub(super) struct Recorder {
    max_pending_rows: usize,
    metrics: Arc<WriterMetrics>,
    assets: Vec<Option<AssetSlot>>,
    mirror: Books,
    bars: Bars,
    policy: SnapshotPolicy,
    /// Rows waiting for the next commit, in ingest order.
    pub(super) pending: Vec<Row>,
    /// When the oldest pending row arrived.
    pub(super) pending_since: Option<Instant>,
    /// Index in `pending` of each asset's last book row (to fold its event end into it).
    last_row: Vec<Option<usize>>,
    /// Index in `pending` of the first row of each asset's open venue event (to give its rows
    /// the event's venue timestamp, which arrives with the event's end).
    event_start: Vec<Option<usize>>,
    /// Flush requests waiting for everything before them to be committed.
    pub(super) flush_waiters: Vec<Sender<CommitNotice>>,
}

impl Recorder {
    pub(super) fn new(cfg: &StorageConfig, metrics: Arc<WriterMetrics>) -> Self {
        Self {
            max_pending_rows: cfg.max_pending_rows,
            metrics,
            assets: Vec::new(),
            mirror: Books::new(),
            bars: Bars::default(),
            policy: SnapshotPolicy {
                every_events: cfg.snapshot_every_events,
                every_ns: cfg.snapshot_every_ms.saturating_mul(NS_PER_MS),
            },
            pending: Vec::with_capacity(cfg.batch_rows * 2),
            pending_since: None,
            last_row: Vec::new(),
            event_start: Vec::new(),
            flush_waiters: Vec::new(),
        }
    }

    /// Moves the bar deltas accumulated so far into the pending rows.
    pub(super) fn drain_bars(&mut self) {
        self.bars.drain_into(&mut self.pending);
    }

    pub(super) fn bars_empty(&self) -> bool {
        self.bars.is_empty()
    }

    /// The first `n` pending rows were committed (and removed): re-points the fold indices.
    pub(super) fn committed_front(&mut self, n: usize) {
        for r in self.last_row.iter_mut() {
            *r = r.and_then(|i| i.checked_sub(n));
        }
        for r in self.event_start.iter_mut() {
            // An event whose first rows were just committed continues at the new front.
            *r = r.map(|i| i.saturating_sub(n));
        }
    }

    fn push(&mut self, row: Row) {
        if self.pending.is_empty() {
            self.pending_since = Some(Instant::now());
        }
        self.pending.push(row);
    }

    fn reject(&self, e: RowError) {
        tracing::debug!(error = %e, "storage: event refused");
        self.metrics.record_rejected(&e);
    }

    pub(super) fn ingest(&mut self, ev: StorageEvent) {
        self.metrics.events_received.fetch_add(1, Relaxed);
        match ev {
            StorageEvent::RegisterAsset(r) => self.register(r),
            StorageEvent::Book(e) => self.book(e),
            StorageEvent::Trade(t) => {
                if self.slot(t.asset).is_none() {
                    return self.reject(RowError::Unregistered(t.asset.0));
                }
                if self.over_cap() {
                    self.metrics.dropped_pending_full.fetch_add(1, Relaxed);
                    return;
                }
                self.bars.trade(t.asset, t.recv_ns, t.side, t.price, t.size);
                self.push(Row::Trade(TradeRow {
                    asset: t.asset,
                    side: t.side,
                    price: t.price,
                    size: t.size,
                    fee_rate_bps: t.fee_rate_bps,
                    venue_ts_ms: t.venue_ts_ms,
                    recv_ns: t.recv_ns,
                }));
            }
            StorageEvent::Resync(r) => {
                if self.slot(r.asset).is_none() {
                    return self.reject(RowError::Unregistered(r.asset.0));
                }
                self.invalidate(r.asset, r.reason, r.recv_ns);
                self.push(Row::Resync(ResyncRow {
                    asset: r.asset,
                    reason: r.reason,
                    recv_ns: r.recv_ns,
                }));
            }
            StorageEvent::Market(m) => self.push(Row::Market(m)),
            StorageEvent::Order(o) => self.push(Row::Order(o)),
            StorageEvent::OrderUpdate(u) => self.push(Row::OrderUpdate(u)),
            StorageEvent::Journal(j) => self.push(Row::Journal(j)),
            StorageEvent::Fill(f) => self.push(Row::Fill(f)),
            StorageEvent::Position(p) => self.push(Row::Position(p)),
            StorageEvent::RuleChange(r) => self.push(Row::RuleChange(r)),
            StorageEvent::RuleAck(a) => self.push(Row::RuleAck(a)),
            StorageEvent::Flush(ack) => self.flush_waiters.push(ack),
        }
    }

    fn slot(&self, a: AssetIndex) -> Option<&AssetSlot> {
        self.assets.get(a.get()).and_then(Option::as_ref)
    }

    fn over_cap(&self) -> bool {
        self.pending.len() >= self.max_pending_rows
    }

    fn register(&mut self, r: Box<super::event::AssetRegistration>) {
        let checks = check_len("condition_id", &r.condition_id, MAX_ID_LEN).and_then(|()| match &r
            .outcome
        {
            Some(o) => check_len("outcome", o, MAX_LABEL_LEN),
            None => Ok(()),
        });
        if let Err(e) = checks {
            return self.reject(e);
        }
        if r.condition_id.is_empty() {
            return self.reject(RowError::Invalid("empty condition_id".into()));
        }
        let i = r.asset.get();
        if let Some(Some(s)) = self.assets.get(i) {
            if s.token != r.token {
                self.reject(RowError::Invalid(format!(
                    "asset index {i} re-registered as another token"
                )));
            }
            return;
        }
        if self.assets.len() <= i {
            self.assets.resize_with(i + 1, || None);
            self.last_row.resize(i + 1, None);
            self.event_start.resize(i + 1, None);
        }
        self.assets[i] = Some(AssetSlot {
            token: r.token,
            clock: SnapshotClock::default(),
            gap: false,
            last_venue_ts_ms: 0,
        });
        self.push(Row::Asset(r));
    }

    fn book(&mut self, e: BookEvent) {
        let a = e.asset;
        let i = a.get();
        let Some(slot) = self.assets.get_mut(i).and_then(Option::as_mut) else {
            return self.reject(RowError::Unregistered(a.0));
        };
        if self.pending.len() >= self.max_pending_rows {
            // The database is refusing writes and memory is capped: this asset's stored stream
            // now has a hole. The mirror must match what is stored, so it is invalidated too.
            slot.gap = true;
            self.metrics.dropped_pending_full.fetch_add(1, Relaxed);
            self.mirror.invalidate(a, ResyncReason::RingFull);
            return;
        }
        if e.venue_ts_ms != 0 {
            slot.last_venue_ts_ms = e.venue_ts_ms;
        }
        if !slot.clock.in_event && !matches!(e.change, BookChange::EventEnd { .. }) {
            self.event_start[i] = Some(self.pending.len());
        }
        if std::mem::take(&mut slot.gap) {
            self.invalidate(a, ResyncReason::RingFull, e.recv_ns);
        }
        self.mirror.apply(&e.change.to_market_msg(a, e.venue_ts_ms));
        let row = |kind| {
            Row::Book(BookRow {
                asset: a,
                kind,
                end: None,
                venue_ts_ms: e.venue_ts_ms,
                recv_ns: e.recv_ns,
            })
        };
        let Some(slot) = self.assets[i].as_mut() else {
            return;
        };
        match e.change {
            BookChange::SnapshotStart { tick } => {
                slot.clock.on_venue_book(e.recv_ns);
                slot.clock.in_event = true;
                self.push_book(i, row(BookRowKind::BookStart { tick }));
            }
            BookChange::SnapshotLevel { side, price, size } => {
                slot.clock.in_event = true;
                self.push_book(i, row(BookRowKind::BookLevel { side, price, size }));
            }
            BookChange::Level { side, price, size } => {
                slot.clock.on_row();
                self.push_book(i, row(BookRowKind::Change { side, price, size }));
            }
            BookChange::TickSize { tick } => {
                slot.clock.on_row();
                self.push_book(i, row(BookRowKind::TickSize { tick }));
            }
            BookChange::EventEnd { claimed } => {
                slot.clock.in_event = false;
                if let Some(start) = self.event_start[i].take()
                    && e.venue_ts_ms != 0
                {
                    for r in self.pending.iter_mut().skip(start) {
                        if let Row::Book(b) = r
                            && b.asset == a
                            && b.venue_ts_ms == 0
                        {
                            b.venue_ts_ms = e.venue_ts_ms;
                        }
                    }
                }
                let folded = match self.last_row[i].and_then(|j| self.pending.get_mut(j)) {
                    Some(Row::Book(b)) if b.end.is_none() && b.asset == a => {
                        b.end = Some(claimed);
                        true
                    }
                    _ => false,
                };
                if !folded {
                    let r = BookRow {
                        asset: a,
                        kind: BookRowKind::EventEnd,
                        end: Some(claimed),
                        venue_ts_ms: e.venue_ts_ms,
                        recv_ns: e.recv_ns,
                    };
                    self.push_book(i, Row::Book(r));
                }
                if let Some(b) = self.mirror.get(a) {
                    self.bars
                        .top(a, e.recv_ns, b.bids.best_price(), b.asks.best_price());
                }
                let due = self.assets[i]
                    .as_ref()
                    .is_some_and(|s| s.clock.due(&self.policy, e.recv_ns));
                if due {
                    self.snapshot(a, e.venue_ts_ms, e.recv_ns);
                }
            }
        }
    }

    fn push_book(&mut self, i: usize, row: Row) {
        self.push(row);
        self.last_row[i] = Some(self.pending.len() - 1);
    }

    /// Marks an asset's book untrustworthy in the mirror and in the stored stream.
    fn invalidate(&mut self, a: AssetIndex, reason: ResyncReason, recv_ns: u64) {
        self.mirror.invalidate(a, reason);
        let venue_ts_ms = match self.assets.get_mut(a.get()).and_then(Option::as_mut) {
            Some(s) => {
                s.clock.events_since += 1;
                s.last_venue_ts_ms
            }
            None => 0,
        };
        let row = Row::Book(BookRow {
            asset: a,
            kind: BookRowKind::Invalidate { reason },
            end: None,
            venue_ts_ms,
            recv_ns,
        });
        // Not part of a venue event: nothing may be folded into it.
        self.push(row);
        if let Some(r) = self.last_row.get_mut(a.get()) {
            *r = None;
        }
    }

    fn snapshot(&mut self, a: AssetIndex, venue_ts_ms: u64, recv_ns: u64) {
        let Some(book) = self.mirror.get(a) else {
            return;
        };
        let img = image_of(book);
        self.push(Row::Snapshot(Box::new(SnapshotRow {
            asset: a,
            venue_ts_ms,
            recv_ns,
            book: img,
        })));
        self.metrics.snapshots_written.fetch_add(1, Relaxed);
        if let Some(s) = self.assets.get_mut(a.get()).and_then(Option::as_mut) {
            s.clock.taken(recv_ns);
        }
    }

    /// Snapshots every asset whose events are not covered by a snapshot and whose last one is
    /// older than the time cadence (or all of them with `force`), at event boundaries only.
    pub(super) fn sweep_snapshots(&mut self, force: bool) {
        let now = unix_now_ns();
        let due: Vec<(AssetIndex, u64)> = self
            .assets
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                let s = s.as_ref()?;
                let c = &s.clock;
                let stale = force || now.saturating_sub(c.last_ns) >= self.policy.every_ns;
                (c.events_since > 0 && !c.in_event && stale)
                    .then_some((AssetIndex(i as u32), s.last_venue_ts_ms))
            })
            .collect();
        for (a, venue_ts) in due {
            let recv = self
                .assets
                .get(a.get())
                .and_then(Option::as_ref)
                .map_or(0, |s| s.clock.last_ns);
            // The stored snapshot takes its time from its market's last event.
            self.snapshot(a, venue_ts, recv);
        }
    }
}
