//! `SqliteStore`'s statistics for `db stats`: rows per table, event partitions, file and WAL
//! bytes, the stored time span and each market's activity.

use rusqlite::params;

use super::error::StorageError;
use super::partitions::Partition;
use super::sqlite::SqliteStore;
use super::sqlite_read::u;
use super::store::{MarketActivity, StoreStats, TableCount};

const NS_PER_HOUR: u64 = 3_600_000_000_000;

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

impl SqliteStore {
    fn file_len(path: &std::path::Path) -> u64 {
        std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
    }

    pub(super) fn stats(&mut self) -> Result<StoreStats, StorageError> {
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
