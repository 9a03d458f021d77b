//! The SQLite catalog store across "restarts": change detection against stored rows, rule
//! changes detected by a fresh process, halts that persist until an ack from another connection.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::*;
use crate::catalog::filter::CatalogFilters;
use crate::catalog::normalize::normalize_events;
use crate::catalog::source::Fetched;
use crate::catalog::state::CatalogState;
use crate::catalog::testing::{binary_event, cond, neg_risk_event, raws};
use crate::catalog::{Detected, MarketField};
use testkit::ScratchDir;

const NOW_MS: u64 = 1_800_000_000_000;

fn fetched(events: &[Value]) -> Fetched {
    let (catalog, report) = normalize_events(&raws(events), NOW_MS, true, &BTreeMap::new());
    Fetched {
        catalog,
        report,
        pages: 1,
        truncated: None,
    }
}

fn cid(i: u32) -> ConditionId {
    ConditionId::parse(&cond(i)).unwrap()
}

fn world() -> Vec<Value> {
    vec![
        binary_event(1, json!({})),
        binary_event(2, json!({})),
        neg_risk_event(0, 10, 3, false),
    ]
}

/// A fresh process: a new state over a new connection to the same file.
fn process(db: &Path) -> CatalogState {
    CatalogState::new(
        CatalogFilters::default(),
        Box::new(SqliteCatalogStore::open_path(db).unwrap()),
    )
}

#[test]
fn upserts_detect_changes_and_halts_survive_restarts() {
    let dir = ScratchDir::new("catalog-sqlite");
    let db = dir.path().join("c.db");
    let u = process(&db).apply(fetched(&world()), NOW_MS);
    assert_eq!(u.report.stored.new.len(), 5);
    assert!(u.report.rule_changes.is_empty());

    // Restart; market 1 closes, market 2's tick changes, market 11's rules change.
    let mut w = world();
    w[0]["markets"][0]["closed"] = json!(true);
    w[1]["markets"][0]["orderPriceMinTickSize"] = json!(0.001);
    w[2]["markets"][1]["description"] = json!("New rules: resolves YES on a coin flip.");
    let mut s = process(&db);
    let u = s.apply(fetched(&w), NOW_MS + 1_000);
    let st = &u.report.stored;
    assert!(st.new.is_empty(), "{st:?}");
    assert_eq!(st.closed, vec![cid(1)]);
    let changed: BTreeMap<_, _> = st
        .changed
        .iter()
        .map(|c| (c.condition_id, c.fields.clone()))
        .collect();
    assert_eq!(changed[&cid(2)], vec![MarketField::TickSize]);
    assert_eq!(changed[&cid(11)], vec![MarketField::Description]);
    assert_eq!(u.report.rule_changes.len(), 1);
    assert_eq!(
        u.report.rule_changes[0].detail, "description",
        "the stored version says which rule field changed"
    );
    assert_eq!(
        u.selection.halted.len(),
        3,
        "market 11 and its neg-risk group"
    );

    // The change log and the rule history are in the database.
    let store = SqliteCatalogStore::open_path(&db).unwrap();
    let log = store.change_log(&cid(1)).unwrap();
    let kinds: Vec<&str> = log.iter().map(|c| c.kind.as_str()).collect();
    assert_eq!(kinds, ["new", "closed"]);
    let hist = store.rule_hash_history(&cid(11)).unwrap();
    assert_eq!(hist.len(), 2);
    assert!(hist[0].old_hash.is_none() && !hist[0].is_pending());
    assert!(hist[1].is_pending());
    assert_eq!(
        store.market(&cid(2)).unwrap().unwrap().tick.to_string(),
        "0.001"
    );

    // Another restart: still halted, nothing new recorded.
    let u = process(&db).apply(fetched(&w), NOW_MS + 2_000);
    assert!(u.report.rule_changes.is_empty());
    assert_eq!(u.selection.halted.len(), 3);

    // `polyarb catalog ack` from another connection ends the halt for every process.
    let mut other = SqliteCatalogStore::open_path(&db).unwrap();
    assert_eq!(other.ack(&cid(11), 5).unwrap(), 1);
    assert_eq!(other.ack(&cid(11), 6).unwrap(), 0);
    let u = process(&db).apply(fetched(&w), NOW_MS + 3_000);
    assert!(u.selection.halted.is_empty());
    assert!(other.pending_rule_changes().unwrap().is_empty());
}

#[test]
fn detect_kinds() {
    let u = {
        let dir = ScratchDir::new("catalog-detect");
        process(&dir.path().join("d.db")).apply(fetched(&world()), NOW_MS)
    };
    let m = u.catalog.market(&cid(1)).unwrap();
    assert_eq!(detect(None, m).0, Detected::New);
    assert_eq!(detect(Some(m), m).0, Detected::Same);
    let mut r = m.clone();
    r.closed = true;
    r.status = crate::catalog::MarketStatus::Resolved;
    let (k, also) = detect(Some(m), &r);
    assert_eq!(k, Detected::Resolved);
    assert!(!also.contains(&MarketField::Status));
}

#[test]
fn a_refused_row_does_not_lose_the_others() {
    let dir = ScratchDir::new("catalog-refused");
    let mut store = SqliteCatalogStore::open_path(&dir.path().join("r.db")).unwrap();
    let u = process(&dir.path().join("x.db")).apply(fetched(&world()), NOW_MS);
    let mut long = u.catalog.market(&cid(1)).unwrap().clone();
    long.slug = "s".repeat(10_000);
    let ok = u.catalog.market(&cid(2)).unwrap();
    let r = store.upsert_markets(&[&long, ok], 1).unwrap();
    assert_eq!(r.refused.len(), 1);
    assert_eq!(r.refused[0].0, cid(1));
    assert!(store.market(&cid(2)).unwrap().is_some());
    assert!(store.market(&cid(1)).unwrap().is_none());
}

#[test]
fn a_corrupt_stored_row_is_skipped_and_replaced() {
    let dir = ScratchDir::new("catalog-corrupt");
    let db = dir.path().join("c.db");
    process(&db).apply(fetched(&world()), NOW_MS);
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute(
        "UPDATE markets SET catalog_json = '{\"not\": \"a market\"}', rule_hash = 'zz' WHERE condition_id = ?1",
        [cond(1)],
    )
    .unwrap();
    let store = SqliteCatalogStore::open_path(&db).unwrap();
    assert_eq!(store.markets().unwrap().len(), 4, "the bad row is skipped");
    assert!(store.market(&cid(1)).is_err());
    assert!(store.rule_hash(&cid(1)).is_err());
    // A refresh survives it (the market reads as new, its rules as first seen) and repairs it.
    let u = process(&db).apply(fetched(&world()), NOW_MS + 1_000);
    assert_eq!(u.report.stored.new, vec![cid(1)]);
    assert!(u.report.rule_changes.is_empty());
    assert!(
        !u.report.store_errors.is_empty(),
        "the bad hash is reported"
    );
    assert_eq!(store.markets().unwrap().len(), 5);
}
