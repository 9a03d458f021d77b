//! The catalog's rows on a `SqliteStore`, written outside the batch writer (the catalog's cold
//! thread or the CLI opens its own connection; WAL lets it share the file with the writer):
//! market upserts with the catalog's view of each market, the change log, rule changes, acks,
//! and the reads the catalog needs after a restart.
//!
//! A refused row (too long, a token stored under another market) is rolled back to its own
//! savepoint and returned; the rest of the refresh is stored.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::error::{Failure, MAX_ID_LEN, MAX_LABEL_LEN, RowError, StorageError, check_len, to_i64};
use super::event::{MarketRecord, RuleChangeRecord};
use super::sqlite::SqliteStore;
use super::sqlite_trading as trading;

/// Largest `catalog_json` accepted (a market's description is rarely over a few kB).
const MAX_JSON_LEN: usize = 1 << 20;

/// One market as the catalog stores it: the `markets`/`outcomes` record plus its status and
/// the whole normalized market as JSON.
#[derive(Clone, Debug)]
pub struct CatalogRow {
    pub record: MarketRecord,
    pub status: String,
    pub json: String,
}

/// One `market_changes` row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MarketChangeRow {
    pub condition_id: String,
    /// `new`, `changed`, `closed` or `resolved`.
    pub kind: String,
    /// Comma-separated field names (for `changed`; empty otherwise).
    pub fields: String,
    pub detected_ns: u64,
}

/// What the catalog reads back of one `markets` row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCatalogMarket {
    pub json: Option<String>,
    pub rule_hash: Option<String>,
}

/// One stored `rule_changes` row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredRuleChange {
    pub condition_id: String,
    pub old_hash: Option<String>,
    pub new_hash: String,
    pub detected_ns: u64,
    pub acked_ns: Option<u64>,
    pub detail: Option<String>,
}

fn row_error(f: Failure) -> StorageError {
    match f {
        Failure::Row(e) => StorageError::Refused(e),
        Failure::Batch(e) => e,
    }
}

fn write_row(c: &Connection, r: &CatalogRow) -> Result<(), Failure> {
    check_len("status", &r.status, MAX_LABEL_LEN)?;
    check_len("catalog_json", &r.json, MAX_JSON_LEN)?;
    trading::upsert_market(c, &r.record)?;
    c.prepare_cached("UPDATE markets SET status = ?2, catalog_json = ?3 WHERE condition_id = ?1")?
        .execute(params![r.record.condition_id, r.status, r.json])?;
    Ok(())
}

fn write_change(c: &Connection, ch: &MarketChangeRow) -> Result<(), Failure> {
    check_len("condition_id", &ch.condition_id, MAX_ID_LEN)?;
    check_len("kind", &ch.kind, MAX_LABEL_LEN)?;
    check_len("fields", &ch.fields, MAX_LABEL_LEN)?;
    c.prepare_cached(
        "INSERT INTO market_changes (condition_id, kind, fields, detected_ns) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![
        ch.condition_id,
        ch.kind,
        ch.fields,
        to_i64("detected_ns", ch.detected_ns)?
    ])?;
    Ok(())
}

