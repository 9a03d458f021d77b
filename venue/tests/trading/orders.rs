//! Full order round trips against the local venue over loopback: real API keys (L1), signed
//! orders (EIP-712), L2 HMAC headers, the CLOB client, the user channel, the order manager.
//!
//! Limit orders rest and fill (also across outcomes: a mint); FOK kills; FAK fills partly and
//! cancels the rest; a batch of 20 goes as 15 + 5; cancel-all; an order whose answer timed out
//! is found by hash and never sent twice; tampered signatures, HMACs and stale timestamps are
//! refused with the venue's errors; a version change is handled by re-signing once; 429s are
//! respected; the heartbeat switch cancels; a restart reconciles the journal.

use std::time::Duration;

use polyarb::adapters::polymarket::http::clob::{
    AckStatus, AssetType, ClobError, Filter, fetch_version,
};
use polyarb::adapters::polymarket::signing::{OrderSide, OrderType};
use polyarb::adapters::polymarket::ws::user_events::{
    OrderEventKind, OrderEventStatus, TradeStatus, UserEvent,
};
use polyarb::core::{Amount, Price, Size};
use polyarb::exec::journal::{MemoryJournal, OrderJournal};
use polyarb::exec::manager::{ExecConfig, NewOrder, OrderManager, SubmitOutcome};
use polyarb::exec::order::OrderState;

use testkit::wait_within;
use venue_testkit::trading::*;
use venue_testkit::wire::agent;

fn is_order(e: &UserEvent, id: &str, kind: OrderEventKind) -> bool {
    matches!(e, UserEvent::Order(o) if o.id == id && o.kind == kind)
}

fn is_trade(e: &UserEvent, status: TradeStatus, taker: bool) -> bool {
    matches!(e, UserEvent::Trade(t) if t.status == status && t.taker == taker)
}

#[test]
fn a_limit_order_rests_then_fills_and_every_channel_says_so() {
    let v = venue();
    let m = market(&v);
    set_book(&v, &m.yes, &[("0.40", "100")], &[("0.60", "100")]);
    let a = trader(&v, 1);
    let b = trader(&v, 2);
    fund(&v, &b, "0", &[(&m.yes, "20")]);
    let mut la = listen(&v, &a);
    let mut lb = listen(&v, &b);
    let mut market_ws = venue_testkit::wire::MarketClient::connect(&v.ws_url());
    market_ws.subscribe(&[m.yes.to_string(), m.no.to_string()]);
    market_ws.sync();

    // A bids 10 @ 0.50 inside the spread: it rests, on both outcomes' books.
    let p = signed_buy(&a, &m, "0.50", "10");
    let ack = a.client.post_order(&p).unwrap();
    assert_eq!(
        (ack.status, ack.order_id.as_str()),
        (AckStatus::Live, p.order_id.as_str())
    );
    assert_eq!(level(&rest_book(&v, &m.yes), "bids", "0.5"), "10");
    assert_eq!(level(&rest_book(&v, &m.no), "asks", "0.5"), "10");
    la.wait("A's placement", |e| {
        is_order(e, &p.order_id, OrderEventKind::Placement)
    });
    assert_eq!(collateral(&v, &a), 1_000_000_000);
    let open = a.client.open_orders(&Filter::default()).unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(
        (open[0].id.as_str(), open[0].status.as_str()),
        (p.order_id.as_str(), "LIVE")
    );

    // B sells 10 @ 0.50: A's order is the best bid, and fills completely.
    let q = b.signed(&m, m.yes, OrderSide::Sell, "0.50", "10", OrderType::Gtc);
    let ack = b.client.post_order(&q).unwrap();
    assert_eq!(ack.status, AckStatus::Matched);
    assert_eq!((ack.making, ack.taking), (10_000_000, 5_000_000));
    assert_eq!(ack.trade_ids.len(), 1);

    let upd = la.wait("A's fill", |e| {
        is_order(e, &p.order_id, OrderEventKind::Update)
    });
    let UserEvent::Order(upd) = upd else {
        unreachable!()
    };
    assert_eq!(upd.status, OrderEventStatus::Matched);
    assert_eq!(upd.size_matched, Size(10_000_000));
    la.wait("A's trade as maker, confirmed", |e| {
        is_trade(e, TradeStatus::Confirmed, false)
    });
    lb.wait("B's trade as taker, mined", |e| {
        is_trade(e, TradeStatus::Mined, true)
    });
    let t = lb.wait("B's trade confirmed", |e| {
        is_trade(e, TradeStatus::Confirmed, true)
    });
    let UserEvent::Trade(t) = t else {
        unreachable!()
    };
    assert_eq!(
        (t.size, t.price, t.side),
        (Size(10_000_000), Price(500_000), OrderSide::Sell)
    );
    assert_eq!(t.maker_orders[0].order_id, p.order_id);
    assert_eq!(t.id, ack.trade_ids[0]);

    assert_eq!(collateral(&v, &a), 995_000_000);
    assert_eq!(tokens(&v, &a, &m.yes), 10_000_000);
    // Every new account starts with the venue's initial 1000 pUSD.
    assert_eq!(collateral(&v, &b), 1_005_000_000);
    assert_eq!(tokens(&v, &b, &m.yes), 10_000_000);
    let bal = b.client.balance_allowance(&AssetType::Collateral).unwrap();
    assert_eq!(bal.balance_micros(), Some(1_005_000_000));
    assert_eq!(level(&rest_book(&v, &m.yes), "bids", "0.5"), "0");
    assert!(a.client.open_orders(&Filter::default()).unwrap().is_empty());
    let trades = a.client.trades(&Filter::default()).unwrap();
    assert_eq!((trades.len(), trades[0].trader_side.as_str()), (1, "MAKER"));

    // The market channel told every subscriber: its books equal the venue's.
    market_ws.sync();
    let venue_books =
        venue_testkit::wire::Http::new(&v).venue_books(&[m.yes.to_string(), m.no.to_string()]);
    let mut ours = market_ws.book_values();
    ours.retain(|b| venue_books.iter().any(|x| x["asset_id"] == b["asset_id"]));
    for (x, y) in ours.iter().zip(&venue_books) {
        assert_eq!((&x["bids"], &x["asks"]), (&y["bids"], &y["asks"]));
    }
    assert!(
        market_ws
            .frames
            .iter()
            .any(|f| f.contains("last_trade_price"))
    );
}

