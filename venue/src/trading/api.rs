//! The CLOB's private REST endpoints as a router service: API keys (L1), orders, cancels,
//! queries, balances and heartbeats (L2), plus `GET /version` and the trading admin routes.
//!
//! Every request is authenticated and rate limited before it touches the hub; signatures are
//! recovered outside the hub lock; matching happens under it, with its market events.
//! Every refusal is a JSON `{"error": ...}` with the venue's status and text.

use std::sync::Arc;

use serde::Deserialize;

use crate::control::VenueControl;
use crate::http::{HttpRequest, HttpResponse, HttpService};
use polyarb::adapters::polymarket::signing::auth::{L1Headers, L2Headers};
use polyarb::adapters::polymarket::signing::parse_post_order;
use polyarb::adapters::polymarket::signing::wire::WireError;
use polyarb::core::TokenId;

use super::checks::{CheckContext, INVALID_PAYLOAD, INVALID_SIGNATURE, check_order};
use super::config::EoaOrders;
use super::keys::{ApiKey, ApiKeys, INVALID_L1, L1Refusal, UNAUTHORIZED};
use super::rate::{Bucket, Verdict};
use super::refusal::{Reason, Refusal};
use super::shared::{OrderFault, TradingShared};
use super::state::{CheckedOrder, MarketFacts, Now};
use super::wallet::deposit_wallet_address;
use super::wire::OrderResponse;

/// A heartbeat that does not echo the latest id of its chain.
pub const INVALID_HEARTBEAT_ID: &str = "Invalid Heartbeat ID";

/// The answer when the venue's source cannot trade (a replayed recording).
pub const NOT_TRADEABLE: &str = "MARKET_NOT_READY: trading needs the synthetic source";

pub struct TradingApi {
    pub(super) ctl: VenueControl,
    pub(super) shared: Arc<TradingShared>,
}

/// A request that passed authentication and its rate limit.
pub(super) struct Authed {
    pub key: ApiKey,
    pub body: Vec<u8>,
    /// Add `Poly-RateLimit-Warning: true` to the answer.
    pub warn: bool,
}

fn header(req: &HttpRequest<'_>, name: &str) -> String {
    req.header(name).unwrap_or_default()
}

pub(super) fn with_warning(mut r: HttpResponse, warn: bool) -> HttpResponse {
    if warn {
        r.headers.push(("Poly-RateLimit-Warning", "true".into()));
    }
    r
}

impl TradingApi {
    pub fn new(ctl: VenueControl) -> Self {
        let shared = ctl.trading.clone();
        Self { ctl, shared }
    }

    pub(super) fn now_s() -> u64 {
        Now::current().s()
    }

    /// A refusal answered with `status` and production's `{"error": text}`, and counted.
    pub(super) fn refuse(&self, reason: Reason, status: u16, text: &str) -> HttpResponse {
        self.shared.refusals.count(reason);
        HttpResponse::error(status, text)
    }

    /// L2 authentication over the exact body, then the signer's bucket.
    pub(super) fn auth(
        &self,
        req: &mut HttpRequest<'_>,
        bucket: Option<(Bucket, u32)>,
    ) -> Result<Authed, HttpResponse> {
        let body = req.body()?;
        self.auth_with_body(req, body, bucket)
    }

    fn l1(
        &self,
        req: &HttpRequest<'_>,
    ) -> Result<(polyarb::adapters::polymarket::signing::Address, u64), HttpResponse> {
        let h = L1Headers {
            address: header(req, "POLY_ADDRESS"),
            signature: header(req, "POLY_SIGNATURE"),
            timestamp: header(req, "POLY_TIMESTAMP"),
            nonce: req.header("POLY_NONCE").unwrap_or_else(|| "0".into()),
        };
        ApiKeys::check_l1(
            &h,
            self.shared.cfg.chain_id,
            Self::now_s(),
            self.shared.cfg.auth_max_skew_s,
        )
        .map_err(|_| self.refuse(Reason::Unauthorized, 401, INVALID_L1))
    }

    fn create_key(&self, req: &HttpRequest<'_>) -> HttpResponse {
        let (address, nonce) = match self.l1(req) {
            Ok(x) => x,
            Err(r) => return r,
        };
        let made = self
            .shared
            .keys
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .create(address, nonce);
        match made {
            Ok(creds) => {
                // The owner's first key creates its deposit wallet; both start funded.
                let initial = self.shared.cfg.initial_collateral.0;
                let mut hub = self.ctl.hub();
                hub.trading.accounts.open(address, initial);
                hub.trading
                    .accounts
                    .open(deposit_wallet_address(address), initial);
                drop(hub);
                HttpResponse::json(200, &creds)
            }
            Err(L1Refusal::Exists) => {
                self.refuse(Reason::Unauthorized, 400, "Could not create api key")
            }
            Err(_) => self.refuse(Reason::Unauthorized, 401, INVALID_L1),
        }
    }

