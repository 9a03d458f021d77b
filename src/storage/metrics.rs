//! What the storage writer reports to other threads: counters and gauges as atomics (read at any
//! time without stopping the writer), the batch-latency histogram behind a mutex the cold thread
//! takes once per batch, and the health flags strategies must obey.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering::Relaxed};

use serde::Serialize;

use crate::obs::{LatencyHistogram, LatencySummary};

use super::error::{FailureKind, RowError};

/// A batch is durable: every event enqueued before its last row is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct CommitNotice {
    pub batch_id: u64,
    /// Rows in this batch that were stored.
    pub rows: u64,
    /// Rows stored by this writer since it started.
    pub total_rows: u64,
}

/// Whether storage works, for the threads that depend on it.
///
/// `trading_ok` is the flag strategies check before emitting an order: it is false while the
/// writer cannot commit (orders and fills would not be recorded, so the engine could not know
/// its own exposure after a crash) or after an order/fill/journal event could not even be
/// enqueued. It becomes true again after the next successful commit.
#[derive(Debug)]
pub struct StorageHealth {
    trading_ok: AtomicBool,
    market_data_ok: AtomicBool,
    last_failure: AtomicU8,
    consecutive_failures: AtomicU64,
}

impl Default for StorageHealth {
    fn default() -> Self {
        Self {
            trading_ok: AtomicBool::new(true),
            market_data_ok: AtomicBool::new(true),
            last_failure: AtomicU8::new(FailureKind::None as u8),
            consecutive_failures: AtomicU64::new(0),
        }
    }
}

impl StorageHealth {
    /// Strategies must not open exposure while this is false.
    #[inline]
    pub fn trading_ok(&self) -> bool {
        self.trading_ok.load(Relaxed)
    }

    /// Market data is being recorded (false while commits fail).
    #[inline]
    pub fn market_data_ok(&self) -> bool {
        self.market_data_ok.load(Relaxed)
    }

    /// The kind of the most recent failure (kept after recovery, for the report).
    pub fn last_failure(&self) -> FailureKind {
        FailureKind::from_u8(self.last_failure.load(Relaxed))
    }

    pub fn consecutive_failures(&self) -> u64 {
        self.consecutive_failures.load(Relaxed)
    }

    pub(super) fn failed(&self, kind: FailureKind) {
        self.last_failure.store(kind as u8, Relaxed);
        self.consecutive_failures.fetch_add(1, Relaxed);
        self.trading_ok.store(false, Relaxed);
        self.market_data_ok.store(false, Relaxed);
    }

    pub(super) fn recovered(&self) {
        self.consecutive_failures.store(0, Relaxed);
        self.trading_ok.store(true, Relaxed);
        self.market_data_ok.store(true, Relaxed);
    }

    /// A critical event could not be enqueued: halt trading until the next commit.
    pub(super) fn critical_event_lost(&self) {
        self.trading_ok.store(false, Relaxed);
    }
}

/// The writer's counters. Every field is written by one thread and read by any.
pub struct WriterMetrics {
    /// Events taken off the channel.
    pub events_received: AtomicU64,
    /// Events a producer could not enqueue (channel full or writer gone): returned to it.
    pub dropped_channel_full: AtomicU64,
    /// Of those, order/fill/journal/position/rule events (trading halts).
    pub dropped_critical: AtomicU64,
    /// Market-data events the writer itself dropped while the database refused writes and its
    /// pending rows hit `max_pending_rows`.
    pub dropped_pending_full: AtomicU64,
    /// Rows stored.
    pub rows_written: AtomicU64,
    pub batches_committed: AtomicU64,
    /// The newest committed batch id (what crash tests compare against the file).
    pub committed_batch_id: AtomicU64,
    pub snapshots_written: AtomicU64,
    /// Rows refused one by one, by reason.
    pub rejected_oversized: AtomicU64,
    pub rejected_duplicate: AtomicU64,
    pub rejected_unregistered: AtomicU64,
    pub rejected_invalid: AtomicU64,
    /// Batches that failed as a whole, by kind (each retry that fails counts).
    pub failed_locked: AtomicU64,
    pub failed_full: AtomicU64,
    pub failed_io: AtomicU64,
    pub failed_other: AtomicU64,
    /// Channel occupancy seen by the writer at its last wake-up, and the maximum seen.
    pub queue_depth: AtomicU64,
    pub queue_depth_max: AtomicU64,
    /// Rows waiting for the next commit.
    pub pending_rows: AtomicU64,
    /// Duration of the last commit and the longest (ns).
    pub last_batch_ns: AtomicU64,
    pub max_batch_ns: AtomicU64,
    /// Compaction (ingest table → indexed table): landed rows waiting, runs, rows moved, failures,
    /// duration of the last and longest run (ns).
    pub staged_rows: AtomicU64,
    pub compactions: AtomicU64,
    /// Bursts during which compaction was held back (landing only) because landing and
    /// compacting together would have saturated the writer.
    pub compaction_deferrals: AtomicU64,
    /// Compactions rolled back so that a durability barrier (an order journal's flush) waiting
    /// behind them is answered at once; the rows are compacted by a later run.
    pub compactions_interrupted: AtomicU64,
    pub compacted_rows: AtomicU64,
    pub compaction_failures: AtomicU64,
    pub last_compaction_ns: AtomicU64,
    pub max_compaction_ns: AtomicU64,
    /// WAL checkpoints run by the checkpoint thread, failures, the longest (ns), and the WAL's
    /// size in frames at the last one.
    pub checkpoints: AtomicU64,
    pub checkpoint_failures: AtomicU64,
    pub max_checkpoint_ns: AtomicU64,
    pub wal_frames: AtomicU64,
    /// On-CPU time of the writer thread so far, and of its compactions (ns; 0 where the
    /// platform does not report thread CPU time).
    pub writer_cpu_ns: AtomicU64,
    pub compaction_cpu_ns: AtomicU64,
    /// Bytes written to the database's files so far by the writer thread (its commits and
    /// compactions go to the WAL) and by the checkpoint thread (WAL pages copied into the
    /// database); 0 where the platform does not count a thread's writes.
    pub writer_write_bytes: AtomicU64,
    pub checkpoint_write_bytes: AtomicU64,
    /// Retention: rows exported and deleted, snapshots deleted, files written, failures.
    pub pruned_events: AtomicU64,
    pub pruned_snapshots: AtomicU64,
    pub export_files: AtomicU64,
    pub prune_failures: AtomicU64,
    /// The batch commit latency distribution (ns).
    batch_latency: Mutex<LatencyHistogram>,
}

