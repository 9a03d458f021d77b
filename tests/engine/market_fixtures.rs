//! Conformance: the recorded market-channel payloads parse and apply as the venue meant.
//! Reads them from fixtures/polymarket.

use polyarb::core::{AssetIndex, Price};
use polyarb::replay::Replayer;

/// A fixture file as one compact frame (the files are pretty-printed JSON).
fn frame(name: &str) -> String {
    let text = std::fs::read_to_string(testkit::fixtures::path(name)).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v.to_string()
}

#[test]
fn real_book_sorts_best_last_arrays() {
    let f = frame("ws_book_real_2024.json");
    let mut r = Replayer::new();
    r.frame(f.as_bytes(), 0);
    let c = r.counters();
    assert_eq!((c.books, c.invalid, c.crossed), (1, 0, 0), "{c:?}");
    let b = r.books.get(AssetIndex(0)).unwrap();
    // The recorded arrays are best-LAST; sorted, the best ask is the lowest price.
    let asks: Vec<Price> = b.asks.levels().map(|l| l.0).collect();
    assert!(asks.windows(2).all(|w| w[0] < w[1]));
    let bids: Vec<Price> = b.bids.levels().map(|l| l.0).collect();
    assert!(bids.windows(2).all(|w| w[0] > w[1]));
    assert!(b.bids.best_price().unwrap() < b.asks.best_price().unwrap());
    // "10500100" shares at 0.999 is in the recording: exact.
    assert_eq!(b.asks.size_at(Price(999_000)).0, 10_500_100_000_000);
}

#[test]
fn every_market_channel_event_shape_is_understood() {
    let cases = [
        ("ws_book_synthetic_small.json", "book"),
        ("ws_book_docs.json", "book"),
        ("ws_price_change_v2.json", "change"),
        ("ws_price_change_v2_docs.json", "change"),
        ("ws_price_change_v2_synthetic_small.json", "change"),
        ("ws_price_change_legacy_changes_docs.json", "change"),
        ("ws_price_change_legacy_flat_2024.json", "change"),
        ("ws_tick_size_change_real_2025.json", "tick"),
        ("ws_last_trade_price_real_2024.json", "other"),
        ("ws_last_trade_price_docs.json", "other"),
        ("ws_best_bid_ask.json", "other"),
        ("ws_new_market.json", "other"),
        ("ws_market_resolved.json", "other"),
    ];
    for (name, kind) in cases {
        let f = frame(name);
        let mut r = Replayer::new();
        r.frame(f.as_bytes(), 0);
        let c = r.counters();
        assert_eq!(
            (c.frames, c.events, c.invalid, c.ignored),
            (1, 1, 0, 0),
            "{name}: {c:?}"
        );
        match kind {
            "book" => assert_eq!(c.books, 1, "{name}"),
            // No book was seen for these assets: every change is an orphan, nothing created.
            "change" | "tick" => assert!(c.orphan >= 1 && c.deltas == 0, "{name}: {c:?}"),
            _ => assert_eq!(c.other, 1, "{name}"),
        }
    }
}

#[test]
fn recorded_pair_applies_on_one_asset() {
    // The small synthetic book and price_change share an asset id.
    let b = frame("ws_book_synthetic_small.json");
    let p = frame("ws_price_change_v2_synthetic_small.json");
    let mut r = Replayer::new();
    r.frame(b.as_bytes(), 0);
    r.frame(p.as_bytes(), 0);
    let c = r.counters();
    assert_eq!((c.books, c.deltas, c.orphan), (1, 1, 0), "{c:?}");
}
