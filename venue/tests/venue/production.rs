//! The venue answers like production (Polymarket's docs), over real sockets: amounts checked
//! by decimal accuracy, market BUYs that spend their pUSD across levels and SELLs that sell
//! their shares, deposit-wallet accounts (and EOA makers refused by default), rotating
//! heartbeat ids, open-orders-only lookups, production's refusal texts, and a counter for
//! every refusal. Orders are signed here with exact amounts and posted as raw bodies, so the
//! venue sees what a hostile or careless client would send.

use std::time::{Duration, Instant};

use polyarb::adapters::polymarket::http::clob::{ClobClient, ClobConfig, create_or_derive_api_key};
use polyarb::adapters::polymarket::signing::auth::request_path;
use polyarb::adapters::polymarket::signing::signer::random_salt;
use polyarb::adapters::polymarket::signing::{
    Address, ApiCredentials, L2Signer, Order, OrderAmounts, OrderRequest, OrderSide, OrderSigner,
    OrderType, PostOrder, PrivateKey, ProtocolVersion, SignatureType,
};
use polyarb::core::{Price, Size, TokenId};
use polyarb::obs::clock::unix_ms;
use polyarb_venue::trading::EoaOrders;
use polyarb_venue::{VenueHandle, deposit_wallet_address};
use serde_json::Value;

use venue_testkit::trading::*;
use venue_testkit::wire::agent;

const MARKET_BUY_TEXT: &str = "invalid amounts, the market buy orders maker amount supports a max \
                               accuracy of 2 decimals, taker amount a max of 4 decimals";
const MARKET_SELL_TEXT: &str = "invalid amounts, the market sell orders maker amount supports a \
                                max accuracy of 2 decimals, taker amount a max of 4 decimals";
const LIMIT_BUY_TEXT: &str = "invalid amounts, the buy orders maker amount supports a max \
                              accuracy of 4 decimals, taker amount a max of 2 decimals";
const FOK_TEXT: &str = "order couldn't be fully filled. FOK orders are fully filled or killed.";
const MAKER_NOT_ALLOWED: &str = "maker address not allowed, please use the deposit wallet flow";

/// An account that signs orders with exact amounts and calls the venue with L2 headers.
struct Acct {
    key: PrivateKey,
    creds: ApiCredentials,
    l2: L2Signer,
    signer: OrderSigner,
    url: String,
}

impl Acct {
    /// A key with its API key (L1 create/derive) signing as `ty` for `funder`.
    fn new(v: &VenueHandle, n: u64, ty: SignatureType, funder: Option<Address>) -> Self {
        let key = key(n);
        let creds = create_or_derive_api_key(&v.http_url(), &key, 137, 0, Duration::from_secs(5))
            .expect("API key");
        let signer = OrderSigner::new(
            key.clone(),
            ProtocolVersion::known(2, 137).unwrap(),
            ty,
            funder,
        )
        .expect("signer");
        Self {
            l2: L2Signer::new(&creds, key.address()).unwrap(),
            key,
            creds,
            signer,
            url: v.http_url(),
        }
    }

    /// A deposit-wallet account: type 3, maker = signer = the owner's wallet.
    fn wallet(v: &VenueHandle, n: u64) -> Self {
        let wallet = deposit_wallet_address(key(n).address());
        Self::new(v, n, SignatureType::Poly1271, Some(wallet))
    }

    fn eoa(v: &VenueHandle, n: u64) -> Self {
        Self::new(v, n, SignatureType::Eoa, None)
    }

    /// The account the venue keys this one's balances by.
    fn account(&self) -> Address {
        self.signer.maker()
    }

    /// A signed `POST /order` body with exactly these amounts, and its order id.
    fn body(
        &self,
        token: TokenId,
        side: OrderSide,
        maker: u64,
        taker: u64,
        ot: OrderType,
    ) -> (Vec<u8>, String) {
        self.body_with(token, side, maker, taker, ot, |_| {})
    }

    /// [`Self::body`] with the order changed before it is signed.
    fn body_with(
        &self,
        token: TokenId,
        side: OrderSide,
        maker: u64,
        taker: u64,
        ot: OrderType,
        tweak: impl FnOnce(&mut Order),
    ) -> (Vec<u8>, String) {
        let mut req = OrderRequest::limit(token, side, Price(500_000), Size(1));
        req.order_type = ot;
        let mut order = self.signer.build_from_amounts(
            &req,
            OrderAmounts { maker, taker },
            random_salt(),
            unix_ms(),
        );
        tweak(&mut order);
        let id = format!("0x{}", hex::encode(self.signer.order_hash(&order, false)));
        let signed = self.signer.sign(order, false);
        let mut body = Vec::new();
        PostOrder {
            signed: &signed,
            schema: self.signer.protocol().schema,
            owner: &self.creds.api_key,
            order_type: ot,
            post_only: false,
            defer_exec: false,
        }
        .write_json(&mut body);
        (body, id)
    }

