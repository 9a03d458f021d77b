//! The partitions of `orderbook_events` and `trades`: their tables, their registry
//! (`event_partitions`), and the bounds readers use to skip them.
//!
//! Compaction fills the newest partition until it holds `partition_rows` book rows, then creates
//! the next. Partition 0 is the `orderbook_events` and `trades` tables of schema v1–v6 (so a
//! database written before v7 needs no copy); partition k > 0 is `orderbook_events_p{k}` and
//! `trades_p{k}`, created with partition 0's columns and indices. A market's rows in partition k all have
//! higher `seq` than its rows in any older partition: compaction takes the oldest landed rows
//! first, a market's rows land in `seq` order, and each compaction moves every landed trade.
//! Readers rely on that to stop early (newest first for "the last row before", from the first
//! partition that matters for ranges).
//!
//! Why partitions: a compaction inserts at one point per (market, side, price level) of the
//! `(market_id, side, price)` index, which is nearly every leaf of it, and the WAL takes each
//! dirty page whole, so each compaction's cost grew with the whole table (measured in `polyarb
//! flood`: 1.65 µs per compacted row at 2M rows, 2.4 µs at 8M). It now grows only with the
//! newest partition. Retention drops a partition once all its rows are exported and deleted.
//!
//! `rows` counts the book rows compaction moved in minus those retention deleted; `min_recv_ns`
//! and `max_recv_ns` bound the receive times of both tables' rows and only widen (a delete
//! leaves them as bounds, still true), so a reader may skip a partition whose bounds exclude
//! its time but must never skip on anything else.
//!
//! How many: a partition per `partition_rows` (1M) book rows, so a 200k rows/s burst makes one
//! every 5 s and a feed of 1,000 rows/s one every 17 minutes (~1,200 over a 14-day retention).
//! A reader's probe of a partition is one B-tree descent; readers walk from the newest and
//! stop at the first that answers, so a book rebuild or a time cut near the present touches
//! one or two. Whole-history scans (`db stats`, the oldest-market listing of a prune) visit all.

use rusqlite::{Connection, params};

/// One registered partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Partition {
    pub part: i64,
    pub rows: i64,
    pub min_recv_ns: Option<i64>,
    pub max_recv_ns: Option<i64>,
}

impl Partition {
    /// The partition's book-event table.
    pub fn events(&self) -> String {
        events_table(self.part)
    }

    /// The partition's trade table.
    pub fn trades(&self) -> String {
        trades_table(self.part)
    }

    /// Whether it may hold a row received at or before `t` (strictly before when `strict`).
    pub fn may_hold_before(&self, t: i64, strict: bool) -> bool {
        self.min_recv_ns
            .is_some_and(|m| if strict { m < t } else { m <= t })
    }
}

/// The book-event table of partition `part`.
pub(super) fn events_table(part: i64) -> String {
    if part == 0 {
        "orderbook_events".to_string()
    } else {
        format!("orderbook_events_p{part}")
    }
}

/// The trade table of partition `part`.
pub(super) fn trades_table(part: i64) -> String {
    if part == 0 {
        "trades".to_string()
    } else {
        format!("trades_p{part}")
    }
}

/// Every partition, oldest first.
pub(super) fn list(conn: &Connection) -> rusqlite::Result<Vec<Partition>> {
    let mut st = conn.prepare_cached(
        "SELECT part, rows, min_recv_ns, max_recv_ns FROM event_partitions ORDER BY part",
    )?;
    let rows = st.query_map([], |r| {
        Ok(Partition {
            part: r.get(0)?,
            rows: r.get(1)?,
            min_recv_ns: r.get(2)?,
            max_recv_ns: r.get(3)?,
        })
    })?;
    rows.collect()
}

/// The newest partition (the one compaction fills).
pub(super) fn newest(conn: &Connection) -> rusqlite::Result<Partition> {
    list(conn)?
        .pop()
        .ok_or(rusqlite::Error::QueryReturnedNoRows)
}

