//! `GammaApi`: the HTTP service: routing, rate limits, queued faults, request counters and the
//! admin endpoints. The shapes it serves are `data` (Gamma) and `clob` (the CLOB's listings).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::super::control::VenueControl;
use super::super::http::{HttpRequest, HttpResponse, HttpService};
use super::super::rate::RateLimiter;
use super::clob;
use super::data::{GammaData, GammaFileError, GammaVenueConfig};
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
    ctl: VenueControl,
    data: Mutex<GammaData>,
    /// Whether markets are the synthetic model's (prices read live from the books).
    synthetic: bool,
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

    fn data(&self) -> MutexGuard<'_, GammaData> {
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

    /// One page of a CLOB listing, each market rendered by `shape`.
    fn clob_page(&self, req: &HttpRequest<'_>, shape: fn(&Obj) -> Obj) -> HttpResponse {
        let data = self.data();
        let hub = self.synthetic.then(|| self.ctl.hub());
        let books = hub.as_ref().map(|h| h.books());
        clob::page(&data, books, req.query("next_cursor").unwrap_or(""), shape)
    }

    /// `GET /markets/{condition_id}`.
    fn clob_market(&self, path: &str) -> HttpResponse {
        let data = self.data();
        let hub = self.synthetic.then(|| self.ctl.hub());
        let books = hub.as_ref().map(|h| h.books());
        clob::one(&data, books, path.trim_start_matches("/markets/"))
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

impl HttpService for GammaApi {
    fn handle(&self, req: &mut HttpRequest<'_>) -> Option<HttpResponse> {
        let method = req.method.clone();
        let path = req.path.clone();
        Some(match (method.as_str(), path.as_str()) {
            ("GET", "/gamma/markets") => self.markets(req),
            ("GET", "/gamma/events") => self.events(req),
            ("GET", "/markets") => {
                self.counters.clob.fetch_add(1, Ordering::Relaxed);
                self.clob_page(req, clob::market)
            }
            ("GET", p) if p.starts_with("/markets/") => self.clob_market(p),
            ("GET", "/simplified-markets" | "/sampling-simplified-markets") => {
                self.clob_page(req, clob::simplified)
            }
            ("GET", "/sampling-markets") => self.clob_page(req, clob::market),
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
