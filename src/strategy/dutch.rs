//! Complete sets of a neg-risk event bought for less than they pay, on both sides.
//!
//! YES side: one YES of each of the N questions pays exactly 1. NO side: one NO of each pays
//! N − 1. When the asks of a side's legs sum to at most its payout minus `min_profit` (each
//! leg's taker fee per share and `slippage_ticks` reserve counted in), buying one of each
//! locks in the difference.
//!
//! Sized through the depth (`walk`): the legs' first `depth_levels` asks are walked together
//! while the marginal set still clears the threshold, capped by `max_size`, floored to the
//! venue's 0.01-share lot, and dropped if any leg would be under the market's minimum order
//! size or under the $1 minimum for marketable orders. Each leg's price is the worst level
//! the size reaches (its order's limit); the cost is exact through the levels, fees
//! included, rounded up. When both sides qualify, the larger edge wins (a tie: YES).
//!
//! Hot path: a top whose asks changed rebuilds its asset's [`Ladder`] (cumulative sizes and
//! per-level marginal costs, fee and reserve included) and updates its side's running state:
//! the first step's marginal set cost (Σ of the legs' first units), and how many legs cannot
//! trade. Most evaluations end there, in constant time: a side whose first step does not clear
//! the threshold has no set. Only a side that does walks, by level boundaries over its legs'
//! merged boundaries (a changed leg's current boundaries merged in as the walk reads on), and
//! each leg's fill is one look-up in its ladder's prefix sums. The walk's scratch is on the stack and every table is sized
//! when its group is defined, so an evaluation allocates nothing.

use super::walk::{Ladder, LegFill, Merged};
use super::{GroupRefusal, GroupSide, Leg, MAX_LEGS, Opportunity, OutcomeGroup, StrategyConfig};
use crate::adapters::polymarket::signing::amounts::{MIN_MARKETABLE_NOTIONAL, SHARE_LOT};
use crate::core::{Amount, AssetIndex, MAX_DEPTH, Price, Size, TopOfBook};

const NO_GROUP: u32 = u32::MAX;

/// Why a group was looked at and not traded (each counted).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct DutchStats {
    pub evaluated: u64,
    pub emitted: u64,
    /// Of `emitted`, NO-side opportunities.
    pub emitted_no: u64,
    pub untradeable: u64,
    pub no_edge: u64,
    pub too_small: u64,
    /// Group definitions refused (too few or too many questions, uneven sides).
    pub refused: u64,
}

/// The running state of one side of a group, kept up to date leg by leg.
#[derive(Clone, Debug, Default)]
struct SideState {
    /// Σ of the legs' first-level units: the marginal cost of the first set.
    c0: u64,
    /// Legs whose book cannot be traded (not `ok`, no asks, no top yet).
    untradeable: u32,
    /// Legs without a level to walk (a zero-size first level).
    empty: u32,
    merged: Merged,
}

impl SideState {
    fn add(&mut self, ok: bool, l: &Ladder) {
        self.untradeable += u32::from(!ok);
        self.empty += u32::from(l.n == 0);
        self.c0 += l.first_unit();
    }

    fn remove(&mut self, ok: bool, l: &Ladder) {
        self.untradeable -= u32::from(!ok);
        self.empty -= u32::from(l.n == 0);
        self.c0 -= l.first_unit();
    }
}

/// A group as the hot path keeps it.
struct GroupState {
    def: OutcomeGroup,
    /// Taker fee of one share, in micro-pUSD, by price in 0.001 steps (empty: no fee).
    fee_per_share: Vec<u32>,
    /// YES side, NO side.
    sides: [SideState; 2],
    /// The last opportunity emitted, to emit only changes.
    last: Option<Opportunity>,
    /// Re-evaluate on the next top even if its asks did not change (the last opportunity was
    /// forgotten, or the group was just defined).
    forced: bool,
    /// A hold after an emission (`[strategy] rearm_ms`).
    hold: Option<Hold>,
}

/// A group held after an emission: until every leg of `side` has a new ladder (bit `k` of
/// `waiting` = leg `k` not yet) or `until_ns`.
#[derive(Clone, Copy, Debug)]
struct Hold {
    side: u8,
    waiting: u64,
    until_ns: u64,
}

impl GroupState {
    fn new(def: OutcomeGroup, depth: usize) -> Self {
        let fee_per_share = if def.fees.rate_ppm == 0 {
            Vec::new()
        } else {
            (0..=1_000u32)
                .map(|i| {
                    let f = def.fees.taker_fee(Price(i * 1_000), Size(1_000_000)).0;
                    u32::try_from(f).unwrap_or(u32::MAX)
                })
                .collect()
        };
        let side = |n: usize| SideState {
            merged: Merged::with_capacity(n, depth),
            ..SideState::default()
        };
        let sides = [side(def.assets.len()), side(def.no_assets.len())];
        Self {
            def,
            fee_per_share,
            sides,
            last: None,
            forced: true,
            hold: None,
        }
    }

