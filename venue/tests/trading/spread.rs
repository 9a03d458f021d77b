//! The spread quoter against the venue's matching engine over loopback: real API keys, signed
//! post-only GTC orders, `POST /orders` and `DELETE /orders`, heartbeats, the user channel.
//!
//! Quotes rest inside the spread on both sides of the unified book and never cross; the replace
//! rate holds its limit; a risk breaker or a rule-hash halt pulls every quote within one top
//! change; a lost heartbeat chain cancels the quotes at the venue and they come back once a new
//! chain holds; takers filling the quotes move the inventory, never past its cap, and the
//! quoter's inventory and cash equal the venue's ledger to the micro-pUSD.

use std::sync::Arc;
use std::time::{Duration, Instant};

use polyarb::adapters::polymarket::http::clob::Filter;
use polyarb::adapters::polymarket::signing::{OrderSide, OrderType};
use polyarb::core::{Price, Size};
use polyarb::exec::journal::MemoryJournal;
use polyarb::exec::manager::{ExecConfig, OrderManager};
use polyarb::quoting::quoter::{QuotedMarket, Quoter};
use polyarb::risk::{Breaker, RiskGate};
use polyarb::strategy::spread::SpreadConfig;
use polyarb::strategy::spread::quote::YesTop;
use polyarb_venue::VenueHandle;

use testkit::wait_within;
use venue_testkit::trading::*;

type Manager = OrderManager<MemoryJournal>;

fn cfg() -> SpreadConfig {
    SpreadConfig {
        enabled: true,
        improve_ticks: 1,
        fair_edge_ticks: 1,
        size: Size(10_000_000),
        max_inventory: Size(30_000_000),
        skew_micro_ticks_per_share: 100_000,
        max_skew_ticks: 3,
        replace_ticks: 1,
        max_replaces_per_s: 2,
        min_spread_ticks: 2,
        min_time_to_end_s: 0,
        heartbeat_ms: 100,
        ..SpreadConfig::default()
    }
}

fn quoted(m: &Market, label: &str) -> QuotedMarket {
    QuotedMarket {
        label: label.into(),
        condition_id: m.condition_id.clone(),
        yes: m.yes,
        no: m.no,
        rules: m.rules,
        fees: m.fees,
        end_unix_s: None,
        rewards_min_size: None,
        rewards_max_spread: None,
    }
}

/// The YES top as the venue's REST book gives it.
fn top(v: &VenueHandle, m: &Market) -> YesTop {
    let b = rest_book(v, &m.yes);
    let best = |side: &str, pick: fn(Price, Price) -> Price| {
        b[side]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                (
                    Price::parse(l["price"].as_str().unwrap()).unwrap(),
                    Size::parse(l["size"].as_str().unwrap()).unwrap(),
                )
            })
            .reduce(|x, y| if pick(x.0, y.0) == x.0 { x } else { y })
            .unwrap_or_default()
    };
    let (bid, bid_size) = best("bids", std::cmp::max);
    let (ask, ask_size) = best("asks", std::cmp::min);
    YesTop {
        bid,
        bid_size,
        ask,
        ask_size,
        ok: true,
    }
}

fn unix_s() -> i64 {
    polyarb::obs::clock::unix_ms() as i64 / 1000
}

/// The quoter's top change: the venue's book read now.
fn feed(q: &mut Quoter, mgr: &mut Manager, v: &VenueHandle, m: &Market) {
    q.on_top(mgr, &m.yes, top(v, m), Instant::now(), unix_s());
}

fn open(t: &Trader) -> usize {
    t.client.open_orders(&Filter::default()).unwrap().len()
}

/// A quoting account and its order manager.
fn setup(v: &VenueHandle, n: u64) -> (Trader, Manager) {
    let a = trader(v, n);
    let mgr = OrderManager::new(
        a.client.clone(),
        MemoryJournal::new(),
        ExecConfig::default(),
    );
    (a, mgr)
}