#[test]
fn a_yes_buyer_and_a_no_buyer_match_by_minting() {
    let v = venue();
    let m = market(&v);
    set_book(&v, &m.yes, &[("0.30", "50")], &[("0.70", "50")]);
    let a = trader(&v, 3);
    let b = trader(&v, 4);
    let p = signed_buy(&a, &m, "0.45", "10");
    assert_eq!(a.client.post_order(&p).unwrap().status, AckStatus::Live);
    // A NO bid at 0.55 is a YES ask at 0.45: they meet, and 10 YES + 10 NO are minted.
    let q = b.signed(&m, m.no, OrderSide::Buy, "0.55", "10", OrderType::Gtc);
    let ack = b.client.post_order(&q).unwrap();
    assert_eq!(ack.status, AckStatus::Matched);
    assert_eq!(
        (tokens(&v, &a, &m.yes), tokens(&v, &b, &m.no)),
        (10_000_000, 10_000_000)
    );
    assert_eq!(collateral(&v, &a), 1_000_000_000 - 4_500_000);
    assert_eq!(collateral(&v, &b), 1_000_000_000 - 5_500_000);
    let tr = b.client.trades(&Filter::default()).unwrap();
    assert_eq!(tr[0].maker_orders[0].order_id, p.order_id);
    assert_eq!(tr[0].maker_orders[0].outcome, "Yes");
    assert_eq!(
        (tr[0].outcome.as_str(), tr[0].price.as_str()),
        ("No", "0.55")
    );
}

#[test]
fn fok_kills_and_fak_fills_partly_then_cancels_the_rest() {
    let v = venue();
    let m = market(&v);
    set_book(&v, &m.yes, &[("0.40", "100")], &[("0.60", "100")]);
    let a = trader(&v, 5);
    let mut la = listen(&v, &a);

    // FOK for 150 where only 100 are offered at or under 0.60: killed, nothing moves.
    let p = a.signed(&m, m.yes, OrderSide::Buy, "0.60", "150", OrderType::Fok);
    assert!(matches!(
        a.client.post_order(&p),
        Err(ClobError::FokNotFilled(_))
    ));
    let killed = la.wait("the FOK's cancellation", |e| {
        is_order(e, &p.order_id, OrderEventKind::Cancellation)
    });
    let UserEvent::Order(killed) = killed else {
        unreachable!()
    };
    assert!(matches!(
        killed.status,
        OrderEventStatus::CanceledBecause(_)
    ));
    assert_eq!(collateral(&v, &a), 1_000_000_000);
    assert_eq!(level(&rest_book(&v, &m.yes), "asks", "0.6"), "100");

    // FAK for 150: takes the 100 offered, the rest is canceled.
    let mut mgr = OrderManager::new(
        a.client.clone(),
        MemoryJournal::new(),
        ExecConfig::default(),
    );
    let r = mgr.submit(&[leg(1, 1, &m, "0.60", "150", OrderType::Fak)]);
    assert_eq!(r[0].outcome, SubmitOutcome::Accepted(OrderState::Canceled));
    let id = r[0].order_id.clone().unwrap();
    let o = mgr.order(&id).unwrap();
    assert_eq!(o.filled, Size(100_000_000));
    la.wait("the FAK's rest canceled", |e| {
        is_order(e, &id, OrderEventKind::Cancellation)
    });
    assert_eq!(collateral(&v, &a), 1_000_000_000 - 60_000_000);
    assert_eq!(tokens(&v, &a, &m.yes), 100_000_000);
    assert_eq!(balances(&v, &a)["collateral"]["reserved"], 0);
    assert!(rest_book(&v, &m.yes)["asks"].as_array().unwrap().is_empty());
    // A FAK that finds nothing at all is refused.
    let q = a.signed(&m, m.yes, OrderSide::Buy, "0.60", "10", OrderType::Fak);
    assert!(matches!(
        a.client.post_order(&q),
        Err(ClobError::FakNoMatch(_))
    ));
}

#[test]
fn a_batch_of_20_goes_as_15_plus_5_and_cancel_all_clears_it() {
    let v = venue();
    let m = market(&v);
    set_book(&v, &m.yes, &[("0.30", "10")], &[("0.70", "10")]);
    let a = trader(&v, 6);
    let mut mgr = OrderManager::new(
        a.client.clone(),
        MemoryJournal::new(),
        ExecConfig::default(),
    );
    let batch: Vec<NewOrder> = (1..=20)
        .map(|i| NewOrder {
            plan_id: 9,
            client_oid: i,
            request: limit(
                m.yes,
                OrderSide::Buy,
                &format!("0.{i:02}"),
                "5",
                OrderType::Gtc,
            ),
            rules: m.rules,
            fees: m.fees,
        })
        .collect();
    let before = a.client.stats().requests;
    let r = mgr.submit(&batch);
    assert_eq!(
        a.client.stats().requests - before,
        2,
        "one POST /orders of 15, one of 5"
    );
    assert!(
        r.iter()
            .all(|x| x.outcome == SubmitOutcome::Accepted(OrderState::Live)),
        "{r:?}"
    );
    assert_eq!(a.client.open_orders(&Filter::default()).unwrap().len(), 20);
    assert_eq!(level(&rest_book(&v, &m.yes), "bids", "0.2"), "5");
    // The same plan again sends nothing.
    let again = mgr.submit(&batch[..3]);
    assert!(
        again
            .iter()
            .all(|x| matches!(x.outcome, SubmitOutcome::AlreadySent(_)))
    );
    assert_eq!(mgr.cancel_all().unwrap(), 20);
    assert!(a.client.open_orders(&Filter::default()).unwrap().is_empty());
    assert!(mgr.orders().all(|o| o.state == OrderState::Canceled));
    assert_eq!(level(&rest_book(&v, &m.yes), "bids", "0.2"), "0");
    assert_eq!(balances(&v, &a)["collateral"]["reserved"], 0);
}