    /// One L2-authenticated request; (status, JSON body).
    fn call(&self, method: &str, path: &str, body: &[u8]) -> (u16, Value) {
        let h = self
            .l2
            .headers(unix_ms() / 1000, method, request_path(path), body);
        let url = format!("{}{path}", self.url);
        let agent = agent();
        let r = match method {
            "GET" => {
                let mut b = agent.get(&url);
                for (k, v) in h.pairs() {
                    b = b.header(k, v);
                }
                b.call()
            }
            "POST" => {
                let mut b = agent.post(&url).header("Content-Type", "application/json");
                for (k, v) in h.pairs() {
                    b = b.header(k, v);
                }
                b.send(body)
            }
            _ => {
                let mut b = agent
                    .delete(&url)
                    .header("Content-Type", "application/json");
                for (k, v) in h.pairs() {
                    b = b.header(k, v);
                }
                b.force_send_body().send(body)
            }
        };
        let mut r = r.expect("the venue answers");
        let status = r.status().as_u16();
        let text = r.body_mut().read_to_string().unwrap();
        let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, json)
    }

    fn post(&self, body: &[u8]) -> (u16, Value) {
        self.call("POST", "/order", body)
    }

    /// Posts and expects a 400 `{"error": text}` in production's words.
    fn refused(&self, body: &[u8]) -> String {
        let (status, j) = self.post(body);
        assert_eq!(status, 400, "{j}");
        let text = j["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{j}"))
            .to_string();
        assert!(!text.contains("INVALID_ORDER"), "{text}");
        text
    }

    /// Posts and expects an accepted order.
    fn accepted(&self, body: &[u8]) -> Value {
        let (status, j) = self.post(body);
        assert_eq!(status, 200, "{j}");
        assert_eq!(j["success"], true, "{j}");
        j
    }
}

fn get(v: &VenueHandle, path: &str) -> Value {
    let mut r = agent()
        .get(format!("{}{path}", v.http_url()))
        .call()
        .unwrap();
    let text = r.body_mut().read_to_string().unwrap();
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("{path}: {text}"))
}

fn account_balances(v: &VenueHandle, who: Address) -> Value {
    get(v, &format!("/admin/balances?address={}", who.to_checksum()))
}

fn cash(v: &VenueHandle, who: Address) -> (u64, u64) {
    let b = account_balances(v, who);
    (
        b["collateral"]["total"].as_u64().unwrap(),
        b["collateral"]["reserved"].as_u64().unwrap(),
    )
}

fn shares(v: &VenueHandle, who: Address, token: &TokenId) -> u64 {
    account_balances(v, who)["tokens"][token.to_string()]["total"]
        .as_u64()
        .unwrap_or(0)
}

fn rejections(v: &VenueHandle) -> Value {
    get(v, "/admin/stats")["trading_rejections"].clone()
}

fn count(r: &Value, reason: &str) -> u64 {
    r[reason].as_u64().unwrap_or(0)
}