#[test]
fn quotes_rest_inside_the_spread_on_both_sides_and_never_cross() {
    let v = venue();
    let m = market(&v);
    set_book(&v, &m.yes, &[("0.40", "100")], &[("0.60", "100")]);
    let (a, mut mgr) = setup(&v, 31);
    let mut q = Quoter::new(cfg(), 1 << 40, None);
    q.set_markets(&mut mgr, vec![quoted(&m, "m")]);
    feed(&mut q, &mut mgr, &v, &m);
    // A BUY YES at 0.41 and a BUY NO at 0.41 (the YES ask at 0.59), both resting.
    let book = rest_book(&v, &m.yes);
    assert_eq!(level(&book, "bids", "0.41"), "10");
    assert_eq!(level(&book, "asks", "0.59"), "10");
    assert_eq!(open(&a), 2);
    assert!(q.heartbeating(), "heartbeats run while quotes rest");
    let sent: Vec<_> = mgr.sent_since(0).to_vec();
    for id in &sent {
        let o = mgr.order(id).unwrap();
        assert_eq!(o.order_type, OrderType::Gtc);
        assert_eq!(o.side, OrderSide::Buy);
    }

    // The book narrows and shifts around the quotes: every new quote stays post-only.
    for (b, a_) in [
        ("0.45", "0.50"),
        ("0.48", "0.50"),
        ("0.30", "0.33"),
        ("0.70", "0.72"),
        ("0.50", "0.55"),
    ] {
        set_book(&v, &m.yes, &[(b, "100")], &[(a_, "100")]);
        std::thread::sleep(Duration::from_millis(550));
        feed(&mut q, &mut mgr, &v, &m);
        let t = top(&v, &m);
        for r in q.reports(&mgr) {
            if let Some((_, outcome, p, _)) = r.bid {
                let yes = if outcome == "NO" {
                    Price(1_000_000 - p.0)
                } else {
                    p
                };
                assert!(yes < t.ask, "{b}/{a_}: bid {yes} crosses {}", t.ask);
            }
            if let Some((_, outcome, p, _)) = r.ask {
                let yes = if outcome == "NO" {
                    Price(1_000_000 - p.0)
                } else {
                    p
                };
                assert!(yes > t.bid, "{b}/{a_}: ask {yes} crosses {}", t.bid);
            }
        }
        assert!(open(&a) <= 2, "never more than one quote a side");
    }
    assert_eq!(q.stats.crossing_rejects, 0);
    // Nothing of ours ever took liquidity: no position.
    assert!(mgr.positions.all().values().all(|p| p.shares == 0));
    q.stop(&mut mgr);
    assert_eq!(open(&a), 0);
    assert!(!q.heartbeating());
}

#[test]
fn the_replace_rate_stays_within_its_limit() {
    let v = venue();
    let m = market(&v);
    set_book(&v, &m.yes, &[("0.30", "100")], &[("0.70", "100")]);
    let (a, mut mgr) = setup(&v, 32);
    let mut q = Quoter::new(cfg(), 1 << 40, None);
    q.set_markets(&mut mgr, vec![quoted(&m, "m")]);
    feed(&mut q, &mut mgr, &v, &m);
    assert_eq!(open(&a), 2);
    // Twenty top changes of two ticks each, as fast as the venue answers.
    let start = Instant::now();
    let mut stamps = Vec::new();
    for k in 0..20 {
        let b = if k % 2 == 0 { "0.32" } else { "0.30" };
        let x = if k % 2 == 0 { "0.68" } else { "0.70" };
        set_book(&v, &m.yes, &[(b, "100")], &[(x, "100")]);
        let before = q.reports(&mgr)[0].replaced;
        feed(&mut q, &mut mgr, &v, &m);
        let after = q.reports(&mgr)[0].replaced;
        for _ in before..after {
            stamps.push(start.elapsed());
        }
    }
    let r = &q.reports(&mgr)[0];
    assert!(r.replaced > 0 && r.throttled > 0, "{r:?}");
    // Replaces are counted per order: two slots, each replace of a slot one order. In any one
    // second, at most `max_replaces_per_s` of them.
    for (i, t) in stamps.iter().enumerate() {
        let in_window = stamps[i..]
            .iter()
            .take_while(|u| **u - *t < Duration::from_secs(1))
            .count();
        assert!(
            in_window <= 2,
            "{in_window} replaces within a second: {stamps:?}"
        );
    }
    assert!(open(&a) <= 2);
    q.stop(&mut mgr);
}

