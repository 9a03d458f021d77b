//! Helpers for the trading tests: a paused venue with fast trade statuses, traders with real
//! API keys and CLOB clients, house books set exactly, user-channel listeners, and waiting.

use std::sync::Arc;
use std::time::{Duration, Instant};

use polyarb::adapters::polymarket::http::clob::{
    ClobClient, ClobConfig, PreparedOrder, create_or_derive_api_key,
};
use polyarb::adapters::polymarket::signing::{
    Address, ApiCredentials, MarketRules, OrderRequest, OrderSide, OrderType, PrivateKey,
};
use polyarb::adapters::polymarket::ws::user::{UserChannel, UserChannelConfig, UserMessage};
use polyarb::adapters::polymarket::ws::user_events::UserEvent;
use polyarb::core::fees::FeeSchedule;
use polyarb::core::{AssetIndex, Price, Size, TickSize, TokenId};
use polyarb::exec::journal::JournalEntry;
use polyarb::exec::manager::NewOrder;
use polyarb::exec::order::OrderState;
use polyarb::strategy::{Leg, MAX_LEGS, Opportunity};
use polyarb_venue::{VenueConfig, VenueHandle};
use serde_json::Value;

use crate::wire::{self, agent};

/// A paused venue of a few markets, trades confirmed within ~50 ms, heartbeat timeout 500 ms.
pub fn venue() -> VenueHandle {
    venue_with(|_| {})
}

/// The venue with py-clob-client-v2's fee vector on every synthetic market: r = 0.25, e = 2.
pub fn fee_venue() -> VenueHandle {
    venue_with(|c| {
        c.gamma.fee_rate = polyarb::core::Price(250_000);
        c.gamma.fee_exponent = 2;
    })
}

/// The trading venue (`venue`), its config tweaked before it starts.
pub fn venue_with(tweak: impl FnOnce(&mut VenueConfig)) -> VenueHandle {
    wire::venue_with(8, 11, |cfg| {
        cfg.trading.mined_after_ms = 20;
        cfg.trading.confirmed_after_ms = 50;
        cfg.trading.heartbeat_timeout_ms = 500;
        // These traders sign as plain EOAs, an account older than the deposit-wallet flow.
        cfg.trading.eoa_orders = polyarb_venue::trading::config::EoaOrders::Allowed;
        tweak(cfg);
    })
}

/// A binary, non-neg-risk market of the venue.
pub struct Market {
    pub condition_id: String,
    pub yes: TokenId,
    pub no: TokenId,
    pub rules: MarketRules,
    /// The taker fee schedule the venue charges on it (`None`: fee-free).
    pub fees: Option<FeeSchedule>,
}

pub fn market(v: &VenueHandle) -> Market {
    let m = v
        .markets()
        .into_iter()
        .find(|m| !m.neg_risk && m.token_ids.len() == 2)
        .expect("a binary market");
    Market {
        yes: TokenId::parse(&m.token_ids[0]).unwrap(),
        no: TokenId::parse(&m.token_ids[1]).unwrap(),
        condition_id: m.condition_id,
        rules: MarketRules {
            tick_size: TickSize::CENT,
            min_order_size: Size(5_000_000),
            neg_risk: false,
        },
        fees: v.control().trading_fees(),
    }
}

pub struct Trader {
    pub key: PrivateKey,
    pub creds: ApiCredentials,
    pub client: Arc<ClobClient>,
}

pub fn key(n: u64) -> PrivateKey {
    PrivateKey::from_hex(&format!("0x{:064x}", 0x1000 + n)).unwrap()
}

pub fn trader(v: &VenueHandle, n: u64) -> Trader {
    trader_with(v, n, |_| {})
}

pub fn trader_with(v: &VenueHandle, n: u64, tweak: impl FnOnce(&mut ClobConfig)) -> Trader {
    let key = key(n);
    let creds = create_or_derive_api_key(&v.http_url(), &key, 137, 0, Duration::from_secs(5))
        .expect("API key");
    let mut cfg = ClobConfig::new(&v.http_url());
    tweak(&mut cfg);
    let client = ClobClient::connect(cfg, key.clone(), creds.clone()).expect("client");
    Trader {
        key,
        creds,
        client: Arc::new(client),
    }
}

pub fn admin(v: &VenueHandle, path: &str, body: Value) -> Value {
    let mut r = agent()
        .post(format!("{}{path}", v.http_url()))
        .send_json(&body)
        .expect("admin call");
    let status = r.status().as_u16();
    let text = r.body_mut().read_to_string().unwrap();
    assert_eq!(status, 200, "{path}: {text}");
    serde_json::from_str(&text).unwrap()
}

/// Replaces the house book of `token` (and its mirror on the other outcome).
pub fn set_book(v: &VenueHandle, token: &TokenId, bids: &[(&str, &str)], asks: &[(&str, &str)]) {
    admin(
        v,
        "/admin/book",
        serde_json::json!({"asset_id": token.to_string(), "bids": bids, "asks": asks}),
    );
}

/// Adds pUSD and tokens to an address.
pub fn fund(v: &VenueHandle, t: &Trader, collateral: &str, tokens: &[(&TokenId, &str)]) {
    fund_address(v, t.key.address(), collateral, tokens);
}

/// Adds pUSD and tokens to any address (a trader's, a deposit wallet's).
pub fn fund_address(v: &VenueHandle, who: Address, collateral: &str, tokens: &[(&TokenId, &str)]) {
    let tokens: serde_json::Map<String, Value> = tokens
        .iter()
        .map(|(t, a)| (t.to_string(), Value::from(*a)))
        .collect();
    admin(
        v,
        "/admin/fund",
        serde_json::json!({"address": who.to_checksum(), "collateral": collateral, "tokens": tokens}),
    );
}