#[test]
fn marketable_amounts_are_checked_by_decimal_accuracy_not_by_tick() {
    let v = venue();
    let m = market(&v);
    set_book(&v, &m.yes, &[("0.30", "100")], &[("0.47", "100")]);
    let a = Acct::eoa(&v, 40);
    let before = rejections(&v);
    // $10 at 0.47 as `order sign --amount` signed it: makerAmount with 6 decimals.
    let (b, _) = a.body(m.yes, OrderSide::Buy, 9_999_955, 21_276_500, OrderType::Fok);
    assert_eq!(a.refused(&b), MARKET_BUY_TEXT);
    // The Dutch-book leg of limit rounding sent as a FOK: 237.3 shares at 0.72 → 170.856.
    let (b, _) = a.body(
        m.yes,
        OrderSide::Buy,
        170_856_000,
        237_300_000,
        OrderType::Fok,
    );
    assert_eq!(a.refused(&b), MARKET_BUY_TEXT);
    // Taker with 6 decimals.
    let (b, _) = a.body(
        m.yes,
        OrderSide::Buy,
        10_000_000,
        21_276_595,
        OrderType::Fak,
    );
    assert_eq!(a.refused(&b), MARKET_BUY_TEXT);
    // A SELL giving 3 decimals of shares, or asking 5 decimals of pUSD.
    let (b, _) = a.body(
        m.yes,
        OrderSide::Sell,
        10_005_000,
        3_000_000,
        OrderType::Fok,
    );
    assert_eq!(a.refused(&b), MARKET_SELL_TEXT);
    let (b, _) = a.body(
        m.yes,
        OrderSide::Sell,
        10_000_000,
        3_000_010,
        OrderType::Fak,
    );
    assert_eq!(a.refused(&b), MARKET_SELL_TEXT);
    // What the official client signs: maker 2 decimals, taker 4; the worst price is not a tick
    // price (10 / 21.2765 = 0.470000…) and the venue does not ask it to be.
    let (b, _) = a.body(
        m.yes,
        OrderSide::Buy,
        10_000_000,
        21_276_500,
        OrderType::Fok,
    );
    let j = a.accepted(&b);
    assert_eq!(j["status"], "matched");
    // Each micro-share floors: 10 / 0.47 = 21.276595…, costing 9.999999 (0.65 µ under).
    assert_eq!(
        (j["makingAmount"].as_str(), j["takingAmount"].as_str()),
        (Some("9.999999"), Some("21.276595"))
    );
    let after = rejections(&v);
    assert_eq!(
        count(&after, "amounts") - count(&before, "amounts"),
        5,
        "{after}"
    );
}

#[test]
fn limit_amounts_follow_the_tick_and_the_price_must_be_on_its_grid() {
    let v = venue();
    let m = market(&v);
    set_book(&v, &m.yes, &[("0.05", "100")], &[("0.95", "100")]);
    let a = Acct::eoa(&v, 41);
    // 10 shares for 3.15 pUSD: price 0.315 off the 0.01 grid.
    let (b, id) = a.body(m.yes, OrderSide::Buy, 3_150_000, 10_000_000, OrderType::Gtc);
    assert_eq!(
        a.refused(&b),
        format!("order {id} is invalid. Price (0.315) breaks minimum tick size rule: 0.01")
    );
    // pUSD with 5 decimals, shares with 3: the limit rule at tick 0.01.
    let (b, _) = a.body(m.yes, OrderSide::Buy, 3_000_010, 10_000_000, OrderType::Gtc);
    assert_eq!(a.refused(&b), LIMIT_BUY_TEXT);
    let (b, _) = a.body(m.yes, OrderSide::Buy, 3_000_000, 10_001_000, OrderType::Gtd);
    assert_eq!(a.refused(&b), LIMIT_BUY_TEXT);
    let (b, _) = a.body(
        m.yes,
        OrderSide::Sell,
        10_000_000,
        3_000_010,
        OrderType::Gtc,
    );
    assert!(a.refused(&b).starts_with("invalid amounts, the sell orders maker amount supports a max accuracy of 2 decimals, taker amount a max of 4 decimals"));
    // Under the minimum size of 5.
    let (b, id) = a.body(m.yes, OrderSide::Buy, 600_000, 2_000_000, OrderType::Gtc);
    assert_eq!(
        a.refused(&b),
        format!("order {id} is invalid. Size (2) lower than the minimum: 5")
    );
    // A limit with 4 decimals of pUSD at tick 0.01 is fine: 12.34 shares at 0.25 = 3.085.
    let (b, id) = a.body(m.yes, OrderSide::Buy, 3_085_000, 12_340_000, OrderType::Gtc);
    assert_eq!(a.accepted(&b)["orderID"], id.as_str());
    // The same body again.
    assert_eq!(a.refused(&b), format!("order {id} is invalid. Duplicated."));
    let r = rejections(&v);
    assert!(
        count(&r, "tick_size") >= 1 && count(&r, "min_size") >= 1 && count(&r, "duplicated") >= 1,
        "{r}"
    );
}

