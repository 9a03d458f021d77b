//! The catalog end to end against the venue over real loopback: a refresh groups neg-risk
//! events exactly as the venue built them, a rule change made on the venue halts the market
//! and its group until acknowledged, the scheduler reports subscribe/unsubscribe diffs, and
//! hostile data (malformed markets, a 20 MB body) is counted and survived.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use polyarb::adapters::polymarket::market_channel::FeedCommand;
use polyarb::catalog::scheduler::{self, SchedulerConfig};
use polyarb::catalog::{
    CatalogNotice, CatalogState, CatalogUpdate, GammaSource, GroupKey, GroupSkip, ListingSource,
    MemoryStore, SkipReason,
};
use polyarb::core::{ConditionId, Price, Size, TickSize};
use serde_json::json;
use testkit::scratch;
use venue_testkit::catalog::{catalog_config, fault, post};
use venue_testkit::wire::{venue, venue_with};

fn refresh_once(cfg: &polyarb::catalog::CatalogConfig) -> (CatalogState, CatalogUpdate) {
    let mut s = CatalogState::new(cfg.filters.clone(), Box::new(MemoryStore::new()));
    let u = s.refresh(&mut GammaSource::new(cfg)).expect("refresh");
    s.commit(&u);
    (s, u)
}

#[test]
fn neg_risk_events_group_their_markets_like_the_venue() {
    let v = venue_with(80, 21, |c| {
        c.gamma.fee_rate = Price(40_000);
    });
    // The venue's own grouping: neg-risk market id → YES token ids.
    let mut want: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for m in v.markets() {
        if let Some(nr) = m.neg_risk_market_id {
            want.entry(nr).or_default().insert(m.token_ids[0].clone());
        }
    }
    assert_eq!(want.len(), 2);
    for source in [ListingSource::Events, ListingSource::Markets] {
        let mut cfg = catalog_config(&v);
        cfg.source = source;
        cfg.page_limit = 9;
        let (_, u) = refresh_once(&cfg);
        assert_eq!(u.report.normalize.skipped_total(), 0, "{source:?}");
        assert_eq!(u.catalog.markets.len(), 40);
        let sel = &u.selection;
        let mut got: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (g, info) in sel.groups.iter().zip(&sel.group_info) {
            if let GroupKey::NegRisk(nr) = info.key {
                assert_eq!(g.fees.rate_ppm, 40_000);
                assert_eq!(g.min_order_size, Size(5_000_000));
                got.insert(
                    nr.to_string(),
                    g.assets
                        .iter()
                        .map(|a| sel.registry.info(*a).unwrap().token_str.to_string())
                        .collect(),
                );
            }
        }
        assert_eq!(got, want, "{source:?}");
        // The neg-risk events are the only groups: a binary market's YES and NO are one book.
        assert_eq!(sel.groups.len(), 2);
        // Ticks agree with the CLOB side's /book.
        for m in v.markets().iter().take(5) {
            let c = ConditionId::parse(&m.condition_id).unwrap();
            let cm = u.catalog.market(&c).unwrap();
            let tokens: Vec<String> = cm.tokens().map(|t| t.to_string()).collect();
            assert_eq!(tokens, m.token_ids);
            let book = v
                .rest_book(&polyarb::core::TokenId::parse(&m.token_ids[0]).unwrap())
                .unwrap();
            assert_eq!(cm.tick, TickSize::parse(&book.tick_size).unwrap());
        }
    }
}

fn nr_groups(u: &CatalogUpdate) -> usize {
    u.selection
        .group_info
        .iter()
        .filter(|i| matches!(i.key, GroupKey::NegRisk(_)))
        .count()
}

