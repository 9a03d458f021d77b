//! One Gamma market → `Market`: the field-by-field validation behind `Normalizer`.

use std::collections::BTreeMap;

use serde_json::value::RawValue;

use crate::adapters::polymarket::gamma::number::{exact_integer, exact_micros};
use crate::adapters::polymarket::gamma::wire::{GammaMarket, GammaTag, string_list};
use crate::core::fees::FeeSchedule;
use crate::core::{ConditionId, Price, Size, TickSize, TokenId};

use super::super::model::{Market, MarketStatus, NegRisk, Outcome};
use super::super::rules::RuleHash;
use super::super::time::parse_unix_s;
use super::{EventCtx, SkipReason};

type Skip = (SkipReason, String);

pub(super) fn market_from_wire(
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
        rewards_min_size: w
            .rewards_min_size
            .as_deref()
            .and_then(|r| exact_micros(r.get()).ok())
            .filter(|m| *m > 0)
            .map(Size),
        // Cents → price micros: 3.5 (¢) is 0.035.
        rewards_max_spread: w
            .rewards_max_spread
            .as_deref()
            .and_then(|r| exact_micros(r.get()).ok())
            .and_then(|m| u32::try_from(m / 100).ok())
            .filter(|m| *m > 0)
            .map(Price),
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
pub(super) fn tag_names(tags: &[GammaTag], category: Option<&str>) -> Vec<String> {
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
