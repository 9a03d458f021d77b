//! `[catalog.filters]`: which markets polyarb watches and trades.
//!
//! A market passes (is *watched*: subscribed on the feed) when it matches every configured
//! condition, is on the allow list (if there is one) and not on the deny list. Trading needs
//! more: `select` forms outcome groups only from watched markets that are also tradeable and
//! not halted, and neg-risk groups are all-or-nothing. Liquidity and volume thresholds are
//! informational `f64` (never money).

use serde::Deserialize;

use super::model::{Market, MarketStatus};

/// Whether neg-risk markets are watched.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NegRiskFilter {
    /// Neg-risk and plain markets alike.
    #[default]
    Include,
    /// Only plain markets.
    Exclude,
    /// Only neg-risk markets.
    Only,
}

/// The filters, every field defaulted (the default passes every tradeable market).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CatalogFilters {
    /// Only markets that are open (not closed), `active` and not archived.
    pub active_only: bool,
    /// Only markets with `acceptingOrders`.
    pub accepting_orders: bool,
    /// Only markets with `enableOrderBook`.
    pub order_book_enabled: bool,
    /// Minimum `liquidityNum` in USD (informational; 0 = no minimum).
    pub min_liquidity: f64,
    /// Minimum `volume24hr` in USD (informational; 0 = no minimum).
    pub min_volume_24h: f64,
    /// Keep only markets with at least one of these tags (slug or label, any case; the
    /// market's and its event's tags, and its category). Empty = no tag condition.
    pub tags: Vec<String>,
    /// Drop markets with any of these tags.
    pub exclude_tags: Vec<String>,
    pub neg_risk: NegRiskFilter,
    /// Keep the unnamed placeholder questions of augmented neg-risk events.
    pub include_placeholders: bool,
    /// Drop markets ending sooner than this many hours from now (0 = no condition).
    pub min_hours_to_end: u64,
    /// Drop markets ending later than this many days from now (0 = no condition). A market
    /// without an end date fails either end-date condition.
    pub max_days_to_end: u64,
    /// If not empty, only these markets: condition ids, Gamma ids, slugs, event slugs or ids,
    /// or neg-risk market ids.
    pub allow: Vec<String>,
    /// Never these (same keys as `allow`).
    pub deny: Vec<String>,
}

impl Default for CatalogFilters {
    fn default() -> Self {
        Self {
            active_only: true,
            accepting_orders: true,
            order_book_enabled: true,
            min_liquidity: 0.0,
            min_volume_24h: 0.0,
            tags: Vec::new(),
            exclude_tags: Vec::new(),
            neg_risk: NegRiskFilter::Include,
            include_placeholders: false,
            min_hours_to_end: 0,
            max_days_to_end: 0,
            allow: Vec::new(),
            deny: Vec::new(),
        }
    }
}

/// Why a market did not pass the filters (the first failing condition).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rejection {
    NotActive,
    NotAcceptingOrders,
    NoOrderBook,
    Liquidity,
    Volume,
    Tags,
    ExcludedTag,
    NegRisk,
    Placeholder,
    EndsTooSoon,
    EndsTooLate,
    NotAllowed,
    Denied,
}

impl Rejection {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotActive => "not_active",
            Self::NotAcceptingOrders => "not_accepting_orders",
            Self::NoOrderBook => "no_order_book",
            Self::Liquidity => "liquidity",
            Self::Volume => "volume",
            Self::Tags => "tags",
            Self::ExcludedTag => "excluded_tag",
            Self::NegRisk => "neg_risk",
            Self::Placeholder => "placeholder",
            Self::EndsTooSoon => "ends_too_soon",
            Self::EndsTooLate => "ends_too_late",
            Self::NotAllowed => "not_allowed",
            Self::Denied => "denied",
        }
    }
}

/// Keys a market answers to in `allow`/`deny`: its ids, slug, event and neg-risk group.
fn keys_match(m: &Market, event_slug: Option<&str>, list: &[String]) -> bool {
    list.iter().any(|k| {
        let k = k.trim();
        m.is_named(k)
            || m.event_id.as_deref() == Some(k)
            || event_slug == Some(k)
            || m.neg_risk_market_id()
                .is_some_and(|n| n.to_string().eq_ignore_ascii_case(k))
    })
}

impl CatalogFilters {
    /// Whether `m` passes, at `now_s` (UNIX seconds); `event_slug` is its event's slug.
    pub fn check(&self, m: &Market, event_slug: Option<&str>, now_s: i64) -> Result<(), Rejection> {
        if !self.deny.is_empty() && keys_match(m, event_slug, &self.deny) {
            return Err(Rejection::Denied);
        }
        if !self.allow.is_empty() && !keys_match(m, event_slug, &self.allow) {
            return Err(Rejection::NotAllowed);
        }
        if self.active_only && !(m.status == MarketStatus::Open && m.active && !m.archived) {
            return Err(Rejection::NotActive);
        }
        if self.accepting_orders && !m.accepting_orders {
            return Err(Rejection::NotAcceptingOrders);
        }
        if self.order_book_enabled && !m.order_book_enabled {
            return Err(Rejection::NoOrderBook);
        }
        if self.min_liquidity > 0.0 && m.liquidity.unwrap_or(0.0) < self.min_liquidity {
            return Err(Rejection::Liquidity);
        }
        if self.min_volume_24h > 0.0 && m.volume_24h.unwrap_or(0.0) < self.min_volume_24h {
            return Err(Rejection::Volume);
        }
        let has = |wanted: &[String]| {
            wanted
                .iter()
                .any(|t| m.tags.iter().any(|x| x.eq_ignore_ascii_case(t.trim())))
        };
        if !self.tags.is_empty() && !has(&self.tags) {
            return Err(Rejection::Tags);
        }
        if has(&self.exclude_tags) {
            return Err(Rejection::ExcludedTag);
        }
        match (self.neg_risk, m.neg_risk.is_some()) {
            (NegRiskFilter::Exclude, true) | (NegRiskFilter::Only, false) => {
                return Err(Rejection::NegRisk);
            }
            _ => {}
        }
        if !self.include_placeholders && m.neg_risk.as_ref().is_some_and(|n| n.placeholder) {
            return Err(Rejection::Placeholder);
        }
        if self.min_hours_to_end > 0 {
            let min = now_s.saturating_add(self.min_hours_to_end as i64 * 3600);
            if m.end_unix_s.is_none_or(|e| e < min) {
                return Err(Rejection::EndsTooSoon);
            }
        }
        if self.max_days_to_end > 0 {
            let max = now_s.saturating_add(self.max_days_to_end as i64 * 86_400);
            if m.end_unix_s.is_none_or(|e| e > max) {
                return Err(Rejection::EndsTooLate);
            }
        }
        Ok(())
    }
}