#[test]
fn hostile_amounts_are_refused_and_counted_never_a_panic() {
    let v = venue();
    let m = market(&v);
    set_book(&v, &m.yes, &[("0.30", "100")], &[("0.47", "100")]);
    let a = Acct::eoa(&v, 42);
    let before = rejections(&v);
    for (side, maker, taker, ot) in [
        (OrderSide::Buy, 0, 10_000_000, OrderType::Gtc),
        (OrderSide::Buy, 10_000_000, 0, OrderType::Fok),
        (OrderSide::Sell, 0, 0, OrderType::Fak),
        // Overflowing products: u64::MAX-sized amounts on both sides and kinds.
        (
            OrderSide::Buy,
            u64::MAX / 10_000 * 10_000,
            10_000,
            OrderType::Gtc,
        ),
        (
            OrderSide::Buy,
            10_000,
            u64::MAX / 10_000 * 10_000,
            OrderType::Fok,
        ),
        (
            OrderSide::Sell,
            u64::MAX / 10_000 * 10_000,
            10_000,
            OrderType::Fak,
        ),
        (
            OrderSide::Sell,
            10_000,
            u64::MAX / 10_000 * 10_000,
            OrderType::Gtc,
        ),
        (OrderSide::Buy, u64::MAX, u64::MAX, OrderType::Gtc),
    ] {
        let (b, _) = a.body(m.yes, side, maker, taker, ot);
        let text = a.refused(&b);
        assert!(!text.is_empty());
    }
    // Amounts that are not integers of micro-units (7 decimals) or do not fit 64 bits.
    let (b, _) = a.body(
        m.yes,
        OrderSide::Buy,
        10_000_000,
        21_276_500,
        OrderType::Fok,
    );
    let s = String::from_utf8(b).unwrap();
    for bad in [
        "\"10000000.1\"",
        "\"1.0000001\"",
        "\"184467440737095516150\"",
        "\"-1\"",
    ] {
        let body = s.replacen("\"10000000\"", bad, 1);
        assert_ne!(body, s);
        assert!(
            a.refused(body.as_bytes())
                .starts_with("Invalid order payload")
        );
    }
    let after = rejections(&v);
    let total = |r: &Value| {
        r.as_object()
            .unwrap()
            .values()
            .map(|x| x.as_u64().unwrap())
            .sum::<u64>()
    };
    assert_eq!(total(&after) - total(&before), 12, "{after}");
    assert_eq!(
        count(&after, "payload") - count(&before, "payload"),
        4,
        "{after}"
    );
    // Still serving.
    let (b, _) = a.body(
        m.yes,
        OrderSide::Buy,
        10_000_000,
        21_276_500,
        OrderType::Fok,
    );
    a.accepted(&b);
}

#[test]
fn a_market_buy_spends_its_pusd_across_the_levels_it_walks() {
    let v = venue();
    let m = market(&v);
    set_book(
        &v,
        &m.yes,
        &[("0.20", "100")],
        &[
            ("0.40", "10"),
            ("0.45", "10"),
            ("0.50", "100"),
            ("0.60", "100"),
        ],
    );
    let a = Acct::eoa(&v, 43);
    let me = a.account();
    let (c0, _) = cash(&v, me);
    // $10 with a worst price of 0.50 (taker 20 shares): 10 @0.40 (4), 10 @0.45 (4.5), then
    // 3 @0.50 (1.5): 23 shares for exactly 10 pUSD.
    let (b, _) = a.body(
        m.yes,
        OrderSide::Buy,
        10_000_000,
        20_000_000,
        OrderType::Fok,
    );
    let j = a.accepted(&b);
    assert_eq!(
        (j["makingAmount"].as_str(), j["takingAmount"].as_str()),
        (Some("10"), Some("23")),
        "{j}"
    );
    assert_eq!(j["tradeIDs"].as_array().unwrap().len(), 3, "{j}");
    assert_eq!(cash(&v, me), (c0 - 10_000_000, 0));
    assert_eq!(shares(&v, me, &m.yes), 23_000_000);
    let book = rest_book(&v, &m.yes);
    assert_eq!(
        (
            level(&book, "asks", "0.4"),
            level(&book, "asks", "0.45"),
            level(&book, "asks", "0.5")
        ),
        ("0".into(), "0".into(), "97".into())
    );
    // More pUSD than the liquidity under the worst price holds: a FOK is killed, nothing moves.
    set_book(
        &v,
        &m.yes,
        &[("0.20", "100")],
        &[("0.40", "10"), ("0.60", "100")],
    );
    let (b, _) = a.body(
        m.yes,
        OrderSide::Buy,
        10_000_000,
        20_000_000,
        OrderType::Fok,
    );
    assert_eq!(a.refused(&b), FOK_TEXT);
    assert_eq!(cash(&v, me), (c0 - 10_000_000, 0));
    // A FAK takes the 10 @0.40 (4 pUSD) and cancels the rest; nothing stays reserved.
    let (b, _) = a.body(
        m.yes,
        OrderSide::Buy,
        10_000_000,
        20_000_000,
        OrderType::Fak,
    );
    let j = a.accepted(&b);
    assert_eq!(
        (j["makingAmount"].as_str(), j["takingAmount"].as_str()),
        (Some("4"), Some("10")),
        "{j}"
    );
    assert_eq!(cash(&v, me), (c0 - 14_000_000, 0));
    assert_eq!(shares(&v, me, &m.yes), 33_000_000);
    // The filled order is no longer answered by `GET /data/order/{id}`.
    let (b, id) = a.body(m.yes, OrderSide::Buy, 2_000_000, 3_333_300, OrderType::Fak);
    a.accepted(&b);
    assert_eq!(
        a.call("GET", &format!("/data/order/{id}"), b""),
        (200, Value::Null)
    );
    let r = rejections(&v);
    assert!(count(&r, "fok_not_filled") >= 1, "{r}");
}

