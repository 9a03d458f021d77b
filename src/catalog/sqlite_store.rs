//! `SqliteCatalogStore`: the catalog persisted in the storage layer's SQLite database
//! (`markets` + `outcomes` with each market's status, rule hash and normalized JSON,
//! `market_changes`, `rule_changes`). It opens its own connection (WAL: the storage writer
//! thread may hold another one), so a refresh, an ack from the CLI and a running engine all
//! see the same halts.

use std::path::Path;

use crate::core::ConditionId;
use crate::storage::{
    CatalogRow, MarketChangeRow, MarketRecord, OutcomeRecord, RuleChangeRecord, SqliteStore,
    StorageConfig, StoredRuleChange,
};

use super::model::Market;
use super::rules::{RuleChange, RuleHash};
use super::store::{CatalogStore, ChangeLogEntry, StoreError, UpsertReport, detect};

/// The catalog's rows in SQLite.
pub struct SqliteCatalogStore {
    db: SqliteStore,
}

impl SqliteCatalogStore {
    /// Opens (creating and migrating if needed) the database of a `[storage]` section.
    pub fn open(cfg: &StorageConfig) -> Result<Self, StoreError> {
        Ok(Self {
            db: SqliteStore::open(cfg)?,
        })
    }

    /// Opens the database at `path` with the default storage settings.
    pub fn open_path(path: &Path) -> Result<Self, StoreError> {
        Self::open(&StorageConfig::default().with_path(path))
    }

    pub fn path(&self) -> &Path {
        self.db.path()
    }

    fn parse_market(json: &str) -> Result<Market, StoreError> {
        serde_json::from_str(json).map_err(|e| StoreError::Malformed(format!("catalog_json: {e}")))
    }
}

/// The `markets`/`outcomes` record of a market.
pub fn market_record(m: &Market, at_ns: u64) -> MarketRecord {
    MarketRecord {
        condition_id: m.condition_id.to_string(),
        question: Some(m.question.clone()),
        slug: Some(m.slug.clone()),
        neg_risk: m.neg_risk.is_some(),
        neg_risk_market_id: m.neg_risk_market_id().map(|n| n.to_string()),
        tick_size: Some(m.tick),
        min_order_size: Some(m.min_order_size),
        active: Some(m.active),
        closed: Some(m.closed),
        accepting_orders: Some(m.accepting_orders),
        end_date_ms: m
            .end_unix_s
            .and_then(|s| u64::try_from(s).ok())
            .map(|s| s.saturating_mul(1000)),
        rule_hash: Some(m.rule_hash.to_hex()),
        outcomes: m
            .outcomes
            .iter()
            .map(|o| OutcomeRecord {
                token: o.token,
                outcome: Some(o.name.clone()),
            })
            .collect(),
        updated_ns: at_ns,
    }
}

fn rule_change_of(r: StoredRuleChange) -> Result<RuleChange, StoreError> {
    let bad = |what: &str, v: &str| StoreError::Malformed(format!("rule_changes.{what} {v:?}"));
    let hash = |v: &str| RuleHash::parse_hex(v).ok_or_else(|| bad("hash", v));
    Ok(RuleChange {
        condition_id: ConditionId::parse(&r.condition_id)
            .map_err(|_| bad("condition_id", &r.condition_id))?,
        old_hash: r.old_hash.as_deref().map(hash).transpose()?,
        new_hash: hash(&r.new_hash)?,
        detected_ns: r.detected_ns,
        acked_ns: r.acked_ns,
        detail: r.detail.unwrap_or_default(),
    })
}

