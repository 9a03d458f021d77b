//! `CatalogState`: the catalog between refreshes, and what one refresh does to it.
//!
//! A refresh (`refresh`, or `apply` for an already fetched snapshot):
//! 1. merges a truncated listing with the previous snapshot (a market missing from a partial
//!    listing is not assumed gone);
//! 2. diffs against the previous snapshot (new, changed fields, closed, gone);
//! 3. checks every market's rule hash against the store (and the previous snapshot, in case
//!    the store is unreachable); a difference is recorded and halts the market and its
//!    neg-risk group until `ack`;
//! 4. upserts every market into the store;
//! 5. selects: filters, registry, outcome groups; and says what the feed must subscribe and
//!    unsubscribe, and which markets were halted or resumed, relative to the last *committed*
//!    update (so an update the consumer never received is folded into the next one).
//!
//! Store errors are logged and reported, never fatal: the catalog keeps its in-memory view and
//! keeps halts it cannot clear.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde::Serialize;

use crate::adapters::polymarket::gamma::{GammaError, Truncation};
use crate::adapters::polymarket::market_channel::FeedCommand;
use crate::core::{AssetIndex, ConditionId};
use crate::strategy::StrategyCommand;

use super::diff::{CatalogDiff, MarketField, changed_fields, diff};
use super::filter::{CatalogFilters, Rejection};
use super::model::{Catalog, Market};
use super::normalize::NormalizeReport;
use super::rules::RuleChange;
use super::select::{GroupSkip, Selection, Selector};
use super::source::{CatalogSource, Fetched};
use super::store::{CatalogStore, StoreError, UpsertReport};

/// What one refresh found, for logs, the CLI and tests.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RefreshReport {
    pub seq: u64,
    pub fetched_ms: u64,
    pub pages: u32,
    pub truncated: Option<Truncation>,
    pub normalize: NormalizeReport,
    pub markets: usize,
    pub events: usize,
    pub diff: CatalogDiff,
    /// Rule changes detected by this refresh (first sightings excluded).
    pub rule_changes: Vec<RuleChange>,
    pub watched: usize,
    pub groups: usize,
    pub halted: usize,
    /// What the upsert found against the stored markets (new, changed, closed, resolved).
    pub stored: UpsertReport,
    pub rejected: std::collections::BTreeMap<Rejection, u64>,
    pub not_grouped: std::collections::BTreeMap<GroupSkip, u64>,
    /// Each neg-risk event with a watched question that got no group, and why.
    pub refused_groups: Vec<(crate::core::ConditionId, GroupSkip)>,
    pub store_errors: Vec<String>,
}

/// The outcome of a refresh (or of an acknowledgement): what the engine must change.
#[derive(Clone, Debug)]
pub struct CatalogUpdate {
    pub report: RefreshReport,
    /// Assets to subscribe, with their token ids (`FeedCommand::Subscribe`).
    pub subscribe: Vec<(AssetIndex, Box<str>)>,
    /// Assets no longer watched (closed, gone, filtered out).
    pub unsubscribe: Vec<AssetIndex>,
    /// Markets whose trading is now halted (their groups are gone from `selection`).
    pub newly_halted: Vec<ConditionId>,
    /// Markets whose halt ended.
    pub resumed: Vec<ConditionId>,
    /// Strategy groups that must stop trading (halted, closed, incomplete: no longer selected).
    pub halt_groups: Vec<u32>,
    /// Strategy groups selected again (or for the first time).
    pub resume_groups: Vec<u32>,
    /// The full selection: groups and registry to run on.
    pub selection: Arc<Selection>,
    pub catalog: Arc<Catalog>,
}

impl CatalogUpdate {
    /// The feed commands this update calls for (subscribe first).
    pub fn feed_commands(&self) -> Vec<FeedCommand> {
        let mut out = Vec::new();
        if !self.subscribe.is_empty() {
            out.push(FeedCommand::Subscribe(self.subscribe.clone()));
        }
        if !self.unsubscribe.is_empty() {
            out.push(FeedCommand::Unsubscribe(self.unsubscribe.clone()));
        }
        out
    }

    /// The strategy commands this update calls for (halts first). Group ids are stable across
    /// refreshes; a strategy ignores ids it was not started with.
    pub fn strategy_commands(&self) -> Vec<StrategyCommand> {
        self.halt_groups
            .iter()
            .map(|&g| StrategyCommand::Halt(g))
            .chain(
                self.resume_groups
                    .iter()
                    .map(|&g| StrategyCommand::Resume(g)),
            )
            .collect()
    }
}