impl Default for WriterMetrics {
    fn default() -> Self {
        Self {
            events_received: AtomicU64::new(0),
            dropped_channel_full: AtomicU64::new(0),
            dropped_critical: AtomicU64::new(0),
            dropped_pending_full: AtomicU64::new(0),
            rows_written: AtomicU64::new(0),
            batches_committed: AtomicU64::new(0),
            committed_batch_id: AtomicU64::new(0),
            snapshots_written: AtomicU64::new(0),
            rejected_oversized: AtomicU64::new(0),
            rejected_duplicate: AtomicU64::new(0),
            rejected_unregistered: AtomicU64::new(0),
            rejected_invalid: AtomicU64::new(0),
            failed_locked: AtomicU64::new(0),
            failed_full: AtomicU64::new(0),
            failed_io: AtomicU64::new(0),
            failed_other: AtomicU64::new(0),
            queue_depth: AtomicU64::new(0),
            queue_depth_max: AtomicU64::new(0),
            pending_rows: AtomicU64::new(0),
            last_batch_ns: AtomicU64::new(0),
            max_batch_ns: AtomicU64::new(0),
            staged_rows: AtomicU64::new(0),
            compactions: AtomicU64::new(0),
            compaction_deferrals: AtomicU64::new(0),
            compactions_interrupted: AtomicU64::new(0),
            compacted_rows: AtomicU64::new(0),
            compaction_failures: AtomicU64::new(0),
            last_compaction_ns: AtomicU64::new(0),
            max_compaction_ns: AtomicU64::new(0),
            checkpoints: AtomicU64::new(0),
            checkpoint_failures: AtomicU64::new(0),
            max_checkpoint_ns: AtomicU64::new(0),
            wal_frames: AtomicU64::new(0),
            writer_cpu_ns: AtomicU64::new(0),
            compaction_cpu_ns: AtomicU64::new(0),
            writer_write_bytes: AtomicU64::new(0),
            checkpoint_write_bytes: AtomicU64::new(0),
            pruned_events: AtomicU64::new(0),
            pruned_snapshots: AtomicU64::new(0),
            export_files: AtomicU64::new(0),
            prune_failures: AtomicU64::new(0),
            batch_latency: Mutex::new(LatencyHistogram::new("storage_batch")),
        }
    }
}

impl std::fmt::Debug for WriterMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.snapshot().fmt(f)
    }
}

/// A plain copy of the metrics, for reports and JSON.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MetricsSnapshot {
    pub events_received: u64,
    pub dropped_channel_full: u64,
    pub dropped_critical: u64,
    pub dropped_pending_full: u64,
    pub rows_written: u64,
    pub batches_committed: u64,
    pub committed_batch_id: u64,
    pub snapshots_written: u64,
    pub rejected_oversized: u64,
    pub rejected_duplicate: u64,
    pub rejected_unregistered: u64,
    pub rejected_invalid: u64,
    pub failed_locked: u64,
    pub failed_full: u64,
    pub failed_io: u64,
    pub failed_other: u64,
    pub queue_depth: u64,
    pub queue_depth_max: u64,
    pub pending_rows: u64,
    pub last_batch_ns: u64,
    pub max_batch_ns: u64,
    pub staged_rows: u64,
    pub compactions: u64,
    pub compaction_deferrals: u64,
    pub compactions_interrupted: u64,
    pub compacted_rows: u64,
    pub compaction_failures: u64,
    pub last_compaction_ns: u64,
    pub max_compaction_ns: u64,
    pub checkpoints: u64,
    pub checkpoint_failures: u64,
    pub max_checkpoint_ns: u64,
    pub wal_frames: u64,
    pub writer_cpu_ns: u64,
    pub compaction_cpu_ns: u64,
    pub writer_write_bytes: u64,
    pub checkpoint_write_bytes: u64,
    pub pruned_events: u64,
    pub pruned_snapshots: u64,
    pub export_files: u64,
    pub prune_failures: u64,
    pub batch_latency_ns: LatencySummary,
}