fn u64_of(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

impl SqliteStore {
    /// Upserts catalog markets and appends their change-log rows, in one transaction. Returns
    /// the rows refused (condition id, reason); every other row is stored.
    pub fn upsert_catalog(
        &mut self,
        rows: &[CatalogRow],
        changes: &[MarketChangeRow],
    ) -> Result<Vec<(String, RowError)>, StorageError> {
        let mut refused = Vec::new();
        let mut tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        for r in rows {
            let sp = tx.savepoint()?;
            match write_row(&sp, r) {
                Ok(()) => sp.commit()?,
                Err(Failure::Row(e)) => refused.push((r.record.condition_id.clone(), e)),
                Err(Failure::Batch(e)) => return Err(e),
            }
        }
        for ch in changes {
            match write_change(&tx, ch) {
                Ok(()) => {}
                Err(Failure::Row(e)) => refused.push((ch.condition_id.clone(), e)),
                Err(Failure::Batch(e)) => return Err(e),
            }
        }
        tx.commit()?;
        Ok(refused)
    }

    /// The stored catalog JSON and rule hash of one market.
    pub fn catalog_market(
        &self,
        condition_id: &str,
    ) -> Result<Option<StoredCatalogMarket>, StorageError> {
        Ok(self
            .conn
            .prepare_cached("SELECT catalog_json, rule_hash FROM markets WHERE condition_id = ?1")?
            .query_row([condition_id], |r| {
                Ok(StoredCatalogMarket {
                    json: r.get(0)?,
                    rule_hash: r.get(1)?,
                })
            })
            .optional()?)
    }

    /// Every stored catalog JSON (markets the catalog has seen), by condition id.
    pub fn catalog_markets(&self) -> Result<Vec<String>, StorageError> {
        let mut st = self.conn.prepare_cached(
            "SELECT catalog_json FROM markets WHERE catalog_json IS NOT NULL ORDER BY condition_id",
        )?;
        let rows = st.query_map([], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Appends a rule change and sets the market's current rule hash; `acked_ns` stores it as
    /// already acknowledged (a first sighting, which halts nothing).
    pub fn insert_rule_change(
        &mut self,
        r: &RuleChangeRecord,
        acked_ns: Option<u64>,
    ) -> Result<(), StorageError> {
        let tx = self.conn.transaction()?;
        trading::insert_rule_change(&tx, r).map_err(row_error)?;
        if let Some(at) = acked_ns {
            let at = to_i64("acked_ns", at).map_err(StorageError::Refused)?;
            tx.execute(
                "UPDATE rule_changes SET acked_ns = ?1 WHERE change_id = last_insert_rowid()",
                [at],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Acknowledges every pending rule change of a market; returns how many there were.
    pub fn ack_rule_changes(
        &mut self,
        condition_id: &str,
        acked_ns: u64,
    ) -> Result<usize, StorageError> {
        let at = to_i64("acked_ns", acked_ns).map_err(StorageError::Refused)?;
        Ok(self.conn.execute(
            "UPDATE rule_changes SET acked_ns = ?2 WHERE condition_id = ?1 AND acked_ns IS NULL",
            params![condition_id, at],
        )?)
    }

    /// Rule changes, oldest first: of one market (or all), pending only or every one.
    pub fn rule_changes(
        &self,
        condition_id: Option<&str>,
        pending_only: bool,
    ) -> Result<Vec<StoredRuleChange>, StorageError> {
        let mut st = self.conn.prepare_cached(
            "SELECT condition_id, old_hash, new_hash, detected_ns, acked_ns, detail FROM rule_changes
             WHERE (?1 IS NULL OR condition_id = ?1) AND (?2 = 0 OR acked_ns IS NULL)
             ORDER BY detected_ns, change_id",
        )?;
        let rows = st.query_map(params![condition_id, pending_only], |r| {
            Ok(StoredRuleChange {
                condition_id: r.get(0)?,
                old_hash: r.get(1)?,
                new_hash: r.get(2)?,
                detected_ns: u64_of(r.get(3)?),
                acked_ns: r.get::<_, Option<i64>>(4)?.map(u64_of),
                detail: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The change log of one market, oldest first.
    pub fn market_changes(&self, condition_id: &str) -> Result<Vec<MarketChangeRow>, StorageError> {
        let mut st = self.conn.prepare_cached(
            "SELECT condition_id, kind, COALESCE(fields, ''), detected_ns FROM market_changes
             WHERE condition_id = ?1 ORDER BY detected_ns, change_id",
        )?;
        let rows = st.query_map([condition_id], |r| {
            Ok(MarketChangeRow {
                condition_id: r.get(0)?,
                kind: r.get(1)?,
                fields: r.get(2)?,
                detected_ns: u64_of(r.get(3)?),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