#[test]
fn an_order_whose_answer_timed_out_is_found_by_hash_and_not_sent_twice() {
    let v = venue();
    let m = market(&v);
    set_book(&v, &m.yes, &[("0.40", "100")], &[("0.60", "100")]);
    let a = trader_with(&v, 7, |c| c.timeout = Duration::from_millis(400));
    v.fault(&polyarb_venue::Fault::OrderDelay {
        delay_ms: 2_000,
        count: 1,
    })
    .unwrap();
    let journal = MemoryJournal::new();
    let mut mgr = OrderManager::new(a.client.clone(), journal.clone(), ExecConfig::default());
    let order = leg(42, 42 << 8, &m, "0.60", "10", OrderType::Fok);
    let r = mgr.submit(std::slice::from_ref(&order));
    assert_eq!(
        r[0].outcome,
        SubmitOutcome::Accepted(OrderState::Filled),
        "{r:?}"
    );
    assert_eq!(mgr.stats.unknown, 1, "the answer was lost");
    assert_eq!(mgr.stats.resolved_by_lookup, 1);
    assert_eq!(mgr.stats.resent_same_hash, 0, "found by hash: never resent");
    let trades = a.client.trades(&Filter::default()).unwrap();
    assert_eq!(trades.len(), 1, "one fill, one order");
    assert_eq!(tokens(&v, &a, &m.yes), 10_000_000);
    let e = journal.entries();
    assert_eq!((e.len(), e[0].state), (1, OrderState::Filled));
    // A retry of the same leg (a restart re-running the plan) sends nothing.
    let again = mgr.submit(&[order]);
    assert_eq!(
        again[0].outcome,
        SubmitOutcome::AlreadySent(OrderState::Filled)
    );
    assert_eq!(a.client.trades(&Filter::default()).unwrap().len(), 1);
}

#[test]
fn a_restart_reconciles_what_the_journal_left_unknown() {
    let v = venue();
    let m = market(&v);
    set_book(&v, &m.yes, &[("0.40", "100")], &[("0.60", "100")]);
    let a = trader(&v, 8);
    let journal = MemoryJournal::new();
    // Before the "crash": one order journaled and sent (its answer lost), one journaled only.
    let sent = signed_buy(&a, &m, "0.45", "10");
    let lost = signed_buy(&a, &m, "0.46", "10");
    for (i, p) in [&sent, &lost].into_iter().enumerate() {
        let mut j = journal.clone();
        j.record_intent(&sent_entry(5, i as u64, p, &m)).unwrap();
    }
    a.client.post_order(&sent).unwrap();
    // After it: a new manager on the same journal settles both.
    let mut mgr = OrderManager::new(a.client.clone(), journal.clone(), ExecConfig::default());
    let rep = mgr.reconcile();
    assert_eq!((rep.checked, rep.resolved), (2, 2));
    assert_eq!(mgr.order(&sent.order_id).unwrap().state, OrderState::Live);
    assert_eq!(
        mgr.order(&lost.order_id).unwrap().state,
        OrderState::Rejected
    );
    assert!(journal.unknown().unwrap().is_empty());
}

/// Sends a raw `POST /order` with headers made by `headers`.
fn raw_post(
    v: &polyarb_venue::VenueHandle,
    body: &[u8],
    headers: &[(&str, String)],
) -> (u16, String) {
    let mut req = agent()
        .post(format!("{}/order", v.http_url()))
        .header("Content-Type", "application/json");
    for (k, val) in headers {
        req = req.header(*k, val.as_str());
    }
    let mut r = req.send(body).unwrap();
    (r.status().as_u16(), r.body_mut().read_to_string().unwrap())
}

