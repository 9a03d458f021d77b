//! From a filtered catalog to what the engine runs on: the `AssetRegistry` (token id → dense
//! index) of every watched market, and the strategy's `OutcomeGroup`s.
//!
//! Groups are the questions of a neg-risk event that is not augmented, with the YES and NO
//! token of each, provided every question still open is watched, tradeable, not halted and
//! has known, identical fees (a question that closed resolved NO pays nothing and is left
//! out), and there are at most `strategy::MAX_LEGS` of them. One missing question and the YES
//! tokens no longer sum to one: the group is refused with its reason, never guessed. A binary
//! market is no group: its YES and NO books are one book on the venue, never a Dutch book.
//!
//! A `Selector` lives as long as the engine: asset indices and group ids it hands out are
//! stable across refreshes (the registry only grows), so the feed and the strategy can be
//! updated incrementally.

use std::collections::{BTreeMap, BTreeSet};

use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::core::{AssetIndex, AssetRegistry, ConditionId, Size};
use crate::strategy::OutcomeGroup;

use super::filter::{CatalogFilters, Rejection};
use super::model::Catalog;

/// What a group is made of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum GroupKey {
    /// YES and NO of one market.
    Binary(ConditionId),
    /// The YES tokens of every question of a neg-risk event (by its neg-risk market id).
    NegRisk(ConditionId),
}

/// Why a market or a neg-risk event got no group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupSkip {
    /// A rule change is waiting for an operator's acknowledgement.
    Halted,
    /// Closed, inactive, not accepting orders or without an order book.
    Untradeable,
    /// Fees enabled but no schedule known.
    FeesUnknown,
    /// Not exactly two outcomes.
    NotBinary,
    /// An augmented neg-risk event: its questions are not a fixed complete set.
    Augmented,
    /// A question of the event is missing, unwatched, untradeable, halted or not YES/NO.
    Incomplete,
    /// Questions of one event with different fee schedules.
    MixedFees,
    /// Fewer than two questions left.
    TooFewMembers,
    /// The listing was truncated: neg-risk membership is unknown.
    TruncatedListing,
    /// More questions than one plan carries (`strategy::MAX_LEGS`).
    TooManyQuestions,
}

impl GroupSkip {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Halted => "halted",
            Self::Untradeable => "untradeable",
            Self::FeesUnknown => "fees_unknown",
            Self::NotBinary => "not_binary",
            Self::Augmented => "augmented",
            Self::Incomplete => "incomplete",
            Self::MixedFees => "mixed_fees",
            Self::TooFewMembers => "too_few_members",
            Self::TruncatedListing => "truncated_listing",
            Self::TooManyQuestions => "too_many_questions",
        }
    }
}

/// One group and the markets it spans.
#[derive(Clone, Debug)]
pub struct GroupInfo {
    pub key: GroupKey,
    pub markets: Vec<ConditionId>,
}

/// What the engine should watch and trade after one refresh.
#[derive(Clone, Default)]
pub struct Selection {
    /// Strategy groups, by id.
    pub groups: Vec<OutcomeGroup>,
    /// `groups[i]`'s key and markets.
    pub group_info: Vec<GroupInfo>,
    /// Every asset ever registered (indices are stable; only `watched_assets` are live).
    pub registry: AssetRegistry,
    /// Markets that pass the filters.
    pub watched: BTreeSet<ConditionId>,
    /// Their assets: what the feed should be subscribed to.
    pub watched_assets: BTreeSet<AssetIndex>,
    /// Markets halted by a rule change, directly or through their neg-risk group.
    pub halted: BTreeSet<ConditionId>,
    /// The groups those halts keep out of `groups` (same stable ids): a pipeline started now
    /// holds them halted, so an acknowledgement can resume them without a restart.
    pub held_groups: Vec<OutcomeGroup>,
    /// Markets not watched, by the first filter they failed.
    pub rejected: BTreeMap<Rejection, u64>,
    /// Neg-risk events without a group, by reason.
    pub not_grouped: BTreeMap<GroupSkip, u64>,
    /// Each neg-risk event with a watched question that got no group, and why (listed at
    /// start and in the summary: such an event is never counted as watched).
    pub refused_groups: Vec<(ConditionId, GroupSkip)>,
}