#[test]
fn a_market_sell_sells_its_shares_down_to_its_worst_price() {
    let v = venue();
    let m = market(&v);
    set_book(
        &v,
        &m.yes,
        &[("0.60", "10"), ("0.55", "10"), ("0.50", "100")],
        &[("0.90", "100")],
    );
    let a = Acct::eoa(&v, 44);
    let me = a.account();
    fund_address(&v, me, "0", &[(&m.yes, "40")]);
    let (c0, _) = cash(&v, me);
    // 25 shares, worst price 0.55 (taker 13.75): only 20 are bid at 0.55 or better.
    let (b, _) = a.body(
        m.yes,
        OrderSide::Sell,
        25_000_000,
        13_750_000,
        OrderType::Fok,
    );
    assert_eq!(a.refused(&b), FOK_TEXT);
    assert_eq!(shares(&v, me, &m.yes), 40_000_000);
    // The FAK sells those 20: 6 + 5.5 pUSD.
    let (b, _) = a.body(
        m.yes,
        OrderSide::Sell,
        25_000_000,
        13_750_000,
        OrderType::Fak,
    );
    let j = a.accepted(&b);
    assert_eq!(
        (j["makingAmount"].as_str(), j["takingAmount"].as_str()),
        (Some("20"), Some("11.5")),
        "{j}"
    );
    assert_eq!(shares(&v, me, &m.yes), 20_000_000);
    assert_eq!(cash(&v, me), (c0 + 11_500_000, 0));
    // A FOK down to 0.50 sells 15 there.
    let (b, _) = a.body(
        m.yes,
        OrderSide::Sell,
        15_000_000,
        7_500_000,
        OrderType::Fok,
    );
    let j = a.accepted(&b);
    assert_eq!(
        (j["makingAmount"].as_str(), j["takingAmount"].as_str()),
        (Some("15"), Some("7.5")),
        "{j}"
    );
    assert_eq!(cash(&v, me), (c0 + 19_000_000, 0));
}

#[test]
fn a_limit_buy_buys_exactly_its_taker_amount() {
    let v = venue();
    let m = market(&v);
    set_book(&v, &m.yes, &[("0.20", "100")], &[("0.40", "100")]);
    let a = Acct::eoa(&v, 45);
    let me = a.account();
    let (c0, _) = cash(&v, me);
    // 10 shares at up to 0.50: all 10 at 0.40, paying 4 (the limit only sets the price).
    let (b, id) = a.body(m.yes, OrderSide::Buy, 5_000_000, 10_000_000, OrderType::Gtc);
    let j = a.accepted(&b);
    assert_eq!(
        (
            j["status"].as_str(),
            j["makingAmount"].as_str(),
            j["takingAmount"].as_str()
        ),
        (Some("matched"), Some("4"), Some("10"))
    );
    assert_eq!(cash(&v, me), (c0 - 4_000_000, 0));
    assert_eq!(shares(&v, me, &m.yes), 10_000_000);
    assert_eq!(
        a.call("GET", &format!("/data/order/{id}"), b""),
        (200, Value::Null)
    );
}

