//! Dutch-book legs that fill unevenly, over loopback against the venue's matching engine: the
//! live sender sends both legs as FOK, the venue kills the thin one, and the sender sells the
//! filled leg's excess back, so that the venue's ledger holds as many YES as NO shares of the
//! market — or, when the bids do not reach, reports exactly the residual it left.

use std::time::Duration;

use polyarb::core::{AssetIndex, Price, Size};
use polyarb::exec::journal::MemoryJournal;
use polyarb::exec::live::{Instrument, LiveStats, live_dispatch};
use polyarb::exec::manager::{ExecConfig, OrderManager};
use polyarb::exec::order::OrderState;
use polyarb::exec::pairing::{PairingConfig, leg_oid, unwind_oid};
use polyarb::pipeline::stage::Stage;
use polyarb::strategy::{Leg, Opportunity};

use testkit::wait_within;
use venue_testkit::trading::*;

/// The live sender for YES (asset 0) and NO (asset 1) of `m`, trading for `a` with `rules`.
fn desk(
    a: &Trader,
    m: &Market,
    rules: polyarb::adapters::polymarket::signing::MarketRules,
    plan_seed: u64,
    user: Option<
        crossbeam::channel::Receiver<polyarb::adapters::polymarket::ws::user::UserMessage>,
    >,
    pairing: PairingConfig,
) -> (
    polyarb::exec::live::LiveDispatchStage,
    polyarb::exec::live::Sender<MemoryJournal>,
) {
    let mgr = OrderManager::new(
        a.client.clone(),
        MemoryJournal::new(),
        ExecConfig::default(),
    );
    let inst = |token| {
        Some(Instrument {
            token_id: token,
            rules,
            fees: m.fees,
            settle: None,
        })
    };
    live_dispatch(
        plan_seed,
        mgr,
        vec![inst(m.yes), inst(m.no)],
        user,
        16,
        pairing,
    )
    .unwrap()
}

/// One Dutch-book plan (YES @0.40, NO @0.62, 10 shares each) on a market whose NO asks hold
/// only 3 shares at 0.62 (the mirror of YES bids 3 @0.38, 100 @0.37): the NO leg is killed.
/// Returns the venue, the trader, the market, its starting pUSD, the sender's counters and the
/// manager after it stopped.
fn uneven_plan(
    n: u64,
    slippage: u32,
) -> (
    polyarb_venue::VenueHandle,
    Trader,
    Market,
    u64,
    std::sync::Arc<LiveStats>,
    OrderManager<MemoryJournal>,
) {
    let v = venue();
    let m = market(&v);
    set_book(
        &v,
        &m.yes,
        &[("0.38", "3"), ("0.37", "100")],
        &[("0.40", "100")],
    );
    let a = trader(&v, n);
    let l = listen(&v, &a);
    let start = collateral(&v, &a);
    let (mut stage, sender) = desk(
        &a,
        &m,
        m.rules,
        7,
        Some(l.ch.messages.clone()),
        PairingConfig {
            unwind_max_slippage_ticks: slippage,
            ..PairingConfig::default()
        },
    );
    stage.process(two_legs("0.40", "0.62", "10"));
    let stats = sender.stats.clone();
    wait_within("the unwind", Duration::from_secs(10), || {
        stats.unwinds.get() == 1
    });
    let mgr = sender.join().expect("the sender stops");
    assert!(collateral(&v, &a) < start, "the YES leg was bought");
    (v, a, m, start, stats, mgr)
}

