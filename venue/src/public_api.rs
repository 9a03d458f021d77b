//! The CLOB's small public reads and the API-key listing, in production's shapes (docs.polymarket.com
//! and the official clients; `fixtures/polymarket/clob_simple_endpoint_responses.json`): `/ok`, `/time`,
//! `/tick-size`, `/neg-risk`, `/fee-rate`, `/markets-by-token/{token}`,
//! `/clob-markets/{condition}` (compact keys), `/midpoint(s)`, `/price(s)`, `/spread(s)`,
//! `/last-trade-price`, `/last-trades-prices`, `/prices-history`, and the L2 `GET
//! /auth/api-keys` and `DELETE /auth/api-key`.
//!
//! Everything is read from the published books (house liquidity plus resting user orders)
//! under one hub lock per request. `/price?side=BUY` is the best bid and `SELL` the best ask,
//! as production answers. Numbers are rendered from integer micro-units, never through floats.

use serde::Deserialize;
use serde_json::value::RawValue;

use polyarb::adapters::polymarket::signing::Address;
use polyarb::adapters::polymarket::signing::auth::L2Headers;
use polyarb::core::{Price, Side, TokenId};

use super::book_api::NO_BOOK;
use super::control::VenueControl;
use super::http::{HttpRequest, HttpResponse, HttpService};
use super::hub::Hub;
use super::trading::keys::UNAUTHORIZED;
use super::trading::state::Now;

/// The answer for a malformed or missing token id.
pub const INVALID_TOKEN: &str = "Invalid token id";
/// The answer for a condition id or token the venue does not list.
pub const MARKET_NOT_FOUND: &str = "market not found";
/// Most entries in one `POST /midpoints`, `/prices`, `/spreads` or `/last-trades-prices`.
const MAX_BATCH: usize = 500;

/// The public reads and the API-key listing.
pub struct PublicApi {
    ctl: VenueControl,
}

#[derive(Deserialize)]
struct BookParam {
    token_id: String,
    #[serde(default)]
    side: Option<String>,
}

/// A decimal text as a JSON number (`0.5`), exact.
fn number(text: &str) -> Box<RawValue> {
    RawValue::from_string(text.to_string())
        .unwrap_or_else(|_| RawValue::from_string("0".into()).unwrap_or_default())
}

fn price_number(p: Price) -> Box<RawValue> {
    number(&p.to_string())
}

/// `BUY` is the bid side of the book, `SELL` the ask side.
fn parse_side(s: &str) -> Option<Side> {
    match s.to_ascii_uppercase().as_str() {
        "BUY" => Some(Side::Bid),
        "SELL" => Some(Side::Ask),
        _ => None,
    }
}

/// What the reads need of one asset, taken under the hub lock.
struct Quote {
    bid: Option<Price>,
    ask: Option<Price>,
    last: Option<Price>,
    last_side: Option<Side>,
}

impl Quote {
    fn of(hub: &Hub, a: u32) -> Self {
        let asset = hub.books().asset(a);
        let book = asset.published();
        Self {
            bid: book.best_bid(),
            ask: book.best_ask(),
            last: asset.last_trade,
            last_side: hub.last_trade_side(a),
        }
    }

    /// Midpoint of the best bid and ask; one side alone when the other is empty.
    fn mid(&self) -> Price {
        match (self.bid, self.ask) {
            (Some(b), Some(a)) => Price((b.0 + a.0) / 2),
            (Some(p), None) | (None, Some(p)) => p,
            (None, None) => Price::ZERO,
        }
    }

    fn spread(&self) -> Price {
        match (self.bid, self.ask) {
            (Some(b), Some(a)) => Price(a.0.saturating_sub(b.0)),
            _ => Price::ZERO,
        }
    }

    fn side(&self, side: Side) -> Price {
        match side {
            Side::Bid => self.bid,
            Side::Ask => self.ask,
        }
        .unwrap_or(Price::ZERO)
    }
}

impl PublicApi {
    pub fn new(ctl: VenueControl) -> Self {
        Self { ctl }
    }

    fn token(req: &HttpRequest<'_>) -> Result<TokenId, HttpResponse> {
        req.query("token_id")
            .and_then(|t| TokenId::parse(t).ok())
            .ok_or_else(|| HttpResponse::error(400, INVALID_TOKEN))
    }

