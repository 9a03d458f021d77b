use super::*;
use crate::model::{MarketModel, ModelConfig};
use polyarb::adapters::polymarket::market_channel::MarketParser;
use polyarb::core::{AssetRegistry, MarketMsg, TickSize};

#[test]
fn summary_hash_matches_the_sdk_vector() {
    // py-clob-client test_generate_orderbook_summary_hash (fixtures/clob_book_hash_vectors.json).
    let lvl = |p: &str| RestLevel {
        price: p.into(),
        size: "100".into(),
    };
    let b = RestBook {
        market: "0xaabbcc".into(),
        asset_id: "100".into(),
        timestamp: "123456789".into(),
        hash: "anything".into(),
        bids: vec![lvl("0.3"), lvl("0.4")],
        asks: vec![lvl("0.6"), lvl("0.7")],
        min_order_size: "100".into(),
        tick_size: "0.01".into(),
        neg_risk: false,
        last_trade_price: "0.5".into(),
    };
    assert_eq!(b.summary_hash(), "0458ea5755c9f73d64a14636fa5c36ed460ec394");
}

#[test]
fn book_frames_are_best_last_and_parse_back_exactly() {
    let model = MarketModel::new(ModelConfig::for_assets(10, 5));
    let books = model.books();
    let mut out = Vec::new();
    write_book_array(books, &[0, 1], 1_700_000_000_000, &mut out);
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let first = &v[0];
    assert_eq!(first["event_type"], "book");
    assert_eq!(first["timestamp"], "1700000000000");
    assert_eq!(first["hash"].as_str().unwrap().len(), 40);
    assert!(first["tick_size"].is_string());
    assert!(first["last_trade_price"].is_string());
    let prices = |side: &str| -> Vec<Price> {
        first[side]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| Price::parse(l["price"].as_str().unwrap()).unwrap())
            .collect()
    };
    let (bids, asks) = (prices("bids"), prices("asks"));
    assert!(
        bids.windows(2).all(|w| w[0] < w[1]),
        "bids ascending: {bids:?}"
    );
    assert!(
        asks.windows(2).all(|w| w[0] > w[1]),
        "asks descending: {asks:?}"
    );
    assert_eq!(
        *bids.last().unwrap(),
        books.asset(0).book.best_bid().unwrap()
    );
    assert_eq!(
        *asks.last().unwrap(),
        books.asset(0).book.best_ask().unwrap()
    );

    let mut reg = AssetRegistry::new();
    let mut p = MarketParser::new(true);
    let mut msgs = Vec::new();
    p.parse(&out, 0, &mut reg, &mut msgs);
    assert_eq!(p.counters.invalid, 0);
    let levels = msgs
        .iter()
        .filter(|m| matches!(m, MarketMsg::SnapshotLevel { .. }))
        .count();
    let want: usize = (0..2)
        .map(|a| books.asset(a).book.bids.len() + books.asset(a).book.asks.len())
        .sum();
    assert_eq!(levels, want);
}

#[test]
fn events_render_in_the_current_shapes_and_filter_by_asset() {
    let mut model = MarketModel::new(ModelConfig::for_assets(4, 9));
    let mut buf = EventBuf::new();
    let mut t = 1_700_000_000_000;
    let mut seen_pc = false;
    while !seen_pc {
        buf.clear();
        t += 3;
        model.step(t, &mut buf);
        for ev in &buf.events {
            let mut out = Vec::new();
            assert!(write_event(model.books(), &buf, ev, &|_| true, &mut out));
            let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
            assert_eq!(v["timestamp"], t.to_string());
            if let VenueEvent::PriceChange { start, end, .. } = *ev {
                seen_pc = true;
                let entries = v["price_changes"].as_array().unwrap();
                assert_eq!(entries.len(), (end - start) as usize);
                for (e, d) in entries.iter().zip(buf.deltas_of(start, end)) {
                    assert_eq!(
                        e["asset_id"],
                        model.books().asset(d.asset).token_str.as_ref()
                    );
                    assert_eq!(e["hash"].as_str().unwrap().len(), 40);
                    assert_eq!(e["best_bid"], d.best_bid.unwrap_or(Price::ZERO).to_string());
                    assert!(e["side"] == "BUY" || e["side"] == "SELL");
                }
                // Keeping only the NO asset drops the YES entries (or the whole frame).
                let no = model.outcomes(0).1.max(1);
                let mut only = Vec::new();
                if write_event(model.books(), &buf, ev, &|a| a == no, &mut only) {
                    let v: serde_json::Value = serde_json::from_slice(&only).unwrap();
                    for e in v["price_changes"].as_array().unwrap() {
                        assert_eq!(e["asset_id"], model.books().asset(no).token_str.as_ref());
                    }
                }
            }
        }
    }
    let ev = VenueEvent::TickSizeChange {
        asset: 0,
        old: TickSize::CENT,
        new: TickSize::MILLI,
    };
    let mut out = Vec::new();
    write_event(model.books(), &buf, &ev, &|_| true, &mut out);
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(
        (v["old_tick_size"].as_str(), v["new_tick_size"].as_str()),
        (Some("0.01"), Some("0.001"))
    );
}

#[test]
fn rest_book_has_the_full_shape() {
    let model = MarketModel::new(ModelConfig::for_assets(4, 2));
    let b = RestBook::of(model.books(), 1, 42);
    let v = serde_json::to_value(&b).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    for k in [
        "market",
        "asset_id",
        "timestamp",
        "hash",
        "bids",
        "asks",
        "min_order_size",
        "tick_size",
        "neg_risk",
        "last_trade_price",
    ] {
        assert!(keys.contains(&k), "{k} missing from {keys:?}");
    }
    assert_eq!(b.hash, b.summary_hash());
    assert_eq!(b.min_order_size, "5");
    assert_eq!(
        error_body("bad \"x\""),
        br#"{"error":"bad \"x\""}"#.to_vec()
    );
}