#[test]
fn deposit_wallet_accounts_trade_and_eoa_makers_are_refused_by_default() {
    let v = venue_with(|c| c.trading.eoa_orders = EoaOrders::Refused);
    let m = market(&v);
    set_book(&v, &m.yes, &[("0.05", "100")], &[("0.60", "100")]);
    let owner = key(50).address();
    let wallet = deposit_wallet_address(owner);
    // The admin endpoint names the same wallet.
    let j = get(
        &v,
        &format!("/admin/deposit-wallet?owner={}", owner.to_checksum()),
    );
    assert_eq!(j["owner"], owner.to_checksum().as_str());
    assert_eq!(j["deposit_wallet"], wallet.to_checksum().as_str());
    let a = Acct::wallet(&v, 50);
    // Made with the owner's first API key, funded with `initial_collateral`.
    assert_eq!(cash(&v, wallet), (1_000_000_000, 0));
    // EOA and proxy makers: refused like production.
    let eoa = Acct::eoa(&v, 50);
    let (b, _) = eoa.body(m.yes, OrderSide::Buy, 1_000_000, 10_000_000, OrderType::Gtc);
    assert_eq!(eoa.refused(&b), MAKER_NOT_ALLOWED);
    let proxy = Acct::new(&v, 50, SignatureType::PolyProxy, Some(Address([0x77; 20])));
    let (b, _) = proxy.body(m.yes, OrderSide::Buy, 1_000_000, 10_000_000, OrderType::Gtc);
    assert_eq!(proxy.refused(&b), MAKER_NOT_ALLOWED);
    // The deposit wallet's GTC rests; the wallet holds it back; the owner's key sees it.
    let mut listener = listen(
        &v,
        &Trader {
            key: a.key.clone(),
            creds: a.creds.clone(),
            client: std::sync::Arc::new(
                ClobClient::connect(
                    ClobConfig::new(&v.http_url()),
                    a.key.clone(),
                    a.creds.clone(),
                )
                .unwrap(),
            ),
        },
    );
    let (b, id) = a.body(m.yes, OrderSide::Buy, 1_000_000, 10_000_000, OrderType::Gtc);
    assert_eq!(a.accepted(&b)["status"], "live");
    assert_eq!(cash(&v, wallet), (1_000_000_000, 1_000_000));
    // The owner key's user channel hears of the wallet's order.
    listener.wait("the wallet's PLACEMENT", |e| {
        format!("{e:?}").contains(&id[2..12])
    });
    let (s, j) = a.call("GET", &format!("/data/order/{id}"), b"");
    assert_eq!(
        (s, j["maker_address"].as_str()),
        (200, Some(wallet.to_checksum().as_str()))
    );
    let (_, j) = a.call("GET", "/data/orders", b"");
    assert_eq!(j["data"].as_array().unwrap().len(), 1, "{j}");
    // Balances of signature type 3 are the wallet's; of type 0 the EOA's.
    fund_address(&v, wallet, "5", &[]);
    let (s, j) = a.call(
        "GET",
        "/balance-allowance?asset_type=COLLATERAL&signature_type=3",
        b"",
    );
    assert_eq!((s, j["balance"].as_str()), (200, Some("1005000000")), "{j}");
    // The update re-reads the account and answers an empty 200, as production does.
    let (s, j) = a.call(
        "GET",
        "/balance-allowance/update?asset_type=COLLATERAL&signature_type=3",
        b"",
    );
    assert_eq!(s, 200, "{j}");
    assert!(j.is_null() || j == "", "{j}");
    fund_address(&v, owner, "1", &[]);
    let (_, j) = a.call(
        "GET",
        "/balance-allowance?asset_type=COLLATERAL&signature_type=0",
        b"",
    );
    assert_ne!(j["balance"], "1005000000");
    // A marketable BUY of the wallet trades with the house; the trade is the wallet's.
    let (b, _) = a.body(m.yes, OrderSide::Buy, 6_000_000, 10_000_000, OrderType::Fok);
    a.accepted(&b);
    assert_eq!(shares(&v, wallet, &m.yes), 10_000_000);
    assert_eq!(shares(&v, owner, &m.yes), 0);
    let (_, j) = a.call("GET", "/data/trades", b"");
    let trades = j["data"].as_array().unwrap();
    assert_eq!(trades.len(), 1, "{j}");
    assert_eq!(trades[0]["maker_address"], wallet.to_checksum().as_str());
    // Cancel by the owner's key.
    let (s, j) = a.call(
        "DELETE",
        "/order",
        format!("{{\"orderID\":\"{id}\"}}").as_bytes(),
    );
    assert_eq!(
        (s, j["canceled"][0].as_str()),
        (200, Some(id.as_str())),
        "{j}"
    );
    assert_eq!(cash(&v, wallet).1, 0);
    let r = rejections(&v);
    assert_eq!(count(&r, "maker_not_allowed"), 2, "{r}");
}

