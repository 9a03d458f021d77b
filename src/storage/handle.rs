//! The storage writer's public ends: `StorageSender` for producers (never blocks) and
//! `WriterHandle` for the owner (spawn, metrics, health, flush, size budget, shutdown).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam::channel::{self, RecvTimeoutError, Sender, TrySendError};

use super::checkpoint::{CHECKPOINT_EVERY, Checkpointer};
use super::config::StorageConfig;
use super::error::StorageError;
use super::event::StorageEvent;
use super::metrics::{CommitNotice, MetricsSnapshot, StorageHealth, WriterMetrics};
use super::sqlite::SqliteStore;
use super::store::EventStore;
use super::writer::Writer;

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

    /// A durability barrier from a producer (the order journal, before an order is sent): waits
    /// until everything this sender enqueued before the call is committed. Cold threads only.
    pub fn flush(&self, timeout: Duration) -> Result<CommitNotice, StorageError> {
        flush_through(&self.tx, &self.health, timeout)
    }
}

fn flush_through(
    tx: &Sender<StorageEvent>,
    health: &StorageHealth,
    timeout: Duration,
) -> Result<CommitNotice, StorageError> {
    let (ack, done) = channel::bounded(1);
    tx.send_timeout(StorageEvent::Flush(ack), timeout)
        .map_err(|_| StorageError::WriterStopped)?;
    done.recv_timeout(timeout).map_err(|e| match e {
        RecvTimeoutError::Timeout => StorageError::NotCommitted {
            waited_ms: timeout.as_millis() as u64,
            last_failure: health.last_failure(),
        },
        RecvTimeoutError::Disconnected => StorageError::WriterStopped,
    })
}

/// The owner's end: metrics, health, flush, size budget and shutdown.
pub struct WriterHandle {
    tx: Sender<StorageEvent>,
    thread: Option<JoinHandle<Result<(), StorageError>>>,
    metrics: Arc<WriterMetrics>,
    health: Arc<StorageHealth>,
    stop: Arc<AtomicBool>,
    size_limit: Arc<AtomicU64>,
    checkpointer: Option<Checkpointer>,
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
        // Without it the writer's connection checkpoints inside its commits (the backstop).
        let checkpointer = store.wal_database().and_then(|(path, sync)| {
            Checkpointer::start(&path, sync, CHECKPOINT_EVERY, Arc::clone(&metrics))
                .map_err(|e| tracing::warn!(error = %e, "storage: no checkpoint thread; the writer checkpoints in its commits"))
                .ok()
        });
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
                checkpointer,
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
        flush_through(&self.tx, &self.health, timeout)
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
        let r = t
            .join()
            .map_err(|_| StorageError::Sqlite("the storage thread panicked".into()))?;
        if let Some(c) = self.checkpointer.as_mut() {
            c.stop();
        }
        r
    }
}

impl Drop for WriterHandle {
    fn drop(&mut self) {
        let _ = self.stop_and_join();
    }
}
