//! Gamma-shaped JSON for the catalog's unit tests: a valid market and event that each test
//! bends into the case it needs.

use serde_json::value::RawValue;
use serde_json::{Value, json};

/// A condition id whose last bytes are `i`.
pub fn cond(i: u32) -> String {
    format!("0x{:064x}", 0xc0de_0000_0000u64 + u64::from(i))
}

/// A token id for market `i`, outcome `o`.
pub fn token(i: u32, o: u32) -> String {
    format!("{}", 1_000_000_000_000u64 * u64::from(i + 1) + u64::from(o))
}

/// A neg-risk market id for group `g` (low byte zero, like the adapter's).
pub fn nr_id(g: u32) -> String {
    format!("0x{:062x}00", 0xabcd_0000u64 + u64::from(g))
}

/// A valid, tradeable binary market `i`, with `over` merged on top (null values stay null).
pub fn market(i: u32, over: Value) -> Value {
    let mut m = json!({
        "id": format!("{}", 500_000 + i),
        "question": format!("Will thing {i} happen?"),
        "conditionId": cond(i),
        "questionID": format!("0x{:064x}", i),
        "slug": format!("thing-{i}"),
        "description": format!("Resolves YES if thing {i} happens."),
        "resolutionSource": "https://example.com",
        "endDate": "2030-01-01T00:00:00Z",
        "outcomes": "[\"Yes\", \"No\"]",
        "outcomePrices": "[\"0.4\", \"0.6\"]",
        "clobTokenIds": format!("[\"{}\", \"{}\"]", token(i, 0), token(i, 1)),
        "active": true, "closed": false, "archived": false,
        "acceptingOrders": true, "enableOrderBook": true,
        "negRisk": false, "negRiskOther": false,
        "orderPriceMinTickSize": 0.01, "orderMinSize": 5,
        "bestBid": 0.39, "bestAsk": 0.41, "lastTradePrice": 0.4,
        "volumeNum": 1000.5, "liquidityNum": 2500.0, "volume24hr": 100.0,
        "feesEnabled": false, "feeType": null
    });
    merge(&mut m, over);
    m
}

/// A neg-risk event `g` with `n` questions (markets `base..base+n`).
pub fn neg_risk_event(g: u32, base: u32, n: u32, augmented: bool) -> Value {
    let markets: Vec<Value> = (0..n)
        .map(|q| {
            market(
                base + q,
                json!({"negRisk": true, "negRiskMarketID": nr_id(g),
                       "groupItemTitle": format!("Candidate {q}")}),
            )
        })
        .collect();
    json!({
        "id": format!("{}", 200_000 + g), "slug": format!("group-{g}"),
        "title": format!("Group {g}"), "negRisk": true, "negRiskMarketID": nr_id(g),
        "enableNegRisk": true, "negRiskAugmented": augmented,
        "tags": [{"id": "2", "label": "Politics", "slug": "politics"}],
        "markets": markets
    })
}

/// A binary event wrapping market `i`.
pub fn binary_event(i: u32, over: Value) -> Value {
    json!({
        "id": format!("{}", 100_000 + i), "slug": format!("thing-{i}"),
        "title": format!("Thing {i}"), "negRisk": false,
        "tags": [{"id": "1", "label": "Sports", "slug": "sports"}],
        "markets": [market(i, over)]
    })
}

pub fn merge(base: &mut Value, over: Value) {
    if let (Some(b), Value::Object(o)) = (base.as_object_mut(), over) {
        for (k, v) in o {
            b.insert(k, v);
        }
    }
}

pub fn raw(v: &Value) -> Box<RawValue> {
    RawValue::from_string(v.to_string()).expect("valid JSON")
}

pub fn raws(vs: &[Value]) -> Vec<Box<RawValue>> {
    vs.iter().map(raw).collect()
}