#[test]
fn tampered_signatures_hmacs_and_stale_or_foreign_orders_are_refused() {
    use polyarb::adapters::polymarket::signing::{
        L2Signer, OrderSigner, PostOrder, ProtocolVersion, SignatureType,
    };
    let v = venue();
    let m = market(&v);
    let a = trader(&v, 9);
    let l2 = L2Signer::new(&a.creds, a.key.address()).unwrap();
    let now = polyarb::obs::clock::unix_ms() / 1000;
    let hdrs = |ts: u64, body: &[u8]| -> Vec<(&'static str, String)> {
        l2.headers(ts, "POST", "/order", body)
            .pairs()
            .iter()
            .map(|(k, v)| (*k, v.to_string()))
            .collect()
    };
    let req = limit(m.yes, OrderSide::Buy, "0.20", "5", OrderType::Gtc);
    let body_for = |protocol: ProtocolVersion, neg_risk: bool| -> Vec<u8> {
        let s = OrderSigner::new(a.key.clone(), protocol, SignatureType::Eoa, None).unwrap();
        let mut rules = m.rules;
        rules.neg_risk = neg_risk;
        let signed = s.create_order(&req, &rules).unwrap();
        let mut b = Vec::new();
        PostOrder {
            signed: &signed,
            schema: s.protocol().schema,
            owner: &a.creds.api_key,
            order_type: OrderType::Gtc,
            post_only: false,
            defer_exec: false,
        }
        .write_json(&mut b);
        b
    };
    let err = |r: (u16, String)| -> (u16, String) {
        let v: serde_json::Value = serde_json::from_str(&r.1).unwrap_or_else(|_| panic!("{}", r.1));
        (r.0, v["error"].as_str().unwrap_or("").to_string())
    };
    let good = body_for(ProtocolVersion::v2(), false);
    // A flipped signature byte, and a field changed after signing.
    let text = String::from_utf8(good.clone()).unwrap();
    let sig_at = text.find("\"signature\":\"0x").unwrap() + 20;
    let mut flipped = good.clone();
    flipped[sig_at] = if flipped[sig_at] == b'a' { b'b' } else { b'a' };
    assert_eq!(
        err(raw_post(&v, &flipped, &hdrs(now, &flipped))),
        (400, "invalid signature".into())
    );
    let changed = text.replacen(
        "\"makerAmount\":\"1000000\"",
        "\"makerAmount\":\"1000001\"",
        1,
    );
    assert_ne!(changed, text);
    let changed = changed.into_bytes();
    assert_eq!(
        err(raw_post(&v, &changed, &hdrs(now, &changed))),
        (400, "invalid signature".into())
    );
    // Signed for the neg-risk exchange on a standard market.
    let wrong_ex = body_for(ProtocolVersion::v2(), true);
    assert_eq!(
        err(raw_post(&v, &wrong_ex, &hdrs(now, &wrong_ex))),
        (400, "invalid signature".into())
    );
    // Signed for V1 (no timestamp) and for V3: the venue wants V2.
    for other in [1u8, 3] {
        let b = body_for(ProtocolVersion::known(other, 137).unwrap(), false);
        assert_eq!(
            err(raw_post(&v, &b, &hdrs(now, &b))),
            (400, "order_version_mismatch".into()),
            "version {other}"
        );
    }
    // HMAC over other bytes, a stale timestamp, a wrong passphrase: all 401.
    assert_eq!(err(raw_post(&v, &good, &hdrs(now, b"{}"))).0, 401);
    assert_eq!(
        err(raw_post(&v, &good, &hdrs(now - 3_600, &good))),
        (401, "Unauthorized/Invalid api key".into())
    );
    let mut bad_pass = hdrs(now, &good);
    bad_pass
        .iter_mut()
        .find(|h| h.0 == "POLY_PASSPHRASE")
        .unwrap()
        .1 = "nope".into();
    assert_eq!(err(raw_post(&v, &good, &bad_pass)).0, 401);
    // Another key's order under this key; garbage; then the untouched body is accepted.
    let b = trader(&v, 10);
    let foreign = {
        let s = OrderSigner::new(
            b.key.clone(),
            ProtocolVersion::v2(),
            SignatureType::Eoa,
            None,
        )
        .unwrap();
        let signed = s.create_order(&req, &m.rules).unwrap();
        let mut out = Vec::new();
        PostOrder {
            signed: &signed,
            schema: s.protocol().schema,
            owner: &a.creds.api_key,
            order_type: OrderType::Gtc,
            post_only: false,
            defer_exec: false,
        }
        .write_json(&mut out);
        out
    };
    assert_eq!(
        err(raw_post(&v, &foreign, &hdrs(now, &foreign))),
        (
            400,
            "the order signer address has to be the address of the API KEY".into()
        )
    );
    for junk in [&b"{\"order\":"[..], b"[1,2]", b"\xff\xfe"] {
        let r = err(raw_post(&v, junk, &hdrs(now, junk)));
        assert_eq!(r.0, 400, "{r:?}");
    }
    let (status, text) = raw_post(&v, &good, &hdrs(now, &good));
    assert_eq!(status, 200, "{text}");
    // A bad L1 signature cannot make keys.
    let mut r = agent()
        .post(format!("{}/auth/api-key", v.http_url()))
        .header("POLY_ADDRESS", a.key.address().to_checksum())
        .header("POLY_SIGNATURE", format!("0x{}", "11".repeat(65)))
        .header("POLY_TIMESTAMP", now.to_string())
        .header("POLY_NONCE", "0")
        .send_empty()
        .unwrap();
    assert_eq!(
        r.status().as_u16(),
        401,
        "{}",
        r.body_mut().read_to_string().unwrap()
    );
}

#[test]
fn a_version_change_is_handled_by_re_signing_once() {
    let v = venue();
    let m = market(&v);
    let a = trader(&v, 11);
    assert_eq!(a.client.version(), 2);
    v.set_order_version(3);
    assert_eq!(
        fetch_version(&v.http_url(), Duration::from_secs(5)).unwrap(),
        3
    );
    let mut mgr = OrderManager::new(
        a.client.clone(),
        MemoryJournal::new(),
        ExecConfig::default(),
    );
    let r = mgr.submit(&[leg(1, 1, &m, "0.10", "5", OrderType::Gtc)]);
    assert_eq!(
        r[0].outcome,
        SubmitOutcome::Accepted(OrderState::Live),
        "{r:?}"
    );
    assert_eq!((mgr.stats.version_retries, a.client.version()), (1, 3));
    // The V2 attempt is journaled as refused, the V3 one as live: two hashes, one order.
    let states: Vec<OrderState> = mgr.journal().entries().iter().map(|e| e.state).collect();
    assert_eq!(states, vec![OrderState::Rejected, OrderState::Live]);
    assert_eq!(a.client.open_orders(&Filter::default()).unwrap().len(), 1);
}

