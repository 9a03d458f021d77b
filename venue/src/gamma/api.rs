//! `GammaApi`: the HTTP service (see the module doc of `venue::gamma`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::super::control::VenueControl;
use super::super::http::{HttpRequest, HttpResponse, HttpService};
use super::super::rate::RateLimiter;
use super::data::{GammaData, GammaFileError, GammaVenueConfig, string_list_raw};
use super::faults::{GammaFault, GammaFaults, Injected, huge_body};
use super::listing::{ListQuery, select_events, select_markets};
use super::obj::Obj;

/// Where Gamma lives on the venue's HTTP server.
pub const GAMMA_PREFIX: &str = "/gamma";

/// Requests served, by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GammaStats {
    pub markets_requests: u64,
    pub events_requests: u64,
    pub clob_markets_requests: u64,
    /// Answered 422 (offset past the cap, too many ids, bad parameters).
    pub unprocessable: u64,
    /// Answered 429 (limiter or injected).
    pub rate_limited: u64,
    /// Answered with an injected fault.
    pub faults_served: u64,
}

#[derive(Default)]
struct Counters {
    markets: AtomicU64,
    events: AtomicU64,
    clob: AtomicU64,
    unprocessable: AtomicU64,
    rate_limited: AtomicU64,
    faults: AtomicU64,
}

/// The Gamma service.
pub struct GammaApi {
    pub(super) ctl: VenueControl,
    data: Mutex<GammaData>,
    /// Whether markets are the synthetic model's (prices read live from the books).
    pub(super) synthetic: bool,
    default_limit: usize,
    limits: RateLimiter,
    faults: GammaFaults,
    counters: Counters,
}

/// `POST /admin/rules`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesCommand {
    market: String,
    description: Option<String>,
    resolution_source: Option<String>,
    end_date: Option<String>,
}

/// `POST /admin/gamma/market`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MarketPatch {
    market: String,
    /// camelCase fields to set, any JSON value (kept verbatim).
    #[serde(default)]
    set: Option<Obj>,
    /// Serve the market (true) or hide it everywhere (false).
    #[serde(default)]
    listed: Option<bool>,
}

impl GammaApi {
    /// Gamma over the venue's synthetic markets, or over `cfg.files` if any.
    pub fn new(
        ctl: VenueControl,
        cfg: &GammaVenueConfig,
        window: Duration,
    ) -> Result<Self, GammaFileError> {
        let synthetic = cfg.files.is_empty();
        let data = if synthetic {
            GammaData::from_books(ctl.hub().books(), cfg)
        } else {
            GammaData::from_files(&cfg.files)?
        };
        Ok(Self {
            ctl,
            data: Mutex::new(data),
            synthetic,
            default_limit: (cfg.default_limit as usize).clamp(1, super::listing::MAX_LIMIT),
            limits: RateLimiter::new(
                window,
                &[
                    ("gamma_markets", cfg.markets_limit),
                    ("gamma_events", cfg.events_limit),
                ],
            ),
            faults: GammaFaults::default(),
            counters: Counters::default(),
        })
    }

    pub(super) fn data(&self) -> MutexGuard<'_, GammaData> {
        self.data.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn stats(&self) -> GammaStats {
        let c = &self.counters;
        let r = |x: &AtomicU64| x.load(Ordering::Relaxed);
        GammaStats {
            markets_requests: r(&c.markets),
            events_requests: r(&c.events),
            clob_markets_requests: r(&c.clob),
            unprocessable: r(&c.unprocessable),
            rate_limited: r(&c.rate_limited),
            faults_served: r(&c.faults),
        }
    }

    /// Rate limit, then queued faults; `Some` is the answer to send instead of the data.
    fn gate(&self, class: &'static str) -> Option<HttpResponse> {
        if let Err(retry) = self.limits.check(class) {
            self.counters.rate_limited.fetch_add(1, Ordering::Relaxed);
            return Some(HttpResponse::too_many(retry));
        }
        let inj = self.faults.next()?;
        if inj == Injected::Pass {
            return None;
        }
        self.counters.faults.fetch_add(1, Ordering::Relaxed);
        Some(match inj {
            Injected::Pass => return None,
            Injected::Fail(s) => HttpResponse::error(s, "internal error (injected fault)"),
            Injected::RateLimit(s) => {
                self.counters.rate_limited.fetch_add(1, Ordering::Relaxed);
                HttpResponse::too_many(s)
            }
            Injected::HugeBody(n) => HttpResponse {
                status: 200,
                body: huge_body(n),
                headers: Vec::new(),
            },
            Injected::Garbage => HttpResponse {
                status: 200,
                body: b"[{\"id\": \x01 this is not json".to_vec(),
                headers: Vec::new(),
            },
        })
    }