/// The statements that create partition `part`: partition 0's tables and indices as the
/// migrations left them, renamed. Deriving them from the schema keeps every partition's columns
/// and indices those of partition 0, whatever a later migration changes there (it must still
/// alter the partitions that exist). The names of partition 0's indices begin with their
/// table's name (`trades_market_ts`), and neither table name appears elsewhere in that DDL, so
/// renaming is a replacement of the table name.
fn ddl(conn: &Connection, part: i64) -> rusqlite::Result<String> {
    let mut st = conn.prepare_cached(
        "SELECT sql FROM sqlite_master
         WHERE tbl_name = ?1 AND type IN ('table', 'index') AND sql IS NOT NULL
         ORDER BY type = 'index', name",
    )?;
    let mut out = String::new();
    for (base, renamed) in [
        (events_table(0), events_table(part)),
        (trades_table(0), trades_table(part)),
    ] {
        let statements = st.query_map([&base], |r| r.get::<_, String>(0))?;
        for sql in statements {
            out.push_str(&sql?.replace(&base, &renamed));
            out.push_str(";\n");
        }
    }
    Ok(out)
}

/// Creates and registers partition `part` (inside the caller's transaction).
pub(super) fn create(conn: &Connection, part: i64, now_ns: i64) -> rusqlite::Result<Partition> {
    conn.execute_batch(&ddl(conn, part)?)?;
    conn.prepare_cached(
        "INSERT INTO event_partitions (part, created_ns, rows) VALUES (?1, ?2, 0)",
    )?
    .execute(params![part, now_ns])?;
    Ok(Partition {
        part,
        rows: 0,
        min_recv_ns: None,
        max_recv_ns: None,
    })
}

/// Records book rows moved into a partition, the partition's rows (book rows and trades)
/// received between `min_recv` and `max_recv`.
pub(super) fn record_moved(
    conn: &Connection,
    p: &mut Partition,
    rows: i64,
    min_recv: i64,
    max_recv: i64,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "UPDATE event_partitions SET rows = rows + ?2,
             min_recv_ns = MIN(COALESCE(min_recv_ns, ?3), ?3),
             max_recv_ns = MAX(COALESCE(max_recv_ns, ?4), ?4)
         WHERE part = ?1",
    )?
    .execute(params![p.part, rows, min_recv, max_recv])?;
    p.rows += rows;
    p.min_recv_ns = Some(p.min_recv_ns.map_or(min_recv, |m| m.min(min_recv)));
    p.max_recv_ns = Some(p.max_recv_ns.map_or(max_recv, |m| m.max(max_recv)));
    Ok(())
}

/// Records book rows retention deleted from a partition.
pub(super) fn record_deleted(conn: &Connection, part: i64, rows: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE event_partitions SET rows = rows - ?2 WHERE part = ?1")?
        .execute(params![part, rows])?;
    Ok(())
}

/// Drops every partition but the first and the newest that holds no row any more (retention
/// emptied it); returns how many went. The first keeps the `orderbook_events` and `trades` names
/// that older tools and schema versions know; the newest is the one compaction fills.
pub(super) fn drop_emptied(conn: &Connection) -> rusqlite::Result<u64> {
    let all = list(conn)?;
    let Some(newest) = all.last().map(|p| p.part) else {
        return Ok(0);
    };
    let mut dropped = 0;
    for p in all.iter().filter(|p| p.part != 0 && p.part != newest) {
        let (e, t) = (p.events(), p.trades());
        let any: bool = conn.query_row(
            &format!("SELECT EXISTS (SELECT 1 FROM {e}) OR EXISTS (SELECT 1 FROM {t})"),
            [],
            |r| r.get(0),
        )?;
        if any {
            continue;
        }
        conn.execute_batch(&format!("DROP TABLE {e}; DROP TABLE {t};"))?;
        conn.prepare_cached("DELETE FROM event_partitions WHERE part = ?1")?
            .execute([p.part])?;
        dropped += 1;
    }
    Ok(dropped)
}