#[test]
fn a_rule_change_on_the_venue_halts_until_acknowledged() {
    let v = venue(40, 23);
    let cfg = catalog_config(&v);
    let (mut s, u) = refresh_once(&cfg);
    assert_eq!(nr_groups(&u), 1);
    let groups_before = u.selection.groups.len();
    let target = v
        .markets()
        .into_iter()
        .find(|m| m.neg_risk)
        .expect("a neg-risk market");
    let siblings: BTreeSet<ConditionId> = v
        .markets()
        .iter()
        .filter(|m| m.neg_risk_market_id == target.neg_risk_market_id)
        .map(|m| ConditionId::parse(&m.condition_id).unwrap())
        .collect();
    assert_eq!(siblings.len(), 4);
    let (st, body) = post(
        &v,
        "/admin/rules",
        &json!({"market": target.condition_id, "end_date": "2031-06-30T00:00:00Z",
                "description": "Rules rewritten at run time."}),
    );
    assert_eq!(st, 200, "{body}");
    let u = s.refresh(&mut GammaSource::new(&cfg)).unwrap();
    s.commit(&u);
    assert_eq!(u.report.rule_changes.len(), 1);
    let c = &u.report.rule_changes[0];
    assert_eq!(c.condition_id.to_string(), target.condition_id);
    assert_eq!(c.detail, "end_date, description");
    assert_eq!(
        u.newly_halted.iter().copied().collect::<BTreeSet<_>>(),
        siblings
    );
    assert_eq!(nr_groups(&u), 0);
    assert_eq!(u.selection.groups.len(), groups_before - 1);
    assert_eq!(u.selection.not_grouped[&GroupSkip::Halted], 1);
    // The halt outlives further refreshes.
    let u = s.refresh(&mut GammaSource::new(&cfg)).unwrap();
    s.commit(&u);
    assert_eq!(u.selection.halted, siblings);
    let (n, u) = s.ack(&c.condition_id).unwrap();
    assert_eq!(n, 1);
    assert_eq!(u.resumed.iter().copied().collect::<BTreeSet<_>>(), siblings);
    assert_eq!(u.selection.groups.len(), groups_before);
    assert_eq!(nr_groups(&u), 1);
}

fn next_update(rx: &crossbeam::channel::Receiver<CatalogNotice>) -> Box<CatalogUpdate> {
    loop {
        match rx.recv_timeout(Duration::from_secs(30)).expect("a notice") {
            CatalogNotice::Updated(u) => return u,
            CatalogNotice::RefreshFailed { error, .. } => panic!("refresh failed: {error}"),
            _ => {}
        }
    }
}

#[test]
fn the_scheduler_reports_subscribe_and_unsubscribe() {
    let v = venue(40, 25);
    let cfg = catalog_config(&v);
    let ms = v.markets();
    let binary = ms.iter().find(|m| !m.neg_risk).unwrap().clone();
    let later = ms.iter().filter(|m| !m.neg_risk).nth(1).unwrap().clone();
    // `later` is not listed yet: it appears at run time.
    let (st, _) = post(
        &v,
        "/admin/gamma/market",
        &json!({"market": later.condition_id, "listed": false}),
    );
    assert_eq!(st, 200);
    let (state, first) = refresh_once(&cfg);
    assert_eq!(first.catalog.markets.len(), 19);
    let registry = first.selection.registry.clone();
    let (handle, rx) = scheduler::spawn(
        state,
        Box::new(GammaSource::new(&cfg)),
        SchedulerConfig {
            // Long: only `refresh_now` drives it, so the test does not depend on timing.
            interval: Duration::from_secs(3600),
            refresh_at_start: false,
        },
    )
    .unwrap();

    // A new market and a closed one.
    post(
        &v,
        "/admin/gamma/market",
        &json!({"market": later.condition_id, "listed": true}),
    );
    post(
        &v,
        "/admin/gamma/market",
        &json!({"market": binary.condition_id, "set": {"closed": true}}),
    );
    handle.refresh_now();
    let u = next_update(&rx);
    let later_id = ConditionId::parse(&later.condition_id).unwrap();
    let closed_id = ConditionId::parse(&binary.condition_id).unwrap();
    assert_eq!(u.report.diff.new, vec![later_id]);
    assert_eq!(u.report.diff.closed, vec![closed_id]);
    let sub: BTreeSet<String> = u.subscribe.iter().map(|(_, t)| t.to_string()).collect();
    assert_eq!(sub, later.token_ids.iter().cloned().collect());
    // Indices of known assets are stable; the closed market's are unsubscribed.
    let old: BTreeSet<_> = binary
        .token_ids
        .iter()
        .map(|t| registry.lookup(t.as_bytes()).unwrap())
        .collect();
    assert_eq!(u.unsubscribe.iter().copied().collect::<BTreeSet<_>>(), old);
    let cmds = u.feed_commands();
    assert!(
        matches!(&cmds[..], [FeedCommand::Subscribe(s), FeedCommand::Unsubscribe(x)] if s.len() == 2 && x.len() == 2)
    );

    // A failed refresh keeps everything and says so.
    fault(&v, json!({"kind": "fail", "count": 10, "status": 502}));
    handle.refresh_now();
    match rx.recv_timeout(Duration::from_secs(30)).unwrap() {
        CatalogNotice::RefreshFailed { consecutive, .. } => assert_eq!(consecutive, 1),
        other => panic!("expected a failure, got {other:?}"),
    }
    fault(&v, json!({"kind": "clear"}));

    // A rule change and its acknowledgement through the handle.
    post(
        &v,
        "/admin/rules",
        &json!({"market": later.condition_id, "resolution_source": "https://elsewhere.invalid"}),
    );
    handle.refresh_now();
    let u = next_update(&rx);
    assert_eq!(u.newly_halted, vec![later_id]);
    assert!(u.subscribe.is_empty() && u.unsubscribe.is_empty());
    handle.ack(later_id);
    match rx.recv_timeout(Duration::from_secs(30)).unwrap() {
        CatalogNotice::Acked { market, changes } => assert_eq!((market, changes), (later_id, 1)),
        other => panic!("expected an ack, got {other:?}"),
    }
    let u = next_update(&rx);
    assert_eq!(u.resumed, vec![later_id]);
    let state = handle.shutdown().expect("the thread returns its state");
    assert!(state.selection().halted.is_empty());
}

