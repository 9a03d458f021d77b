//! Dutch-book leg pairing: a plan's legs go out for the same number of shares, and whatever
//! one leg holds beyond the others afterwards is sold back.
//!
//! A Dutch book is only riskless as complete sets. Before sending, [`plan_orders`] sizes every
//! leg with the exact amounts the signer will use (the market's tick and 0.01-share lot, the
//! $1 minimum of marketable orders): all legs get the smallest common share count, cut further
//! so that every leg together fits the free collateral last read from the venue (notional plus
//! worst-case taker fee, as the venue reserves it) — otherwise the venue would fill the first
//! legs and refuse the last for balance. A plan on which some leg would be refused locally, or
//! whose legs cannot be made equal, is not sent at all (the caller counts it): sending the
//! valid legs alone would buy a naked position.
//!
//! After the batch (FOK legs are final with their acknowledgement; an unknown outcome waits
//! for the look-up or the user channel), [`decide`] compares what each leg filled: legs that
//! filled more than the least-filled one are unwound by [`unwind`] — FAK SELLs of exactly the
//! excess, priced `unwind_max_slippage_ticks` under the best bid so that they take the best
//! bid first and nothing worse than that floor, retried on a fresh book (up to
//! `unwind_attempts`) while bids at or above the floor remain. What is not sold is the
//! residual, reported; selling below the floor is the operator's call.

use serde::Deserialize;

use crate::adapters::polymarket::signing::{OrderRejection, OrderRequest, OrderSide, OrderType};
use crate::core::{Price, Size, TickSize};

use super::live::{Instruments, Plan};
use super::manager::NewOrder;

mod unwind;

pub use unwind::{PairTracker, UnwindReport, unwind};

/// `[trading]` settings of the pairing.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct PairingConfig {
    /// An unwind SELL takes bids down to this many ticks under the best bid, no lower.
    pub unwind_max_slippage_ticks: u32,
    /// FAK SELLs per unwind, each after a fresh read of the book (1..=31).
    pub unwind_attempts: u32,
}

impl Default for PairingConfig {
    fn default() -> Self {
        Self {
            unwind_max_slippage_ticks: 2,
            unwind_attempts: 3,
        }
    }
}

/// Why a plan was not sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanSkip {
    /// A leg's asset has no instrument.
    Untradeable { leg: usize },
    /// A leg would be refused locally at the common size (tick, lot, $1 minimum).
    Invalid { leg: usize, why: OrderRejection },
    /// The legs' rules give different share counts even at the smallest common size.
    Uneven,
    /// The free collateral does not buy one lot of every leg.
    Unaffordable,
}

/// The orders of a sized plan.
#[derive(Clone, Debug)]
pub struct SizedPlan {
    pub orders: Vec<NewOrder>,
    /// Whether the free collateral cut the size below what the legs' rules allowed.
    pub capped: bool,
}

/// Share sizes are signed to 2 decimals (every tick's `ROUNDING_CONFIG` has size_dp = 2).
const LOT: u64 = 10_000;

/// What buying `shares` of every leg may reserve: each leg's notional (rounded up) plus its
/// worst-case taker fee, the fee curve at the limit price or 0.5, whichever is lower (the
/// venue's reservation for a BUY).
fn reserve_for(orders: &[NewOrder], shares: Size) -> u128 {
    orders
        .iter()
        .map(|o| {
            let p = o.request.price;
            let notional = (u128::from(p.0) * u128::from(shares.0)).div_ceil(1_000_000);
            let worst = Price(p.0.min(500_000));
            let fee = o
                .fees
                .map_or(0, |f| u128::from(f.taker_fee(worst, shares).0));
            notional + fee
        })
        .sum()
}

/// The largest lot multiple up to `shares` whose reservation fits `budget` (0 if none).
fn affordable(orders: &[NewOrder], shares: u64, budget: u64) -> u64 {
    let (b, full) = (u128::from(budget), reserve_for(orders, Size(shares)));
    if full <= b {
        return shares;
    }
    // Proportional first (the reservation is linear but for rounding), then down lot by lot.
    let mut s = u64::try_from(u128::from(shares) * b / full.max(1)).unwrap_or(0);
    s -= s % LOT;
    while s > 0 && reserve_for(orders, Size(s)) > b {
        s -= LOT;
    }
    s
}

