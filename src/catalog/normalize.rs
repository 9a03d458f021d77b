//! Gamma's wire objects → the catalog's `Event`/`Market`/`Outcome`, validating everything a
//! trade depends on. A market with a missing or inconsistent field is skipped with a counted,
//! logged `SkipReason`; nothing here aborts a refresh or panics, whatever the JSON.
//!
//! Required: `id`, `conditionId`, `clobTokenIds` and `outcomes` (same length, at least two,
//! distinct tokens), `orderPriceMinTickSize` (a tick that divides 1), `orderMinSize`, a
//! `negRiskMarketID` on a neg-risk market, a well-formed `feeSchedule` if present. Optional
//! fields that are wrong are dropped on their own (an unparseable `bestBid` is `None`).

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;
use serde::Serialize;
use serde_json::value::RawValue;

use crate::adapters::polymarket::gamma::wire::{GammaEvent, GammaMarket};
use crate::core::fees::FeeSchedule;
use crate::core::{ConditionId, TokenId};

use super::model::{Catalog, Event};

mod market;

pub use market::looks_like_placeholder;
use market::{market_from_wire, tag_names};

/// Why a market (or an event) was left out of the catalog.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// Not a JSON object of the expected shape (a wrong type on some field).
    Malformed,
    MalformedEvent,
    MissingGammaId,
    MissingConditionId,
    BadConditionId,
    /// No `clobTokenIds` (yet): the market is not on the CLOB.
    MissingTokenIds,
    BadTokenIds,
    MissingOutcomes,
    BadOutcomes,
    /// `outcomes` and `clobTokenIds` differ in length, or there are fewer than two.
    OutcomeCountMismatch,
    /// `outcomePrices` is present but not aligned with `outcomes`.
    OutcomePricesMismatch,
    MissingTickSize,
    BadTickSize,
    MissingMinOrderSize,
    BadMinOrderSize,
    BadFeeSchedule,
    NegRiskWithoutMarketId,
    BadNegRiskMarketId,
    /// The same condition id twice in one refresh (the first is kept).
    DuplicateMarket,
    /// A token id already used by another market of this refresh.
    DuplicateToken,
}

impl SkipReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::MalformedEvent => "malformed_event",
            Self::MissingGammaId => "missing_gamma_id",
            Self::MissingConditionId => "missing_condition_id",
            Self::BadConditionId => "bad_condition_id",
            Self::MissingTokenIds => "missing_token_ids",
            Self::BadTokenIds => "bad_token_ids",
            Self::MissingOutcomes => "missing_outcomes",
            Self::BadOutcomes => "bad_outcomes",
            Self::OutcomeCountMismatch => "outcome_count_mismatch",
            Self::OutcomePricesMismatch => "outcome_prices_mismatch",
            Self::MissingTickSize => "missing_tick_size",
            Self::BadTickSize => "bad_tick_size",
            Self::MissingMinOrderSize => "missing_min_order_size",
            Self::BadMinOrderSize => "bad_min_order_size",
            Self::BadFeeSchedule => "bad_fee_schedule",
            Self::NegRiskWithoutMarketId => "neg_risk_without_market_id",
            Self::BadNegRiskMarketId => "bad_neg_risk_market_id",
            Self::DuplicateMarket => "duplicate_market",
            Self::DuplicateToken => "duplicate_token",
        }
    }
}

/// One skipped item, for the report (the first few of a refresh are kept verbatim).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub reason: SkipReason,
    /// The best name available: condition id, Gamma id, or `?`.
    pub market: String,
    pub detail: String,
}

/// What normalization did: counts by reason and a sample of skipped items.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct NormalizeReport {
    pub events_seen: u64,
    pub markets_seen: u64,
    pub markets_kept: u64,
    pub skipped: BTreeMap<SkipReason, u64>,
    pub samples: Vec<Skipped>,
}

impl NormalizeReport {
    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().sum()
    }
}

/// Samples of skipped markets kept per refresh (all are counted).
const MAX_SAMPLES: usize = 20;

