//! Landing and compaction of book events and trades: appending a batch's book rows to
//! `orderbook_ingest` with multi-row statements (its trades go to `trades_ingest`), and moving
//! landed rows into the indexed `orderbook_events` and `trades`.
//!
//! The store keeps a copy of what it landed (`StagedMirror`): the oldest rows of the landing
//! table, exactly as bound, in landing order. Compaction then sorts them in memory by
//! `(market_id, seq)` and binds them into `orderbook_events` 64 rows per statement, instead of
//! `INSERT … SELECT … ORDER BY` reading them back through SQLite's sorter: measured with
//! callgrind on the same bundled SQLite, the sorter and per-row statement overhead were ~30% of
//! the compaction's instructions. Rows the mirror does not hold (left by a crash, or landed
//! while it was at its cap) are read back from the table, oldest first, `compact_rows` at a time,
//! and take the same path; once a read-back finds the whole table, the mirror covers it again.
//!
//! A compaction is one transaction (each index leaf it dirties is written to the WAL once), and
//! it calls back between insert statements so the writer keeps draining its channel meanwhile;
//! the callback can also stop it (rolled back) when a durability barrier is waiting.

use std::collections::VecDeque;
use std::ops::ControlFlow;

use rusqlite::{CachedStatement, Connection, TransactionBehavior};

use super::error::StorageError;
use super::partitions::{self, Partition};
use super::time::unix_now_ns;

/// Columns of a book row, in `INSERT_COLUMNS` order.
pub(super) const BOOK_COLS: usize = 12;
/// The column list shared by both tables.
const INSERT_COLUMNS: &str = "market_id, seq, asset_id, kind, side, price, size, best_bid, best_ask, flags, venue_ts_ms, recv_ns";
/// Insert statements between two calls of a compaction's `between` (16 × 64 rows: ~3 ms at the
/// flood's ~3 µs per compacted row).
const YIELD_EVERY_STATEMENTS: u32 = 16;
/// The columns of `trades` and of `trades_ingest`, its landing table.
const TRADE_COLUMNS: &str =
    "market_id, seq, asset_id, side, price, size, fee_rate_bps, venue_ts_ms, recv_ns";
/// Rows per multi-row statement (and the smaller sizes used for the remainder). One statement
/// per row costs a cursor open/close on every B-tree it writes; 64 rows × 13 parameters stays
/// well under SQLite's parameter limit.
const CHUNKS: [usize; 3] = [64, 8, 1];
/// The most landed rows the mirror holds (~7 MB per 64k rows); beyond it, rows are landed
/// without a copy and read back from the table once the mirror has drained.
pub(super) const MIRROR_MAX_ROWS: usize = 262_144;

/// One `orderbook_ingest` row as bound: its rowid, the 12 column values and which of them are
/// NULL (bit i = column i).
#[derive(Clone, Copy, Debug)]
pub(super) struct LandedRow {
    pub rowid: i64,
    pub vals: [i64; BOOK_COLS],
    pub nulls: u16,
}

impl LandedRow {
    /// A row with the given column values (`None` = NULL), in `INSERT_COLUMNS` order.
    pub fn new(rowid: i64, cols: [Option<i64>; BOOK_COLS]) -> Self {
        let mut row = Self {
            rowid,
            vals: [0; BOOK_COLS],
            nulls: 0,
        };
        for (i, c) in cols.into_iter().enumerate() {
            match c {
                Some(v) => row.vals[i] = v,
                None => row.nulls |= 1 << i,
            }
        }
        row
    }

    pub fn market_id(&self) -> i64 {
        self.vals[0]
    }

    pub fn seq(&self) -> i64 {
        self.vals[1]
    }

    pub fn recv_ns(&self) -> i64 {
        self.vals[BOOK_COLS - 1]
    }

    fn bind(&self, st: &mut CachedStatement<'_>, first: usize) -> rusqlite::Result<usize> {
        let mut i = first;
        for (c, v) in self.vals.iter().enumerate() {
            if self.nulls & (1 << c) != 0 {
                st.raw_bind_parameter(i, rusqlite::types::Null)?;
            } else {
                st.raw_bind_parameter(i, *v)?;
            }
            i += 1;
        }
        Ok(i)
    }
}

/// The oldest rows of `orderbook_ingest`, in rowid order; `complete` when it is all of them.
#[derive(Debug, Default)]
pub(super) struct StagedMirror {
    rows: VecDeque<LandedRow>,
    complete: bool,
}

impl StagedMirror {
    /// The mirror of a landing table as found at open.
    pub fn open(conn: &Connection) -> Result<Self, StorageError> {
        let any: bool =
            conn.query_row("SELECT EXISTS (SELECT 1 FROM orderbook_ingest)", [], |r| {
                r.get(0)
            })?;
        Ok(Self {
            rows: VecDeque::new(),
            // An empty table is covered by an empty mirror; rows left by a crash are not.
            complete: !any,
        })
    }