/// The client order id of a plan's leg `k`; unwinds of leg `k` use `k | UNWIND_LEG`.
pub const fn leg_oid(plan_id: u64, k: usize) -> u64 {
    plan_id << 8 | k as u64
}

/// Marks an unwind in the low byte of a client order id: `UNWIND_LEG | attempt << 2 | leg`
/// (legs are below `MAX_LEGS` = 4).
pub const UNWIND_LEG: usize = 0x80;
const _: () = assert!(crate::strategy::MAX_LEGS <= 4, "legs must fit in two bits");

/// Shares a BUY of `size` at `price` would be signed for, or the local refusal.
fn signed_shares(
    request: &OrderRequest,
    rules: &crate::adapters::polymarket::signing::MarketRules,
    now_s: u64,
) -> Result<u64, OrderRejection> {
    // Checked against every rule the signer applies, so that what passes here is sent as is.
    let a = request.amounts(rules, now_s)?;
    Ok(a.shares_and_collateral(request.side).0)
}

/// The orders of a plan: one FOK BUY per leg at its ask, every leg for the same share count
/// (see the module doc). `now_s`: unix seconds, for the signer's checks; `free`: the
/// collateral the legs may reserve (`None`: not known, not capped).
pub fn plan_orders(
    plan: &Plan,
    instruments: &Instruments,
    now_s: u64,
    free: Option<u64>,
) -> Result<SizedPlan, PlanSkip> {
    let legs = &plan.legs[..plan.n_legs as usize];
    let mut orders = Vec::with_capacity(legs.len());
    for (k, leg) in legs.iter().enumerate() {
        let inst = instruments
            .get(leg.asset.get())
            .and_then(Option::as_ref)
            .ok_or(PlanSkip::Untradeable { leg: k })?;
        let mut request = OrderRequest::limit(inst.token_id, OrderSide::Buy, leg.price, plan.size);
        request.order_type = OrderType::Fok;
        orders.push(NewOrder {
            plan_id: plan.plan_id,
            client_oid: leg_oid(plan.plan_id, k),
            request,
            rules: inst.rules,
            fees: inst.fees,
        });
    }
    let mut common = u64::MAX;
    for (k, o) in orders.iter().enumerate() {
        match signed_shares(&o.request, &o.rules, now_s) {
            Ok(s) => common = common.min(s),
            // Rounding down never cures a refusal (a smaller size only lowers the notional).
            Err(why) => return Err(PlanSkip::Invalid { leg: k, why }),
        }
    }
    let mut capped = false;
    if let Some(b) = free {
        let s = affordable(&orders, common, b);
        if s == 0 {
            return Err(PlanSkip::Unaffordable);
        }
        capped = s < common;
        common = s;
    }
    for (k, o) in orders.iter_mut().enumerate() {
        o.request.quantity = crate::adapters::polymarket::signing::Quantity::Shares(Size(common));
        match signed_shares(&o.request, &o.rules, now_s) {
            Ok(s) if s == common => {}
            Ok(_) => return Err(PlanSkip::Uneven),
            Err(why) => return Err(PlanSkip::Invalid { leg: k, why }),
        }
    }
    Ok(SizedPlan { orders, capped })
}

/// What is known of one leg after sending.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LegFill {
    /// The order is over (filled, killed, refused): it holds these shares for good.
    Final(Size),
    /// Its outcome is not known yet (no answer, a look-up pending, still resting).
    Pending,
}

/// What to do with a plan's legs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PairAction {
    /// Every leg holds the same number of shares (complete sets, or nothing).
    Paired,
    /// Some leg is not final: decide later.
    Wait,
    /// Sell back `(leg, excess shares)` for each leg holding more than the least-filled one.
    Unwind(Vec<(usize, Size)>),
}

