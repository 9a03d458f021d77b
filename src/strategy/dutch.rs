//! Dutch books: when the best asks of every outcome of a group sum to less than one unit of
//! collateral (minus `min_profit` and taker fees), buying one of each locks in the difference,
//! since exactly one outcome pays 1.
//!
//! Sized by the depth at those asks (the smallest best-ask size), capped by `max_size`,
//! rounded down to the venue's 0.01-share size grid, and dropped if any leg would be under the
//! market's minimum order size or under the $1 minimum for marketable orders.

use super::{Leg, MAX_LEGS, Opportunity, OutcomeGroup, StrategyConfig};
use crate::adapters::polymarket::signing::amounts::{MIN_MARKETABLE_NOTIONAL, SHARE_LOT};
use crate::core::decimal::MICROS_PER_UNIT;
use crate::core::{Amount, AssetIndex, Size, TopOfBook};

const NO_GROUP: u32 = u32::MAX;

/// Why a group was looked at and not traded (each counted).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct DutchStats {
    pub evaluated: u64,
    pub emitted: u64,
    pub untradeable: u64,
    pub no_edge: u64,
    pub too_small: u64,
    pub too_many_legs: u64,
}

pub struct DutchBook {
    cfg: StrategyConfig,
    groups: Vec<OutcomeGroup>,
    asset_group: Vec<u32>,
    tops: Vec<TopOfBook>,
    /// The last opportunity emitted per group, to emit only changes.
    last: Vec<Option<Opportunity>>,
    pub stats: DutchStats,
}

impl DutchBook {
    pub fn new(cfg: StrategyConfig, groups: Vec<OutcomeGroup>) -> Self {
        let n_assets = groups
            .iter()
            .flat_map(|g| g.assets.iter())
            .map(|a| a.get() + 1)
            .max()
            .unwrap_or(0);
        let mut asset_group = vec![NO_GROUP; n_assets];
        for (i, g) in groups.iter().enumerate() {
            for a in &g.assets {
                asset_group[a.get()] = i as u32;
            }
        }
        Self {
            cfg,
            last: vec![None; groups.len()],
            tops: vec![TopOfBook::default(); n_assets],
            asset_group,
            groups,
            stats: DutchStats::default(),
        }
    }

    pub fn groups(&self) -> &[OutcomeGroup] {
        &self.groups
    }