    /// Records rows a committed batch landed.
    pub fn landed(&mut self, rows: &[LandedRow]) {
        if !self.complete || rows.is_empty() {
            return;
        }
        if self.rows.len() + rows.len() > MIRROR_MAX_ROWS {
            self.complete = false;
            return;
        }
        self.rows.extend(rows.iter().copied());
    }

    /// Reads the oldest `max_rows` rows of an unmirrored landing table back into the (empty)
    /// mirror; complete again when that was all of them.
    fn read_back(&mut self, conn: &Connection, max_rows: usize) -> rusqlite::Result<()> {
        let mut st = conn.prepare_cached(&format!(
            "SELECT rowid, {INSERT_COLUMNS} FROM orderbook_ingest ORDER BY rowid LIMIT ?1"
        ))?;
        let mut rows = st.query([i64::try_from(max_rows).unwrap_or(i64::MAX)])?;
        while let Some(r) = rows.next()? {
            let mut cols = [None; BOOK_COLS];
            for (c, col) in cols.iter_mut().enumerate() {
                *col = r.get(c + 1)?;
            }
            self.rows.push_back(LandedRow::new(r.get(0)?, cols));
        }
        self.complete = self.rows.len() < max_rows;
        Ok(())
    }

    /// Drops what a committed retention delete removed from the landing table.
    pub fn deleted_through(&mut self, market_id: i64, through_seq: i64) {
        self.rows
            .retain(|r| !(r.market_id() == market_id && r.seq() <= through_seq));
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.rows.len()
    }
}

/// Statement text of an `n`-row insert into `table` (`OR IGNORE` into the indexed table, whose
/// primary key refuses duplicates).
fn insert_sql(table: &str, n: usize) -> String {
    let verb = if table == "orderbook_ingest" {
        "INSERT"
    } else {
        "INSERT OR IGNORE"
    };
    let one = format!("({})", ["?"; BOOK_COLS].join(","));
    format!(
        "{verb} INTO {table} ({INSERT_COLUMNS}) VALUES {}",
        vec![one; n].join(",")
    )
}

/// Lands a batch's rows in `orderbook_ingest` and records the rowids SQLite gave them: a rowid
/// table without an explicit rowid appends at `MAX(rowid) + 1`, so one transaction's inserts
/// get consecutive rowids ending at `last_insert_rowid()` (an explicit rowid measured ~25% more
/// instructions per landed row: SQLite then checks it for a conflict).
pub(super) fn land_rows(conn: &Connection, rows: &mut [LandedRow]) -> rusqlite::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    // Never stopped: `between` always continues.
    insert_rows(conn, "orderbook_ingest", rows.iter(), &mut || {
        ControlFlow::Continue(())
    })?;
    let last = conn.last_insert_rowid();
    let n = rows.len() as i64;
    for (i, r) in rows.iter_mut().enumerate() {
        r.rowid = last - (n - 1 - i as i64);
    }
    Ok(())
}

/// Inserts `rows` in order with multi-row statements, calling `between` after every
/// `YIELD_EVERY_STATEMENTS` of them; returns the rows inserted, or `None` when `between` said
/// stop (the caller rolls back).
fn insert_rows<'a>(
    conn: &Connection,
    table: &str,
    rows: impl ExactSizeIterator<Item = &'a LandedRow>,
    between: &mut dyn FnMut() -> ControlFlow<()>,
) -> rusqlite::Result<Option<u64>> {
    let mut left = rows.len();
    let mut rows = rows;
    let mut changed = 0u64;
    let mut statements = 0u32;
    for n in CHUNKS {
        if left < n {
            continue;
        }
        let mut st = conn.prepare_cached(&insert_sql(table, n))?;
        while left >= n {
            let mut p = 1;
            for r in rows.by_ref().take(n) {
                p = r.bind(&mut st, p)?;
            }
            changed += st.raw_execute()? as u64;
            left -= n;
            statements += 1;
            if statements.is_multiple_of(YIELD_EVERY_STATEMENTS) && between().is_break() {
                return Ok(None);
            }
        }
    }
    Ok(Some(changed))
}

/// Where compaction puts book rows: the newest partition, until it holds `rows_each` rows.
pub(super) struct PartitionTarget {
    pub newest: Partition,
    pub rows_each: u64,
}

