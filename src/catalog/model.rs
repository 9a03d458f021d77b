//! The catalog's domain types: an `Event` groups `Market`s (one condition each), a market has
//! `Outcome`s (one outcome token each, in Gamma's order: outcome *i* is token *i*).
//!
//! Everything a trade depends on is exact: token ids as uint256, tick size and minimum order
//! size in micro-units, the fee rate in millionths. Volumes and liquidity are `f64`: they are
//! informational (filters and tables), never used for an order, a price or a fee.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::core::fees::FeeSchedule;
use crate::core::{ConditionId, Price, Size, TickSize, TokenId};

use super::rules::RuleHash;

/// One outcome of a market: its name and token, and Gamma's indicative price.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub name: String,
    pub token: TokenId,
    /// `outcomePrices[i]`; `None` when absent or not an exact decimal (Gamma sometimes sends
    /// float artefacts there; they are indicative and never traded on).
    pub price: Option<Price>,
}

/// Where a market is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MarketStatus {
    Open,
    /// Closed to trading, outcome not (yet) known here.
    Closed,
    /// Closed with a winner (`umaResolutionStatus = resolved`, or an outcome priced at 1).
    Resolved,
}

impl MarketStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Closed => "closed",
            Self::Resolved => "resolved",
        }
    }
}

/// A market's place in a neg-risk event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NegRisk {
    /// `negRiskMarketID`: shared by every question of the event (the adapter's market id).
    pub market_id: ConditionId,
    pub request_id: Option<String>,
    /// `negRiskOther`: the "Other" question of an augmented event, whose meaning shrinks as
    /// named outcomes are added.
    pub other: bool,
    /// A placeholder question of an augmented event (not yet named: "Person A"). Gamma has no
    /// flag for it; see `normalize::looks_like_placeholder`.
    pub placeholder: bool,
    /// The event is augmented: its questions are not a fixed complete set.
    pub augmented: bool,
}

/// One market (one condition, usually a binary YES/NO question).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Market {
    /// Gamma's numeric id (`"559657"`).
    pub gamma_id: String,
    pub condition_id: ConditionId,
    pub question_id: Option<String>,
    pub question: String,
    pub slug: String,
    pub group_item_title: Option<String>,
    /// The Gamma event this market was listed under.
    pub event_id: Option<String>,
    pub outcomes: Vec<Outcome>,
    pub tick: TickSize,
    pub min_order_size: Size,
    pub neg_risk: Option<NegRisk>,
    /// `None` when fees are enabled but no schedule was given (the market is then not traded).
    pub fees: Option<FeeSchedule>,
    pub fee_type: Option<String>,
    pub active: bool,
    pub closed: bool,
    pub archived: bool,
    pub accepting_orders: bool,
    pub order_book_enabled: bool,
    pub status: MarketStatus,
    pub end_date: Option<String>,
    /// `end_date` in UNIX seconds, when it parses.
    pub end_unix_s: Option<i64>,
    pub description: String,
    pub resolution_source: String,
    pub rule_hash: RuleHash,
    pub best_bid: Option<Price>,
    pub best_ask: Option<Price>,
    pub last_trade: Option<Price>,
    /// Informational only (f64 is fine: never used for money).
    pub volume: Option<f64>,
    pub volume_24h: Option<f64>,
    pub liquidity: Option<f64>,
    /// Liquidity rewards (`rewardsMinSize`): the least shares a quote needs to earn.
    #[serde(default)]
    pub rewards_min_size: Option<Size>,
    /// Liquidity rewards (`rewardsMaxSpread`, given in cents): the widest distance from the
    /// midpoint a quote may rest at and still earn, as a price.
    #[serde(default)]
    pub rewards_max_spread: Option<Price>,
    /// Tag slugs and labels (lower case) of the market and its event, and its category.
    pub tags: Vec<String>,
}

impl Market {
    pub fn is_binary(&self) -> bool {
        self.outcomes.len() == 2
    }

    /// Open, accepting orders, with an order book: a market orders can be sent to.
    pub fn is_tradeable(&self) -> bool {
        self.status == MarketStatus::Open
            && self.active
            && !self.archived
            && self.accepting_orders
            && self.order_book_enabled
    }

    pub fn neg_risk_market_id(&self) -> Option<&ConditionId> {
        self.neg_risk.as_ref().map(|n| &n.market_id)
    }

    pub fn tokens(&self) -> impl Iterator<Item = &TokenId> {
        self.outcomes.iter().map(|o| &o.token)
    }

    /// Closed and resolved NO: its YES token pays nothing, so a neg-risk group without it is
    /// still complete.
    pub fn resolved_no(&self) -> bool {
        self.status != MarketStatus::Open
            && self.outcomes.len() == 2
            && self.outcomes[0].price == Some(Price::ZERO)
            && self.outcomes[1].price == Some(Price::ONE)
    }

    /// Whether `key` names this market: condition id, Gamma id, slug, or one of its tokens.
    pub fn is_named(&self, key: &str) -> bool {
        let key = key.trim();
        self.condition_id.to_string().eq_ignore_ascii_case(key)
            || self.gamma_id == key
            || self.slug == key
            || TokenId::parse(key).is_ok_and(|t| self.tokens().any(|x| *x == t))
    }
}

/// A Gamma event: a question with one market (binary) or several (neg-risk).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub id: String,
    pub slug: String,
    pub title: String,
    pub neg_risk: bool,
    pub neg_risk_market_id: Option<ConditionId>,
    pub augmented: bool,
    pub tags: Vec<String>,
    /// The event's markets that normalized, in Gamma's order.
    pub markets: Vec<ConditionId>,
    /// How many markets Gamma listed under the event (skipped ones included), when the event
    /// came from `/events`; a neg-risk group with a skipped member is incomplete.
    pub listed_markets: Option<usize>,
}

/// One normalized snapshot of Gamma: what a refresh produces and what diffs compare.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Catalog {
    /// UNIX milliseconds of the refresh.
    pub fetched_ms: u64,
    /// False when the listing was truncated (offset cap, 422): markets missing from it are
    /// not known to be gone.
    pub complete: bool,
    pub markets: BTreeMap<ConditionId, Market>,
    pub events: BTreeMap<String, Event>,
}

impl Catalog {
    pub fn market(&self, id: &ConditionId) -> Option<&Market> {
        self.markets.get(id)
    }

    /// The market named by `key` (condition id, Gamma id, slug or token id).
    pub fn find(&self, key: &str) -> Option<&Market> {
        if let Ok(c) = ConditionId::parse(key.trim())
            && let Some(m) = self.markets.get(&c)
        {
            return Some(m);
        }
        self.markets.values().find(|m| m.is_named(key))
    }

    /// The markets sharing a neg-risk market id, in condition-id order.
    pub fn neg_risk_members(&self, nr: &ConditionId) -> Vec<&Market> {
        self.markets
            .values()
            .filter(|m| m.neg_risk_market_id() == Some(nr))
            .collect()
    }

    /// The event a market was listed under.
    pub fn event_of(&self, m: &Market) -> Option<&Event> {
        m.event_id.as_ref().and_then(|e| self.events.get(e))
    }
}
