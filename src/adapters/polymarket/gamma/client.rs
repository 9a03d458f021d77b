//! `GammaClient`: a blocking ureq client for Gamma's `GET /markets` and `GET /events`, for the
//! catalog's cold thread and the CLI (never the hot path).
//!
//! What it guarantees:
//! - Pagination by `limit`/`offset`: `limit` at most 100 (the server caps it anyway), the last
//!   page is the first one shorter than `limit`, and `offset` never goes past 10,000 (the
//!   server answers 422 beyond). Reaching the cap, or a 422, stops paging and is *reported*
//!   (`Listing::truncated`): the caller must not read a truncated listing as complete.
//! - Retries: transport errors and 5xx are retried with capped exponential backoff; a 429 waits
//!   what `Retry-After` says (capped). Both within `max_retries`; then the last error is returned.
//! - Bounded bodies: a response larger than `max_body_bytes` (after decompression) is refused
//!   without being read further.
//! - Pacing: requests are spaced by `min_request_interval_ms`, keeping a full refresh under
//!   Gamma's published limits (`/markets` 300 and `/events` 500 requests per 10 s).

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::value::RawValue;
use thiserror::Error;

use super::query::{EventsQuery, MarketsQuery, Pairs};
use super::wire::decode_page;

/// Gamma's largest page.
pub const MAX_LIMIT: u32 = 100;
/// Gamma's largest accepted `offset`; beyond it the server answers 422.
pub const MAX_OFFSET: u32 = 10_000;
/// Gamma's largest number of `condition_ids` in one request.
pub const MAX_IDS_PER_REQUEST: usize = 100;

/// Why a Gamma request failed.
#[derive(Debug, Error)]
pub enum GammaError {
    #[error("transport error: {0}")]
    Transport(String),
    #[error("HTTP {status}: {body}")]
    Status { status: u16, body: String },
    #[error("rate limited (HTTP 429), retry after {0:?}")]
    RateLimited(Duration),
    #[error("HTTP 422 (offset {offset} past the server's cap?): {body}")]
    Unprocessable { offset: u32, body: String },
    #[error("response body larger than {limit} bytes")]
    BodyTooLarge { limit: u64 },
    #[error("response is not a JSON list: {0}")]
    Body(String),
    /// `last` is in the message (not a `#[source]`, which would print it twice).
    #[error("gave up after {attempts} attempts: {last}")]
    RetriesExhausted {
        attempts: u32,
        last: Box<GammaError>,
    },
}

impl GammaError {
    /// Whether the same request may succeed if sent again.
    fn retryable(&self) -> bool {
        match self {
            Self::Transport(_) | Self::RateLimited(_) => true,
            Self::Status { status, .. } => *status >= 500,
            _ => false,
        }
    }
}

/// Client settings (`[catalog.http]`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GammaClientConfig {
    /// Whole-request timeout (connect, send, receive), per attempt.
    pub timeout_ms: u64,
    /// Retries after the first attempt, for transport errors, 5xx and 429.
    pub max_retries: u32,
    /// First backoff after a failure; doubled per retry up to `backoff_max_ms`.
    pub backoff_base_ms: u64,
    pub backoff_max_ms: u64,
    /// The longest `Retry-After` honoured; a longer one is waited this long.
    pub max_retry_after_s: u64,
    /// Largest response body read (decompressed).
    pub max_body_bytes: u64,
    /// Minimum spacing between two requests of this client.
    pub min_request_interval_ms: u64,
}

impl Default for GammaClientConfig {
    fn default() -> Self {
        Self {
            timeout_ms: 15_000,
            max_retries: 4,
            backoff_base_ms: 250,
            backoff_max_ms: 8_000,
            max_retry_after_s: 30,
            max_body_bytes: 16 << 20,
            // 50 ms → at most 200 requests per 10 s, under the 300 of `/markets`.
            min_request_interval_ms: 50,
        }
    }
}

/// Counters of one client (monotonic).
#[derive(Debug, Default)]
pub struct GammaStats {
    pub requests: AtomicU64,
    pub retries: AtomicU64,
    pub rate_limited: AtomicU64,
    pub server_errors: AtomicU64,
    pub transport_errors: AtomicU64,
    pub bytes: AtomicU64,
}

/// A snapshot of `GammaStats`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct GammaCounters {
    pub requests: u64,
    pub retries: u64,
    pub rate_limited: u64,
    pub server_errors: u64,
    pub transport_errors: u64,
    pub bytes: u64,
}

/// Why a listing stopped before the server said it was done.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Truncation {
    /// The next page would start past `MAX_OFFSET`; not requested.
    OffsetCap { next_offset: u32 },
    /// The server answered 422 at this offset.
    Rejected { offset: u32, body: String },
    /// `max_pages` pages were read.
    PageLimit { pages: u32 },
}