#[test]
fn a_breaker_or_a_halt_pulls_every_quote_within_one_top_change() {
    let v = venue();
    let markets: Vec<Market> = v
        .markets()
        .into_iter()
        .filter(|x| !x.neg_risk && x.token_ids.len() == 2)
        .take(2)
        .map(|x| {
            let mut m = market(&v);
            m.yes = polyarb::core::TokenId::parse(&x.token_ids[0]).unwrap();
            m.no = polyarb::core::TokenId::parse(&x.token_ids[1]).unwrap();
            m.condition_id = x.condition_id;
            m
        })
        .collect();
    assert_eq!(markets.len(), 2, "two binary markets");
    for m in &markets {
        set_book(&v, &m.yes, &[("0.40", "100")], &[("0.60", "100")]);
    }
    let (a, mut mgr) = setup(&v, 33);
    let gate = Arc::new(RiskGate::default());
    let mut q = Quoter::new(cfg(), 1 << 40, Some(gate.clone()));
    q.set_markets(
        &mut mgr,
        markets
            .iter()
            .enumerate()
            .map(|(i, m)| quoted(m, &format!("m{i}")))
            .collect(),
    );
    for m in &markets {
        feed(&mut q, &mut mgr, &v, m);
    }
    assert_eq!(open(&a), 4);

    // A rule-hash halt of one market pulls its quotes at once; its tops quote nothing.
    q.halt(&mut mgr, &markets[0].condition_id);
    assert_eq!(open(&a), 2);
    feed(&mut q, &mut mgr, &v, &markets[0]);
    assert_eq!(open(&a), 2);
    q.resume(&markets[0].condition_id);
    feed(&mut q, &mut mgr, &v, &markets[0]);
    assert_eq!(open(&a), 4);

    // A breaker trips: the next top change (of any market) pulls every quote.
    gate.trip(Breaker::Kill, "test");
    feed(&mut q, &mut mgr, &v, &markets[1]);
    assert_eq!(open(&a), 0);
    assert_eq!(q.stats.breaker_pulls, 1);
    feed(&mut q, &mut mgr, &v, &markets[0]);
    assert_eq!(open(&a), 0, "nothing quoted while the gate is closed");
    gate.reset();
    feed(&mut q, &mut mgr, &v, &markets[0]);
    assert_eq!(open(&a), 2);
    q.stop(&mut mgr);
}

#[test]
fn a_book_not_ok_pulls_and_a_healthy_one_quotes_again() {
    let v = venue();
    let m = market(&v);
    set_book(&v, &m.yes, &[("0.40", "100")], &[("0.60", "100")]);
    let (a, mut mgr) = setup(&v, 34);
    let mut q = Quoter::new(cfg(), 1 << 40, None);
    q.set_markets(&mut mgr, vec![quoted(&m, "m")]);
    feed(&mut q, &mut mgr, &v, &m);
    assert_eq!(open(&a), 2);
    let mut t = top(&v, &m);
    t.ok = false;
    q.on_top(&mut mgr, &m.yes, t, Instant::now(), unix_s());
    assert_eq!(open(&a), 0);
    // The market nears its end: nothing is quoted.
    let mut near = quoted(&m, "m");
    near.end_unix_s = Some(unix_s() + 60);
    let mut c = cfg();
    c.min_time_to_end_s = 3_600;
    let mut q2 = Quoter::new(c, 2 << 40, None);
    q2.set_markets(&mut mgr, vec![near]);
    feed(&mut q2, &mut mgr, &v, &m);
    assert_eq!(open(&a), 0);
    feed(&mut q, &mut mgr, &v, &m);
    assert_eq!(open(&a), 2);
    q.stop(&mut mgr);
}

#[test]
fn a_lost_heartbeat_chain_cancels_at_the_venue_and_the_quoter_quotes_again() {
    let v = venue();
    let m = market(&v);
    set_book(&v, &m.yes, &[("0.40", "100")], &[("0.60", "100")]);
    let (a, mut mgr) = setup(&v, 35);
    let mut q = Quoter::new(cfg(), 1 << 40, None);
    q.set_markets(&mut mgr, vec![quoted(&m, "m")]);
    feed(&mut q, &mut mgr, &v, &m);
    let first = q.resting();
    assert_eq!(first.len(), 2);
    std::thread::sleep(Duration::from_millis(300));
    // Another beat of the same key starts a new chain at the venue: the quoter's next beat
    // echoes a stale id (400 `Invalid Heartbeat ID`) and its chain is lost.
    a.client.heartbeat("").unwrap();
    wait_within(
        "the quoter to see its chain lost",
        Duration::from_secs(10),
        || {
            q.tick(&mut mgr, Instant::now(), unix_s());
            q.stats.heartbeat_losses == 1
        },
    );
    for id in &first {
        assert!(a.client.order(id).unwrap().is_none(), "{id} canceled");
    }
    assert_eq!(open(&a), 0);
    // Once a beat of the new chain is accepted, the next top quotes again.
    wait_within("quotes back", Duration::from_secs(10), || {
        q.tick(&mut mgr, Instant::now(), unix_s());
        feed(&mut q, &mut mgr, &v, &m);
        open(&a) == 2
    });
    // And they stay: the new chain keeps the venue's dead-man switch from firing (500 ms).
    std::thread::sleep(Duration::from_millis(1200));
    q.tick(&mut mgr, Instant::now(), unix_s());
    assert_eq!(open(&a), 2);
    q.stop(&mut mgr);
}

