//! Change detection between two catalog snapshots: which markets are new, which changed (and
//! in which fields), which closed or resolved, and which are gone.
//!
//! Prices, volumes and liquidity move all the time and are not "changes"; everything that
//! decides whether and how a market is traded is.

use serde::Serialize;

use crate::core::ConditionId;

use super::model::{Catalog, Market, MarketStatus};

/// A field of a market whose change is reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MarketField {
    Question,
    Outcomes,
    Tokens,
    TickSize,
    MinOrderSize,
    NegRisk,
    Fees,
    Active,
    Archived,
    AcceptingOrders,
    OrderBook,
    Status,
    EndDate,
    Description,
    ResolutionSource,
    Event,
}

impl MarketField {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Question => "question",
            Self::Outcomes => "outcomes",
            Self::Tokens => "tokens",
            Self::TickSize => "tick_size",
            Self::MinOrderSize => "min_order_size",
            Self::NegRisk => "neg_risk",
            Self::Fees => "fees",
            Self::Active => "active",
            Self::Archived => "archived",
            Self::AcceptingOrders => "accepting_orders",
            Self::OrderBook => "order_book",
            Self::Status => "status",
            Self::EndDate => "end_date",
            Self::Description => "description",
            Self::ResolutionSource => "resolution_source",
            Self::Event => "event",
        }
    }

    /// Whether the field is part of the market's resolution rules (see `rules`).
    pub fn is_rule(self) -> bool {
        matches!(
            self,
            Self::Description | Self::ResolutionSource | Self::EndDate
        )
    }
}

/// The fields that differ between two versions of a market, in a fixed order.
pub fn changed_fields(old: &Market, new: &Market) -> Vec<MarketField> {
    use MarketField as F;
    let names = |m: &Market| {
        m.outcomes
            .iter()
            .map(|o| o.name.clone())
            .collect::<Vec<_>>()
    };
    let tokens = |m: &Market| m.tokens().copied().collect::<Vec<_>>();
    [
        (F::Question, old.question != new.question),
        (F::Outcomes, names(old) != names(new)),
        (F::Tokens, tokens(old) != tokens(new)),
        (F::TickSize, old.tick != new.tick),
        (F::MinOrderSize, old.min_order_size != new.min_order_size),
        (F::NegRisk, old.neg_risk != new.neg_risk),
        (F::Fees, old.fees != new.fees),
        (F::Active, old.active != new.active),
        (F::Archived, old.archived != new.archived),
        (
            F::AcceptingOrders,
            old.accepting_orders != new.accepting_orders,
        ),
        (
            F::OrderBook,
            old.order_book_enabled != new.order_book_enabled,
        ),
        (F::Status, old.status != new.status),
        (F::EndDate, old.end_date != new.end_date),
        (F::Description, old.description != new.description),
        (
            F::ResolutionSource,
            old.resolution_source != new.resolution_source,
        ),
        (F::Event, old.event_id != new.event_id),
    ]
    .into_iter()
    .filter_map(|(f, differs)| differs.then_some(f))
    .collect()
}

/// One changed market.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MarketChange {
    pub condition_id: ConditionId,
    pub fields: Vec<MarketField>,
}

/// What changed from one snapshot to the next.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CatalogDiff {
    /// In the new snapshot only.
    pub new: Vec<ConditionId>,
    /// In both, with different trading-relevant fields.
    pub changed: Vec<MarketChange>,
    /// Open before, closed or resolved now.
    pub closed: Vec<ConditionId>,
    /// Absent from a *complete* new snapshot (Gamma stopped listing it: usually closed).
    pub gone: Vec<ConditionId>,
}

impl CatalogDiff {
    pub fn is_empty(&self) -> bool {
        self.new.is_empty()
            && self.changed.is_empty()
            && self.closed.is_empty()
            && self.gone.is_empty()
    }
}

/// Compares two snapshots. Markets missing from an incomplete `new` are not reported gone.
pub fn diff(old: &Catalog, new: &Catalog) -> CatalogDiff {
    let mut d = CatalogDiff::default();
    for (id, m) in &new.markets {
        match old.markets.get(id) {
            None => d.new.push(*id),
            Some(o) => {
                let fields = changed_fields(o, m);
                if o.status == MarketStatus::Open && m.status != MarketStatus::Open {
                    d.closed.push(*id);
                }
                if !fields.is_empty() {
                    d.changed.push(MarketChange {
                        condition_id: *id,
                        fields,
                    });
                }
            }
        }
    }
    if new.complete {
        d.gone = old
            .markets
            .keys()
            .filter(|id| !new.markets.contains_key(id))
            .copied()
            .collect();
    }
    d
}