    /// The fee of one share at `p` (exact on the 0.001 grid, computed off it).
    #[inline]
    fn fee_per_share(&self, p: Price) -> u64 {
        if self.fee_per_share.is_empty() {
            return 0;
        }
        if p.0.is_multiple_of(1_000)
            && let Some(&f) = self.fee_per_share.get((p.0 / 1_000) as usize)
        {
            return u64::from(f);
        }
        self.def.fees.taker_fee(p, Size(1_000_000)).0
    }
}

/// Why one side has no opportunity, in the order a side gets through them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Miss {
    Untradeable,
    NoEdge,
    TooSmall,
}

/// Where an asset sits in its group: its side and its leg.
#[derive(Clone, Copy, Debug, Default)]
struct Slot {
    side: u8,
    leg: u8,
}

pub struct DutchBook {
    cfg: StrategyConfig,
    /// Ask levels the walk reads per leg.
    depth: usize,
    groups: Vec<GroupState>,
    asset_group: Vec<u32>,
    asset_slot: Vec<Slot>,
    tops: Vec<TopOfBook>,
    /// Each asset's ladder, with its group's fee and reserve in the units.
    ladders: Vec<Ladder>,
    /// Whether each asset's book can be traded (as its side's count has it).
    ok: Vec<bool>,
    pub stats: DutchStats,
}

impl DutchBook {
    /// The strategy over `groups`; groups it cannot trade are refused (see
    /// [`OutcomeGroup::refusal`]), logged and counted.
    pub fn new(cfg: StrategyConfig, groups: Vec<OutcomeGroup>) -> Self {
        let depth = (cfg.depth_levels as usize).clamp(1, MAX_DEPTH);
        let mut s = Self {
            cfg,
            depth,
            groups: Vec::with_capacity(groups.len()),
            asset_group: Vec::new(),
            asset_slot: Vec::new(),
            tops: Vec::new(),
            ladders: Vec::new(),
            ok: Vec::new(),
            stats: DutchStats::default(),
        };
        for g in groups {
            let _ = s.define(g);
        }
        s
    }

    /// The groups the strategy trades.
    pub fn groups(&self) -> impl Iterator<Item = &OutcomeGroup> {
        self.groups.iter().map(|g| &g.def)
    }

    /// Reserves room for `max_assets` assets and as many groups, so that groups defined while
    /// running never reallocate the tables.
    pub fn reserve(&mut self, max_assets: usize) {
        let more = max_assets.saturating_sub(self.asset_group.len());
        self.asset_group.reserve_exact(more);
        self.asset_slot.reserve_exact(more);
        self.tops.reserve_exact(more);
        self.ladders.reserve_exact(more);
        self.ok.reserve_exact(more);
        let more = max_assets.saturating_sub(self.groups.len());
        self.groups.reserve_exact(more);
    }

    /// Assets the tables cover: a top for an asset at or past this comes from an extension
    /// the strategy has not applied yet.
    #[inline]
    pub fn known_assets(&self) -> usize {
        self.asset_group.len()
    }

    /// Covers assets below `n` (a registry extension; within `reserve`, no reallocation).
    pub fn grow_to(&mut self, n: usize) {
        if n > self.asset_group.len() {
            self.asset_group.resize(n, NO_GROUP);
            self.asset_slot.resize(n, Slot::default());
            self.tops.resize(n, TopOfBook::default());
            self.ladders.resize(n, Ladder::default());
            self.ok.resize(n, false);
        }
    }

    /// Adds a group, or replaces the group with the same id (its assets are remapped and its
    /// last opportunity forgotten). A group the strategy cannot trade is refused (counted,
    /// logged); a refused redefinition removes the old group's legs.
    pub fn define(&mut self, g: OutcomeGroup) -> Result<(), GroupRefusal> {
        let pos = self.groups.iter().position(|x| x.def.id == g.id);
        if let Some(p) = pos {
            for a in self.groups[p]
                .def
                .assets
                .iter()
                .chain(&self.groups[p].def.no_assets)
            {
                if self.asset_group[a.get()] == p as u32 {
                    self.asset_group[a.get()] = NO_GROUP;
                }
            }
        }
        if let Some(why) = g.refusal() {
            self.stats.refused += 1;
            tracing::warn!(group = g.id, questions = g.questions(), %why, "group refused");
            if let Some(p) = pos {
                // Keeps its slot (ids stay put) without any leg: it never evaluates.
                let mut empty = g;
                empty.assets.clear();
                empty.no_assets.clear();
                self.groups[p] = GroupState::new(empty, self.depth);
            }
            return Err(why);
        }
        let n = g
            .assets
            .iter()
            .chain(&g.no_assets)
            .map(|a| a.get() + 1)
            .max()
            .unwrap_or(0);
        self.grow_to(n);
        let pos = match pos {
            Some(p) => p,
            None => {
                self.groups.push(GroupState::new(
                    OutcomeGroup {
                        assets: Vec::new(),
                        no_assets: Vec::new(),
                        ..g.clone()
                    },
                    self.depth,
                ));
                self.groups.len() - 1
            }
        };
        for (side, legs) in [&g.assets, &g.no_assets].into_iter().enumerate() {
            for (k, a) in legs.iter().enumerate() {
                self.asset_group[a.get()] = pos as u32;
                self.asset_slot[a.get()] = Slot {
                    side: side as u8,
                    leg: k as u8,
                };
            }
        }
        self.groups[pos] = GroupState::new(g, self.depth);
        // The legs' ladders from the tops already held, with this group's fee and reserve.
        for (i, side) in SIDES.into_iter().enumerate() {
            for k in 0..self.groups[pos].def.side(side).len() {
                let a = self.groups[pos].def.side(side)[k].get();
                let (ok, l) = self.ladder_of(pos, a);
                self.ladders[a] = l;
                self.ok[a] = ok;
                self.groups[pos].sides[i].add(ok, &l);
            }
        }
        Ok(())
    }

