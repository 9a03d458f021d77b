//! Dutch-book leg pairing: a plan's legs go out for the same number of shares, and whatever
//! one leg holds beyond the others afterwards is sold back.
//!
//! A Dutch book is only riskless as complete sets. Every leg is a FOK BUY, a marketable order:
//! production takes its pUSD with at most 2 decimals and its shares with at most 4, spends the
//! pUSD level by level at the prices it walks, and the leg's price is only the worst it
//! accepts. So a leg spends what its shares cost through the levels the strategy walked (the
//! plan's `leg_costs`), not shares × worst price: that would buy more shares than the other
//! legs wherever the book has them, and be killed where the worst level holds no more (the
//! leg whose level ended the walk). Before sending, [`plan_orders`] gives every leg the same
//! share count, a multiple of each leg's exact lot when the plan is that big (shares whose
//! cost at the leg's price is whole cents, so a one-level leg signs exactly those shares for
//! exactly their cost), else of 0.01 share (each leg then spends its cost cut to cents). The
//! count is cut further so that every leg together fits the free collateral last read from
//! the venue (pUSD plus worst-case taker fee, as the venue reserves it) — otherwise the venue
//! would fill the first legs and refuse the last for balance; a cut gives up each leg's
//! dearest shares, taken off its cost at its worst price. A plan on which some leg would be
//! refused locally (tick, precision, the $1 minimum) is not sent at all (the caller counts
//! it): sending the valid legs alone would buy a naked position.
//!
//! Legs can still fill different share counts: a leg whose cost is cut to cents buys up to a
//! cent's worth less, and a book that moved fills differently. After the batch (FOK legs are
//! final with their acknowledgement; an unknown outcome waits for the look-up or the user
//! channel), [`decide`]
//! compares what each leg filled: the least-filled leg's count is the complete sets, and legs
//! that filled more are unwound by [`unwind`] — FAK SELLs of the excess (cut to the 0.01
//! share a SELL can give; the rest is reported as residual), priced
//! `unwind_max_slippage_ticks` under the best bid so that they take the best bid first and
//! nothing worse than that floor, retried on a fresh book (up to `unwind_attempts`) while bids
//! at or above the floor remain. What is not sold is the residual, reported; selling below the
//! floor is the operator's call.

use serde::Deserialize;

use crate::adapters::polymarket::signing::amounts::{MARKETABLE_MAKER_DP, SHARE_LOT};
use crate::adapters::polymarket::signing::{OrderRejection, OrderRequest, OrderSide, OrderType};
use crate::core::{Amount, Price, Size, TickSize};
use crate::strategy::{GroupSide, Leg, MAX_LEGS};

use super::instruments::Instruments;
use super::manager::NewOrder;

mod unwind;

pub use unwind::{PairTracker, PairedSets, RestoredPlans, UnwindCounters, UnwindReport, unwind};

/// One opportunity on its way to the sender (made by `live`'s hot-thread stage): the legs
/// [`plan_orders`] sizes into orders.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    pub plan_id: u64,
    /// The strategy's group (the neg-risk event) it was found in.
    pub group: u32,
    pub side: GroupSide,
    pub n_legs: u8,
    pub legs: [Leg; MAX_LEGS],
    pub size: Size,
    /// Each leg's cost of `size` shares through the levels the strategy walked (zero: not
    /// known, priced at the leg's worst price); see [`plan_orders`].
    pub leg_costs: [Amount; MAX_LEGS],
    /// What the plan makes at `size` (payout of the sets minus their cost, fees included).
    pub edge: Amount,
    pub recv_ns: u64,
    pub created_ns: u64,
}

impl Default for Plan {
    fn default() -> Self {
        Self {
            plan_id: 0,
            group: 0,
            side: GroupSide::Yes,
            n_legs: 0,
            legs: [Leg::default(); MAX_LEGS],
            size: Size::ZERO,
            leg_costs: [Amount::ZERO; MAX_LEGS],
            edge: Amount::ZERO,
            recv_ns: 0,
            created_ns: 0,
        }
    }
}