#[test]
fn a_wrong_owner_a_broken_wrapper_or_a_misfit_funder_is_an_invalid_signature() {
    let v = venue();
    let m = market(&v);
    set_book(&v, &m.yes, &[("0.05", "100")], &[("0.60", "100")]);
    let a = Acct::wallet(&v, 60);
    let b_acct = Acct::wallet(&v, 61);
    let before = count(&rejections(&v), "signature");
    let (good, _) = a.body(m.yes, OrderSide::Buy, 1_000_000, 10_000_000, OrderType::Gtc);
    let s = String::from_utf8(good.clone()).unwrap();
    let sig_at = s.find("\"signature\":\"0x").unwrap() + "\"signature\":\"0x".len();
    let flip = |at: usize| {
        let mut t = s.clone().into_bytes();
        t[sig_at + at] = if t[sig_at + at] == b'1' { b'2' } else { b'1' };
        t
    };
    // The owner's inner signature, the app domain separator, the contents hash, the type
    // string, its length: each corrupted.
    for at in [10, 130 + 5, 130 + 64 + 5, 130 + 128 + 3, 633 - 2] {
        assert_eq!(a.refused(&flip(at)), "invalid signature", "byte {at}");
    }
    // The wrapper cut short.
    let cut = s.replacen(&s[sig_at..sig_at + 20], "", 1);
    assert_eq!(a.refused(cut.as_bytes()), "invalid signature");
    // B's key signs for A's wallet (a wrong owner), posted with B's API key.
    let b_for_a = Acct {
        signer: OrderSigner::new(
            b_acct.key.clone(),
            ProtocolVersion::known(2, 137).unwrap(),
            SignatureType::Poly1271,
            Some(a.account()),
        )
        .unwrap(),
        ..Acct::wallet(&v, 61)
    };
    let (x, _) = b_for_a.body(m.yes, OrderSide::Buy, 1_000_000, 10_000_000, OrderType::Gtc);
    assert_eq!(b_for_a.refused(&x), "invalid signature");
    // A's own order under B's API key names A's key as owner: refused (owner), not placed.
    let (s2, j) = b_acct.post(&good);
    assert_eq!(
        (s2, j["error"].as_str()),
        (
            400,
            Some("the order owner has to be the owner of the API KEY")
        )
    );
    // Funders that do not fit the signature type: a deposit wallet of someone else, a proxy
    // that is the signer itself, an EOA order naming another maker.
    let other_wallet = Acct::new(&v, 60, SignatureType::Poly1271, Some(Address([0x42; 20])));
    let (x, _) = other_wallet.body(m.yes, OrderSide::Buy, 1_000_000, 10_000_000, OrderType::Gtc);
    assert_eq!(other_wallet.refused(&x), "invalid signature");
    let self_proxy = Acct::new(
        &v,
        62,
        SignatureType::PolyGnosisSafe,
        Some(key(62).address()),
    );
    let (x, _) = self_proxy.body(m.yes, OrderSide::Buy, 1_000_000, 10_000_000, OrderType::Gtc);
    assert_eq!(self_proxy.refused(&x), "invalid signature");
    let eoa = Acct::eoa(&v, 63);
    let (x, _) = eoa.body_with(
        m.yes,
        OrderSide::Buy,
        1_000_000,
        10_000_000,
        OrderType::Gtc,
        |o| o.maker = Address([0x55; 20]),
    );
    assert_eq!(eoa.refused(&x), "invalid signature");
    let after = count(&rejections(&v), "signature");
    assert_eq!(after - before, 10);
    // The good one still goes through.
    a.accepted(&good);
}