    /// Reserves room for `max_assets` assets and as many groups, so that groups defined while
    /// running never reallocate the tables.
    pub fn reserve(&mut self, max_assets: usize) {
        let more = max_assets.saturating_sub(self.asset_group.len());
        self.asset_group.reserve_exact(more);
        self.tops.reserve_exact(more);
        let more = max_assets.saturating_sub(self.groups.len());
        self.groups.reserve_exact(more);
        self.last.reserve_exact(more);
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
            self.tops.resize(n, TopOfBook::default());
        }
    }

    /// Adds a group, or replaces the group with the same id (its assets are remapped and its
    /// last opportunity forgotten).
    pub fn define(&mut self, g: OutcomeGroup) {
        let n = g.assets.iter().map(|a| a.get() + 1).max().unwrap_or(0);
        self.grow_to(n);
        let pos = match self.groups.iter().position(|x| x.id == g.id) {
            Some(p) => {
                for a in &self.groups[p].assets {
                    if self.asset_group[a.get()] == p as u32 {
                        self.asset_group[a.get()] = NO_GROUP;
                    }
                }
                p
            }
            None => {
                self.groups.push(OutcomeGroup {
                    id: g.id,
                    assets: Vec::new(),
                    fees: g.fees,
                    min_order_size: g.min_order_size,
                });
                self.last.push(None);
                self.groups.len() - 1
            }
        };
        for a in &g.assets {
            self.asset_group[a.get()] = pos as u32;
        }
        self.groups[pos] = g;
        self.last[pos] = None;
    }

    /// A new top for one asset; returns an opportunity if its group has one that differs from
    /// the last one emitted.
    #[inline]
    pub fn on_top(&mut self, top: TopOfBook, now_ns: u64) -> Option<Opportunity> {
        let i = top.asset.get();
        let g = *self.asset_group.get(i)?;
        if g == NO_GROUP {
            return None;
        }
        self.tops[i] = top;
        let found = self.evaluate(g as usize, top.recv_ns, now_ns);
        let last = &mut self.last[g as usize];
        match found {
            Some(o) if last.is_some_and(|l| same_trade(&l, &o)) => None,
            Some(o) => {
                *last = Some(o);
                self.stats.emitted += 1;
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
        let group = &self.groups[g];
        if group.assets.len() > MAX_LEGS {
            self.stats.too_many_legs += 1;
            return None;
        }
        let max_age = self.cfg.max_top_age_ms * 1_000_000;
        let mut legs = [Leg::default(); MAX_LEGS];
        let mut sum: u64 = 0;
        let mut depth = self.cfg.max_size;
        for (k, a) in group.assets.iter().enumerate() {
            let t = &self.tops[a.get()];
            let fresh = max_age == 0 || now_ns.saturating_sub(t.recv_ns) <= max_age;
            if !t.tradeable || t.ask.is_zero() || t.asset != *a || !fresh {
                self.stats.untradeable += 1;
                return None;
            }
            legs[k] = Leg {
                asset: *a,
                price: t.ask,
            };
            sum += u64::from(t.ask.0);
            depth = depth.min(t.ask_size);
        }
        // Quick reject before any sizing: the asks alone leave no edge.
        if sum + u64::from(self.cfg.min_profit.0) >= MICROS_PER_UNIT {
            self.stats.no_edge += 1;
            return None;
        }
        let size = Size(depth.0 / SHARE_LOT * SHARE_LOT);
        let legs_used = &legs[..group.assets.len()];
        let small = size.is_zero()
            || size < group.min_order_size
            || legs_used.iter().any(|l| {
                Amount::notional_floor(l.price, size).is_none_or(|v| v < MIN_MARKETABLE_NOTIONAL)
            });
        if small {
            self.stats.too_small += 1;
            return None;
        }
        let mut cost: u64 = 0;
        for l in legs_used {
            let notional = Amount::notional_ceil(l.price, size)?;
            cost = cost
                .checked_add(notional.0)?
                .checked_add(group.fees.taker_fee(l.price, size).0)?;
        }
        let payout = size.0; // one unit of collateral per complete set, in micro-units
        let min_edge = Amount::notional_ceil(self.cfg.min_profit, size)?.0;
        if cost >= payout || payout - cost <= min_edge {
            self.stats.no_edge += 1;
            return None;
        }
        Some(Opportunity {
            group: group.id,
            n_legs: group.assets.len() as u8,
            legs,
            size,
            cost: Amount(cost),
            edge: Amount(payout - cost),
            recv_ns,
            detected_ns: now_ns,
        })
    }

    /// Forgets the last opportunity of a group (it was not delivered): the next evaluation
    /// that finds it emits it again.
    pub fn forget(&mut self, group_id: u32) {
        if let Some(i) = self.groups.iter().position(|g| g.id == group_id) {
            self.last[i] = None;
        }
    }

    /// The latest top the strategy holds for an asset.
    pub fn top(&self, asset: AssetIndex) -> Option<&TopOfBook> {
        self.tops.get(asset.get())
    }
}

fn same_trade(a: &Opportunity, b: &Opportunity) -> bool {
    a.group == b.group && a.size == b.size && a.legs() == b.legs()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Price;
    use crate::core::fees::FeeSchedule;

    const YES: AssetIndex = AssetIndex(0);
    const NO: AssetIndex = AssetIndex(1);

    fn strat(fees: FeeSchedule) -> DutchBook {
        DutchBook::new(
            StrategyConfig::default(),
            vec![OutcomeGroup {
                id: 7,
                assets: vec![YES, NO],
                fees,
                min_order_size: Size(5_000_000),
            }],
        )
    }

    fn top(asset: AssetIndex, ask: u32, ask_size: u64, tradeable: bool) -> TopOfBook {
        TopOfBook {
            asset,
            bid: Price(ask - 10_000),
            bid_size: Size(1_000_000),
            ask: Price(ask),
            ask_size: Size(ask_size),
            tradeable,
            recv_ns: 1,
            sent_ns: 1,
        }
    }

    #[test]
    fn finds_a_dutch_book_sized_by_depth() {
        let mut s = strat(FeeSchedule::FREE);
        assert!(s.on_top(top(YES, 450_000, 100_000_000, true), 2).is_none());
        let o = s.on_top(top(NO, 500_000, 30_123_456, true), 2).unwrap();
        assert_eq!(o.group, 7);
        assert_eq!(o.size, Size(30_120_000));
        assert_eq!(
            o.legs(),
            &[
                Leg {
                    asset: YES,
                    price: Price(450_000)
                },
                Leg {
                    asset: NO,
                    price: Price(500_000)
                }
            ]
        );
        // 30.12 sets cost 0.95 each: 28.614; payout 30.12; edge 1.506.
        assert_eq!(o.cost, Amount(28_614_000));
        assert_eq!(o.edge, Amount(1_506_000));
        // The same trade is not emitted twice.
        assert!(s.on_top(top(NO, 500_000, 30_123_456, true), 3).is_none());
    }

    #[test]
    fn never_trades_an_untradeable_book() {
        let mut s = strat(FeeSchedule::FREE);
        s.on_top(top(YES, 450_000, 100_000_000, false), 2);
        assert!(s.on_top(top(NO, 500_000, 100_000_000, true), 2).is_none());
        // Both evaluations stopped at an untradeable leg (the second at the untradeable YES).
        assert_eq!(s.stats.untradeable, 2);
    }

    #[test]
    fn min_profit_and_fees_are_respected() {
        let mut s = strat(FeeSchedule::FREE);
        s.on_top(top(YES, 490_000, 100_000_000, true), 2);
        // 0.49 + 0.49 = 0.98: exactly 1 - min_profit is not enough.
        assert!(s.on_top(top(NO, 490_000, 100_000_000, true), 2).is_none());
        let mut s = strat(FeeSchedule {
            rate_ppm: 30_000,
            exponent: 1,
            taker_only: true,
        });
        s.on_top(top(YES, 480_000, 100_000_000, true), 2);
        // 0.96 per set plus 2 × 0.0075 fees = 0.975: edge 0.025 > 0.02.
        assert!(s.on_top(top(NO, 480_000, 100_000_000, true), 2).is_some());
        let mut s = strat(FeeSchedule {
            rate_ppm: 50_000,
            exponent: 1,
            taker_only: true,
        });
        s.on_top(top(YES, 480_000, 100_000_000, true), 2);
        // With 0.05 fees: 0.96 + 2 × 0.0125 = 0.985: no.
        assert!(s.on_top(top(NO, 480_000, 100_000_000, true), 2).is_none());
    }

    #[test]
    fn groups_defined_while_running_trade_and_redefinitions_remap_legs() {
        let mut s = strat(FeeSchedule::FREE);
        s.reserve(16);
        assert_eq!(s.known_assets(), 2);
        let (a, b, c) = (AssetIndex(5), AssetIndex(6), AssetIndex(7));
        s.define(OutcomeGroup {
            id: 9,
            assets: vec![a, b],
            fees: FeeSchedule::FREE,
            min_order_size: Size(5_000_000),
        });
        assert_eq!(s.known_assets(), 7);
        s.on_top(top(a, 300_000, 100_000_000, true), 2);
        assert_eq!(
            s.on_top(top(b, 300_000, 100_000_000, true), 2)
                .unwrap()
                .group,
            9
        );
        // The group gains a leg: the old pair no longer trades on its own.
        s.define(OutcomeGroup {
            id: 9,
            assets: vec![a, b, c],
            fees: FeeSchedule::FREE,
            min_order_size: Size(5_000_000),
        });
        assert_eq!(s.groups().len(), 2);
        assert!(s.on_top(top(b, 300_000, 100_000_000, true), 3).is_none());
        let o = s.on_top(top(c, 300_000, 100_000_000, true), 3).unwrap();
        assert_eq!((o.group, o.n_legs), (9, 3));
        // Group 7 is untouched.
        s.on_top(top(YES, 450_000, 100_000_000, true), 2);
        assert_eq!(
            s.on_top(top(NO, 500_000, 100_000_000, true), 2)
                .unwrap()
                .group,
            7
        );
    }

    #[test]
    fn too_small_for_the_venue_is_dropped() {
        let mut s = strat(FeeSchedule::FREE);
        s.on_top(top(YES, 450_000, 4_000_000, true), 2);
        assert!(s.on_top(top(NO, 500_000, 100_000_000, true), 2).is_none());
        assert_eq!(s.stats.too_small, 1);
    }
}
