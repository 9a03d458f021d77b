//! The guard's arithmetic, and the property that random plans with random fills never take
//! the exposure past a cap.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::*;
use crate::core::{AssetIndex, Price};

fn leg(asset: u32, price: u32) -> Leg {
    Leg {
        asset: AssetIndex(asset),
        price: Price(price),
    }
}

fn caps() -> Caps {
    Caps {
        token_shares: 100_000_000,
        token_cost: 40_000_000,
        market_shares: 150_000_000,
        market_cost: 60_000_000,
        event_shares: 300_000_000,
        event_cost: 90_000_000,
        gross_cost: 200_000_000,
    }
}

/// A neg-risk event of `n` questions: YES of question k is asset 2k, its NO 2k+1, both in
/// market `first_market + k`, all in event `event`.
fn map_event(g: &mut ExposureGuard, base: usize, n: usize, first_market: u32, event: u32) {
    for k in 0..n {
        g.map_asset(base + 2 * k, first_market + k as u32, Some(event));
        g.map_asset(base + 2 * k + 1, first_market + k as u32, Some(event));
    }
}

#[test]
fn a_plan_inside_every_cap_fits_and_one_outside_is_cut_to_the_lot() {
    let mut g = ExposureGuard::new(caps(), Amount::ZERO);
    map_event(&mut g, 0, 3, 0, 0);
    let legs = [leg(0, 300_000), leg(2, 300_000), leg(4, 300_000)];
    assert_eq!(
        g.will_exceed_exposure(&legs, Size(10_000_000), Amount(100_000), Size(5_000_000)),
        GuardVerdict::Fits
    );
    // Token cost: 40 pUSD at 0.30 is 133.33 shares; token shares cap 100 binds first.
    assert_eq!(
        g.will_exceed_exposure(&legs, Size(500_000_000), Amount(100_000), Size(5_000_000)),
        GuardVerdict::Cut {
            size: Size(100_000_000),
            by: Limit::TokenShares
        }
    );
    // 35 pUSD of question 0 already held: 5 pUSD left at 0.30 = 16.666 → 16.66 shares.
    g.set_token(0, 50_000_000, 35_000_000);
    assert_eq!(
        g.will_exceed_exposure(&legs, Size(50_000_000), Amount(1_000_000), Size(5_000_000)),
        GuardVerdict::Cut {
            size: Size(16_660_000),
            by: Limit::TokenCost
        }
    );
    // Under the markets' minimum: dropped with the cap that left too little.
    assert_eq!(
        g.will_exceed_exposure(&legs, Size(50_000_000), Amount(1_000_000), Size(20_000_000)),
        GuardVerdict::Drop(Limit::TokenCost)
    );
}

#[test]
fn market_event_and_gross_sums_follow_the_tokens() {
    let mut g = ExposureGuard::new(caps(), Amount::ZERO);
    map_event(&mut g, 0, 2, 0, 0);
    g.set_token(0, 10_000_000, 4_000_000);
    g.set_token(1, 20_000_000, 12_000_000);
    g.set_token(2, 5_000_000, 1_000_000);
    assert_eq!(
        g.market[0],
        Acc {
            shares: 30_000_000,
            cost: 16_000_000
        }
    );
    assert_eq!(g.event[0].shares, 35_000_000);
    assert_eq!(g.gross().cost, 17_000_000);
    // A short counts as nothing; replacing a value removes the old one from every sum.
    g.set_token(1, -5_000_000, -1_000_000);
    assert_eq!(g.market[0].shares, 10_000_000);
    assert_eq!(g.gross().cost, 5_000_000);
    g.set_unmapped(1_000_000, 2_000_000);
    assert_eq!(g.gross().cost, 7_000_000);
    assert_eq!(g.exceeded(), None);
    g.set_token(2, 200_000_000, 1_000_000);
    assert_eq!(g.exceeded(), Some(Limit::TokenShares));
}

