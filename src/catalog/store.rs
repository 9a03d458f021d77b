//! `CatalogStore`: what the catalog persists, behind a small trait: `SqliteCatalogStore`
//! (`sqlite_store.rs`: the storage layer's `markets`, `outcomes`, `rule_changes` and
//! `market_changes` tables) in the engine and the CLI, `MemoryStore` in tests. Also owns the
//! change detection both apply on upsert (`detect`: new / changed fields / closed / resolved).
//!
//! The catalog calls, per refresh: `rule_hash` for each market (before the upsert, to detect a
//! change), `record_rule_change` for each first sighting or change, then `upsert_markets` once
//! with every market of the snapshot. `pending_rule_changes` is the halt list; `ack` ends a
//! halt. Times are UNIX nanoseconds, as in the storage schema.

use std::collections::BTreeMap;

use serde::Serialize;
use thiserror::Error;

use crate::core::ConditionId;

use super::diff::{MarketChange, MarketField, changed_fields};
use super::model::{Market, MarketStatus};
use super::rules::{RuleChange, RuleHash};

/// What an upsert found against the stored markets (survives restarts, unlike `CatalogDiff`,
/// which compares with the previous in-memory snapshot).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct UpsertReport {
    /// Never stored before.
    pub new: Vec<ConditionId>,
    /// Stored with different trading-relevant fields (a status change to closed or resolved is
    /// reported there instead).
    pub changed: Vec<MarketChange>,
    /// Stored open (or unknown), closed now.
    pub closed: Vec<ConditionId>,
    /// Stored not resolved, resolved now.
    pub resolved: Vec<ConditionId>,
    /// Markets the store refused (too long, a token stored under another market), with why.
    pub refused: Vec<(ConditionId, String)>,
}

/// How one market differs from its stored version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Detected {
    New,
    Closed,
    Resolved,
    Changed,
    Same,
}

impl Detected {
    /// The `market_changes.kind` spelling (`None`: nothing to log).
    pub fn as_str(self) -> Option<&'static str> {
        match self {
            Self::New => Some("new"),
            Self::Closed => Some("closed"),
            Self::Resolved => Some("resolved"),
            Self::Changed => Some("changed"),
            Self::Same => None,
        }
    }
}

/// Compares a market with its stored version: the kind, and the fields that changed. A move to
/// closed or resolved is that kind (other fields that changed with it are still listed).
pub fn detect(old: Option<&Market>, new: &Market) -> (Detected, Vec<MarketField>) {
    let Some(old) = old else {
        return (Detected::New, Vec::new());
    };
    let mut fields = changed_fields(old, new);
    if old.status != new.status && new.status != MarketStatus::Open {
        fields.retain(|f| *f != MarketField::Status);
        let kind = if new.status == MarketStatus::Resolved {
            Detected::Resolved
        } else {
            Detected::Closed
        };
        return (kind, fields);
    }
    if fields.is_empty() {
        (Detected::Same, fields)
    } else {
        (Detected::Changed, fields)
    }
}

impl UpsertReport {
    /// Records what `detect` found for one market.
    pub fn add(&mut self, id: ConditionId, d: Detected, also: Vec<MarketField>) {
        match d {
            Detected::New => self.new.push(id),
            Detected::Closed => self.closed.push(id),
            Detected::Resolved => self.resolved.push(id),
            Detected::Changed | Detected::Same => {}
        }
        if !also.is_empty() {
            self.changed.push(MarketChange {
                condition_id: id,
                fields: also,
            });
        }
    }
}

/// A storage failure, phrased for the log (the catalog keeps running on its in-memory view).
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("catalog store: {0}")]
    Backend(String),
    #[error("catalog store: {0}")]
    Storage(#[from] crate::storage::StorageError),
    #[error("catalog store: stored row is malformed: {0}")]
    Malformed(String),
}

/// Persistence of the catalog: markets, outcomes and the rule-hash history.
pub trait CatalogStore: Send {
    /// Inserts or updates these markets and their outcomes (token id ↔ outcome index), with
    /// their current rule hash, and reports what changed against the stored versions; one
    /// transaction.
    fn upsert_markets(
        &mut self,
        markets: &[&Market],
        at_ns: u64,
    ) -> Result<UpsertReport, StoreError>;

    /// The stored version of a market.
    fn market(&self, id: &ConditionId) -> Result<Option<Market>, StoreError>;

    /// Every stored market (whatever the catalog has ever seen).
    fn markets(&self) -> Result<Vec<Market>, StoreError>;

