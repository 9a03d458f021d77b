//! The admin endpoints, for tests and operators (never part of Polymarket's API):
//! `GET /admin/books` (every book, in the replay contract's shape), `GET /admin/markets`,
//! `GET /admin/stats`, `POST /admin/fault` (a `Fault` as JSON), `POST /admin/source`
//! (pause/resume, rate, step, Dutch book), `POST /admin/market-event` (a `new_market` or
//! `market_resolved` event for the custom-feature subscribers).

use serde::Deserialize;

use super::control::{SourceCommand, VenueControl, VenueError};
use super::custom_feed::MarketEventKind;
use super::fault::Fault;
use super::http::{HttpRequest, HttpResponse, HttpService};

pub struct AdminApi {
    ctl: VenueControl,
}

/// `POST /admin/market-event`: `{"condition_id", "event": "new_market"}` or
/// `{"condition_id", "event": "market_resolved", "winning_asset_id"}`.
#[derive(Deserialize)]
struct MarketEventCommand {
    condition_id: String,
    #[serde(flatten)]
    kind: MarketEventKind,
}

impl AdminApi {
    pub fn new(ctl: VenueControl) -> Self {
        Self { ctl }
    }

    fn fault(&self, req: &mut HttpRequest<'_>) -> HttpResponse {
        let f: Fault = match req.json() {
            Ok(f) => f,
            Err(r) => return r,
        };
        match self.ctl.fault(&f) {
            Ok(o) => HttpResponse::json(200, &o),
            Err(e @ VenueError::UnknownAsset(_)) => HttpResponse::error(404, &e.to_string()),
            Err(e) => HttpResponse::error(409, &e.to_string()),
        }
    }

    fn market_event(&self, req: &mut HttpRequest<'_>) -> HttpResponse {
        let c: MarketEventCommand = match req.json() {
            Ok(c) => c,
            Err(r) => return r,
        };
        let now = polyarb::obs::clock::unix_ms();
        match self.ctl.hub().market_event(&c.condition_id, c.kind, now) {
            Some(sent) => HttpResponse::json(200, &serde_json::json!({ "sent": sent })),
            None => HttpResponse::error(404, "unknown market or winning asset"),
        }
    }

    fn source(&self, req: &mut HttpRequest<'_>) -> HttpResponse {
        match req.json::<SourceCommand>() {
            Ok(c) => HttpResponse::json(200, &self.ctl.source_command(&c)),
            Err(r) => r,
        }
    }
}

impl HttpService for AdminApi {
    fn handle(&self, req: &mut HttpRequest<'_>) -> Option<HttpResponse> {
        if !req.path.starts_with("/admin/") {
            return None;
        }
        Some(match (req.method.as_str(), req.path.as_str()) {
            ("GET", "/admin/books") => HttpResponse::json(200, &self.ctl.books()),
            ("GET", "/admin/markets") => HttpResponse::json(200, &self.ctl.markets()),
            ("GET", "/admin/stats") => HttpResponse::json(200, &self.ctl.stats()),
            ("POST", "/admin/fault") => self.fault(req),
            ("POST", "/admin/source") => self.source(req),
            ("POST", "/admin/market-event") => self.market_event(req),
            _ => HttpResponse::error(404, "not found"),
        })
    }
}
