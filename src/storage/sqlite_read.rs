//! `SqliteStore`'s reads: the queries a book rebuild, retention and the writer's recovery run,
//! each shaped to walk one of the indices named in the module doc rather than scan a table.
//! Nothing here writes.

use rusqlite::{OptionalExtension, Row as SqlRow, params};

use crate::core::{Price, Size, TokenId};

use super::batch::{
    BookImage, BookRowKind, StoredBookRow, StoredSnapshot, StoredState, StoredTrade, side_from_code,
};
use super::error::StorageError;
use super::partitions::{self, Partition};
use super::schema::flags;
use super::snapshots::decode_levels;
use super::sqlite::SqliteStore;
use super::store::{AssetRecord, ExportRecord, MarketRef};

pub(super) fn u(v: i64, what: &str) -> Result<u64, StorageError> {
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
    pub(super) fn count(&self, table: &str) -> Result<u64, StorageError> {
        let n: i64 = self
            .conn
            .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))?;
        u(n, "count")
    }

    pub(super) fn partitions(&self) -> Result<Vec<Partition>, StorageError> {
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
    pub(super) fn events_seq_before(
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
}
impl SqliteStore {
    pub(super) fn staged_rows(&mut self) -> Result<u64, StorageError> {
        Ok(self.count("orderbook_ingest")? + self.count("trades_ingest")?)
    }

    pub(super) fn last_batch_id(&mut self) -> Result<u64, StorageError> {
        let v: i64 =
            self.conn
                .query_row("SELECT COALESCE(MAX(batch_id), 0) FROM batches", [], |r| {
                    r.get(0)
                })?;
        u(v, "batch id")
    }

    pub(super) fn asset(&mut self, token: &TokenId) -> Result<Option<AssetRecord>, StorageError> {
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

    pub(super) fn market_assets(
        &mut self,
        market_id: i64,
    ) -> Result<Vec<AssetRecord>, StorageError> {
        let mut st = self.conn.prepare_cached(
            "SELECT o.asset_id, o.market_id, o.token_id, m.condition_id, o.outcome
             FROM outcomes o JOIN markets m ON m.market_id = o.market_id
             WHERE o.market_id = ?1 ORDER BY o.asset_id",
        )?;
        let rows = st.query_map([market_id], asset_record)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub(super) fn seq_at(
        &mut self,
        market_id: i64,
        at_ns: u64,
    ) -> Result<Option<u64>, StorageError> {
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

    pub(super) fn latest_snapshot(
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

    pub(super) fn latest_book_start(
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

    pub(super) fn book_rows(
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

    pub(super) fn trades(
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

    pub(super) fn markets_with_events_before(
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

    pub(super) fn last_seq_before(
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

    pub(super) fn exports(&mut self) -> Result<Vec<ExportRecord>, StorageError> {
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
}
