//! The CLOB client for trading: API keys (L1), orders, cancels, queries, balances and
//! heartbeats (L2), on one keep-alive connection pool (a ureq agent).
//!
//! - Every venue refusal becomes a typed [`ClobError`]; timeouts and transport failures say
//!   the outcome is unknown ([`ClobError::outcome_unknown`]) so callers look the order up by
//!   its hash before sending anything again.
//! - 429 answers are respected: nothing of that class goes out before `Retry-After`; the
//!   per-signer budgets are tracked locally so the client stops before the venue would.
//! - `POST /orders` batches are split into the venue's maximum (15).
//! - Orders are signed for the version `GET /version` reports; after `order_version_mismatch`
//!   [`ClobClient::refresh_version`] re-reads it and re-keys the signer (the caller re-signs
//!   and retries once, journaling the new hash first).
//!
//! Blocking calls: run them off the hot path (the live dispatch has its own sender thread).

pub mod budget;
pub mod error;
pub mod heartbeat;
mod queries;
pub mod types;

use std::sync::{Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant};

use crate::adapters::polymarket::signing::auth::{l1_headers, request_path};
use crate::adapters::polymarket::signing::signer::random_salt;
use crate::adapters::polymarket::signing::{
    Address, ApiCredentials, L2Signer, MarketRules, OrderRequest, OrderSigner, OrderType,
    PostOrder, PrivateKey, ProtocolVersion, SignatureType, SignedOrder,
};
use crate::obs::clock::unix_ms;

pub use budget::{BudgetConfig, Class, SignerBudget};
pub use error::ClobError;
pub use types::{
    AckStatus, AssetType, BalanceAllowance, CancelResult, Filter, OpenOrder, OrderAck, Page,
    RawOrderResponse, TradeRecord,
};

/// The venue's largest `POST /orders`.
pub const MAX_BATCH: usize = 15;
/// The last page's cursor.
const END_CURSOR: &str = "LTE=";

/// How to reach the CLOB and who trades.
#[derive(Clone, Debug)]
pub struct ClobConfig {
    /// `https://clob.polymarket.com`, or the local venue's `http://127.0.0.1:PORT`.
    pub base_url: String,
    pub chain_id: u64,
    /// Whole-request timeout; a POST that times out has an unknown outcome.
    pub timeout: Duration,
    pub signature_type: SignatureType,
    /// The funder (proxy, safe or deposit wallet) for signature types 1–3.
    pub funder: Option<Address>,
    pub budget: BudgetConfig,
    /// Idempotent GETs answered 429 are retried once after `Retry-After` if it is at most this.
    pub max_retry_wait: Duration,
}

impl ClobConfig {
    pub fn new(base_url: &str) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_string(),
            chain_id: 137,
            timeout: Duration::from_secs(5),
            signature_type: SignatureType::Eoa,
            funder: None,
            budget: BudgetConfig::default(),
            max_retry_wait: Duration::from_secs(2),
        }
    }
}

/// A signed order ready to send: its hash (the venue's order id) is known before it goes.
#[derive(Clone, Debug)]
pub struct PreparedOrder {
    pub signed: SignedOrder,
    pub hash: [u8; 32],
    /// `0x` + 64 hex.
    pub order_id: String,
    pub order_type: OrderType,
    /// The exact `POST /order` body.
    pub body: Vec<u8>,
    /// The order version it was signed for.
    pub version: u8,
}

/// Counters, readable while trading.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClobStats {
    pub requests: u64,
    pub rate_limited: u64,
    pub local_limited: u64,
    pub warnings: u64,
    pub timeouts: u64,
}

/// An HTTP answer.
struct Answer {
    status: u16,
    body: Vec<u8>,
}

pub struct ClobClient {
    cfg: ClobConfig,
    agent: ureq::Agent,
    key: PrivateKey,
    creds: ApiCredentials,
    l2: L2Signer,
    signer: RwLock<OrderSigner>,
    budget: Mutex<SignerBudget>,
    stats: Mutex<ClobStats>,
}

fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .max_idle_connections_per_host(8)
        .build()
        .new_agent()
}

fn transport(e: ureq::Error) -> ClobError {
    match e {
        ureq::Error::Timeout(_) => ClobError::Timeout,
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => ClobError::Timeout,
        other => ClobError::Transport(other.to_string()),
    }
}

