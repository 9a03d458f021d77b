//! The order journal in SQLite (through the storage writer) against the local venue:
//! an order journaled as sent survives a restart and is reconciled by hash, never resent;
//! the user channel drives the order state machine (partial fills, MATCHED → MINED →
//! CONFIRMED, a FAILED trade undone) and fills and positions land in the database; an order
//! re-signed after a version change is stored as a second attempt of the same leg.

use std::path::Path;
use std::time::{Duration, Instant};

use polyarb::adapters::polymarket::http::clob::Filter;
use polyarb::adapters::polymarket::signing::{OrderSide, OrderType};
use polyarb::adapters::polymarket::ws::user::UserMessage;
use polyarb::adapters::polymarket::ws::user_events::{TradeStatus, UserEvent};
use polyarb::core::{Price, Size};
use polyarb::exec::journal::OrderJournal;
use polyarb::exec::journal_db::StorageJournal;
use polyarb::exec::manager::{ExecConfig, OrderManager, SubmitOutcome};
use polyarb::exec::order::OrderState;
use polyarb::storage::{StorageConfig, WriterHandle};
use rusqlite::Connection;
use testkit::ScratchDir;

use testkit::wait_within;
use venue_testkit::trading::*;

fn storage(dir: &ScratchDir) -> StorageConfig {
    StorageConfig {
        path: dir.path().join("trading.db"),
        ..StorageConfig::default()
    }
}

fn open(cfg: &StorageConfig) -> (WriterHandle, StorageJournal) {
    let (writer, tx) = WriterHandle::spawn(cfg).expect("storage");
    let j = StorageJournal::open(tx, &cfg.path, Duration::from_secs(5)).expect("journal");
    (writer, j)
}