#[test]
fn heartbeat_ids_rotate_and_a_stale_id_renews_nothing() {
    let v = venue();
    let m = market(&v);
    set_book(&v, &m.yes, &[("0.05", "100")], &[("0.95", "100")]);
    let a = Acct::eoa(&v, 70);
    let beat = |id: &str| {
        a.call(
            "POST",
            "/v1/heartbeats",
            format!("{{\"heartbeat_id\":\"{id}\"}}").as_bytes(),
        )
    };
    let (s, j) = beat("");
    assert_eq!(s, 200, "{j}");
    let id1 = j["heartbeat_id"].as_str().unwrap().to_string();
    let (s, j) = beat(&id1);
    assert_eq!(s, 200, "{j}");
    let id2 = j["heartbeat_id"].as_str().unwrap().to_string();
    assert_ne!(id1, id2);
    for stale in [id1.as_str(), "not-an-id"] {
        assert_eq!(
            beat(stale),
            (400, serde_json::json!({"error": "Invalid Heartbeat ID"}))
        );
    }
    // An absent id (`null`) starts a fresh chain.
    let (s, j) = a.call("POST", "/v1/heartbeats", b"{\"heartbeat_id\":null}");
    assert_eq!(s, 200, "{j}");
    let id3 = j["heartbeat_id"].as_str().unwrap().to_string();
    assert_eq!(beat(&id2).0, 400);
    let (_, j) = beat(&id3);
    let id4 = j["heartbeat_id"].as_str().unwrap().to_string();
    let (b, id) = a.body(m.yes, OrderSide::Buy, 1_000_000, 10_000_000, OrderType::Gtc);
    a.accepted(&b);
    // Stale beats keep coming but renew nothing: the 500 ms switch cancels the order.
    let start = Instant::now();
    loop {
        assert_eq!(beat(&id3).0, 400);
        let (_, o) = a.call("GET", &format!("/data/order/{id}"), b"");
        if o.is_null() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "the switch never fired"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(start.elapsed() >= Duration::from_millis(300));
    // The chain died with it.
    assert_eq!(beat(&id4).0, 400);
    assert!(count(&rejections(&v), "heartbeat_id") >= 5);
}

#[test]
fn order_ids_batches_and_lookups_answer_like_production() {
    let v = venue();
    let m = market(&v);
    set_book(&v, &m.yes, &[("0.05", "100")], &[("0.95", "100")]);
    let a = Acct::eoa(&v, 80);
    let invalid = serde_json::json!({"error": "Invalid orderID"});
    assert_eq!(
        a.call("DELETE", "/order", b"{\"orderID\":\"0x12\"}"),
        (400, invalid.clone())
    );
    assert_eq!(
        a.call("DELETE", "/order", b"{\"orderID\":7}"),
        (400, invalid.clone())
    );
    let good = format!("0x{}", "ab".repeat(32));
    assert_eq!(
        a.call(
            "DELETE",
            "/orders",
            format!("[\"{good}\",\"nope\"]").as_bytes()
        ),
        (400, invalid.clone())
    );
    assert_eq!(a.call("GET", "/data/order/0xzz", b""), (400, invalid));
    // Unknown but well formed: nothing, as for a closed order.
    assert_eq!(
        a.call("GET", &format!("/data/order/{good}"), b""),
        (200, Value::Null)
    );
    let (s, j) = a.call(
        "DELETE",
        "/order",
        format!("{{\"orderID\":\"{good}\"}}").as_bytes(),
    );
    assert_eq!(s, 200, "{j}");
    assert!(j["not_canceled"][&good].is_string(), "{j}");
    // A live order is answered; canceled, it is not.
    let (b, id) = a.body(m.yes, OrderSide::Buy, 1_000_000, 10_000_000, OrderType::Gtc);
    a.accepted(&b);
    let (s, j) = a.call("GET", &format!("/data/order/{id}"), b"");
    assert_eq!((s, j["status"].as_str()), (200, Some("LIVE")));
    a.call(
        "DELETE",
        "/order",
        format!("{{\"orderID\":\"{id}\"}}").as_bytes(),
    );
    assert_eq!(
        a.call("GET", &format!("/data/order/{id}"), b""),
        (200, Value::Null)
    );
    // Batches: 16 is one too many; a refused leg says why in production's words.
    let items: Vec<Value> = (0..16).map(|_| serde_json::json!({})).collect();
    let (s, j) = a.call(
        "POST",
        "/orders",
        serde_json::to_string(&items).unwrap().as_bytes(),
    );
    assert_eq!(
        (s, j),
        (
            400,
            serde_json::json!({"error": "Too many orders in payload: 16, max allowed: 15"})
        )
    );
    let (ok, _) = a.body(m.yes, OrderSide::Buy, 1_000_000, 10_000_000, OrderType::Gtc);
    let (bad, _) = a.body(m.yes, OrderSide::Buy, 9_999_955, 21_276_500, OrderType::Fok);
    let batch = format!(
        "[{},{}]",
        String::from_utf8(ok).unwrap(),
        String::from_utf8(bad).unwrap()
    );
    let (s, j) = a.call("POST", "/orders", batch.as_bytes());
    assert_eq!(s, 200, "{j}");
    assert_eq!(j[0]["status"], "live", "{j}");
    assert_eq!(j[1]["errorMsg"], MARKET_BUY_TEXT, "{j}");
    assert_eq!(j[1]["orderID"], "", "{j}");
    // Balance queries with an unknown asset type.
    let (s, j) = a.call("GET", "/balance-allowance?asset_type=STOCK", b"");
    assert_eq!(
        (s, j),
        (400, serde_json::json!({"error": "Invalid asset type"}))
    );
    let r = rejections(&v);
    assert!(
        count(&r, "order_id") >= 4 && count(&r, "batch_size") == 1 && count(&r, "asset_type") == 1,
        "{r}"
    );
}