    /// An asset's tradeability and ladder from its latest top, for group `g`.
    fn ladder_of(&self, g: usize, a: usize) -> (bool, Ladder) {
        let t = &self.tops[a];
        let st = &self.groups[g];
        let slip = u64::from(self.cfg.slippage_ticks) * u64::from(st.def.tick.micros());
        let ok = t.tradeable && t.asks.len > 0 && t.asset.get() == a;
        let n = (t.asks.len as usize).min(MAX_DEPTH);
        let levels = (0..n).map(|i| (t.asks.prices[i], t.asks.sizes[i]));
        let l = Ladder::build(levels, self.depth, |p| st.fee_per_share(p) + slip);
        (ok, l)
    }

    /// A new top for one asset; returns an opportunity if its group has one that differs from
    /// the last one emitted.
    #[inline]
    pub fn on_top(&mut self, top: TopOfBook, now_ns: u64) -> Option<Opportunity> {
        let i = top.asset.get();
        let g = *self.asset_group.get(i)? as usize;
        if g == NO_GROUP as usize {
            return None;
        }
        // Only the asks and the book's health matter to a buyer of complete sets.
        let old = &self.tops[i];
        let k = self.depth.min(MAX_DEPTH);
        let same = old.asset == top.asset
            && old.tradeable == top.tradeable
            && old.asks.len.min(k as u8) == top.asks.len.min(k as u8)
            && old.asks.prices[..k] == top.asks.prices[..k]
            && old.asks.sizes[..k] == top.asks.sizes[..k];
        self.tops[i] = top;
        let slot = self.asset_slot[i];
        if !same {
            let (ok, l) = self.ladder_of(g, i);
            let side = &mut self.groups[g].sides[slot.side as usize];
            side.remove(self.ok[i], &self.ladders[i]);
            side.add(ok, &l);
            side.merged.mark(slot.leg as usize);
            self.ladders[i] = l;
            self.ok[i] = ok;
        } else if !self.groups[g].forced {
            return None;
        }
        let st = &mut self.groups[g];
        if let Some(h) = &mut st.hold {
            if !same && h.side == slot.side {
                h.waiting &= !(1u64 << (slot.leg & 63));
            }
            if h.waiting != 0 && now_ns < h.until_ns {
                // Evaluated once the hold ends, whatever the next top brings.
                st.forced = true;
                return None;
            }
            st.hold = None;
        }
        st.forced = false;
        let found = self.evaluate(g, top.recv_ns, now_ns);
        let rearm_ns = self.cfg.rearm_ms.saturating_mul(1_000_000);
        let st = &mut self.groups[g];
        let last = &mut st.last;
        match found {
            Some(o) if last.as_ref().is_some_and(|l| same_trade(l, &o)) => None,
            Some(o) => {
                *last = Some(o);
                if rearm_ns > 0 {
                    let n = u32::from(o.n_legs);
                    st.hold = Some(Hold {
                        side: o.side as u8,
                        waiting: if n >= 64 { u64::MAX } else { (1u64 << n) - 1 },
                        until_ns: now_ns.saturating_add(rearm_ns),
                    });
                }
                self.stats.emitted += 1;
                if o.side == GroupSide::No {
                    self.stats.emitted_no += 1;
                }
                Some(o)
            }
            None => {
                *last = None;
                None
            }
        }
    }

    fn evaluate(&mut self, g: usize, recv_ns: u64, now_ns: u64) -> Option<Opportunity> {
        self.stats.evaluated += 1;
        let yes = self.side(g, GroupSide::Yes, recv_ns, now_ns);
        let no = (!self.groups[g].def.no_assets.is_empty())
            .then(|| self.side(g, GroupSide::No, recv_ns, now_ns));
        let why = match (yes, no) {
            (Ok(y), Some(Ok(n))) => return Some(if n.edge > y.edge { n } else { y }),
            (Ok(o), _) | (Err(_), Some(Ok(o))) => return Some(o),
            (Err(a), None) => a,
            // The reason of the side that got further.
            (Err(a), Some(Err(b))) => a.max(b),
        };
        match why {
            Miss::Untradeable => self.stats.untradeable += 1,
            Miss::NoEdge => self.stats.no_edge += 1,
            Miss::TooSmall => self.stats.too_small += 1,
        }
        None
    }

