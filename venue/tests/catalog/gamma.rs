//! `GammaClient` against the venue's Gamma over real loopback: paging across many pages,
//! repeated-key filters, the offset cap and 422, retries on 5xx and 429 within bounds, and
//! hostile bodies (20 MB, not JSON) refused without harm.

use std::collections::BTreeSet;

use polyarb::adapters::polymarket::gamma::{
    EventsQuery, GammaClient, GammaClientConfig, GammaError, GammaMarket, MarketsQuery, Paging,
    Truncation,
};
use serde_json::json;
use venue_testkit::catalog::{client, fast_http, fault, get, stats};
use venue_testkit::wire::{venue, venue_with};

fn conditions(items: &[Box<serde_json::value::RawValue>]) -> Vec<String> {
    items
        .iter()
        .map(|r| {
            serde_json::from_str::<GammaMarket>(r.get())
                .unwrap()
                .condition_id
                .unwrap()
        })
        .collect()
}

#[test]
fn pages_through_every_market_and_event() {
    let v = venue(300, 3);
    let want: BTreeSet<String> = v.markets().into_iter().map(|m| m.condition_id).collect();
    assert_eq!(want.len(), 150);
    let c = client(&v);
    let paging = Paging {
        limit: 7,
        ..Paging::default()
    };
    let l = c.markets(&MarketsQuery::open(), paging).unwrap();
    // 150 = 21 × 7 + 3: 22 pages, the last one short.
    assert_eq!(l.pages, 22);
    assert!(l.truncated.is_none());
    let got = conditions(&l.items);
    assert_eq!(got.len(), 150, "no market twice, none missed");
    assert_eq!(got.iter().cloned().collect::<BTreeSet<_>>(), want);
    assert_eq!(stats(&v).markets_requests, 22);

    // Exactly a multiple of the limit: one more (empty) page says it is the end.
    let l = c
        .markets(
            &MarketsQuery::open(),
            Paging {
                limit: 50,
                ..Paging::default()
            },
        )
        .unwrap();
    assert_eq!((l.pages, l.items.len()), (4, 150));

    // Events: 122 binary events + 7 neg-risk groups of 4.
    let l = c
        .events(
            &EventsQuery::open(),
            Paging {
                limit: 20,
                ..Paging::default()
            },
        )
        .unwrap();
    assert_eq!(l.items.len(), 129);
    assert_eq!(l.pages, 7);
    // Limit above Gamma's cap is clamped to 100.
    let page = c.markets_page(&MarketsQuery::open(), 500, 0).unwrap();
    assert_eq!(page.len(), 100);
    let (s, body) = get(&v, "/gamma/markets?limit=500");
    assert_eq!(s, 200);
    assert_eq!(
        serde_json::from_str::<Vec<serde_json::Value>>(&body)
            .unwrap()
            .len(),
        100
    );
}

#[test]
fn list_filters_are_repeated_keys() {
    let v = venue(40, 5);
    let ms = v.markets();
    let c = client(&v);
    let q = MarketsQuery {
        condition_ids: vec![ms[2].condition_id.clone(), ms[7].condition_id.clone()],
        ..MarketsQuery::default()
    };
    let l = c.markets(&q, Paging::default()).unwrap();
    let got: BTreeSet<String> = conditions(&l.items).into_iter().collect();
    assert_eq!(
        got,
        [ms[2].condition_id.clone(), ms[7].condition_id.clone()].into()
    );
    let q = MarketsQuery {
        clob_token_ids: vec![ms[4].token_ids[1].clone(), ms[9].token_ids[0].clone()],
        ..MarketsQuery::default()
    };
    let got = conditions(&c.markets(&q, Paging::default()).unwrap().items);
    assert_eq!(got.len(), 2);
    // More than 100 condition ids in one request are refused; the helper chunks them.
    let many: Vec<String> = (0..150)
        .map(|i| ms[i % ms.len()].condition_id.clone())
        .collect();
    let q = MarketsQuery {
        condition_ids: many.clone(),
        ..MarketsQuery::default()
    };
    assert!(matches!(
        c.markets_page(&q, 100, 0),
        Err(GammaError::Unprocessable { .. })
    ));
    let l = c
        .markets_by_condition_ids(&many, &MarketsQuery::default())
        .unwrap();
    assert_eq!(l.pages, 2);
    assert_eq!(
        l.items.len(),
        2 * ms.len(),
        "each chunk lists every market once"
    );
}

#[test]
fn the_offset_cap_stops_paging_and_is_reported() {
    let v = venue(20, 7);
    let c = client(&v);
    // The server: 422 past offset 10000.
    let (s, body) = get(&v, "/gamma/markets?limit=10&offset=10001");
    assert_eq!(s, 422, "{body}");
    let (s, _) = get(&v, "/gamma/events?offset=10000");
    assert_eq!(s, 200);
    assert!(matches!(
        c.markets_page(&MarketsQuery::open(), 10, 10_001),
        Err(GammaError::Unprocessable { offset: 10_001, .. })
    ));
    // The pager never asks past the cap.
    let before = stats(&v).markets_requests;
    let l = c
        .markets(
            &MarketsQuery::open(),
            Paging {
                limit: 10,
                start_offset: 10_005,
                max_pages: 0,
            },
        )
        .unwrap();
    assert_eq!(
        l.truncated,
        Some(Truncation::OffsetCap {
            next_offset: 10_005
        })
    );
    assert_eq!(stats(&v).markets_requests, before);
    // A 422 in the middle of a listing: what was read is kept, the listing says it is partial.
    fault(&v, json!({"kind": "pass", "count": 1}));
    fault(&v, json!({"kind": "fail", "count": 1, "status": 422}));
    let l = c
        .markets(
            &MarketsQuery::open(),
            Paging {
                limit: 4,
                ..Paging::default()
            },
        )
        .unwrap();
    assert!(
        matches!(l.truncated, Some(Truncation::Rejected { offset: 4, .. })),
        "{:?}",
        l.truncated
    );
    assert_eq!(l.items.len(), 4);
    assert_eq!(stats(&v).unprocessable, 2);
}