/// The event a market is normalized under.
#[derive(Clone, Debug, Default)]
struct EventCtx {
    id: Option<String>,
    slug: String,
    title: String,
    neg_risk: Option<bool>,
    neg_risk_market_id: Option<String>,
    augmented: bool,
    end_date: Option<String>,
    tags: Vec<String>,
}

impl EventCtx {
    fn of(e: &GammaEvent) -> Self {
        Self {
            id: e.id.clone(),
            slug: e.slug.clone().unwrap_or_default(),
            title: e.title.clone().unwrap_or_default(),
            neg_risk: e.neg_risk,
            neg_risk_market_id: e
                .neg_risk_market_id
                .clone()
                .filter(|s| !s.trim().is_empty()),
            augmented: e.neg_risk_augmented.unwrap_or(false),
            end_date: e.end_date.clone(),
            tags: tag_names(e.tags.as_deref().unwrap_or_default(), e.category.as_deref()),
        }
    }
}

/// Builds a `Catalog` from Gamma items, one at a time.
pub struct Normalizer<'a> {
    catalog: Catalog,
    report: NormalizeReport,
    tokens: FxHashMap<TokenId, ConditionId>,
    fee_defaults: &'a BTreeMap<String, FeeSchedule>,
}

impl<'a> Normalizer<'a> {
    /// `fee_defaults` maps a `feeType` to the schedule used when a market has fees enabled
    /// but no `feeSchedule` (from `[catalog.fee_defaults]`).
    pub fn new(fetched_ms: u64, fee_defaults: &'a BTreeMap<String, FeeSchedule>) -> Self {
        Self {
            catalog: Catalog {
                fetched_ms,
                complete: true,
                ..Catalog::default()
            },
            report: NormalizeReport::default(),
            tokens: FxHashMap::default(),
            fee_defaults,
        }
    }

    /// One `GET /events` item: the event and each of its markets.
    pub fn add_event(&mut self, raw: &RawValue) {
        self.report.events_seen += 1;
        if !is_object(raw) {
            self.skip(
                SkipReason::MalformedEvent,
                "?".into(),
                "not a JSON object".into(),
            );
            return;
        }
        let e: GammaEvent = match serde_json::from_str(raw.get()) {
            Ok(e) => e,
            Err(err) => {
                self.skip(SkipReason::MalformedEvent, "?".into(), err.to_string());
                return;
            }
        };
        let ctx = EventCtx::of(&e);
        let Some(id) = ctx.id.clone() else {
            self.skip(
                SkipReason::MalformedEvent,
                ctx.slug.clone(),
                "event without id".into(),
            );
            return;
        };
        let raws = e.markets.as_deref().unwrap_or_default();
        self.ensure_event(&id, &ctx, Some(raws.len()));
        for m in raws {
            self.add_market_in(m, Some(&ctx));
        }
    }

    /// One `GET /markets` item; its event comes from its `events[0]`.
    pub fn add_market(&mut self, raw: &RawValue) {
        self.add_market_in(raw, None);
    }

    fn add_market_in(&mut self, raw: &RawValue, ctx: Option<&EventCtx>) {
        self.report.markets_seen += 1;
        if !is_object(raw) {
            self.skip(
                SkipReason::Malformed,
                "?".into(),
                "not a JSON object".into(),
            );
            return;
        }
        let w: GammaMarket = match serde_json::from_str(raw.get()) {
            Ok(w) => w,
            Err(err) => {
                let name = name_of_raw(raw);
                self.skip(SkipReason::Malformed, name, err.to_string());
                return;
            }
        };
        let own_ctx;
        let ctx = match ctx {
            Some(c) => Some(c),
            None => {
                own_ctx = w
                    .events
                    .as_ref()
                    .and_then(|es| es.first())
                    .map(EventCtx::of);
                own_ctx.as_ref()
            }
        };
        let name = w
            .condition_id
            .clone()
            .or_else(|| w.id.clone())
            .unwrap_or_else(|| "?".into());
        let market = match market_from_wire(&w, ctx, self.fee_defaults) {
            Ok(m) => m,
            Err((reason, detail)) => {
                self.skip(reason, name, detail);
                return;
            }
        };
        if self.catalog.markets.contains_key(&market.condition_id) {
            self.skip(SkipReason::DuplicateMarket, name, "listed twice".into());
            return;
        }
        if let Some(t) = market.tokens().find(|t| self.tokens.contains_key(t)) {
            let other = self.tokens[t];
            self.skip(
                SkipReason::DuplicateToken,
                name,
                format!("token {t} already belongs to {other}"),
            );
            return;
        }
        for t in market.tokens() {
            self.tokens.insert(*t, market.condition_id);
        }
        if let Some(c) = ctx
            && let Some(id) = &c.id
        {
            self.ensure_event(id, c, None);
            if let Some(e) = self.catalog.events.get_mut(id) {
                e.markets.push(market.condition_id);
            }
        }
        self.report.markets_kept += 1;
        self.catalog.markets.insert(market.condition_id, market);
    }