/// Every raw item of a paged listing, undecoded (the catalog decodes each on its own).
#[derive(Debug, Default)]
pub struct Listing {
    pub items: Vec<Box<RawValue>>,
    pub pages: u32,
    /// `Some` if paging stopped early: the listing is not complete.
    pub truncated: Option<Truncation>,
}

/// Pagination settings of one listing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Paging {
    /// Page size, clamped to 1..=100.
    pub limit: u32,
    pub start_offset: u32,
    /// Stop after this many pages (0 = no limit besides the offset cap).
    pub max_pages: u32,
}

impl Default for Paging {
    fn default() -> Self {
        Self {
            limit: MAX_LIMIT,
            start_offset: 0,
            max_pages: 0,
        }
    }
}

/// A blocking, keep-alive Gamma client.
pub struct GammaClient {
    agent: ureq::Agent,
    base: String,
    cfg: GammaClientConfig,
    last_request: Mutex<Option<Instant>>,
    stats: GammaStats,
}

impl GammaClient {
    /// A client for `base_url` (`https://gamma-api.polymarket.com`, or the venue's).
    pub fn new(base_url: &str, cfg: GammaClientConfig) -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_millis(cfg.timeout_ms.max(1))))
            .http_status_as_error(false)
            .max_idle_connections_per_host(2)
            .user_agent(concat!("polyarb/", env!("CARGO_PKG_VERSION")))
            .build()
            .new_agent();
        Self {
            agent,
            base: base_url.trim_end_matches('/').to_string(),
            cfg,
            last_request: Mutex::new(None),
            stats: GammaStats::default(),
        }
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    pub fn config(&self) -> &GammaClientConfig {
        &self.cfg
    }

    pub fn counters(&self) -> GammaCounters {
        let s = &self.stats;
        let r = |c: &AtomicU64| c.load(Ordering::Relaxed);
        GammaCounters {
            requests: r(&s.requests),
            retries: r(&s.retries),
            rate_limited: r(&s.rate_limited),
            server_errors: r(&s.server_errors),
            transport_errors: r(&s.transport_errors),
            bytes: r(&s.bytes),
        }
    }

    /// One page of `GET /markets` (raw items).
    pub fn markets_page(
        &self,
        q: &MarketsQuery,
        limit: u32,
        offset: u32,
    ) -> Result<Vec<Box<RawValue>>, GammaError> {
        self.page("/markets", q.pairs(), limit, offset)
    }

    /// One page of `GET /events` (raw items).
    pub fn events_page(
        &self,
        q: &EventsQuery,
        limit: u32,
        offset: u32,
    ) -> Result<Vec<Box<RawValue>>, GammaError> {
        self.page("/events", q.pairs(), limit, offset)
    }

    /// Every page of `GET /markets` matching `q`.
    pub fn markets(&self, q: &MarketsQuery, paging: Paging) -> Result<Listing, GammaError> {
        self.listing("/markets", &q.pairs(), paging)
    }

    /// Every page of `GET /events` matching `q`.
    pub fn events(&self, q: &EventsQuery, paging: Paging) -> Result<Listing, GammaError> {
        self.listing("/events", &q.pairs(), paging)
    }

    /// The markets with these condition ids, in requests of at most 100 ids.
    pub fn markets_by_condition_ids(
        &self,
        ids: &[String],
        base: &MarketsQuery,
    ) -> Result<Listing, GammaError> {
        let mut out = Listing::default();
        for chunk in ids.chunks(MAX_IDS_PER_REQUEST) {
            let q = MarketsQuery {
                condition_ids: chunk.to_vec(),
                ..base.clone()
            };
            let l = self.markets(&q, Paging::default())?;
            out.items.extend(l.items);
            out.pages += l.pages;
            out.truncated = out.truncated.or(l.truncated);
        }
        Ok(out)
    }

    fn listing(&self, path: &str, pairs: &Pairs, paging: Paging) -> Result<Listing, GammaError> {
        let mut items = Vec::new();
        let (pages, truncated) = self.pages(path, pairs, paging, |page| items.extend(page))?;
        Ok(Listing {
            items,
            pages,
            truncated,
        })
    }

    /// Every page of `GET /markets`, handed to `each` as it arrives (so a caller can normalize
    /// page by page instead of holding the whole listing). Returns pages read and truncation.
    pub fn each_markets_page(
        &self,
        q: &MarketsQuery,
        paging: Paging,
        each: impl FnMut(Vec<Box<RawValue>>),
    ) -> Result<(u32, Option<Truncation>), GammaError> {
        self.pages("/markets", &q.pairs(), paging, each)
    }

    /// Every page of `GET /events`, handed to `each` as it arrives.
    pub fn each_events_page(
        &self,
        q: &EventsQuery,
        paging: Paging,
        each: impl FnMut(Vec<Box<RawValue>>),
    ) -> Result<(u32, Option<Truncation>), GammaError> {
        self.pages("/events", &q.pairs(), paging, each)
    }

    fn pages(
        &self,
        path: &str,
        pairs: &Pairs,
        paging: Paging,
        mut each: impl FnMut(Vec<Box<RawValue>>),
    ) -> Result<(u32, Option<Truncation>), GammaError> {
        let limit = paging.limit.clamp(1, MAX_LIMIT);
        let mut offset = paging.start_offset;
        let mut pages = 0u32;
        loop {
            if offset > MAX_OFFSET {
                return Ok((
                    pages,
                    Some(Truncation::OffsetCap {
                        next_offset: offset,
                    }),
                ));
            }
            if paging.max_pages > 0 && pages >= paging.max_pages {
                return Ok((pages, Some(Truncation::PageLimit { pages })));
            }
            let items = match self.page(path, pairs.clone(), limit, offset) {
                Ok(items) => items,
                Err(GammaError::Unprocessable { offset, body }) => {
                    tracing::warn!(path, offset, %body, "gamma refused the offset: listing truncated");
                    return Ok((pages, Some(Truncation::Rejected { offset, body })));
                }
                Err(e) => return Err(e),
            };
            pages += 1;
            let n = items.len();
            each(items);
            if n < limit as usize {
                return Ok((pages, None));
            }
            offset += limit;
        }
    }

    fn page(
        &self,
        path: &str,
        mut pairs: Pairs,
        limit: u32,
        offset: u32,
    ) -> Result<Vec<Box<RawValue>>, GammaError> {
        pairs.push(("limit", limit.clamp(1, MAX_LIMIT).to_string()));
        pairs.push(("offset", offset.to_string()));
        let body = self.get(path, &pairs, offset)?;
        decode_page(&body).map_err(|e| GammaError::Body(e.to_string()))
    }

    /// A GET with retries; returns the body of a 2xx answer.
    fn get(&self, path: &str, pairs: &Pairs, offset: u32) -> Result<Vec<u8>, GammaError> {
        let attempts = self.cfg.max_retries + 1;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let err = match self.get_once(path, pairs, offset) {
                Ok(body) => return Ok(body),
                Err(e) => e,
            };
            if !err.retryable() {
                return Err(err);
            }
            if attempt >= attempts {
                return Err(GammaError::RetriesExhausted {
                    attempts: attempt,
                    last: Box::new(err),
                });
            }
            let wait = match &err {
                GammaError::RateLimited(d) => *d,
                _ => self.backoff(attempt),
            };
            self.stats.retries.fetch_add(1, Ordering::Relaxed);
            tracing::info!(path, offset, attempt, ?wait, error = %err, "gamma request failed; retrying");
            std::thread::sleep(wait);
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .cfg
            .backoff_base_ms
            .saturating_mul(1u64 << (attempt - 1).min(20))
            .min(self.cfg.backoff_max_ms);
        // Up to a quarter of jitter, so that several clients do not retry in step.
        let jitter = rand::random::<u64>() % (exp / 4 + 1);
        Duration::from_millis(exp + jitter)
    }

    fn pace(&self) {
        let min = Duration::from_millis(self.cfg.min_request_interval_ms);
        let mut last = self.last_request.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = *last {
            let since = t.elapsed();
            if since < min {
                std::thread::sleep(min - since);
            }
        }
        *last = Some(Instant::now());
    }

    fn get_once(&self, path: &str, pairs: &Pairs, offset: u32) -> Result<Vec<u8>, GammaError> {
        self.pace();
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        let mut req = self.agent.get(format!("{}{path}", self.base));
        for (k, v) in pairs {
            req = req.query(k, v);
        }
        let mut resp = req.call().map_err(|e| {
            self.stats.transport_errors.fetch_add(1, Ordering::Relaxed);
            GammaError::Transport(e.to_string())
        })?;
        let status = resp.status().as_u16();
        if status == 429 {
            self.stats.rate_limited.fetch_add(1, Ordering::Relaxed);
            let secs = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok());
            let wait = match secs {
                Some(s) => Duration::from_secs(s.min(self.cfg.max_retry_after_s)),
                None => self.backoff(1),
            };
            return Err(GammaError::RateLimited(wait));
        }
        let limit = self.cfg.max_body_bytes;
        let body = resp
            .body_mut()
            .with_config()
            .limit(limit)
            .read_to_vec()
            .map_err(|e| match e {
                ureq::Error::BodyExceedsLimit(_) => GammaError::BodyTooLarge { limit },
                e => {
                    self.stats.transport_errors.fetch_add(1, Ordering::Relaxed);
                    GammaError::Transport(e.to_string())
                }
            })?;
        self.stats
            .bytes
            .fetch_add(body.len() as u64, Ordering::Relaxed);
        let text = || String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
        match status {
            200..=299 => Ok(body),
            422 => Err(GammaError::Unprocessable {
                offset,
                body: text(),
            }),
            s => {
                if s >= 500 {
                    self.stats.server_errors.fetch_add(1, Ordering::Relaxed);
                }
                Err(GammaError::Status {
                    status: s,
                    body: text(),
                })
            }
        }
    }
}