/// Rows of a query, each as strings.
fn rows(path: &Path, sql: &str) -> Vec<Vec<String>> {
    let c = Connection::open(path).unwrap();
    let mut st = c.prepare(sql).unwrap();
    let n = st.column_count();
    st.query_map([], |r| {
        (0..n)
            .map(|i| {
                Ok(match r.get_ref(i)? {
                    rusqlite::types::ValueRef::Integer(v) => v.to_string(),
                    rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into(),
                    rusqlite::types::ValueRef::Null => "NULL".into(),
                    other => format!("{other:?}"),
                })
            })
            .collect()
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

/// Feeds user-channel messages to the manager until `done` holds for an event (10 s at most).
fn pump<J: OrderJournal>(
    mgr: &mut OrderManager<J>,
    l: &Listener,
    what: &str,
    done: impl Fn(&UserEvent, &OrderManager<J>) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let msg =
            l.ch.messages
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("timed out waiting for {what}"));
        mgr.on_user(&msg);
        if let UserMessage::Event(e) = &msg
            && done(e, mgr)
        {
            return;
        }
    }
}

fn confirmed(e: &UserEvent) -> bool {
    matches!(e, UserEvent::Trade(t) if t.status == TradeStatus::Confirmed)
}

#[test]
fn an_order_journaled_as_sent_is_reconciled_by_hash_after_a_restart_not_resent() {
    let v = venue();
    let m = market(&v);
    set_book(&v, &m.yes, &[("0.30", "100")], &[("0.70", "100")]);
    let a = trader(&v, 21);
    let dir = ScratchDir::new("journal-restart");
    let cfg = storage(&dir);
    let (writer, mut journal) = open(&cfg);
    // Before the "crash": two legs journaled as sent; only the first reached the venue.
    let sent = signed_buy(&a, &m, "0.45", "10");
    let lost = signed_buy(&a, &m, "0.46", "10");
    for (oid, p) in [(1u64, &sent), (2, &lost)] {
        journal.record_intent(&sent_entry(77, oid, p, &m)).unwrap();
    }
    a.client.post_order(&sent).unwrap();
    drop(journal);
    writer.shutdown().unwrap();

    // After it: a new writer, journal and manager on the same database.
    let (writer, journal) = open(&cfg);
    assert_eq!(journal.unknown().unwrap().len(), 2);
    let mut mgr = OrderManager::new(a.client.clone(), journal, ExecConfig::default());
    let requests = a.client.stats().requests;
    let rep = mgr.reconcile();
    assert_eq!((rep.checked, rep.resolved), (2, 2));
    assert_eq!(mgr.order(&sent.order_id).unwrap().state, OrderState::Live);
    assert_eq!(
        mgr.order(&lost.order_id).unwrap().state,
        OrderState::Rejected
    );
    assert_eq!(mgr.stats.resent_same_hash, 0);
    // Only look-ups went out (GET /data/order, GET /data/trades), never a POST.
    let open_orders = a.client.open_orders(&Filter::default()).unwrap();
    assert_eq!(open_orders.len(), 1);
    assert_eq!(open_orders[0].id, sent.order_id);
    assert!(a.client.stats().requests - requests <= 4);
    assert!(mgr.journal().unknown().unwrap().is_empty());
    // The same legs again (a restarted plan): nothing is sent.
    let again = mgr.submit(&[
        leg(77, 1, &m, "0.45", "10", OrderType::Gtc),
        leg(77, 2, &m, "0.46", "10", OrderType::Gtc),
    ]);
    assert_eq!(
        again[0].outcome,
        SubmitOutcome::AlreadySent(OrderState::Live)
    );
    assert_eq!(
        again[1].outcome,
        SubmitOutcome::AlreadySent(OrderState::Rejected)
    );
    assert_eq!(a.client.open_orders(&Filter::default()).unwrap().len(), 1);
    writer.flush(Duration::from_secs(5)).unwrap();
    assert_eq!(
        rows(
            &cfg.path,
            "SELECT client_oid, status FROM orders ORDER BY client_oid"
        ),
        vec![vec!["1", "live"], vec!["2", "rejected"]]
    );
    let actions = rows(
        &cfg.path,
        "SELECT client_oid, action FROM order_journal ORDER BY journal_id",
    );
    assert_eq!(&actions[..2], &[vec!["1", "send"], vec!["2", "send"]]);
    assert!(actions.contains(&vec!["1".into(), "live".into()]));
    assert!(actions.contains(&vec!["2".into(), "rejected".into()]));
}

#[test]
fn the_user_channel_drives_orders_and_fills_and_positions_are_stored() {
    let v = venue();
    let m = market(&v);
    set_book(&v, &m.yes, &[("0.30", "100")], &[("0.70", "100")]);
    let a = trader(&v, 22);
    let b = trader(&v, 23);
    fund(&v, &b, "0", &[(&m.yes, "50")]);
    let dir = ScratchDir::new("journal-fills");
    let cfg = storage(&dir);
    let (writer, journal) = open(&cfg);
    let la = listen(&v, &a);
    let mut mgr = OrderManager::new(a.client.clone(), journal, ExecConfig::default());
    let r = mgr.submit(&[leg(1, 1, &m, "0.50", "20", OrderType::Gtc)]);
    assert_eq!(r[0].outcome, SubmitOutcome::Accepted(OrderState::Live));
    let id = r[0].order_id.clone().unwrap();

    // B sells 8: a partial fill, seen on the user channel.
    let sell = |size: &str| {
        let p = b
            .client
            .prepare(
                &limit(m.yes, OrderSide::Sell, "0.50", size, OrderType::Gtc),
                &m.rules,
            )
            .unwrap();
        b.client.post_order(&p).unwrap()
    };
    sell("8");
    pump(&mut mgr, &la, "the partial fill", |_, mgr| {
        mgr.order(&id).unwrap().state == OrderState::PartiallyFilled
    });
    assert_eq!(mgr.order(&id).unwrap().filled, Size(8_000_000));
    pump(&mut mgr, &la, "the first trade confirmed", |e, _| {
        confirmed(e)
    });
    sell("12");
    pump(&mut mgr, &la, "the order filled", |_, mgr| {
        mgr.order(&id).unwrap().state == OrderState::Filled
    });
    pump(&mut mgr, &la, "the second trade confirmed", |e, _| {
        confirmed(e)
    });
    assert_eq!(
        mgr.positions.get(&m.yes).shares,
        20_000_000,
        "20 YES bought"
    );
    assert_eq!(mgr.positions.get(&m.yes).cost, 10_000_000);

    // A trade that fails on chain is undone.
    v.fault(&polyarb_venue::Fault::TradeFail { count: 1 })
        .unwrap();
    let r = mgr.submit(&[leg(2, 1, &m, "0.50", "5", OrderType::Gtc)]);
    assert_eq!(r[0].outcome, SubmitOutcome::Accepted(OrderState::Live));
    sell("5");
    pump(
        &mut mgr,
        &la,
        "the failed trade",
        |e, _| matches!(e, UserEvent::Trade(t) if t.status == TradeStatus::Failed),
    );
    assert_eq!(mgr.positions.get(&m.yes).shares, 20_000_000);

    writer.flush(Duration::from_secs(5)).unwrap();
    let fills = rows(
        &cfg.path,
        "SELECT size, price, trader_side, status FROM fills ORDER BY fill_id",
    );
    assert_eq!(
        fills,
        vec![
            vec!["8000000", "500000", "MAKER", "CONFIRMED"],
            vec!["12000000", "500000", "MAKER", "CONFIRMED"],
            vec!["5000000", "500000", "MAKER", "FAILED"],
        ]
    );
    assert_eq!(
        rows(&cfg.path, "SELECT token_id, size, cost FROM positions"),
        vec![vec![
            m.yes.to_string(),
            "20000000".into(),
            "10000000".into()
        ]]
    );
    assert_eq!(
        rows(
            &cfg.path,
            &format!("SELECT status, size_matched FROM orders WHERE order_hash = '{id}'")
        ),
        vec![vec!["filled", "20000000"]]
    );
    let actions: Vec<String> = rows(
        &cfg.path,
        &format!("SELECT action FROM order_journal WHERE order_hash = '{id}' ORDER BY journal_id"),
    )
    .into_iter()
    .map(|r| r[0].clone())
    .collect();
    assert_eq!(actions[0], "send");
    for state in ["live", "partially_filled", "filled"] {
        assert!(actions.iter().any(|a| a == state), "{actions:?}");
    }
}

#[test]
fn a_leg_re_signed_for_a_new_version_is_stored_as_a_second_attempt() {
    let v = venue();
    let m = market(&v);
    set_book(&v, &m.yes, &[("0.30", "100")], &[("0.70", "100")]);
    let a = trader(&v, 24);
    let dir = ScratchDir::new("journal-version");
    let cfg = storage(&dir);
    let (writer, journal) = open(&cfg);
    v.set_order_version(3);
    let mut mgr = OrderManager::new(a.client.clone(), journal, ExecConfig::default());
    let r = mgr.submit(&[leg(5, 9, &m, "0.10", "5", OrderType::Gtc)]);
    assert_eq!(r[0].outcome, SubmitOutcome::Accepted(OrderState::Live));
    assert_eq!(mgr.stats.version_retries, 1);
    writer.flush(Duration::from_secs(5)).unwrap();
    assert_eq!(
        rows(
            &cfg.path,
            "SELECT client_oid, status FROM orders ORDER BY order_id"
        ),
        vec![vec!["9", "rejected"], vec!["9.1", "live"]]
    );
    let found = mgr.journal().find(5, 9).unwrap().unwrap();
    assert_eq!(
        (found.state, found.order_id),
        (OrderState::Live, r[0].order_id.clone().unwrap())
    );
}

#[test]
fn the_live_dispatch_stage_reconciles_then_sends_plans_through_the_sqlite_journal() {
    use polyarb::core::AssetIndex;
    use polyarb::exec::live::{Instrument, live_dispatch};
    use polyarb::pipeline::stage::Stage;
    use polyarb::strategy::{Leg, Opportunity};

    let v = venue();
    let m = market(&v);
    // YES asks 0.60, and (mirrored) NO asks 0.60.
    set_book(&v, &m.yes, &[("0.40", "100")], &[("0.60", "100")]);
    let a = trader(&v, 25);
    let dir = ScratchDir::new("journal-live");
    let cfg = storage(&dir);
    let (writer, mut journal) = open(&cfg);
    // Left by a previous run: journaled as sent, never answered (it did reach the venue).
    let before = signed_buy(&a, &m, "0.20", "5");
    journal
        .record_intent(&sent_entry(1, 1 << 8, &before, &m))
        .unwrap();
    a.client.post_order(&before).unwrap();

    let l = listen(&v, &a);
    let mgr = OrderManager::new(a.client.clone(), journal, ExecConfig::default());
    let instruments = vec![
        Some(Instrument {
            token_id: m.yes,
            rules: m.rules,
            fees: m.fees,
            settle: None,
        }),
        Some(Instrument {
            token_id: m.no,
            rules: m.rules,
            fees: m.fees,
            settle: None,
        }),
    ];
    let (mut stage, sender) = live_dispatch(
        100,
        mgr,
        instruments,
        Some(l.ch.messages.clone()),
        64,
        Default::default(),
    )
    .unwrap();
    let mut legs = [Leg::default(); polyarb::strategy::MAX_LEGS];
    legs[0] = Leg {
        asset: AssetIndex(0),
        price: Price(600_000),
    };
    legs[1] = Leg {
        asset: AssetIndex(1),
        price: Price(600_000),
    };
    stage.process(Opportunity {
        n_legs: 2,
        legs,
        size: Size(10_000_000),
        ..Opportunity::default()
    });
    let stats = sender.stats.clone();
    wait_within("both legs filled", Duration::from_secs(10), || {
        stats.filled.get() == 2
    });
    // Let the user channel's trade events reach the sender.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mgr = loop {
        std::thread::sleep(Duration::from_millis(100));
        let n = rows(
            &cfg.path,
            "SELECT COUNT(*) FROM fills WHERE status = 'CONFIRMED'",
        );
        if n[0][0] == "2" || Instant::now() > deadline {
            break sender.join().unwrap();
        }
        writer.flush(Duration::from_secs(5)).unwrap();
    };
    assert_eq!(mgr.order(&before.order_id).unwrap().state, OrderState::Live);
    assert_eq!(mgr.stats.resent_same_hash, 0);
    assert_eq!(mgr.positions.get(&m.yes).shares, 10_000_000);
    assert_eq!(mgr.positions.get(&m.no).shares, 10_000_000);
    writer.flush(Duration::from_secs(5)).unwrap();
    assert_eq!(
        rows(
            &cfg.path,
            "SELECT plan_id, client_oid, order_type, status FROM orders ORDER BY order_id"
        ),
        vec![
            vec!["1", "256", "GTC", "live"],
            // A leg's client id: the plan id above 16 bits naming the leg.
            vec!["100", "6553600", "FOK", "filled"],
            vec!["100", "6553601", "FOK", "filled"],
        ]
    );
    assert_eq!(
        rows(
            &cfg.path,
            "SELECT COUNT(*) FROM fills WHERE status = 'CONFIRMED'"
        ),
        vec![vec!["2"]]
    );
    assert_eq!(
        rows(&cfg.path, "SELECT size FROM positions ORDER BY token_id").len(),
        2
    );
}