    fn refuse(&self, (status, msg): (u16, String)) -> HttpResponse {
        if status == 422 {
            self.counters.unprocessable.fetch_add(1, Ordering::Relaxed);
        }
        HttpResponse::error(status, &msg)
    }

    fn raw_json<T: Serialize>(v: &T) -> HttpResponse {
        HttpResponse::json(200, v)
    }

    fn markets(&self, req: &HttpRequest<'_>) -> HttpResponse {
        self.counters.markets.fetch_add(1, Ordering::Relaxed);
        let q = ListQuery::new(&req.query);
        let (limit, offset) = match q.paging(self.default_limit) {
            Ok(p) => p,
            Err(r) => return self.refuse(r),
        };
        if let Some(r) = self.gate("gamma_markets") {
            return r;
        }
        let data = self.data();
        let hub = self.synthetic.then(|| self.ctl.hub());
        let books = hub.as_ref().map(|h| h.books());
        let render = |i: usize| data.render_market(i, books, true);
        let picked = match select_markets(&data, &q, render) {
            Ok(p) => p,
            Err(r) => return self.refuse(r),
        };
        let page: Vec<Obj> = picked
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(|i| data.render_market(i, books, true))
            .collect();
        Self::raw_json(&page)
    }

    fn events(&self, req: &HttpRequest<'_>) -> HttpResponse {
        self.counters.events.fetch_add(1, Ordering::Relaxed);
        let q = ListQuery::new(&req.query);
        let (limit, offset) = match q.paging(self.default_limit) {
            Ok(p) => p,
            Err(r) => return self.refuse(r),
        };
        if let Some(r) = self.gate("gamma_events") {
            return r;
        }
        let data = self.data();
        let picked = match select_events(&data, &q) {
            Ok(p) => p,
            Err(r) => return self.refuse(r),
        };
        let hub = self.synthetic.then(|| self.ctl.hub());
        let books = hub.as_ref().map(|h| h.books());
        let page: Vec<Obj> = picked
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(|e| {
                let ev = &data.events[e];
                let mut o = ev.obj.clone();
                let markets: Vec<Obj> = ev
                    .members
                    .iter()
                    .filter(|&&m| data.markets[m].listed)
                    .map(|&m| data.render_market(m, books, false))
                    .collect();
                o.set("markets", &markets);
                o
            })
            .collect();
        Self::raw_json(&page)
    }

    /// The CLOB's `GET /markets?next_cursor=`: every market, 100 per page.
    fn clob_markets(&self, req: &HttpRequest<'_>) -> HttpResponse {
        self.counters.clob.fetch_add(1, Ordering::Relaxed);
        self.clob_page(req, clob_market)
    }

    fn rules(&self, req: &mut HttpRequest<'_>) -> HttpResponse {
        let c: RulesCommand = match req.json() {
            Ok(c) => c,
            Err(r) => return r,
        };
        let mut data = self.data();
        let Some(i) = data.find_market(&c.market) else {
            return HttpResponse::error(404, &format!("unknown market {:?}", c.market));
        };
        let mut changed = Vec::new();
        let o = &mut data.markets[i].obj;
        for (key, v) in [
            ("description", &c.description),
            ("resolutionSource", &c.resolution_source),
            ("endDate", &c.end_date),
        ] {
            if let Some(v) = v {
                o.set(key, v);
                changed.push(key);
            }
        }
        if changed.is_empty() {
            return HttpResponse::error(
                400,
                "nothing to change: give description, resolution_source or end_date",
            );
        }
        let cond = o.str("conditionId").unwrap_or_default();
        HttpResponse::json(
            200,
            &serde_json::json!({"market": cond, "changed": changed}),
        )
    }

    fn patch(&self, req: &mut HttpRequest<'_>) -> HttpResponse {
        let p: MarketPatch = match req.json() {
            Ok(p) => p,
            Err(r) => return r,
        };
        let mut data = self.data();
        let Some(i) = data.find_market(&p.market) else {
            return HttpResponse::error(404, &format!("unknown market {:?}", p.market));
        };
        let m = &mut data.markets[i];
        let mut changed: Vec<String> = Vec::new();
        if let Some(set) = p.set {
            for (k, v) in set.0 {
                changed.push(k.clone());
                m.obj.set_raw(&k, v);
            }
        }
        if let Some(l) = p.listed {
            m.listed = l;
            changed.push("listed".into());
        }
        let cond = m.obj.str("conditionId").unwrap_or_default();
        HttpResponse::json(
            200,
            &serde_json::json!({"market": cond, "changed": changed}),
        )
    }

