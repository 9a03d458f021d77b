//! REST over real loopback sockets: `GET /book` and `POST /books` in the real shape, parsed
//! with the project's types; rate limits; hostile bodies answered with 4xx JSON errors.

use polyarb::core::{ConditionId, Price, Size, TickSize, TokenId};
use serde::Deserialize;
use venue_testkit::wire::{Http, ids, venue, venue_with};

/// The REST summary, parsed with the project's exact types.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Book {
    market: String,
    asset_id: TokenId,
    timestamp: String,
    hash: String,
    bids: Vec<Level>,
    asks: Vec<Level>,
    min_order_size: Size,
    tick_size: String,
    neg_risk: bool,
    last_trade_price: Price,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Level {
    price: Price,
    size: Size,
}

fn check_against_admin(b: &Book, admin: &serde_json::Value) {
    ConditionId::parse(&b.market).unwrap();
    assert!(b.timestamp.parse::<u64>().unwrap() > 1_600_000_000_000);
    assert_eq!(b.hash.len(), 40);
    let tick = TickSize::parse(&b.tick_size).unwrap();
    assert_eq!(admin["tick_size"], b.tick_size);
    assert_eq!(admin["asset_id"], b.asset_id.to_string());
    assert_eq!(b.min_order_size, Size(5_000_000));
    assert!(b.last_trade_price.is_level_price());
    // Best price last: bids ascending, asks descending; the admin view lists best first.
    let rev = |levels: &[Level]| -> Vec<[String; 2]> {
        levels
            .iter()
            .rev()
            .map(|l| [l.price.to_string(), l.size.to_string()])
            .collect()
    };
    assert_eq!(serde_json::to_value(rev(&b.bids)).unwrap(), admin["bids"]);
    assert_eq!(serde_json::to_value(rev(&b.asks)).unwrap(), admin["asks"]);
    assert!(
        b.bids
            .iter()
            .chain(&b.asks)
            .all(|l| tick.is_on_grid(l.price))
    );
}

#[test]
fn book_and_books_have_the_real_shape_and_the_venues_levels() {
    let v = venue(40, 11);
    let http = Http::new(&v);
    http.step(500);
    let assets = v.asset_ids();
    let admin = http.venue_books(&assets);
    let r = http.get(&format!("/book?token_id={}", assets[3]));
    assert_eq!(r.status, 200, "{}", r.body);
    let b: Book = serde_json::from_str(&r.body).unwrap();
    let a = admin
        .iter()
        .find(|x| x["asset_id"] == assets[3].as_str())
        .unwrap();
    check_against_admin(&b, a);

    let neg_risk: Vec<String> = v
        .markets()
        .iter()
        .filter(|m| m.neg_risk)
        .flat_map(|m| m.token_ids.clone())
        .collect();
    let body = serde_json::to_string(
        &assets
            .iter()
            .map(|t| serde_json::json!({ "token_id": t }))
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let r = http.post("/books", &body);
    assert_eq!(r.status, 200);
    let books: Vec<Book> = serde_json::from_str(&r.body).unwrap();
    assert_eq!(books.len(), 40);
    for b in &books {
        let a = admin
            .iter()
            .find(|x| x["asset_id"] == b.asset_id.to_string())
            .unwrap();
        check_against_admin(b, a);
        assert_eq!(b.neg_risk, neg_risk.contains(&b.asset_id.to_string()));
    }
    assert!(books.iter().any(|b| b.neg_risk));
}

#[test]
fn past_the_rate_limit_429_with_retry_after() {
    let v = venue_with(4, 12, |c| {
        c.rest.book_limit = 3;
        c.rest.books_limit = 1;
    });
    let http = Http::new(&v);
    let t = &ids(&v, 1)[0];
    for _ in 0..3 {
        assert_eq!(http.get(&format!("/book?token_id={t}")).status, 200);
    }
    let r = http.get(&format!("/book?token_id={t}"));
    assert_eq!(r.status, 429);
    let wait: u64 = r.retry_after.clone().expect("Retry-After").parse().unwrap();
    assert!(wait >= 1);
    assert!(r.json()["error"].is_string());
    let body = format!(r#"[{{"token_id":"{t}"}}]"#);
    assert_eq!(http.post("/books", &body).status, 200);
    assert_eq!(http.post("/books", &body).status, 429);
}

#[test]
fn hostile_and_wrong_requests_get_4xx_json_errors() {
    let v = venue(4, 13);
    let http = Http::new(&v);
    let expect = |r: venue_testkit::wire::Reply, status: u16| {
        assert_eq!(r.status, status, "{}", r.body);
        assert!(r.json()["error"].is_string(), "{}", r.body);
    };
    expect(http.post_bytes("/books", vec![b'['; 3 << 20]), 413);
    expect(http.post("/books", "[{\"token_id\":"), 400);
    expect(http.post("/books", "{\"token_id\":\"1\"}"), 400);
    expect(http.post("/books", "[{\"token_id\":\"12x\"}]"), 400);
    expect(http.post("/books", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"), 400);
    expect(http.post_bytes("/books", vec![0xff, 0xfe, 0x00, 0x01]), 400);
    let many = format!("[{}]", vec![r#"{"token_id":"1"}"#; 501].join(","));
    expect(http.post("/books", &many), 400);
    expect(http.get("/book"), 400);
    expect(http.get("/book?token_id=-5"), 400);
    expect(http.get("/book?token_id=42"), 404);
    expect(http.get("/nothing/here"), 404);
    expect(http.post("/book", "{}"), 405);
    expect(http.post("/admin/fault", "{\"kind\":\"explode\"}"), 400);
    expect(
        http.post(
            "/admin/fault",
            "{\"kind\":\"stall_asset\",\"asset_id\":\"7\"}",
        ),
        404,
    );
    expect(http.post("/admin/source", "{\"paused\":\"yes\"}"), 400);
    // Still serving.
    assert_eq!(
        http.get(&format!("/book?token_id={}", ids(&v, 1)[0]))
            .status,
        200
    );
}