#[test]
fn nothing_leaves_that_the_database_did_not_take() {
    let v = venue();
    let m = market(&v);
    set_book(&v, &m.yes, &[("0.30", "100")], &[("0.70", "100")]);
    let a = trader(&v, 26);
    let dir = ScratchDir::new("journal-refusals");
    let cfg = storage(&dir);
    let (writer, journal) = open(&cfg);
    let mut mgr = OrderManager::new(a.client.clone(), journal, ExecConfig::default());
    // The same leg twice in one batch (two prices, two hashes): the database keeps the client
    // ids unique, so the second is refused before anything is sent.
    let r = mgr.submit(&[
        leg(3, 1, &m, "0.10", "5", OrderType::Gtc),
        leg(3, 1, &m, "0.11", "5", OrderType::Gtc),
    ]);
    assert_eq!(r[0].outcome, SubmitOutcome::Accepted(OrderState::Live));
    assert!(
        matches!(&r[1].outcome, SubmitOutcome::Rejected(e) if e.to_string().contains("journal")),
        "{r:?}"
    );
    assert_eq!(a.client.open_orders(&Filter::default()).unwrap().len(), 1);
    // A stopped writer: the order cannot be journaled, so it is not sent.
    writer.shutdown().unwrap();
    let requests = a.client.stats().requests;
    let r = mgr.submit(&[leg(4, 1, &m, "0.12", "5", OrderType::Gtc)]);
    assert!(matches!(r[0].outcome, SubmitOutcome::Rejected(_)), "{r:?}");
    assert_eq!(a.client.stats().requests, requests, "nothing sent");
    assert_eq!(mgr.stats.journal_errors, 2);
}