#[test]
fn rate_limits_are_respected_locally_after_a_429() {
    let v = venue();
    let m = market(&v);
    let a = trader(&v, 12);
    v.fault(&polyarb_venue::Fault::OrderFail {
        count: 1,
        status: 429,
        retry_after_s: 1,
    })
    .unwrap();
    let p = signed_buy(&a, &m, "0.10", "5");
    match a.client.post_order(&p) {
        Err(ClobError::RateLimited { retry_after, local }) => {
            assert_eq!((retry_after, local), (Duration::from_secs(1), false))
        }
        other => panic!("{other:?}"),
    }
    let sent = a.client.stats().requests;
    match a.client.post_order(&p) {
        Err(ClobError::RateLimited { local, .. }) => assert!(local),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        a.client.stats().requests,
        sent,
        "nothing sent before Retry-After"
    );
    // Queries are another class: not blocked.
    assert!(a.client.open_orders(&Filter::default()).unwrap().is_empty());
    let mut ok = None;
    wait_within("Retry-After to pass", Duration::from_secs(5), || {
        ok = a.client.post_order(&p).ok();
        ok.is_some()
    });
    assert_eq!(ok.unwrap().status, AckStatus::Live);
}

#[test]
fn the_heartbeat_switch_cancels_a_silent_owners_orders() {
    use polyarb::adapters::polymarket::http::clob::heartbeat::Heartbeat;
    let v = venue();
    let m = market(&v);
    set_book(&v, &m.yes, &[("0.05", "100")], &[("0.95", "100")]);
    let a = trader(&v, 13);
    let mut hb = Heartbeat::start(a.client.clone(), Duration::from_millis(100)).unwrap();
    let p = signed_buy(&a, &m, "0.10", "5");
    a.client.post_order(&p).unwrap();
    wait_within("five heartbeats", Duration::from_secs(10), || {
        hb.stats.sent.load(std::sync::atomic::Ordering::Relaxed) >= 5
    });
    assert_eq!(a.client.order(&p.order_id).unwrap().unwrap().status, "LIVE");
    hb.stop();
    // Production answers `GET /data/order/{id}` for open orders only: a canceled one is null.
    wait_within("the dead-man switch", Duration::from_secs(10), || {
        a.client.order(&p.order_id).unwrap().is_none()
    });
    assert_eq!(level(&rest_book(&v, &m.yes), "bids", "0.1"), "0");
}

#[test]
fn the_recorded_user_channel_fixtures_parse_and_the_venue_speaks_their_shape() {
    use polyarb::adapters::polymarket::ws::user_events::parse_frame;
    let mut n = 0;
    for entry in std::fs::read_dir(testkit::fixtures::dir()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().to_string();
        if !name.starts_with("ws_user_") {
            continue;
        }
        let text = std::fs::read_to_string(testkit::fixtures::path(&name)).unwrap();
        let evs = parse_frame(&text).unwrap();
        assert_eq!(evs.len(), 1, "{name}");
        let ev = evs[0].clone().unwrap_or_else(|e| panic!("{name}: {e}"));
        n += 1;
        if name == "ws_user_trade_taker_multi_maker_real.json" {
            let UserEvent::Trade(t) = &ev else { panic!() };
            assert_eq!(
                (t.status.clone(), t.size),
                (TradeStatus::Mined, Size(1_096_870_000))
            );
            assert_eq!(t.maker_orders.len(), 6);
            let sum: u64 = t.maker_orders.iter().map(|m| m.matched_amount.0).sum();
            assert_eq!(sum, t.size.0, "maker amounts add up to the trade");
            assert_eq!(
                t.maker_orders[0].price,
                Price(482_000),
                "the NO maker (a mint)"
            );
        }
        if name == "ws_user_order_fok_killed.json" {
            let UserEvent::Order(o) = &ev else { panic!() };
            assert_eq!(o.size_matched, Size::ZERO);
            assert!(matches!(o.status, OrderEventStatus::CanceledBecause(_)));
        }
        // Every field the recording has, the venue's own events have too.
        let recorded: serde_json::Value = serde_json::from_str(&text).unwrap();
        let keys: Vec<String> = recorded.as_object().unwrap().keys().cloned().collect();
        let venue_keys = if name.contains("_trade_") {
            VENUE_TRADE_KEYS
        } else {
            VENUE_ORDER_KEYS
        };
        for k in &keys {
            assert!(venue_keys.contains(&k.as_str()), "{name}: venue lacks {k}");
        }
    }
    assert!(n >= 9, "{n} fixtures");
}

/// The venue's user-channel fields (checked against its real events in the test below).
const VENUE_ORDER_KEYS: &[&str] = &[
    "asset_id",
    "associate_trades",
    "created_at",
    "event_type",
    "expiration",
    "id",
    "maker_address",
    "market",
    "order_owner",
    "order_type",
    "original_size",
    "outcome",
    "owner",
    "price",
    "side",
    "size_matched",
    "status",
    "timestamp",
    "type",
];
const VENUE_TRADE_KEYS: &[&str] = &[
    "asset_id",
    "bucket_index",
    "event_type",
    "fee_rate_bps",
    "id",
    "last_update",
    "maker_address",
    "maker_orders",
    "market",
    "match_time",
    "outcome",
    "owner",
    "price",
    "side",
    "size",
    "status",
    "taker_order_id",
    "timestamp",
    "trade_owner",
    "trader_side",
    "transaction_hash",
    "type",
];