#[test]
fn legs_of_one_market_share_its_room_and_an_unmapped_asset_is_its_own_market() {
    let mut g = ExposureGuard::new(
        Caps {
            market_shares: 30_000_000,
            ..Caps::default()
        },
        Amount::ZERO,
    );
    g.map_asset(0, 0, None);
    g.map_asset(1, 0, None);
    // Both tokens of market 0: 30 shares of room split over two legs.
    assert_eq!(
        g.will_exceed_exposure(
            &[leg(0, 500_000), leg(1, 400_000)],
            Size(20_000_000),
            Amount(1),
            Size(1)
        ),
        GuardVerdict::Cut {
            size: Size(15_000_000),
            by: Limit::MarketShares
        }
    );
    // Asset 7 was never mapped: its own token is its market.
    g.set_token(7, 25_000_000, 0);
    assert_eq!(
        g.will_exceed_exposure(&[leg(7, 500_000)], Size(20_000_000), Amount(1), Size(1)),
        GuardVerdict::Cut {
            size: Size(5_000_000),
            by: Limit::MarketShares
        }
    );
}

#[test]
fn min_plan_profit_drops_small_or_cut_plans() {
    let mut g = ExposureGuard::new(
        Caps {
            gross_cost: 10_000_000,
            ..Caps::default()
        },
        Amount(50_000),
    );
    let legs = [leg(0, 450_000), leg(1, 500_000)];
    assert_eq!(
        g.will_exceed_exposure(&legs, Size(10_000_000), Amount(40_000), Size(1)),
        GuardVerdict::Drop(Limit::MinProfit)
    );
    assert_eq!(
        g.will_exceed_exposure(&legs, Size(10_000_000), Amount(500_000), Size(1)),
        GuardVerdict::Fits
    );
    // 9.5 pUSD already: 0.5 pUSD of room buys 0.52 sets, making 0.026 < 0.05.
    g.set_token(0, 1, 9_500_000);
    assert_eq!(
        g.will_exceed_exposure(&legs, Size(10_000_000), Amount(500_000), Size(1)),
        GuardVerdict::Drop(Limit::MinProfit)
    );
    let s = GuardStats::default();
    s.record(GuardVerdict::Drop(Limit::MinProfit));
    s.record(GuardVerdict::Fits);
    assert_eq!(
        s.line(),
        "fits 1 · cut 0 · dropped 1 (under min_plan_profit 1)"
    );
}

/// One order in flight in the simulation: a BUY of `size` at `price` on `asset`.
struct Flight {
    asset: usize,
    price: u64,
    size: u64,
}

/// Per asset: (shares held, cost held) from fills, and what orders in flight reserve.
#[derive(Clone, Copy, Default)]
struct Held {
    shares: i128,
    cost: i128,
    reserved_shares: i128,
    reserved_cost: i128,
}

fn publish(g: &mut ExposureGuard, held: &[Held], a: usize) {
    let h = held[a];
    g.set_token(a, h.shares + h.reserved_shares, h.cost + h.reserved_cost);
}

