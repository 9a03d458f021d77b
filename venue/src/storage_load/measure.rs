//! The storage measurements shared by `polyarb db bench` and `venue/benches/storage.rs`: batched
//! inserts of `orderbook_events` rows (with the table's indices, WAL), the whole writer thread
//! fed through its channel, and rebuilding a busy asset's book from snapshot + events.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use polyarb::core::{AssetIndex, ClaimedTop, Price, Side, Size, TokenId};

use super::flood::EventFlood;
use polyarb::storage::batch::{Batch, BookRow, BookRowKind, Row};
use polyarb::storage::checkpoint::{CHECKPOINT_EVERY, Checkpointer};
use polyarb::storage::config::{StorageConfig, Synchronous};
use polyarb::storage::error::StorageError;
use polyarb::storage::event::AssetRegistration;
use polyarb::storage::handle::WriterHandle;
use polyarb::storage::metrics::WriterMetrics;
use polyarb::storage::rebuild::rebuild_at;
use polyarb::storage::sqlite::SqliteStore;
use polyarb::storage::store::EventStore;
use polyarb::storage::time::NS_PER_MS;

/// A store for an insert benchmark and its WAL checkpointer: as in the writer, checkpoints run
/// on their own thread and connection, never inside a measured commit.
pub fn open_checkpointed(
    path: &Path,
    synchronous: Synchronous,
) -> Result<(SqliteStore, Checkpointer), StorageError> {
    open_checkpointed_paged(path, synchronous, StorageConfig::default().page_size)
}

/// [`open_checkpointed`] with the page size of a new database.
fn open_checkpointed_paged(
    path: &Path,
    synchronous: Synchronous,
    page_size: u32,
) -> Result<(SqliteStore, Checkpointer), StorageError> {
    let store = SqliteStore::open_paged(path, synchronous, 5000, page_size)?;
    let metrics = Arc::new(WriterMetrics::default());
    let checkpointer = Checkpointer::start(path, synchronous, CHECKPOINT_EVERY, metrics)?;
    Ok((store, checkpointer))
}

/// Registration rows for `markets` binary markets (two assets each), as batch 1.
pub fn registration_batch(markets: usize, seed: u64) -> (Batch, Vec<TokenId>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut rows = Vec::with_capacity(markets * 2);
    let mut tokens = Vec::with_capacity(markets * 2);
    for m in 0..markets {
        let condition = format!("0x{:064x}", m + 1);
        for o in 0..2 {
            let token = TokenId::from_u64(rng.random());
            tokens.push(token);
            rows.push(Row::Asset(Box::new(AssetRegistration {
                asset: AssetIndex((m * 2 + o) as u32),
                token,
                condition_id: condition.clone(),
                outcome: None,
                outcome_index: Some(o as u32),
            })));
        }
    }
    (Batch { id: 1, rows }, tokens)
}

/// `count` level-change rows spread over `assets` assets, each ending its venue event with a
/// claimed top, prices on a cent grid around the middle of the book (as a live feed spreads
/// them over the `(market_id, side, price)` index).
pub fn change_rows(assets: usize, count: usize, seed: u64, t0_ns: u64) -> Vec<Row> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..count)
        .map(|i| {
            let bid = rng.random_bool(0.5);
            let cents: u32 = if bid {
                rng.random_range(30..=50)
            } else {
                rng.random_range(51..=71)
            };
            Row::Book(BookRow {
                asset: AssetIndex(rng.random_range(0..assets) as u32),
                kind: BookRowKind::Change {
                    side: if bid { Side::Bid } else { Side::Ask },
                    price: Price(cents * 10_000),
                    size: Size(rng.random_range(0..=50_000u64) * 10_000),
                },
                end: Some(ClaimedTop {
                    bid: Some(Price(500_000)),
                    ask: Some(Price(510_000)),
                }),
                venue_ts_ms: t0_ns / NS_PER_MS,
                recv_ns: t0_ns + i as u64 * 1000,
            })
        })
        .collect()
}

