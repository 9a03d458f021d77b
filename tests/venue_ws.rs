//! `/ws/market` over real loopback sockets: subscribe, initial dump, stream, PING/PONG,
//! unsubscribe, the 500-asset limit, bad requests. Books are compared with `/admin/books`.

mod common;

use common::{Http, MarketClient, ids, venue, venue_with};
use polyarb::core::Price;
use tungstenite::Message;

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
    use polyarb::venue::{ModelConfig, SourceKind};
    let path = std::env::temp_dir().join(format!(
        "polyarb-venue-replay-{}.frames",
        std::process::id()
    ));
    let mut out = Vec::new();
    polyarb::venue::synth::write_frames(ModelConfig::for_assets(100, 8), 3_000, &mut out).unwrap();
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
