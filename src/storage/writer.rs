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
//!
//! The public ends are in `handle.rs`; turning events into rows is `recorder.rs`.

use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use crossbeam::channel::{Receiver, Sender, TryRecvError};

use super::batch::{Batch, Row};
use super::config::StorageConfig;
use super::error::{FailureKind, RowError, StorageError};
use super::event::StorageEvent;
use super::metrics::{CommitNotice, StorageHealth, WriterMetrics};
use super::recorder::Recorder;
use super::retention::Pruner;
use super::store::EventStore;
use super::time::unix_now_ns;

/// How often idle assets are checked for a time-based snapshot.
const SWEEP_EVERY: Duration = Duration::from_secs(1);
/// How often an idle writer looks at its channel (it never blocks in it; see `run`).
const POLL_EVERY: Duration = Duration::from_millis(2);
/// How long the writer sleeps when there is nothing to do.
const IDLE_WAIT: Duration = Duration::from_millis(250);
/// The window over which the writer measures how fast events arrive.
const RATE_WINDOW: Duration = Duration::from_millis(250);
/// Compaction cost assumed before the first compaction has been timed (wall ns per row; the
/// measured figure is 3–8 µs on a loaded 2-core machine).
const INITIAL_COMPACT_NS_PER_ROW: u64 = 10_000;
/// Compaction runs beside the feed only while landing and compaction together would keep the
/// writer busy at most this share of the time (per mille) at the measured arrival rate; a faster
/// burst is landed only (up to `max_staged_rows`) and compacted when it eases. Measured in
/// `polyarb flood` at 200k changes/s on 2 cores: compacting during the burst needed ~1.3 cores
/// for the writer, and the channel overflowed whenever a chunk lost its core.
const SUSTAINABLE_BUSY_PERMILLE: u128 = 750;
/// Compactions in a row that a waiting flush may stop (rolled back); the next one runs through.
const MAX_STOPS_IN_A_ROW: u32 = 3;
/// A batch that keeps failing for a reason that is not a lock, a full disk or I/O is split into
/// single rows after this many attempts, so one poisoned row cannot stall the recorder.
const ISOLATE_AFTER: u32 = 3;

pub(super) struct Writer {
    store: Box<dyn EventStore>,
    cfg: StorageConfig,
    rx: Receiver<StorageEvent>,
    metrics: Arc<WriterMetrics>,
    health: Arc<StorageHealth>,
    stop: Arc<AtomicBool>,
    size_limit: Arc<AtomicU64>,
    applied_limit: Option<u64>,
    notices: Option<Sender<CommitNotice>>,

    rec: Recorder,
    /// The previous batch's row vector, emptied, to become the next pending one: a fresh vector
    /// per batch regrew by doubling (a dozen reallocations, the last ones `mmap`ed and faulted
    /// in page by page at 4,000 rows).
    spare_rows: Vec<Row>,

    next_batch_id: u64,
    total_rows: u64,
    failing: bool,
    attempts: u32,
    backoff: Duration,
    retry_at: Instant,
    last_failure_logged: FailureKind,

    /// Book rows and trades landed in the ingest tables and not yet compacted (tracked, not
    /// queried).
    staged: u64,
    /// Compactions stopped for a waiting flush since the last one that completed.
    stopped_in_a_row: u32,
    last_compaction: Instant,
    /// Wall ns per row of recent compactions (smoothed) and of the last one: the larger is what
    /// `compaction_sustainable` charges per arriving event. It includes the events drained into
    /// the recorder meanwhile, whose time the window's `window_busy_ns` then leaves out.
    compact_ns_per_row: u64,
    last_compact_ns_per_row: u64,
    /// Events received in the current rate window, when it began, and the rate of the last one.
    window_events: u64,
    /// Wall time spent ingesting and committing in the current rate window, and the wall ns per
    /// event that gave over the last window with enough events to tell.
    window_busy_ns: u64,
    ingest_ns_per_event: u64,
    /// Compaction is held back by a burst (see `SUSTAINABLE_BUSY_PERMILLE`).
    deferring: bool,
    window_start: Instant,
    inflow_per_s: u64,