#[test]
fn fills_inventory_and_pnl_equal_the_venues_ledger() {
    let v = venue();
    let m = market(&v);
    set_book(&v, &m.yes, &[("0.40", "100")], &[("0.60", "100")]);
    let (a, mut mgr) = setup(&v, 36);
    let taker = trader(&v, 37);
    fund(&v, &taker, "1000", &[(&m.yes, "200")]);
    let mut listener = listen(&v, &a);
    let cash0 = collateral(&v, &a);
    // No skew: the quotes stay a tick better than the house's levels, which have time
    // priority at their own prices.
    let mut c = cfg();
    c.skew_micro_ticks_per_share = 0;
    let mut q = Quoter::new(c, 1 << 40, None);
    q.set_markets(&mut mgr, vec![quoted(&m, "m")]);
    feed(&mut q, &mut mgr, &v, &m);
    assert_eq!(open(&a), 2);
    let pump = |q: &mut Quoter, mgr: &mut Manager, l: &mut Listener| {
        while let Ok(msg) = l.ch.messages.try_recv() {
            q.on_user(mgr, &msg);
        }
    };
    let cap = cfg().max_inventory.0;
    // The taker sells YES into the quoter's bid again and again: the YES inventory grows and
    // never passes its cap; the quoter re-quotes after each fill.
    for _ in 0..6 {
        // Quotes that ended (filled) are renewed between tops.
        q.tick(&mut mgr, Instant::now(), unix_s());
        let bid = q.reports(&mgr)[0].bid;
        let Some(("BUY", "YES", p, _)) = bid else {
            break;
        };
        let o = taker.signed(
            &m,
            m.yes,
            OrderSide::Sell,
            &p.to_string(),
            "7",
            OrderType::Fak,
        );
        let ack = taker.client.post_order(&o);
        let before = mgr.positions.get(&m.yes).shares;
        let what = format!(
            "our fill: bid {bid:?}, taker's sell {ack:?}, book {}",
            rest_book(&v, &m.yes)
        );
        wait_within(&what, Duration::from_secs(10), || {
            pump(&mut q, &mut mgr, &mut listener);
            mgr.positions.get(&m.yes).shares > before
        });
        assert!(tokens(&v, &a, &m.yes) <= cap, "YES within its cap");
        feed(&mut q, &mut mgr, &v, &m);
        assert!(tokens(&v, &a, &m.yes) <= cap);
    }
    // The taker buys YES at the quoter's ask: a SELL YES from inventory (YES is held).
    let ask = q.reports(&mgr)[0].ask;
    let Some(("SELL", "YES", p, _)) = ask else {
        panic!("a SELL of the YES held: {ask:?}");
    };
    let o = taker.signed(
        &m,
        m.yes,
        OrderSide::Buy,
        &p.to_string(),
        "5",
        OrderType::Fak,
    );
    taker.client.post_order(&o).unwrap();
    let held = mgr.positions.get(&m.yes).shares;
    wait_within("our sale", Duration::from_secs(10), || {
        pump(&mut q, &mut mgr, &mut listener);
        mgr.positions.get(&m.yes).shares < held
    });
    // Trades confirm within ~50 ms; the channel's last events then settle.
    std::thread::sleep(Duration::from_millis(400));
    pump(&mut q, &mut mgr, &mut listener);
    feed(&mut q, &mut mgr, &v, &m);
    let r = q.reports(&mgr).remove(0);
    assert!(r.fills >= 2, "{r:?}");
    // Inventory: the venue's token balances.
    assert_eq!(r.yes.0, tokens(&v, &a, &m.yes));
    assert_eq!(r.no.0, tokens(&v, &a, &m.no));
    // Cash: what the venue's ledger moved equals the cost basis and realized PnL (makers pay
    // no fee): cash0 − cash = cost of what is held − realized.
    let y = mgr.positions.get(&m.yes);
    let n = mgr.positions.get(&m.no);
    let spent = i128::from(cash0) - i128::from(collateral(&v, &a));
    assert_eq!(spent, y.cost + n.cost - r.realized, "{r:?}");
    assert_eq!(r.fees, 0);
    assert!(r.realized > 0, "bought under mid, sold over it: {r:?}");
    assert!(r.captured_per_share() > 0);
    q.stop(&mut mgr);
}