impl Plan {
    pub fn legs(&self) -> &[Leg] {
        &self.legs[..self.n_legs as usize]
    }

    /// Cuts the plan to `size` shares (no larger than now). Each leg's cost gives up its
    /// dearest shares at its worst price, the rule [`plan_orders`] applies, so that a leg's
    /// cost stays the cost of the plan's shares and never pays for the shares cut away.
    pub fn cut_to(&mut self, size: Size) {
        let gone = self.size.0.saturating_sub(size.0);
        for (leg, cost) in self.legs[..self.n_legs as usize]
            .iter()
            .zip(&mut self.leg_costs)
        {
            if cost.0 != 0 {
                let at_worst = u128::from(leg.price.0) * u128::from(gone) / 1_000_000;
                cost.0 = cost
                    .0
                    .saturating_sub(u64::try_from(at_worst).unwrap_or(u64::MAX));
            }
        }
        self.size = Size(self.size.0.min(size.0));
    }
}

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

/// What one leg's BUY spends for `shares` of the plan's `size`, in micro-pUSD before the cut
/// to cents. With the strategy's cost through the levels it walked (`cost`, for `size`
/// shares), the shares given up are taken off at the leg's worst price: the shares a plan
/// gives up are its dearest, priced at most that, so the amount never exceeds what the levels
/// sell those shares for, and a FOK spending it is absorbed by the book the strategy saw.
/// Without it, every share at the worst price.
fn leg_amount(price: Price, cost: Amount, size: Size, shares: Size) -> u64 {
    let at_worst =
        |s: u64| u64::try_from(u128::from(price.0) * u128::from(s) / 1_000_000).unwrap_or(u64::MAX);
    if cost.0 == 0 {
        return at_worst(shares.0);
    }
    cost.0
        .saturating_sub(at_worst(size.0.saturating_sub(shares.0)))
}

/// What buying `shares` of every leg may reserve: each leg's pUSD (its amount cut to the 2
/// decimals a marketable BUY spends) plus its worst-case taker fee, the fee curve at the limit
/// price or 0.5, whichever is lower (the venue's reservation for a BUY).
fn reserve_for(orders: &[NewOrder], costs: &[Amount], size: Size, shares: Size) -> u128 {
    orders
        .iter()
        .zip(costs)
        .map(|(o, &c)| {
            let p = o.request.price;
            let notional = u128::from(leg_amount(p, c, size, shares));
            let notional = notional - notional % u128::from(PUSD_CENT);
            let worst = Price(p.0.min(500_000));
            let fee = o
                .fees
                .map_or(0, |f| u128::from(f.taker_fee(worst, shares).0));
            notional + fee
        })
        .sum()
}

/// The largest multiple of `lot` up to `shares` whose reservation fits `budget` (0 if none).
fn affordable(
    orders: &[NewOrder],
    costs: &[Amount],
    size: Size,
    shares: u64,
    lot: u64,
    budget: u64,
) -> u64 {
    let reserve = |s: u64| reserve_for(orders, costs, size, Size(s));
    let (b, full) = (u128::from(budget), reserve(shares));
    if full <= b {
        return shares;
    }
    // Proportional first (the reservation is linear but for rounding), then down lot by lot.
    let mut s = u64::try_from(u128::from(shares) * b / full.max(1)).unwrap_or(0);
    s -= s % lot;
    while s > 0 && reserve(s) > b {
        s -= lot;
    }
    s
}

/// A marketable BUY spends whole cents of pUSD (production's 2 decimals), in micro-pUSD.
const PUSD_CENT: u64 = 10u64.pow(6 - MARKETABLE_MAKER_DP);

