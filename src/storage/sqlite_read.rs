//! The read side of `SqliteStore` and its `EventStore` implementation: the queries a book
//! rebuild, retention and `db stats` run, each shaped to walk one of the indices named in the
//! module doc rather than scan a table.

use rusqlite::{OptionalExtension, Row as SqlRow, TransactionBehavior, params};
use std::ops::ControlFlow;

use crate::core::{Price, Size, TokenId};

use super::batch::{
    Batch, BatchOutcome, BookImage, BookRowKind, StoredBookRow, StoredSnapshot, StoredState,
    StoredTrade, side_from_code,
};
use super::error::StorageError;
use super::partitions::{self, Partition};
use super::schema::flags;
use super::snapshots::decode_levels;
use super::sqlite::{SqliteStore, page_limit};
use super::store::{
    AssetRecord, EventStore, ExportRecord, MarketActivity, MarketRef, StoreStats, TableCount,
};

/// Tables `db stats` counts, in schema order.
pub const TABLES: &[&str] = &[
    "markets",
    "outcomes",
    "orderbook_events",
    "orderbook_ingest",
    "trades",
    "trades_ingest",
    "snapshots",
    "orders",
    "order_journal",
    "fills",
    "positions",
    "resyncs",
    "rule_changes",
    "market_changes",
    "batches",
    "exports",
    "tob_bars_1m",
    "trade_bars_1m",
    "schema_version",
];

const NS_PER_HOUR: u64 = 3_600_000_000_000;

fn u(v: i64, what: &str) -> Result<u64, StorageError> {
    u64::try_from(v).map_err(|_| StorageError::BadStoredData(format!("negative {what}: {v}")))
}

/// One raw `orderbook_events` row: seq, asset, kind, side, price, size, best bid, best ask,
/// flags, venue ts, receive time.
type RawBookRow = (
    i64,
    i64,
    i64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    i64,
    i64,
    i64,
);

fn book_row(r: &SqlRow<'_>) -> rusqlite::Result<RawBookRow> {
    RawBookRow::try_from(r)
}

fn claimed(p: Option<i64>) -> Result<Option<Price>, StorageError> {
    p.map(|p| {
        u32::try_from(p)
            .map(Price)
            .map_err(|_| StorageError::BadStoredData(format!("claimed price {p}")))
    })
    .transpose()
}

fn asset_record(r: &SqlRow<'_>) -> rusqlite::Result<AssetRecord> {
    Ok(AssetRecord {
        asset_id: r.get(0)?,
        market_id: r.get(1)?,
        token_id: r.get(2)?,
        condition_id: r.get(3)?,
        outcome: r.get(4)?,
    })
}

