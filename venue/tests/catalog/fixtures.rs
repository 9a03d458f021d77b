//! Conformance: the real Gamma samples in fixtures/polymarket normalize, with the values they
//! carry read exactly; served by the venue from those very files, they refresh to the same
//! catalog over HTTP.

use std::collections::BTreeMap;

use polyarb::catalog::normalize::{normalize_events, normalize_markets};
use polyarb::catalog::{
    CatalogState, Fetched, GammaSource, GroupSkip, ListingSource, MarketStatus, MemoryStore,
};
use polyarb::core::fees::FeeSchedule;
use polyarb::core::{ConditionId, Price, Size, TickSize};
use serde_json::value::RawValue;
use testkit::fixtures::path as fixture;
use venue_testkit::catalog::{catalog_config, get};
use venue_testkit::wire::venue_with;

fn raw_items(path: &std::path::Path) -> Vec<Box<RawValue>> {
    let text = std::fs::read_to_string(path).unwrap();
    if text.trim_start().starts_with('[') {
        serde_json::from_str(&text).unwrap()
    } else {
        vec![RawValue::from_string(text).unwrap()]
    }
}

#[test]
fn real_gamma_markets_normalize_exactly() {
    let none = BTreeMap::new();
    let files = [
        "gamma_market_btc_updown_5m_real_2026.json",
        "gamma_market_sports_feeschedule_real_2026.json",
        "gamma_market_closed_real_2026.json",
    ];
    let items: Vec<Box<RawValue>> = files.iter().flat_map(|f| raw_items(&fixture(f))).collect();
    let (c, r) = normalize_markets(&items, 0, true, &none);
    assert_eq!(r.skipped_total(), 0, "{:?}", r.samples);
    assert_eq!(c.markets.len(), 3);

    let btc = c.find("1557558").unwrap();
    assert_eq!(
        btc.question,
        "Bitcoin Up or Down - March 12, 5:20AM-5:25AM ET"
    );
    assert_eq!(
        btc.outcomes
            .iter()
            .map(|o| o.name.as_str())
            .collect::<Vec<_>>(),
        ["Up", "Down"]
    );
    assert_eq!(
        btc.outcomes[0].token.to_string(),
        "104239898038807136052399800151408521467737075933964991162589336683346093173875"
    );
    assert_eq!(
        btc.outcomes[1].token.to_string(),
        "71183960810705820955071415844881728181970340514894896943812046065452395013351"
    );
    assert_eq!(btc.outcomes[0].price, Some(Price(505_000)));
    assert_eq!(btc.tick, TickSize::CENT);
    assert_eq!(btc.min_order_size, Size(5_000_000));
    assert_eq!(
        (btc.best_bid, btc.best_ask),
        (Some(Price(500_000)), Some(Price(510_000)))
    );
    // Fees enabled, no schedule sent: unknown (never traded) unless configured.
    assert_eq!(btc.fee_type.as_deref(), Some("crypto_fees"));
    assert_eq!(btc.fees, None);
    assert!(btc.is_tradeable());
    assert!(btc.neg_risk.is_none());

    let sports = c.find("cs2-faze-ill-2026-04-05").unwrap();
    assert_eq!(sports.tick, TickSize::MILLI);
    assert_eq!(
        sports.fees,
        Some(FeeSchedule {
            rate_ppm: 30_000,
            exponent: 1,
            taker_only: true
        })
    );
    assert_eq!(sports.status, MarketStatus::Resolved);
    assert_eq!(sports.outcomes[0].price, Some(Price::ONE));
    assert!(!sports.is_tradeable());

    let closed = c
        .find("0xd57eed0d44f5b8ca54925d8d6ff440b146b3e6e071da18136ee3ee572d34479e")
        .unwrap();
    assert_eq!(closed.status, MarketStatus::Resolved);
    assert_eq!(closed.fees, Some(FeeSchedule::FREE));
    assert_eq!(closed.end_date.as_deref(), Some("2027-12-31T00:00:00Z"));
    // Every rule hash differs.
    let hashes: std::collections::BTreeSet<_> = c.markets.values().map(|m| m.rule_hash).collect();
    assert_eq!(hashes.len(), 3);

    // With a configured default for `crypto_fees`, the BTC market becomes tradeable.
    let mut defaults = BTreeMap::new();
    defaults.insert(
        "crypto_fees".to_string(),
        FeeSchedule {
            rate_ppm: 72_000,
            exponent: 1,
            taker_only: true,
        },
    );
    let (c, _) = normalize_markets(&items, 0, true, &defaults);
    assert_eq!(c.find("1557558").unwrap().fees.unwrap().rate_ppm, 72_000);
}

