//! Retention: raw events (book events and trades) older than `raw_event_days` are exported to
//! zstd frames files and then deleted; snapshots older than `snapshot_days` are deleted (each
//! asset's newest is kept: it is the base of its current book); bars, trading rows, resyncs and
//! rule changes are kept.
//!
//! Export comes first and is crash-safe: a chunk (one market, a contiguous `seq` range that
//! ends on a venue-event boundary) is written to `<name>.tmp` and fsynced; then one transaction
//! deletes its rows and records the file in `exports`; then the file is renamed into place. A
//! crash before the commit leaves the rows and a stray `.tmp` (removed next time, the rows are
//! exported again); a crash after it leaves a recorded `.tmp`, which the next prune renames.
//! Files are named `m<market_id>_<first_seq>-<last_seq>.frames.zst`; replaying one market's files
//! in order (`zstdcat m7_*.frames.zst | polyarb replay --frames -`) replays its stream.
//!
//! The job runs in bounded steps (`prune_chunk_rows` rows each) so the writer thread can
//! interleave it with batches; `polyarb db prune` runs all steps at once.

use std::fs::{self, File};
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use rustc_hash::FxHashMap;

use super::batch::{StoredBookRow, StoredTrade};
use super::config::StorageConfig;
use super::error::StorageError;
use super::export::FrameWriter;
use super::store::{EventStore, ExportRecord, MarketRef};
use super::time::{NS_PER_S, unix_now_ns};

const NS_PER_DAY: u64 = 86_400 * NS_PER_S;
const EXT: &str = ".frames.zst";
const TMP: &str = ".tmp";

/// What a prune did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct PruneReport {
    pub events_cutoff_ns: u64,
    pub snapshots_cutoff_ns: u64,
    pub markets: u64,
    pub exported_frames: u64,
    pub deleted_events: u64,
    pub deleted_snapshots: u64,
    pub deleted_batches: u64,
    /// `orderbook_events` partitions dropped because the prune emptied them.
    pub dropped_partitions: u64,
    /// Export files written (full paths).
    pub files: Vec<PathBuf>,
    /// Export files finished after an interrupted prune, and stray partial files removed.
    pub recovered_files: u64,
    pub removed_partial_files: u64,
}

enum Phase {
    Recover,
    Compact,
    ListMarkets,
    Markets,
    Snapshots,
    Done,
}

/// A prune in progress.
pub struct Pruner {
    events_cutoff_ns: u64,
    snapshots_cutoff_ns: u64,
    export_dir: PathBuf,
    chunk_rows: usize,
    phase: Phase,
    markets: Vec<MarketRef>,
    /// The market being exported: its highest `seq` before the cutoff and the next `seq` to take.
    current: Option<(MarketRef, u64, u64, FxHashMap<i64, String>)>,
    report: PruneReport,
}

impl Pruner {
    /// A prune of everything older than the configured windows, measured back from `now_ns`.
    pub fn new(cfg: &StorageConfig, now_ns: u64) -> Self {
        let r = &cfg.retention;
        let events_cutoff_ns = now_ns.saturating_sub(u64::from(r.raw_event_days) * NS_PER_DAY);
        let snapshots_cutoff_ns = now_ns.saturating_sub(u64::from(r.snapshot_days) * NS_PER_DAY);
        Self {
            events_cutoff_ns,
            snapshots_cutoff_ns,
            export_dir: cfg.export_dir(),
            chunk_rows: r.prune_chunk_rows.max(1),
            phase: Phase::Recover,
            markets: Vec::new(),
            current: None,
            report: PruneReport {
                events_cutoff_ns,
                snapshots_cutoff_ns,
                ..PruneReport::default()
            },
        }
    }

    pub fn report(&self) -> &PruneReport {
        &self.report
    }

    /// Runs a whole prune.
    pub fn run(
        cfg: &StorageConfig,
        store: &mut dyn EventStore,
        now_ns: u64,
    ) -> Result<PruneReport, StorageError> {
        let mut p = Self::new(cfg, now_ns);
        while !p.step(store)? {}
        Ok(p.report)
    }