#[test]
fn a_killed_leg_is_unwound_until_the_ledger_is_paired() {
    let (v, a, m, start, stats, mgr) = uneven_plan(41, 1);
    assert_eq!(stats.orders.get(), 2);
    assert_eq!(stats.filled.get(), 1);
    assert_eq!(stats.rejected.get(), 1, "the NO leg is killed");
    assert_eq!(stats.unwind_failed.get(), 0);
    assert_eq!(stats.unwind_residual.get(), 0);
    // The venue's ledger: no YES and no NO left (10 bought, 3 sold @0.38 and 7 @0.37).
    assert_eq!(tokens(&v, &a, &m.yes), tokens(&v, &a, &m.no));
    assert_eq!(tokens(&v, &a, &m.yes), 0);
    // The unwind is an order like any other: journaled, tracked, and its fills in positions.
    let unwind = mgr
        .order_of(7, unwind_oid(7, 0, 0))
        .expect("the unwind order");
    assert_eq!(
        (
            unwind.side.as_str(),
            unwind.order_type.as_str(),
            unwind.size
        ),
        ("SELL", "FAK", Size::parse("10").unwrap())
    );
    assert_eq!(unwind.price, Price::parse("0.37").unwrap());
    assert_eq!(unwind.filled, Size::parse("10").unwrap());
    let journaled = mgr.journal().entries();
    assert_eq!(journaled.len(), 3);
    assert_eq!(journaled[2].order_id, unwind.order_id);
    assert_eq!(journaled[2].state, OrderState::Filled);
    assert_eq!(mgr.positions.get(&m.yes).shares, 0);
    // Bought 10 @0.40 (4 pUSD), sold 3 @0.38 + 7 @0.37 (3.73): 0.27 pUSD lost, realized by the
    // manager and taken by the venue.
    assert_eq!(mgr.positions.get(&m.yes).realized, -270_000);
    assert_eq!(start - collateral(&v, &a), 270_000);
}

#[test]
fn bids_out_of_reach_leave_a_residual_that_is_reported() {
    // No slippage allowed: only the 3 shares bid at 0.38 can be sold.
    let (v, a, m, _, stats, _mgr) = uneven_plan(42, 0);
    assert_eq!(stats.unwinds.get(), 1);
    assert_eq!(stats.unwind_failed.get(), 1);
    assert_eq!(stats.unwind_residual.get(), 7_000_000);
    assert_eq!(tokens(&v, &a, &m.no), 0);
    assert_eq!(
        tokens(&v, &a, &m.yes),
        7_000_000,
        "what is reported is held"
    );
}

#[test]
fn a_leg_off_stale_tick_rules_is_re_read_from_the_venue_not_sent_alone() {
    let v = venue();
    let m = market(&v);
    // YES asks 0.40 and (mirrored from YES bids 0.38) NO asks 0.62, 100 shares each.
    set_book(&v, &m.yes, &[("0.38", "100")], &[("0.40", "100")]);
    let a = trader(&v, 43);
    // Rules taken when the market's tick was 0.1: 0.62 is off that grid.
    let stale = polyarb::adapters::polymarket::signing::MarketRules {
        tick_size: polyarb::core::TickSize::parse("0.1").unwrap(),
        ..m.rules
    };
    let (mut stage, sender) = desk(&a, &m, stale, 9, None, PairingConfig::default());
    stage.process(two_legs("0.40", "0.62", "10"));
    let stats = sender.stats.clone();
    wait_within("both legs", Duration::from_secs(10), || {
        stats.filled.get() + stats.unpaired_skipped.get() >= 1 && stats.plans.get() == 1
    });
    sender.join().expect("the sender stops");
    assert_eq!(stats.unpaired_skipped.get(), 0);
    assert_eq!(stats.rules_refreshed.get(), 1);
    assert_eq!(stats.filled.get(), 2);
    assert_eq!(tokens(&v, &a, &m.yes), 10_000_000);
    assert_eq!(tokens(&v, &a, &m.no), 10_000_000);
}