#[test]
fn real_neg_risk_event_groups_and_is_augmented() {
    let items = raw_items(&fixture("gamma_events_negrisk_real_2026.json"));
    let (c, r) = normalize_events(&items, 0, true, &BTreeMap::new());
    assert_eq!(r.skipped_total(), 0, "{:?}", r.samples);
    assert_eq!(c.markets.len(), 2);
    let e = &c.events["30829"];
    assert_eq!(e.slug, "democratic-presidential-nominee-2028");
    assert!(e.neg_risk && e.augmented);
    assert_eq!(e.listed_markets, Some(2));
    let nr =
        ConditionId::parse("0x2c3d7e0eee6f058be3006baabf0d54a07da254ba47fe6e3e095e7990c7814700")
            .unwrap();
    assert_eq!(e.neg_risk_market_id, Some(nr));
    let members = c.neg_risk_members(&nr);
    assert_eq!(members.len(), 2);
    for m in &members {
        let n = m.neg_risk.as_ref().unwrap();
        assert!(n.augmented && !n.other && !n.placeholder);
        assert_eq!(m.tick, TickSize::MILLI);
        assert!(m.tags.contains(&"politics".to_string()));
    }
    let smith = c.find("559657").unwrap();
    assert_eq!(smith.group_item_title.as_deref(), Some("Stephen A. Smith"));
    assert_eq!(smith.outcomes[0].price, Some(Price(10_500)));
    // Augmented: the two listed questions are not a complete set, and a binary market is no
    // group: nothing trades, and the event is listed as refused with its reason.
    let mut s = CatalogState::new(Default::default(), Box::new(MemoryStore::new()));
    let u = s.apply(
        Fetched {
            catalog: c,
            report: r,
            pages: 1,
            truncated: None,
        },
        1_780_000_000_000,
    );
    assert_eq!(u.selection.not_grouped[&GroupSkip::Augmented], 1);
    assert!(u.selection.groups.is_empty());
    assert_eq!(u.selection.refused_groups, vec![(nr, GroupSkip::Augmented)]);
    assert_eq!(u.report.refused_groups, vec![(nr, GroupSkip::Augmented)]);
}