/// The smallest share count (micro-shares, a multiple of the 0.01-share [`SHARE_LOT`]) whose cost at
/// `price` is whole cents: a BUY of a multiple of it spends exactly `shares × price` and signs
/// exactly those shares, so its amounts are the limit price's ratio and meet the marketable
/// precision at once. A power-of-ten fraction: `None` only when it exceeds `u64`.
fn exact_lot(price: Price) -> u64 {
    // shares (1e-6) × price (1e-6) must be a multiple of a cent (1e-2) in 1e-12 units.
    const CENT_E12: u64 = 10_000_000_000;
    let g = gcd(u64::from(price.0), CENT_E12);
    lcm(SHARE_LOT, CENT_E12 / g)
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Both arguments divide 10^10, so the result does too: no overflow.
fn lcm(a: u64, b: u64) -> u64 {
    a / gcd(a, b) * b
}

/// The client order id of a plan's leg `k`: the plan id above 16 bits that name the order
/// within its plan (`k` itself for a leg; see [`unwind_oid`]). Client ids are unique per plan
/// id (both are journaled), so the plan id's top bits may fall off.
pub const fn leg_oid(plan_id: u64, k: usize) -> u64 {
    plan_id << 16 | (k as u64 & 0xffff)
}

/// Marks an unwind in the low 16 bits of a client order id: `UNWIND_LEG | attempt << 8 | leg`
/// (legs below 256, attempts below 32).
pub const UNWIND_LEG: usize = 0x8000;
const _: () = assert!(MAX_LEGS <= 256, "legs must fit in the low byte");

/// The client order id of unwind `attempt` (0..32) of a plan's leg `leg`.
pub const fn unwind_oid(plan_id: u64, leg: usize, attempt: usize) -> u64 {
    leg_oid(plan_id, UNWIND_LEG | (attempt & 0x1f) << 8 | (leg & 0xff))
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
    // The common share count: a multiple of every leg's exact lot when the plan is that big
    // (each leg then signs exactly `common` shares for whole cents), else of the 0.01-share
    // lot (each leg spends its cost cut to cents for the shares that buys at its price).
    let lot = orders
        .iter()
        .map(|o| exact_lot(o.request.price))
        .fold(SHARE_LOT, lcm);
    let lot = if lot <= plan.size.0 { lot } else { SHARE_LOT };
    let mut common = plan.size.0 - plan.size.0 % lot;
    if common == 0 {
        return Err(PlanSkip::Invalid {
            leg: 0,
            why: OrderRejection::ZeroQuantity,
        });
    }
    let costs = &plan.leg_costs[..legs.len()];
    let mut capped = false;
    if let Some(b) = free {
        let mut s = affordable(&orders, costs, plan.size, common, lot, b);
        // A coarse exact lot (many legs' lots together) must not drop a plan that some
        // 0.01-share lots of every leg would fit: size it down on the fine lot instead.
        if s == 0 && lot != SHARE_LOT {
            let fine = plan.size.0 - plan.size.0 % SHARE_LOT;
            s = affordable(&orders, costs, plan.size, fine, SHARE_LOT, b);
        }
        if s == 0 {
            return Err(PlanSkip::Unaffordable);
        }
        capped = s < common;
        common = s;
    }
    for (k, o) in orders.iter_mut().enumerate() {
        // A marketable BUY spends its pUSD amount level by level up to its worst price
        // (production's market order): the leg's cost through the levels walked, so that it
        // buys the plan's shares and no more, and the book the strategy saw absorbs it whole.
        let amount = leg_amount(o.request.price, costs[k], plan.size, Size(common));
        o.request.quantity = crate::adapters::polymarket::signing::Quantity::MarketAmount(amount);
        // Checked against every rule the signer applies (marketable precision, $1 minimum),
        // so that what passes here is sent as is.
        if let Err(why) = o.request.amounts(&o.rules, now_s) {
            return Err(PlanSkip::Invalid { leg: k, why });
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
    use crate::exec::instruments::Instrument;
    use crate::strategy::Leg;
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
            // A market BUY that walked better prices holds more, to 4 decimals.
            (
                vec![Final(sz("133.3333")), Final(sz("100"))],
                PairAction::Unwind(vec![(0, sz("33.3333"))]),
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
                    settle: None,
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

    /// Each order's signed (maker, taker) amounts.
    fn signed(orders: &[NewOrder]) -> Vec<(u64, u64)> {
        orders
            .iter()
            .map(|o| o.request.amounts(&o.rules, 1).unwrap())
            .map(|a| (a.maker, a.taker))
            .collect()
    }

    /// The shares a leg's signed amounts name (its pUSD at its worst price).
    fn shares(o: &NewOrder) -> Size {
        Size(o.request.amounts(&o.rules, 1).unwrap().taker)
    }

    #[test]
    fn legs_are_sized_to_each_other() {
        let both = instruments(&[TickSize::CENT, TickSize::MILLI]);
        // Exact lots: 0.40 → 0.05 share, 0.555 → 2 shares; 10.009 is cut to 10.
        let o = plan_orders(&plan(&["0.40", "0.555"], "10.009"), &both, 1, None)
            .unwrap()
            .orders;
        assert_eq!(o.iter().map(shares).collect::<Vec<_>>(), [sz("10"); 2]);
        assert_eq!(
            o.iter().map(|o| o.client_oid).collect::<Vec<_>>(),
            [3 << 16, 3 << 16 | 1]
        );
        assert!(
            o.iter()
                .all(|o| o.request.order_type == OrderType::Fok && o.request.side == OrderSide::Buy)
        );
        // Each leg spends whole cents for exactly the common shares.
        assert_eq!(
            signed(&o),
            [(4_000_000, 10_000_000), (5_550_000, 10_000_000)]
        );
    }

    #[test]
    fn the_issues_leg_meets_productions_precision() {
        // 237.3 shares at 0.72 would be $170.856: a 0.72 leg's exact lot is 0.25 share, so
        // the legs go out for 237.25 (0.28's lot is 0.25 too), $170.82 and $66.43.
        let cent = instruments(&[TickSize::CENT, TickSize::CENT]);
        let o = plan_orders(&plan(&["0.72", "0.28"], "237.3"), &cent, 1, None)
            .unwrap()
            .orders;
        assert_eq!(
            signed(&o),
            [(170_820_000, 237_250_000), (66_430_000, 237_250_000)]
        );
    }

    #[test]
    fn every_leg_meets_productions_precision_at_every_tick() {
        use crate::adapters::polymarket::signing::amounts::check_marketable_precision;
        let ticks = ["0.1", "0.01", "0.005", "0.0025", "0.001", "0.0001"];
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % n
        };
        let mut sent = 0;
        for _ in 0..2000 {
            let tick = TickSize::parse(ticks[next(6) as usize]).unwrap();
            let steps = u64::from(1_000_000 / tick.micros());
            let n = 2 + next(3) as usize;
            let prices: Vec<String> = (0..n)
                .map(|_| Price((1 + next(steps - 1)) as u32 * tick.micros()).to_string())
                .collect();
            let refs: Vec<&str> = prices.iter().map(String::as_str).collect();
            let size = Size(1_000_000 + next(5_000_000_000));
            let insts = instruments(&vec![tick; n]);
            let Ok(s) = plan_orders(&plan(&refs, &size.to_string()), &insts, 1, None) else {
                continue;
            };
            sent += 1;
            for o in &s.orders {
                let a = o.request.amounts(&o.rules, 1).unwrap();
                assert_eq!(
                    check_marketable_precision(OrderSide::Buy, a),
                    Ok(()),
                    "{o:?}"
                );
                assert!(a.maker >= 1_000_000, "the $1 minimum: {o:?}");
                let most = u128::from(size.0) * u128::from(o.request.price.0) / 1_000_000;
                assert!(
                    u128::from(a.maker) <= most,
                    "never more than the plan's shares: {o:?}"
                );
            }
        }
        assert!(sent > 1000, "{sent} plans sized");
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
        // The exact lot of 0.40 and 0.58 together is 0.5 share.
        assert_eq!(size(Some("1000")), Ok((sz("1020"), sz("1020"), true)));
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
        assert!(got < sz("1020") && s.capped, "{got}");
        let none = [Amount::ZERO; 2];
        assert!(reserve_for(&s.orders, &none, p.size, got) <= 1_000_000_000);
        assert!(reserve_for(&s.orders, &none, p.size, Size(got.0 + 500_000)) > 1_000_000_000);
    }

    #[test]
    fn a_leg_walked_through_levels_spends_its_cost_not_its_worst_price() {
        let cent = instruments(&[TickSize::CENT, TickSize::CENT]);
        // Leg 0: 50 @0.40 then 50 @0.42 = $41 for 100 shares; leg 1 one level, 100 @0.55.
        let mut p = plan(&["0.42", "0.55"], "100");
        p.leg_costs[0] = Amount(41_000_000);
        p.leg_costs[1] = Amount(55_000_000);
        let o = plan_orders(&p, &cent, 1, None).unwrap().orders;
        // $41, not 100 × 0.42 = $42 (which the 50 left at 0.42 could not absorb: killed);
        // the amount at the worst price names 97.619 shares, the levels give 100.
        assert_eq!(
            signed(&o),
            [(41_000_000, 97_619_000), (55_000_000, 100_000_000)]
        );
        // Cut to 90 shares by the free pUSD: the 10 given up come off at the worst price.
        let s = plan_orders(&p, &cent, 1, Some(86_900_000)).unwrap();
        assert!(s.capped);
        assert_eq!(signed(&s.orders)[0].0, 41_000_000 - 4_200_000);
        assert_eq!(signed(&s.orders)[1].0, 49_500_000);
    }

    #[test]
    fn a_plan_cut_by_the_risk_guard_keeps_costs_of_its_shares() {
        let cent = instruments(&[TickSize::CENT, TickSize::CENT]);
        let mut p = plan(&["0.42", "0.55"], "100");
        p.leg_costs[0] = Amount(41_000_000);
        p.leg_costs[1] = Amount(55_000_000);
        p.cut_to(sz("90"));
        assert_eq!(p.size, sz("90"));
        // Same amounts as the free-collateral cut to 90 shares: the 10 go at the worst price.
        assert_eq!(p.leg_costs[0], Amount(41_000_000 - 4_200_000));
        assert_eq!(p.leg_costs[1], Amount(49_500_000));
        let o = plan_orders(&p, &cent, 1, None).unwrap().orders;
        assert_eq!(signed(&o)[0].0, 41_000_000 - 4_200_000);
        assert_eq!(signed(&o)[1].0, 49_500_000);
    }

    #[test]
    fn forty_legs_are_sized_down_to_the_free_collateral_not_dropped() {
        // 40 legs at 0.0241 (tick 0.0001): each leg's exact lot is 100 shares, and $90 buys
        // 93.36 sets (0.964 each), under one exact lot.
        let tick = TickSize::parse("0.0001").unwrap();
        let insts = instruments(&[tick; 40]);
        let p = plan(&["0.0241"; 40], "500");
        let s = plan_orders(&p, &insts, 1, Some(90_000_000)).unwrap();
        assert!(s.capped);
        assert_eq!(s.orders.len(), 40);
        let spent: u64 = signed(&s.orders).iter().map(|a| a.0).sum();
        assert!(spent <= 90_000_000, "{spent}");
        // Every leg the same 93.36 shares' worth: $2.249976 cut to $2.24.
        assert!(signed(&s.orders).iter().all(|&(m, _)| m == 2_240_000));
        // Uncapped, 500 sets go out whole; capped at max_size upstream, the plan's own size.
        let s = plan_orders(&p, &insts, 1, None).unwrap();
        assert!(!s.capped);
        assert!(
            signed(&s.orders)
                .iter()
                .all(|&(m, t)| (m, t) == (12_050_000, 500_000_000))
        );
    }
}