#[test]
fn legs_are_cut_to_the_free_collateral_so_no_leg_is_refused_for_balance() {
    let v = venue();
    let m = market(&v);
    // YES asks 0.40 and NO asks 0.62 (mirror of YES bids 0.38), 5000 shares deep. (Not a
    // Dutch book: the venue's books of a market are one mirrored book, never crossed.)
    set_book(&v, &m.yes, &[("0.38", "5000")], &[("0.40", "5000")]);
    let a = trader(&v, 44);
    let start = collateral(&v, &a);
    assert_eq!(start, 1_000_000_000, "a new account has 1,000 pUSD");
    let (mut stage, sender) = desk(&a, &m, m.rules, 11, None, PairingConfig::default());
    // 2000 complete sets would cost 2040 pUSD: uncapped, the YES leg (800) fills and the NO leg
    // (1240) is refused for balance.
    stage.process(two_legs("0.40", "0.62", "2000"));
    let stats = sender.stats.clone();
    wait_within("the plan", Duration::from_secs(10), || {
        stats.plans.get() == 1
    });
    sender.join().expect("the sender stops");
    assert_eq!(stats.size_capped.get(), 1);
    assert_eq!((stats.filled.get(), stats.rejected.get()), (2, 0));
    assert_eq!(stats.unwinds.get(), 0);
    // 1000 / 1.02 = 980.392…, cut to the legs' exact lot (0.40: 0.05 share, 0.62: 0.5): 980
    // shares of each, for whole cents: 392 + 607.60 pUSD. Holds under production's market
    // BUY too: each leg's book has its whole pUSD at the limit price, so it buys exactly 980.
    assert_eq!(tokens(&v, &a, &m.yes), 980_000_000);
    assert_eq!(tokens(&v, &a, &m.no), 980_000_000);
    assert_eq!(start - collateral(&v, &a), 999_600_000);
}

/// A BUY leg whose book is better than its limit: production spends the leg's pUSD there and
/// buys more shares than the other leg (YES: $40 at 0.30 = 133.3333 shares against NO's 100);
/// the common quantity is paired and the rest sold back, leaving at most the dust under the
/// 0.01 share a SELL can give, which is reported as residual. (A venue that fills a market BUY
/// for its signed shares, like this branch's double, fills both legs for 100: paired at once.
/// The assertions hold either way.)
#[test]
fn legs_that_fill_different_share_counts_are_paired_on_what_they_filled() {
    let v = venue();
    let m = market(&v);
    // YES asks 0.30; NO asks 0.72 (the mirror of YES bids 0.28), 1000 deep each.
    set_book(&v, &m.yes, &[("0.28", "1000")], &[("0.30", "1000")]);
    let a = trader(&v, 45);
    let l = listen(&v, &a);
    let start = collateral(&v, &a);
    let (mut stage, sender) = desk(
        &a,
        &m,
        m.rules,
        13,
        Some(l.ch.messages.clone()),
        PairingConfig::default(),
    );
    stage.process(two_legs("0.40", "0.72", "100"));
    let stats = sender.stats.clone();
    wait_within("the plan", Duration::from_secs(10), || {
        stats.plans.get() == 1
    });
    let mgr = sender.join().expect("the sender stops");
    assert_eq!((stats.filled.get(), stats.rejected.get()), (2, 0));
    let (yes, no) = (tokens(&v, &a, &m.yes), tokens(&v, &a, &m.no));
    assert!(no >= 100_000_000 && yes >= no, "yes {yes}, no {no}");
    assert!(yes - no < 10_000, "paired but for dust: yes {yes}, no {no}");
    assert_eq!(
        stats.unwind_residual.get(),
        yes - no,
        "the dust is reported"
    );
    // The manager's positions are the venue's ledger.
    assert_eq!(mgr.positions.get(&m.yes).shares, i128::from(yes));
    assert_eq!(mgr.positions.get(&m.no).shares, i128::from(no));
    assert!(collateral(&v, &a) < start);
}