    fn derive_key(&self, req: &HttpRequest<'_>) -> HttpResponse {
        let (address, nonce) = match self.l1(req) {
            Ok(x) => x,
            Err(r) => return r,
        };
        let keys = self.shared.keys.read().unwrap_or_else(|e| e.into_inner());
        match keys.derive(address, nonce) {
            Ok(creds) => HttpResponse::json(200, &creds),
            Err(_) => self.refuse(Reason::Unauthorized, 400, "Could not derive api key!"),
        }
    }

    /// Injected refusals, before anything is done.
    fn order_fault(&self) -> Option<HttpResponse> {
        match self.shared.order_fault() {
            OrderFault::None => None,
            OrderFault::Fail(429, s) => {
                self.shared.refusals.count(Reason::Injected);
                Some(HttpResponse::too_many(s.max(1)))
            }
            OrderFault::Fail(status, _) => {
                Some(self.refuse(Reason::Injected, status, "internal error (injected fault)"))
            }
        }
    }

    /// Reads one body's market and checks it (the signature outside the hub lock).
    fn check(&self, key: &ApiKey, body: &[u8]) -> Result<CheckedOrder, Refusal> {
        let p = parse_post_order(body).map_err(|e| match e {
            // A signature (or POLY_1271 wrapper) that does not even decode fails like any
            // other broken signature.
            WireError::Field {
                field: "signature", ..
            } => Refusal::new(Reason::Signature, INVALID_SIGNATURE),
            e => Refusal::new(Reason::Payload, format!("{INVALID_PAYLOAD}: {e}")),
        })?;
        let token: TokenId = p.signed.order.token_id;
        let facts = {
            let hub = self.ctl.hub();
            hub.books()
                .lookup(&token)
                .and_then(|a| MarketFacts::of(hub.books(), a))
        };
        let cx = CheckContext {
            key,
            version: self.shared.version(),
            chain_id: self.shared.cfg.chain_id,
            now_s: Self::now_s(),
            gtd_min_lifetime_s: self.shared.cfg.gtd_min_lifetime_s,
            eoa_allowed: self.shared.cfg.eoa_orders == EoaOrders::Allowed,
        };
        check_order(&cx, p, facts)
    }

    /// Places checked orders in one hub step; `None` if the source cannot trade.
    /// Every refusal among the results is counted.
    fn place(
        &self,
        orders: Vec<Result<CheckedOrder, Refusal>>,
    ) -> Option<Vec<Result<OrderResponse, Refusal>>> {
        let now = Now::current();
        let out: Option<Vec<Result<OrderResponse, Refusal>>> =
            self.ctl.hub().trading_op(now.ms, |st, books, buf| {
                orders
                    .into_iter()
                    .map(|o| o.and_then(|o| st.place(books, buf, o, &now).map_err(Refusal::from)))
                    .collect()
            });
        for r in out.iter().flatten() {
            if let Err(e) = r {
                self.shared.refusals.count(e.reason);
            }
        }
        // New trades: their status changes are due soon.
        self.shared.timer.ring();
        out
    }

    fn post_order(&self, req: &mut HttpRequest<'_>) -> HttpResponse {
        let a = match self.auth(req, Some((Bucket::Orders, 1))) {
            Ok(a) => a,
            Err(r) => return r,
        };
        if let Some(r) = self.order_fault() {
            return r;
        }
        let checked = self.check(&a.key, &a.body);
        let Some(mut results) = self.place(vec![checked]) else {
            return HttpResponse::error(503, NOT_TRADEABLE);
        };
        let r = match results.pop() {
            Some(Ok(resp)) => HttpResponse::json(200, &resp),
            Some(Err(e)) => HttpResponse::error(400, &e.text),
            None => HttpResponse::error(500, "internal error"),
        };
        self.delay();
        with_warning(r, a.warn)
    }

