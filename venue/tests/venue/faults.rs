//! Every injected fault, observed by a real client over loopback.

use std::time::{Duration, Instant};

use tungstenite::Message;
use venue_testkit::wire::{Http, MarketClient, venue};

fn subscribed(v: &polyarb_venue::VenueHandle) -> MarketClient {
    let mut c = MarketClient::connect(&v.ws_url());
    c.subscribe(&v.asset_ids());
    c.sync();
    c
}

#[test]
fn close_abrupt_and_graceful() {
    let v = venue(4, 21);
    let http = Http::new(&v);
    let mut a = subscribed(&v);
    let r = http.fault(r#"{"kind":"close","abrupt":true}"#);
    assert_eq!(r.json()["affected"], 1);
    assert!(
        a.ws.read().is_err(),
        "abruptly closed connection still readable"
    );

    let mut b = subscribed(&v);
    let conn = http.get("/admin/stats").json()["connections"][0]["id"]
        .as_u64()
        .unwrap();
    http.fault(&format!(r#"{{"kind":"close","conn":{conn}}}"#));
    loop {
        match b.ws.read() {
            Ok(Message::Close(Some(f))) => {
                assert_eq!(u16::from(f.code), 1001);
                break;
            }
            Ok(_) => {}
            Err(e) => panic!("expected a close frame, got {e}"),
        }
    }
}

#[test]
fn stalled_connection_answers_ping_but_sends_nothing_until_cleared() {
    let v = venue(6, 22);
    let http = Http::new(&v);
    let mut c = subscribed(&v);
    http.fault(r#"{"kind":"stall"}"#);
    http.step(300);
    assert_eq!(c.sync(), 0, "a stalled connection sent data");
    assert!(
        http.get("/admin/stats").json()["hub"]["dropped_stalled"]
            .as_u64()
            .unwrap()
            > 0
    );
    http.fault(r#"{"kind":"clear"}"#);
    http.step(300);
    assert!(c.sync() > 0);
}

#[test]
fn stalled_asset_goes_silent_while_the_others_stream() {
    let v = venue(6, 23);
    let http = Http::new(&v);
    let assets = v.asset_ids();
    let mut c = subscribed(&v);
    let quiet = &assets[0];
    http.fault(&format!(r#"{{"kind":"stall_asset","asset_id":"{quiet}"}}"#));
    let before = c.frames.len();
    http.step(600);
    assert!(c.sync() > 50);
    assert!(
        c.frames[before..]
            .iter()
            .all(|f| !f.contains(quiet.as_str()))
    );
    assert!(
        c.frames[before..]
            .iter()
            .any(|f| f.contains(assets[1].as_str()))
    );
}

#[test]
fn malformed_frames_of_each_shape_reach_the_client_and_are_counted_invalid() {
    let v = venue(4, 24);
    let http = Http::new(&v);
    let mut c = subscribed(&v);
    for shape in ["truncated", "garbage", "bad_event"] {
        let r = http.fault(&format!(
            r#"{{"kind":"malformed","count":2,"shape":"{shape}"}}"#
        ));
        assert_eq!(r.json()["affected"], 1);
    }
    assert_eq!(c.sync(), 6);
    assert_eq!(c.books.counters().invalid, 6);
    // Books untouched and still equal to the venue's.
    assert_eq!(c.book_values(), http.venue_books(&v.asset_ids()));
}

#[test]
fn gap_makes_claimed_best_disagree_and_rest_heals_it() {
    let v = venue(4, 25);
    let http = Http::new(&v);
    let assets = v.asset_ids();
    let mut c = subscribed(&v);
    let r = http.fault(&format!(r#"{{"kind":"gap","asset_id":"{}"}}"#, assets[0]));
    assert_eq!(r.status, 200, "{}", r.body);
    c.sync();
    assert!(c.books.counters().mismatch >= 1);
    let mine = c.book_values();
    let gapped = mine
        .iter()
        .find(|b| b["asset_id"] == assets[0].as_str())
        .unwrap();
    assert_eq!(
        (gapped["state"].as_str(), gapped["reason"].as_str()),
        (Some("resync_needed"), Some("best_mismatch"))
    );
    // A REST snapshot is the venue's truth.
    let rest = http.get(&format!("/book?token_id={}", assets[0])).json();
    let admin = &http.venue_books(&assets[..1])[0];
    let best_bid = rest["bids"].as_array().unwrap().last().unwrap()["price"].clone();
    assert_eq!(best_bid, admin["bids"][0][0]);
}

#[test]
fn rest_delay_and_failure() {
    let v = venue(4, 26);
    let http = Http::new(&v);
    let t = &v.asset_ids()[0];
    http.fault(r#"{"kind":"rest_delay","delay_ms":300}"#);
    let t0 = Instant::now();
    assert_eq!(http.get(&format!("/book?token_id={t}")).status, 200);
    assert!(t0.elapsed() >= Duration::from_millis(300));
    http.fault(r#"{"kind":"rest_delay","delay_ms":0}"#);
    http.fault(r#"{"kind":"rest_fail","count":2,"status":503}"#);
    for _ in 0..2 {
        let r = http.get(&format!("/book?token_id={t}"));
        assert_eq!(r.status, 503);
        assert!(r.json()["error"].is_string());
    }
    assert_eq!(http.get(&format!("/book?token_id={t}")).status, 200);
}

#[test]
fn dutch_book_on_request_is_visible_to_clients() {
    let v = venue(4, 27);
    let http = Http::new(&v);
    let mut c = subscribed(&v);
    let r = http.post("/admin/source", r#"{"dutch_book":0}"#).json();
    assert_eq!(r["dutch_book_market"], 0);
    c.sync();
    let books = c.book_values();
    let market = &v.markets()[0];
    let ask = |id: &str| -> u64 {
        let b = books.iter().find(|b| b["asset_id"] == id).unwrap();
        polyarb::core::Price::parse(b["asks"][0][0].as_str().unwrap())
            .unwrap()
            .0 as u64
    };
    assert!(ask(&market.token_ids[0]) + ask(&market.token_ids[1]) < 980_000);
    assert_eq!(c.books.counters().crossed, 0);
}