    fn fault(&self, req: &mut HttpRequest<'_>) -> HttpResponse {
        match req.json::<GammaFault>() {
            Ok(f) => {
                HttpResponse::json(200, &serde_json::json!({"affected": self.faults.push(&f)}))
            }
            Err(r) => r,
        }
    }
}

/// A Gamma market in the CLOB's `/markets` item shape (numbers kept verbatim).
pub(super) fn clob_market(g: &Obj) -> Obj {
    let mut o = Obj::new();
    let copy = |o: &mut Obj, to: &str, from: &str, default: &str| match g.get(from) {
        Some(v) => o.set_raw(to, v.to_owned()),
        None => o.set_raw(
            to,
            RawValue::from_string(default.to_string()).unwrap_or_default(),
        ),
    };
    copy(&mut o, "enable_order_book", "enableOrderBook", "false");
    copy(&mut o, "active", "active", "false");
    copy(&mut o, "closed", "closed", "false");
    copy(&mut o, "archived", "archived", "false");
    copy(&mut o, "accepting_orders", "acceptingOrders", "false");
    o.set("accepting_order_timestamp", &serde_json::Value::Null);
    copy(&mut o, "minimum_order_size", "orderMinSize", "0");
    copy(&mut o, "minimum_tick_size", "orderPriceMinTickSize", "0.01");
    copy(&mut o, "condition_id", "conditionId", "\"\"");
    copy(&mut o, "question_id", "questionID", "\"\"");
    copy(&mut o, "question", "question", "\"\"");
    copy(&mut o, "description", "description", "\"\"");
    copy(&mut o, "market_slug", "slug", "\"\"");
    copy(&mut o, "end_date_iso", "endDate", "null");
    o.set("game_start_time", &serde_json::Value::Null);
    o.set("seconds_delay", &0);
    o.set("fpmm", "");
    o.set("maker_base_fee", &0);
    o.set("taker_base_fee", &0);
    o.set("notifications_enabled", &true);
    copy(&mut o, "neg_risk", "negRisk", "false");
    o.set(
        "neg_risk_market_id",
        &g.str("negRiskMarketID").unwrap_or_default(),
    );
    o.set(
        "neg_risk_request_id",
        &g.str("negRiskRequestID").unwrap_or_default(),
    );
    o.set("icon", "");
    o.set("image", "");
    o.set(
        "rewards",
        &serde_json::json!({"rates": null, "min_size": 0, "max_spread": 0}),
    );
    o.set("is_50_50_outcome", &false);
    let names = g.get("outcomes").map(string_list_raw).unwrap_or_default();
    let tokens = g
        .get("clobTokenIds")
        .map(string_list_raw)
        .unwrap_or_default();
    let prices = g
        .get("outcomePrices")
        .map(string_list_raw)
        .unwrap_or_default();
    let list: Vec<Obj> = tokens
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let mut x = Obj::new();
            x.set("token_id", t);
            x.set(
                "outcome",
                names.get(i).map(String::as_str).unwrap_or_default(),
            );
            match prices.get(i) {
                // Outcome prices are decimal strings inside Gamma's string; the CLOB sends
                // numbers. Validated digits only (anything else becomes 0).
                Some(p) if p.bytes().all(|b| b.is_ascii_digit() || b == b'.') && !p.is_empty() => {
                    x.set_number_text("price", p)
                }
                _ => x.set_number_text("price", "0"),
            }
            x.set("winner", &false);
            x
        })
        .collect();
    o.set("tokens", &list);
    o.set("tags", &Vec::<String>::new());
    o
}

impl HttpService for GammaApi {
    fn handle(&self, req: &mut HttpRequest<'_>) -> Option<HttpResponse> {
        let method = req.method.clone();
        let path = req.path.clone();
        Some(match (method.as_str(), path.as_str()) {
            ("GET", "/gamma/markets") => self.markets(req),
            ("GET", "/gamma/events") => self.events(req),
            ("GET", "/markets") => self.clob_markets(req),
            ("GET", p) if p.starts_with("/markets/") => self.clob_market_one(p),
            ("GET", "/simplified-markets" | "/sampling-simplified-markets") => {
                self.clob_page(req, super::clob::simplified)
            }
            ("GET", "/sampling-markets") => self.clob_page(req, clob_market),
            ("POST", "/admin/rules") => self.rules(req),
            ("POST", "/admin/gamma/market") => self.patch(req),
            ("POST", "/admin/gamma/fault") => self.fault(req),
            ("GET", "/admin/gamma/stats") => HttpResponse::json(200, &self.stats()),
            (_, "/gamma/markets" | "/gamma/events" | "/markets") => {
                HttpResponse::error(405, "method not allowed")
            }
            _ => return None,
        })
    }
}
