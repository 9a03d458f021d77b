//! What a spread quoter meets at the venue, over real sockets: synthetic takers that fill a
//! resting bid in part and then in full (the maker's ledger equal to its user-channel trades to
//! the micro-unit), post-only orders refused when they would cross and never matched, price
//! moves after fills at the configured rate, a flow that is the same for the same seed, and the
//! heartbeat switch canceling a quoter's orders with user-channel cancellations.

use std::net::TcpStream;
use std::time::Duration;

use polyarb::adapters::polymarket::signing::{OrderSide, OrderType};
use polyarb::core::{Price, Size};
use polyarb_venue::VenueHandle;
use polyarb_venue::model::takers::TakerConfig;
use polyarb_venue::trading::state::SYNTHETIC_TAKER_OWNER;
use serde_json::{Value, json};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

use testkit::wait_within;
use venue_testkit::trading::*;

const CROSSES: &str = "invalid post-only order: order crosses book";

/// A paused venue of one binary market with synthetic takers: 600 a minute (about one per
/// 100 ms step), 5 to `max` shares, `adverse` per thousand.
fn taker_venue(seed: u64, max: &str, adverse: u32) -> VenueHandle {
    venue_with(|c| {
        c.model.seed = seed;
        c.model.binary_markets = 1;
        c.model.neg_risk_groups = 0;
        c.model.takers = TakerConfig {
            enabled: true,
            orders_per_market_per_min: 600,
            size_max: Size::parse(max).unwrap(),
            adverse_per_mille: adverse,
            ..TakerConfig::default()
        };
    })
}

/// `n` model steps, 100 model ms apart (a taker per step on average).
fn step(v: &VenueHandle, n: u64) {
    step_by(v, n, 100);
}

/// `n` model steps, `ms` model ms apart.
fn step_by(v: &VenueHandle, n: u64, ms: u64) {
    admin(v, "/admin/source", json!({"step": n, "step_ms": ms}));
}

fn stats(v: &VenueHandle) -> Value {
    let mut r = venue_testkit::wire::agent()
        .get(format!("{}/admin/stats", v.http_url()))
        .call()
        .unwrap();
    serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap()
}

/// A raw `/ws/user` connection: the frames exactly as the venue sends them.
struct UserSocket {
    ws: WebSocket<MaybeTlsStream<TcpStream>>,
    /// Every event received, in order.
    events: Vec<Value>,
}

impl UserSocket {
    fn connect(v: &VenueHandle, t: &Trader) -> Self {
        let (mut ws, _) = tungstenite::connect(v.user_ws_url()).expect("user channel");
        if let MaybeTlsStream::Plain(s) = ws.get_ref() {
            s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        }
        let sub = json!({"auth": {"apiKey": t.creds.api_key, "secret": t.creds.secret,
            "passphrase": t.creds.passphrase}, "markets": [], "assets_ids": [], "type": "user"});
        ws.send(Message::text(sub.to_string())).unwrap();
        let mut s = Self {
            ws,
            events: Vec::new(),
        };
        s.sync();
        s
    }

    /// Reads up to the `PONG` of a `PING`: everything the venue queued before it.
    fn sync(&mut self) {
        self.ws.send(Message::text("PING")).unwrap();
        loop {
            match self.ws.read().expect("read until PONG") {
                Message::Text(t) if t.as_str() == "PONG" => return,
                Message::Text(t) => match serde_json::from_str::<Value>(t.as_str()).unwrap() {
                    Value::Array(a) => self.events.extend(a),
                    v => self.events.push(v),
                },
                _ => {}
            }
        }
    }

    fn of_type<'a>(&'a self, ty: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        self.events.iter().filter(move |e| e["event_type"] == ty)
    }
}

fn micros(v: &Value) -> u64 {
    Size::parse(v.as_str().unwrap()).unwrap().0
}