#[test]
fn server_errors_and_rate_limits_are_retried_within_bounds() {
    let v = venue(20, 9);
    let c = client(&v);
    // Two 503s then success: 3 requests, 2 retries.
    fault(&v, json!({"kind": "fail", "count": 2, "status": 503}));
    let l = c.markets(&MarketsQuery::open(), Paging::default()).unwrap();
    assert_eq!(l.items.len(), 10);
    let k = c.counters();
    assert_eq!((k.requests, k.retries, k.server_errors), (3, 2, 2));
    // A 429 waits its Retry-After, then succeeds.
    fault(
        &v,
        json!({"kind": "rate_limit", "count": 1, "retry_after_s": 1}),
    );
    c.markets(&MarketsQuery::open(), Paging::default()).unwrap();
    let k = c.counters();
    assert_eq!((k.requests, k.rate_limited, k.retries), (5, 1, 3));
    // More failures than retries: exactly max_retries + 1 attempts, then the error.
    fault(&v, json!({"kind": "fail", "count": 10, "status": 500}));
    let before = stats(&v).faults_served;
    let e = c
        .events(&EventsQuery::open(), Paging::default())
        .unwrap_err();
    assert!(
        matches!(&e, GammaError::RetriesExhausted { attempts: 4, last } if matches!(**last, GammaError::Status { status: 500, .. })),
        "{e}"
    );
    assert_eq!(stats(&v).faults_served - before, 4);
    fault(&v, json!({"kind": "clear"}));
    // A 4xx that is not a rate limit is not retried.
    fault(&v, json!({"kind": "fail", "count": 1, "status": 404}));
    let retries = c.counters().retries;
    let e = c
        .markets(&MarketsQuery::open(), Paging::default())
        .unwrap_err();
    assert!(matches!(e, GammaError::Status { status: 404, .. }), "{e}");
    assert_eq!(c.counters().retries, retries);
    let (s, _) = get(&v, "/gamma/markets?active=maybe");
    assert_eq!(s, 422);
}

#[test]
fn the_venue_rate_limiter_is_honoured() {
    // One events request per second: the second waits out Retry-After and succeeds.
    let v = venue_with(20, 11, |c| {
        c.rest.rate_window_ms = 1_000;
        c.gamma.events_limit = 1;
    });
    let c = client(&v);
    c.events(&EventsQuery::open(), Paging::default()).unwrap();
    c.events(&EventsQuery::open(), Paging::default()).unwrap();
    assert!(c.counters().rate_limited >= 1);
    assert!(stats(&v).rate_limited >= 1);
}

#[test]
fn hostile_bodies_are_refused_and_survived() {
    let v = venue(20, 13);
    let c = GammaClient::new(
        &v.gamma_url(),
        GammaClientConfig {
            max_body_bytes: 16 << 20,
            ..fast_http()
        },
    );
    // 20 MB of valid JSON: refused at the limit, not retried.
    fault(
        &v,
        json!({"kind": "huge_body", "count": 1, "bytes": 20_000_000}),
    );
    let e = c
        .markets(&MarketsQuery::open(), Paging::default())
        .unwrap_err();
    assert!(
        matches!(e, GammaError::BodyTooLarge { limit } if limit == 16 << 20),
        "{e}"
    );
    assert_eq!(c.counters().retries, 0);
    // Not JSON at all.
    fault(&v, json!({"kind": "garbage", "count": 1}));
    let e = c
        .markets(&MarketsQuery::open(), Paging::default())
        .unwrap_err();
    assert!(matches!(e, GammaError::Body(_)), "{e}");
    // And the next request is served normally.
    let l = c.markets(&MarketsQuery::open(), Paging::default()).unwrap();
    assert_eq!(l.items.len(), 10);
}

#[test]
fn the_clob_market_listing_pages_by_cursor() {
    let v = venue(300, 15);
    let page = |cursor: &str| -> serde_json::Value {
        let (s, body) = get(&v, &format!("/markets?next_cursor={cursor}"));
        assert_eq!(s, 200, "{body}");
        serde_json::from_str(&body).unwrap()
    };
    let p1 = page("");
    assert_eq!(
        (p1["count"].as_u64(), p1["limit"].as_u64()),
        (Some(100), Some(100))
    );
    assert_eq!(p1["next_cursor"], "MTAw"); // base64("100")
    let p2 = page("MTAw");
    assert_eq!(p2["count"], 50);
    assert_eq!(p2["next_cursor"], "LTE="); // base64("-1"): the end
    let p3 = page("LTE=");
    assert_eq!(p3["count"], 0);
    let all: BTreeSet<String> = p1["data"]
        .as_array()
        .unwrap()
        .iter()
        .chain(p2["data"].as_array().unwrap())
        .map(|m| m["condition_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(all.len(), 150);
    let m = &p1["data"][0];
    assert!(m["minimum_tick_size"].is_number() && m["minimum_order_size"].is_number());
    assert_eq!(m["tokens"].as_array().unwrap().len(), 2);
    assert_eq!(m["tokens"][0]["outcome"], "Yes");
    let (s, _) = get(&v, "/markets?next_cursor=%%%");
    assert_eq!(s, 400);
}