#[test]
fn hostile_gamma_data_is_counted_and_survived() {
    let dir = scratch("catalog-hostile");
    let good = |i: u32| {
        json!({"id": format!("{}", 900 + i), "conditionId": format!("0x{:064x}", 0xabc0 + i),
               "question": format!("Good {i}?"), "outcomes": "[\"Yes\", \"No\"]",
               "clobTokenIds": format!("[\"{}\", \"{}\"]", 7000 + 2 * i, 7001 + 2 * i),
               "active": true, "closed": false, "acceptingOrders": true, "enableOrderBook": true,
               "orderPriceMinTickSize": 0.01, "orderMinSize": 5})
    };
    let mut items = vec![good(1), good(2), good(3)];
    let mut bad = |over: serde_json::Value| {
        let mut m = good(10 + items.len() as u32);
        for (k, v) in over.as_object().unwrap() {
            m[k] = v.clone();
        }
        items.push(m);
    };
    bad(json!({"active": "yes"})); // wrong type
    bad(json!({"conditionId": null})); // missing id
    bad(json!({"id": null}));
    bad(json!({"clobTokenIds": "[\"not a number\", \"1\"]"}));
    bad(json!({"outcomes": "[\"Yes\"]"}));
    bad(json!({"orderPriceMinTickSize": 0.0100000000000001}));
    bad(json!({"clobTokenIds": ["1e5", {"x": 1}]}));
    bad(json!({"question": {"nested": [1, 2, {"deep": null}]}}));
    let file = dir.join("hostile_markets.json");
    std::fs::write(&file, serde_json::to_vec(&items).unwrap()).unwrap();
    let v = venue_with(10, 27, |c| c.gamma.files = vec![file.clone()]);
    let mut cfg = catalog_config(&v);
    cfg.source = ListingSource::Markets;
    // No server-side filter: every hostile item reaches the client.
    cfg.markets_query = Default::default();
    let (mut s, u) = refresh_once(&cfg);
    let r = &u.report.normalize;
    assert_eq!((r.markets_seen, r.markets_kept), (11, 3));
    assert_eq!(r.skipped[&SkipReason::Malformed], 2);
    assert_eq!(r.skipped[&SkipReason::MissingConditionId], 1);
    assert_eq!(r.skipped[&SkipReason::MissingGammaId], 1);
    assert_eq!(r.skipped[&SkipReason::BadTokenIds], 2);
    assert_eq!(r.skipped[&SkipReason::OutcomeCountMismatch], 1);
    assert_eq!(r.skipped[&SkipReason::BadTickSize], 1);
    // The three markets kept are plain binaries: no group.
    assert_eq!(u.catalog.markets.len(), 3);
    assert!(u.selection.groups.is_empty());

    // A 20 MB page: the refresh fails cleanly and the catalog stays as it was.
    fault(
        &v,
        json!({"kind": "huge_body", "count": 1, "bytes": 20_000_000}),
    );
    let e = s.refresh(&mut GammaSource::new(&cfg)).unwrap_err();
    assert!(e.to_string().contains("larger than"), "{e}");
    assert_eq!(s.catalog().markets.len(), 3);
    assert!(s.selection().groups.is_empty());
    let u = s.refresh(&mut GammaSource::new(&cfg)).unwrap();
    assert!(u.report.diff.is_empty());
    let _ = std::fs::remove_dir_all(dir);
}