/// What the consumer was last told.
#[derive(Default)]
struct Baseline {
    assets: BTreeSet<AssetIndex>,
    halted: BTreeSet<ConditionId>,
    groups: BTreeSet<u32>,
}

/// The catalog's state across refreshes.
pub struct CatalogState {
    filters: CatalogFilters,
    selector: Selector,
    store: Box<dyn CatalogStore>,
    catalog: Arc<Catalog>,
    selection: Arc<Selection>,
    baseline: Baseline,
    /// Halts as last read from the store (kept when the store cannot be read).
    halts: BTreeSet<ConditionId>,
    seq: u64,
}

fn unix_ns(ms: u64) -> u64 {
    ms.saturating_mul(1_000_000)
}

impl CatalogState {
    pub fn new(filters: CatalogFilters, store: Box<dyn CatalogStore>) -> Self {
        Self {
            filters,
            selector: Selector::new(),
            store,
            catalog: Arc::default(),
            selection: Arc::default(),
            baseline: Baseline::default(),
            halts: BTreeSet::new(),
            seq: 0,
        }
    }

    pub fn catalog(&self) -> &Arc<Catalog> {
        &self.catalog
    }

    pub fn selection(&self) -> &Arc<Selection> {
        &self.selection
    }

    pub fn store(&self) -> &dyn CatalogStore {
        self.store.as_ref()
    }

    pub fn filters(&self) -> &CatalogFilters {
        &self.filters
    }

    /// Fetches from `source` and applies the snapshot. On a fetch error nothing changes.
    pub fn refresh(&mut self, source: &mut dyn CatalogSource) -> Result<CatalogUpdate, GammaError> {
        let now_ms = crate::obs::clock::unix_ms();
        let fetched = source.fetch(now_ms)?;
        Ok(self.apply(fetched, now_ms))
    }

    /// Applies a fetched snapshot taken at `now_ms` (UNIX milliseconds).
    pub fn apply(&mut self, fetched: Fetched, now_ms: u64) -> CatalogUpdate {
        self.seq += 1;
        let Fetched {
            mut catalog,
            report: normalize,
            pages,
            truncated,
        } = fetched;
        if !catalog.complete {
            // A partial listing says nothing about the markets it did not reach.
            for (id, m) in &self.catalog.markets {
                catalog.markets.entry(*id).or_insert_with(|| m.clone());
            }
            for (id, e) in &self.catalog.events {
                catalog
                    .events
                    .entry(id.clone())
                    .or_insert_with(|| e.clone());
            }
        }
        let mut report = RefreshReport {
            seq: self.seq,
            fetched_ms: now_ms,
            pages,
            truncated,
            normalize,
            markets: catalog.markets.len(),
            events: catalog.events.len(),
            diff: diff(&self.catalog, &catalog),
            ..RefreshReport::default()
        };
        let at_ns = unix_ns(now_ms);
        self.check_rules(&catalog, at_ns, &mut report);
        let all: Vec<&Market> = catalog.markets.values().collect();
        match self.store.upsert_markets(&all, at_ns) {
            Ok(r) => report.stored = r,
            Err(e) => {
                tracing::error!(error = %e, "catalog upsert failed");
                report.store_errors.push(e.to_string());
            }
        }
        self.catalog = Arc::new(catalog);
        self.reload_halts(&mut report.store_errors);
        self.reselect(report, now_ms)
    }

    /// Acknowledges a market's rule change(s) and reselects; returns how many changes were
    /// pending (0: the market was not halted by a change of its own).
    pub fn ack(&mut self, market: &ConditionId) -> Result<(usize, CatalogUpdate), StoreError> {
        let now_ms = crate::obs::clock::unix_ms();
        let n = self.store.ack(market, unix_ns(now_ms))?;
        if n > 0 {
            tracing::warn!(%market, changes = n, "rule change acknowledged: trading resumes");
        }
        let mut errors = Vec::new();
        self.reload_halts(&mut errors);
        self.seq += 1;
        let report = RefreshReport {
            seq: self.seq,
            fetched_ms: self.catalog.fetched_ms,
            markets: self.catalog.markets.len(),
            events: self.catalog.events.len(),
            store_errors: errors,
            ..RefreshReport::default()
        };
        Ok((n, self.reselect(report, now_ms)))
    }

    /// Marks an update as delivered: the next one is relative to it.
    pub fn commit(&mut self, u: &CatalogUpdate) {
        self.baseline.assets = u.selection.watched_assets.clone();
        self.baseline.halted = u.selection.halted.clone();
        self.baseline.groups = u.selection.groups.iter().map(|g| g.id).collect();
    }

