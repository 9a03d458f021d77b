//! Normalization: exact fields, every skip reason, events and neg-risk context.

use std::collections::BTreeMap;

use serde_json::json;

use super::*;
use crate::catalog::model::{Market, MarketStatus};
use crate::catalog::testing::{
    binary_event, cond, market, neg_risk_event, nr_id, raw, raws, token,
};
use crate::core::{Price, Size, TickSize};

fn one(v: serde_json::Value) -> Result<Market, SkipReason> {
    let (c, r) = normalize_markets(&raws(&[v]), 0, true, &BTreeMap::new());
    match c.markets.into_values().next() {
        Some(m) => Ok(m),
        None => Err(*r.skipped.keys().next().expect("a skip reason")),
    }
}

#[test]
fn a_good_market_is_exact() {
    let m = one(market(
        1,
        json!({"orderPriceMinTickSize": 0.001, "orderMinSize": 2.5,
               "feeSchedule": {"exponent": 2, "rate": 0.072, "rebateRate": 0.25, "takerOnly": true},
               "feesEnabled": true, "feeType": "crypto_fees"}),
    ))
    .unwrap();
    assert_eq!(m.condition_id.to_string(), cond(1));
    assert_eq!(m.tick, TickSize::MILLI);
    assert_eq!(m.min_order_size, Size(2_500_000));
    assert_eq!(
        m.fees,
        Some(FeeSchedule {
            rate_ppm: 72_000,
            exponent: 2,
            taker_only: true
        })
    );
    // Outcome i ↔ token i, in Gamma's order.
    assert_eq!(m.outcomes[0].name, "Yes");
    assert_eq!(m.outcomes[0].token.to_string(), token(1, 0));
    assert_eq!(m.outcomes[1].token.to_string(), token(1, 1));
    assert_eq!(m.outcomes[0].price, Some(Price(400_000)));
    assert_eq!(
        (m.best_bid, m.best_ask),
        (Some(Price(390_000)), Some(Price(410_000)))
    );
    assert_eq!(m.status, MarketStatus::Open);
    assert!(m.is_tradeable());
    assert_eq!(m.end_unix_s, Some(1_893_456_000));
    assert_eq!(m.liquidity, Some(2500.0));
}

#[test]
fn every_inconsistency_is_a_counted_skip() {
    use SkipReason as S;
    let cases = [
        (json!({"id": null}), S::MissingGammaId),
        (json!({"conditionId": null}), S::MissingConditionId),
        (json!({"conditionId": "0x12"}), S::BadConditionId),
        (json!({"clobTokenIds": null}), S::MissingTokenIds),
        (json!({"clobTokenIds": "[]"}), S::MissingTokenIds),
        (json!({"clobTokenIds": "[\"\", \"\"]"}), S::MissingTokenIds),
        (json!({"clobTokenIds": "[\"12a\", \"13\"]"}), S::BadTokenIds),
        (json!({"clobTokenIds": "[\"7\", \"7\"]"}), S::BadTokenIds),
        (json!({"clobTokenIds": "not json"}), S::BadTokenIds),
        (json!({"outcomes": null}), S::MissingOutcomes),
        (json!({"outcomes": "[\"Yes\"]"}), S::OutcomeCountMismatch),
        (
            json!({"outcomes": "[\"A\", \"B\", \"C\"]"}),
            S::OutcomeCountMismatch,
        ),
        (json!({"outcomes": 7}), S::BadOutcomes),
        (
            json!({"outcomePrices": "[\"0.5\"]"}),
            S::OutcomePricesMismatch,
        ),
        (json!({"orderPriceMinTickSize": null}), S::MissingTickSize),
        (json!({"orderPriceMinTickSize": 0.003}), S::BadTickSize),
        (
            json!({"orderPriceMinTickSize": 0.0100000000000002}),
            S::BadTickSize,
        ),
        (json!({"orderPriceMinTickSize": "abc"}), S::BadTickSize),
        (json!({"orderMinSize": null}), S::MissingMinOrderSize),
        (json!({"orderMinSize": -5}), S::BadMinOrderSize),
        (json!({"feeSchedule": {"rate": 1.5}}), S::BadFeeSchedule),
        (json!({"feeSchedule": {"exponent": 1}}), S::BadFeeSchedule),
        (
            json!({"feeSchedule": {"rate": 0.03, "exponent": 1.5}}),
            S::BadFeeSchedule,
        ),
        (json!({"negRisk": true}), S::NegRiskWithoutMarketId),
        (
            json!({"negRisk": true, "negRiskMarketID": "0x1"}),
            S::BadNegRiskMarketId,
        ),
        (json!({"active": "yes"}), S::Malformed),
        (json!({"question": 17}), S::Malformed),
        (json!({"events": "nope"}), S::Malformed),
    ];
    for (over, want) in cases {
        assert_eq!(one(market(1, over.clone())).err(), Some(want), "{over}");
    }
    // Not even an object.
    let (c, r) = normalize_markets(
        &raws(&[json!(5), json!("x"), json!([1])]),
        0,
        true,
        &BTreeMap::new(),
    );
    assert!(c.markets.is_empty());
    assert_eq!(r.skipped[&S::Malformed], 3);
}