#[test]
fn the_venues_user_events_have_exactly_the_listed_fields() {
    let v = venue();
    let m = market(&v);
    set_book(&v, &m.yes, &[("0.40", "100")], &[("0.60", "100")]);
    let a = trader(&v, 14);
    let (mut ws, _) = tungstenite::connect(v.user_ws_url()).unwrap();
    ws.send(tungstenite::Message::text(
        polyarb::adapters::polymarket::ws::user::UserChannelConfig::new("", a.creds.clone())
            .subscribe_message(),
    ))
    .unwrap();
    ws.send(tungstenite::Message::text("PING")).unwrap();
    assert_eq!(ws.read().unwrap().into_text().unwrap().as_str(), "PONG");
    let p = a.signed(&m, m.yes, OrderSide::Buy, "0.60", "10", OrderType::Fok);
    a.client.post_order(&p).unwrap();
    let (mut order_seen, mut trade_seen) = (false, false);
    while !(order_seen && trade_seen) {
        let text = ws.read().unwrap().into_text().unwrap();
        let v: serde_json::Value = serde_json::from_str(text.as_str()).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        let mut want: Vec<&str> = if v["event_type"] == "trade" {
            trade_seen = true;
            VENUE_TRADE_KEYS.to_vec()
        } else {
            order_seen = true;
            VENUE_ORDER_KEYS.to_vec()
        };
        let mut got = keys.clone();
        got.sort_unstable();
        want.sort_unstable();
        assert_eq!(got, want);
    }
    // Bad credentials: the venue closes the connection.
    let (mut bad, _) = tungstenite::connect(v.user_ws_url()).unwrap();
    let mut creds = a.creds.clone();
    creds.passphrase = "wrong".into();
    bad.send(tungstenite::Message::text(
        polyarb::adapters::polymarket::ws::user::UserChannelConfig::new("", creds)
            .subscribe_message(),
    ))
    .unwrap();
    loop {
        match bad.read() {
            Ok(tungstenite::Message::Close(_)) | Err(_) => break,
            Ok(_) => {}
        }
    }
}

#[test]
fn a_marketable_gtc_takes_what_it_can_and_rests_the_rest() {
    let v = venue();
    let m = market(&v);
    set_book(&v, &m.yes, &[("0.40", "100")], &[("0.60", "100")]);
    let a = trader(&v, 15);
    let p = signed_buy(&a, &m, "0.60", "150");
    let ack = a.client.post_order(&p).unwrap();
    assert_eq!(ack.status, AckStatus::Live);
    assert_eq!((ack.making, ack.taking), (60_000_000, 100_000_000));
    let o = a.client.order(&p.order_id).unwrap().unwrap();
    assert_eq!(
        (o.status.as_str(), o.matched_micros(), o.original_micros()),
        ("LIVE", Some(100_000_000), Some(150_000_000))
    );
    let book = rest_book(&v, &m.yes);
    assert_eq!(level(&book, "bids", "0.6"), "50");
    assert_eq!(level(&book, "asks", "0.6"), "0");
    // What rests holds back exactly its own cost: 50 × 0.60.
    assert_eq!(balances(&v, &a)["collateral"]["reserved"], 30_000_000);
}

#[test]
fn a_taker_in_a_fee_market_pays_the_v2_fee_and_stores_it() {
    // py-clob-client-v2's vector: r = 0.25, e = 2, 100 shares @0.50 → 1.5625 pUSD.
    let v = fee_venue();
    let m = market(&v);
    assert_eq!(m.fees.map(|f| (f.rate_ppm, f.exponent)), Some((250_000, 2)));
    set_book(&v, &m.yes, &[("0.40", "100")], &[("0.50", "100")]);
    let a = trader(&v, 8);
    let mut la = listen(&v, &a);
    let journal = MemoryJournal::new();
    let mut mgr = OrderManager::new(a.client.clone(), journal.clone(), ExecConfig::default());

    // BUY 100 @0.50 FOK takes the house ask: notional 50 + fee 1.5625.
    let r = mgr.submit(&[leg(1, 1, &m, "0.50", "100", OrderType::Fok)]);
    assert_eq!(r[0].outcome, SubmitOutcome::Accepted(OrderState::Filled));
    assert_eq!(collateral(&v, &a), 1_000_000_000 - 50_000_000 - 1_562_500);
    let ev = la.wait("the buy as taker", |e| {
        is_trade(e, TradeStatus::Matched, true)
    });
    mgr.on_event(&ev);
    let fills = journal.fills();
    assert_eq!(fills.len(), 1);
    assert_eq!(fills[0].fee, Amount(1_562_500));
    assert_eq!(fills[0].trader_side.as_deref(), Some("TAKER"));
    let p = mgr.positions.get(&m.yes);
    assert_eq!(
        (p.shares, p.cost, p.fees),
        (100_000_000, 51_562_500, 1_562_500)
    );

    // SELL the 100 @0.60 into the house bid: fee 100 × 0.25 × 0.24² = 1.44; realized
    // 60 − 1.44 − 51.5625 = 6.9975.
    set_book(&v, &m.yes, &[("0.60", "100")], &[("0.70", "100")]);
    let sell = NewOrder {
        plan_id: 2,
        client_oid: 1,
        request: limit(m.yes, OrderSide::Sell, "0.60", "100", OrderType::Fok),
        rules: m.rules,
        fees: m.fees,
    };
    let r = mgr.submit(&[sell]);
    assert_eq!(r[0].outcome, SubmitOutcome::Accepted(OrderState::Filled));
    assert_eq!(
        collateral(&v, &a),
        1_000_000_000 - 51_562_500 + 60_000_000 - 1_440_000
    );
    let ev = la.wait(
        "the sell as taker",
        |e| matches!(e, UserEvent::Trade(t) if t.taker && t.side == OrderSide::Sell),
    );
    mgr.on_event(&ev);
    assert_eq!(journal.fills()[1].fee, Amount(1_440_000));
    let p = mgr.positions.get(&m.yes);
    assert_eq!((p.shares, p.cost), (0, 0));
    assert_eq!((p.realized, p.fees), (6_997_500, 3_002_500));
    // The paper balance and the stored fills agree: the venue moved notional + fee.
    assert_eq!(i128::from(collateral(&v, &a)) - 1_000_000_000, p.realized);
    let pos = journal.positions();
    assert_eq!(pos.last().unwrap().realized_pnl, 6_997_500);
    assert_eq!(mgr.stats.fees_unknown, 0);
}