/// Moves up to `max_rows` of the oldest landed book rows into the newest partition of
/// `orderbook_events` (first starting a new one if it is full), and every landed trade into
/// `trades`, in one transaction; returns (rows taken from the landing tables, duplicates
/// dropped), or `None` when `between` stopped it (rolled back, nothing moved).
///
/// `between` runs every `YIELD_EVERY_STATEMENTS` insert statements, inside the open
/// transaction: the writer drains its channel there, so a long compaction never stalls the hot
/// path's sends, and stops it when a durability barrier is waiting.
pub(super) fn compact(
    conn: &mut Connection,
    mirror: &mut StagedMirror,
    target: &mut PartitionTarget,
    max_rows: usize,
    between: &mut dyn FnMut() -> ControlFlow<()>,
) -> Result<Option<(u64, u64)>, StorageError> {
    let max_rows = max_rows.max(1);
    if mirror.rows.is_empty() && !mirror.complete {
        mirror.read_back(conn, max_rows)?;
    }
    match compact_mirrored(conn, mirror, target, max_rows, between)? {
        Compaction::Done(done) => return Ok(Some(done)),
        Compaction::Stopped => return Ok(None),
        Compaction::Stale => {}
    }
    // Another connection changed the landing table (`polyarb db prune` beside a running
    // writer): the copy is stale. Forget it and take the table's own rows.
    tracing::warn!("storage: landed rows changed under the writer; compacting from the table");
    mirror.rows.clear();
    mirror.read_back(conn, max_rows)?;
    match compact_mirrored(conn, mirror, target, max_rows, between)? {
        Compaction::Done(done) => Ok(Some(done)),
        Compaction::Stopped => Ok(None),
        Compaction::Stale => Err(StorageError::Sqlite(
            "the landing table changed during two compactions in a row".into(),
        )),
    }
}

/// How one compaction transaction ended.
enum Compaction {
    /// Committed: (rows taken, duplicates dropped).
    Done((u64, u64)),
    /// The landing table no longer holds exactly the mirror's rows: rolled back.
    Stale,
    /// `between` asked to stop: rolled back.
    Stopped,
}

/// The compaction of the mirror's first `max_rows` rows (nothing is written unless `Done`).
fn compact_mirrored(
    conn: &mut Connection,
    mirror: &mut StagedMirror,
    target: &mut PartitionTarget,
    max_rows: usize,
    between: &mut dyn FnMut() -> ControlFlow<()>,
) -> Result<Compaction, StorageError> {
    let k = max_rows.min(mirror.rows.len());
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let (mut taken, mut inserted) = (0, 0);
    // Changed only once the transaction commits.
    let mut into = target.newest.clone();
    if k > 0 {
        if into.rows >= i64::try_from(target.rows_each).unwrap_or(i64::MAX) {
            into = partitions::create(&tx, into.part + 1, unix_now_ns() as i64)?;
        }
        let order = by_market(&mirror.rows, k);
        let Some(n) = insert_rows(
            &tx,
            &into.events(),
            order.iter().map(|&i| &mirror.rows[i as usize]),
            between,
        )?
        else {
            return Ok(Compaction::Stopped);
        };
        let all = mirror.complete && k == mirror.rows.len();
        taken = take_landed(&tx, mirror.rows[k - 1].rowid, all)?;
        if taken != k as u64 {
            return Ok(Compaction::Stale);
        }
        inserted = n;
    }
    let (trades, trade_dups, trade_recv) = move_trades(&tx, &into.trades())?;
    if k > 0 || trades > 0 {
        let recv = mirror.rows.iter().take(k).map(LandedRow::recv_ns);
        let (lo, hi) = recv.fold(trade_recv, |(lo, hi), r| (lo.min(r), hi.max(r)));
        partitions::record_moved(&tx, &mut into, inserted as i64, lo, hi)?;
    }
    tx.commit()?;
    target.newest = into;
    mirror.rows.drain(..k);
    let dups = taken.saturating_sub(inserted);
    Ok(Compaction::Done((taken + trades, dups + trade_dups)))
}

/// Moves every landed trade into `table` (the newest partition's trades), sorted like book rows
/// (trades are a tenth of book rows at most, so `INSERT … SELECT` through SQLite's sorter is
/// cheap); returns (taken, duplicates dropped, (earliest, latest) receive time, or
/// (`i64::MAX`, `i64::MIN`) when there was none).
fn move_trades(
    tx: &rusqlite::Transaction<'_>,
    table: &str,
) -> rusqlite::Result<(u64, u64, (i64, i64))> {
    let recv: (Option<i64>, Option<i64>) = tx
        .prepare_cached("SELECT MIN(recv_ns), MAX(recv_ns) FROM trades_ingest")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let moved = tx
        .prepare_cached(&format!(
            "INSERT OR IGNORE INTO {table} ({TRADE_COLUMNS})
             SELECT {TRADE_COLUMNS} FROM trades_ingest ORDER BY market_id, seq"
        ))?
        .execute([])? as u64;
    let taken = tx
        .prepare_cached("DELETE FROM trades_ingest")?
        .execute([])? as u64;
    Ok((
        taken,
        taken.saturating_sub(moved),
        (recv.0.unwrap_or(i64::MAX), recv.1.unwrap_or(i64::MIN)),
    ))
}