#[test]
fn the_venue_serves_the_fixture_files_in_their_real_shape() {
    let files: Vec<_> = [
        "gamma_events_negrisk_real_2026.json",
        "gamma_market_btc_updown_5m_real_2026.json",
        "gamma_market_sports_feeschedule_real_2026.json",
        "gamma_market_closed_real_2026.json",
    ]
    .iter()
    .map(|f| fixture(f))
    .collect();
    let v = venue_with(10, 31, |c| c.gamma.files = files.clone());
    // Byte-for-byte: the BTC market as served equals the file's object.
    let (s, body) = get(&v, "/gamma/markets?id=1557558");
    assert_eq!(s, 200);
    let served: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
    let file: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("gamma_market_btc_updown_5m_real_2026.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(served, vec![file]);
    assert!(body.contains(r#""orderPriceMinTickSize":0.01"#));
    // Both listings normalize to the same markets as the files read directly. `/markets` has
    // all five; `/events` the four that belong to an event (the closed sample names none).
    let mut direct = BTreeMap::new();
    for f in &files {
        let items = raw_items(f);
        let (c, _) = if f.to_string_lossy().contains("events") {
            normalize_events(&items, 0, true, &BTreeMap::new())
        } else {
            normalize_markets(&items, 0, true, &BTreeMap::new())
        };
        direct.extend(c.markets);
    }
    assert_eq!(direct.len(), 5);
    for (source, n) in [(ListingSource::Markets, 5), (ListingSource::Events, 4)] {
        let mut cfg = catalog_config(&v);
        cfg.source = source;
        // The fixtures are closed and open markets alike: list everything.
        cfg.events_query = Default::default();
        cfg.markets_query = Default::default();
        let mut s = CatalogState::new(cfg.filters.clone(), Box::new(MemoryStore::new()));
        let u = s.refresh(&mut GammaSource::new(&cfg)).unwrap();
        assert_eq!(u.report.normalize.skipped_total(), 0, "{source:?}");
        assert_eq!(u.catalog.markets.len(), n, "{source:?}");
        for (id, g) in &u.catalog.markets {
            let d = &direct[id];
            assert_eq!(g.outcomes, d.outcomes);
            assert_eq!(
                (g.tick, g.min_order_size, g.fees),
                (d.tick, d.min_order_size, d.fees)
            );
            assert_eq!(
                (g.status, g.neg_risk.clone()),
                (d.status, d.neg_risk.clone())
            );
            assert_eq!(g.rule_hash, d.rule_hash);
        }
    }
    // The CLOB listing of the same markets has the real page shape.
    let (s, body) = get(&v, "/markets");
    assert_eq!(s, 200);
    let page: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(page["next_cursor"], "LTE=");
    assert_eq!(page["count"], 5);
    let real: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("clob_markets_page_real_2024.json")).unwrap(),
    )
    .unwrap();
    let keys = |v: &serde_json::Value| -> std::collections::BTreeSet<String> {
        v.as_object().unwrap().keys().cloned().collect()
    };
    let real_keys = keys(&real["data"][0]);
    let ours = keys(&page["data"][0]);
    assert!(
        ours.is_subset(&real_keys),
        "extra keys: {:?}",
        ours.difference(&real_keys).collect::<Vec<_>>()
    );
    let token_keys = keys(&real["data"][0]["tokens"][0]);
    assert_eq!(keys(&page["data"][0]["tokens"][0]), token_keys);
}

#[test]
fn real_gamma_markets_round_trip_through_the_sqlite_store() {
    use polyarb::catalog::{CatalogStore, SqliteCatalogStore};
    let files = [
        "gamma_market_btc_updown_5m_real_2026.json",
        "gamma_market_sports_feeschedule_real_2026.json",
        "gamma_market_closed_real_2026.json",
    ];
    let items: Vec<Box<RawValue>> = files.iter().flat_map(|f| raw_items(&fixture(f))).collect();
    let (c, _) = normalize_markets(&items, 0, true, &BTreeMap::new());
    let db = testkit::scratch("catalog-fixtures-sqlite").join("c.db");
    let mut store = SqliteCatalogStore::open_path(&db).unwrap();
    let all: Vec<_> = c.markets.values().collect();
    let r = store.upsert_markets(&all, 1).unwrap();
    assert_eq!(r.new.len(), 3);
    assert!(r.refused.is_empty(), "{:?}", r.refused);
    // Read back by another connection: every field exactly as normalized.
    let other = SqliteCatalogStore::open_path(&db).unwrap();
    for m in c.markets.values() {
        assert_eq!(other.market(&m.condition_id).unwrap().as_ref(), Some(m));
        assert_eq!(other.rule_hash(&m.condition_id).unwrap(), Some(m.rule_hash));
    }
    let again = store.upsert_markets(&all, 2).unwrap();
    assert!(again.new.is_empty() && again.changed.is_empty());
}