    /// Runs `f` on the token's asset under the hub lock; 404 when the venue has no book.
    fn with_asset<T>(
        &self,
        token: &TokenId,
        f: impl FnOnce(&Hub, u32) -> T,
    ) -> Result<T, HttpResponse> {
        let hub = self.ctl.hub();
        let a = hub
            .books()
            .lookup(token)
            .ok_or_else(|| HttpResponse::error(404, NO_BOOK))?;
        Ok(f(&hub, a))
    }

    fn single(
        &self,
        req: &HttpRequest<'_>,
        f: impl FnOnce(&Hub, u32) -> serde_json::Value,
    ) -> HttpResponse {
        let token = match Self::token(req) {
            Ok(t) => t,
            Err(r) => return r,
        };
        match self.with_asset(&token, f) {
            Ok(v) => HttpResponse::json(200, &v),
            Err(r) => r,
        }
    }

    fn price(&self, req: &HttpRequest<'_>) -> HttpResponse {
        let Some(side) = req.query("side").and_then(parse_side) else {
            return HttpResponse::error(400, "Invalid side");
        };
        self.single(
            req,
            |b, a| serde_json::json!({ "price": Quote::of(b, a).side(side).to_string() }),
        )
    }

    /// The body of a batch read: `[{"token_id": …, "side": …}]`, tokens parsed.
    fn batch(req: &mut HttpRequest<'_>) -> Result<Vec<(TokenId, BookParam)>, HttpResponse> {
        let params: Vec<BookParam> = req.json()?;
        if params.len() > MAX_BATCH {
            return Err(HttpResponse::error(
                400,
                &format!("too many token ids (at most {MAX_BATCH})"),
            ));
        }
        params
            .into_iter()
            .map(|p| match TokenId::parse(&p.token_id) {
                Ok(t) => Ok((t, p)),
                Err(_) => Err(HttpResponse::error(400, INVALID_TOKEN)),
            })
            .collect()
    }

    /// `POST /midpoints` and `/spreads`: `{"<token>": <number>}` over the known tokens.
    fn batch_map(&self, req: &mut HttpRequest<'_>, f: fn(&Quote) -> Price) -> HttpResponse {
        let items = match Self::batch(req) {
            Ok(i) => i,
            Err(r) => return r,
        };
        let hub = self.ctl.hub();
        let books = hub.books();
        let mut out = serde_json::Map::new();
        for (t, p) in &items {
            if let Some(a) = books.lookup(t) {
                let v = f(&Quote::of(&hub, a));
                out.insert(
                    p.token_id.clone(),
                    serde_json::to_value(price_number(v)).unwrap_or_default(),
                );
            }
        }
        drop(hub);
        HttpResponse::json(200, &out)
    }

    /// `POST /prices`: `{"<token>": {"BUY": <number>, …}}`.
    fn prices(&self, req: &mut HttpRequest<'_>) -> HttpResponse {
        let items = match Self::batch(req) {
            Ok(i) => i,
            Err(r) => return r,
        };
        let hub = self.ctl.hub();
        let books = hub.books();
        let mut out = serde_json::Map::new();
        for (t, p) in &items {
            let Some(a) = books.lookup(t) else { continue };
            let q = Quote::of(&hub, a);
            let sides: Vec<&str> = match p.side.as_deref() {
                Some(s) => vec![s],
                None => vec!["BUY", "SELL"],
            };
            let entry = out
                .entry(p.token_id.clone())
                .or_insert_with(|| serde_json::Value::Object(Default::default()));
            for s in sides {
                let Some(side) = parse_side(s) else {
                    return HttpResponse::error(400, "Invalid side");
                };
                if let serde_json::Value::Object(m) = entry {
                    m.insert(
                        s.to_ascii_uppercase(),
                        serde_json::to_value(price_number(q.side(side))).unwrap_or_default(),
                    );
                }
            }
        }
        drop(hub);
        HttpResponse::json(200, &out)
    }

    /// `POST /last-trades-prices`: `[{"token_id", "price", "side"}]`.
    fn last_trades(&self, req: &mut HttpRequest<'_>) -> HttpResponse {
        let items = match Self::batch(req) {
            Ok(i) => i,
            Err(r) => return r,
        };
        let hub = self.ctl.hub();
        let books = hub.books();
        let out: Vec<serde_json::Value> = items
            .iter()
            .filter_map(|(t, p)| {
                let a = books.lookup(t)?;
                Some(last_trade_json(Some(&p.token_id), &Quote::of(&hub, a)))
            })
            .collect();
        drop(hub);
        HttpResponse::json(200, &out)
    }