/// (pUSD total, pUSD reserved, token totals by id) of a trader, from `/admin/balances`.
pub fn balances(v: &VenueHandle, t: &Trader) -> Value {
    let mut r = agent()
        .get(format!(
            "{}/admin/balances?address={}",
            v.http_url(),
            t.key.address().to_checksum()
        ))
        .call()
        .unwrap();
    serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap()
}

pub fn collateral(v: &VenueHandle, t: &Trader) -> u64 {
    balances(v, t)["collateral"]["total"].as_u64().unwrap()
}

pub fn tokens(v: &VenueHandle, t: &Trader, token: &TokenId) -> u64 {
    balances(v, t)["tokens"][token.to_string()]["total"]
        .as_u64()
        .unwrap_or(0)
}

pub fn limit(
    token: TokenId,
    side: OrderSide,
    price: &str,
    size: &str,
    t: OrderType,
) -> OrderRequest {
    let mut r = OrderRequest::limit(
        token,
        side,
        Price::parse(price).unwrap(),
        Size::parse(size).unwrap(),
    );
    r.order_type = t;
    r
}

impl Trader {
    /// A signed limit order of this trader in market `m` (a fresh salt, the current time).
    pub fn signed(
        &self,
        m: &Market,
        token: TokenId,
        side: OrderSide,
        price: &str,
        size: &str,
        t: OrderType,
    ) -> PreparedOrder {
        self.client
            .prepare(&limit(token, side, price, size, t), &m.rules)
            .unwrap()
    }
}

/// The REST book of a token, as JSON.
pub fn rest_book(v: &VenueHandle, token: &TokenId) -> Value {
    let mut r = agent()
        .get(format!("{}/book?token_id={token}", v.http_url()))
        .call()
        .unwrap();
    serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap()
}

/// The size at a price of a REST book side ("bids"/"asks"), or "0".
pub fn level(book: &Value, side: &str, price: &str) -> String {
    book[side]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["price"] == price)
        .map_or("0".to_string(), |l| l["size"].as_str().unwrap().to_string())
}

/// A user-channel listener that also keeps every raw event it parsed.
pub struct Listener {
    pub ch: UserChannel,
    pub seen: Vec<UserEvent>,
}

pub fn listen(v: &VenueHandle, t: &Trader) -> Listener {
    let ch = UserChannel::start(UserChannelConfig::new(&v.user_ws_url(), t.creds.clone()))
        .expect("user channel");
    let l = Listener {
        ch,
        seen: Vec::new(),
    };
    match l.ch.messages.recv_timeout(Duration::from_secs(10)) {
        Ok(UserMessage::Connected) => {}
        other => panic!("user channel did not connect: {other:?}"),
    }
    l
}

impl Listener {
    /// Waits for an event matching `f` (10 s at most); every event read is kept in `seen`.
    pub fn wait(&mut self, what: &str, f: impl Fn(&UserEvent) -> bool) -> UserEvent {
        if let Some(e) = self.seen.iter().find(|e| f(e)) {
            return e.clone();
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.ch.messages.recv_timeout(left) {
                Ok(UserMessage::Event(e)) => {
                    self.seen.push((*e).clone());
                    if f(&e) {
                        return *e;
                    }
                }
                Ok(_) => {}
                Err(_) => panic!("no user event: {what}; saw {:#?}", self.seen),
            }
        }
    }
}

/// A leg to send: BUY `size` YES shares of `m` at `price`.
pub fn leg(plan: u64, oid: u64, m: &Market, price: &str, size: &str, t: OrderType) -> NewOrder {
    NewOrder {
        plan_id: plan,
        client_oid: oid,
        request: limit(m.yes, OrderSide::Buy, price, size, t),
        rules: m.rules,
        fees: m.fees,
    }
}

/// A GTC BUY of YES signed by `t`, not sent.
pub fn signed_buy(t: &Trader, m: &Market, price: &str, size: &str) -> PreparedOrder {
    t.client
        .prepare(
            &limit(m.yes, OrderSide::Buy, price, size, OrderType::Gtc),
            &m.rules,
        )
        .expect("a valid order")
}

/// The journal row of a GTC BUY of YES (`signed_buy`) journaled as sent and never answered: what
/// a crash between journaling and the answer leaves behind.
pub fn sent_entry(plan_id: u64, client_oid: u64, p: &PreparedOrder, m: &Market) -> JournalEntry {
    let o = &p.signed.order;
    JournalEntry {
        plan_id,
        client_oid,
        order_id: p.order_id.clone(),
        token_id: m.yes.to_string(),
        side: OrderSide::Buy,
        // A BUY pays maker_amount for taker_amount shares.
        price: Price((o.maker_amount * 1_000_000 / o.taker_amount) as u32),
        size: Size(o.taker_amount),
        order_type: OrderType::Gtc,
        state: OrderState::Sent,
        filled: Size::ZERO,
        created_ms: 1,
    }
}

/// A binary Dutch-book opportunity: YES (asset 0) at `yes`, NO (asset 1) at `no`, `size`
/// shares.
pub fn two_legs(yes: &str, no: &str, size: &str) -> Opportunity {
    let mut legs = [Leg::default(); MAX_LEGS];
    legs[0] = Leg {
        asset: AssetIndex(0),
        price: Price::parse(yes).unwrap(),
    };
    legs[1] = Leg {
        asset: AssetIndex(1),
        price: Price::parse(no).unwrap(),
    };
    Opportunity {
        n_legs: 2,
        legs,
        size: Size::parse(size).unwrap(),
        ..Opportunity::default()
    }
}