/// A deposit-wallet account (signature type 3, production's flow for a new API user): maker
/// = signer = the wallet the venue made for the key's owner with its first API key, the
/// order signature wrapped in ERC-7739, the API key the owner key's. It refreshes its balance
/// once (`GET /balance-allowance/update`), then a GTC rests as the wallet's and a FOK BUY
/// spending $6 (production's 2-decimal pUSD) fills. The wallet's events reach the owner key's
/// user channel, and the positions built from them equal the wallet's ledger at the venue.
#[test]
fn a_deposit_wallet_account_trades_end_to_end() {
    use polyarb::adapters::polymarket::signing::SignatureType;
    let v = venue();
    let m = market(&v);
    set_book(&v, &m.yes, &[("0.40", "100")], &[("0.60", "100")]);
    let wallet = polyarb_venue::deposit_wallet_address(key(46).address());
    let a = trader_with(&v, 46, |c| {
        c.signature_type = SignatureType::Poly1271;
        c.funder = Some(wallet);
    });
    // The venue's own word for the wallet is the derivation's.
    let mut r = agent()
        .get(format!(
            "{}/admin/deposit-wallet?owner={}",
            v.http_url(),
            a.key.address().to_checksum()
        ))
        .call()
        .unwrap();
    let w: serde_json::Value =
        serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(w["deposit_wallet"], wallet.to_checksum().as_str(), "{w}");
    let ledger = || {
        let mut r = agent()
            .get(format!(
                "{}/admin/balances?address={}",
                v.http_url(),
                wallet.to_checksum()
            ))
            .call()
            .unwrap();
        serde_json::from_str::<serde_json::Value>(&r.body_mut().read_to_string().unwrap()).unwrap()
    };
    // The owner's first API key opened the wallet with the venue's initial 1000 pUSD.
    assert_eq!(ledger()["collateral"]["total"], 1_000_000_000u64);
    a.client
        .update_balance_allowance(&AssetType::Collateral)
        .expect("GET /balance-allowance/update");
    let bal = a.client.balance_allowance(&AssetType::Collateral).unwrap();
    assert_eq!(bal.balance_micros(), Some(1_000_000_000));
    let mut la = listen(&v, &a);

    let journal = MemoryJournal::new();
    let mut mgr = OrderManager::new(a.client.clone(), journal.clone(), ExecConfig::default());
    let rest = NewOrder {
        plan_id: 1,
        client_oid: 1,
        request: limit(m.yes, OrderSide::Buy, "0.30", "10", OrderType::Gtc),
        rules: m.rules,
        fees: m.fees,
    };
    let r = mgr.submit(&[rest]);
    assert_eq!(r[0].outcome, SubmitOutcome::Accepted(OrderState::Live));
    let id = r[0].order_id.clone().unwrap();
    assert_eq!(mgr.order(&id).unwrap().state, OrderState::Live);
    assert_eq!(level(&rest_book(&v, &m.yes), "bids", "0.3"), "10");
    la.wait("the wallet's placement", |e| {
        is_order(e, &id, OrderEventKind::Placement)
    });
    // The signed order: maker = signer = the wallet, type 3, a 636-char wrapped signature.
    let p = a.signed(&m, m.yes, OrderSide::Buy, "0.30", "10", OrderType::Gtc);
    let body: serde_json::Value = serde_json::from_slice(&p.body).unwrap();
    assert_eq!(body["order"]["signatureType"], 3);
    for k in ["maker", "signer"] {
        assert!(
            body["order"][k]
                .as_str()
                .unwrap()
                .eq_ignore_ascii_case(&wallet.to_checksum()),
            "{body}"
        );
    }
    assert_eq!(body["order"]["signature"].as_str().unwrap().len(), 636);

    let r = mgr.submit(&[leg(1, 2, &m, "0.60", "10", OrderType::Fok)]);
    assert_eq!(r[0].outcome, SubmitOutcome::Accepted(OrderState::Filled));
    let fok = r[0].order_id.clone().unwrap();
    assert_eq!(mgr.order(&fok).unwrap().filled, Size(10_000_000));
    // Positions come from the user channel only: nothing yet.
    assert_eq!(mgr.positions.get(&m.yes).shares, 0);
    la.wait("the FOK's trade, confirmed", |e| {
        is_trade(e, TradeStatus::Confirmed, true)
    });
    for e in la.seen.clone() {
        mgr.on_event(&e);
    }
    let fills = journal.fills();
    assert!(!fills.is_empty());
    assert!(
        fills
            .iter()
            .all(|f| f.order_hash == fok && f.trader_side.as_deref() == Some("TAKER")),
        "{fills:?}"
    );
    let pos = mgr.positions.get(&m.yes);
    assert_eq!(pos.shares, 10_000_000);
    // The wallet's ledger: $6 (and the fee, if any) spent, $3 held by the resting BUY, the 10
    // shares bought; the positions say the same to the micro-unit.
    let b = ledger();
    let spent = i128::from(1_000_000_000 - b["collateral"]["total"].as_u64().unwrap());
    assert_eq!(spent, pos.cost - pos.realized, "{b}");
    assert_eq!(pos.cost, 6_000_000 + pos.fees, "{b}");
    assert_eq!(b["collateral"]["reserved"], 3_000_000u64, "{b}");
    assert_eq!(
        i128::from(b["tokens"][m.yes.to_string()]["total"].as_u64().unwrap()),
        pos.shares,
        "{b}"
    );
    // The owner key's own account is untouched.
    assert_eq!(collateral(&v, &a), 1_000_000_000);
}