impl std::fmt::Debug for Selection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Selection")
            .field("groups", &self.groups.len())
            .field("assets", &self.registry.len())
            .field("watched", &self.watched.len())
            .field("halted", &self.halted)
            .field("rejected", &self.rejected)
            .field("not_grouped", &self.not_grouped)
            .finish()
    }
}

impl Selection {
    /// What a pipeline starts with: every group, tradeable and held (by id), and the ids to
    /// start halted.
    pub fn startup_groups(&self) -> (Vec<OutcomeGroup>, Vec<u32>) {
        let mut all: Vec<OutcomeGroup> = self
            .groups
            .iter()
            .chain(&self.held_groups)
            .cloned()
            .collect();
        all.sort_by_key(|g| g.id);
        (all, self.held_groups.iter().map(|g| g.id).collect())
    }

    /// The group (and its markets) that contains `market`, binary first.
    pub fn groups_of(&self, market: &ConditionId) -> Vec<(&OutcomeGroup, &GroupInfo)> {
        self.groups
            .iter()
            .zip(&self.group_info)
            .filter(|(_, i)| i.markets.contains(market))
            .collect()
    }
}

/// Hands out stable asset indices and group ids across refreshes.
#[derive(Default)]
pub struct Selector {
    registry: AssetRegistry,
    group_ids: FxHashMap<GroupKey, u32>,
}

impl Selector {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn registry(&self) -> &AssetRegistry {
        &self.registry
    }

    fn group_id(&mut self, key: GroupKey) -> u32 {
        let next = self.group_ids.len() as u32;
        *self.group_ids.entry(key).or_insert(next)
    }

    /// Selects from `catalog`: filters at `now_s`, halts (`halted_direct`: markets with a
    /// pending rule change) spread to their neg-risk groups.
    pub fn select(
        &mut self,
        catalog: &Catalog,
        filters: &CatalogFilters,
        halted_direct: &BTreeSet<ConditionId>,
        now_s: i64,
    ) -> Selection {
        let mut s = Selection {
            halted: spread_halts(catalog, halted_direct),
            ..Selection::default()
        };
        for m in catalog.markets.values() {
            let slug = catalog.event_of(m).map(|e| e.slug.as_str());
            match filters.check(m, slug, now_s) {
                Ok(()) => {
                    s.watched.insert(m.condition_id);
                }
                Err(r) => *s.rejected.entry(r).or_default() += 1,
            }
        }
        let watched: Vec<ConditionId> = s.watched.iter().copied().collect();
        for id in &watched {
            let m = &catalog.markets[id];
            for t in m.tokens() {
                match self.registry.register(t.to_string().as_bytes()) {
                    Ok(a) => {
                        self.registry.set_market(a, &m.condition_id.to_string());
                        s.watched_assets.insert(a);
                    }
                    // Only on u32 exhaustion; the market is simply not watched then.
                    Err(e) => {
                        tracing::error!(market = %m.condition_id, error = %e, "asset registry full")
                    }
                }
            }
        }
        let mut built: Vec<(GroupKey, OutcomeGroup, Vec<ConditionId>)> = Vec::new();
        let mut held: Vec<(GroupKey, OutcomeGroup)> = Vec::new();
        let no_halts = BTreeSet::new();
        let nr_ids: BTreeSet<ConditionId> = catalog
            .markets
            .values()
            .filter_map(|m| m.neg_risk_market_id().copied())
            .collect();
        for nr in nr_ids {
            match self.neg_risk_group(catalog, &nr, &s, &s.halted) {
                Ok((g, members)) => built.push((GroupKey::NegRisk(nr), g, members)),
                Err(r) => {
                    *s.not_grouped.entry(r).or_default() += 1;
                    // Events none of whose questions is watched are not the operator's concern.
                    if catalog
                        .neg_risk_members(&nr)
                        .iter()
                        .any(|m| s.watched.contains(&m.condition_id))
                    {
                        s.refused_groups.push((nr, r));
                    }
                    if r == GroupSkip::Halted
                        && let Ok((g, _)) = self.neg_risk_group(catalog, &nr, &s, &no_halts)
                    {
                        held.push((GroupKey::NegRisk(nr), g));
                    }
                }
            }
        }
        for (key, mut g, markets) in built {
            g.id = self.group_id(key);
            s.groups.push(g);
            s.group_info.push(GroupInfo { key, markets });
        }
        for (key, mut g) in held {
            g.id = self.group_id(key);
            s.held_groups.push(g);
        }
        // By id, so that a group's position is stable while the set is unchanged.
        let mut order: Vec<usize> = (0..s.groups.len()).collect();
        order.sort_by_key(|&i| s.groups[i].id);
        s.groups = order.iter().map(|&i| s.groups[i].clone()).collect();
        s.group_info = order.iter().map(|&i| s.group_info[i].clone()).collect();
        s.registry = self.registry.clone();
        s
    }