    /// One side of a group: the walk, the size and the exact cost (see the module doc).
    fn side(
        &mut self,
        g: usize,
        side: GroupSide,
        recv_ns: u64,
        now_ns: u64,
    ) -> Result<Opportunity, Miss> {
        let Self {
            cfg,
            groups,
            tops,
            ladders,
            ..
        } = self;
        let st = &mut groups[g];
        let group = &st.def;
        let legs = group.side(side);
        let n = legs.len();
        let run = &mut st.sides[side as usize];
        if run.untradeable > 0 {
            return Err(Miss::Untradeable);
        }
        if cfg.max_top_age_ms > 0 {
            let max_age = cfg.max_top_age_ms * 1_000_000;
            if legs
                .iter()
                .any(|a| now_ns.saturating_sub(tops[a.get()].recv_ns) > max_age)
            {
                return Err(Miss::Untradeable);
            }
        }
        let payout = side.payout(n);
        let limit = payout.saturating_sub(u64::from(cfg.min_profit.0));
        // The first step decides most evaluations.
        if run.empty > 0 || run.c0 > limit {
            return Err(Miss::NoEdge);
        }
        let ladders = &*ladders;
        let mut level = [0u8; MAX_LEGS];
        let walked = run.merged.walk(
            n,
            |k| &ladders[legs[k].get()],
            run.c0,
            limit,
            cfg.max_size.0,
            &mut level,
        );
        if walked == 0 {
            return Err(Miss::NoEdge);
        }
        let size = walked - walked % SHARE_LOT;
        if size == 0 || size < group.min_order_size.0 {
            return Err(Miss::TooSmall);
        }
        let mut o = Opportunity {
            group: group.id,
            side,
            n_legs: n as u8,
            size: Size(size),
            recv_ns,
            detected_ns: now_ns,
            ..Opportunity::default()
        };
        let fees = group.fees.rate_ppm != 0;
        let mut cost: u64 = 0;
        for (j, a) in legs.iter().enumerate() {
            let l = &ladders[a.get()];
            let (at, f): (usize, LegFill) = l.fill(size, level[j] as usize).ok_or(Miss::NoEdge)?;
            let notional = f.cost_ceil();
            if notional < MIN_MARKETABLE_NOTIONAL.0 {
                return Err(Miss::TooSmall);
            }
            let mut fee: u64 = 0;
            if fees {
                // Per level, as the venue charges each fill.
                for i in 0..at {
                    fee += group.fees.taker_fee(l.price[i], Size(l.size(i))).0;
                }
                let before = if at == 0 { 0 } else { l.cum[at - 1] };
                fee += group.fees.taker_fee(f.worst, Size(size - before)).0;
            }
            cost = cost.saturating_add(notional).saturating_add(fee);
            o.leg_costs[j] = Amount(notional);
            o.legs[j] = Leg {
                asset: *a,
                price: f.worst,
            };
        }
        let pays =
            u64::try_from(u128::from(payout) * u128::from(size) / 1_000_000).unwrap_or(u64::MAX);
        if cost >= pays {
            return Err(Miss::NoEdge);
        }
        o.cost = Amount(cost);
        o.edge = Amount(pays - cost);
        Ok(o)
    }

    /// Forgets the last opportunity of a group (it was not delivered): the next top of the
    /// group evaluates it again and emits it if it is still there (no hold).
    pub fn forget(&mut self, group_id: u32) {
        if let Some(g) = self.groups.iter_mut().find(|g| g.def.id == group_id) {
            g.last = None;
            g.forced = true;
            // Nothing was sent: no fills to wait for.
            g.hold = None;
        }
    }

    /// The latest top the strategy holds for an asset.
    pub fn top(&self, asset: AssetIndex) -> Option<&TopOfBook> {
        self.tops.get(asset.get())
    }
}

/// The sides in the order of [`GroupState::sides`].
const SIDES: [GroupSide; 2] = [GroupSide::Yes, GroupSide::No];

