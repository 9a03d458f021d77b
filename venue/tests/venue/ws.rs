//! `/ws/market` over real loopback sockets: subscribe, initial dump, stream, PING/PONG,
//! unsubscribe, the 500-asset limit, bad requests. Books are compared with `/admin/books`.

use polyarb::core::Price;
use tungstenite::Message;
use venue_testkit::wire::{Http, MarketClient, ids, venue, venue_with};

#[test]
fn subscribe_gets_best_last_book_arrays_then_a_stream_that_keeps_books_equal() {
    let v = venue(40, 1);
    let http = Http::new(&v);
    let assets = v.asset_ids();
    assert_eq!(assets.len(), 40);
    let mut c = MarketClient::connect(&v.ws_url());
    c.subscribe(&assets);
    let n = c.sync();
    assert!(n >= 1);
    // The initial dump: JSON arrays of `book` events, bids ascending and asks descending.
    let first: serde_json::Value = serde_json::from_str(&c.frames[0]).unwrap();
    let arr = first.as_array().expect("initial dump is a JSON array");
    assert_eq!(arr[0]["event_type"], "book");
    let prices = |side: &str| -> Vec<Price> {
        arr[0][side]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| Price::parse(l["price"].as_str().unwrap()).unwrap())
            .collect()
    };
    assert!(prices("bids").windows(2).all(|w| w[0] < w[1]));
    assert!(prices("asks").windows(2).all(|w| w[0] > w[1]));
    assert_eq!(c.books.counters().books, 40);
    assert_eq!(
        c.book_values(),
        http.venue_books(&assets),
        "books after the dump"
    );

    http.step(3_000);
    let streamed = c.sync();
    assert!(streamed > 1_000, "{streamed} frames");
    let counters = c.books.counters();
    assert_eq!(
        (
            counters.invalid,
            counters.mismatch,
            counters.crossed,
            counters.orphan
        ),
        (0, 0, 0, 0),
        "{counters:?}"
    );
    assert!(
        c.frames
            .iter()
            .any(|f| f.contains("\"price_changes\"") && f.contains("\"best_bid\""))
    );
    assert_eq!(
        c.book_values(),
        http.venue_books(&assets),
        "books after 3000 steps"
    );
}