    /// Does one bounded piece of work; true when the prune is complete.
    pub fn step(&mut self, store: &mut dyn EventStore) -> Result<bool, StorageError> {
        match self.phase {
            Phase::Recover => {
                self.recover(store)?;
                self.phase = Phase::Compact;
            }
            Phase::Compact => {
                // Export reads the indexed table; move what has landed there first (a short
                // chunk means it caught up with any writer landing rows meanwhile).
                if (store.compact(self.chunk_rows)?.0 as usize) < self.chunk_rows {
                    self.phase = Phase::ListMarkets;
                }
            }
            Phase::ListMarkets => {
                self.markets = store.markets_with_events_before(self.events_cutoff_ns)?;
                self.markets.reverse();
                self.report.markets = self.markets.len() as u64;
                self.phase = Phase::Markets;
            }
            Phase::Markets => {
                if !self.market_step(store)? {
                    self.phase = Phase::Snapshots;
                }
            }
            Phase::Snapshots => {
                self.report.deleted_snapshots +=
                    store.delete_snapshots_before(self.snapshots_cutoff_ns)?;
                self.report.deleted_batches +=
                    store.delete_batches_before(self.events_cutoff_ns)?;
                self.report.dropped_partitions += store.drop_emptied_partitions()?;
                self.phase = Phase::Done;
            }
            Phase::Done => return Ok(true),
        }
        Ok(matches!(self.phase, Phase::Done))
    }

    /// Finishes exports an interrupted prune committed, and removes partial files it did not.
    fn recover(&mut self, store: &mut dyn EventStore) -> Result<(), StorageError> {
        let Ok(dir) = fs::read_dir(&self.export_dir) else {
            return Ok(());
        };
        let recorded: Vec<String> = store.exports()?.into_iter().map(|e| e.file).collect();
        for entry in dir.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(final_name) = name.strip_suffix(TMP) else {
                continue;
            };
            if !final_name.ends_with(EXT) {
                continue;
            }
            let tmp = entry.path();
            if recorded.iter().any(|r| r == final_name) {
                fs::rename(&tmp, self.export_dir.join(final_name))
                    .map_err(|e| export_err(&tmp, e))?;
                self.report.recovered_files += 1;
            } else {
                fs::remove_file(&tmp).map_err(|e| export_err(&tmp, e))?;
                self.report.removed_partial_files += 1;
            }
        }
        Ok(())
    }

    /// Exports and deletes one chunk of one market; false when no market is left.
    fn market_step(&mut self, store: &mut dyn EventStore) -> Result<bool, StorageError> {
        if self.current.is_none() {
            let Some(m) = self.markets.pop() else {
                return Ok(false);
            };
            let Some(through) = store.last_seq_before(m.market_id, self.events_cutoff_ns)? else {
                return Ok(true);
            };
            let tokens = store
                .market_assets(m.market_id)?
                .into_iter()
                .map(|a| (a.asset_id, a.token_id))
                .collect();
            self.current = Some((m, through, 0, tokens));
        }
        let Some((m, through, from, tokens)) = self.current.as_mut() else {
            return Ok(true);
        };
        let (market_id, through, from) = (m.market_id, *through, *from);
        let mut rows = store.book_rows(market_id, None, from, through, self.chunk_rows)?;
        let mut end = if rows.len() >= self.chunk_rows {
            rows.last().map_or(through, |r| r.seq)
        } else {
            through
        };
        let mut trades = store.trades(market_id, from, end, self.chunk_rows)?;
        if trades.len() >= self.chunk_rows {
            end = end.min(trades.last().map_or(end, |t| t.seq));
        }
        if end < through {
            // Never split a venue event across two files.
            end = clean_cut(&rows, &trades, end);
        }
        rows.retain(|r| r.seq <= end);
        trades.retain(|t| t.seq <= end);
        if rows.is_empty() && trades.is_empty() {
            self.current = None;
            return Ok(true);
        }
        let first_seq = rows
            .first()
            .map(|r| r.seq)
            .into_iter()
            .chain(trades.first().map(|t| t.seq))
            .min()
            .unwrap_or(from);
        let last_seq = rows
            .last()
            .map(|r| r.seq)
            .into_iter()
            .chain(trades.last().map(|t| t.seq))
            .max()
            .unwrap_or(end);
        let recv = |f: fn(&[u64]) -> Option<u64>| {
            let v: Vec<u64> = rows
                .iter()
                .map(|r| r.recv_ns)
                .chain(trades.iter().map(|t| t.recv_ns))
                .collect();
            f(&v).unwrap_or(0)
        };
        let first_recv_ns = recv(|v| v.iter().copied().min());
        let last_recv_ns = recv(|v| v.iter().copied().max());
        let name = format!("m{market_id}_{first_seq:012}-{last_seq:012}{EXT}");
        let path = self.export_dir.join(&name);
        let frames = write_export(&path, &m.condition_id, tokens, &rows, &trades)?;
        let record = ExportRecord {
            market_id,
            first_seq,
            last_seq,
            rows: (rows.len() + trades.len()) as u64,
            first_recv_ns,
            last_recv_ns,
            file: name,
            created_ns: unix_now_ns(),
        };
        let deleted = store.delete_events_through(market_id, last_seq, &record)?;
        let tmp = tmp_path(&path);
        fs::rename(&tmp, &path).map_err(|e| export_err(&tmp, e))?;
        sync_dir(&self.export_dir);
        self.report.exported_frames += frames;
        self.report.deleted_events += deleted;
        self.report.files.push(path);
        if last_seq >= through {
            self.current = None;
        } else if let Some(c) = self.current.as_mut() {
            c.2 = last_seq + 1;
        }
        Ok(true)
    }
}