    fn post_orders(&self, req: &mut HttpRequest<'_>) -> HttpResponse {
        let body = match req.body() {
            Ok(b) => b,
            Err(r) => return r,
        };
        let items: Vec<serde_json::Value> = match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => {
                return self.refuse(Reason::Payload, 400, &format!("{INVALID_PAYLOAD}: {e}"));
            }
        };
        if items.len() > self.shared.cfg.max_batch {
            return self.refuse(
                Reason::BatchSize,
                400,
                &format!(
                    "Too many orders in payload: {}, max allowed: {}",
                    items.len(),
                    self.shared.cfg.max_batch
                ),
            );
        }
        // Authenticate over the bytes received (re-reading the body is not possible).
        let a =
            match self.auth_with_body(req, body, Some((Bucket::Orders, items.len().max(1) as u32)))
            {
                Ok(a) => a,
                Err(r) => return r,
            };
        if let Some(r) = self.order_fault() {
            return r;
        }
        let checked = items
            .iter()
            .map(|v| {
                let bytes = serde_json::to_vec(v).unwrap_or_default();
                self.check(&a.key, &bytes)
            })
            .collect();
        let Some(results) = self.place(checked) else {
            return HttpResponse::error(503, NOT_TRADEABLE);
        };
        let out: Vec<OrderResponse> = results
            .into_iter()
            .map(|r| r.unwrap_or_else(|e| OrderResponse::refused(&e.text)))
            .collect();
        self.delay();
        with_warning(HttpResponse::json(200, &out), a.warn)
    }

    /// [`Self::auth`] for a body already read.
    pub(super) fn auth_with_body(
        &self,
        req: &HttpRequest<'_>,
        body: Vec<u8>,
        bucket: Option<(Bucket, u32)>,
    ) -> Result<Authed, HttpResponse> {
        let headers = L2Headers {
            address: header(req, "POLY_ADDRESS").into(),
            signature: header(req, "POLY_SIGNATURE"),
            timestamp: header(req, "POLY_TIMESTAMP"),
            api_key: header(req, "POLY_API_KEY").into(),
            passphrase: header(req, "POLY_PASSPHRASE").into(),
        };
        let key = {
            let keys = self.shared.keys.read().unwrap_or_else(|e| e.into_inner());
            keys.check_l2(
                &headers,
                &req.method,
                &req.path,
                &body,
                Self::now_s(),
                self.shared.cfg.auth_max_skew_s,
            )
            .cloned()
        }
        .ok_or_else(|| self.refuse(Reason::Unauthorized, 401, UNAUTHORIZED))?;
        let warn = match bucket {
            Some((b, cost)) => match self.shared.limits.take(key.address, b, cost) {
                Verdict::Allow { warn } => warn,
                Verdict::Deny(s) => {
                    self.shared.refusals.count(Reason::RateLimited);
                    return Err(HttpResponse::too_many(s));
                }
            },
            None => false,
        };
        Ok(Authed { key, body, warn })
    }

    /// Holds the answer back if a delay fault is armed (the order has already matched).
    fn delay(&self) {
        if let Some(d) = self.shared.response_delay() {
            std::thread::sleep(d);
        }
    }

    fn heartbeat(&self, req: &mut HttpRequest<'_>) -> HttpResponse {
        let a = match self.auth(req, None) {
            Ok(a) => a,
            Err(r) => return r,
        };
        #[derive(Deserialize)]
        struct Beat {
            #[serde(default)]
            heartbeat_id: Option<String>,
        }
        let beat = if a.body.is_empty() {
            Beat { heartbeat_id: None }
        } else {
            match serde_json::from_slice::<Beat>(&a.body) {
                Ok(b) => b,
                Err(_) => return self.refuse(Reason::Payload, 400, "invalid heartbeat payload"),
            }
        };
        let now = Now::current();
        let next = self.ctl.hub().trading.heartbeat(
            &a.key.creds.api_key,
            beat.heartbeat_id.as_deref(),
            &now,
        );
        self.shared.timer.ring();
        match next {
            Ok(id) => HttpResponse::json(200, &serde_json::json!({ "heartbeat_id": id })),
            Err(_) => self.refuse(Reason::HeartbeatId, 400, INVALID_HEARTBEAT_ID),
        }
    }
}

impl HttpService for TradingApi {
    fn handle(&self, req: &mut HttpRequest<'_>) -> Option<HttpResponse> {
        let r = match (req.method.as_str(), req.path.as_str()) {
            ("GET", "/version") => HttpResponse::json(
                200,
                &serde_json::json!({ "version": self.shared.version() }),
            ),
            ("POST", "/auth/api-key") => self.create_key(req),
            ("GET", "/auth/derive-api-key") => self.derive_key(req),
            ("POST", "/order") => self.post_order(req),
            ("POST", "/orders") => self.post_orders(req),
            ("DELETE", "/order") => self.cancel_one(req),
            ("DELETE", "/orders") => self.cancel_many(req),
            ("DELETE", "/cancel-all") => self.cancel_all(req),
            ("DELETE", "/cancel-market-orders") => self.cancel_market(req),
            ("GET", "/data/orders") => self.open_orders(req),
            ("GET", "/data/trades") => self.trades(req),
            ("GET", "/balance-allowance") => self.balance(req),
            ("GET", "/balance-allowance/update") => {
                // Production re-reads the account and answers 200 with an empty body; the
                // balance itself is read with `GET /balance-allowance`.
                let mut r = self.balance(req);
                if r.status == 200 {
                    r.body.clear();
                }
                r
            }
            ("POST", "/v1/heartbeats") => self.heartbeat(req),
            ("GET", p) if p.starts_with("/data/order/") => self.order(req),
            ("POST", "/admin/fund") => self.admin_fund(req),
            ("GET", "/admin/balances") => self.admin_balances(req),
            ("GET", "/admin/deposit-wallet") => self.admin_deposit_wallet(req),
            ("POST", "/admin/trading") => self.admin_trading(req),
            ("POST", "/admin/book") => self.admin_book(req),
            (
                _,
                "/version"
                | "/auth/api-key"
                | "/auth/derive-api-key"
                | "/order"
                | "/orders"
                | "/cancel-all"
                | "/cancel-market-orders"
                | "/data/orders"
                | "/data/trades"
                | "/balance-allowance"
                | "/v1/heartbeats",
            ) => HttpResponse::error(405, "method not allowed"),
            _ => return None,
        };
        Some(r)
    }
}