#[test]
fn a_running_source_at_its_configured_rate_keeps_books_equal() {
    let v = venue_with(30, 2, |c| {
        c.source.paused = false;
        c.source.changes_per_s = 20_000;
    });
    let http = Http::new(&v);
    let assets = v.asset_ids();
    let mut c = MarketClient::connect(&v.ws_url());
    c.subscribe(&assets);
    // Wait for real traffic (bounded), then stop the source and drain.
    for _ in 0..200 {
        c.sync();
        if c.books.counters().deltas > 2_000 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    v.pause();
    c.sync();
    assert!(
        c.books.counters().deltas > 2_000,
        "{:?}",
        c.books.counters()
    );
    assert_eq!(c.books.counters().mismatch, 0);
    // Tick changes leave a book resync_needed only until its fresh `book`, sent right after.
    assert!(c.book_values().iter().all(|b| b["state"] == "ok"));
    assert_eq!(c.book_values(), http.venue_books(&assets));
}

#[test]
fn text_ping_gets_pong_and_protocol_pings_are_answered() {
    let v = venue(4, 3);
    let mut c = MarketClient::connect(&v.ws_url());
    assert_eq!(c.sync(), 0);
    c.ws.send(Message::Ping(b"hi".to_vec().into())).unwrap();
    loop {
        match c.ws.read().unwrap() {
            Message::Pong(p) => {
                assert_eq!(&p[..], b"hi");
                break;
            }
            Message::Text(t) => panic!("unexpected frame {t}"),
            _ => {}
        }
    }
    assert_eq!(c.sync(), 0);
}

#[test]
fn unsubscribe_stops_updates_for_that_asset_only() {
    let v = venue(2, 4); // one market: YES and NO
    let http = Http::new(&v);
    let assets = v.asset_ids();
    let (yes, no) = (assets[0].clone(), assets[1].clone());
    let mut c = MarketClient::connect(&v.ws_url());
    c.subscribe(&assets);
    c.sync();
    http.step(200);
    c.sync();
    assert!(c.frames.iter().filter(|f| f.contains(&yes)).count() > 50);
    c.operation("unsubscribe", std::slice::from_ref(&yes));
    c.sync();
    let before = c.frames.len();
    http.step(500);
    assert!(c.sync() > 50);
    let after = &c.frames[before..];
    assert!(
        after.iter().all(|f| !f.contains(&yes)),
        "an update for the unsubscribed asset arrived"
    );
    assert!(after.iter().any(|f| f.contains(&no)));
    // Subscribing again with the operation form brings a fresh snapshot.
    c.operation("subscribe", std::slice::from_ref(&yes));
    c.sync();
    let last = c.frames.last().unwrap();
    assert!(last.starts_with('[') && last.contains(&yes) && last.contains("\"book\""));
    assert_eq!(c.book_values(), http.venue_books(&assets));
}

#[test]
fn past_500_assets_a_connection_gets_no_more_snapshots() {
    let v = venue(600, 5);
    let http = Http::new(&v);
    let assets = v.asset_ids();
    assert_eq!(assets.len(), 600);
    let mut c = MarketClient::connect(&v.ws_url());
    c.subscribe(&assets);
    c.sync();
    assert_eq!(c.books.counters().books, 500);
    let stats = http.get("/admin/stats").json();
    assert_eq!(stats["hub"]["over_limit_assets"], 100);
    assert_eq!(stats["connections"][0]["assets"], 600);
    assert_eq!(stats["connections"][0]["snapshots"], 500);
}

#[test]
fn bad_requests_are_ignored_and_counted_and_other_paths_are_refused() {
    let v = venue(4, 6);
    let http = Http::new(&v);
    let mut c = MarketClient::connect(&v.ws_url());
    for bad in [
        "{not json",
        "[1,2]",
        r#"{"assets_ids":"x","type":"market"}"#,
        r#"{"type":"user","assets_ids":[]}"#,
        r#"{"hello":1}"#,
    ] {
        c.send(bad);
    }
    c.subscribe(&["123".to_string(), "not-a-number".to_string()]);
    assert_eq!(c.sync(), 0);
    c.subscribe(&ids(&v, 2));
    assert_eq!(c.sync(), 1);
    let stats = http.get("/admin/stats").json();
    assert_eq!(stats["hub"]["bad_requests"], 5);
    assert_eq!(stats["hub"]["unknown_assets"], 2);
    let port = v.ws_addr().port();
    let err = tungstenite::connect(format!("ws://127.0.0.1:{port}/ws/elsewhere")).unwrap_err();
    match err {
        tungstenite::Error::Http(r) => assert_eq!(r.status(), 404),
        e => panic!("expected a 404, got {e}"),
    }
}

#[test]
fn flood_mode_streams_flat_out_and_books_stay_equal() {
    let v = venue_with(400, 7, |c| {
        c.source.paused = false;
        c.source.changes_per_s = 0; // flood
    });
    let http = Http::new(&v);
    let assets = v.asset_ids();
    let mut c = MarketClient::connect(&v.ws_url());
    c.subscribe(&assets);
    let t0 = std::time::Instant::now();
    // Bounded: stop once 100k changes arrived (or after a generous safety limit).
    while c.books.counters().deltas < 100_000 && t0.elapsed() < std::time::Duration::from_secs(60) {
        c.sync();
    }
    v.pause();
    c.sync();
    let secs = t0.elapsed().as_secs_f64();
    let counters = c.books.counters();
    eprintln!(
        "flood: {} changes in {secs:.2} s ({:.0}/s, debug build)",
        counters.deltas,
        counters.deltas as f64 / secs
    );
    assert!(counters.deltas >= 100_000, "{counters:?}");
    assert_eq!(
        (counters.invalid, counters.mismatch, counters.crossed),
        (0, 0, 0)
    );
    assert_eq!(c.book_values(), http.venue_books(&assets));
}

#[test]
fn replay_source_streams_the_recording_and_serves_its_books() {
    use polyarb_venue::{ModelConfig, SourceKind};
    let path = std::env::temp_dir().join(format!(
        "polyarb-venue-replay-{}.frames",
        std::process::id()
    ));
    let mut out = Vec::new();
    polyarb_venue::synth::write_frames(ModelConfig::for_assets(100, 8), 3_000, &mut out).unwrap();
    std::fs::write(&path, &out).unwrap();
    let v = venue_with(2, 8, |c| {
        c.source.kind = SourceKind::Replay;
        c.source.replay_file = Some(path.clone());
    });
    let http = Http::new(&v);
    // The venue learns the assets from the recording's initial dump (2 frames of 50 books).
    assert_eq!(v.step(2).0, 2);
    let assets = v.asset_ids();
    assert_eq!(assets.len(), 100);
    let mut c = MarketClient::connect(&v.ws_url());
    c.subscribe(&assets);
    c.sync();
    assert_eq!(c.books.counters().books, 100);
    let (frames, _) = v.step(1_000_000);
    assert!(frames > 3_000);
    c.sync();
    let counters = c.books.counters();
    assert_eq!(
        (counters.invalid, counters.mismatch, counters.crossed),
        (0, 0, 0)
    );
    assert_eq!(c.book_values(), http.venue_books(&assets));
    let _ = std::fs::remove_file(&path);
}

mod ws_production {
    //! The user and market channels' production behaviours (Polymarket's docs and clients):
    //! markets added on an open user subscription, PLACEMENT with `associate_trades: null`,
    //! trade timestamps in ms, a plain close reason on bad credentials, and the custom-feature
    //! events.

    use std::net::TcpStream;
    use std::time::{Duration, Instant};

    use polyarb::adapters::polymarket::signing::{OrderSide, OrderType};
    use serde_json::{Value, json};
    use tungstenite::stream::MaybeTlsStream;
    use tungstenite::{Message, WebSocket};
    use venue_testkit::trading::{admin, market, set_book, trader, venue};

    type Ws = WebSocket<MaybeTlsStream<TcpStream>>;

    fn connect(url: &str) -> Ws {
        let (ws, _) = tungstenite::connect(url).unwrap();
        if let MaybeTlsStream::Plain(s) = ws.get_ref() {
            s.set_read_timeout(Some(Duration::from_millis(200)))
                .unwrap();
        }
        ws
    }

    fn fixture(name: &str) -> Value {
        let path = format!(
            "{}/../fixtures/polymarket/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_str(&std::fs::read_to_string(&path).expect(&path)).unwrap()
    }

    fn keys(v: &Value) -> Vec<String> {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    }

    /// Every JSON event read within `wait` (frames may be arrays).
    fn read_events(ws: &mut Ws, wait: Duration) -> Vec<Value> {
        let deadline = Instant::now() + wait;
        let mut out = Vec::new();
        while Instant::now() < deadline {
            match ws.read() {
                Ok(Message::Text(t)) if t.as_str() != "PONG" => {
                    match serde_json::from_str::<Value>(t.as_str()).unwrap() {
                        Value::Array(a) => out.extend(a),
                        v => out.push(v),
                    }
                }
                Ok(_) => {}
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => panic!("socket: {e}"),
            }
        }
        out
    }

    fn wait_for(ws: &mut Ws, event_type: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            for e in read_events(ws, Duration::from_millis(200)) {
                if e["event_type"] == event_type {
                    return e;
                }
            }
        }
        panic!("no {event_type} event");
    }

    fn user_subscribe(ws: &mut Ws, t: &venue_testkit::trading::Trader, markets: &[&str]) {
        let msg = json!({
            "auth": {"apiKey": t.creds.api_key, "secret": t.creds.secret, "passphrase": t.creds.passphrase},
            "markets": markets,
            "assets_ids": [],
            "type": "user",
        });
        ws.send(Message::text(msg.to_string())).unwrap();
    }

    #[test]
    fn a_user_subscription_grows_on_its_connection_and_events_have_productions_fields() {
        let v = venue();
        let m = market(&v);
        let other = v
            .markets()
            .into_iter()
            .find(|x| !x.neg_risk && x.condition_id != m.condition_id)
            .unwrap();
        let other_yes = polyarb::core::TokenId::parse(&other.token_ids[0]).unwrap();
        set_book(&v, &m.yes, &[("0.40", "100")], &[("0.60", "100")]);
        set_book(&v, &other_yes, &[("0.40", "100")], &[("0.60", "100")]);
        let t = trader(&v, 51);
        let mut ws = connect(&v.user_ws_url());
        user_subscribe(&mut ws, &t, &[&m.condition_id]);
        read_events(&mut ws, Duration::from_millis(200));
        let p = t.signed(&m, m.yes, OrderSide::Buy, "0.30", "10", OrderType::Gtc);
        t.client.post_order(&p).unwrap();
        let placed = wait_for(&mut ws, "order");
        assert_eq!(placed["type"], "PLACEMENT");
        assert_eq!(placed["associate_trades"], Value::Null);
        assert_eq!(
            keys(&placed),
            keys(&fixture("ws_user_order_placement_real.json"))
        );
        // An order in a market not yet subscribed is not reported...
        let mo = venue_testkit::trading::Market {
            condition_id: other.condition_id.clone(),
            yes: other_yes,
            no: polyarb::core::TokenId::parse(&other.token_ids[1]).unwrap(),
            rules: m.rules,
            fees: m.fees,
        };
        let q = t.signed(&mo, mo.yes, OrderSide::Buy, "0.30", "10", OrderType::Gtc);
        t.client.post_order(&q).unwrap();
        let quiet = read_events(&mut ws, Duration::from_millis(300));
        assert!(quiet.is_empty(), "{quiet:?}");
        // ... until the market is added on the open connection.
        ws.send(Message::text(
            json!({"operation": "subscribe", "markets": [other.condition_id]}).to_string(),
        ))
        .unwrap();
        read_events(&mut ws, Duration::from_millis(200));
        let r = t.signed(&mo, mo.yes, OrderSide::Buy, "0.60", "10", OrderType::Fok);
        t.client.post_order(&r).unwrap();
        let trade = wait_for(&mut ws, "trade");
        assert_eq!(trade["market"], json!(other.condition_id));
        assert_eq!(
            keys(&trade),
            keys(&fixture("ws_user_trade_taker_matched_real.json"))
        );
        let ts: u64 = trade["timestamp"].as_str().unwrap().parse().unwrap();
        let now_ms = polyarb::obs::clock::unix_ms();
        assert!(ts.abs_diff(now_ms) < 5_000, "trade timestamp {ts} is in ms");
        // Unsubscribing removes it again.
        ws.send(Message::text(
            json!({"operation": "unsubscribe", "markets": [other.condition_id]}).to_string(),
        ))
        .unwrap();
        read_events(&mut ws, Duration::from_millis(200));
        let s = t.signed(&mo, mo.yes, OrderSide::Buy, "0.20", "10", OrderType::Gtc);
        t.client.post_order(&s).unwrap();
        assert!(read_events(&mut ws, Duration::from_millis(300)).is_empty());
    }

    #[test]
    fn bad_credentials_close_the_user_channel_with_a_plain_reason() {
        let v = venue();
        let mut ws = connect(&v.user_ws_url());
        ws.send(Message::text(
            json!({"auth": {"apiKey": "k", "secret": "s", "passphrase": "p"}, "markets": [], "type": "user"})
                .to_string(),
        ))
        .unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            assert!(Instant::now() < deadline, "no close frame");
            match ws.read() {
                Ok(Message::Close(Some(f))) => {
                    assert_eq!(f.reason.as_str(), "Unauthorized/Invalid api key");
                    assert_eq!(
                        f.code,
                        tungstenite::protocol::frame::coding::CloseCode::Policy
                    );
                    break;
                }
                Ok(Message::Close(None)) => panic!("a close frame without a reason"),
                Ok(_) => {}
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => panic!("closed without a close frame: {e}"),
            }
        }
    }

    #[test]
    fn custom_features_add_best_bid_ask_new_market_and_market_resolved() {
        let v = venue();
        let m = market(&v);
        set_book(&v, &m.yes, &[("0.40", "100")], &[("0.60", "100")]);
        let (yes, no) = (m.yes.to_string(), m.no.to_string());
        let mut custom = connect(&v.ws_url());
        custom
            .send(Message::text(
                json!({"assets_ids": [yes, no], "type": "market", "custom_feature_enabled": true})
                    .to_string(),
            ))
            .unwrap();
        let mut plain = connect(&v.ws_url());
        plain
            .send(Message::text(
                json!({"assets_ids": [yes, no], "type": "market"}).to_string(),
            ))
            .unwrap();
        wait_for(&mut custom, "book");
        wait_for(&mut plain, "book");
        read_events(&mut custom, Duration::from_millis(200));
        set_book(&v, &m.yes, &[("0.45", "100")], &[("0.55", "100")]);
        let events = read_events(&mut custom, Duration::from_millis(500));
        let bba: Vec<&Value> = events
            .iter()
            .filter(|e| e["event_type"] == "best_bid_ask")
            .collect();
        assert_eq!(bba.len(), 2, "one per asset whose top changed: {events:?}");
        for e in &bba {
            assert_eq!(keys(e), keys(&fixture("ws_best_bid_ask.json")));
            assert_eq!(e["market"], json!(m.condition_id));
            assert_eq!(
                (&e["best_bid"], &e["best_ask"]),
                (&json!("0.45"), &json!("0.55"))
            );
            assert_eq!(e["spread"], json!("0.1"));
        }
        // The same book again: nothing changed at the top, no new best_bid_ask.
        set_book(&v, &m.yes, &[("0.45", "300")], &[("0.55", "100")]);
        let again = read_events(&mut custom, Duration::from_millis(300));
        assert!(
            again.iter().all(|e| e["event_type"] != "best_bid_ask"),
            "{again:?}"
        );

        let sent = admin(
            &v,
            "/admin/market-event",
            json!({"condition_id": m.condition_id, "event": "new_market"}),
        );
        assert_eq!(sent["sent"], 1);
        let nm = wait_for(&mut custom, "new_market");
        assert_eq!(keys(&nm), keys(&fixture("ws_new_market.json")));
        assert_eq!(nm["assets_ids"], json!([yes, no]));
        admin(
            &v,
            "/admin/market-event",
            json!({"condition_id": m.condition_id, "event": "market_resolved", "winning_asset_id": no}),
        );
        let mr = wait_for(&mut custom, "market_resolved");
        assert_eq!(keys(&mr), keys(&fixture("ws_market_resolved.json")));
        assert_eq!(
            (&mr["winning_asset_id"], &mr["winning_outcome"]),
            (&json!(no), &json!("No"))
        );
        // The connection without custom features saw books only.
        let seen = read_events(&mut plain, Duration::from_millis(300));
        assert!(
            seen.iter()
                .all(|e| e["event_type"] == "book" || e["event_type"] == "price_change"),
            "{seen:?}"
        );
    }
}