/// The best price of a REST book side ("bids" or "asks").
fn best(book: &Value, side: &str) -> Option<Price> {
    let prices = book[side]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| Price::parse(l["price"].as_str().unwrap()).unwrap());
    if side == "bids" {
        prices.max()
    } else {
        prices.min()
    }
}

/// The fills of order `id` in the user channel's MATCHED trades: (micro-shares, its price, the
/// taker's API key). Later statuses of a trade repeat the same fill.
fn fills_of(u: &UserSocket, id: &str) -> Vec<(u64, Price, String)> {
    u.of_type("trade")
        .filter(|t| t["status"] == "MATCHED")
        .flat_map(|t| {
            assert_eq!(t["trader_side"], "MAKER", "{t}");
            assert_eq!(t["type"], "TRADE");
            let owner = t["trade_owner"].as_str().unwrap().to_string();
            t["maker_orders"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|mo| mo["order_id"] == id)
                .map(|mo| {
                    assert_eq!(mo["fee_rate_bps"], "0", "makers pay no fee");
                    (
                        micros(&mo["matched_amount"]),
                        Price::parse(mo["price"].as_str().unwrap()).unwrap(),
                        owner.clone(),
                    )
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn takers_fill_a_resting_bid_in_part_then_in_full_and_the_ledger_agrees() {
    let v = taker_venue(3, "40", 0);
    let m = market(&v);
    set_book(&v, &m.yes, &[("0.44", "500")], &[("0.48", "500")]);
    let a = trader(&v, 31);
    let mut u = UserSocket::connect(&v, &a);
    let (c0, y0) = (collateral(&v, &a), tokens(&v, &a, &m.yes));
    // A bid of 60 a tick above the best: the walk's moves down bring house asks under it (the
    // sweep fills all that rests at once), so bids are placed until one is taken by the
    // synthetic takers in part and then in full.
    let mut placed = Vec::new();
    let mut story = None;
    for _ in 0..20 {
        let book = rest_book(&v, &m.yes);
        let (bid, ask) = (best(&book, "bids").unwrap(), best(&book, "asks").unwrap());
        let tick = Price::parse(book["tick_size"].as_str().unwrap()).unwrap().0;
        let price = if bid.0 + tick < ask.0 {
            Price(bid.0 + tick)
        } else {
            bid
        };
        let p = a.signed(
            &m,
            m.yes,
            OrderSide::Buy,
            &price.to_string(),
            "60",
            OrderType::Gtc,
        );
        a.client.post_order(&p).unwrap();
        let mut partial = None;
        for _ in 0..400 {
            // Three takers a step on average for each move of the walk.
            step_by(&v, 1, 300);
            match a.client.order(&p.order_id).unwrap() {
                Some(o) if partial.is_none() && o.matched_micros().unwrap() > 0 => {
                    partial = o.matched_micros();
                }
                Some(_) => {}
                None => break,
            }
        }
        assert!(
            a.client.order(&p.order_id).unwrap().is_none(),
            "filled in the end"
        );
        u.sync();
        let takers = fills_of(&u, &p.order_id)
            .iter()
            .filter(|f| f.2 == SYNTHETIC_TAKER_OWNER)
            .count();
        placed.push(p.order_id.clone());
        if let Some(partial) = partial.filter(|_| takers > 0 && story.is_none()) {
            story = Some((p.order_id.clone(), partial));
            break;
        }
    }
    let (id, partial) = story.expect("a bid taken in part, then in full, by synthetic takers");
    assert!(partial < 60_000_000, "{partial}");
    // Every bid's fills, as the user channel tells them, are the maker's ledger to the micro-unit:
    // 60 shares each, paid at the order's own price, no fee.
    let mut paid = 0;
    for o in &placed {
        let fills = fills_of(&u, o);
        assert_eq!(
            fills.iter().map(|f| f.0).sum::<u64>(),
            60_000_000,
            "{o}: {fills:?}"
        );
        paid += fills
            .iter()
            .map(|(s, p, _)| (u128::from(*s) * u128::from(p.0) / 1_000_000) as u64)
            .sum::<u64>();
    }
    assert_eq!(
        tokens(&v, &a, &m.yes) - y0,
        60_000_000 * placed.len() as u64
    );
    assert_eq!(c0 - collateral(&v, &a), paid);
    assert_eq!(balances(&v, &a)["collateral"]["reserved"], 0);
    // The order's own story: PLACEMENT, UPDATEs with growing size_matched, the last MATCHED.
    let orders: Vec<&Value> = u
        .of_type("order")
        .filter(|o| o["id"] == id.as_str())
        .collect();
    assert_eq!(orders[0]["type"], "PLACEMENT");
    assert!(orders[0]["associate_trades"].is_null());
    let matched: Vec<u64> = orders[1..]
        .iter()
        .map(|o| {
            assert_eq!(o["type"], "UPDATE", "{o}");
            micros(&o["size_matched"])
        })
        .collect();
    assert!(
        matched.len() >= 2 && matched.windows(2).all(|w| w[0] < w[1]),
        "{matched:?}"
    );
    // The partial fill seen over REST is one of them (a step may fill it twice).
    assert!(matched.contains(&partial), "{partial} in {matched:?}");
    let last = orders.last().unwrap();
    assert_eq!(
        (last["status"].as_str(), micros(&last["size_matched"])),
        (Some("MATCHED"), 60_000_000)
    );
    assert_eq!(
        last["associate_trades"].as_array().unwrap().len(),
        fills_of(&u, &id).len()
    );
    assert!(stats(&v)["model_taker_fills"].as_u64().unwrap() >= 2);
}

#[test]
fn a_post_only_order_that_would_cross_is_refused_and_never_matched() {
    let v = venue();
    let m = market(&v);
    set_book(&v, &m.yes, &[("0.40", "100")], &[("0.60", "100")]);
    let a = trader(&v, 32);
    let b = trader(&v, 33);
    let mut u = UserSocket::connect(&v, &a);
    fund(&v, &a, "0", &[(&m.yes, "10")]);
    let c0 = collateral(&v, &a);
    let post_only = |t: &Trader, token, side, price: &str, size: &str, ot: OrderType| {
        let mut r = limit(token, side, price, size, ot);
        r.post_only = true;
        t.client
            .prepare(&r, &m.rules)
            .map(|p| t.client.post_order(&p))
    };
    // Crossing the house ask (YES), the house bid (a NO buy at 0.60 is a YES sell at 0.40), and
    // a client's resting order: refused with production's text, for GTC and GTD alike.
    for (token, side, price) in [
        (m.yes, OrderSide::Buy, "0.60"),
        (m.yes, OrderSide::Buy, "0.65"),
        (m.no, OrderSide::Buy, "0.60"),
        (m.yes, OrderSide::Sell, "0.40"),
    ] {
        let e = post_only(&a, token, side, price, "5", OrderType::Gtc)
            .unwrap()
            .unwrap_err();
        assert!(
            e.to_string().contains(CROSSES),
            "{token} {side:?} {price}: {e}"
        );
    }
    fund(&v, &b, "0", &[(&m.yes, "5")]);
    let rest = b.signed(&m, m.yes, OrderSide::Sell, "0.55", "5", OrderType::Gtc);
    b.client.post_order(&rest).unwrap();
    let e = post_only(&a, m.yes, OrderSide::Buy, "0.55", "5", OrderType::Gtc)
        .unwrap()
        .unwrap_err();
    assert!(e.to_string().contains(CROSSES), "{e}");
    // Not crossing: it rests, and a taker later fills it as a maker.
    let ok = post_only(&a, m.yes, OrderSide::Buy, "0.50", "5", OrderType::Gtc)
        .unwrap()
        .unwrap();
    assert_eq!(
        a.client.order(&ok.order_id).unwrap().unwrap().status,
        "LIVE"
    );
    // Post-only with FOK/FAK: the client refuses to build it (production: only GTC/GTD).
    assert!(post_only(&a, m.yes, OrderSide::Buy, "0.65", "5", OrderType::Fok).is_err());
    u.sync();
    // Nothing traded: the refused orders left no event, no trade, no balance move.
    assert_eq!(u.of_type("trade").count(), 0, "{:?}", u.events);
    let placed: Vec<&Value> = u.of_type("order").collect();
    assert_eq!(placed.len(), 1, "only the resting one: {placed:?}");
    assert_eq!(placed[0]["id"], ok.order_id.as_str());
    assert_eq!(collateral(&v, &a), c0);
    assert_eq!(level(&rest_book(&v, &m.yes), "asks", "0.55"), "5");
    assert!(
        stats(&v)["trading_rejections"]["post_only_crosses"]
            .as_u64()
            .unwrap()
            >= 5
    );
}

/// Steps a taker venue for `n` steps; returns (takers that filled, adverse moves).
fn adverse_run(seed: u64, per_mille: u32, n: u64) -> (u64, u64) {
    let v = taker_venue(seed, "2000", per_mille);
    let m = market(&v);
    set_book(&v, &m.yes, &[("0.40", "300")], &[("0.60", "300")]);
    step(&v, n);
    let s = stats(&v);
    assert!(s["model_takers"].as_u64().unwrap() >= n / 2, "{s}");
    (
        s["model_taker_fills"].as_u64().unwrap(),
        s["model_adverse_moves"].as_u64().unwrap(),
    )
}

#[test]
fn prices_move_after_fills_at_the_configured_rate() {
    let (fills, moves) = adverse_run(5, 300, 1_500);
    assert!(fills > 500, "{fills}");
    // Binomial(fills, 0.3) within four standard deviations (a move fails only at a bound).
    let expected = fills as f64 * 0.3;
    let sd = (fills as f64 * 0.3 * 0.7).sqrt();
    assert!(
        (moves as f64 - expected).abs() < 4.0 * sd,
        "{moves} moves after {fills} fills"
    );
    let (_, none) = adverse_run(5, 0, 300);
    assert_eq!(none, 0);
    let (fills, all) = adverse_run(5, 1000, 300);
    assert!(all * 10 >= fills * 9, "{all} moves after {fills} fills");
}

#[test]
fn after_an_adverse_move_the_maker_is_on_the_wrong_side() {
    // Every fill moves the price on: a sell that hits the bid drags the house quotes below it,
    // and they fill what rests of it (at the maker's price, above the market).
    let v = taker_venue(8, "20", 1000);
    let m = market(&v);
    set_book(&v, &m.yes, &[("0.40", "500")], &[("0.60", "500")]);
    let a = trader(&v, 34);
    let p = a.signed(&m, m.yes, OrderSide::Buy, "0.45", "200", OrderType::Gtc);
    a.client.post_order(&p).unwrap();
    for _ in 0..300 {
        step(&v, 1);
        if a.client.order(&p.order_id).unwrap().is_none() {
            break;
        }
    }
    assert!(a.client.order(&p.order_id).unwrap().is_none(), "filled");
    let book = rest_book(&v, &m.yes);
    let best_ask = book["asks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| Price::parse(l["price"].as_str().unwrap()).unwrap())
        .min()
        .unwrap();
    assert!(
        best_ask <= Price(450_000),
        "the market went down to the bid or below: {best_ask}"
    );
}

/// A flow's fingerprint: the maker's fills as (shares, price) and the venue's books.
fn flow(seed: u64) -> (Vec<(u64, String)>, Value, u64) {
    let v = taker_venue(seed, "2000", 200);
    let m = market(&v);
    set_book(&v, &m.yes, &[("0.40", "300")], &[("0.60", "300")]);
    let a = trader(&v, 35);
    let mut u = UserSocket::connect(&v, &a);
    let p = a.signed(&m, m.yes, OrderSide::Buy, "0.45", "100", OrderType::Gtc);
    a.client.post_order(&p).unwrap();
    let q = a.signed(&m, m.yes, OrderSide::Sell, "0.55", "5", OrderType::Gtc);
    fund(&v, &a, "0", &[(&m.yes, "5")]);
    a.client.post_order(&q).unwrap();
    step(&v, 400);
    u.sync();
    let fills = u
        .of_type("trade")
        .filter(|t| t["status"] == "MATCHED")
        .flat_map(|t| t["maker_orders"].as_array().unwrap().clone())
        .filter(|mo| mo["owner"] == a.creds.api_key.as_str())
        .map(|mo| (micros(&mo["matched_amount"]), mo["price"].to_string()))
        .collect();
    let mut books = venue_testkit::wire::Http::new(&v)
        .get("/admin/books")
        .json();
    books["events"] = Value::Null;
    (fills, books, stats(&v)["model_takers"].as_u64().unwrap())
}

#[test]
fn the_flow_is_the_same_for_the_same_seed() {
    let (fills, books, takers) = flow(21);
    assert!(!fills.is_empty() && takers > 100, "{fills:?} {takers}");
    let again = flow(21);
    assert_eq!((&fills, &books, takers), (&again.0, &again.1, again.2));
    let other = flow(22);
    assert_ne!((&books, takers), (&other.1, other.2));
}

#[test]
fn a_broken_heartbeat_chain_cancels_a_quoters_orders_on_the_user_channel() {
    let v = venue();
    let m = market(&v);
    set_book(&v, &m.yes, &[("0.40", "100")], &[("0.60", "100")]);
    let a = trader(&v, 36);
    fund(&v, &a, "0", &[(&m.yes, "10")]);
    let mut u = UserSocket::connect(&v, &a);
    // The chain: each answer's id is the next beat's (the venue's timeout is 500 ms here).
    let first = a.client.heartbeat("").unwrap();
    let latest = a.client.heartbeat(&first).unwrap();
    // Two-sided quotes: a YES bid, a NO bid (the YES ask at 0.55 of the one book), a YES ask.
    let quotes = [
        a.signed(&m, m.yes, OrderSide::Buy, "0.45", "5", OrderType::Gtc),
        a.signed(&m, m.no, OrderSide::Buy, "0.45", "5", OrderType::Gtc),
        a.signed(&m, m.yes, OrderSide::Sell, "0.58", "5", OrderType::Gtc),
    ];
    for q in &quotes {
        a.client.post_order(q).unwrap();
    }
    let latest = a.client.heartbeat(&latest).unwrap();
    // The chain breaks: a stale id is refused and renews nothing.
    let e = a.client.heartbeat(&first).unwrap_err();
    assert!(e.to_string().contains("Invalid Heartbeat ID"), "{e}");
    wait_within("the dead-man switch", Duration::from_secs(10), || {
        quotes
            .iter()
            .all(|q| a.client.order(&q.order_id).unwrap().is_none())
    });
    assert!(
        a.client.heartbeat(&latest).is_err(),
        "the chain died with the orders"
    );
    u.sync();
    for q in &quotes {
        let c: Vec<&Value> = u
            .of_type("order")
            .filter(|o| o["id"] == q.order_id.as_str() && o["type"] == "CANCELLATION")
            .collect();
        assert_eq!(c.len(), 1, "{}: {:?}", q.order_id, u.events);
        assert_eq!(c[0]["status"], "CANCELED");
        assert_eq!(c[0]["size_matched"], "0");
    }
    let book = rest_book(&v, &m.yes);
    assert_eq!(level(&book, "bids", "0.45"), "0");
    assert_eq!(level(&book, "asks", "0.55"), "0");
    assert_eq!(level(&book, "asks", "0.58"), "0");
    let b = balances(&v, &a);
    assert_eq!(
        b["collateral"]["reserved"], 0,
        "nothing held back any more: {b}"
    );
}
