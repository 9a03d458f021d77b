//! Refresh semantics on fetched snapshots (no network): groups, halts, diffs, feed deltas.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::*;
use crate::catalog::filter::NegRiskFilter;
use crate::catalog::normalize::{normalize_events, normalize_markets};
use crate::catalog::select::GroupKey;
use crate::catalog::store::MemoryStore;
use crate::catalog::testing::{binary_event, cond, market, neg_risk_event, nr_id, raws, token};

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

fn state() -> CatalogState {
    CatalogState::new(CatalogFilters::default(), Box::new(MemoryStore::new()))
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

#[test]
fn neg_risk_groups_with_stable_ids_and_no_binary_groups() {
    let mut s = state();
    let u = s.apply(fetched(&world()), NOW_MS);
    let sel = &u.selection;
    assert_eq!(sel.watched.len(), 5);
    assert_eq!(sel.watched_assets.len(), 10);
    assert_eq!(sel.registry.len(), 10);
    // 1 neg-risk group of the 3 questions; a binary market is no group (one book on the venue).
    assert_eq!(sel.groups.len(), 1);
    let (g, info) = sel
        .groups
        .iter()
        .zip(&sel.group_info)
        .find(|(_, i)| matches!(i.key, GroupKey::NegRisk(_)))
        .unwrap();
    assert_eq!(g.assets.len(), 3);
    for (a, q) in g.assets.iter().zip(10..13) {
        assert_eq!(&*sel.registry.info(*a).unwrap().token_str, token(q, 0));
    }
    for (a, q) in g.no_assets.iter().zip(10..13) {
        assert_eq!(&*sel.registry.info(*a).unwrap().token_str, token(q, 1));
    }
    assert_eq!(info.markets, vec![cid(10), cid(11), cid(12)]);
    assert_eq!(u.subscribe.len(), 10);
    assert!(u.unsubscribe.is_empty());
    let ids: Vec<u32> = sel.groups.iter().map(|g| g.id).collect();
    s.commit(&u);
    // Same catalog again: same indices, same ids, nothing to (un)subscribe.
    let u2 = s.apply(fetched(&world()), NOW_MS + 1);
    assert_eq!(
        u2.selection.groups.iter().map(|g| g.id).collect::<Vec<_>>(),
        ids
    );
    assert!(u2.subscribe.is_empty() && u2.unsubscribe.is_empty());
    assert!(u2.report.diff.is_empty());
}

fn nr_group_count(u: &CatalogUpdate) -> usize {
    u.selection
        .group_info
        .iter()
        .filter(|i| matches!(i.key, GroupKey::NegRisk(_)))
        .count()
}

#[test]
fn neg_risk_groups_are_all_or_nothing() {
    // One question did not normalize: the event says 3, we have 2.
    let mut ev = neg_risk_event(0, 10, 3, false);
    ev["markets"][2]["orderMinSize"] = Value::Null;
    let u = state().apply(fetched(&[ev]), NOW_MS);
    assert_eq!(nr_group_count(&u), 0);
    assert_eq!(u.selection.not_grouped[&GroupSkip::Incomplete], 1);
    // Augmented: never a complete set.
    let u = state().apply(fetched(&[neg_risk_event(0, 10, 3, true)]), NOW_MS);
    assert_eq!(u.selection.not_grouped[&GroupSkip::Augmented], 1);
    // One question not accepting orders.
    let mut ev = neg_risk_event(0, 10, 3, false);
    ev["markets"][0]["acceptingOrders"] = json!(false);
    let u = state().apply(fetched(&[ev]), NOW_MS);
    assert_eq!(nr_group_count(&u), 0);
    // Different fee schedules.
    let mut ev = neg_risk_event(0, 10, 3, false);
    ev["markets"][0]["feeSchedule"] = json!({"rate": 0.04, "exponent": 1});
    let u = state().apply(fetched(&[ev]), NOW_MS);
    assert_eq!(u.selection.not_grouped[&GroupSkip::MixedFees], 1);
    // A question that closed resolved NO pays nothing: the others still make a set.
    let mut ev = neg_risk_event(0, 10, 4, false);
    ev["markets"][3]["closed"] = json!(true);
    ev["markets"][3]["outcomePrices"] = json!("[\"0\", \"1\"]");
    let u = state().apply(fetched(&[ev]), NOW_MS);
    assert_eq!(nr_group_count(&u), 1);
    let g = u.selection.groups.iter().find(|g| g.assets.len() == 3);
    assert!(g.is_some());
    // A question closed without a known outcome: incomplete.
    let mut ev = neg_risk_event(0, 10, 3, false);
    ev["markets"][2]["closed"] = json!(true);
    let u = state().apply(fetched(&[ev]), NOW_MS);
    assert_eq!(nr_group_count(&u), 0);
}

#[test]
fn markets_listing_groups_only_when_complete() {
    let items: Vec<Value> = (0..3)
        .map(|q| {
            market(
                10 + q,
                json!({"negRisk": true, "negRiskMarketID": nr_id(0)}),
            )
        })
        .collect();
    let (catalog, report) = normalize_markets(&raws(&items), NOW_MS, true, &BTreeMap::new());
    let f = Fetched {
        catalog,
        report,
        pages: 1,
        truncated: None,
    };
    assert_eq!(nr_group_count(&state().apply(f, NOW_MS)), 1);
    let (catalog, report) = normalize_markets(&raws(&items), NOW_MS, false, &BTreeMap::new());
    let f = Fetched {
        catalog,
        report,
        pages: 1,
        truncated: Some(Truncation::OffsetCap {
            next_offset: 10_100,
        }),
    };
    let u = state().apply(f, NOW_MS);
    assert_eq!(u.selection.not_grouped[&GroupSkip::TruncatedListing], 1);
}

#[test]
fn a_rule_change_halts_the_market_and_its_group_until_acked() {
    let mut s = state();
    let u = s.apply(fetched(&world()), NOW_MS);
    s.commit(&u);
    assert!(
        u.report.rule_changes.is_empty(),
        "first sightings are not changes"
    );
    let mut changed = world();
    changed[2]["markets"][1]["description"] = json!("New rules: resolves YES on a coin flip.");
    let u = s.apply(fetched(&changed), NOW_MS + 1_000);
    s.commit(&u);
    assert_eq!(u.report.rule_changes.len(), 1);
    let c = &u.report.rule_changes[0];
    assert_eq!(c.condition_id, cid(11));
    assert_eq!(c.detail, "description");
    assert!(c.is_pending());
    // The market and every question of its neg-risk event are halted.
    assert_eq!(
        u.newly_halted,
        vec![cid(10), cid(11), cid(12)]
            .into_iter()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
    );
    assert!(u.selection.groups.is_empty(), "the event's group is halted");
    assert_eq!(nr_group_count(&u), 0);
    // Still watched: data keeps flowing, trading stops.
    assert!(u.selection.watched.contains(&cid(11)));
    assert!(u.unsubscribe.is_empty());
    // A further refresh with the same new rules keeps the halt and records nothing new.
    let u = s.apply(fetched(&changed), NOW_MS + 2_000);
    s.commit(&u);
    assert!(u.report.rule_changes.is_empty());
    assert_eq!(u.selection.halted.len(), 3);
    // Acknowledging a sibling does nothing; acknowledging the changed market resumes all.
    let (n, _) = s.ack(&cid(10)).unwrap();
    assert_eq!(n, 0);
    let (n, u) = s.ack(&cid(11)).unwrap();
    s.commit(&u);
    assert_eq!(n, 1);
    assert_eq!(u.resumed.len(), 3);
    assert_eq!(nr_group_count(&u), 1);
    assert_eq!(u.selection.groups.len(), 1);
    let h = s.store().rule_hash_history(&cid(11)).unwrap();
    assert_eq!(h.len(), 2, "first sighting, then the change");
    assert!(h.iter().all(|c| !c.is_pending()));
}

#[test]
fn diff_new_changed_closed_gone() {
    let mut s = state();
    let u = s.apply(fetched(&world()), NOW_MS);
    s.commit(&u);
    assert_eq!(u.report.diff.new.len(), 5);
    let mut next = world();
    next.remove(1); // market 2 gone
    next[0]["markets"][0]["orderPriceMinTickSize"] = json!(0.001);
    next[0]["markets"][0]["acceptingOrders"] = json!(false);
    next[1]["markets"][0]["closed"] = json!(true);
    next.push(binary_event(3, json!({})));
    let u = s.apply(fetched(&next), NOW_MS + 1);
    let d = &u.report.diff;
    assert_eq!(d.new, vec![cid(3)]);
    assert_eq!(d.gone, vec![cid(2)]);
    assert_eq!(d.closed, vec![cid(10)]);
    let c1 = d.changed.iter().find(|c| c.condition_id == cid(1)).unwrap();
    assert_eq!(
        c1.fields,
        vec![MarketField::TickSize, MarketField::AcceptingOrders]
    );
    // Feed: market 3 subscribed; 1 (not accepting), 2 (gone), 10 (closed) unsubscribed.
    assert_eq!(u.subscribe.len(), 2);
    assert_eq!(u.unsubscribe.len(), 6);
    let cmds = u.feed_commands();
    assert!(matches!(&cmds[0], FeedCommand::Subscribe(v) if v.len() == 2));
    assert!(matches!(&cmds[1], FeedCommand::Unsubscribe(v) if v.len() == 6));
}

#[test]
fn a_truncated_listing_forgets_nothing() {
    let mut s = state();
    let u = s.apply(fetched(&world()), NOW_MS);
    s.commit(&u);
    let (catalog, report) = normalize_events(&raws(&world()[..1]), NOW_MS, false, &BTreeMap::new());
    let u = s.apply(
        Fetched {
            catalog,
            report,
            pages: 101,
            truncated: Some(Truncation::OffsetCap {
                next_offset: 10_050,
            }),
        },
        NOW_MS + 1,
    );
    assert!(u.report.diff.gone.is_empty());
    assert_eq!(u.catalog.markets.len(), 5);
    assert!(!u.catalog.complete);
    assert!(u.unsubscribe.is_empty());
}

#[test]
fn undelivered_updates_fold_into_the_next() {
    let mut s = state();
    let first = s.apply(fetched(&world()), NOW_MS);
    // Not committed (the consumer never got it): the next update still carries everything.
    let second = s.apply(fetched(&world()), NOW_MS + 1);
    assert_eq!(second.subscribe.len(), first.subscribe.len());
    s.commit(&second);
    let third = s.apply(fetched(&world()), NOW_MS + 2);
    assert!(third.subscribe.is_empty());
}

#[test]
fn filters_choose_what_is_watched() {
    let events = world();
    let check = |f: CatalogFilters| {
        let mut s = CatalogState::new(f, Box::new(MemoryStore::new()));
        s.apply(fetched(&events), NOW_MS).selection.watched.len()
    };
    let base = CatalogFilters::default;
    assert_eq!(
        check(CatalogFilters {
            neg_risk: NegRiskFilter::Only,
            ..base()
        }),
        3
    );
    assert_eq!(
        check(CatalogFilters {
            neg_risk: NegRiskFilter::Exclude,
            ..base()
        }),
        2
    );
    assert_eq!(
        check(CatalogFilters {
            tags: vec!["SPORTS".into()],
            ..base()
        }),
        2
    );
    assert_eq!(
        check(CatalogFilters {
            exclude_tags: vec!["politics".into()],
            ..base()
        }),
        2
    );
    assert_eq!(
        check(CatalogFilters {
            min_liquidity: 2500.0,
            ..base()
        }),
        5
    );
    assert_eq!(
        check(CatalogFilters {
            min_liquidity: 2500.5,
            ..base()
        }),
        0
    );
    assert_eq!(
        check(CatalogFilters {
            min_volume_24h: 100.0,
            ..base()
        }),
        5
    );
    // 2030-01-01 is about 4.3 years after NOW_MS (2027-01-15).
    assert_eq!(
        check(CatalogFilters {
            max_days_to_end: 365,
            ..base()
        }),
        0
    );
    assert_eq!(
        check(CatalogFilters {
            max_days_to_end: 2000,
            ..base()
        }),
        5
    );
    assert_eq!(
        check(CatalogFilters {
            min_hours_to_end: 24,
            ..base()
        }),
        5
    );
    assert_eq!(
        check(CatalogFilters {
            allow: vec![cond(1), "group-0".into()],
            ..base()
        }),
        4
    );
    assert_eq!(
        check(CatalogFilters {
            allow: vec![nr_id(0)],
            ..base()
        }),
        3
    );
    assert_eq!(
        check(CatalogFilters {
            deny: vec!["thing-2".into(), "500001".into()],
            ..base()
        }),
        3
    );
    // A neg-risk group needs every question watched: deny one and the group goes.
    let mut s = CatalogState::new(
        CatalogFilters {
            deny: vec![cond(12)],
            ..base()
        },
        Box::new(MemoryStore::new()),
    );
    let u = s.apply(fetched(&events), NOW_MS);
    assert_eq!(nr_group_count(&u), 0);
}