/// Positions of the first `k` rows in `(market_id, seq)` order. A market's rows are landed in
/// `seq` order, so a stable grouping by market is that order: a counting sort over the market
/// ids' range (surrogate keys, small and dense), or a sort of (market, position) keys when the
/// range is wide.
fn by_market(rows: &VecDeque<LandedRow>, k: usize) -> Vec<u32> {
    let ids = || rows.iter().take(k).map(LandedRow::market_id);
    let (lo, hi) = (ids().min().unwrap_or(0), ids().max().unwrap_or(0));
    let span = hi.wrapping_sub(lo);
    if !(0..=65_536).contains(&span) {
        let mut keys: Vec<(i64, u32)> = ids().zip(0..k as u32).collect();
        keys.sort_unstable();
        return keys.into_iter().map(|(_, i)| i).collect();
    }
    let mut start = vec![0u32; span as usize + 2];
    for m in ids() {
        start[(m - lo) as usize + 1] += 1;
    }
    for b in 1..start.len() {
        start[b] += start[b - 1];
    }
    let mut out = vec![0u32; k];
    for (i, m) in ids().enumerate() {
        let slot = &mut start[(m - lo) as usize];
        out[*slot as usize] = i as u32;
        *slot += 1;
    }
    out
}

/// Deletes the landed rows up to `upto` (all of them when `all`); returns how many went.
/// Emptying the whole table without a WHERE clause takes SQLite's truncate path (pages to the
/// freelist, no per-row delete): half the cost per row, measured.
fn take_landed(tx: &rusqlite::Transaction<'_>, upto: i64, all: bool) -> rusqlite::Result<u64> {
    let n = if all {
        tx.prepare_cached("DELETE FROM orderbook_ingest")?
            .execute([])?
    } else {
        tx.prepare_cached("DELETE FROM orderbook_ingest WHERE rowid <= ?1")?
            .execute([upto])?
    };
    Ok(n as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_have_one_placeholder_per_bound_value() {
        let s = insert_sql("orderbook_ingest", 8);
        assert_eq!(s.matches('?').count(), 8 * BOOK_COLS);
        assert!(s.starts_with("INSERT INTO orderbook_ingest (market_id"));
        let s = insert_sql("orderbook_events", 64);
        assert_eq!(s.matches('?').count(), 64 * BOOK_COLS);
        assert!(s.starts_with("INSERT OR IGNORE INTO orderbook_events (market_id"));
    }

    #[test]
    fn rows_are_ordered_by_market_then_landing_position() {
        let row = |m: i64, seq: i64| LandedRow {
            rowid: 0,
            vals: [m, seq, 1, 2, 0, 1, 1, 0, 0, 0, 0, 0],
            nulls: 0,
        };
        for wide in [false, true] {
            let far = if wide { 1 << 40 } else { 7 };
            let rows: VecDeque<LandedRow> = [(far, 1), (3, 1), (far, 2), (3, 2), (5, 1), (3, 3)]
                .into_iter()
                .map(|(m, s)| row(m, s))
                .collect();
            let got: Vec<(i64, i64)> = by_market(&rows, 5)
                .into_iter()
                .map(|i| (rows[i as usize].market_id(), rows[i as usize].seq()))
                .collect();
            assert_eq!(got, vec![(3, 1), (3, 2), (5, 1), (far, 1), (far, 2)]);
        }
    }

    #[test]
    fn the_mirror_stops_at_its_cap_and_resumes_only_when_emptied() {
        let row = |i: i64| LandedRow {
            rowid: i,
            vals: [1, i, 1, 2, 0, 1, 1, 0, 0, 0, 0, i],
            nulls: 0,
        };
        let mut m = StagedMirror {
            complete: true,
            ..StagedMirror::default()
        };
        let big: Vec<LandedRow> = (1..=MIRROR_MAX_ROWS as i64).map(row).collect();
        m.landed(&big);
        assert_eq!(m.len(), MIRROR_MAX_ROWS);
        m.landed(&[row(0)]);
        assert!(
            !m.complete,
            "over the cap the mirror no longer covers the table"
        );
        m.landed(&[row(1)]);
        assert_eq!(
            m.len(),
            MIRROR_MAX_ROWS,
            "an incomplete mirror takes nothing new"
        );
        m.deleted_through(1, 10);
        assert_eq!(m.len(), MIRROR_MAX_ROWS - 10);
    }
}