impl CatalogStore for SqliteCatalogStore {
    fn upsert_markets(
        &mut self,
        markets: &[&Market],
        at_ns: u64,
    ) -> Result<UpsertReport, StoreError> {
        let mut report = UpsertReport::default();
        let mut rows = Vec::with_capacity(markets.len());
        let mut changes = Vec::new();
        for m in markets {
            // A stored row that no longer parses is replaced, and reported as new.
            let old = self.market(&m.condition_id).unwrap_or(None);
            let (kind, fields) = detect(old.as_ref(), m);
            if let Some(k) = kind.as_str() {
                changes.push(MarketChangeRow {
                    condition_id: m.condition_id.to_string(),
                    kind: k.to_string(),
                    fields: fields
                        .iter()
                        .map(|f| f.as_str())
                        .collect::<Vec<_>>()
                        .join(","),
                    detected_ns: at_ns,
                });
            }
            report.add(m.condition_id, kind, fields);
            let json =
                serde_json::to_string(m).map_err(|e| StoreError::Malformed(e.to_string()))?;
            rows.push(CatalogRow {
                record: market_record(m, at_ns),
                status: m.status.as_str().to_string(),
                json,
            });
        }
        for (id, why) in self.db.upsert_catalog(&rows, &changes)? {
            tracing::warn!(market = %id, reason = %why, "catalog row refused by the store");
            if let Ok(c) = ConditionId::parse(&id) {
                report.refused.push((c, why.to_string()));
            }
        }
        Ok(report)
    }

    fn market(&self, id: &ConditionId) -> Result<Option<Market>, StoreError> {
        match self
            .db
            .catalog_market(&id.to_string())?
            .and_then(|r| r.json)
        {
            Some(json) => Self::parse_market(&json).map(Some),
            None => Ok(None),
        }
    }

    /// Rows that no longer parse (written by another version, edited by hand) are skipped and
    /// logged; the next refresh of those markets replaces them.
    fn markets(&self) -> Result<Vec<Market>, StoreError> {
        let mut out = Vec::new();
        for j in self.db.catalog_markets()? {
            match Self::parse_market(&j) {
                Ok(m) => out.push(m),
                Err(e) => tracing::warn!(error = %e, "stored catalog row skipped"),
            }
        }
        Ok(out)
    }

    fn rule_hash(&self, market: &ConditionId) -> Result<Option<RuleHash>, StoreError> {
        match self
            .db
            .catalog_market(&market.to_string())?
            .and_then(|r| r.rule_hash)
        {
            Some(h) => RuleHash::parse_hex(&h)
                .map(Some)
                .ok_or_else(|| StoreError::Malformed(format!("markets.rule_hash {h:?}"))),
            None => Ok(None),
        }
    }

    fn record_rule_change(&mut self, change: &RuleChange) -> Result<(), StoreError> {
        let rec = RuleChangeRecord {
            condition_id: change.condition_id.to_string(),
            old_hash: change.old_hash.map(|h| h.to_hex()),
            new_hash: change.new_hash.to_hex(),
            detected_ns: change.detected_ns,
            detail: Some(change.detail.clone()),
        };
        Ok(self.db.insert_rule_change(&rec, change.acked_ns)?)
    }

    fn rule_hash_history(&self, market: &ConditionId) -> Result<Vec<RuleChange>, StoreError> {
        self.db
            .rule_changes(Some(&market.to_string()), false)?
            .into_iter()
            .map(rule_change_of)
            .collect()
    }

    fn pending_rule_changes(&self) -> Result<Vec<RuleChange>, StoreError> {
        self.db
            .rule_changes(None, true)?
            .into_iter()
            .map(rule_change_of)
            .collect()
    }

    fn ack(&mut self, market: &ConditionId, at_ns: u64) -> Result<usize, StoreError> {
        Ok(self.db.ack_rule_changes(&market.to_string(), at_ns)?)
    }

    fn change_log(&self, market: &ConditionId) -> Result<Vec<ChangeLogEntry>, StoreError> {
        Ok(self
            .db
            .market_changes(&market.to_string())?
            .into_iter()
            .map(|c| ChangeLogEntry {
                kind: c.kind,
                fields: c.fields,
                detected_ns: c.detected_ns,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests;