/// A 20-question plan (one YES leg per market, 30 sets at 0.20) goes out as two `POST /orders`
/// batches (15 + 5); the venue kills leg 13, whose book holds only 10 shares, and the 19 legs
/// that filled are sold back, so that every token is flat again.
#[test]
fn a_twenty_leg_plan_with_a_killed_leg_is_unwound_on_every_other_leg() {
    let v = venue_with(|c| c.model = polyarb_venue::ModelConfig::for_assets(60, 11));
    let ms: Vec<Market> = v
        .markets()
        .into_iter()
        .filter(|m| !m.neg_risk && m.token_ids.len() == 2)
        .take(20)
        .map(|m| Market {
            yes: polyarb::core::TokenId::parse(&m.token_ids[0]).unwrap(),
            no: polyarb::core::TokenId::parse(&m.token_ids[1]).unwrap(),
            condition_id: m.condition_id,
            rules: polyarb::adapters::polymarket::signing::MarketRules {
                tick_size: polyarb::core::TickSize::CENT,
                min_order_size: Size(5_000_000),
                neg_risk: false,
            },
            fees: v.control().trading_fees(),
        })
        .collect();
    assert_eq!(ms.len(), 20);
    for (k, m) in ms.iter().enumerate() {
        let depth = if k == 13 { "10" } else { "100" };
        set_book(&v, &m.yes, &[("0.18", "100")], &[("0.20", depth)]);
    }
    let a = trader(&v, 46);
    let l = listen(&v, &a);
    let mgr = OrderManager::new(
        a.client.clone(),
        MemoryJournal::new(),
        ExecConfig::default(),
    );
    let instruments = ms
        .iter()
        .map(|m| {
            Some(Instrument {
                token_id: m.yes,
                rules: m.rules,
                fees: m.fees,
                settle: None,
            })
        })
        .collect();
    let pairing = PairingConfig {
        unwind_max_slippage_ticks: 1,
        ..PairingConfig::default()
    };
    let (mut stage, sender) = live_dispatch(
        17,
        mgr,
        instruments,
        Some(l.ch.messages.clone()),
        16,
        pairing,
    )
    .unwrap();
    let mut o = Opportunity {
        n_legs: 20,
        size: Size::parse("30").unwrap(),
        ..Opportunity::default()
    };
    for (k, leg) in o.legs[..20].iter_mut().enumerate() {
        *leg = Leg {
            asset: AssetIndex(k as u32),
            price: Price::parse("0.20").unwrap(),
        };
    }
    stage.process(o);
    let stats = sender.stats.clone();
    wait_within("the unwinds", Duration::from_secs(30), || {
        stats.unwinds.get() == 19
    });
    let mgr = sender.join().expect("the sender stops");
    assert_eq!(stats.orders.get(), 20);
    assert_eq!((stats.filled.get(), stats.rejected.get()), (19, 1));
    assert_eq!(stats.unwind_failed.get(), 0);
    assert_eq!(stats.unwind_residual.get(), 0);
    // The venue's ledger: every leg flat (30 bought at 0.20, 30 sold at 0.18).
    for (k, m) in ms.iter().enumerate() {
        assert_eq!(tokens(&v, &a, &m.yes), 0, "leg {k}");
    }
    // Every leg and every unwind is an order of its own, under its own client id.
    let killed = mgr.order_of(17, leg_oid(17, 13)).expect("leg 13");
    assert_eq!(killed.filled, Size::ZERO);
    for k in (0..20).filter(|&k| k != 13) {
        assert_eq!(
            mgr.order_of(17, leg_oid(17, k)).unwrap().filled,
            Size::parse("30").unwrap(),
            "leg {k}"
        );
        let u = mgr
            .order_of(17, unwind_oid(17, k, 0))
            .unwrap_or_else(|| panic!("leg {k}'s unwind"));
        assert_eq!(
            (u.side.as_str(), u.filled),
            ("SELL", Size::parse("30").unwrap())
        );
    }
    assert_eq!(mgr.journal().entries().len(), 39);
}