#[test]
fn duplicates_keep_the_first_and_count_the_rest() {
    let a = market(1, json!({}));
    let b = market(1, json!({"question": "again"}));
    let c = market(
        2,
        json!({"clobTokenIds": format!("[\"{}\", \"99\"]", token(1, 0))}),
    );
    let d = market(3, json!({}));
    let (cat, r) = normalize_markets(&raws(&[a, b, c, d]), 0, true, &BTreeMap::new());
    assert_eq!(cat.markets.len(), 2);
    assert_eq!(r.markets_seen, 4);
    assert_eq!(r.markets_kept, 2);
    assert_eq!(r.skipped[&SkipReason::DuplicateMarket], 1);
    assert_eq!(r.skipped[&SkipReason::DuplicateToken], 1);
    assert_eq!(
        cat.markets.values().next().unwrap().question,
        "Will thing 1 happen?"
    );
}

#[test]
fn optional_fields_degrade_alone() {
    let m = one(market(
        1,
        json!({"bestBid": "x", "bestAsk": 1.7, "outcomePrices": "[\"0.4000000000001\", \"0.6\"]",
               "volumeNum": "lots", "endDate": "someday", "lastTradePrice": null}),
    ))
    .unwrap();
    assert_eq!((m.best_bid, m.best_ask, m.last_trade), (None, None, None));
    assert_eq!(m.outcomes[0].price, None);
    assert_eq!(m.outcomes[1].price, Some(Price(600_000)));
    assert_eq!(m.volume, None);
    assert_eq!(m.end_unix_s, None);
}

#[test]
fn fees_known_free_or_unknown() {
    let free = one(market(1, json!({"feesEnabled": false}))).unwrap();
    assert_eq!(free.fees, Some(FeeSchedule::FREE));
    let unknown = one(market(
        1,
        json!({"feesEnabled": true, "feeType": "crypto_fees"}),
    ))
    .unwrap();
    assert_eq!(unknown.fees, None);
    let mut defaults = BTreeMap::new();
    let crypto = FeeSchedule {
        rate_ppm: 72_000,
        exponent: 1,
        taker_only: true,
    };
    defaults.insert("crypto_fees".to_string(), crypto);
    let (c, _) = normalize_markets(
        &raws(&[market(
            1,
            json!({"feesEnabled": true, "feeType": "crypto_fees"}),
        )]),
        0,
        true,
        &defaults,
    );
    assert_eq!(c.markets.values().next().unwrap().fees, Some(crypto));
}