#[test]
fn ten_thousand_random_plans_with_random_fills_never_exceed_a_cap() {
    let mut rng = StdRng::seed_from_u64(0x005e_ed21);
    let caps = Caps {
        token_shares: 400_000_000,
        token_cost: 150_000_000,
        market_shares: 600_000_000,
        market_cost: 200_000_000,
        event_shares: 1_500_000_000,
        event_cost: 500_000_000,
        gross_cost: 1_200_000_000,
    };
    let mut g = ExposureGuard::new(caps, Amount(10_000));
    // Four events of 2..=5 questions (YES and NO assets), and two unmapped binary tokens.
    let sizes = [2usize, 3, 4, 5];
    let mut events: Vec<Vec<(usize, usize)>> = Vec::new();
    let (mut base, mut market) = (0usize, 0u32);
    for (e, &n) in sizes.iter().enumerate() {
        map_event(&mut g, base, n, market, e as u32);
        events.push((0..n).map(|k| (base + 2 * k, base + 2 * k + 1)).collect());
        base += 2 * n;
        market += n as u32;
    }
    let n_assets = base + 2;
    let mut held = vec![Held::default(); n_assets];
    let mut flights: Vec<Flight> = Vec::new();
    let (mut sent, mut cut, mut dropped) = (0u32, 0u32, 0u32);
    for round in 0..10_000 {
        // A plan: every question's YES (or every NO) of one event, or one unmapped token.
        let legs: Vec<Leg> = if rng.random_ratio(1, 10) {
            vec![leg(
                (base + rng.random_range(0..2)) as u32,
                rng.random_range(10..99) * 10_000,
            )]
        } else {
            let e = &events[rng.random_range(0..events.len())];
            let no = rng.random_bool(0.5);
            e.iter()
                .map(|&(y, n)| {
                    let a = if no { n } else { y };
                    leg(a as u32, rng.random_range(5..60) * 10_000)
                })
                .collect()
        };
        let size = Size(rng.random_range(1..40_000) * SHARE_LOT);
        let edge = Amount(rng.random_range(0..2_000_000));
        let min = Size(rng.random_range(0..3) * 1_000_000);
        let v = g.will_exceed_exposure(&legs, size, edge, min);
        let shares = match v {
            GuardVerdict::Fits => size.0,
            GuardVerdict::Cut { size: s, .. } => {
                assert!(
                    s.0 < size.0 && s.0 % SHARE_LOT == 0 && s.0 >= min.0,
                    "{v:?}"
                );
                cut += 1;
                s.0
            }
            GuardVerdict::Drop(_) => {
                dropped += 1;
                0
            }
        };
        if shares > 0 {
            sent += 1;
            // Sent: every leg reserves its size at its limit price.
            for l in &legs {
                let a = l.asset.get();
                let cost = i128::from(shares) * i128::from(l.price.0) / 1_000_000;
                held[a].reserved_shares += i128::from(shares);
                held[a].reserved_cost += cost;
                publish(&mut g, &held, a);
                flights.push(Flight {
                    asset: a,
                    price: u64::from(l.price.0),
                    size: shares,
                });
            }
            assert_eq!(
                g.exceeded(),
                None,
                "round {round}: a plan the guard let through exceeds a cap"
            );
        }
        // Random answers: some orders in flight become final with a random fill (never more
        // than their size; the cost at or under the limit price).
        let mut k = 0;
        while k < flights.len() {
            if rng.random_bool(0.6) {
                let f = flights.swap_remove(k);
                let filled = match rng.random_range(0..3) {
                    0 => 0,
                    1 => f.size,
                    _ => rng.random_range(0..=f.size / SHARE_LOT) * SHARE_LOT,
                };
                let price = rng.random_range(1..=f.price);
                let h = &mut held[f.asset];
                h.reserved_shares -= i128::from(f.size);
                h.reserved_cost -= i128::from(f.size) * i128::from(f.price) / 1_000_000;
                h.shares += i128::from(filled);
                h.cost += i128::from(filled) * i128::from(price) / 1_000_000;
                publish(&mut g, &held, f.asset);
            } else {
                k += 1;
            }
        }
        // Often an unwind or a merge takes part of a holding off.
        if rng.random_bool(0.7) {
            let a = rng.random_range(0..n_assets);
            let h = &mut held[a];
            if h.shares > 0 {
                let sold = rng.random_range(0..=h.shares);
                h.cost -= h.cost * sold / h.shares;
                h.shares -= sold;
                publish(&mut g, &held, a);
            }
        }
        assert_eq!(g.exceeded(), None, "round {round}");
    }
    // The caps were reached many times over: the property was tested where it bites.
    assert!(
        sent > 2_000 && cut > 500 && dropped > 500,
        "sent {sent} cut {cut} dropped {dropped}"
    );
}