/// A sender on `journal` for YES (asset 0) and NO (asset 1) of `m`: an engine (re)starting on
/// the journal an earlier one left.
fn restarted(
    a: &Trader,
    m: &Market,
    journal: &MemoryJournal,
) -> polyarb::exec::live::Sender<MemoryJournal> {
    let mgr = OrderManager::new(a.client.clone(), journal.clone(), ExecConfig::default());
    let inst = |token| {
        Some(Instrument {
            token_id: token,
            rules: m.rules,
            fees: m.fees,
            settle: None,
        })
    };
    let pairing = PairingConfig {
        unwind_max_slippage_ticks: 1,
        ..PairingConfig::default()
    };
    live_dispatch(5_000, mgr, vec![inst(m.yes), inst(m.no)], None, 16, pairing)
        .unwrap()
        .1
}

#[test]
fn a_plan_a_crash_left_uneven_is_unwound_at_the_restart_and_only_once() {
    use polyarb::adapters::polymarket::signing::{OrderSide, OrderType};
    use polyarb::exec::manager::SubmitOutcome;
    let v = venue();
    let m = market(&v);
    set_book(
        &v,
        &m.yes,
        &[("0.38", "3"), ("0.37", "100")],
        &[("0.40", "100")],
    );
    let a = trader(&v, 47);
    let journal = MemoryJournal::new();
    // Before the crash: both legs of plan 90 sent (YES filled, NO killed: 3 NO at 0.62 only),
    // and the engine gone before pairing them.
    let plan = 90;
    let mut first = OrderManager::new(a.client.clone(), journal.clone(), ExecConfig::default());
    let mut no = leg(plan, leg_oid(plan, 1), &m, "0.62", "10", OrderType::Fok);
    no.request = limit(m.no, OrderSide::Buy, "0.62", "10", OrderType::Fok);
    let r = first.submit(&[
        leg(plan, leg_oid(plan, 0), &m, "0.40", "10", OrderType::Fok),
        no,
    ]);
    assert_eq!(r[0].outcome, SubmitOutcome::Accepted(OrderState::Filled));
    assert!(matches!(r[1].outcome, SubmitOutcome::Rejected(_)), "{r:?}");
    drop(first);
    assert_eq!(tokens(&v, &a, &m.yes), 10_000_000);

    // The restart finds the plan without an outcome and unwinds the YES leg's excess.
    let sender = restarted(&a, &m, &journal);
    let stats = sender.stats.clone();
    wait_within(
        "the restored plan's unwind",
        Duration::from_secs(10),
        || stats.unwinds.get() == 1,
    );
    let mgr = sender.join().expect("the sender stops");
    assert_eq!(stats.plans_restored.get(), 1);
    assert_eq!(stats.unwind_residual.get(), 0);
    assert_eq!(tokens(&v, &a, &m.yes), 0, "the ledger is paired again");
    assert_eq!(tokens(&v, &a, &m.no), 0);
    // The legs were never sent again: the only new order is the unwind.
    let unwind = mgr
        .order_of(plan, unwind_oid(plan, 0, 0))
        .expect("the unwind");
    assert_eq!(unwind.filled, Size(10_000_000));
    let outcomes = journal.plan_outcomes();
    assert_eq!(outcomes.len(), 1, "{outcomes:?}");
    assert_eq!(outcomes[0].0, plan);
    assert!(
        outcomes[0]
            .1
            .starts_with("unwound: leg 0: sold 10 of 10, residual 0"),
        "{outcomes:?}"
    );

    // A second restart finds every plan decided: nothing is sold or sent.
    let sender = restarted(&a, &m, &journal);
    let stats = sender.stats.clone();
    std::thread::sleep(Duration::from_millis(300));
    drop(sender.join());
    assert_eq!(stats.plans_restored.get(), 0);
    assert_eq!(stats.unwinds.get(), 0);
    assert_eq!(journal.plan_outcomes().len(), 1);
    // Only the start-up reads (free collateral, look-ups): no order.
    assert_eq!(stats.orders.get(), 0);
    assert_eq!(tokens(&v, &a, &m.yes), 0);
}