    fn neg_risk_group(
        &self,
        catalog: &Catalog,
        nr: &ConditionId,
        s: &Selection,
        halted: &BTreeSet<ConditionId>,
    ) -> Result<(OutcomeGroup, Vec<ConditionId>), GroupSkip> {
        let members = catalog.neg_risk_members(nr);
        if members
            .iter()
            .any(|m| m.neg_risk.as_ref().is_some_and(|n| n.augmented))
        {
            return Err(GroupSkip::Augmented);
        }
        // Membership: from `/events`, the event says how many questions it has; from
        // `/markets`, only a complete listing shows them all.
        let events: BTreeSet<&str> = members
            .iter()
            .filter_map(|m| m.event_id.as_deref())
            .collect();
        let mut counted = false;
        for e in &events {
            if let Some(ev) = catalog.events.get(*e)
                && let Some(listed) = ev.listed_markets
            {
                counted = true;
                let seen = members
                    .iter()
                    .filter(|m| m.event_id.as_deref() == Some(e))
                    .count();
                if listed != seen {
                    return Err(GroupSkip::Incomplete);
                }
            }
        }
        if !counted && !catalog.complete {
            return Err(GroupSkip::TruncatedListing);
        }
        let mut yes = Vec::new();
        let mut no = Vec::new();
        let mut ids = Vec::new();
        let mut fees = None;
        let mut min = Size::ZERO;
        let mut tick = crate::core::TickSize::MILLI;
        for m in members.iter().filter(|m| !m.resolved_no()) {
            if halted.contains(&m.condition_id) {
                return Err(GroupSkip::Halted);
            }
            let yes_no = m.is_binary()
                && m.outcomes[0].name.eq_ignore_ascii_case("yes")
                && m.outcomes[1].name.eq_ignore_ascii_case("no");
            if !s.watched.contains(&m.condition_id) || !m.is_tradeable() || !yes_no {
                return Err(GroupSkip::Incomplete);
            }
            let f = m.fees.ok_or(GroupSkip::FeesUnknown)?;
            if fees.is_some_and(|x| x != f) {
                return Err(GroupSkip::MixedFees);
            }
            fees = Some(f);
            let token = |i: usize| {
                self.registry
                    .lookup(m.outcomes[i].token.to_string().as_bytes())
                    .ok_or(GroupSkip::Incomplete)
            };
            yes.push(token(0)?);
            no.push(token(1)?);
            ids.push(m.condition_id);
            // The coarsest tick of the questions: the slippage reserve's unit.
            tick = tick.max(m.tick);
            // The strictest minimum of the questions applies to every leg.
            min = min.max(m.min_order_size);
        }
        if yes.len() < 2 {
            return Err(GroupSkip::TooFewMembers);
        }
        if yes.len() > crate::strategy::MAX_LEGS {
            return Err(GroupSkip::TooManyQuestions);
        }
        let mut g = OutcomeGroup::new(0, yes, no, fees.unwrap_or_default(), min);
        g.tick = tick;
        Ok((g, ids))
    }
}

/// Direct halts plus every market sharing a neg-risk group with a halted one.
pub fn spread_halts(catalog: &Catalog, direct: &BTreeSet<ConditionId>) -> BTreeSet<ConditionId> {
    let mut out = direct.clone();
    for id in direct {
        if let Some(nr) = catalog.market(id).and_then(|m| m.neg_risk_market_id()) {
            out.extend(catalog.neg_risk_members(nr).iter().map(|m| m.condition_id));
        }
    }
    out
}