/// Hostile amounts never panic and never leave: each is refused locally with production's
/// reason, and counted.
#[test]
fn hostile_amounts_are_refused_locally_and_counted() {
    use polyarb::adapters::polymarket::signing::{OrderRejection, Quantity};
    let v = venue();
    let m = market(&v);
    set_book(&v, &m.yes, &[("0.40", "100")], &[("0.60", "100")]);
    let a = trader(&v, 47);
    let mut mgr = OrderManager::new(
        a.client.clone(),
        MemoryJournal::new(),
        ExecConfig::default(),
    );
    let order = |oid, q: Quantity, t: OrderType, side: OrderSide| {
        let mut request = limit(m.yes, side, "0.60", "1", t);
        request.quantity = q;
        NewOrder {
            plan_id: 9,
            client_oid: oid,
            request,
            rules: m.rules,
            fees: m.fees,
        }
    };
    let cases = [
        // $0, and less than a cent: nothing to spend once cut to 2 decimals.
        (Quantity::MarketAmount(0), OrderType::Fok, OrderSide::Buy),
        (
            Quantity::MarketAmount(9_999),
            OrderType::Fak,
            OrderSide::Buy,
        ),
        (Quantity::Shares(Size::ZERO), OrderType::Fok, OrderSide::Buy),
        (
            Quantity::Shares(Size(9_999)),
            OrderType::Gtc,
            OrderSide::Sell,
        ),
        // Amounts whose other side does not fit in 64 bits.
        (
            Quantity::MarketAmount(u64::MAX),
            OrderType::Fok,
            OrderSide::Buy,
        ),
        // Under the $1 minimum of a marketable order.
        (
            Quantity::MarketAmount(990_000),
            OrderType::Fok,
            OrderSide::Buy,
        ),
    ];
    let before = mgr.stats.rejected;
    for (k, (q, t, side)) in cases.into_iter().enumerate() {
        let r = mgr.submit(&[order(k as u64, q, t, side)]);
        match &r[0].outcome {
            SubmitOutcome::Rejected(ClobError::Local(
                OrderRejection::ZeroQuantity
                | OrderRejection::Overflow
                | OrderRejection::MarketableBelowOneDollar { .. },
            )) => {}
            other => panic!("case {k} {q:?}: {other:?}"),
        }
    }
    assert_eq!(mgr.stats.rejected - before, 6);
    assert!(
        a.client
            .open_orders(&Default::default())
            .unwrap()
            .is_empty()
    );
    assert_eq!(collateral(&v, &a), 1_000_000_000);
}

/// Production answers `GET /data/order/{id}` only for open orders; a closed order's fills are
/// read from `GET /data/trades`. A venue that does answer for a closed order (with a
/// `size_matched` the trades contradict) is not believed: the manager settles the order from
/// its trades, and an order the venue closed without a trade as canceled with nothing filled.
#[test]
fn a_closed_orders_fills_come_from_its_trades_not_its_order_record() {
    use std::sync::{Arc, Mutex};
    let v = venue();
    let m = market(&v);
    let a = trader(&v, 48);
    let filled = signed_buy(&a, &m, "0.45", "10");
    let killed = signed_buy(&a, &m, "0.44", "10");
    let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
    let url = format!("http://{}", server.server_addr().to_ip().unwrap());
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let t = {
        let (s, seen) = (server.clone(), seen.clone());
        let (f, k, token) = (
            filled.order_id.clone(),
            killed.order_id.clone(),
            m.yes.to_string(),
        );
        std::thread::spawn(move || {
            for req in s.incoming_requests() {
                let path = req.url().to_string();
                seen.lock().unwrap().push(path.clone());
                let record = |id: &str| {
                    serde_json::json!({"id": id, "status": "MATCHED", "market": "", "asset_id": token,
                        "side": "BUY", "price": "0.45", "original_size": "10", "size_matched": "999"})
                };
                let body = if path == "/version" {
                    serde_json::json!({"version": 2})
                } else if path == format!("/data/order/{f}") {
                    record(&f)
                } else if path == format!("/data/order/{k}") {
                    record(&k)
                } else if path.starts_with("/data/trades") {
                    serde_json::json!({"data": [{"id": "t1", "taker_order_id": f, "market": "",
                        "asset_id": token, "side": "BUY", "size": "6.5", "price": "0.45",
                        "status": "CONFIRMED"}], "next_cursor": "LTE="})
                } else {
                    serde_json::json!({})
                };
                let _ = req.respond(tiny_http::Response::from_string(body.to_string()));
            }
        })
    };
    let client = Arc::new(
        polyarb::adapters::polymarket::http::clob::ClobClient::connect(
            polyarb::adapters::polymarket::http::clob::ClobConfig::new(&url),
            a.key.clone(),
            a.creds.clone(),
        )
        .unwrap(),
    );
    let journal = MemoryJournal::new();
    for (i, p) in [&filled, &killed].into_iter().enumerate() {
        let mut j = journal.clone();
        j.record_intent(&sent_entry(6, i as u64, p, &m)).unwrap();
    }
    let mut mgr = OrderManager::new(client, journal.clone(), ExecConfig::default());
    let rep = mgr.reconcile();
    server.unblock();
    t.join().unwrap();
    assert_eq!(
        (rep.checked, rep.resolved),
        (2, 2),
        "{:?}",
        seen.lock().unwrap()
    );
    let f = mgr.order(&filled.order_id).unwrap();
    assert_eq!(
        f.filled,
        Size(6_500_000),
        "from the trade, not size_matched 999"
    );
    let k = mgr.order(&killed.order_id).unwrap();
    assert_eq!((k.state, k.filled), (OrderState::Canceled, Size::ZERO));
}