    last_sweep: Instant,
    /// When the bars were last merged into the database, and whether the writer is finishing
    /// (then every commit takes them).
    last_bars: Instant,
    finishing: bool,
    pruner: Option<Pruner>,
    next_prune: Option<Instant>,
}

impl Writer {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new(
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
            rec: Recorder::new(&cfg, Arc::clone(&metrics)),
            spare_rows: Vec::with_capacity(cfg.batch_rows.saturating_mul(2)),
            backoff: Duration::from_millis(cfg.retry_min_ms),
            store,
            cfg,
            rx,
            metrics,
            health,
            stop,
            size_limit,
            applied_limit: None,
            notices,
            next_batch_id,
            total_rows: 0,
            failing: false,
            attempts: 0,
            retry_at: now,
            last_failure_logged: FailureKind::None,
            staged: 0,
            stopped_in_a_row: 0,
            last_compaction: now,
            compact_ns_per_row: INITIAL_COMPACT_NS_PER_ROW,
            last_compact_ns_per_row: INITIAL_COMPACT_NS_PER_ROW,
            window_events: 0,
            window_busy_ns: 0,
            ingest_ns_per_event: 0,
            deferring: false,
            window_start: now,
            inflow_per_s: 0,
            last_sweep: now,
            last_bars: now,
            finishing: false,
            pruner: None,
            next_prune,
        }
    }

    pub(super) fn run(&mut self) -> Result<(), StorageError> {
        // Rows a crash left in the ingest table are compacted before anything new lands.
        self.staged = self.store.staged_rows().unwrap_or(0);
        while self.staged > 0 && self.compact_step(self.cfg.compact_rows) {}
        loop {
            let wait = self.wait_time();
            // Polled, never a blocking receive: a receiver blocked in the channel makes every
            // send from the hot path pay a futex wake-up (a syscall, ~8 µs per frame measured
            // in the demo); a sleeping poller is never woken by a send.
            let busy_from = Instant::now();
            let got = match self.rx.try_recv() {
                Ok(ev) => {
                    self.rec.ingest(ev);
                    self.window_events += 1;
                    // Take what is already queued, up to one batch, before deciding to commit.
                    let upto = self.cfg.batch_rows;
                    take_queued(&self.rx, &mut self.rec, &mut self.window_events, upto);
                    true
                }
                Err(TryRecvError::Empty) => {
                    std::thread::sleep(wait.min(POLL_EVERY));
                    false
                }
                Err(TryRecvError::Disconnected) => return self.finish(),
            };
            self.metrics.observe_queue(self.rx.len() as u64);
            if self.commit_due() {
                self.commit_all_due();
            }
            if got {
                self.window_busy_ns += busy_from.elapsed().as_nanos() as u64;
            }
            self.measure_inflow();
            if self.stop.load(Relaxed) {
                return self.finish();
            }
            self.housekeeping();
        }
    }

    fn wait_time(&self) -> Duration {
        let now = Instant::now();
        if self.rec.pending.is_empty() && self.rec.flush_waiters.is_empty() {
            return IDLE_WAIT;
        }
        let at = if self.failing {
            self.retry_at
        } else {
            self.rec.pending_since.unwrap_or(now) + self.cfg.batch_interval()
        };
        at.saturating_duration_since(now).min(IDLE_WAIT)
    }

    fn commit_due(&self) -> bool {
        if self.failing && Instant::now() < self.retry_at {
            return false;
        }
        !self.rec.flush_waiters.is_empty()
            || self.rec.pending.len() >= self.cfg.batch_rows
            || (!self.rec.bars_empty() && self.bars_due())
            || self
                .rec
                .pending_since
                .is_some_and(|t| t.elapsed() >= self.cfg.batch_interval())
    }

    /// Whether the next commit takes the bars accumulated so far (see `bars_every_ms`).
    fn bars_due(&self) -> bool {
        self.finishing
            || !self.rec.flush_waiters.is_empty()
            || self.last_bars.elapsed() >= Duration::from_millis(self.cfg.bars_every_ms)
    }

    /// Commits until nothing is pending, a commit fails, or the batch is not yet due.
    fn commit_all_due(&mut self) {
        loop {
            if !self.commit_one() {
                return;
            }
            if self.rec.pending.is_empty() {
                let notice = CommitNotice {
                    batch_id: self.metrics.committed_batch_id.load(Relaxed),
                    rows: 0,
                    total_rows: self.total_rows,
                };
                for w in self.rec.flush_waiters.drain(..) {
                    let _ = w.try_send(notice);
                }
                return;
            }
            if self.rec.pending.len() < self.cfg.batch_rows && self.rec.flush_waiters.is_empty() {
                return;
            }
        }
    }

    /// Writes one batch; false if it failed (rows stay pending for the retry).
    fn commit_one(&mut self) -> bool {
        self.apply_size_limit();
        if self.bars_due() {
            self.rec.drain_bars();
            self.last_bars = Instant::now();
        }
        if self.rec.pending.is_empty() {
            self.rec.pending_since = None;
            return true;
        }
        // Catching up after a failure: several batches' worth per transaction, not all of it.
        let cap = self.cfg.batch_rows.saturating_mul(4).max(1);
        let n = self.rec.pending.len().min(cap);
        let rows = if n == self.rec.pending.len() {
            let spare = std::mem::take(&mut self.spare_rows);
            std::mem::replace(&mut self.rec.pending, spare)
        } else {
            self.rec.pending.drain(..n).collect()
        };
        let mut batch = Batch {
            id: self.next_batch_id,
            rows,
        };
        if self.attempts >= ISOLATE_AFTER {
            return self.commit_isolated(batch);
        }
        // Market data (book rows and trades) lands in the ingest tables and waits for compaction.
        let landed_rows = batch.rows.iter().filter(|r| r.is_market_data()).count() as u64;
        let t0 = Instant::now();
        match self.store.write_batch(&batch) {
            Ok(out) => {
                let ns = t0.elapsed().as_nanos() as u64;
                self.staged += landed_rows;
                self.committed(batch.id, out.written, &out.rejected, ns);
                self.rec.committed_front(n);
                batch.rows.clear();
                if batch.rows.capacity() > self.spare_rows.capacity() {
                    self.spare_rows = batch.rows;
                }
                true
            }
            Err(e) => {
                // Put the rows back in front, as they were.
                batch.rows.append(&mut self.rec.pending);
                self.rec.pending = batch.rows;
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
                    if one.rows.first().is_some_and(Row::is_market_data) {
                        self.staged += out.written;
                    }
                    self.committed(one.id, out.written, &out.rejected, ns);
                }
                Err(e) if e.is_transient() => {
                    // The database itself is failing again: keep the row and retry later.
                    let mut rows = one.rows;
                    rows.append(&mut self.rec.pending);
                    self.rec.pending = rows;
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
        self.rec.committed_front(n);
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
        self.rec.pending_since = (!self.rec.pending.is_empty()).then(Instant::now);
        self.metrics
            .pending_rows
            .store(self.rec.pending.len() as u64, Relaxed);
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
            tracing::error!(error = %e, kind = kind.as_str(), pending = self.rec.pending.len(),
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
            .store(self.rec.pending.len() as u64, Relaxed);
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

    fn housekeeping(&mut self) {
        if self.last_sweep.elapsed() >= SWEEP_EVERY {
            self.last_sweep = Instant::now();
            self.record_cpu();
            self.rec.sweep_snapshots(false);
        }
        if self.failing {
            return;
        }
        let idle = self.rx.is_empty() && self.rec.pending.is_empty();
        let sustainable = self.compaction_sustainable();
        if sustainable {
            self.deferring = false;
        }
        if self.staged >= self.cfg.max_staged_rows as u64 {
            // The landing table is as large as readers should have to scan: compact whatever
            // the channel does (a burst longer than this is refused and counted).
            self.compact_step(self.cfg.compact_rows);
        } else if !sustainable {
            // A burst faster than the writer can land and index together: land only.
            if !self.deferring {
                self.deferring = true;
                self.metrics.compaction_deferrals.fetch_add(1, Relaxed);
            }
        } else if self.staged >= self.cfg.compact_rows as u64
            || (idle
                && self.staged > 0
                && self.last_compaction.elapsed()
                    >= Duration::from_millis(self.cfg.compact_idle_ms))
        {
            self.compact_step(self.cfg.compact_rows);
        }
        // Retention runs only when the channel is mostly empty, one bounded step at a time.
        let quiet = self.rx.len() < self.cfg.channel_capacity / 4
            && self.rec.pending.len() < self.cfg.batch_rows;
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
                    refresh_planner_stats(self.store.as_mut());
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

    /// Updates the measured arrival rate once per `RATE_WINDOW`.
    fn measure_inflow(&mut self) {
        let el = self.window_start.elapsed();
        if el >= RATE_WINDOW {
            self.inflow_per_s =
                (u128::from(self.window_events) * 1_000_000_000 / el.as_nanos().max(1)) as u64;
            if self.window_events >= 1000 {
                self.ingest_ns_per_event = self.window_busy_ns / self.window_events;
            }
            self.window_events = 0;
            self.window_busy_ns = 0;
            self.window_start = Instant::now();
        }
    }

    /// Whether landing and compacting every arriving event would keep the writer at most
    /// `SUSTAINABLE_BUSY_PERMILLE` busy (both costs measured as wall time, so a shared core
    /// counts).
    fn compaction_sustainable(&self) -> bool {
        let compact = self.compact_ns_per_row.max(self.last_compact_ns_per_row);
        sustainable(self.inflow_per_s, self.ingest_ns_per_event + compact)
    }

    /// Publishes the thread's on-CPU time and bytes written (two small file reads: once a
    /// second, and at the end).
    fn record_cpu(&self) {
        if let Some(ns) = crate::obs::clock::thread_cpu_ns() {
            self.metrics.writer_cpu_ns.store(ns, Relaxed);
        }
        if let Some(b) = crate::obs::clock::thread_write_bytes() {
            self.metrics.writer_write_bytes.store(b, Relaxed);
        }
    }

    /// Moves up to `chunk` landed book events (and the landed trades) into the indexed tables,
    /// draining the channel meanwhile; false if nothing moved.
    fn compact_step(&mut self, chunk: usize) -> bool {
        let t0 = Instant::now();
        self.last_compaction = t0;
        let cpu0 = crate::obs::clock::thread_cpu_ns();
        // A flush waiting behind a compaction is an order journal's barrier before sending (or
        // a shutdown): it stops the compaction, unless the landing table is at its cap or the
        // last few were stopped already (so compaction cannot starve).
        let may_stop = !self.finishing
            && self.staged < self.cfg.max_staged_rows as u64
            && self.stopped_in_a_row < MAX_STOPS_IN_A_ROW;
        let (rx, rec, events) = (&self.rx, &mut self.rec, &mut self.window_events);
        let result = self.store.compact_yielding(chunk.max(1), &mut || {
            // The channel keeps flowing while the indexed tables are written: what arrives waits
            // in memory for the next commit, and the hot path never meets a full channel because
            // a compaction is long.
            take_queued(rx, rec, events, usize::MAX);
            if may_stop && !rec.flush_waiters.is_empty() {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        if let (Some(a), Some(b)) = (cpu0, crate::obs::clock::thread_cpu_ns()) {
            self.metrics
                .compaction_cpu_ns
                .fetch_add(b.saturating_sub(a), Relaxed);
        }
        match result {
            Ok(None) => {
                self.stopped_in_a_row += 1;
                self.metrics.compactions_interrupted.fetch_add(1, Relaxed);
                false
            }
            Ok(Some((moved, dups))) => {
                self.stopped_in_a_row = 0;
                let ns = t0.elapsed().as_nanos() as u64;
                if moved >= 1000 {
                    // Smoothed, so one slow chunk (a checkpoint, a busy core) counts but does not
                    // decide alone.
                    let now = ns / moved;
                    self.compact_ns_per_row = (self.compact_ns_per_row + now) / 2;
                    self.last_compact_ns_per_row = now;
                }
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
        self.finishing = true;
        take_queued(&self.rx, &mut self.rec, &mut self.window_events, usize::MAX);
        self.rec.sweep_snapshots(true);
        let deadline = Instant::now() + Duration::from_millis(self.cfg.retry_max_ms.max(100) * 5);
        loop {
            if !self.commit_one() {
                if Instant::now() >= deadline {
                    let n = self.rec.pending.len();
                    return Err(StorageError::Io(format!(
                        "storage stopped with {n} rows not committed (last failure: {})",
                        self.health.last_failure().as_str()
                    )));
                }
                std::thread::sleep(self.retry_at.saturating_duration_since(Instant::now()));
                continue;
            }
            if self.rec.pending.is_empty() && self.rec.bars_empty() {
                break;
            }
        }
        let notice = CommitNotice {
            batch_id: self.metrics.committed_batch_id.load(Relaxed),
            rows: 0,
            total_rows: self.total_rows,
        };
        for w in self.rec.flush_waiters.drain(..) {
            let _ = w.try_send(notice);
        }
        // Leave the database at rest with everything in the indexed table.
        while self.staged > 0 && self.compact_step(self.cfg.compact_rows) {}
        refresh_planner_stats(self.store.as_mut());
        self.record_cpu();
        Ok(())
    }
}

/// Hands what is already queued to the recorder while fewer than `upto` rows are pending,
/// counting the events; never waits.
fn take_queued(rx: &Receiver<StorageEvent>, rec: &mut Recorder, events: &mut u64, upto: usize) {
    while rec.pending.len() < upto {
        match rx.try_recv() {
            Ok(ev) => {
                rec.ingest(ev);
                *events += 1;
            }
            Err(_) => return,
        }
    }
}

/// Refreshes the planner's statistics (so level-history queries use their index); a failure
/// only costs query plans, so it is logged, not raised.
fn refresh_planner_stats(store: &mut dyn EventStore) {
    if let Err(e) = store.optimize() {
        tracing::warn!(error = %e, "storage: planner statistics not refreshed");
    }
}

/// Whether `inflow_per_s` events of `ns_per_event` wall ns each keep a thread at most
/// `SUSTAINABLE_BUSY_PERMILLE` busy.
fn sustainable(inflow_per_s: u64, ns_per_event: u64) -> bool {
    u128::from(inflow_per_s)
        .saturating_mul(u128::from(ns_per_event))
        .saturating_mul(1000)
        <= SUSTAINABLE_BUSY_PERMILLE * 1_000_000_000
}

#[cfg(test)]
mod tests {
    use super::sustainable;

    #[test]
    fn compaction_is_held_back_only_by_bursts_the_writer_cannot_carry() {
        // (events/s, landing + compaction ns per event) → compaction runs beside the feed
        let cases = [
            (0, 10_000, true),
            (5_000, 10_000, true),
            (100_000, 4_500, true),
            (150_000, 5_000, true),
            (160_000, 5_000, false),
            (290_000, 4_500, false),
            (u64::MAX, u64::MAX, false),
        ];
        for (inflow, ns, runs) in cases {
            assert_eq!(sustainable(inflow, ns), runs, "{inflow}/s at {ns} ns");
        }
    }
}