#[test]
fn taker_fees_and_realized_pnl_are_journaled() {
    // Fee schedule r = 0.25, e = 2 on every synthetic market.
    let v = fee_venue();
    let m = market(&v);
    set_book(&v, &m.yes, &[("0.40", "100")], &[("0.50", "100")]);
    let a = trader(&v, 24);
    let dir = ScratchDir::new("journal-fees");
    let cfg = storage(&dir);
    let (writer, journal) = open(&cfg);
    let la = listen(&v, &a);
    let mut mgr = OrderManager::new(a.client.clone(), journal, ExecConfig::default());
    // BUY 10 @0.50 as taker: fee 10 × 0.25 × 0.25² = 0.15625.
    let r = mgr.submit(&[leg(1, 1, &m, "0.50", "10", OrderType::Fok)]);
    assert_eq!(r[0].outcome, SubmitOutcome::Accepted(OrderState::Filled));
    pump(&mut mgr, &la, "the buy confirmed", |e, _| confirmed(e));
    // SELL 10 @0.60 as taker: fee 10 × 0.25 × 0.24² = 0.144.
    set_book(&v, &m.yes, &[("0.60", "100")], &[("0.70", "100")]);
    let mut sell = leg(2, 1, &m, "0.60", "10", OrderType::Fok);
    sell.request.side = OrderSide::Sell;
    let r = mgr.submit(&[sell]);
    assert_eq!(r[0].outcome, SubmitOutcome::Accepted(OrderState::Filled));
    pump(&mut mgr, &la, "the sell confirmed", |e, _| {
        matches!(e, UserEvent::Trade(t) if t.status == TradeStatus::Confirmed
            && t.side == OrderSide::Sell)
    });
    writer.flush(Duration::from_secs(5)).unwrap();
    assert_eq!(
        rows(
            &cfg.path,
            "SELECT fee, trader_side FROM fills ORDER BY fill_id"
        ),
        vec![vec!["156250", "TAKER"], vec!["144000", "TAKER"]]
    );
    // Realized: 6 − 0.144 − (5 + 0.15625) = 0.69975.
    let p = mgr.journal().positions().unwrap();
    assert_eq!(p.len(), 1);
    assert_eq!(
        (p[0].size, p[0].cost, p[0].realized_pnl, p[0].fees),
        (0, 0, 699_750, 300_250)
    );
    assert_eq!(collateral(&v, &a), 1_000_000_000 + 699_750);
}