    /// `GET /prices-history`: the venue keeps no history; its one point is the last trade now.
    fn prices_history(&self, req: &HttpRequest<'_>) -> HttpResponse {
        let Some(token) = req.query("market").and_then(|t| TokenId::parse(t).ok()) else {
            return HttpResponse::error(400, INVALID_TOKEN);
        };
        let now_s = Now::current().s();
        let last = match self.with_asset(&token, |h, a| Quote::of(h, a).last) {
            Ok(l) => l,
            Err(r) => return r,
        };
        let history: Vec<serde_json::Value> = last
            .map(|p| {
                serde_json::json!({
                    "t": now_s,
                    "p": serde_json::to_value(price_number(p)).unwrap_or_default(),
                })
            })
            .into_iter()
            .collect();
        HttpResponse::json(200, &serde_json::json!({ "history": history }))
    }

    /// `GET /markets-by-token/{token}`.
    fn market_by_token(&self, raw: &str) -> HttpResponse {
        let Ok(token) = TokenId::parse(raw) else {
            return HttpResponse::error(400, INVALID_TOKEN);
        };
        let hub = self.ctl.hub();
        let books = hub.books();
        let Some(a) = books.lookup(&token) else {
            return HttpResponse::error(404, MARKET_NOT_FOUND);
        };
        let m = books.market_of(a);
        let tok = |i: usize| {
            m.assets
                .get(i)
                .map(|&x| books.asset(x).token_str.to_string())
                .unwrap_or_default()
        };
        HttpResponse::json(
            200,
            &serde_json::json!({
                "condition_id": m.condition_id,
                "primary_token_id": tok(0),
                "secondary_token_id": tok(1),
            }),
        )
    }

    /// `GET /clob-markets/{condition}`: the V2 client's compact market details.
    fn clob_market(&self, cond: &str) -> HttpResponse {
        let fees = self.ctl.trading.cfg.fees;
        let hub = self.ctl.hub();
        let books = hub.books();
        let Some(m) = books
            .markets
            .iter()
            .position(|m| m.condition_id.eq_ignore_ascii_case(cond))
        else {
            return HttpResponse::error(404, MARKET_NOT_FOUND);
        };
        let info = &books.markets[m];
        let Some(&first) = info.assets.first() else {
            return HttpResponse::error(404, MARKET_NOT_FOUND);
        };
        let outcomes = ["Yes", "No"];
        let tokens: Vec<serde_json::Value> = info
            .assets
            .iter()
            .enumerate()
            .map(|(i, &a)| {
                serde_json::json!({
                    "t": books.asset(a).token_str.as_ref(),
                    "o": outcomes.get(i).copied().unwrap_or(""),
                })
            })
            .collect();
        let asset = books.asset(first);
        let (rate, exponent, taker_only) = match fees {
            Some(f) => (Price(f.rate_ppm), f.exponent, f.taker_only),
            None => (Price::ZERO, 0, true),
        };
        let mut o = super::gamma::obj::Obj::new();
        o.set("c", &info.condition_id);
        o.set("t", &tokens);
        o.set_raw("mts", number(&asset.tick.to_string()));
        o.set("nr", &info.neg_risk());
        o.set(
            "fd",
            &serde_json::json!({
                "r": serde_json::to_value(price_number(rate)).unwrap_or_default(),
                "e": exponent,
                "to": taker_only,
            }),
        );
        o.set("mbf", &0);
        o.set("tbf", &0);
        o.set_raw("mos", number(&asset.min_order_size.to_string()));
        o.set("ao", &true);
        o.set("sd", &0);
        drop(hub);
        HttpResponse::json(200, &o)
    }

    /// L2 authentication for the key endpoints; the address and key that made the request.
    fn l2(&self, req: &mut HttpRequest<'_>) -> Result<(Address, String), HttpResponse> {
        let body = req.body()?;
        let h = |n: &str| req.header(n).unwrap_or_default();
        let headers = L2Headers {
            address: h("POLY_ADDRESS").into(),
            signature: h("POLY_SIGNATURE"),
            timestamp: h("POLY_TIMESTAMP"),
            api_key: h("POLY_API_KEY").into(),
            passphrase: h("POLY_PASSPHRASE").into(),
        };
        let shared = &self.ctl.trading;
        let keys = shared.keys.read().unwrap_or_else(|e| e.into_inner());
        keys.check_l2(
            &headers,
            &req.method,
            &req.path,
            &body,
            Now::current().s(),
            shared.cfg.auth_max_skew_s,
        )
        .map(|k| (k.address, k.creds.api_key.clone()))
        .ok_or_else(|| HttpResponse::error(401, UNAUTHORIZED))
    }

