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

use crate::adapters::polymarket::gamma::number::{exact_integer, exact_micros};
use crate::adapters::polymarket::gamma::wire::{GammaEvent, GammaMarket, GammaTag, string_list};
use crate::core::fees::FeeSchedule;
use crate::core::{ConditionId, Price, Size, TickSize, TokenId};

use super::model::{Catalog, Event, Market, MarketStatus, NegRisk, Outcome};
use super::rules::RuleHash;
use super::time::parse_unix_s;

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

type Skip = (SkipReason, String);

fn market_from_wire(
    w: &GammaMarket,
    ctx: Option<&EventCtx>,
    fee_defaults: &BTreeMap<String, FeeSchedule>,
) -> Result<Market, Skip> {
    let gamma_id =
        w.id.clone()
            .filter(|s| !s.trim().is_empty())
            .ok_or((SkipReason::MissingGammaId, "no id".to_string()))?;
    let cond_text = w
        .condition_id
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .ok_or((SkipReason::MissingConditionId, "no conditionId".to_string()))?;
    let condition_id = ConditionId::parse(cond_text.trim())
        .map_err(|e| (SkipReason::BadConditionId, format!("{cond_text:?}: {e}")))?;

    let tokens_raw = w
        .clob_token_ids
        .as_deref()
        .ok_or((SkipReason::MissingTokenIds, "no clobTokenIds".to_string()))?;
    let token_texts =
        string_list(tokens_raw).map_err(|e| (SkipReason::BadTokenIds, e.to_string()))?;
    if token_texts.is_empty() || token_texts.iter().any(|t| t.trim().is_empty()) {
        return Err((
            SkipReason::MissingTokenIds,
            "empty clobTokenIds".to_string(),
        ));
    }
    let tokens = token_texts
        .iter()
        .map(|t| {
            TokenId::parse(t.trim()).map_err(|e| (SkipReason::BadTokenIds, format!("{t:?}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    for (i, t) in tokens.iter().enumerate() {
        if tokens[..i].contains(t) {
            return Err((SkipReason::BadTokenIds, format!("token {t} listed twice")));
        }
    }
    let names_raw = w
        .outcomes
        .as_deref()
        .ok_or((SkipReason::MissingOutcomes, "no outcomes".to_string()))?;
    let names = string_list(names_raw).map_err(|e| (SkipReason::BadOutcomes, e.to_string()))?;
    if names.len() != tokens.len() || names.len() < 2 {
        return Err((
            SkipReason::OutcomeCountMismatch,
            format!("{} outcomes, {} token ids", names.len(), tokens.len()),
        ));
    }
    let prices: Vec<Option<Price>> = match w.outcome_prices.as_deref() {
        None => vec![None; names.len()],
        Some(raw) => {
            let texts =
                string_list(raw).map_err(|e| (SkipReason::OutcomePricesMismatch, e.to_string()))?;
            if texts.is_empty() {
                vec![None; names.len()]
            } else if texts.len() != names.len() {
                return Err((
                    SkipReason::OutcomePricesMismatch,
                    format!("{} prices for {} outcomes", texts.len(), names.len()),
                ));
            } else {
                texts.iter().map(|t| price_of(t)).collect()
            }
        }
    };
    let outcomes: Vec<Outcome> = names
        .into_iter()
        .zip(tokens)
        .zip(prices)
        .map(|((name, token), price)| Outcome { name, token, price })
        .collect();

    let tick_raw = w.order_price_min_tick_size.as_deref().ok_or((
        SkipReason::MissingTickSize,
        "no orderPriceMinTickSize".to_string(),
    ))?;
    let tick = exact_micros(tick_raw.get())
        .map_err(|e| e.to_string())
        .and_then(|m| {
            u32::try_from(m)
                .map_err(|_| "out of range".to_string())
                .and_then(|m| TickSize::new(Price(m)).map_err(|e| e.to_string()))
        })
        .map_err(|e| (SkipReason::BadTickSize, format!("{}: {e}", tick_raw.get())))?;
    let min_raw = w.order_min_size.as_deref().ok_or((
        SkipReason::MissingMinOrderSize,
        "no orderMinSize".to_string(),
    ))?;
    let min_order_size = exact_micros(min_raw.get())
        .map(Size)
        .map_err(|e| (SkipReason::BadMinOrderSize, e.to_string()))?;

    let fees = fee_schedule(w, fee_defaults)?;

    let neg_risk_flag = w.neg_risk.or(ctx.and_then(|c| c.neg_risk)).unwrap_or(false);
    let neg_risk = if neg_risk_flag {
        let text = w
            .neg_risk_market_id
            .clone()
            .filter(|s| !s.trim().is_empty())
            .or_else(|| ctx.and_then(|c| c.neg_risk_market_id.clone()))
            .ok_or((
                SkipReason::NegRiskWithoutMarketId,
                "negRisk without negRiskMarketID".into(),
            ))?;
        let market_id = ConditionId::parse(text.trim())
            .map_err(|e| (SkipReason::BadNegRiskMarketId, format!("{text:?}: {e}")))?;
        let augmented = ctx.is_some_and(|c| c.augmented);
        let title = w
            .group_item_title
            .as_deref()
            .filter(|t| !t.trim().is_empty())
            .or(w.question.as_deref())
            .unwrap_or_default();
        Some(NegRisk {
            market_id,
            request_id: w.neg_risk_request_id.clone().filter(|s| !s.is_empty()),
            other: w.neg_risk_other.unwrap_or(false),
            placeholder: augmented && looks_like_placeholder(title),
            augmented,
        })
    } else {
        None
    };

    let closed = w.closed.unwrap_or(false);
    let resolved = w
        .uma_resolution_status
        .as_deref()
        .is_some_and(|s| s.eq_ignore_ascii_case("resolved"))
        || outcomes.iter().any(|o| o.price == Some(Price::ONE));
    let status = match (closed, resolved) {
        (false, _) => MarketStatus::Open,
        (true, true) => MarketStatus::Resolved,
        (true, false) => MarketStatus::Closed,
    };
    let end_date = w
        .end_date
        .clone()
        .or_else(|| ctx.and_then(|c| c.end_date.clone()))
        .filter(|s| !s.trim().is_empty());
    let description = w.description.clone().unwrap_or_default();
    let resolution_source = w.resolution_source.clone().unwrap_or_default();
    let rule_hash = RuleHash::of(
        &description,
        &resolution_source,
        end_date.as_deref().unwrap_or_default(),
    );
    let mut tags = tag_names(w.tags.as_deref().unwrap_or_default(), w.category.as_deref());
    if let Some(c) = ctx {
        tags.extend(c.tags.iter().cloned());
    }
    tags.sort();
    tags.dedup();
    let raw_price = |r: &Option<Box<RawValue>>| r.as_deref().and_then(|r| price_of(r.get()));

    Ok(Market {
        gamma_id,
        condition_id,
        question_id: w.question_id.clone().filter(|s| !s.is_empty()),
        question: w.question.clone().unwrap_or_default(),
        slug: w.slug.clone().unwrap_or_default(),
        group_item_title: w.group_item_title.clone().filter(|s| !s.is_empty()),
        event_id: ctx.and_then(|c| c.id.clone()),
        outcomes,
        tick,
        min_order_size,
        neg_risk,
        fees,
        fee_type: w.fee_type.clone(),
        // Absent flags read as the value that keeps a market out of trading.
        active: w.active.unwrap_or(false),
        closed,
        archived: w.archived.unwrap_or(false),
        accepting_orders: w.accepting_orders.unwrap_or(false),
        order_book_enabled: w.enable_order_book.unwrap_or(false),
        status,
        end_unix_s: end_date.as_deref().and_then(parse_unix_s),
        end_date,
        description,
        resolution_source,
        rule_hash,
        best_bid: raw_price(&w.best_bid),
        best_ask: raw_price(&w.best_ask),
        last_trade: raw_price(&w.last_trade_price),
        volume: w.volume_num.0.or(w.volume.0),
        volume_24h: w.volume_24hr.0,
        liquidity: w.liquidity_num.0.or(w.liquidity.0),
        tags,
    })
}

/// An indicative price (`"0.505"`, `0.51`), exactly, or `None`.
fn price_of(text: &str) -> Option<Price> {
    let m = exact_micros(text).ok()?;
    u32::try_from(m)
        .ok()
        .map(Price)
        .filter(|p| *p <= Price::ONE)
}

/// The market's fee schedule: `feeSchedule` if present (exact), else free when fees are off,
/// else the configured default for its `feeType`, else unknown (`None`).
fn fee_schedule(
    w: &GammaMarket,
    defaults: &BTreeMap<String, FeeSchedule>,
) -> Result<Option<FeeSchedule>, Skip> {
    if let Some(fs) = &w.fee_schedule {
        let bad = |what: &str| (SkipReason::BadFeeSchedule, what.to_string());
        let rate = match fs.rate.as_deref() {
            Some(r) => exact_micros(r.get())
                .ok()
                .and_then(|m| u32::try_from(m).ok())
                .filter(|&m| m <= 1_000_000)
                .ok_or_else(|| bad(&format!("rate {}", r.get())))?,
            None => return Err(bad("no rate")),
        };
        let exponent = match fs.exponent.as_deref() {
            Some(e) => exact_integer(e.get())
                .ok()
                .and_then(|v| u8::try_from(v).ok())
                .filter(|&v| v <= 8)
                .ok_or_else(|| bad(&format!("exponent {}", e.get())))?,
            None => 1,
        };
        return Ok(Some(FeeSchedule {
            rate_ppm: rate,
            exponent,
            taker_only: fs.taker_only.unwrap_or(true),
        }));
    }
    if w.fees_enabled != Some(true) {
        return Ok(Some(FeeSchedule::FREE));
    }
    Ok(w.fee_type.as_ref().and_then(|t| defaults.get(t)).copied())
}

/// Lower-case slugs and labels of tags, plus the category.
fn tag_names(tags: &[GammaTag], category: Option<&str>) -> Vec<String> {
    let mut out: Vec<String> = tags
        .iter()
        .flat_map(|t| [t.slug.as_deref(), t.label.as_deref()])
        .flatten()
        .chain(category)
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Whether a question title is an unnamed placeholder of an augmented event ("Person A",
/// "Player BB", "Team C", "Option D"). Gamma has no field for this; the venue's own
/// placeholders follow this pattern, and a false negative is harmless because augmented events
/// never form a complete neg-risk group.
pub fn looks_like_placeholder(title: &str) -> bool {
    const WORDS: [&str; 10] = [
        "person",
        "player",
        "team",
        "candidate",
        "option",
        "company",
        "country",
        "party",
        "individual",
        "outcome",
    ];
    if title.to_lowercase().contains("placeholder") {
        return true;
    }
    match title.split_whitespace().collect::<Vec<_>>().as_slice() {
        [w, letter] => {
            WORDS.contains(&w.to_lowercase().as_str())
                && (1..=2).contains(&letter.len())
                && letter.chars().all(|c| c.is_ascii_uppercase())
        }
        _ => false,
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