    fn ensure_event(&mut self, id: &str, ctx: &EventCtx, listed: Option<usize>) {
        let e = self
            .catalog
            .events
            .entry(id.to_string())
            .or_insert_with(|| Event {
                id: id.to_string(),
                slug: ctx.slug.clone(),
                title: ctx.title.clone(),
                neg_risk: ctx.neg_risk.unwrap_or(false),
                neg_risk_market_id: ctx
                    .neg_risk_market_id
                    .as_deref()
                    .and_then(|s| ConditionId::parse(s.trim()).ok()),
                augmented: ctx.augmented,
                tags: ctx.tags.clone(),
                markets: Vec::new(),
                listed_markets: None,
            });
        if listed.is_some() {
            e.listed_markets = listed;
        }
    }

    fn skip(&mut self, reason: SkipReason, market: String, detail: String) {
        *self.report.skipped.entry(reason).or_default() += 1;
        if self.report.samples.len() < MAX_SAMPLES {
            tracing::warn!(reason = reason.as_str(), %market, %detail, "gamma item skipped");
            self.report.samples.push(Skipped {
                reason,
                market,
                detail,
            });
        } else {
            tracing::debug!(reason = reason.as_str(), %market, %detail, "gamma item skipped");
        }
    }

    /// The catalog and the report. `complete` is false when the listing was truncated.
    pub fn finish(mut self, complete: bool) -> (Catalog, NormalizeReport) {
        self.catalog.complete = complete;
        (self.catalog, self.report)
    }
}

/// Serde would read a JSON array as a struct's fields in order: only objects are items.
fn is_object(raw: &RawValue) -> bool {
    raw.get().trim_start().starts_with('{')
}

/// A name for a raw item that did not decode: its `conditionId` or `id` if readable.
fn name_of_raw(raw: &RawValue) -> String {
    #[derive(serde::Deserialize)]
    struct Names {
        #[serde(rename = "conditionId")]
        condition_id: Option<serde_json::Value>,
        id: Option<serde_json::Value>,
    }
    match serde_json::from_str::<Names>(raw.get()) {
        Ok(n) => n
            .condition_id
            .or(n.id)
            .map(|v| match v {
                serde_json::Value::String(s) => s,
                v => v.to_string(),
            })
            .unwrap_or_else(|| "?".into()),
        Err(_) => "?".into(),
    }
}

/// Normalizes a `/events` listing.
pub fn normalize_events(
    items: &[Box<RawValue>],
    fetched_ms: u64,
    complete: bool,
    fee_defaults: &BTreeMap<String, FeeSchedule>,
) -> (Catalog, NormalizeReport) {
    let mut n = Normalizer::new(fetched_ms, fee_defaults);
    for it in items {
        n.add_event(it);
    }
    n.finish(complete)
}

/// Normalizes a `/markets` listing.
pub fn normalize_markets(
    items: &[Box<RawValue>],
    fetched_ms: u64,
    complete: bool,
    fee_defaults: &BTreeMap<String, FeeSchedule>,
) -> (Catalog, NormalizeReport) {
    let mut n = Normalizer::new(fetched_ms, fee_defaults);
    for it in items {
        n.add_market(it);
    }
    n.finish(complete)
}

#[cfg(test)]
mod tests;