#[test]
fn status_closed_and_resolved() {
    let closed = one(market(
        1,
        json!({"closed": true, "outcomePrices": "[\"0.7\", \"0.3\"]"}),
    ))
    .unwrap();
    assert_eq!(closed.status, MarketStatus::Closed);
    assert!(!closed.is_tradeable());
    let resolved = one(market(
        1,
        json!({"closed": true, "outcomePrices": "[\"1\", \"0\"]"}),
    ))
    .unwrap();
    assert_eq!(resolved.status, MarketStatus::Resolved);
    let uma = one(market(
        1,
        json!({"closed": true, "umaResolutionStatus": "resolved"}),
    ))
    .unwrap();
    assert_eq!(uma.status, MarketStatus::Resolved);
    let no = one(market(
        1,
        json!({"closed": true, "outcomePrices": "[\"0\", \"1\"]"}),
    ))
    .unwrap();
    assert!(no.resolved_no());
}

#[test]
fn events_carry_neg_risk_context_and_membership() {
    let mut ev = neg_risk_event(0, 10, 3, false);
    // The event's id is the only place a market learns its negRiskMarketID from here.
    ev["markets"][1]["negRiskMarketID"] = serde_json::Value::Null;
    ev["markets"][2]["clobTokenIds"] = json!(null);
    let (c, r) = normalize_events(
        &raws(&[ev, binary_event(1, json!({}))]),
        0,
        true,
        &BTreeMap::new(),
    );
    assert_eq!(r.events_seen, 2);
    assert_eq!(r.skipped[&SkipReason::MissingTokenIds], 1);
    let e = &c.events["200000"];
    assert_eq!(e.listed_markets, Some(3));
    assert_eq!(e.markets.len(), 2);
    assert_eq!(e.neg_risk_market_id.unwrap().to_string(), nr_id(0));
    let nr = ConditionId::parse(&nr_id(0)).unwrap();
    assert_eq!(c.neg_risk_members(&nr).len(), 2);
    let m = c.market(&ConditionId::parse(&cond(11)).unwrap()).unwrap();
    assert_eq!(m.neg_risk.as_ref().unwrap().market_id, nr);
    assert!(m.tags.contains(&"politics".to_string()));
    assert_eq!(m.event_id.as_deref(), Some("200000"));
    let b = c.market(&ConditionId::parse(&cond(1)).unwrap()).unwrap();
    assert!(b.neg_risk.is_none());
    assert!(b.tags.contains(&"sports".to_string()));
}

#[test]
fn markets_listing_reads_its_event_from_events0() {
    let m = market(
        3,
        json!({"negRisk": true, "negRiskMarketID": nr_id(1), "groupItemTitle": "Person B",
               "events": [{"id": "77", "slug": "aug", "negRisk": true, "negRiskAugmented": true,
                           "tags": [{"id": "5", "slug": "world", "label": "World"}]}]}),
    );
    let (c, _) = normalize_markets(&[raw(&m)], 0, true, &BTreeMap::new());
    let m = c.markets.values().next().unwrap();
    let n = m.neg_risk.as_ref().unwrap();
    assert!(n.augmented && n.placeholder && !n.other);
    assert_eq!(c.events["77"].listed_markets, None);
    assert!(m.tags.contains(&"world".to_string()));
}

#[test]
fn placeholders() {
    for t in [
        "Person A",
        "Player BB",
        "team C",
        "Candidate Z",
        "Other placeholder",
    ] {
        assert!(looks_like_placeholder(t), "{t}");
    }
    for t in [
        "Gavin Newsom",
        "Person 1",
        "Outcome 0",
        "Other",
        "Team Liquid",
        "Person ABC",
    ] {
        assert!(!looks_like_placeholder(t), "{t}");
    }
}

#[test]
fn a_malformed_event_costs_only_itself() {
    let bad = json!({"id": "1", "negRisk": "very", "markets": [market(1, json!({}))]});
    let (c, r) = normalize_events(
        &raws(&[bad, binary_event(2, json!({}))]),
        0,
        true,
        &BTreeMap::new(),
    );
    assert_eq!(r.skipped[&SkipReason::MalformedEvent], 1);
    assert_eq!(c.markets.len(), 1);
}
