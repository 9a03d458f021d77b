//! The batch writer: a cold thread that turns `StorageEvent`s into rows and commits them in
//! batches of `batch_rows` rows or every `batch_ms`, whichever comes first.
//!
//! Producers hold a `StorageSender`: `try_send` never blocks; a full channel hands the event
//! back to the caller and is counted (and, for trading events, lowers `trading_ok`). The writer
//! keeps a mirror of every book (the real `book::Books` code, fed the same messages), from which
//! it takes per-asset snapshots at the configured cadence, always at a venue-event boundary, and
//! the one-minute bars. When the database refuses a batch (locked, full, I/O) the rows stay
//! pending and are retried with exponential backoff; health flags go down and come back up on
//! the next commit. Pending market data is capped (`max_pending_rows`); beyond it market data
//! is dropped, counted, and the asset's stored stream gets a `ring_full` invalidation so a
//! rebuilt book says it cannot be trusted. Trading rows are never dropped by the writer.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam::channel::{self, Receiver, RecvTimeoutError, Sender, TrySendError};

use crate::book::{Books, ResyncReason};
use crate::core::{AssetIndex, TokenId};

use super::bars::Bars;
use super::batch::{Batch, BookRow, BookRowKind, ResyncRow, Row, SnapshotRow, TradeRow};
use super::config::StorageConfig;
use super::error::{FailureKind, RowError, StorageError, check_len};
use super::event::{BookChange, BookEvent, StorageEvent};
use super::metrics::{CommitNotice, MetricsSnapshot, StorageHealth, WriterMetrics};
use super::retention::Pruner;
use super::snapshots::{SnapshotClock, SnapshotPolicy, image_of};
use super::sqlite::{MAX_ID_LEN, MAX_LABEL_LEN, SqliteStore};
use super::store::EventStore;
use super::time::{NS_PER_MS, unix_now_ns};

/// How often idle assets are checked for a time-based snapshot.
const SWEEP_EVERY: Duration = Duration::from_secs(1);
/// How long the writer sleeps when there is nothing to do.
const IDLE_WAIT: Duration = Duration::from_millis(250);
/// A batch that keeps failing for a reason that is not a lock, a full disk or I/O is split into
/// single rows after this many attempts, so one poisoned row cannot stall the recorder.
const ISOLATE_AFTER: u32 = 3;

/// The producers' end of the storage channel. Cheap to clone: one per producing thread.
#[derive(Clone)]
pub struct StorageSender {
    tx: Sender<StorageEvent>,
    metrics: Arc<WriterMetrics>,
    health: Arc<StorageHealth>,
}

impl StorageSender {
    /// Enqueues without blocking. A full channel (or a stopped writer) returns the event to the
    /// caller and is counted; a lost trading event also lowers `trading_ok` until the next
    /// commit, because the engine would no longer know what it has recorded.
    #[inline]
    pub fn try_send(&self, ev: StorageEvent) -> Result<(), StorageEvent> {
        match self.tx.try_send(ev) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(ev) | TrySendError::Disconnected(ev)) => {
                self.metrics.dropped_channel_full.fetch_add(1, Relaxed);
                if ev.is_critical() {
                    self.metrics.dropped_critical.fetch_add(1, Relaxed);
                    self.health.critical_event_lost();
                }
                Err(ev)
            }
        }
    }

    /// Enqueues, waiting for room: for cold producers only (imports, tools), never the hot path.
    pub fn send_blocking(&self, ev: StorageEvent) -> Result<(), StorageError> {
        self.tx.send(ev).map_err(|_| StorageError::WriterStopped)
    }

    /// Events waiting in the channel now.
    #[inline]
    pub fn queue_depth(&self) -> usize {
        self.tx.len()
    }

    pub fn capacity(&self) -> usize {
        self.tx.capacity().unwrap_or(usize::MAX)
    }

    pub fn health(&self) -> &Arc<StorageHealth> {
        &self.health
    }
}