fn read_answer(
    mut r: ureq::http::Response<ureq::Body>,
) -> Result<(Answer, Option<u64>, bool), ClobError> {
    let status = r.status().as_u16();
    let h = |name: &str| {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let retry = h("retry-after").and_then(|v| v.trim().parse::<u64>().ok());
    let warn = h("poly-ratelimit-warning").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let body = r
        .body_mut()
        .with_config()
        .limit(64 << 20)
        .read_to_vec()
        .map_err(transport)?;
    Ok((Answer { status, body }, retry, warn))
}

/// Makes (or, if it exists, derives) API credentials for a key: `POST /auth/api-key`, then
/// `GET /auth/derive-api-key` (what the official clients' `create_or_derive_api_creds` do).
pub fn create_or_derive_api_key(
    base_url: &str,
    key: &PrivateKey,
    chain_id: u64,
    nonce: u64,
    timeout: Duration,
) -> Result<ApiCredentials, ClobError> {
    let a = agent(timeout);
    let base = base_url.trim_end_matches('/');
    let call = |post: bool| -> Result<Answer, ClobError> {
        let h = l1_headers(key, chain_id, unix_ms() / 1000, nonce);
        let pairs = [
            ("POLY_ADDRESS", h.address.as_str()),
            ("POLY_SIGNATURE", h.signature.as_str()),
            ("POLY_TIMESTAMP", h.timestamp.as_str()),
            ("POLY_NONCE", h.nonce.as_str()),
        ];
        let r = if post {
            let mut b = a.post(format!("{base}/auth/api-key"));
            for (k, v) in pairs {
                b = b.header(k, v);
            }
            b.send_empty()
        } else {
            let mut b = a.get(format!("{base}/auth/derive-api-key"));
            for (k, v) in pairs {
                b = b.header(k, v);
            }
            b.call()
        };
        Ok(read_answer(r.map_err(transport)?)?.0)
    };
    let parse = |ans: Answer| -> Result<ApiCredentials, ClobError> {
        serde_json::from_slice(&ans.body).map_err(|e| ClobError::Body(e.to_string()))
    };
    let created = call(true)?;
    if created.status == 200 {
        return parse(created);
    }
    let derived = call(false)?;
    if derived.status == 200 {
        return parse(derived);
    }
    Err(venue_error(&derived))
}

/// `{"error": "..."}` (or raw text) with its status, mapped.
fn venue_error(a: &Answer) -> ClobError {
    #[derive(serde::Deserialize)]
    struct E {
        error: String,
    }
    let msg = serde_json::from_slice::<E>(&a.body)
        .map(|e| e.error)
        .unwrap_or_else(|_| String::from_utf8_lossy(&a.body[..a.body.len().min(300)]).into_owned());
    ClobError::from_venue(a.status, &msg)
}

/// `GET /version` without credentials.
pub fn fetch_version(base_url: &str, timeout: Duration) -> Result<u8, ClobError> {
    #[derive(serde::Deserialize)]
    struct V {
        version: u8,
    }
    let a = agent(timeout);
    let r = a
        .get(format!("{}/version", base_url.trim_end_matches('/')))
        .call()
        .map_err(transport)?;
    let (ans, _, _) = read_answer(r)?;
    if ans.status != 200 {
        return Err(venue_error(&ans));
    }
    serde_json::from_slice::<V>(&ans.body)
        .map(|v| v.version)
        .map_err(|e| ClobError::Body(e.to_string()))
}

impl ClobClient {
    /// A client for `key` with existing credentials, signing for `version`.
    pub fn new(
        cfg: ClobConfig,
        key: PrivateKey,
        creds: ApiCredentials,
        version: u8,
    ) -> Result<Self, ClobError> {
        let l2 = L2Signer::new(&creds, key.address())
            .map_err(|e| ClobError::Unauthorized(e.to_string()))?;
        let signer = Self::make_signer(&cfg, &key, version)?;
        Ok(Self {
            agent: agent(cfg.timeout),
            budget: Mutex::new(SignerBudget::new(&cfg.budget)),
            stats: Mutex::new(ClobStats::default()),
            signer: RwLock::new(signer),
            key,
            creds,
            l2,
            cfg,
        })
    }

    /// A client that asks the venue which version it wants first.
    pub fn connect(
        cfg: ClobConfig,
        key: PrivateKey,
        creds: ApiCredentials,
    ) -> Result<Self, ClobError> {
        let v = fetch_version(&cfg.base_url, cfg.timeout)?;
        Self::new(cfg, key, creds, v)
    }

    fn make_signer(
        cfg: &ClobConfig,
        key: &PrivateKey,
        version: u8,
    ) -> Result<OrderSigner, ClobError> {
        let protocol =
            ProtocolVersion::known(version, cfg.chain_id).map_err(|e| ClobError::Status {
                status: 0,
                message: format!("cannot sign for the venue's order version: {e}"),
            })?;
        OrderSigner::new(key.clone(), protocol, cfg.signature_type, cfg.funder).map_err(|e| {
            ClobError::Status {
                status: 0,
                message: e.to_string(),
            }
        })
    }

    pub fn config(&self) -> &ClobConfig {
        &self.cfg
    }

    pub fn api_key(&self) -> &str {
        &self.creds.api_key
    }

    pub fn credentials(&self) -> &ApiCredentials {
        &self.creds
    }

    /// The signing key's address (`POLY_ADDRESS`).
    pub fn address(&self) -> Address {
        self.key.address()
    }

    /// The order version orders are signed for now.
    pub fn version(&self) -> u8 {
        self.signer().protocol().version
    }

    fn signer(&self) -> std::sync::RwLockReadGuard<'_, OrderSigner> {
        self.signer.read().unwrap_or_else(|e| e.into_inner())
    }

    fn budget(&self) -> MutexGuard<'_, SignerBudget> {
        self.budget.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn stats(&self) -> ClobStats {
        *self.stats.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn count(&self, f: impl FnOnce(&mut ClobStats)) {
        f(&mut self.stats.lock().unwrap_or_else(|e| e.into_inner()));
    }

    /// Re-reads `GET /version` and re-keys the signer if it changed. Returns the version.
    pub fn refresh_version(&self) -> Result<u8, ClobError> {
        let v = fetch_version(&self.cfg.base_url, self.cfg.timeout)?;
        if v != self.version() {
            let s = Self::make_signer(&self.cfg, &self.key, v)?;
            *self.signer.write().unwrap_or_else(|e| e.into_inner()) = s;
        }
        Ok(v)
    }

    /// Builds and signs an order (a fresh salt, the current time) and its exact body.
    pub fn prepare(
        &self,
        req: &OrderRequest,
        rules: &MarketRules,
    ) -> Result<PreparedOrder, ClobError> {
        self.prepare_with(req, rules, random_salt(), unix_ms())
    }

    /// [`Self::prepare`] with an explicit salt and time.
    pub fn prepare_with(
        &self,
        req: &OrderRequest,
        rules: &MarketRules,
        salt: u64,
        timestamp_ms: u64,
    ) -> Result<PreparedOrder, ClobError> {
        let signer = self.signer();
        let order = signer
            .build(req, rules, salt, timestamp_ms)
            .map_err(ClobError::Local)?;
        let hash = signer.order_hash(&order, rules.neg_risk);
        let signed = signer.sign(order, rules.neg_risk);
        let mut body = Vec::with_capacity(768);
        PostOrder {
            signed: &signed,
            schema: signer.protocol().schema,
            owner: &self.creds.api_key,
            order_type: req.order_type,
            post_only: req.post_only,
            defer_exec: false,
        }
        .write_json(&mut body);
        Ok(PreparedOrder {
            order_id: format!("0x{}", hex::encode(hash)),
            hash,
            signed,
            order_type: req.order_type,
            body,
            version: signer.protocol().version,
        })
    }

    /// One authenticated request. `path` may carry a query string (it is not signed).
    fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
        class: Class,
        cost: u32,
    ) -> Result<Answer, ClobError> {
        let now = Instant::now();
        if let Err(wait) = self.budget().take(class, cost, now) {
            self.count(|s| s.local_limited += 1);
            return Err(ClobError::RateLimited {
                retry_after: wait,
                local: true,
            });
        }
        let payload = body.unwrap_or(&[]);
        let headers = self
            .l2
            .headers(unix_ms() / 1000, method, request_path(path), payload);
        let url = format!("{}{}", self.cfg.base_url, path);
        self.count(|s| s.requests += 1);
        let result = match (method, body) {
            ("GET", _) => {
                let mut b = self.agent.get(&url);
                for (k, v) in headers.pairs() {
                    b = b.header(k, v);
                }
                b.call()
            }
            ("POST", _) => {
                let mut b = self
                    .agent
                    .post(&url)
                    .header("Content-Type", "application/json");
                for (k, v) in headers.pairs() {
                    b = b.header(k, v);
                }
                b.send(payload)
            }
            (_, Some(_)) => {
                let mut b = self
                    .agent
                    .delete(&url)
                    .header("Content-Type", "application/json");
                for (k, v) in headers.pairs() {
                    b = b.header(k, v);
                }
                b.force_send_body().send(payload)
            }
            (_, None) => {
                let mut b = self.agent.delete(&url);
                for (k, v) in headers.pairs() {
                    b = b.header(k, v);
                }
                b.call()
            }
        };
        let r = result.map_err(|e| {
            let e = transport(e);
            if e == ClobError::Timeout {
                self.count(|s| s.timeouts += 1);
            }
            e
        })?;
        let (ans, retry, warn) = read_answer(r)?;
        if warn {
            self.budget().warnings += 1;
            self.count(|s| s.warnings += 1);
        }
        if ans.status == 429 {
            let retry_after = Duration::from_secs(retry.unwrap_or(1));
            self.budget().block(class, retry_after, Instant::now());
            self.count(|s| s.rate_limited += 1);
            return Err(ClobError::RateLimited {
                retry_after,
                local: false,
            });
        }
        if !(200..300).contains(&ans.status) {
            return Err(venue_error(&ans));
        }
        Ok(ans)
    }

    /// A GET, retried once after a short `Retry-After` (it changes nothing at the venue).
    fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, ClobError> {
        let ans = match self.request("GET", path, None, Class::Other, 1) {
            Err(ClobError::RateLimited {
                retry_after,
                local: false,
            }) if retry_after <= self.cfg.max_retry_wait => {
                std::thread::sleep(retry_after);
                self.request("GET", path, None, Class::Other, 1)?
            }
            other => other?,
        };
        serde_json::from_slice(&ans.body).map_err(|e| ClobError::Body(e.to_string()))
    }

    fn ack(raw: RawOrderResponse) -> Result<OrderAck, ClobError> {
        let err = raw.error_msg.unwrap_or_default();
        let id = raw.order_id.unwrap_or_default();
        if !err.is_empty() || id.is_empty() || !raw.success {
            let msg = if err.is_empty() {
                "order refused"
            } else {
                &err
            };
            return Err(ClobError::from_venue(400, msg));
        }
        let status = match raw.status.as_deref().unwrap_or("live") {
            "matched" => AckStatus::Matched,
            "delayed" => AckStatus::Delayed,
            "unmatched" => AckStatus::Unmatched,
            _ => AckStatus::Live,
        };
        let amount =
            |s: Option<String>| types::lenient_micros(s.as_deref().unwrap_or("")).unwrap_or(0);
        Ok(OrderAck {
            order_id: id,
            status,
            making: amount(raw.making_amount),
            taking: amount(raw.taking_amount),
            trade_ids: raw.trade_ids.unwrap_or_default(),
            transaction_hashes: raw.transactions_hashes.unwrap_or_default(),
        })
    }

    /// `POST /order`.
    pub fn post_order(&self, p: &PreparedOrder) -> Result<OrderAck, ClobError> {
        let ans = self.request("POST", "/order", Some(&p.body), Class::Orders, 1)?;
        let raw: RawOrderResponse =
            serde_json::from_slice(&ans.body).map_err(|e| ClobError::Body(e.to_string()))?;
        Self::ack(raw)
    }

    /// `POST /orders`, in batches of at most [`MAX_BATCH`]; one result per order, in order.
    /// A batch that fails as a whole fails each of its orders with the same error.
    pub fn post_orders(&self, orders: &[PreparedOrder]) -> Vec<Result<OrderAck, ClobError>> {
        let mut out = Vec::with_capacity(orders.len());
        for chunk in orders.chunks(MAX_BATCH) {
            let mut body = Vec::with_capacity(chunk.iter().map(|p| p.body.len() + 1).sum());
            body.push(b'[');
            for (i, p) in chunk.iter().enumerate() {
                if i > 0 {
                    body.push(b',');
                }
                body.extend_from_slice(&p.body);
            }
            body.push(b']');
            let res = self
                .request(
                    "POST",
                    "/orders",
                    Some(&body),
                    Class::Orders,
                    chunk.len() as u32,
                )
                .and_then(|ans| {
                    serde_json::from_slice::<Vec<RawOrderResponse>>(&ans.body)
                        .map_err(|e| ClobError::Body(e.to_string()))
                });
            match res {
                Ok(raws) if raws.len() == chunk.len() => {
                    out.extend(raws.into_iter().map(Self::ack));
                }
                Ok(raws) => {
                    let e = ClobError::Body(format!(
                        "{} answers for a batch of {}",
                        raws.len(),
                        chunk.len()
                    ));
                    out.extend(chunk.iter().map(|_| Err(e.clone())));
                }
                Err(e) => out.extend(chunk.iter().map(|_| Err(e.clone()))),
            }
        }
        out
    }
}