impl WriterMetrics {
    pub fn snapshot(&self) -> MetricsSnapshot {
        let g = |a: &AtomicU64| a.load(Relaxed);
        MetricsSnapshot {
            events_received: g(&self.events_received),
            dropped_channel_full: g(&self.dropped_channel_full),
            dropped_critical: g(&self.dropped_critical),
            dropped_pending_full: g(&self.dropped_pending_full),
            rows_written: g(&self.rows_written),
            batches_committed: g(&self.batches_committed),
            committed_batch_id: g(&self.committed_batch_id),
            snapshots_written: g(&self.snapshots_written),
            rejected_oversized: g(&self.rejected_oversized),
            rejected_duplicate: g(&self.rejected_duplicate),
            rejected_unregistered: g(&self.rejected_unregistered),
            rejected_invalid: g(&self.rejected_invalid),
            failed_locked: g(&self.failed_locked),
            failed_full: g(&self.failed_full),
            failed_io: g(&self.failed_io),
            failed_other: g(&self.failed_other),
            queue_depth: g(&self.queue_depth),
            queue_depth_max: g(&self.queue_depth_max),
            pending_rows: g(&self.pending_rows),
            last_batch_ns: g(&self.last_batch_ns),
            max_batch_ns: g(&self.max_batch_ns),
            staged_rows: g(&self.staged_rows),
            compactions: g(&self.compactions),
            compaction_deferrals: g(&self.compaction_deferrals),
            compactions_interrupted: g(&self.compactions_interrupted),
            compacted_rows: g(&self.compacted_rows),
            compaction_failures: g(&self.compaction_failures),
            last_compaction_ns: g(&self.last_compaction_ns),
            max_compaction_ns: g(&self.max_compaction_ns),
            checkpoints: g(&self.checkpoints),
            checkpoint_failures: g(&self.checkpoint_failures),
            max_checkpoint_ns: g(&self.max_checkpoint_ns),
            wal_frames: g(&self.wal_frames),
            writer_cpu_ns: g(&self.writer_cpu_ns),
            compaction_cpu_ns: g(&self.compaction_cpu_ns),
            writer_write_bytes: g(&self.writer_write_bytes),
            checkpoint_write_bytes: g(&self.checkpoint_write_bytes),
            pruned_events: g(&self.pruned_events),
            pruned_snapshots: g(&self.pruned_snapshots),
            export_files: g(&self.export_files),
            prune_failures: g(&self.prune_failures),
            batch_latency_ns: self.batch_latency_summary(),
        }
    }

    /// A copy of the batch-latency histogram (for `.hgrm` reports).
    pub fn batch_latency(&self) -> LatencyHistogram {
        match self.batch_latency.lock() {
            Ok(h) => h.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    pub fn batch_latency_summary(&self) -> LatencySummary {
        match self.batch_latency.lock() {
            Ok(h) => h.summary(),
            Err(p) => p.into_inner().summary(),
        }
    }

    pub(super) fn record_batch(&self, ns: u64, rows: u64, batch_id: u64) {
        self.last_batch_ns.store(ns, Relaxed);
        self.max_batch_ns.fetch_max(ns, Relaxed);
        self.rows_written.fetch_add(rows, Relaxed);
        self.batches_committed.fetch_add(1, Relaxed);
        self.committed_batch_id.store(batch_id, Relaxed);
        let mut h = match self.batch_latency.lock() {
            Ok(h) => h,
            Err(p) => p.into_inner(),
        };
        h.record(ns);
    }

    pub(super) fn record_rejected(&self, e: &RowError) {
        let c = match e {
            RowError::Oversized { .. } => &self.rejected_oversized,
            RowError::Duplicate(_) => &self.rejected_duplicate,
            RowError::Unregistered(_) => &self.rejected_unregistered,
            RowError::OutOfRange(_) | RowError::Invalid(_) => &self.rejected_invalid,
        };
        c.fetch_add(1, Relaxed);
    }

    pub(super) fn record_failure(&self, kind: FailureKind) {
        let c = match kind {
            FailureKind::Locked => &self.failed_locked,
            FailureKind::Full => &self.failed_full,
            FailureKind::Io => &self.failed_io,
            _ => &self.failed_other,
        };
        c.fetch_add(1, Relaxed);
    }

    pub(super) fn observe_queue(&self, depth: u64) {
        self.queue_depth.store(depth, Relaxed);
        self.queue_depth_max.fetch_max(depth, Relaxed);
    }
}
