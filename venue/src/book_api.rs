//! CLOB market-data endpoints: `GET /book?token_id=` and `POST /books` (body
//! `[{"token_id":"…"}]`), with the real summary shape (`RestBook`), the venue's error bodies,
//! rate limits (429 + `Retry-After`) and the injected REST faults (delay, failure).

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use polyarb::core::TokenId;

use super::config::RestConfig;
use super::control::VenueControl;
use super::fault::RestFaults;
use super::http::{HttpRequest, HttpResponse, HttpService};
use super::rate::RateLimiter;
use super::wire::RestBook;
use polyarb::obs::clock::unix_ms;

/// The venue's answer for a token it has no book for.
pub const NO_BOOK: &str = "No orderbook exists for the requested token id";

#[derive(Deserialize)]
struct BookParams {
    token_id: String,
}

/// `/book` and `/books`.
pub struct BookApi {
    ctl: VenueControl,
    limits: RateLimiter,
    faults: Arc<RestFaults>,
    max_per_request: usize,
}

impl BookApi {
    pub fn new(ctl: VenueControl, cfg: &RestConfig) -> Self {
        let faults = ctl.rest_faults.clone();
        Self {
            ctl,
            limits: RateLimiter::new(
                Duration::from_millis(cfg.rate_window_ms),
                &[("book", cfg.book_limit), ("books", cfg.books_limit)],
            ),
            faults,
            max_per_request: cfg.max_books_per_request,
        }
    }

    /// Rate limit, then injected faults; `Some` is the answer to send instead of the books.
    fn gate(&self, class: &'static str) -> Option<HttpResponse> {
        if let Err(retry) = self.limits.check(class) {
            return Some(HttpResponse::too_many(retry));
        }
        let v = self.faults.verdict();
        if v.delay_ms > 0 {
            std::thread::sleep(Duration::from_millis(v.delay_ms));
        }
        v.fail_status
            .map(|s| HttpResponse::error(s, "internal error (injected fault)"))
    }

    fn book(&self, req: &HttpRequest<'_>) -> HttpResponse {
        let Some(raw) = req.query("token_id") else {
            return HttpResponse::error(400, "Invalid token id");
        };
        let Ok(token) = TokenId::parse(raw) else {
            return HttpResponse::error(400, "Invalid token id");
        };
        if let Some(r) = self.gate("book") {
            return r;
        }
        match self.ctl.rest_book(&token) {
            Some(b) => HttpResponse::json(200, &b),
            None => HttpResponse::error(404, NO_BOOK),
        }
    }

    fn books(&self, req: &mut HttpRequest<'_>) -> HttpResponse {
        let params: Vec<BookParams> = match req.json() {
            Ok(p) => p,
            Err(r) => return r,
        };
        if params.len() > self.max_per_request {
            return HttpResponse::error(
                400,
                &format!("too many token ids (at most {})", self.max_per_request),
            );
        }
        let mut tokens = Vec::with_capacity(params.len());
        for p in &params {
            match TokenId::parse(&p.token_id) {
                Ok(t) => tokens.push(t),
                Err(_) => return HttpResponse::error(400, "Invalid token id"),
            }
        }
        if let Some(r) = self.gate("books") {
            return r;
        }
        // One consistent view: every book of the batch taken under one lock.
        let hub = self.ctl.hub();
        let ts = unix_ms();
        let books: Vec<RestBook> = tokens
            .iter()
            .filter_map(|t| {
                hub.books()
                    .lookup(t)
                    .map(|a| RestBook::of(hub.books(), a, ts))
            })
            .collect();
        drop(hub);
        HttpResponse::json(200, &books)
    }
}

impl HttpService for BookApi {
    fn handle(&self, req: &mut HttpRequest<'_>) -> Option<HttpResponse> {
        match (req.method.as_str(), req.path.as_str()) {
            ("GET", "/book") => Some(self.book(req)),
            ("POST", "/books") => Some(self.books(req)),
            (_, "/book" | "/books") => Some(HttpResponse::error(405, "method not allowed")),
            _ => None,
        }
    }
}
