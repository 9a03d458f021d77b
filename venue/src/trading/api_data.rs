//! The CLOB's cancel, query and balance endpoints, and the trading admin routes
//! (`/admin/fund`, `/admin/balances`, `/admin/trading`: never part of Polymarket's API).

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;

use crate::book::VenueBook;
use crate::event::VenueEvent;
use crate::http::{HttpRequest, HttpResponse};
use polyarb::adapters::polymarket::signing::Address;
use polyarb::core::{Amount, Price, Side, Size, TokenId};

use super::accounts::{Balance, Holding};
use super::api::{NOT_TRADEABLE, TradingApi, with_warning};
use super::orders::{OrderStatus, parse_hash};
use super::rate::Bucket;
use super::refusal::Reason;
use super::render::{order_json, trade_json};
use super::state::Now;
use super::wallet::deposit_wallet_address;
use super::wire::{BalanceAllowance, END_CURSOR, Page, UNLIMITED_ALLOWANCE};

/// Items per page of `/data/orders` and `/data/trades`.
const PAGE: usize = 100;

/// A cancel or lookup naming something that is not an order id (`0x` + 64 hex).
pub const INVALID_ORDER_ID: &str = "Invalid orderID";

fn decode_cursor(c: Option<&str>) -> usize {
    c.and_then(|c| STANDARD.decode(c).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(0)
}

fn page<T>(items: Vec<T>, cursor: Option<&str>) -> Page<T> {
    let start = decode_cursor(cursor).min(items.len());
    let end = (start + PAGE).min(items.len());
    let next = if end < items.len() {
        STANDARD.encode(end.to_string())
    } else {
        END_CURSOR.to_string()
    };
    Page {
        data: items.into_iter().skip(start).take(end - start).collect(),
        next_cursor: next,
    }
}

#[derive(Deserialize)]
struct CancelOne {
    #[serde(rename = "orderID")]
    order_id: String,
}

#[derive(Deserialize)]
struct CancelMarket {
    #[serde(default)]
    market: Option<String>,
    #[serde(default)]
    asset_id: Option<String>,
}

#[derive(Deserialize)]
struct Fund {
    address: String,
    #[serde(default)]
    collateral: Option<Amount>,
    #[serde(default)]
    tokens: BTreeMap<String, Amount>,
}

/// `POST /admin/book`: replaces the house liquidity of a token (and mirrors it on the other
/// token of its market), for deterministic tests and demos.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetBook {
    asset_id: String,
    #[serde(default)]
    bids: Vec<(Price, Size)>,
    #[serde(default)]
    asks: Vec<(Price, Size)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TradingCommand {
    #[serde(default)]
    order_version: Option<u8>,
}

impl TradingApi {
    /// Cancels the orders of `who`'s keys among `ids`; one malformed id refuses the request.
    fn cancel(&self, who: Address, ids: Vec<String>, warn: bool) -> HttpResponse {
        if ids.iter().any(|i| parse_hash(i).is_none()) {
            return self.refuse(Reason::OrderId, 400, INVALID_ORDER_ID);
        }
        let now = Now::current();
        let r = self.ctl.hub().trading_op(now.ms, |st, books, buf| {
            st.cancel(books, buf, &who, &ids, &now)
        });
        match r {
            Some(r) => with_warning(HttpResponse::json(200, &r), warn),
            None => HttpResponse::error(503, NOT_TRADEABLE),
        }
    }

    pub(super) fn cancel_one(&self, req: &mut HttpRequest<'_>) -> HttpResponse {
        let a = match self.auth(req, Some((Bucket::Cancels, 1))) {
            Ok(a) => a,
            Err(r) => return r,
        };
        match serde_json::from_slice::<CancelOne>(&a.body) {
            Ok(c) => self.cancel(a.key.address, vec![c.order_id], a.warn),
            Err(_) => self.refuse(Reason::OrderId, 400, INVALID_ORDER_ID),
        }
    }

    pub(super) fn cancel_many(&self, req: &mut HttpRequest<'_>) -> HttpResponse {
        let body = match req.body() {
            Ok(b) => b,
            Err(r) => return r,
        };
        let ids: Vec<String> = match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(_) => return self.refuse(Reason::OrderId, 400, INVALID_ORDER_ID),
        };
        let cost = ids.len().max(1) as u32;
        match self.auth_with_body(req, body, Some((Bucket::Cancels, cost))) {
            Ok(a) => self.cancel(a.key.address, ids, a.warn),
            Err(r) => r,
        }
    }

    pub(super) fn cancel_all(&self, req: &mut HttpRequest<'_>) -> HttpResponse {
        let a = match self.auth(req, Some((Bucket::Cancels, 1))) {
            Ok(a) => a,
            Err(r) => return r,
        };
        let now = Now::current();
        let who = a.key.address;
        let r = self.ctl.hub().trading_op(now.ms, |st, books, buf| {
            st.cancel_where(books, buf, &who, |_| true, &now)
        });
        match r {
            Some(r) => {
                // One token for the call and one per order canceled.
                let _ = self
                    .shared
                    .limits
                    .take(who, Bucket::Cancels, r.canceled.len() as u32);
                with_warning(HttpResponse::json(200, &r), a.warn)
            }
            None => HttpResponse::error(503, NOT_TRADEABLE),
        }
    }

    pub(super) fn cancel_market(&self, req: &mut HttpRequest<'_>) -> HttpResponse {
        let a = match self.auth(req, Some((Bucket::Cancels, 1))) {
            Ok(a) => a,
            Err(r) => return r,
        };
        let c: CancelMarket = match serde_json::from_slice(&a.body) {
            Ok(c) => c,
            Err(e) => {
                return self.refuse(
                    Reason::Payload,
                    400,
                    &format!("invalid cancel payload: {e}"),
                );
            }
        };
        if c.market.is_none() && c.asset_id.is_none() {
            return self.refuse(Reason::Payload, 400, "market or asset_id required");
        }
        let asset = match c.asset_id.as_deref().map(TokenId::parse) {
            Some(Ok(t)) => Some(t),
            Some(Err(_)) => return self.refuse(Reason::AssetType, 400, "Invalid token id"),
            None => None,
        };
        let now = Now::current();
        let who = a.key.address;
        let r = self.ctl.hub().trading_op(now.ms, |st, books, buf| {
            let market = c.market.as_deref().map(|m| books.market_by_condition(m));
            let asset = asset.map(|t| books.lookup(&t));
            st.cancel_where(
                books,
                buf,
                &who,
                |o| {
                    market.is_none_or(|m| m == Some(o.market))
                        && asset.is_none_or(|x| x == Some(o.asset))
                },
                &now,
            )
        });
        match r {
            Some(r) => with_warning(HttpResponse::json(200, &r), a.warn),
            None => HttpResponse::error(503, NOT_TRADEABLE),
        }
    }

    pub(super) fn order(&self, req: &mut HttpRequest<'_>) -> HttpResponse {
        let a = match self.auth(req, None) {
            Ok(a) => a,
            Err(r) => return r,
        };
        let id = req.path.trim_start_matches("/data/order/");
        let Some(h) = parse_hash(id) else {
            return self.refuse(Reason::OrderId, 400, INVALID_ORDER_ID);
        };
        let hub = self.ctl.hub();
        // Only open orders are answered; a matched, canceled or unknown one is `null`, as
        // production answers (its fills are in `GET /data/trades` and the user channel).
        match hub.trading.order_by_hash(&h) {
            Some(o) if o.key_owner == a.key.address && o.status == OrderStatus::Live => {
                HttpResponse::json(200, &order_json(hub.books(), o))
            }
            _ => HttpResponse::json(200, &serde_json::Value::Null),
        }
    }

    pub(super) fn open_orders(&self, req: &mut HttpRequest<'_>) -> HttpResponse {
        let a = match self.auth(req, None) {
            Ok(a) => a,
            Err(r) => return r,
        };
        let id = req.query("id").and_then(parse_hash);
        let market = req.query("market").map(str::to_string);
        let asset = req.query("asset_id").and_then(|t| TokenId::parse(t).ok());
        let hub = self.ctl.hub();
        let books = hub.books();
        let store = &hub.trading.store;
        let items: Vec<_> = store
            .live()
            .into_iter()
            .filter_map(|s| store.orders.get(&s))
            .filter(|o| o.key_owner == a.key.address && o.status == OrderStatus::Live)
            .filter(|o| id.is_none_or(|h| h == o.hash))
            .filter(|o| {
                market
                    .as_deref()
                    .is_none_or(|m| books.markets[o.market as usize].condition_id == m)
            })
            .filter(|o| asset.is_none_or(|t| books.asset(o.asset).token == t))
            .map(|o| order_json(books, o))
            .collect();
        HttpResponse::json(200, &page(items, req.query("next_cursor")))
    }

    pub(super) fn trades(&self, req: &mut HttpRequest<'_>) -> HttpResponse {
        let a = match self.auth(req, None) {
            Ok(a) => a,
            Err(r) => return r,
        };
        let who = a.key.address;
        let id = req.query("id").map(str::to_string);
        let market = req.query("market").map(str::to_string);
        let asset = req.query("asset_id").and_then(|t| TokenId::parse(t).ok());
        let before = req.query("before").and_then(|s| s.parse::<u64>().ok());
        let after = req.query("after").and_then(|s| s.parse::<u64>().ok());
        let hub = self.ctl.hub();
        let books = hub.books();
        let items: Vec<_> = hub
            .trading
            .trades
            .iter()
            .filter(|t| t.involves(&who))
            .filter(|t| id.as_deref().is_none_or(|i| t.id == i))
            .filter(|t| {
                market
                    .as_deref()
                    .is_none_or(|m| books.markets[t.market as usize].condition_id == m)
            })
            .filter(|t| asset.is_none_or(|x| books.asset(t.asset).token == x))
            .filter(|t| before.is_none_or(|b| t.match_s < b) && after.is_none_or(|x| t.match_s > x))
            .map(|t| {
                let mut j = trade_json(books, t);
                if !(t.taker_seq.is_some() && t.taker_key_owner == who) {
                    j.trader_side = "MAKER";
                    if let Some(m) = t
                        .makers
                        .iter()
                        .find(|m| m.seq.is_some() && m.key_owner == who)
                    {
                        j.owner = m.owner.clone();
                    }
                }
                j
            })
            .collect();
        HttpResponse::json(200, &page(items, req.query("next_cursor")))
    }

    fn holding(&self, req: &HttpRequest<'_>) -> Result<Holding, HttpResponse> {
        match req.query("asset_type") {
            Some("COLLATERAL") | None => Ok(Holding::Collateral),
            Some("CONDITIONAL") => {
                let t = req
                    .query("token_id")
                    .and_then(|t| TokenId::parse(t).ok())
                    .ok_or_else(|| self.refuse(Reason::AssetType, 400, "Invalid token id"))?;
                let found = self.ctl.hub().books().lookup(&t).map(Holding::Token);
                found.ok_or_else(|| self.refuse(Reason::AssetType, 400, "Invalid token id"))
            }
            Some(_) => Err(self.refuse(Reason::AssetType, 400, "Invalid asset type")),
        }
    }

    pub(super) fn balance(&self, req: &mut HttpRequest<'_>) -> HttpResponse {
        let a = match self.auth(req, None) {
            Ok(a) => a,
            Err(r) => return r,
        };
        let h = match self.holding(req) {
            Ok(h) => h,
            Err(r) => return r,
        };
        let hub = self.ctl.hub();
        // The account of the signature type asked about: the deposit wallet (3), the proxy or
        // Safe funder the key's orders name (1, 2), or the key's own address.
        let owner = match req.query("signature_type") {
            Some("3") => deposit_wallet_address(a.key.address),
            Some("1") | Some("2") => hub.trading.funder_of(&a.key.address),
            _ => a.key.address,
        };
        let b: Balance = hub.trading.accounts.balance(&owner, h);
        HttpResponse::json(
            200,
            &BalanceAllowance {
                balance: b.total.to_string(),
                allowance: UNLIMITED_ALLOWANCE.into(),
            },
        )
    }

    pub(super) fn admin_fund(&self, req: &mut HttpRequest<'_>) -> HttpResponse {
        let f: Fund = match req.json() {
            Ok(f) => f,
            Err(r) => return r,
        };
        let Ok(who) = Address::parse(&f.address) else {
            return HttpResponse::error(400, "invalid address");
        };
        let mut hub = self.ctl.hub();
        let mut tokens = Vec::new();
        for (t, amount) in &f.tokens {
            match TokenId::parse(t).ok().and_then(|t| hub.books().lookup(&t)) {
                Some(a) => tokens.push((a, amount.0)),
                None => return HttpResponse::error(404, &format!("unknown token id {t}")),
            }
        }
        if let Some(c) = f.collateral {
            hub.trading.fund(who, Holding::Collateral, c.0);
        }
        for (a, amount) in tokens {
            hub.trading.fund(who, Holding::Token(a), amount);
        }
        drop(hub);
        self.balances_of(who)
    }

    fn balances_of(&self, who: Address) -> HttpResponse {
        let hub = self.ctl.hub();
        let books = hub.books();
        let mut tokens = BTreeMap::new();
        for (i, a) in books.assets.iter().enumerate() {
            let b = hub.trading.accounts.balance(&who, Holding::Token(i as u32));
            if b.total > 0 || b.reserved > 0 {
                tokens.insert(a.token_str.to_string(), b);
            }
        }
        HttpResponse::json(
            200,
            &serde_json::json!({
                "address": who.to_checksum(),
                "collateral": hub.trading.accounts.balance(&who, Holding::Collateral),
                "tokens": tokens,
                "rebates_accrued": hub.trading.rebates.get(&who).copied().unwrap_or(0),
            }),
        )
    }

    /// `GET /admin/deposit-wallet?owner=0x…`: the deposit wallet the venue assigns to an
    /// owner EOA (the double's derivation, see `trading::wallet`).
    pub(super) fn admin_deposit_wallet(&self, req: &mut HttpRequest<'_>) -> HttpResponse {
        match req.query("owner").map(Address::parse) {
            Some(Ok(owner)) => HttpResponse::json(
                200,
                &serde_json::json!({
                    "owner": owner.to_checksum(),
                    "deposit_wallet": deposit_wallet_address(owner).to_checksum(),
                }),
            ),
            _ => HttpResponse::error(400, "owner required: 0x + 40 hex"),
        }
    }

    pub(super) fn admin_balances(&self, req: &mut HttpRequest<'_>) -> HttpResponse {
        match req.query("address").map(Address::parse) {
            Some(Ok(who)) => self.balances_of(who),
            _ => HttpResponse::error(400, "address required"),
        }
    }

    pub(super) fn admin_book(&self, req: &mut HttpRequest<'_>) -> HttpResponse {
        let b: SetBook = match req.json() {
            Ok(b) => b,
            Err(r) => return r,
        };
        let Ok(token) = TokenId::parse(&b.asset_id) else {
            return HttpResponse::error(400, "Invalid token id");
        };
        let mut book = VenueBook::default();
        for (side, levels) in [(Side::Bid, &b.bids), (Side::Ask, &b.asks)] {
            for &(p, s) in levels {
                if !p.is_level_price() || s.is_zero() {
                    return HttpResponse::error(400, "levels need 0 < price < 1 and a size");
                }
                book.set(side, p, s);
            }
        }
        if book.is_crossed() {
            return HttpResponse::error(400, "the book would be crossed");
        }
        let now = Now::current();
        let done = self.ctl.hub().trading_op(now.ms, |_, books, buf| {
            let a = books.lookup(&token)?;
            let m = &books.markets[books.asset(a).market as usize];
            if m.assets.len() != 2 {
                return None;
            }
            let other = if m.assets[0] == a {
                m.assets[1]
            } else {
                m.assets[0]
            };
            let mirror = book.mirrored();
            for (x, bk) in [(a, book), (other, mirror)] {
                let asset = books.asset_mut(x);
                asset.book = bk;
                asset.version += 1;
                buf.events.push(VenueEvent::Book { asset: x });
            }
            Some(())
        });
        match done {
            Some(Some(())) => HttpResponse::json(200, &serde_json::json!({ "ok": true })),
            Some(None) => HttpResponse::error(404, "unknown or non-binary token"),
            None => HttpResponse::error(503, NOT_TRADEABLE),
        }
    }

    pub(super) fn admin_trading(&self, req: &mut HttpRequest<'_>) -> HttpResponse {
        let c: TradingCommand = match req.json() {
            Ok(c) => c,
            Err(r) => return r,
        };
        if let Some(v) = c.order_version {
            if !(1..=3).contains(&v) {
                return HttpResponse::error(400, "order_version must be 1, 2 or 3");
            }
            self.shared.set_version(v);
        }
        HttpResponse::json(
            200,
            &serde_json::json!({ "order_version": self.shared.version() }),
        )
    }
}
