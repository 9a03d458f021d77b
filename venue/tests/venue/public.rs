//! The venue's public reads and API-key endpoints over real loopback sockets, in production's
//! shapes (Polymarket's docs and clients; `fixtures/polymarket/clob_simple_endpoint_responses.json`,
//! `clob_market_real_2026.json`, `clob_markets_page_real_2024.json`).

use std::time::{SystemTime, UNIX_EPOCH};

use polyarb::adapters::polymarket::signing::auth::L2Signer;
use polyarb::adapters::polymarket::signing::{OrderSide, OrderType};
use polyarb::core::TickSize;
use polyarb_venue::{Venue, VenueConfig, VenueHandle};
use serde_json::{Value, json};
use venue_testkit::trading::{market, set_book, trader};
use venue_testkit::wire::agent;

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/../fixtures/polymarket/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).expect(&path)).unwrap()
}

fn get(v: &VenueHandle, path: &str) -> (u16, Value) {
    let mut r = agent()
        .get(format!("{}{path}", v.http_url()))
        .call()
        .unwrap();
    let status = r.status().as_u16();
    let text = r.body_mut().read_to_string().unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn post(v: &VenueHandle, path: &str, body: Value) -> (u16, Value) {
    let mut r = agent()
        .post(format!("{}{path}", v.http_url()))
        .send_json(&body)
        .unwrap();
    let status = r.status().as_u16();
    let text = r.body_mut().read_to_string().unwrap();
    (status, serde_json::from_str(&text).unwrap())
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().expect("an object").keys().cloned().collect();
    k.sort();
    k
}

fn same_keys(got: &Value, want: &Value, what: &str) {
    assert_eq!(keys(got), keys(want), "{what}: {got}");
}

#[test]
fn simple_reads_have_productions_shapes_and_the_books_values() {
    let v = venue_testkit::trading::venue();
    let m = market(&v);
    set_book(
        &v,
        &m.yes,
        &[("0.45", "100"), ("0.44", "5")],
        &[("0.48", "70")],
    );
    let simple = fixture("clob_simple_endpoint_responses.json");
    let yes = m.yes.to_string();
    let no = m.no.to_string();

    assert_eq!(get(&v, "/ok"), (200, json!("OK")));
    let (s, t) = get(&v, "/time");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert_eq!(s, 200);
    assert!(
        t.as_u64().unwrap().abs_diff(now) < 5,
        "/time is bare unix seconds: {t}"
    );

    let cases: [(&str, &str, Value); 8] = [
        ("/tick-size", "GET /tick-size?token_id=1", Value::Null),
        (
            "/neg-risk",
            "GET /neg-risk?token_id=1",
            json!({"neg_risk": false}),
        ),
        (
            "/fee-rate",
            "GET /fee-rate?token_id=1",
            json!({"base_fee": 0}),
        ),
        (
            "/midpoint",
            "GET /midpoint?token_id=1",
            json!({"mid": "0.465"}),
        ),
        (
            "/spread",
            "GET /spread?token_id=1",
            json!({"spread": "0.03"}),
        ),
        (
            "/price",
            "GET /price?token_id=1&side=BUY",
            json!({"price": "0.45"}),
        ),
        (
            "/last-trade-price",
            "GET /last-trade-price?token_id=1",
            Value::Null,
        ),
        (
            "/price",
            "GET /price?token_id=1&side=BUY",
            json!({"price": "0.48"}),
        ),
    ];
    for (i, (path, key, want)) in cases.iter().enumerate() {
        // The last case reads the SELL side: the best ask.
        let side = if i == 7 { "&side=SELL" } else { "&side=BUY" };
        let (s, got) = get(&v, &format!("{path}?token_id={yes}{side}"));
        assert_eq!(s, 200, "{path}: {got}");
        same_keys(&got, &simple[*key], path);
        if !want.is_null() {
            assert_eq!(&got, want, "{path}");
        }
    }
    let book = venue_testkit::trading::rest_book(&v, &m.yes);
    assert_eq!(
        get(&v, &format!("/tick-size?token_id={yes}")).1["minimum_tick_size"],
        book["tick_size"]
    );
    // The NO token answers from the mirrored book.
    assert_eq!(
        get(&v, &format!("/midpoint?token_id={no}")).1,
        json!({"mid": "0.535"})
    );
    assert_eq!(
        get(&v, &format!("/price?token_id={no}&side=BUY")).1,
        json!({"price": "0.52"})
    );

    let (_, mids) = post(
        &v,
        "/midpoints",
        json!([{"token_id": yes}, {"token_id": no}]),
    );
    assert_eq!(mids, json!({ yes.clone(): 0.465, no.clone(): 0.535 }));
    let (_, prices) = post(
        &v,
        "/prices",
        json!([{"token_id": yes, "side": "BUY"}, {"token_id": no, "side": "SELL"}]),
    );
    assert_eq!(
        prices,
        json!({ yes.clone(): {"BUY": 0.45}, no.clone(): {"SELL": 0.55} })
    );
    let (_, spreads) = post(&v, "/spreads", json!([{"token_id": yes}]));
    assert_eq!(spreads, json!({ yes.clone(): 0.03 }));
    let (_, last) = post(&v, "/last-trades-prices", json!([{"token_id": yes}]));
    same_keys(
        &last[0],
        &simple["GET /last-trades-prices [{token_id}]"][0],
        "/last-trades-prices",
    );
    assert_eq!(last[0]["token_id"], json!(yes));
    let (s, hist) = get(&v, &format!("/prices-history?market={yes}&interval=1d"));
    assert_eq!(s, 200);
    for p in hist["history"].as_array().unwrap() {
        assert_eq!(keys(p), ["p", "t"]);
    }

    // Refusals: a malformed token, an unknown one, a bad side.
    assert_eq!(
        get(&v, "/midpoint?token_id=abc"),
        (400, json!({"error": "Invalid token id"}))
    );
    assert_eq!(
        get(&v, "/midpoint?token_id=123"),
        (
            404,
            json!({"error": "No orderbook exists for the requested token id"})
        )
    );
    assert_eq!(get(&v, &format!("/price?token_id={yes}&side=UP")).0, 400);

    // A print: the buyer's token reads BUY at the price, the other outcome SELL at 1 - price.
    let t = trader(&v, 42);
    let p = t.signed(&m, m.yes, OrderSide::Buy, "0.48", "10", OrderType::Fok);
    t.client.post_order(&p).unwrap();
    assert_eq!(
        get(&v, &format!("/last-trade-price?token_id={yes}")).1,
        json!({"price": 0.48, "side": "BUY"})
    );
    assert_eq!(
        get(&v, &format!("/last-trade-price?token_id={no}")).1,
        json!({"price": 0.52, "side": "SELL"})
    );
}

#[test]
fn market_details_follow_the_v2_clients_keys() {
    let v = Venue::start({
        let mut c = VenueConfig::default();
        c.source.paused = true;
        c.model.binary_markets = 4;
        c.model.neg_risk_groups = 1;
        c.model.neg_risk_group_size = 2;
        c.model.fixed_ticks = ["0.1", "0.01", "0.001", "0.0001"]
            .iter()
            .map(|t| TickSize::parse(t).unwrap())
            .collect();
        c.gamma.fee_rate = polyarb::core::Price(72_000);
        c.gamma.fee_exponent = 2;
        c
    })
    .unwrap();
    let markets = v.markets();
    for (i, tick) in ["0.1", "0.01", "0.001", "0.0001"].iter().enumerate() {
        let m = &markets[i];
        let (s, by_token) = get(&v, &format!("/markets-by-token/{}", m.token_ids[1]));
        assert_eq!(s, 200);
        assert_eq!(by_token["condition_id"], json!(m.condition_id));
        let (s, d) = get(&v, &format!("/clob-markets/{}", m.condition_id));
        assert_eq!(s, 200, "{d}");
        assert_eq!(d["c"], json!(m.condition_id));
        assert_eq!(
            d["t"],
            json!([{"t": m.token_ids[0], "o": "Yes"}, {"t": m.token_ids[1], "o": "No"}])
        );
        assert_eq!(d["mts"].to_string(), *tick, "the tick is a JSON number");
        assert_eq!(d["nr"], json!(false));
        assert_eq!(d["fd"], json!({"r": 0.072, "e": 2, "to": true}));
        assert_eq!(d["mos"], json!(5));
        let (_, ts) = get(&v, &format!("/tick-size?token_id={}", m.token_ids[0]));
        assert_eq!(ts, json!({ "minimum_tick_size": tick }));
        // The CLOB's market object, with the real 2026 recording's keys.
        let (s, one) = get(&v, &format!("/markets/{}", m.condition_id));
        assert_eq!(s, 200);
        same_keys(
            &one,
            &fixture("clob_market_real_2026.json"),
            "/markets/{id}",
        );
        assert_eq!(one["minimum_tick_size"].to_string(), *tick);
    }
    let nr = markets.iter().find(|m| m.neg_risk).unwrap();
    assert_eq!(
        get(&v, &format!("/clob-markets/{}", nr.condition_id)).1["nr"],
        json!(true)
    );
    assert_eq!(
        get(&v, &format!("/neg-risk?token_id={}", nr.token_ids[0])).1,
        json!({"neg_risk": true})
    );
    let zero = format!("0x{}", "0".repeat(64));
    assert_eq!(get(&v, &format!("/clob-markets/{zero}")).0, 404);
    assert_eq!(get(&v, &format!("/markets/{zero}")).0, 404);
    assert_eq!(get(&v, "/markets-by-token/123").0, 404);

    let page = fixture("clob_markets_page_real_2024.json");
    for path in ["/markets", "/sampling-markets", "/simplified-markets"] {
        let (s, p) = get(&v, &format!("{path}?next_cursor=MA=="));
        assert_eq!(s, 200);
        same_keys(&p, &page, path);
        assert_eq!(p["count"], json!(markets.len()));
        assert_eq!(p["next_cursor"], json!("LTE="));
    }
    let (_, simple) = get(&v, "/simplified-markets");
    assert_eq!(
        keys(&simple["data"][0]),
        [
            "accepting_orders",
            "active",
            "archived",
            "closed",
            "condition_id",
            "rewards",
            "tokens"
        ]
    );
}

#[test]
fn api_keys_are_listed_and_deleted_with_l2_auth() {
    let v = venue_testkit::trading::venue();
    let t = trader(&v, 41);
    let signer = L2Signer::new(&t.creds, t.key.address()).unwrap();
    let call = |method: &str, path: &str| {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let h = signer.headers(now, method, path, b"");
        let url = format!("{}{path}", v.http_url());
        let agent = agent();
        let mut r = match method {
            "GET" => {
                let mut b = agent.get(&url);
                for (k, val) in h.pairs() {
                    b = b.header(k, val);
                }
                b.call().unwrap()
            }
            _ => {
                let mut b = agent.delete(&url);
                for (k, val) in h.pairs() {
                    b = b.header(k, val);
                }
                b.call().unwrap()
            }
        };
        let status = r.status().as_u16();
        let text = r.body_mut().read_to_string().unwrap();
        (status, serde_json::from_str::<Value>(&text).unwrap())
    };
    assert_eq!(
        call("GET", "/auth/api-keys"),
        (200, json!({"apiKeys": [t.creds.api_key]}))
    );
    assert_eq!(call("DELETE", "/auth/api-key"), (200, json!("OK")));
    // The key is gone: every L2 call with it is refused.
    assert_eq!(call("GET", "/auth/api-keys").0, 401);
    // Without headers: refused.
    assert_eq!(get(&v, "/auth/api-keys").0, 401);
}