    /// The rule hash last stored for a market; `None` if the market was never stored.
    fn rule_hash(&self, market: &ConditionId) -> Result<Option<RuleHash>, StoreError>;

    /// Appends a rule change (or a first sighting: `old_hash = None`, already acknowledged).
    fn record_rule_change(&mut self, change: &RuleChange) -> Result<(), StoreError>;

    /// Every recorded rule change of a market, oldest first.
    fn rule_hash_history(&self, market: &ConditionId) -> Result<Vec<RuleChange>, StoreError>;

    /// Changes not yet acknowledged: each halts its market and the market's neg-risk group.
    fn pending_rule_changes(&self) -> Result<Vec<RuleChange>, StoreError>;

    /// Acknowledges every pending change of a market; returns how many there were.
    fn ack(&mut self, market: &ConditionId, at_ns: u64) -> Result<usize, StoreError>;

    /// What upserts found for a market over time, oldest first: (kind, fields, UNIX ns).
    /// Stores without a change log return nothing.
    fn change_log(&self, _market: &ConditionId) -> Result<Vec<ChangeLogEntry>, StoreError> {
        Ok(Vec::new())
    }
}

/// One entry of a market's change log (`market_changes`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChangeLogEntry {
    /// `new`, `changed`, `closed` or `resolved`.
    pub kind: String,
    /// Comma-separated fields (may be empty).
    pub fields: String,
    pub detected_ns: u64,
}

/// A stored market (what the `markets` row keeps, here the whole normalized market).
#[derive(Clone, Debug)]
pub struct StoredMarket {
    pub market: Market,
    pub first_seen_ns: u64,
    pub updated_ns: u64,
}

/// `CatalogStore` in memory: nothing survives the process (a restart forgets rule history,
/// so changes made while it was down are not detected). The SQLite store replaces it.
#[derive(Debug, Default)]
pub struct MemoryStore {
    markets: BTreeMap<ConditionId, StoredMarket>,
    changes: Vec<RuleChange>,
    /// Upserts done (for tests).
    pub upserts: u64,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn markets(&self) -> &BTreeMap<ConditionId, StoredMarket> {
        &self.markets
    }
}

impl CatalogStore for MemoryStore {
    fn upsert_markets(
        &mut self,
        markets: &[&Market],
        at_ns: u64,
    ) -> Result<UpsertReport, StoreError> {
        let mut report = UpsertReport::default();
        for m in markets {
            let (d, also) = detect(self.markets.get(&m.condition_id).map(|s| &s.market), m);
            report.add(m.condition_id, d, also);
            self.markets
                .entry(m.condition_id)
                .and_modify(|s| {
                    s.market = (*m).clone();
                    s.updated_ns = at_ns;
                })
                .or_insert_with(|| StoredMarket {
                    market: (*m).clone(),
                    first_seen_ns: at_ns,
                    updated_ns: at_ns,
                });
        }
        self.upserts += 1;
        Ok(report)
    }

    fn market(&self, id: &ConditionId) -> Result<Option<Market>, StoreError> {
        Ok(self.markets.get(id).map(|s| s.market.clone()))
    }

    fn markets(&self) -> Result<Vec<Market>, StoreError> {
        Ok(self.markets.values().map(|s| s.market.clone()).collect())
    }

    fn rule_hash(&self, market: &ConditionId) -> Result<Option<RuleHash>, StoreError> {
        Ok(self.markets.get(market).map(|s| s.market.rule_hash))
    }

    fn record_rule_change(&mut self, change: &RuleChange) -> Result<(), StoreError> {
        self.changes.push(change.clone());
        Ok(())
    }

    fn rule_hash_history(&self, market: &ConditionId) -> Result<Vec<RuleChange>, StoreError> {
        Ok(self
            .changes
            .iter()
            .filter(|c| c.condition_id == *market)
            .cloned()
            .collect())
    }

    fn pending_rule_changes(&self) -> Result<Vec<RuleChange>, StoreError> {
        Ok(self
            .changes
            .iter()
            .filter(|c| c.is_pending())
            .cloned()
            .collect())
    }

    fn ack(&mut self, market: &ConditionId, at_ns: u64) -> Result<usize, StoreError> {
        let mut n = 0;
        for c in self
            .changes
            .iter_mut()
            .filter(|c| c.condition_id == *market && c.is_pending())
        {
            c.acked_ns = Some(at_ns);
            n += 1;
        }
        Ok(n)
    }
}