/// The owner's end: metrics, health, flush, size budget and shutdown.
pub struct WriterHandle {
    tx: Sender<StorageEvent>,
    thread: Option<JoinHandle<Result<(), StorageError>>>,
    metrics: Arc<WriterMetrics>,
    health: Arc<StorageHealth>,
    stop: Arc<AtomicBool>,
    size_limit: Arc<AtomicU64>,
}

impl WriterHandle {
    /// Opens the configured SQLite database (migrating it) and starts the writer thread.
    /// Errors opening the database are returned here, before any thread exists.
    pub fn spawn(cfg: &StorageConfig) -> Result<(Self, StorageSender), StorageError> {
        let store = SqliteStore::open(cfg)?;
        Self::spawn_with(Box::new(store), cfg, None)
    }

    /// Starts the writer over any store; `notices` (if given) receives every commit (sent with
    /// `try_send`: a slow reader misses notices, it never slows the writer).
    pub fn spawn_with(
        mut store: Box<dyn EventStore>,
        cfg: &StorageConfig,
        notices: Option<Sender<CommitNotice>>,
    ) -> Result<(Self, StorageSender), StorageError> {
        let (tx, rx) = channel::bounded(cfg.channel_capacity);
        let metrics = Arc::new(WriterMetrics::default());
        let health = Arc::new(StorageHealth::default());
        let stop = Arc::new(AtomicBool::new(false));
        let size_limit = Arc::new(AtomicU64::new(cfg.max_db_bytes));
        let last_batch = store.last_batch_id()?;
        metrics.committed_batch_id.store(last_batch, Relaxed);
        let mut w = Writer::new(
            store,
            cfg.clone(),
            rx,
            Arc::clone(&metrics),
            Arc::clone(&health),
            Arc::clone(&stop),
            Arc::clone(&size_limit),
            notices,
            last_batch + 1,
        );
        let thread = std::thread::Builder::new()
            .name("polyarb-storage".into())
            .spawn(move || w.run())
            .map_err(|e| StorageError::Io(format!("cannot start the storage thread: {e}")))?;
        let sender = StorageSender {
            tx: tx.clone(),
            metrics: Arc::clone(&metrics),
            health: Arc::clone(&health),
        };
        Ok((
            Self {
                tx,
                thread: Some(thread),
                metrics,
                health,
                stop,
                size_limit,
            },
            sender,
        ))
    }

    pub fn metrics(&self) -> &Arc<WriterMetrics> {
        &self.metrics
    }

    pub fn health(&self) -> &Arc<StorageHealth> {
        &self.health
    }

    /// Waits until every event enqueued before this call is committed (a durability barrier),
    /// or the timeout passes (the database may be refusing writes: see `health`).
    pub fn flush(&self, timeout: Duration) -> Result<CommitNotice, StorageError> {
        let (ack, done) = channel::bounded(1);
        self.tx
            .send_timeout(StorageEvent::Flush(ack), timeout)
            .map_err(|_| StorageError::WriterStopped)?;
        done.recv_timeout(timeout).map_err(|e| match e {
            RecvTimeoutError::Timeout => StorageError::Locked(format!(
                "flush not committed within {} ms (last failure: {})",
                timeout.as_millis(),
                self.health.last_failure().as_str()
            )),
            RecvTimeoutError::Disconnected => StorageError::WriterStopped,
        })
    }

    /// Changes the database size budget at run time (0 = none); applied before the next commit.
    pub fn set_size_limit(&self, bytes: u64) {
        self.size_limit.store(bytes, Relaxed);
    }

    /// Commits everything enqueued so far (snapshotting every book with unsnapshotted events),
    /// stops the thread and returns the final metrics. Producers should stop first: events
    /// enqueued after the writer drained its channel are not stored.
    pub fn shutdown(mut self) -> Result<MetricsSnapshot, StorageError> {
        self.stop_and_join()?;
        Ok(self.metrics.snapshot())
    }

    fn stop_and_join(&mut self) -> Result<(), StorageError> {
        let Some(t) = self.thread.take() else {
            return Ok(());
        };
        self.stop.store(true, Relaxed);
        // Wakes the writer; it sees `stop` after committing, drains the channel and exits.
        let (ack, _done) = channel::bounded(1);
        let _ = self.tx.send(StorageEvent::Flush(ack));
        t.join()
            .map_err(|_| StorageError::Sqlite("the storage thread panicked".into()))?
    }
}