    fn check_rules(&mut self, catalog: &Catalog, at_ns: u64, report: &mut RefreshReport) {
        for m in catalog.markets.values() {
            let prev = self.catalog.markets.get(&m.condition_id);
            let stored = match self.store.rule_hash(&m.condition_id) {
                Ok(h) => h,
                Err(e) => {
                    report.store_errors.push(e.to_string());
                    None
                }
            };
            let old = stored.or(prev.map(|p| p.rule_hash));
            if old == Some(m.rule_hash) {
                continue;
            }
            let first = old.is_none();
            // After a restart the previous version is the stored one.
            let stored_prev = match prev {
                None if !first => self.store.market(&m.condition_id).ok().flatten(),
                _ => None,
            };
            let detail = match prev.or(stored_prev.as_ref()) {
                _ if first => "first seen".to_string(),
                Some(p) => changed_fields(p, m)
                    .into_iter()
                    .filter(|f| f.is_rule())
                    .map(MarketField::as_str)
                    .collect::<Vec<_>>()
                    .join(", "),
                None => "rules differ from the stored hash".to_string(),
            };
            let change = RuleChange {
                condition_id: m.condition_id,
                old_hash: old,
                new_hash: m.rule_hash,
                detected_ns: at_ns,
                acked_ns: first.then_some(at_ns),
                detail,
            };
            if !first {
                tracing::warn!(
                    market = %m.condition_id,
                    question = %m.question,
                    old = %change.old_hash.map(|h| h.short()).unwrap_or_default(),
                    new = %m.rule_hash.short(),
                    detail = %change.detail,
                    "market rules changed: trading in it and its neg-risk group halted until acknowledged"
                );
                report.rule_changes.push(change.clone());
                // Halt at once, even if the store cannot record it.
                self.halts.insert(m.condition_id);
            }
            if let Err(e) = self.store.record_rule_change(&change) {
                tracing::error!(error = %e, market = %m.condition_id, "cannot record rule change");
                report.store_errors.push(e.to_string());
            }
        }
    }

    fn reload_halts(&mut self, errors: &mut Vec<String>) {
        match self.store.pending_rule_changes() {
            Ok(p) => self.halts = p.into_iter().map(|c| c.condition_id).collect(),
            Err(e) => {
                tracing::error!(error = %e, "cannot read pending rule changes; keeping halts");
                errors.push(e.to_string());
            }
        }
    }

    fn reselect(&mut self, mut report: RefreshReport, now_ms: u64) -> CatalogUpdate {
        let now_s = (now_ms / 1000) as i64;
        let sel = self
            .selector
            .select(&self.catalog, &self.filters, &self.halts, now_s);
        report.watched = sel.watched.len();
        report.groups = sel.groups.len();
        report.halted = sel.halted.len();
        report.rejected = sel.rejected.clone();
        report.not_grouped = sel.not_grouped.clone();
        report.refused_groups = sel.refused_groups.clone();
        let subscribe = sel
            .watched_assets
            .difference(&self.baseline.assets)
            .filter_map(|a| Some((*a, sel.registry.info(*a)?.token_str.clone())))
            .collect();
        let unsubscribe = self
            .baseline
            .assets
            .difference(&sel.watched_assets)
            .copied()
            .collect();
        let newly_halted = sel
            .halted
            .difference(&self.baseline.halted)
            .copied()
            .collect();
        let resumed = self
            .baseline
            .halted
            .difference(&sel.halted)
            .copied()
            .collect();
        let groups: BTreeSet<u32> = sel.groups.iter().map(|g| g.id).collect();
        let halt_groups = self.baseline.groups.difference(&groups).copied().collect();
        let resume_groups = groups.difference(&self.baseline.groups).copied().collect();
        self.selection = Arc::new(sel);
        tracing::info!(
            seq = report.seq,
            markets = report.markets,
            watched = report.watched,
            groups = report.groups,
            skipped = report.normalize.skipped_total(),
            new = report.diff.new.len(),
            changed = report.diff.changed.len(),
            closed = report.diff.closed.len() + report.diff.gone.len(),
            halted = report.halted,
            "catalog refreshed"
        );
        CatalogUpdate {
            report,
            subscribe,
            unsubscribe,
            newly_halted,
            resumed,
            halt_groups,
            resume_groups,
            selection: self.selection.clone(),
            catalog: self.catalog.clone(),
        }
    }
}

#[cfg(test)]
mod tests;