/// The figures of one insert run.
#[derive(Clone, Copy, Debug)]
pub struct InsertFigures {
    pub rows: u64,
    pub batch_rows: usize,
    /// Everything: landing every batch and compacting every row into the indexed table.
    pub elapsed: Duration,
    /// Of which compaction.
    pub compaction: Duration,
    /// On-CPU time of the writing thread for the same two phases (landing, compaction), where
    /// the platform reports it: on a shared machine wall time includes waiting for a core.
    pub cpu: Option<(Duration, Duration)>,
}

impl InsertFigures {
    /// Sustained rows/s into the indexed `orderbook_events` (landing + compaction).
    pub fn rows_per_s(&self) -> f64 {
        self.rows as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Rows/s of the 1000-row commits alone (what the writer's batch latency sees).
    pub fn landed_per_s(&self) -> f64 {
        self.rows as f64 / (self.elapsed - self.compaction).as_secs_f64().max(1e-9)
    }

    /// Sustained rows/s per second of the thread's on-CPU time (landing + compaction): what
    /// one idle core would do.
    pub fn cpu_rows_per_s(&self) -> Option<f64> {
        self.cpu
            .map(|(l, c)| self.rows as f64 / (l + c).as_secs_f64().max(1e-9))
    }
}

fn cpu_now() -> Option<u64> {
    polyarb::obs::clock::thread_cpu_ns()
}

fn cpu_since(t0: Option<u64>) -> Option<Duration> {
    Some(Duration::from_nanos(cpu_now()?.saturating_sub(t0?)))
}

/// Writes `rows` book rows in batches of `batch_rows` straight through `EventStore::write_batch`
/// into a fresh database in `dir`, compacting every `compact_rows` landed rows as the writer
/// does, and compacting the rest at the end (rows are built before the clock starts).
pub fn insert_rate(
    dir: &Path,
    rows: usize,
    batch_rows: usize,
    synchronous: Synchronous,
) -> Result<InsertFigures, StorageError> {
    let (mut store, mut checkpointer) = open_checkpointed(&dir.join("insert.db"), synchronous)?;
    let markets = 100;
    let compact_rows = StorageConfig::default().compact_rows;
    let (reg, _) = registration_batch(markets, 7);
    store.write_batch(&reg)?;
    let all = change_rows(markets * 2, rows, 11, 1_764_000_000_000_000_000);
    let batch_rows = batch_rows.max(1);
    let mut batches = Vec::with_capacity(rows / batch_rows + 1);
    let mut it = all.into_iter().peekable();
    let mut id = 2;
    while it.peek().is_some() {
        batches.push(Batch {
            id,
            rows: it.by_ref().take(batch_rows).collect(),
        });
        id += 1;
    }
    let mut compaction = Duration::ZERO;
    let mut compaction_cpu = Some(Duration::ZERO);
    let mut staged = 0;
    let cpu0 = cpu_now();
    let t0 = Instant::now();
    let mut compact = |store: &mut SqliteStore, rows: usize| -> Result<u64, StorageError> {
        let (c0, k0) = (Instant::now(), cpu_now());
        let moved = store.compact(rows)?.0;
        compaction += c0.elapsed();
        compaction_cpu = compaction_cpu.zip(cpu_since(k0)).map(|(a, b)| a + b);
        Ok(moved)
    };
    for b in &batches {
        store.write_batch(b)?;
        staged += b.rows.len();
        if staged >= compact_rows {
            let moved = compact(&mut store, compact_rows)?;
            staged -= (moved as usize).min(staged);
        }
    }
    while compact(&mut store, compact_rows)? > 0 {}
    let elapsed = t0.elapsed();
    checkpointer.stop();
    let cpu = cpu_since(cpu0)
        .zip(compaction_cpu)
        .map(|(all, c)| (all.saturating_sub(c), c));
    Ok(InsertFigures {
        rows: rows as u64,
        batch_rows,
        elapsed,
        compaction,
        cpu,
    })
}

/// Feeds `events` level changes (each with its event end) through the writer's channel and
/// waits for them to be committed: the recorder's end-to-end throughput, mirror books,
/// snapshots and bars included. Returns (book rows stored, elapsed).
pub fn writer_rate(dir: &Path, events: usize) -> Result<(u64, Duration), StorageError> {
    let cfg = StorageConfig {
        path: dir.join("writer.db"),
        retention: polyarb::storage::config::RetentionConfig {
            prune_interval_s: 0,
            ..Default::default()
        },
        ..StorageConfig::default()
    };
    let (w, tx) = WriterHandle::spawn(&cfg)?;
    let mut flood = EventFlood::new(100, 3);
    let mut buf = flood.registrations();
    for a in 0..flood.assets() {
        flood.book(a, 20, 1_764_000_000_000_000_000, &mut buf);
    }
    for ev in buf.drain(..) {
        tx.send_blocking(ev)?;
    }
    w.flush(Duration::from_secs(60))?;
    for i in 0..events {
        flood.change(1_764_000_000_000_000_000 + i as u64 * 5_000, &mut buf);
    }
    let t0 = Instant::now();
    for ev in buf.drain(..) {
        tx.send_blocking(ev)?;
    }
    w.flush(Duration::from_secs(120))?;
    let elapsed = t0.elapsed();
    drop(tx);
    w.shutdown()?;
    Ok((events as u64, elapsed))
}

/// A database holding `hours` of one busy binary market (both outcomes changing
/// `per_asset_per_s` times a second each, books `depth` deep), written by the real writer
/// with the configured snapshot cadence. Returns the token of the first outcome and the
/// receive-time range covered.
pub fn busy_asset_db(
    path: &Path,
    per_asset_per_s: u64,
    seconds: u64,
    depth: u32,
) -> Result<(TokenId, u64, u64), StorageError> {
    let cfg = StorageConfig {
        path: path.to_path_buf(),
        retention: polyarb::storage::config::RetentionConfig {
            prune_interval_s: 0,
            ..Default::default()
        },
        ..StorageConfig::default()
    };
    let (w, tx) = WriterHandle::spawn(&cfg)?;
    let mut flood = EventFlood::new(1, 5);
    let t0 = 1_764_000_000_000_000_000u64;
    let mut buf = flood.registrations();
    flood.book(0, depth, t0, &mut buf);
    flood.book(1, depth, t0, &mut buf);
    let total = per_asset_per_s * seconds * 2;
    let step = 1_000_000_000 / (per_asset_per_s * 2).max(1);
    let mut last = t0;
    for i in 0..total {
        last = t0 + 1 + i * step;
        flood.change_of((i % 2) as usize, last, &mut buf);
        if buf.len() >= 10_000 {
            for ev in buf.drain(..) {
                tx.send_blocking(ev)?;
            }
        }
    }
    for ev in buf.drain(..) {
        tx.send_blocking(ev)?;
    }
    drop(tx);
    w.shutdown()?;
    Ok((flood.token(0), t0, last))
}

/// Times rebuilds of `token` at `samples` evenly spread moments in `[from_ns, to_ns]`; returns
/// the durations sorted, and the most events any one rebuild applied on top of its base.
pub fn rebuild_times(
    store: &mut dyn EventStore,
    token: &TokenId,
    from_ns: u64,
    to_ns: u64,
    samples: usize,
) -> Result<(Vec<Duration>, u64), StorageError> {
    let mut out = Vec::with_capacity(samples);
    let mut max_applied = 0;
    let samples = samples.max(1);
    for k in 0..samples {
        let at = from_ns + (to_ns - from_ns) / samples as u64 * (k as u64 + 1);
        let t0 = Instant::now();
        let r = rebuild_at(store, token, at).map_err(|e| match e {
            polyarb::storage::rebuild::RebuildError::Storage(s) => s,
            other => StorageError::BadStoredData(other.to_string()),
        })?;
        out.push(t0.elapsed());
        max_applied = max_applied.max(r.applied);
    }
    out.sort();
    Ok((out, max_applied))
}

/// A feed's trickle: bytes the compacting thread writes (to the WAL) for one compaction of
/// `chunk` rows into a partition already holding `fill` rows over 500 markets, for each chunk
/// size (median of three). A compaction dirties nearly every leaf of the partition's indices
/// however few rows it carries, so this is what `compact_idle_ms` trades against readers'
/// scans of the landing table. `None` where the platform has no per-thread I/O counters.
pub fn trickle_compaction(
    dir: &Path,
    fill: usize,
    chunks: &[usize],
    page_size: u32,
) -> Result<Option<Vec<(usize, u64)>>, StorageError> {
    if polyarb::obs::clock::thread_write_bytes().is_none() {
        return Ok(None);
    }
    let (mut store, mut checkpointer) = open_checkpointed_paged(
        &dir.join(format!("trickle-{page_size}.db")),
        Synchronous::Normal,
        page_size,
    )?;
    let markets = 500;
    store.write_batch(&registration_batch(markets, 7).0)?;
    let t0 = 1_764_000_000_000_000_000;
    let mut id = 2;
    let mut land = |store: &mut SqliteStore, rows: Vec<Row>| -> Result<(), StorageError> {
        for b in rows.chunks(1000) {
            store.write_batch(&Batch {
                id,
                rows: b.to_vec(),
            })?;
            id += 1;
        }
        Ok(())
    };
    let compact_rows = StorageConfig::default().compact_rows;
    for part in change_rows(markets * 2, fill, 3, t0).chunks(compact_rows) {
        land(&mut store, part.to_vec())?;
        store.compact(compact_rows)?;
    }
    let mut out = Vec::with_capacity(chunks.len());
    for (i, &chunk) in chunks.iter().enumerate() {
        let mut bytes = Vec::with_capacity(3);
        for round in 0..3u64 {
            let seed = 100 + i as u64 * 3 + round;
            land(
                &mut store,
                change_rows(markets * 2, chunk, seed, t0 + seed * 1_000_000_000_000),
            )?;
            let w0 = polyarb::obs::clock::thread_write_bytes().unwrap_or(0);
            store.compact(chunk)?;
            bytes.push(
                polyarb::obs::clock::thread_write_bytes()
                    .unwrap_or(0)
                    .saturating_sub(w0),
            );
        }
        bytes.sort_unstable();
        out.push((chunk, bytes[1]));
    }
    checkpointer.stop();
    Ok(Some(out))
}

/// Calibration: the same number of 10-integer rows into a bare table (no index, rowid order),
/// batches of `batch_rows`, same connection settings: the ceiling of this machine right now.
pub fn bare_rate(
    dir: &Path,
    rows: usize,
    batch_rows: usize,
) -> Result<InsertFigures, StorageError> {
    let store = SqliteStore::open_with(&dir.join("bare.db"), Synchronous::Normal, 5000)?;
    let conn = store.connection();
    conn.execute_batch("CREATE TABLE bare (a INTEGER, b INTEGER, c INTEGER, d INTEGER, e INTEGER, f INTEGER, g INTEGER, h INTEGER, i INTEGER, j INTEGER)")?;
    let batch_rows = batch_rows.max(1);
    let cpu0 = cpu_now();
    let t0 = Instant::now();
    let mut done = 0;
    while done < rows {
        // The store's own connection, for its settings; nothing else uses it meanwhile.
        let tx = conn.unchecked_transaction()?;
        {
            let mut st = tx.prepare_cached(
                "INSERT INTO bare VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?;
            for k in done..(done + batch_rows).min(rows) {
                let v = k as i64;
                st.execute(rusqlite::params![v, v, v, v, v, v, v, v, v, v])?;
            }
        }
        tx.commit()?;
        done = (done + batch_rows).min(rows);
    }
    Ok(InsertFigures {
        rows: rows as u64,
        batch_rows,
        elapsed: t0.elapsed(),
        compaction: Duration::ZERO,
        cpu: cpu_since(cpu0).map(|c| (c, Duration::ZERO)),
    })
}