impl Drop for WriterHandle {
    fn drop(&mut self) {
        let _ = self.stop_and_join();
    }
}

/// What the writer knows about one registered asset.
struct AssetSlot {
    token: TokenId,
    clock: SnapshotClock,
    /// Market data of this asset was dropped: the next stored row is a `ring_full` invalidation.
    gap: bool,
    last_venue_ts_ms: u64,
}

struct Writer {
    store: Box<dyn EventStore>,
    cfg: StorageConfig,
    rx: Receiver<StorageEvent>,
    metrics: Arc<WriterMetrics>,
    health: Arc<StorageHealth>,
    stop: Arc<AtomicBool>,
    size_limit: Arc<AtomicU64>,
    applied_limit: Option<u64>,
    notices: Option<Sender<CommitNotice>>,

    assets: Vec<Option<AssetSlot>>,
    mirror: Books,
    bars: Bars,
    policy: SnapshotPolicy,
    pending: Vec<Row>,
    pending_since: Option<Instant>,
    /// Index in `pending` of each asset's last book row (to fold its event end into it).
    last_row: Vec<Option<usize>>,
    /// Index in `pending` of the first row of each asset's open venue event (to give its rows
    /// the event's venue timestamp, which arrives with the event's end).
    event_start: Vec<Option<usize>>,
    flush_waiters: Vec<Sender<CommitNotice>>,

    next_batch_id: u64,
    total_rows: u64,
    failing: bool,
    attempts: u32,
    backoff: Duration,
    retry_at: Instant,
    last_failure_logged: FailureKind,

    /// Book rows landed in the ingest table and not yet compacted (tracked, not queried).
    staged: u64,
    last_compaction: Instant,

    last_sweep: Instant,
    pruner: Option<Pruner>,
    next_prune: Option<Instant>,
}

impl Writer {
    #[allow(clippy::too_many_arguments)]
    fn new(
        store: Box<dyn EventStore>,
        cfg: StorageConfig,
        rx: Receiver<StorageEvent>,
        metrics: Arc<WriterMetrics>,
        health: Arc<StorageHealth>,
        stop: Arc<AtomicBool>,
        size_limit: Arc<AtomicU64>,
        notices: Option<Sender<CommitNotice>>,
        next_batch_id: u64,
    ) -> Self {
        let now = Instant::now();
        let interval = cfg.retention.prune_interval_s;
        let next_prune = (interval > 0).then(|| now + Duration::from_secs(interval.min(30)));
        Self {
            policy: SnapshotPolicy {
                every_events: cfg.snapshot_every_events,
                every_ns: cfg.snapshot_every_ms.saturating_mul(NS_PER_MS),
            },
            backoff: Duration::from_millis(cfg.retry_min_ms),
            pending: Vec::with_capacity(cfg.batch_rows * 2),
            store,
            cfg,
            rx,
            metrics,
            health,
            stop,
            size_limit,
            applied_limit: None,
            notices,
            assets: Vec::new(),
            mirror: Books::new(),
            bars: Bars::default(),
            pending_since: None,
            last_row: Vec::new(),
            event_start: Vec::new(),
            flush_waiters: Vec::new(),
            next_batch_id,
            total_rows: 0,
            failing: false,
            attempts: 0,
            retry_at: now,
            last_failure_logged: FailureKind::None,
            staged: 0,
            last_compaction: now,
            last_sweep: now,
            pruner: None,
            next_prune,
        }
    }