impl SqliteStore {
    fn count(&self, table: &str) -> Result<u64, StorageError> {
        let n: i64 = self
            .conn
            .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))?;
        u(n, "count")
    }

    fn partitions(&self) -> Result<Vec<Partition>, StorageError> {
        Ok(partitions::list(&self.conn)?)
    }

    /// The index in `parts` of the first partition a market's rows from `seq` onwards can be in
    /// (`table` picks the partition's book or trade table): the newest whose first row of the
    /// market is at or before `seq`, or the oldest when none is. A market's first `seq` grows
    /// from one partition holding it to the next, so this is a binary search; partitions
    /// without the market are stepped over. A rebuild at any moment probes a few partitions
    /// however many there are (a linear walk from the newest took 88 ms over 800).
    fn first_partition_from(
        &self,
        parts: &[Partition],
        table: fn(&Partition) -> String,
        market_id: i64,
        seq: i64,
    ) -> Result<usize, StorageError> {
        let first_seq = |p: &Partition| -> Result<Option<i64>, StorageError> {
            Ok(self
                .conn
                .prepare_cached(&format!(
                    "SELECT seq FROM {} WHERE market_id = ?1 ORDER BY seq LIMIT 1",
                    table(p)
                ))?
                .query_row([market_id], |r| r.get(0))
                .optional()?)
        };
        let (mut best, mut lo, mut hi) = (0, 0, parts.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            // The first partition in [mid, hi) that holds the market.
            let mut held = None;
            for (j, p) in parts.iter().enumerate().take(hi).skip(mid) {
                if let Some(f) = first_seq(p)? {
                    held = Some((j, f));
                    break;
                }
            }
            match held {
                Some((j, f)) if f <= seq => {
                    best = j;
                    lo = j + 1;
                }
                // Nothing in [mid, hi) starts at or before `seq`.
                _ => hi = mid,
            }
        }
        Ok(best)
    }

    /// The partitions a market's rows with `from <= seq <= to` can be in, oldest first.
    fn partition_range<'p>(
        &self,
        parts: &'p [Partition],
        table: fn(&Partition) -> String,
        market_id: i64,
        from: i64,
        to: i64,
    ) -> Result<&'p [Partition], StorageError> {
        if parts.is_empty() {
            return Ok(parts);
        }
        let start = self.first_partition_from(parts, table, market_id, from)?;
        let end = self.first_partition_from(parts, table, market_id, to)?;
        Ok(&parts[start..=end.max(start)])
    }

    /// The newest `orderbook_events` seq of a market received at or before `bound` (strictly
    /// before when `strict`): in the newest partition that has one, since a market's rows in a
    /// newer partition all come after its rows in older ones.
    fn events_seq_before(
        &self,
        parts: &[Partition],
        market_id: i64,
        bound: i64,
        strict: bool,
    ) -> Result<Option<i64>, StorageError> {
        for p in parts.iter().rev() {
            if !p.may_hold_before(bound, strict) {
                continue;
            }
            if let Some(seq) = self.partition_seq_before(&p.events(), market_id, bound, strict)? {
                return Ok(Some(seq));
            }
        }
        Ok(None)
    }

    /// `events_seq_before` in one partition. `recv_ns` is non-decreasing in `seq` per market, so
    /// the answer lies between the newest sampled row within the bound and the oldest sampled row
    /// beyond it (two probes of the sampled time index), and is found by scanning that
    /// primary-key range backwards from its end.
    fn partition_seq_before(
        &self,
        table: &str,
        market_id: i64,
        bound: i64,
        strict: bool,
    ) -> Result<Option<i64>, StorageError> {
        let (le, gt) = if strict { ("<", ">=") } else { ("<=", ">") };
        let lo: Option<i64> = self
            .conn
            .prepare_cached(&format!(
                "SELECT seq FROM {table} WHERE market_id = ?1 AND seq % 64 = 0 AND recv_ns {le} ?2
                 ORDER BY recv_ns DESC, seq DESC LIMIT 1"
            ))?
            .query_row(params![market_id, bound], |r| r.get(0))
            .optional()?;
        let hi: Option<i64> = self
            .conn
            .prepare_cached(&format!(
                "SELECT seq FROM {table} WHERE market_id = ?1 AND seq % 64 = 0 AND recv_ns {gt} ?2
                 ORDER BY recv_ns, seq LIMIT 1"
            ))?
            .query_row(params![market_id, bound], |r| r.get(0))
            .optional()?;
        Ok(self
            .conn
            .prepare_cached(&format!(
                "SELECT seq FROM {table}
                 WHERE market_id = ?1 AND seq >= ?2 AND seq < ?3 AND recv_ns {le} ?4
                 ORDER BY seq DESC LIMIT 1"
            ))?
            .query_row(
                params![
                    market_id,
                    lo.unwrap_or(i64::MIN),
                    hi.unwrap_or(i64::MAX),
                    bound
                ],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn file_len(path: &std::path::Path) -> u64 {
        std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
    }
}

impl EventStore for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn write_batch(&mut self, batch: &Batch) -> Result<BatchOutcome, StorageError> {
        self.write_batch_impl(batch)
    }

    fn compact_yielding(
        &mut self,
        max_rows: usize,
        between: &mut dyn FnMut() -> ControlFlow<()>,
    ) -> Result<Option<(u64, u64)>, StorageError> {
        self.compact_impl(max_rows, between)
    }

    fn staged_rows(&mut self) -> Result<u64, StorageError> {
        Ok(self.count("orderbook_ingest")? + self.count("trades_ingest")?)
    }

    fn last_batch_id(&mut self) -> Result<u64, StorageError> {
        let v: i64 =
            self.conn
                .query_row("SELECT COALESCE(MAX(batch_id), 0) FROM batches", [], |r| {
                    r.get(0)
                })?;
        u(v, "batch id")
    }

    fn wal_database(&self) -> Option<(std::path::PathBuf, super::config::Synchronous)> {
        Some((self.path().to_path_buf(), self.synchronous()))
    }

    fn optimize(&mut self) -> Result<(), StorageError> {
        // 0x10002: analyze every table whose statistics are missing or stale, not only those
        // this connection queried (the writer only inserts).
        self.conn
            .execute_batch("PRAGMA analysis_limit = 400; PRAGMA optimize = 0x10002;")?;
        Ok(())
    }

    fn set_size_limit(&mut self, bytes: u64) -> Result<(), StorageError> {
        let pages = page_limit(bytes, self.page_size());
        // SQLite never lowers the ceiling below the current size; the returned value says so.
        let _: i64 = self
            .conn
            .query_row(&format!("PRAGMA max_page_count = {pages}"), [], |r| {
                r.get(0)
            })?;
        Ok(())
    }

    fn asset(&mut self, token: &TokenId) -> Result<Option<AssetRecord>, StorageError> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT o.asset_id, o.market_id, o.token_id, m.condition_id, o.outcome
                 FROM outcomes o JOIN markets m ON m.market_id = o.market_id
                 WHERE o.token_id = ?1",
            )?
            .query_row([token.to_string()], asset_record)
            .optional()?)
    }

    fn market_assets(&mut self, market_id: i64) -> Result<Vec<AssetRecord>, StorageError> {
        let mut st = self.conn.prepare_cached(
            "SELECT o.asset_id, o.market_id, o.token_id, m.condition_id, o.outcome
             FROM outcomes o JOIN markets m ON m.market_id = o.market_id
             WHERE o.market_id = ?1 ORDER BY o.asset_id",
        )?;
        let rows = st.query_map([market_id], asset_record)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn seq_at(&mut self, market_id: i64, at_ns: u64) -> Result<Option<u64>, StorageError> {
        let at = i64::try_from(at_ns).unwrap_or(i64::MAX);
        let main = self.events_seq_before(&self.partitions()?, market_id, at, false)?;
        let staged: Option<i64> = self
            .conn
            .prepare_cached(
                "SELECT MAX(seq) FROM orderbook_ingest WHERE market_id = ?1 AND recv_ns <= ?2",
            )?
            .query_row(params![market_id, at], |r| r.get(0))?;
        main.max(staged).map(|v| u(v, "seq")).transpose()
    }

    fn latest_snapshot(
        &mut self,
        asset_id: i64,
        max_seq: u64,
    ) -> Result<Option<StoredSnapshot>, StorageError> {
        let max = i64::try_from(max_seq).unwrap_or(i64::MAX);
        type Raw = (
            i64,
            i64,
            i64,
            Option<i64>,
            i64,
            Option<i64>,
            i64,
            i64,
            Vec<u8>,
        );
        let raw: Option<Raw> = self
            .conn
            .prepare_cached(
                "SELECT seq, recv_ns, venue_ts_ms, tick_size, state, reason, bid_levels, ask_levels, levels
                 FROM snapshots WHERE asset_id = ?1 AND seq <= ?2 ORDER BY seq DESC LIMIT 1",
            )?
            .query_row(params![asset_id, max], |r| Raw::try_from(r))
            .optional()?;
        let Some((seq, recv, venue, tick, state, reason, nb, na, blob)) = raw else {
            return Ok(None);
        };
        let bad =
            |what: &str| StorageError::BadStoredData(format!("snapshot {asset_id}/{seq}: {what}"));
        let tick = match tick {
            None => None,
            Some(t) => Some(
                u32::try_from(t)
                    .ok()
                    .and_then(|t| crate::core::TickSize::new(Price(t)).ok())
                    .ok_or_else(|| bad("tick size"))?,
            ),
        };
        let state = StoredState::from_columns(state, reason).ok_or_else(|| bad("state"))?;
        let nb = usize::try_from(nb).map_err(|_| bad("bid count"))?;
        let na = usize::try_from(na).map_err(|_| bad("ask count"))?;
        let (bids, asks) = decode_levels(&blob, nb, na)?;
        Ok(Some(StoredSnapshot {
            asset_id,
            seq: u(seq, "seq")?,
            recv_ns: u(recv, "recv_ns")?,
            venue_ts_ms: u(venue, "venue_ts_ms")?,
            book: BookImage {
                tick,
                state,
                bids,
                asks,
            },
        }))
    }

    fn latest_book_start(
        &mut self,
        asset_id: i64,
        max_seq: u64,
    ) -> Result<Option<u64>, StorageError> {
        let max = i64::try_from(max_seq).unwrap_or(i64::MAX);
        let mut main: Option<i64> = None;
        let market_id: Option<i64> = self
            .conn
            .prepare_cached("SELECT market_id FROM outcomes WHERE asset_id = ?1")?
            .query_row([asset_id], |r| r.get(0))
            .optional()?;
        let parts = self.partitions()?;
        // Back from the partition that holds `max_seq`: newer ones only hold later rows.
        let end = match market_id {
            Some(m) => self.first_partition_from(&parts, Partition::events, m, max)?,
            None => parts.len().saturating_sub(1),
        };
        for p in parts.iter().take(end + 1).rev() {
            main = self
                .conn
                .prepare_cached(&format!(
                    "SELECT seq FROM {} WHERE asset_id = ?1 AND kind = 0 AND seq <= ?2
                     ORDER BY seq DESC LIMIT 1",
                    p.events()
                ))?
                .query_row(params![asset_id, max], |r| r.get(0))
                .optional()?;
            if main.is_some() {
                break;
            }
        }
        let staged: Option<i64> = self
            .conn
            .prepare_cached(
                "SELECT MAX(seq) FROM orderbook_ingest WHERE asset_id = ?1 AND kind = 0 AND seq <= ?2",
            )?
            .query_row(params![asset_id, max], |r| r.get(0))?;
        main.max(staged).map(|v| u(v, "seq")).transpose()
    }

    fn book_rows(
        &mut self,
        market_id: i64,
        asset_id: Option<i64>,
        from_seq: u64,
        to_seq: u64,
        limit: usize,
    ) -> Result<Vec<StoredBookRow>, StorageError> {
        let from = i64::try_from(from_seq).unwrap_or(i64::MAX);
        let to = i64::try_from(to_seq).unwrap_or(i64::MAX);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        // From the partition where the market's range starts, forward, then the landing table:
        // a market's rows in each come after its rows in the ones before.
        let parts = self.partitions()?;
        let tables = self.partition_range(&parts, Partition::events, market_id, from, to)?;
        let mut tables: Vec<String> = tables.iter().map(Partition::events).collect();
        tables.push("orderbook_ingest".to_string());
        let mut raw = Vec::new();
        for table in &tables {
            let left = limit - raw.len() as i64;
            if left <= 0 {
                break;
            }
            let mut st = self.conn.prepare_cached(&format!(
                "SELECT seq, asset_id, kind, side, price, size, best_bid, best_ask, flags, venue_ts_ms, recv_ns
                 FROM {table}
                 WHERE market_id = ?1 AND seq >= ?2 AND seq <= ?3 AND (?4 IS NULL OR asset_id = ?4)
                 ORDER BY seq LIMIT ?5"
            ))?;
            let rows = st.query_map(params![market_id, from, to, asset_id, left], book_row)?;
            for r in rows {
                raw.push(r?);
            }
        }
        let mut out = Vec::with_capacity(raw.len());
        for r in raw {
            let (seq, asset_id, code, side, price, size, bb, ba, fl, venue, recv) = r;
            let kind = BookRowKind::from_columns(code, side, price, size).ok_or_else(|| {
                StorageError::BadStoredData(format!(
                    "orderbook_events {market_id}/{seq}: kind {code} with side {side:?} price {price:?} size {size:?}"
                ))
            })?;
            let end = if fl & flags::EVENT_END != 0 {
                Some(crate::core::ClaimedTop {
                    bid: claimed(bb)?,
                    ask: claimed(ba)?,
                })
            } else {
                None
            };
            out.push(StoredBookRow {
                seq: u(seq, "seq")?,
                asset_id,
                kind,
                end,
                venue_ts_ms: u(venue, "venue_ts_ms")?,
                recv_ns: u(recv, "recv_ns")?,
            });
        }
        Ok(out)
    }

    fn trades(
        &mut self,
        market_id: i64,
        from_seq: u64,
        to_seq: u64,
        limit: usize,
    ) -> Result<Vec<StoredTrade>, StorageError> {
        let from = i64::try_from(from_seq).unwrap_or(i64::MAX);
        let to = i64::try_from(to_seq).unwrap_or(i64::MAX);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let parts = self.partitions()?;
        let tables = self.partition_range(&parts, Partition::trades, market_id, from, to)?;
        let mut tables: Vec<String> = tables.iter().map(Partition::trades).collect();
        tables.push("trades_ingest".to_string());
        type Raw = (i64, i64, i64, i64, i64, Option<i64>, i64, i64);
        let mut rows: Vec<Raw> = Vec::new();
        for table in &tables {
            let left = limit - rows.len() as i64;
            if left <= 0 {
                break;
            }
            let mut st = self.conn.prepare_cached(&format!(
                "SELECT seq, asset_id, side, price, size, fee_rate_bps, venue_ts_ms, recv_ns
                 FROM {table} WHERE market_id = ?1 AND seq >= ?2 AND seq <= ?3
                 ORDER BY seq LIMIT ?4"
            ))?;
            for r in st.query_map(params![market_id, from, to, left], |r| Raw::try_from(r))? {
                rows.push(r?);
            }
        }
        let mut out = Vec::new();
        for r in rows {
            let (seq, asset_id, side, price, size, fee, venue, recv) = r;
            let bad = || StorageError::BadStoredData(format!("trades {market_id}/{seq}"));
            out.push(StoredTrade {
                seq: u(seq, "seq")?,
                asset_id,
                side: side_from_code(side).ok_or_else(bad)?,
                price: Price(u32::try_from(price).map_err(|_| bad())?),
                size: Size(u(size, "size")?),
                fee_rate_bps: fee
                    .map(|f| u32::try_from(f).map_err(|_| bad()))
                    .transpose()?,
                venue_ts_ms: u(venue, "venue_ts_ms")?,
                recv_ns: u(recv, "recv_ns")?,
            });
        }
        Ok(out)
    }

    fn markets_with_events_before(
        &mut self,
        cutoff_ns: u64,
    ) -> Result<Vec<MarketRef>, StorageError> {
        let cut = i64::try_from(cutoff_ns).unwrap_or(i64::MAX);
        let market = |r: &SqlRow<'_>| {
            Ok(MarketRef {
                market_id: r.get(0)?,
                condition_id: r.get(1)?,
            })
        };
        let mut found: std::collections::BTreeMap<i64, MarketRef> = Default::default();
        // A market's oldest row in a partition is the first of its primary-key range there.
        for p in self.partitions()? {
            if !p.may_hold_before(cut, true) {
                continue;
            }
            let mut st = self.conn.prepare_cached(&format!(
                "SELECT m.market_id, m.condition_id FROM markets m
                 WHERE (SELECT e.recv_ns FROM {} e WHERE e.market_id = m.market_id
                        ORDER BY e.seq LIMIT 1) < ?1
                    OR EXISTS (SELECT 1 FROM {} t WHERE t.market_id = m.market_id AND t.recv_ns < ?1)",
                p.events(),
                p.trades()
            ))?;
            for m in st.query_map([cut], market)? {
                let m = m?;
                found.insert(m.market_id, m);
            }
        }
        let mut st = self.conn.prepare_cached(
            "SELECT m.market_id, m.condition_id FROM markets m
             WHERE EXISTS (SELECT 1 FROM orderbook_ingest i WHERE i.market_id = m.market_id AND i.recv_ns < ?1)
                OR EXISTS (SELECT 1 FROM trades_ingest i WHERE i.market_id = m.market_id AND i.recv_ns < ?1)",
        )?;
        for m in st.query_map([cut], market)? {
            let m = m?;
            found.insert(m.market_id, m);
        }
        Ok(found.into_values().collect())
    }

    fn last_seq_before(
        &mut self,
        market_id: i64,
        cutoff_ns: u64,
    ) -> Result<Option<u64>, StorageError> {
        let cut = i64::try_from(cutoff_ns).unwrap_or(i64::MAX);
        let parts = self.partitions()?;
        let mut best = self.events_seq_before(&parts, market_id, cut, true)?;
        for p in parts.iter().rev() {
            if !p.may_hold_before(cut, true) {
                continue;
            }
            let v: Option<i64> = self
                .conn
                .prepare_cached(&format!(
                    "SELECT seq FROM {} WHERE market_id = ?1 AND recv_ns < ?2
                     ORDER BY recv_ns DESC, seq DESC LIMIT 1",
                    p.trades()
                ))?
                .query_row(params![market_id, cut], |r| r.get(0))
                .optional()?;
            if v.is_some() {
                best = best.max(v);
                break;
            }
        }
        for sql in [
            "SELECT MAX(seq) FROM orderbook_ingest WHERE market_id = ?1 AND recv_ns < ?2",
            "SELECT MAX(seq) FROM trades_ingest WHERE market_id = ?1 AND recv_ns < ?2",
        ] {
            let v: Option<Option<i64>> = self
                .conn
                .prepare_cached(sql)?
                .query_row(params![market_id, cut], |r| r.get(0))
                .optional()?;
            best = best.max(v.flatten());
        }
        best.map(|v| u(v, "seq")).transpose()
    }

    fn delete_events_through(
        &mut self,
        market_id: i64,
        through_seq: u64,
        export: &ExportRecord,
    ) -> Result<u64, StorageError> {
        let through = i64::try_from(through_seq).unwrap_or(i64::MAX);
        let big = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut n = 0;
        // Every row through `through_seq` was received by `last_recv_ns` (receive times are
        // non-decreasing in `seq` per market), so newer partitions are left alone.
        let newest_gone = big(export.last_recv_ns);
        for p in partitions::list(&tx)? {
            if !p.may_hold_before(newest_gone, false) {
                continue;
            }
            let gone = tx
                .prepare_cached(&format!(
                    "DELETE FROM {} WHERE market_id = ?1 AND seq <= ?2",
                    p.events()
                ))?
                .execute(params![market_id, through])?;
            if gone > 0 {
                partitions::record_deleted(&tx, p.part, gone as i64)?;
            }
            n += gone;
            n += tx
                .prepare_cached(&format!(
                    "DELETE FROM {} WHERE market_id = ?1 AND seq <= ?2",
                    p.trades()
                ))?
                .execute(params![market_id, through])?;
        }
        n += tx
            .prepare_cached("DELETE FROM orderbook_ingest WHERE market_id = ?1 AND seq <= ?2")?
            .execute(params![market_id, through])?;
        n += tx
            .prepare_cached("DELETE FROM trades_ingest WHERE market_id = ?1 AND seq <= ?2")?
            .execute(params![market_id, through])?;
        tx.prepare_cached(
            "INSERT INTO exports (market_id, first_seq, last_seq, rows, first_recv_ns, last_recv_ns, file, created_ns)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?
        .execute(params![
            export.market_id,
            big(export.first_seq),
            big(export.last_seq),
            big(export.rows),
            big(export.first_recv_ns),
            big(export.last_recv_ns),
            export.file,
            big(export.created_ns)
        ])?;
        tx.commit()?;
        self.staged_deleted_through(market_id, through);
        Ok(n as u64)
    }

    fn drop_emptied_partitions(&mut self) -> Result<u64, StorageError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let n = partitions::drop_emptied(&tx)?;
        tx.commit()?;
        Ok(n)
    }

    fn delete_snapshots_before(&mut self, cutoff_ns: u64) -> Result<u64, StorageError> {
        let cut = i64::try_from(cutoff_ns).unwrap_or(i64::MAX);
        let n = self.conn.execute(
            "DELETE FROM snapshots WHERE recv_ns < ?1
               AND seq < (SELECT MAX(s2.seq) FROM snapshots s2 WHERE s2.asset_id = snapshots.asset_id)",
            [cut],
        )?;
        Ok(n as u64)
    }

    fn delete_batches_before(&mut self, cutoff_ns: u64) -> Result<u64, StorageError> {
        let cut = i64::try_from(cutoff_ns).unwrap_or(i64::MAX);
        let n = self.conn.execute(
            "DELETE FROM batches WHERE committed_ns < ?1 AND batch_id < (SELECT MAX(batch_id) FROM batches)",
            [cut],
        )?;
        Ok(n as u64)
    }

    fn exports(&mut self) -> Result<Vec<ExportRecord>, StorageError> {
        let mut st = self.conn.prepare_cached(
            "SELECT market_id, first_seq, last_seq, rows, first_recv_ns, last_recv_ns, file, created_ns
             FROM exports ORDER BY export_id",
        )?;
        type Raw = (i64, i64, i64, i64, i64, i64, String, i64);
        let rows = st.query_map([], |r| Raw::try_from(r))?;
        let mut out = Vec::new();
        for r in rows {
            let (market_id, a, b, n, f, l, file, c) = r?;
            out.push(ExportRecord {
                market_id,
                first_seq: u(a, "seq")?,
                last_seq: u(b, "seq")?,
                rows: u(n, "rows")?,
                first_recv_ns: u(f, "recv_ns")?,
                last_recv_ns: u(l, "recv_ns")?,
                file,
                created_ns: u(c, "created_ns")?,
            });
        }
        Ok(out)
    }

    fn stats(&mut self) -> Result<StoreStats, StorageError> {
        let schema_version = super::migrations::current_version(&self.conn)?;
        let mut tables = Vec::with_capacity(TABLES.len());
        let parts = self.partitions()?;
        for t in TABLES {
            let partitioned: Option<fn(&Partition) -> String> = match *t {
                "orderbook_events" => Some(Partition::events),
                "trades" => Some(Partition::trades),
                _ => None,
            };
            let rows = if let Some(table) = partitioned {
                let mut n = 0;
                for p in &parts {
                    n += self.count(&table(p))?;
                }
                n
            } else {
                self.count(t)?
            };
            tables.push(TableCount {
                table: (*t).to_string(),
                rows,
            });
        }
        let path = self.path().to_path_buf();
        let db_bytes = Self::file_len(&path);
        let mut wal = path.clone().into_os_string();
        wal.push("-wal");
        let wal_bytes = Self::file_len(std::path::Path::new(&wal));
        let last_batch_id = self.last_batch_id()?;

        // Per market: rows, first and last receive time, in every table of one kind.
        type Agg = (i64, String, i64, Option<i64>, Option<i64>);
        let activity = |tables: Vec<String>| -> Result<Vec<Agg>, StorageError> {
            let mut out = Vec::new();
            for t in tables {
                let mut st = self.conn.prepare(&format!(
                    "SELECT x.market_id, m.condition_id, COUNT(*), MIN(x.recv_ns), MAX(x.recv_ns)
                     FROM {t} x JOIN markets m ON m.market_id = x.market_id GROUP BY x.market_id"
                ))?;
                let rows = st.query_map([], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })?;
                for r in rows {
                    out.push(r?);
                }
            }
            Ok(out)
        };
        let with_landing = |table: fn(&Partition) -> String, landing: &str| {
            let mut tables: Vec<String> = parts.iter().map(table).collect();
            tables.push(landing.to_string());
            tables
        };
        let events = activity(with_landing(Partition::events, "orderbook_ingest"))?;
        let trades = activity(with_landing(Partition::trades, "trades_ingest"))?;
        let mut markets: Vec<MarketActivity> = Vec::new();
        for (is_trade, list) in [(false, events), (true, trades)] {
            for (market_id, condition_id, n, first, last) in list {
                let i = match markets.iter().position(|m| m.market_id == market_id) {
                    Some(i) => i,
                    None => {
                        markets.push(MarketActivity {
                            market_id,
                            condition_id,
                            events: 0,
                            trades: 0,
                            first_recv_ns: u64::MAX,
                            last_recv_ns: 0,
                            events_last_hour: 0,
                        });
                        markets.len() - 1
                    }
                };
                let m = &mut markets[i];
                if is_trade {
                    m.trades += u(n, "count")?;
                } else {
                    m.events += u(n, "count")?;
                }
                m.first_recv_ns = m.first_recv_ns.min(u(first.unwrap_or(0), "recv_ns")?);
                m.last_recv_ns = m.last_recv_ns.max(u(last.unwrap_or(0), "recv_ns")?);
            }
        }
        let oldest_event_ns = markets.iter().map(|m| m.first_recv_ns).min();
        let newest_event_ns = markets.iter().map(|m| m.last_recv_ns).max();
        if let Some(newest) = newest_event_ns {
            let since = i64::try_from(newest.saturating_sub(NS_PER_HOUR)).unwrap_or(i64::MAX);
            for m in &mut markets {
                let cut = self
                    .events_seq_before(&parts, m.market_id, since, false)?
                    .unwrap_or(i64::MIN);
                let mut n: i64 = self
                    .conn
                    .prepare_cached(
                        "SELECT COUNT(*) FROM orderbook_ingest WHERE market_id = ?1 AND recv_ns > ?2",
                    )?
                    .query_row(params![m.market_id, since], |r| r.get(0))?;
                for p in parts.iter().filter(|p| p.max_recv_ns > Some(since)) {
                    n += self
                        .conn
                        .prepare_cached(&format!(
                            "SELECT COUNT(*) FROM {} WHERE market_id = ?1 AND seq > ?2",
                            p.events()
                        ))?
                        .query_row(params![m.market_id, cut], |r| r.get::<_, i64>(0))?;
                }
                m.events_last_hour = u(n, "count")?;
            }
        }
        markets.sort_by(|a, b| {
            (b.events + b.trades)
                .cmp(&(a.events + a.trades))
                .then(a.market_id.cmp(&b.market_id))
        });
        Ok(StoreStats {
            schema_version,
            event_partitions: parts.len() as u64,
            tables,
            db_bytes,
            wal_bytes,
            oldest_event_ns,
            newest_event_ns,
            last_batch_id,
            markets,
        })
    }
}
