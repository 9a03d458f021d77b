//! The WAL checkpointer: a second SQLite connection on its own thread that copies committed WAL
//! frames back into the database file, so the batch writer never does it inside a commit.
//!
//! SQLite's default is an automatic checkpoint inside the commit that pushes the WAL past
//! `wal_autocheckpoint` pages: copy every frame into the database file and `fsync` both files,
//! on the writer thread. Measured in `polyarb flood` with 64 KiB pages that made single 1000-row
//! commits take up to 250 ms (64 MB copied and synced), long enough for the hot path's channel
//! to fill. A `PASSIVE` checkpoint from another connection runs beside the writer (WAL lets one
//! writer and checkpointers proceed together) and never waits for a lock; the writer restarts the
//! WAL from its beginning at its next commit once a checkpoint has caught up. The writer's own
//! connection keeps a high `wal_autocheckpoint` as a backstop (`WRITER_AUTOCHECKPOINT_PAGES`), so
//! the WAL stays bounded if this thread stalls or is absent (`SqliteStore` used without it).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

use super::config::Synchronous;
use super::error::StorageError;
use super::metrics::WriterMetrics;

/// How often the checkpointer looks at the WAL (a look with nothing to copy reads only the
/// WAL index in shared memory).
pub const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

/// The running checkpointer; stopping it (or dropping it) joins the thread.
pub struct Checkpointer {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Opens a second connection to the (already created, WAL-mode) database at `path` and
    /// starts checkpointing it every `every`, counting into the writer's metrics.
    pub fn start(
        path: &Path,
        synchronous: Synchronous,
        every: Duration,
        metrics: Arc<WriterMetrics>,
    ) -> Result<Self, StorageError> {
        let conn = open(path, synchronous)?;
        let stop = Arc::new(AtomicBool::new(false));
        let (s, m) = (Arc::clone(&stop), metrics);
        let path: PathBuf = path.to_path_buf();
        let thread = std::thread::Builder::new()
            .name("polyarb-checkpoint".into())
            .spawn(move || run(&conn, &path, &s, &m, every))
            .map_err(|e| StorageError::Io(format!("cannot start the checkpoint thread: {e}")))?;
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }

    /// Stops and joins the thread (a checkpoint in progress finishes first).
    pub fn stop(&mut self) {
        self.stop.store(true, Relaxed);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn open(path: &Path, synchronous: Synchronous) -> Result<Connection, StorageError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| StorageError::Open {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    // The checkpoint's fsyncs follow this connection's setting.
    conn.execute_batch(&format!(
        "PRAGMA synchronous = {}; PRAGMA wal_autocheckpoint = 0;",
        synchronous.pragma_value()
    ))?;
    Ok(conn)
}

fn run(conn: &Connection, path: &Path, stop: &AtomicBool, m: &WriterMetrics, every: Duration) {
    let mut logged = false;
    while !stop.load(Relaxed) {
        std::thread::park_timeout(every);
        let t0 = Instant::now();
        // (busy, frames in the WAL, frames checkpointed); PASSIVE never waits for a lock.
        let r: rusqlite::Result<(i64, i64, i64)> =
            conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            });
        match r {
            Ok((_, log, _)) => {
                m.checkpoints.fetch_add(1, Relaxed);
                m.wal_frames.store(log.max(0) as u64, Relaxed);
                m.max_checkpoint_ns
                    .fetch_max(t0.elapsed().as_nanos() as u64, Relaxed);
                if let Some(b) = crate::obs::clock::thread_write_bytes() {
                    m.checkpoint_write_bytes.store(b, Relaxed);
                }
                logged = false;
            }
            Err(e) => {
                m.checkpoint_failures.fetch_add(1, Relaxed);
                if !logged {
                    tracing::warn!(error = %e, db = %path.display(),
                        "storage: WAL checkpoint failed; the writer's backstop checkpoint keeps the WAL bounded");
                    logged = true;
                }
            }
        }
    }
}