    fn run(&mut self) -> Result<(), StorageError> {
        // Rows a crash left in the ingest table are compacted before anything new lands.
        self.staged = self.store.staged_rows().unwrap_or(0);
        while self.staged > 0 && self.compact_step() {}
        loop {
            let wait = self.wait_time();
            match self.rx.recv_timeout(wait) {
                Ok(ev) => {
                    self.ingest(ev);
                    // Take what is already queued, up to one batch, before deciding to commit.
                    while self.pending.len() < self.cfg.batch_rows {
                        match self.rx.try_recv() {
                            Ok(ev) => self.ingest(ev),
                            Err(_) => break,
                        }
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return self.finish(),
            }
            self.metrics.observe_queue(self.rx.len() as u64);
            if self.commit_due() {
                self.commit_all_due();
            }
            if self.stop.load(Relaxed) {
                return self.finish();
            }
            self.housekeeping();
        }
    }

    fn wait_time(&self) -> Duration {
        let now = Instant::now();
        if self.pending.is_empty() && self.flush_waiters.is_empty() {
            return IDLE_WAIT;
        }
        let at = if self.failing {
            self.retry_at
        } else {
            self.pending_since.unwrap_or(now) + self.cfg.batch_interval()
        };
        at.saturating_duration_since(now).min(IDLE_WAIT)
    }

    fn commit_due(&self) -> bool {
        if self.failing && Instant::now() < self.retry_at {
            return false;
        }
        !self.flush_waiters.is_empty()
            || self.pending.len() >= self.cfg.batch_rows
            || self
                .pending_since
                .is_some_and(|t| t.elapsed() >= self.cfg.batch_interval())
    }

    /// Commits until nothing is pending, a commit fails, or the batch is not yet due.
    fn commit_all_due(&mut self) {
        loop {
            if !self.commit_one() {
                return;
            }
            if self.pending.is_empty() {
                let notice = CommitNotice {
                    batch_id: self.metrics.committed_batch_id.load(Relaxed),
                    rows: 0,
                    total_rows: self.total_rows,
                };
                for w in self.flush_waiters.drain(..) {
                    let _ = w.try_send(notice);
                }
                return;
            }
            if self.pending.len() < self.cfg.batch_rows && self.flush_waiters.is_empty() {
                return;
            }
        }
    }

    /// Writes one batch; false if it failed (rows stay pending for the retry).
    fn commit_one(&mut self) -> bool {
        self.apply_size_limit();
        self.bars.drain_into(&mut self.pending);
        if self.pending.is_empty() {
            self.pending_since = None;
            return true;
        }
        // Catching up after a failure: several batches' worth per transaction, not all of it.
        let cap = self.cfg.batch_rows.saturating_mul(4).max(1);
        let n = self.pending.len().min(cap);
        let rows = if n == self.pending.len() {
            std::mem::take(&mut self.pending)
        } else {
            self.pending.drain(..n).collect()
        };
        let mut batch = Batch {
            id: self.next_batch_id,
            rows,
        };
        if self.attempts >= ISOLATE_AFTER {
            return self.commit_isolated(batch);
        }
        let book_rows = batch
            .rows
            .iter()
            .filter(|r| matches!(r, Row::Book(_)))
            .count() as u64;
        let t0 = Instant::now();
        match self.store.write_batch(&batch) {
            Ok(out) => {
                let ns = t0.elapsed().as_nanos() as u64;
                self.staged += book_rows;
                self.committed(batch.id, out.written, &out.rejected, ns);
                self.shift_last_rows(n);
                true
            }
            Err(e) => {
                // Put the rows back in front, as they were.
                batch.rows.append(&mut self.pending);
                self.pending = batch.rows;
                self.failed(&e);
                false
            }
        }
    }

    /// A batch that failed `ISOLATE_AFTER` times for a non-transient reason: write each row as
    /// its own batch and discard (count) the rows that still fail.
    fn commit_isolated(&mut self, batch: Batch) -> bool {
        let n = batch.rows.len();
        for row in batch.rows {
            let one = Batch {
                id: self.next_batch_id,
                rows: vec![row],
            };
            let t0 = Instant::now();
            match self.store.write_batch(&one) {
                Ok(out) => {
                    let ns = t0.elapsed().as_nanos() as u64;
                    if matches!(one.rows.first(), Some(Row::Book(_))) {
                        self.staged += out.written;
                    }
                    self.committed(one.id, out.written, &out.rejected, ns);
                }
                Err(e) if e.is_transient() => {
                    // The database itself is failing again: keep the row and retry later.
                    let mut rows = one.rows;
                    rows.append(&mut self.pending);
                    self.pending = rows;
                    self.failed(&e);
                    return false;
                }
                Err(e) => {
                    let err = RowError::Invalid(e.to_string());
                    tracing::warn!(error = %e, "storage: row refused by the database, discarded");
                    self.metrics.record_rejected(&err);
                }
            }
        }
        self.attempts = 0;
        self.shift_last_rows(n);
        true
    }

    fn committed(&mut self, id: u64, written: u64, rejected: &[RowError], ns: u64) {
        for e in rejected {
            self.metrics.record_rejected(e);
            tracing::debug!(error = %e, "storage: row refused");
        }
        self.next_batch_id = id + 1;
        self.total_rows += written;
        self.metrics.record_batch(ns, written, id);
        if self.failing {
            tracing::warn!(
                batch = id,
                failures = self.health.consecutive_failures(),
                "storage: writes recovered"
            );
        }
        self.health.recovered();
        self.failing = false;
        self.attempts = 0;
        self.last_failure_logged = FailureKind::None;
        self.backoff = Duration::from_millis(self.cfg.retry_min_ms);
        self.pending_since = (!self.pending.is_empty()).then(Instant::now);
        self.metrics
            .pending_rows
            .store(self.pending.len() as u64, Relaxed);
        self.metrics.staged_rows.store(self.staged, Relaxed);
        if let Some(n) = &self.notices {
            let _ = n.try_send(CommitNotice {
                batch_id: id,
                rows: written,
                total_rows: self.total_rows,
            });
        }
    }

    fn failed(&mut self, e: &StorageError) {
        let kind = e.kind();
        self.metrics.record_failure(kind);
        self.health.failed(kind);
        if kind != self.last_failure_logged {
            tracing::error!(error = %e, kind = kind.as_str(), pending = self.pending.len(),
                "storage: batch not committed; trading halted until writes recover");
            self.last_failure_logged = kind;
        }
        if !e.is_transient() {
            self.attempts += 1;
        }
        self.failing = true;
        self.retry_at = Instant::now() + self.backoff;
        self.backoff = (self.backoff * 2).min(Duration::from_millis(self.cfg.retry_max_ms));
        self.metrics
            .pending_rows
            .store(self.pending.len() as u64, Relaxed);
    }

    /// After the first `n` pending rows were committed, re-points the fold indices.
    fn shift_last_rows(&mut self, n: usize) {
        for r in self.last_row.iter_mut() {
            *r = r.and_then(|i| i.checked_sub(n));
        }
        for r in self.event_start.iter_mut() {
            // An event whose first rows were just committed continues at the new front.
            *r = r.map(|i| i.saturating_sub(n));
        }
    }

    fn apply_size_limit(&mut self) {
        let want = self.size_limit.load(Relaxed);
        if self.applied_limit != Some(want) {
            match self.store.set_size_limit(want) {
                Ok(()) => self.applied_limit = Some(want),
                Err(e) => tracing::warn!(error = %e, "storage: cannot apply the size budget"),
            }
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

    fn ingest(&mut self, ev: StorageEvent) {
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
        self.pending.len() >= self.cfg.max_pending_rows
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
        if self.pending.len() >= self.cfg.max_pending_rows {
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
    fn sweep_snapshots(&mut self, force: bool) {
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

    fn housekeeping(&mut self) {
        if self.last_sweep.elapsed() >= SWEEP_EVERY {
            self.last_sweep = Instant::now();
            self.sweep_snapshots(false);
        }
        if self.failing {
            return;
        }
        let idle = self.rx.is_empty() && self.pending.is_empty();
        if self.staged >= self.cfg.compact_rows as u64
            || (idle
                && self.staged > 0
                && self.last_compaction.elapsed()
                    >= Duration::from_millis(self.cfg.compact_idle_ms))
        {
            self.compact_step();
        }
        // Retention runs only when the channel is mostly empty, one bounded step at a time.
        let quiet = self.rx.len() < self.cfg.channel_capacity / 4
            && self.pending.len() < self.cfg.batch_rows;
        if !quiet {
            return;
        }
        if self.pruner.is_none() && self.next_prune.is_some_and(|t| Instant::now() >= t) {
            self.pruner = Some(Pruner::new(&self.cfg, unix_now_ns()));
        }
        if let Some(p) = self.pruner.as_mut() {
            match p.step(self.store.as_mut()) {
                Ok(false) => {}
                Ok(true) => {
                    let r = p.report();
                    self.metrics
                        .pruned_events
                        .fetch_add(r.deleted_events, Relaxed);
                    self.metrics
                        .pruned_snapshots
                        .fetch_add(r.deleted_snapshots, Relaxed);
                    self.metrics
                        .export_files
                        .fetch_add(r.files.len() as u64, Relaxed);
                    if r.deleted_events > 0 {
                        tracing::info!(
                            events = r.deleted_events,
                            files = r.files.len(),
                            snapshots = r.deleted_snapshots,
                            "storage: retention pruned"
                        );
                    }
                    self.pruner = None;
                    self.next_prune = Some(
                        Instant::now() + Duration::from_secs(self.cfg.retention.prune_interval_s),
                    );
                }
                Err(e) => {
                    self.metrics.prune_failures.fetch_add(1, Relaxed);
                    tracing::warn!(error = %e, "storage: retention step failed; retrying later");
                    self.pruner = None;
                    self.next_prune = Some(Instant::now() + Duration::from_secs(60));
                }
            }
        }
    }

    /// Moves one chunk of landed book events into the indexed table; false if nothing moved.
    fn compact_step(&mut self) -> bool {
        let t0 = Instant::now();
        self.last_compaction = t0;
        match self.store.compact(self.cfg.compact_rows) {
            Ok((moved, dups)) => {
                let ns = t0.elapsed().as_nanos() as u64;
                self.staged = self.staged.saturating_sub(moved);
                if moved == 0 {
                    // The tracked count drifted (rows refused inside a batch): resynchronise.
                    self.staged = 0;
                }
                let m = &self.metrics;
                m.compactions.fetch_add(1, Relaxed);
                m.compacted_rows.fetch_add(moved - dups, Relaxed);
                m.rejected_duplicate.fetch_add(dups, Relaxed);
                m.last_compaction_ns.store(ns, Relaxed);
                m.max_compaction_ns.fetch_max(ns, Relaxed);
                m.staged_rows.store(self.staged, Relaxed);
                moved > 0
            }
            Err(e) => {
                self.metrics.compaction_failures.fetch_add(1, Relaxed);
                tracing::warn!(error = %e, "storage: compaction failed; landed rows stay readable, retrying later");
                false
            }
        }
    }

    /// Drains the channel, snapshots every book with unsnapshotted events, commits, and answers
    /// flush waiters. Keeps retrying a failing database for a bounded time.
    fn finish(&mut self) -> Result<(), StorageError> {
        while let Ok(ev) = self.rx.try_recv() {
            self.ingest(ev);
        }
        self.sweep_snapshots(true);
        let deadline = Instant::now() + Duration::from_millis(self.cfg.retry_max_ms.max(100) * 5);
        loop {
            if !self.commit_one() {
                if Instant::now() >= deadline {
                    let n = self.pending.len();
                    return Err(StorageError::Io(format!(
                        "storage stopped with {n} rows not committed (last failure: {})",
                        self.health.last_failure().as_str()
                    )));
                }
                std::thread::sleep(self.retry_at.saturating_duration_since(Instant::now()));
                continue;
            }
            if self.pending.is_empty() && self.bars.is_empty() {
                break;
            }
        }
        let notice = CommitNotice {
            batch_id: self.metrics.committed_batch_id.load(Relaxed),
            rows: 0,
            total_rows: self.total_rows,
        };
        for w in self.flush_waiters.drain(..) {
            let _ = w.try_send(notice);
        }
        // Leave the database at rest with everything in the indexed table.
        while self.staged > 0 && self.compact_step() {}
        Ok(())
    }
}