/// The highest `seq <= end` after which no venue event is open (every asset's last row in the
/// range before it carries the event end). Falls back to `end` when there is none.
fn clean_cut(rows: &[StoredBookRow], trades: &[StoredTrade], end: u64) -> u64 {
    use super::batch::BookRowKind;
    let mut open: Vec<i64> = Vec::new();
    let mut best = None;
    let mut ti = 0;
    for r in rows.iter().take_while(|r| r.seq <= end) {
        while ti < trades.len() && trades[ti].seq < r.seq {
            if open.is_empty() {
                best = Some(trades[ti].seq);
            }
            ti += 1;
        }
        let standalone = matches!(r.kind, BookRowKind::Invalidate { .. });
        if !standalone {
            if r.end.is_some() {
                open.retain(|&a| a != r.asset_id);
            } else if !open.contains(&r.asset_id) {
                open.push(r.asset_id);
            }
        }
        if open.is_empty() {
            best = Some(r.seq);
        }
    }
    while ti < trades.len() && trades[ti].seq <= end {
        if open.is_empty() {
            best = Some(trades[ti].seq);
        }
        ti += 1;
    }
    best.unwrap_or(end)
}

fn tmp_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(TMP);
    PathBuf::from(s)
}

fn export_err(path: &Path, e: impl std::fmt::Display) -> StorageError {
    StorageError::Export {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// Writes the frames of a chunk to `<path>.tmp`, compressed and fsynced. Returns the frames.
fn write_export(
    path: &Path,
    condition_id: &str,
    tokens: &FxHashMap<i64, String>,
    rows: &[StoredBookRow],
    trades: &[StoredTrade],
) -> Result<u64, StorageError> {
    let tmp = tmp_path(path);
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|e| export_err(dir, e))?;
    }
    let file = File::create(&tmp).map_err(|e| export_err(&tmp, e))?;
    let enc = zstd::Encoder::new(BufWriter::new(file), 3).map_err(|e| export_err(&tmp, e))?;
    let mut w = FrameWriter::new(enc, condition_id, tokens);
    w.write_rows(rows, trades)
        .map_err(|e| export_err(&tmp, e))?;
    let frames = w.counts.frames;
    let enc = w.into_inner().map_err(|e| export_err(&tmp, e))?;
    let buf = enc.finish().map_err(|e| export_err(&tmp, e))?;
    let file = buf.into_inner().map_err(|e| export_err(&tmp, e.error()))?;
    file.sync_all().map_err(|e| export_err(&tmp, e))?;
    Ok(frames)
}

/// Makes a rename in `dir` durable where the platform allows it (best effort: the export is
/// already recorded, and an unrenamed `.tmp` is finished by the next prune).
fn sync_dir(dir: &Path) {
    if let Ok(f) = File::open(dir) {
        let _ = f.sync_all();
    }
}