fn same_trade(a: &Opportunity, b: &Opportunity) -> bool {
    a.group == b.group && a.side == b.side && a.size == b.size && a.legs() == b.legs()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::AskDepth;
    use crate::core::fees::FeeSchedule;

    fn p(s: &str) -> Price {
        Price::parse(s).unwrap()
    }

    fn sz(s: &str) -> Size {
        Size::parse(s).unwrap()
    }

    /// A group of `n` questions: YES tokens 0..n, NO tokens n..2n.
    fn group(n: u32, fees: FeeSchedule) -> OutcomeGroup {
        OutcomeGroup::new(
            7,
            (0..n).map(AssetIndex).collect(),
            (n..2 * n).map(AssetIndex).collect(),
            fees,
            sz("5"),
        )
    }

    fn strat(n: u32, cfg: StrategyConfig) -> DutchBook {
        DutchBook::new(cfg, vec![group(n, FeeSchedule::FREE)])
    }

    fn top(asset: u32, asks: &[(&str, &str)], tradeable: bool) -> TopOfBook {
        let d = AskDepth::from_levels(asks.iter().map(|&(a, b)| (p(a), sz(b))));
        TopOfBook {
            asset: AssetIndex(asset),
            ask: d.prices[0],
            ask_size: d.sizes[0],
            asks: d,
            tradeable,
            recv_ns: 1,
            ..TopOfBook::default()
        }
    }

    /// Feeds every asset's ladder; returns the last emission.
    fn feed(s: &mut DutchBook, books: &[Vec<(&str, &str)>]) -> Option<Opportunity> {
        let mut last = None;
        for (a, b) in books.iter().enumerate() {
            if let Some(o) = s.on_top(top(a as u32, b, true), 2) {
                last = Some(o);
            }
        }
        last
    }

    fn prices(o: &Opportunity) -> Vec<String> {
        o.legs().iter().map(|l| l.price.to_string()).collect()
    }

    /// The rule step by step over the tops (`walk::sets_within`, then `walk::fill` per leg):
    /// what the hot path must equal, Miss for Miss.
    fn reference_side(
        s: &DutchBook,
        g: usize,
        side: GroupSide,
        recv_ns: u64,
        now_ns: u64,
    ) -> Result<Opportunity, Miss> {
        use crate::strategy::walk::{fill, sets_within};
        let st = &s.groups[g];
        let group = &st.def;
        let legs = group.side(side);
        let n = legs.len();
        let max_age = s.cfg.max_top_age_ms * 1_000_000;
        for a in legs {
            let t = &s.tops[a.get()];
            let fresh = max_age == 0 || now_ns.saturating_sub(t.recv_ns) <= max_age;
            if !t.tradeable || t.asks.len == 0 || t.asset != *a || !fresh {
                return Err(Miss::Untradeable);
            }
        }
        let payout = side.payout(n);
        let limit = payout.saturating_sub(u64::from(s.cfg.min_profit.0));
        let slip = u64::from(s.cfg.slippage_ticks) * u64::from(group.tick.micros());
        let k = s.depth;
        let tops = &s.tops;
        let level = |leg: usize, i: usize| {
            let d = &tops[legs[leg].get()].asks;
            (i < (d.len as usize).min(k)).then(|| (d.prices[i], d.sizes[i]))
        };
        let (mut idx, mut rem) = ([0u32; MAX_LEGS], [0u64; MAX_LEGS]);
        let walked = sets_within(
            n,
            level,
            |_, p| st.fee_per_share(p) + slip,
            limit,
            s.cfg.max_size.0,
            &mut idx,
            &mut rem,
        );
        if walked == 0 {
            return Err(Miss::NoEdge);
        }
        let size = walked - walked % SHARE_LOT;
        if size == 0 || size < group.min_order_size.0 {
            return Err(Miss::TooSmall);
        }
        let mut o = Opportunity {
            group: group.id,
            side,
            n_legs: n as u8,
            size: Size(size),
            recv_ns,
            detected_ns: now_ns,
            ..Opportunity::default()
        };
        let mut cost: u64 = 0;
        for (j, a) in legs.iter().enumerate() {
            let mut fee: u64 = 0;
            let f = fill(
                size,
                |i| level(j, i),
                |p, taken| fee += group.fees.taker_fee(p, Size(taken)).0,
            )
            .ok_or(Miss::NoEdge)?;
            let notional = f.cost_ceil();
            if notional < MIN_MARKETABLE_NOTIONAL.0 {
                return Err(Miss::TooSmall);
            }
            cost = cost.saturating_add(notional).saturating_add(fee);
            o.leg_costs[j] = Amount(notional);
            o.legs[j] = Leg {
                asset: *a,
                price: f.worst,
            };
        }
        let pays =
            u64::try_from(u128::from(payout) * u128::from(size) / 1_000_000).unwrap_or(u64::MAX);
        if cost >= pays {
            return Err(Miss::NoEdge);
        }
        o.cost = Amount(cost);
        o.edge = Amount(pays - cost);
        Ok(o)
    }

    #[test]
    fn the_hot_path_equals_the_step_by_step_rule_through_random_changes() {
        let rng = std::cell::Cell::new(0x2545_f491_4f6c_dd1du64);
        let next = |n: u64| {
            let mut r = rng.get();
            r ^= r << 13;
            r ^= r >> 7;
            r ^= r << 17;
            rng.set(r);
            r % n
        };
        let (mut compared, mut found) = (0u32, 0u32);
        for _ in 0..400 {
            let n = [2u32, 3, 4, 10, 40, 64][next(6) as usize];
            let fees = [
                FeeSchedule::FREE,
                FeeSchedule {
                    rate_ppm: 30_000,
                    exponent: 1,
                    taker_only: true,
                },
                FeeSchedule {
                    rate_ppm: 250_000,
                    exponent: 2,
                    taker_only: true,
                },
            ][next(3) as usize];
            let cfg = StrategyConfig {
                min_profit: Price(next(30) as u32 * 1_000),
                max_size: if next(3) == 0 {
                    Size(1_000_000 + next(300_000_000))
                } else {
                    StrategyConfig::default().max_size
                },
                depth_levels: 1 + next(16) as u32,
                slippage_ticks: if next(4) == 0 { 1 } else { 0 },
                max_top_age_ms: if next(8) == 0 { 5 } else { 0 },
                no_side: false,
                rearm_ms: 0,
                spread: Default::default(),
            };
            let mut s = DutchBook::new(cfg, vec![group(n, fees)]);
            let n = n as u64;
            // A ladder priced around an nth of the side's payout, give or take a few percent.
            let ladder = |asset: u64| -> TopOfBook {
                let share = if asset < n {
                    1_000_000
                } else {
                    (n - 1) * 1_000_000
                };
                let mut p = (share * (940 + next(100)) / 1_000 / n).max(1_000);
                p -= p % 1_000;
                let levels = next(9) as usize;
                let mut asks = Vec::new();
                for _ in 0..levels {
                    let size = [1u64, 2, 5, 10, 20, 50, 100][next(7) as usize] * 1_000_000
                        + if next(3) == 0 { next(1_000_000) } else { 0 };
                    let size = if next(40) == 0 { 0 } else { size };
                    if p < 1_000_000 {
                        asks.push((Price(p as u32), Size(size)));
                    }
                    p += 1_000 * (1 + next(3));
                }
                let d = AskDepth::from_levels(asks);
                TopOfBook {
                    asset: AssetIndex(asset as u32),
                    ask: d.prices[0],
                    ask_size: d.sizes[0],
                    asks: d,
                    tradeable: next(30) != 0,
                    recv_ns: next(10) * 1_000_000,
                    ..TopOfBook::default()
                }
            };
            for a in 0..2 * n {
                s.on_top(ladder(a), 12_000_000);
            }
            for _ in 0..40 {
                let a = next(2 * n);
                let mut t = ladder(a);
                // Often only one level's size moves, as most changes do.
                if next(2) == 0
                    && let Some(old) = s.top(AssetIndex(a as u32))
                    && old.asks.len > 0
                {
                    t = *old;
                    let i = next(u64::from(t.asks.len)) as usize;
                    t.asks.sizes[i] = Size(1 + next(100_000_000));
                }
                s.on_top(t, 12_000_000);
                for side in [GroupSide::Yes, GroupSide::No] {
                    let fast = s.side(0, side, 7, 12_000_000);
                    let slow = reference_side(&s, 0, side, 7, 12_000_000);
                    assert_eq!(fast, slow, "{side:?} of {n} questions");
                    compared += 1;
                    found += u32::from(fast.is_ok());
                }
            }
        }
        assert!(found > 500, "{found} of {compared} comparisons had a set");
    }

    #[test]
    fn two_questions_yes_side_through_two_levels() {
        let mut s = strat(2, StrategyConfig::default());
        // YES asks: 0.45 ×10 then 0.47 ×100; 0.50 ×30. NO asks far above (0.60, 0.60).
        let o = feed(
            &mut s,
            &[
                vec![("0.45", "10"), ("0.47", "100")],
                vec![("0.50", "30")],
                vec![("0.6", "100")],
                vec![("0.6", "100")],
            ],
        )
        .unwrap();
        // 0.95 for 10 sets, 0.97 for 20 more, then the 0.50 ladder ends: 30 sets.
        assert_eq!((o.group, o.side, o.size), (7, GroupSide::Yes, sz("30")));
        assert_eq!(prices(&o), ["0.47", "0.5"]);
        // 4.5 + 9.4 + 15 = 28.9; payout 30.
        assert_eq!((o.cost, o.edge), (Amount(28_900_000), Amount(1_100_000)));
        assert_eq!(s.stats.emitted, 1);
        // The same trade is not emitted twice; a bid-only change is not even evaluated.
        let evaluated = s.stats.evaluated;
        assert!(s.on_top(top(1, &[("0.50", "30")], true), 3).is_none());
        assert_eq!(s.stats.evaluated, evaluated);
    }

    #[test]
    fn three_questions_no_side_pays_n_minus_one() {
        let mut s = strat(3, StrategyConfig::default());
        // YES asks sum 1.10: no YES set. NO asks 0.60 + 0.65 + 0.70 = 1.95 ≤ 2 − 0.02.
        let o = feed(
            &mut s,
            &[
                vec![("0.4", "100")],
                vec![("0.35", "100")],
                vec![("0.35", "100")],
                vec![("0.6", "20"), ("0.61", "50")],
                vec![("0.65", "40")],
                vec![("0.7", "100")],
            ],
        )
        .unwrap();
        // 1.95 for 20, 1.96 for 20 more (0.65's 40 end): 40 sets.
        assert_eq!((o.side, o.size), (GroupSide::No, sz("40")));
        assert_eq!(prices(&o), ["0.61", "0.65", "0.7"]);
        // 12 + 12.2 + 26 + 28 = 78.2; payout 2 × 40 = 80.
        assert_eq!((o.cost, o.edge), (Amount(78_200_000), Amount(1_800_000)));
        assert_eq!(
            o.legs().iter().map(|l| l.asset).collect::<Vec<_>>(),
            [AssetIndex(3), AssetIndex(4), AssetIndex(5)]
        );
        assert_eq!(s.stats.emitted_no, 1);
    }

    #[test]
    fn ten_questions_stop_at_the_threshold() {
        let mut s = strat(10, StrategyConfig::default());
        let mut books: Vec<Vec<(&str, &str)>> = vec![vec![("0.09", "20"), ("0.1", "100")]; 10];
        books.extend(vec![vec![("0.95", "100")]; 10]);
        // 0.90 for 20 sets; then 1.00 > 0.98: stop at the threshold.
        let o = feed(&mut s, &books).unwrap();
        assert_eq!((o.side, o.size), (GroupSide::Yes, sz("20")));
        assert_eq!(prices(&o), ["0.09"; 10]);
        assert_eq!((o.cost, o.edge), (Amount(18_000_000), Amount(2_000_000)));
        // 10 sets: each leg's $0.90 is under the $1 minimum.
        let mut s = strat(10, StrategyConfig::default());
        books[..10].fill(vec![("0.09", "10"), ("0.1", "100")]);
        assert!(feed(&mut s, &books).is_none());
        assert!(s.stats.too_small > 0);
        // A second level at 0.097: 0.90 for 10, 0.97 for 9.99, then the ladders end.
        let mut s = strat(10, StrategyConfig::default());
        books[..10].fill(vec![("0.09", "10"), ("0.097", "9.99")]);
        let o = feed(&mut s, &books).unwrap();
        // 19.99 sets, each leg 0.9 + 0.96903 = 1.86903.
        assert_eq!(o.size, sz("19.99"));
        assert_eq!(prices(&o), ["0.097"; 10]);
        assert_eq!(o.cost, Amount(18_690_300));
        assert_eq!(o.edge, Amount(1_299_700));
    }

    #[test]
    fn forty_questions_both_sides_larger_edge_wins() {
        let mut s = strat(40, StrategyConfig::default());
        // YES: 0.024 each, 40 × 0.024 = 0.96 for 100 sets (cost 96, edge 4).
        // NO: 0.97 each: 38.8 ≤ 39 − 0.02 for 50 sets (cost 1940, edge 10): NO wins.
        let mut books: Vec<Vec<(&str, &str)>> = vec![vec![("0.024", "100")]; 40];
        books.extend(vec![vec![("0.97", "50"), ("0.99", "50")]; 40]);
        let o = feed(&mut s, &books).unwrap();
        assert_eq!((o.side, o.size, o.n_legs), (GroupSide::No, sz("50"), 40));
        assert_eq!(
            (o.cost, o.edge),
            (Amount(1_940_000_000), Amount(10_000_000))
        );
        // A NO book goes untradeable: the YES side is emitted.
        let o = s
            .on_top(top(79, &[("0.97", "50")], false), 3)
            .expect("the YES side");
        assert_eq!((o.side, o.size), (GroupSide::Yes, sz("100")));
        assert_eq!((o.cost, o.edge), (Amount(96_000_000), Amount(4_000_000)));
    }

    #[test]
    fn max_size_caps_and_depth_levels_bound_the_walk() {
        let cfg = StrategyConfig {
            max_size: sz("12.345"),
            ..StrategyConfig::default()
        };
        let mut s = strat(2, cfg);
        let books = vec![
            vec![("0.4", "10"), ("0.41", "10")],
            vec![("0.5", "100")],
            vec![("0.9", "1")],
            vec![("0.9", "1")],
        ];
        // Capped at 12.345, floored to 12.34.
        assert_eq!(feed(&mut s, &books).unwrap().size, sz("12.34"));
        // One level per leg: the walk ends with the 0.40 level.
        let cfg = StrategyConfig {
            depth_levels: 1,
            ..StrategyConfig::default()
        };
        let mut s = strat(2, cfg);
        assert_eq!(feed(&mut s, &books).unwrap().size, sz("10"));
    }

    #[test]
    fn fees_and_slippage_are_in_the_threshold() {
        let fee = FeeSchedule {
            rate_ppm: 30_000,
            exponent: 1,
            taker_only: true,
        };
        let books = vec![
            vec![("0.48", "100")],
            vec![("0.48", "100")],
            vec![("0.9", "1")],
            vec![("0.9", "1")],
        ];
        // 0.96 per set plus 2 × 0.00749 fee = 0.97498: clears 0.98.
        let mut s = DutchBook::new(StrategyConfig::default(), vec![group(2, fee)]);
        let o = feed(&mut s, &books).unwrap();
        // 96 + 2 × 0.7488 fee.
        assert_eq!(o.cost, Amount(97_497_600));
        // A reserve of one 0.01 tick per leg: 0.99498 > 0.98.
        let cfg = StrategyConfig {
            slippage_ticks: 1,
            ..StrategyConfig::default()
        };
        let mut s = DutchBook::new(cfg, vec![group(2, fee)]);
        assert!(feed(&mut s, &books).is_none());
        assert_eq!(s.stats.no_edge, 3);
        // 0.05 fees: 0.96 + 2 × 0.01248 = 0.98496: no.
        let fee5 = FeeSchedule {
            rate_ppm: 50_000,
            ..fee
        };
        let mut s = DutchBook::new(StrategyConfig::default(), vec![group(2, fee5)]);
        assert!(feed(&mut s, &books).is_none());
    }

    #[test]
    fn a_group_is_held_after_an_emission_until_its_legs_move_or_the_rearm_time() {
        let cfg = StrategyConfig {
            rearm_ms: 10,
            ..StrategyConfig::default()
        };
        let mut s = strat(2, cfg);
        let books = vec![
            vec![("0.45", "10"), ("0.47", "100")],
            vec![("0.50", "30")],
            vec![("0.6", "100")],
            vec![("0.6", "100")],
        ];
        assert_eq!(feed(&mut s, &books).unwrap().size, sz("30"));
        // The YES legs' books: leg 0 shows the plan's fill; leg 1 not yet: held.
        assert!(s.on_top(top(0, &[("0.47", "90")], true), 3).is_none());
        assert!(s.on_top(top(2, &[("0.6", "50")], true), 4).is_none());
        // Leg 1's fill lands: every leg moved, the group is evaluated again.
        let o = s.on_top(top(1, &[("0.50", "5")], true), 5).unwrap();
        assert_eq!(
            (o.size, prices(&o)),
            (sz("5"), vec!["0.47".to_string(), "0.5".into()])
        );
        // Held again; a leg that never moves (killed) holds it only until the rearm time.
        assert!(s.on_top(top(0, &[("0.47", "80")], true), 6).is_none());
        assert!(
            s.on_top(top(0, &[("0.47", "70")], true), 5 + 9_999_999)
                .is_none()
        );
        let o = s
            .on_top(top(0, &[("0.46", "60")], true), 5 + 10_000_000)
            .unwrap();
        assert_eq!((o.size, o.legs[0].price), (sz("5"), p("0.46")));
        // A forgotten opportunity (not delivered) is no hold.
        s.forget(7);
        assert!(
            s.on_top(top(0, &[("0.46", "50")], true), 5 + 10_000_001)
                .is_some()
        );
    }

    #[test]
    fn never_trades_an_untradeable_book_and_drops_small_sets() {
        let mut s = strat(2, StrategyConfig::default());
        s.on_top(top(0, &[("0.45", "100")], false), 2);
        assert!(s.on_top(top(1, &[("0.5", "100")], true), 2).is_none());
        assert_eq!(s.stats.untradeable, 2);
        // 4 sets: under the minimum of 5.
        let mut s = strat(2, StrategyConfig::default());
        s.on_top(top(0, &[("0.45", "4")], true), 2);
        assert!(s.on_top(top(1, &[("0.5", "100")], true), 2).is_none());
        assert_eq!(s.stats.too_small, 1);
    }

    #[test]
    fn groups_defined_while_running_trade_and_oversized_ones_are_refused() {
        let mut s = strat(2, StrategyConfig::default());
        s.reserve(256);
        let (a, b, c) = (AssetIndex(10), AssetIndex(11), AssetIndex(12));
        s.define(OutcomeGroup::new(
            9,
            vec![a, b],
            vec![],
            FeeSchedule::FREE,
            sz("5"),
        ))
        .unwrap();
        assert_eq!(s.known_assets(), 13 - 1);
        s.on_top(top(10, &[("0.3", "100")], true), 2);
        assert_eq!(
            s.on_top(top(11, &[("0.3", "100")], true), 2).unwrap().group,
            9
        );
        // The group gains a question: the old pair no longer trades on its own.
        s.define(OutcomeGroup::new(
            9,
            vec![a, b, c],
            vec![],
            FeeSchedule::FREE,
            sz("5"),
        ))
        .unwrap();
        assert_eq!(s.groups().count(), 2);
        assert!(s.on_top(top(11, &[("0.31", "100")], true), 3).is_none());
        let o = s.on_top(top(12, &[("0.3", "100")], true), 3).unwrap();
        assert_eq!((o.group, o.n_legs), (9, 3));
        // 64 questions trade; 65 are refused with their reason.
        let big = |n: u32| {
            OutcomeGroup::new(
                20 + n,
                (100..100 + n).map(AssetIndex).collect(),
                vec![],
                FeeSchedule::FREE,
                sz("5"),
            )
        };
        assert_eq!(s.define(big(65)), Err(GroupRefusal::TooManyQuestions));
        assert_eq!(s.stats.refused, 1);
        s.define(big(64)).unwrap();
        let mut last = None;
        for a in 100..164 {
            last = s.on_top(top(a, &[("0.015", "100")], true), 4);
        }
        let o = last.expect("a 64-leg set at 0.96");
        assert_eq!((o.n_legs, o.size), (64, sz("100")));
        assert_eq!(
            s.define(OutcomeGroup::new(
                5,
                vec![a],
                vec![],
                FeeSchedule::FREE,
                sz("5")
            )),
            Err(GroupRefusal::TooFewQuestions)
        );
    }
}