/// The pairing decision over a plan's legs (see the module doc).
pub fn decide(legs: &[LegFill]) -> PairAction {
    let mut floor = u64::MAX;
    for l in legs {
        match l {
            LegFill::Final(s) => floor = floor.min(s.0),
            LegFill::Pending => return PairAction::Wait,
        }
    }
    let excess: Vec<(usize, Size)> = legs
        .iter()
        .enumerate()
        .filter_map(|(k, l)| match l {
            LegFill::Final(s) if s.0 > floor => Some((k, Size(s.0 - floor))),
            _ => None,
        })
        .collect();
    if excess.is_empty() {
        PairAction::Paired
    } else {
        PairAction::Unwind(excess)
    }
}

/// The lowest price an unwind SELL accepts: `slippage` ticks under the best bid, on the tick
/// grid, never under one tick (the lowest price the venue takes).
pub fn unwind_floor(best_bid: Price, tick: TickSize, slippage: u32) -> Price {
    let t = tick.micros().max(1);
    let on_grid = best_bid.0 - best_bid.0 % t;
    let floor = on_grid.saturating_sub(t.saturating_mul(slippage));
    Price(floor.max(t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::polymarket::signing::MarketRules;
    use crate::core::{AssetIndex, TokenId};
    use crate::exec::live::Instrument;
    use crate::strategy::{Leg, MAX_LEGS};
    use LegFill::{Final, Pending};

    fn sz(s: &str) -> Size {
        Size::parse(s).unwrap()
    }

    #[test]
    fn decisions() {
        // (legs' fills) → action, as a table.
        let cases: Vec<(Vec<LegFill>, PairAction)> = vec![
            (vec![Final(sz("10")), Final(sz("10"))], PairAction::Paired),
            (
                vec![Final(Size::ZERO), Final(Size::ZERO)],
                PairAction::Paired,
            ),
            (
                vec![Final(sz("10")), Final(Size::ZERO)],
                PairAction::Unwind(vec![(0, sz("10"))]),
            ),
            (
                vec![Final(Size::ZERO), Final(sz("7.5"))],
                PairAction::Unwind(vec![(1, sz("7.5"))]),
            ),
            // A partial fill on one side: only the difference goes back.
            (
                vec![Final(sz("10")), Final(sz("4.25"))],
                PairAction::Unwind(vec![(0, sz("5.75"))]),
            ),
            (vec![Final(sz("10")), Pending], PairAction::Wait),
            (vec![Pending, Final(Size::ZERO)], PairAction::Wait),
            // Neg-risk groups: every leg above the least-filled one.
            (
                vec![Final(sz("10")), Final(sz("10")), Final(Size::ZERO)],
                PairAction::Unwind(vec![(0, sz("10")), (1, sz("10"))]),
            ),
            (
                vec![
                    Final(sz("3")),
                    Final(sz("10")),
                    Final(sz("3")),
                    Final(sz("5")),
                ],
                PairAction::Unwind(vec![(1, sz("7")), (3, sz("2"))]),
            ),
            (vec![], PairAction::Paired),
        ];
        for (legs, want) in cases {
            assert_eq!(decide(&legs), want, "{legs:?}");
        }
    }

    #[test]
    fn unwind_floors() {
        let p = |s: &str| Price::parse(s).unwrap();
        let cent = TickSize::CENT;
        let cases = [
            ("0.38", cent, 0, "0.38"),
            ("0.38", cent, 2, "0.36"),
            ("0.02", cent, 5, "0.01"),
            ("0.385", cent, 1, "0.37"),
            ("0.972", TickSize::MILLI, 3, "0.969"),
        ];
        for (bid, tick, n, want) in cases {
            assert_eq!(unwind_floor(p(bid), tick, n), p(want), "{bid} -{n}");
        }
    }

    fn instruments(ticks: &[TickSize]) -> Instruments {
        ticks
            .iter()
            .enumerate()
            .map(|(i, &tick_size)| {
                Some(Instrument {
                    token_id: TokenId::parse(&(1000 + i).to_string()).unwrap(),
                    rules: MarketRules {
                        tick_size,
                        min_order_size: sz("5"),
                        neg_risk: false,
                    },
                    fees: None,
                })
            })
            .collect()
    }

    fn plan(prices: &[&str], size: &str) -> Plan {
        let mut legs = [Leg::default(); MAX_LEGS];
        for (k, p) in prices.iter().enumerate() {
            legs[k] = Leg {
                asset: AssetIndex(k as u32),
                price: Price::parse(p).unwrap(),
            };
        }
        Plan {
            plan_id: 3,
            n_legs: prices.len() as u8,
            legs,
            size: sz(size),
            ..Plan::default()
        }
    }

    fn shares(o: &NewOrder) -> Size {
        match o.request.quantity {
            crate::adapters::polymarket::signing::Quantity::Shares(s) => s,
            q => panic!("{q:?}"),
        }
    }

    #[test]
    fn legs_are_sized_to_each_other() {
        let both = instruments(&[TickSize::CENT, TickSize::MILLI]);
        // Off the 0.01-share lot: every leg is cut to the same lot.
        let o = plan_orders(&plan(&["0.40", "0.555"], "10.009"), &both, 1, None)
            .unwrap()
            .orders;
        assert_eq!(o.iter().map(shares).collect::<Vec<_>>(), [sz("10"); 2]);
        assert_eq!(
            o.iter().map(|o| o.client_oid).collect::<Vec<_>>(),
            [3 << 8, 3 << 8 | 1]
        );
        assert!(
            o.iter()
                .all(|o| o.request.order_type == OrderType::Fok && o.request.side == OrderSide::Buy)
        );
    }

    #[test]
    fn a_plan_with_an_invalid_leg_is_not_sent_at_all() {
        let cent = instruments(&[TickSize::CENT, TickSize::CENT]);
        // 0.555 is off a 0.01 grid (the book moved to a finer tick than the rules say).
        assert!(matches!(
            plan_orders(&plan(&["0.40", "0.555"], "10"), &cent, 1, None),
            Err(PlanSkip::Invalid { leg: 1, why }) if why.venue_code() == "INVALID_ORDER_MIN_TICK_SIZE"
        ));
        // 10 × 0.05 = $0.50: under the $1 minimum of a marketable order.
        assert!(matches!(
            plan_orders(&plan(&["0.90", "0.05"], "10"), &cent, 1, None),
            Err(PlanSkip::Invalid {
                leg: 1,
                why: OrderRejection::MarketableBelowOneDollar { .. }
            })
        ));
        let mut missing = cent.clone();
        missing[1] = None;
        assert_eq!(
            plan_orders(&plan(&["0.40", "0.55"], "10"), &missing, 1, None).unwrap_err(),
            PlanSkip::Untradeable { leg: 1 }
        );
    }

    #[test]
    fn legs_are_cut_to_what_the_free_collateral_buys() {
        let cent = instruments(&[TickSize::CENT, TickSize::CENT]);
        let p = plan(&["0.40", "0.58"], "2000");
        let size = |free: Option<&str>| {
            plan_orders(&p, &cent, 1, free.map(|f| Size::parse(f).unwrap().0))
                .map(|s| (shares(&s.orders[0]), shares(&s.orders[1]), s.capped))
        };
        // (free pUSD) → both legs' shares: 0.98 pUSD per complete set, no fee.
        assert_eq!(size(None), Ok((sz("2000"), sz("2000"), false)));
        assert_eq!(size(Some("1960")), Ok((sz("2000"), sz("2000"), false)));
        assert_eq!(size(Some("1000")), Ok((sz("1020.4"), sz("1020.4"), true)));
        assert_eq!(size(Some("0.009")), Err(PlanSkip::Unaffordable));
        // 1.5 sets: the 0.40 leg is $0.60, under the $1 minimum.
        assert!(matches!(
            size(Some("1.47")),
            Err(PlanSkip::Invalid { leg: 0, .. })
        ));
        // With a fee, its worst case is reserved too: r = 0.25, e = 2 at 0.40 and 0.5 (0.58).
        let mut fee = cent.clone();
        for i in fee.iter_mut().flatten() {
            i.fees = Some(crate::core::fees::FeeSchedule {
                rate_ppm: 250_000,
                exponent: 2,
                taker_only: true,
            });
        }
        let s = plan_orders(&p, &fee, 1, Some(1_000_000_000)).unwrap();
        let got = shares(&s.orders[0]);
        assert!(got < sz("1020.4") && s.capped, "{got}");
        assert!(reserve_for(&s.orders, got) <= 1_000_000_000);
        assert!(reserve_for(&s.orders, Size(got.0 + LOT)) > 1_000_000_000);
    }
}