    /// `GET /auth/api-keys`: `{"apiKeys": [...]}`, every key of the caller's address.
    fn api_keys(&self, req: &mut HttpRequest<'_>) -> HttpResponse {
        let (address, _) = match self.l2(req) {
            Ok(x) => x,
            Err(r) => return r,
        };
        let keys = self
            .ctl
            .trading
            .keys
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .keys_of(address);
        HttpResponse::json(200, &serde_json::json!({ "apiKeys": keys }))
    }

    /// `DELETE /auth/api-key`: revokes the key that signed the request.
    fn delete_key(&self, req: &mut HttpRequest<'_>) -> HttpResponse {
        let (_, key) = match self.l2(req) {
            Ok(x) => x,
            Err(r) => return r,
        };
        self.ctl
            .trading
            .keys
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .revoke(&key);
        HttpResponse::json(200, &"OK")
    }
}

fn last_trade_json(token: Option<&str>, q: &Quote) -> serde_json::Value {
    // Before any print since the start the side is unknown (empty) and the price is the
    // book's reference price, or 0.
    let price =
        serde_json::to_value(price_number(q.last.unwrap_or(Price::ZERO))).unwrap_or_default();
    let side = q.last_side.map_or("", Side::venue_str);
    match token {
        Some(t) => serde_json::json!({ "token_id": t, "price": price, "side": side }),
        None => serde_json::json!({ "price": price, "side": side }),
    }
}

impl HttpService for PublicApi {
    fn handle(&self, req: &mut HttpRequest<'_>) -> Option<HttpResponse> {
        let path = req.path.clone();
        let r = match (req.method.as_str(), path.as_str()) {
            ("GET", "/ok") => HttpResponse::json(200, &"OK"),
            ("GET", "/time") => HttpResponse::json(200, &Now::current().s()),
            ("GET", "/tick-size") => self.single(
                req,
                |b, a| serde_json::json!({ "minimum_tick_size": b.books().asset(a).tick.to_string() }),
            ),
            ("GET", "/neg-risk") => self.single(
                req,
                |b, a| serde_json::json!({ "neg_risk": b.books().market_of(a).neg_risk() }),
            ),
            ("GET", "/fee-rate") => self.single(req, |_, _| serde_json::json!({ "base_fee": 0 })),
            ("GET", "/midpoint") => self.single(
                req,
                |b, a| serde_json::json!({ "mid": Quote::of(b, a).mid().to_string() }),
            ),
            ("GET", "/spread") => self.single(
                req,
                |b, a| serde_json::json!({ "spread": Quote::of(b, a).spread().to_string() }),
            ),
            ("GET", "/price") => self.price(req),
            ("GET", "/last-trade-price") => {
                self.single(req, |h, a| last_trade_json(None, &Quote::of(h, a)))
            }
            ("GET", "/prices-history") => self.prices_history(req),
            ("POST", "/midpoints") => self.batch_map(req, Quote::mid),
            ("POST", "/spreads") => self.batch_map(req, Quote::spread),
            ("POST", "/prices") => self.prices(req),
            ("POST", "/last-trades-prices") => self.last_trades(req),
            ("GET", p) if p.starts_with("/markets-by-token/") => {
                self.market_by_token(p.trim_start_matches("/markets-by-token/"))
            }
            ("GET", p) if p.starts_with("/clob-markets/") => {
                self.clob_market(p.trim_start_matches("/clob-markets/"))
            }
            ("GET", "/auth/api-keys") => self.api_keys(req),
            ("DELETE", "/auth/api-key") => self.delete_key(req),
            (
                _,
                "/ok"
                | "/time"
                | "/tick-size"
                | "/neg-risk"
                | "/fee-rate"
                | "/midpoint"
                | "/spread"
                | "/price"
                | "/last-trade-price"
                | "/prices-history"
                | "/midpoints"
                | "/spreads"
                | "/prices"
                | "/last-trades-prices"
                | "/auth/api-keys",
            ) => HttpResponse::error(405, "method not allowed"),
            _ => return None,
        };
        Some(r)
    }
}
