//! `CatalogStore`: what the catalog persists, behind a small trait so that the SQLite tables
//! (`markets`, `outcomes`, `rule_changes`, owned by the storage layer) plug in without the
//! catalog changing. `MemoryStore` implements it in memory (tests, the CLI today).
//!
//! The catalog calls, per refresh: `rule_hash` for each market (before the upsert, to detect a
//! change), `record_rule_change` for each first sighting or change, then `upsert_markets` once
//! with every market of the snapshot. `pending_rule_changes` is the halt list; `ack` ends a
//! halt. Times are UNIX nanoseconds, as in the storage schema.

use std::collections::BTreeMap;

use thiserror::Error;

use crate::core::ConditionId;

use super::model::Market;
use super::rules::{RuleChange, RuleHash};

/// A storage failure, phrased for the log (the catalog keeps running on its in-memory view).
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("catalog store: {0}")]
    Backend(String),
}

/// Persistence of the catalog: markets, outcomes and the rule-hash history.
pub trait CatalogStore: Send {
    /// Inserts or updates these markets and their outcomes (token id ↔ outcome index), with
    /// their current rule hash; one transaction.
    fn upsert_markets(&mut self, markets: &[&Market], at_ns: u64) -> Result<(), StoreError>;

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
    fn upsert_markets(&mut self, markets: &[&Market], at_ns: u64) -> Result<(), StoreError> {
        for m in markets {
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
        Ok(())
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
