//! The resync worker: a cold thread that heals books from REST `POST /books` snapshots.
//!
//! Requests from the book stage are batched (up to `batch_max` tokens per call), paced by a
//! token bucket under the venue's `/books` budget, and a 429 is honoured through its
//! `Retry-After`. Each validated snapshot goes back to the book stage over its own SPSC ring as
//! `SnapshotStart`, levels and `AssetEventEnd`. An asset whose snapshot keeps failing is
//! resubscribed on its connection instead, which makes the venue re-send it in-band.
//!
//! Audits (re-reads of quiet books the stage compares with its own) queue apart and go out in
//! batches of up to `audit_batch_max` only when no resync is waiting, at most `audit_per_10s`
//! calls per 10 s, taken from the same overall budget: a quiet market costs a bounded trickle
//! of REST calls, never a storm. An audit that fails is dropped (the stage asks again later).

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam::channel::{Receiver, RecvTimeoutError};
use rustc_hash::FxHashMap;
use serde::Deserialize;

use super::ResyncRequest;
use crate::adapters::polymarket::http::{BookSnapshot, ClobBookClient, RestError};
use crate::adapters::polymarket::market_channel::{FeedCommand, FeedControl};
use crate::core::{AssetIndex, AssetRegistry, ClaimedTop, MarketMsg, RegistryExtension, Side};
use crate::pipeline::ring::{Counter, RingTx};

/// How long queued audits wait for company before a batch that is not full goes out: quiet
/// books fall due one by one, and a call per book would spend the budget on tiny batches.
const AUDIT_LINGER: Duration = Duration::from_millis(1_000);

/// `[resync]` in the engine's TOML.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ResyncConfig {
    /// CLOB REST base URL.
    pub clob_url: String,
    /// Tokens per `POST /books`.
    pub batch_max: usize,
    /// `POST /books` calls allowed per 10 s (the venue allows 500).
    pub books_per_10s: u32,
    pub http_timeout_ms: u64,
    /// After this many failed fetches of an asset, resubscribe it instead.
    pub failures_before_resubscribe: u32,
    /// Tokens per audit `POST /books` (the venue takes up to 500).
    pub audit_batch_max: usize,
    /// Audit calls allowed per 10 s, within `books_per_10s` (0 = no audits).
    pub audit_per_10s: u32,
}

impl Default for ResyncConfig {
    fn default() -> Self {
        Self {
            clob_url: "http://127.0.0.1:8080".into(),
            batch_max: 50,
            books_per_10s: 450,
            http_timeout_ms: 2_000,
            failures_before_resubscribe: 3,
            audit_batch_max: 200,
            audit_per_10s: 50,
        }
    }
}

#[derive(Debug, Default)]
pub struct ResyncStats {
    pub requests: Counter,
    pub calls: Counter,
    pub snapshots: Counter,
    pub invalid_snapshots: Counter,
    pub missing_in_response: Counter,
    pub rate_limited: Counter,
    pub failures: Counter,
    pub resubscribes: Counter,
    /// Audit `POST /books` calls (batches) and the books they re-read.
    pub audit_calls: Counter,
    pub audit_books: Counter,
    /// Audit requests dropped (a failed call, or a full queue).
    pub audits_dropped: Counter,
}

/// A token bucket: `capacity` calls, refilled evenly over 10 s.
struct Budget {
    tokens: f64,
    capacity: f64,
    last: Instant,
}

impl Budget {
    fn new(per_10s: u32) -> Self {
        let capacity = f64::from(per_10s.max(1));
        Self {
            tokens: capacity,
            capacity,
            last: Instant::now(),
        }
    }

    /// Takes a call if one is allowed now.
    fn try_take(&mut self) -> bool {
        let now = Instant::now();
        let refill = now.duration_since(self.last).as_secs_f64() * self.capacity / 10.0;
        self.tokens = (self.tokens + refill).min(self.capacity);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Waits until a call is allowed, then takes it.
    fn take(&mut self) {
        loop {
            let now = Instant::now();
            let refill = now.duration_since(self.last).as_secs_f64() * self.capacity / 10.0;
            self.tokens = (self.tokens + refill).min(self.capacity);
            self.last = now;
            if self.tokens >= 1.0 {
                self.tokens -= 1.0;
                return;
            }
            let wait = (1.0 - self.tokens) * 10.0 / self.capacity;
            std::thread::sleep(Duration::from_secs_f64(wait));
        }
    }
}

pub struct ResyncWorker {
    cfg: ResyncConfig,
    client: ClobBookClient,
    requests: Receiver<ResyncRequest>,
    out: RingTx<MarketMsg>,
    registry: AssetRegistry,
    /// Registry extensions (markets listed while running), sent before their assets can be
    /// requested: drained before every fetch.
    extensions: Option<Receiver<RegistryExtension>>,
    feed: Option<FeedControl>,
    failures: FxHashMap<AssetIndex, u32>,
    budget: Budget,
    /// Audits wait here until the audit budget allows a batch.
    audits: std::collections::VecDeque<AssetIndex>,
    /// When the oldest queued audit arrived.
    audits_since: Option<Instant>,
    audit_budget: Budget,
    pub stats: Arc<ResyncStats>,
}

impl ResyncWorker {
    pub fn new(
        cfg: ResyncConfig,
        requests: Receiver<ResyncRequest>,
        out: RingTx<MarketMsg>,
        registry: AssetRegistry,
        feed: Option<FeedControl>,
    ) -> Self {
        Self {
            client: ClobBookClient::new(&cfg.clob_url, Duration::from_millis(cfg.http_timeout_ms)),
            budget: Budget::new(cfg.books_per_10s),
            audits: std::collections::VecDeque::new(),
            audits_since: None,
            audit_budget: Budget::new(cfg.audit_per_10s),
            cfg,
            requests,
            out,
            registry,
            extensions: None,
            feed,
            failures: FxHashMap::default(),
            stats: Arc::new(ResyncStats::default()),
        }
    }

    /// Takes registry extensions from this channel.
    pub fn with_extensions(mut self, rx: Receiver<RegistryExtension>) -> Self {
        self.extensions = Some(rx);
        self
    }

    /// Runs until the request channel closes.
    pub fn run(mut self) {
        let mut batch: Vec<AssetIndex> = Vec::with_capacity(self.cfg.batch_max);
        let mut retry: Vec<AssetIndex> = Vec::new();
        loop {
            batch.clear();
            batch.append(&mut retry);
            if batch.is_empty() {
                // Resyncs first; audits only when none is waiting.
                let wait = if self.audits.is_empty() { 200 } else { 20 };
                match self.requests.recv_timeout(Duration::from_millis(wait)) {
                    Ok(r) => self.take(r, &mut batch),
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            }
            while batch.len() < self.cfg.batch_max {
                match self.requests.try_recv() {
                    Ok(r) => self.take(r, &mut batch),
                    Err(_) => break,
                }
            }
            if batch.is_empty() {
                self.maybe_audit();
                if self.out.is_abandoned() {
                    return;
                }
                continue;
            }
            self.stats.requests.add(batch.len() as u64);
            batch.sort_unstable();
            batch.dedup();
            retry = self.fetch(&batch);
            if self.out.is_abandoned() {
                return;
            }
        }
    }

    /// Sorts a request: a resync into `batch`, an audit into the audit queue.
    fn take(&mut self, r: ResyncRequest, batch: &mut Vec<AssetIndex>) {
        if !r.audit {
            // The audit trail of a heal (this cold thread logs it, not the book thread).
            let info = self.registry.info(r.asset);
            tracing::info!(
                target: "polyarb::resync",
                event = "resync_requested",
                asset = r.asset.get(),
                token = info.map_or("", |i| &*i.token_str),
                market = info.and_then(|i| i.market.as_deref()).unwrap_or(""),
                reason = r.reason.as_str(),
                "book marked for a REST snapshot"
            );
            batch.push(r.asset);
        } else if self.cfg.audit_per_10s == 0 || self.audits.len() >= 1 << 16 {
            self.stats.audits_dropped.inc();
        } else {
            self.audits_since.get_or_insert_with(Instant::now);
            self.audits.push_back(r.asset);
        }
    }

    /// Sends one audit batch if a full batch waits (or the oldest has waited
    /// `AUDIT_LINGER`) and both budgets allow a call now.
    fn maybe_audit(&mut self) {
        let full = self.audits.len() >= self.cfg.audit_batch_max.max(1);
        let lingered = self
            .audits_since
            .is_some_and(|t| t.elapsed() >= AUDIT_LINGER);
        if self.audits.is_empty() || !(full || lingered) || !self.audit_budget.try_take() {
            return;
        }
        if !self.budget.try_take() {
            // The overall budget is spent: give the audit call back and wait.
            self.audit_budget.tokens += 1.0;
            return;
        }
        let n = self.audits.len().min(self.cfg.audit_batch_max.max(1));
        let mut batch: Vec<AssetIndex> = self.audits.drain(..n).collect();
        self.audits_since = (!self.audits.is_empty()).then(Instant::now);
        batch.sort_unstable();
        batch.dedup();
        self.drain_extensions();
        let tokens: Vec<&str> = batch
            .iter()
            .filter_map(|a| self.registry.info(*a).map(|i| &*i.token_str))
            .collect();
        if tokens.is_empty() {
            return;
        }
        self.stats.audit_calls.inc();
        self.stats.calls.inc();
        match self.client.books(&tokens) {
            Ok(books) => {
                for wb in &books {
                    if let Some(snap) = wb.validate()
                        && let Some(asset) = self.registry.lookup(snap.asset_id.as_bytes())
                    {
                        self.deliver(asset, &snap);
                        self.stats.audit_books.inc();
                    }
                }
            }
            Err(e) => {
                tracing::debug!("audit fetch failed: {e}");
                self.stats.audits_dropped.add(batch.len() as u64);
            }
        }
    }

    fn drain_extensions(&mut self) {
        if let Some(rx) = &self.extensions {
            for ext in rx.try_iter() {
                if let Err(e) = self.registry.extend_with(ext) {
                    tracing::error!(error = %e, "resync: registry extension refused");
                }
            }
        }
    }

    /// Fetches one batch; returns the assets to try again.
    fn fetch(&mut self, batch: &[AssetIndex]) -> Vec<AssetIndex> {
        self.drain_extensions();
        let tokens: Vec<&str> = batch
            .iter()
            .filter_map(|a| self.registry.info(*a).map(|i| &*i.token_str))
            .collect();
        if tokens.is_empty() {
            return Vec::new();
        }
        self.budget.take();
        self.stats.calls.inc();
        match self.client.books(&tokens) {
            Ok(books) => {
                let mut served = Vec::with_capacity(books.len());
                for wb in &books {
                    match wb.validate() {
                        Some(snap) => {
                            if let Some(asset) = self.registry.lookup(snap.asset_id.as_bytes()) {
                                tracing::info!(
                                    target: "polyarb::resync",
                                    event = "resync_snapshot",
                                    asset = asset.get(),
                                    token = &*snap.asset_id,
                                    venue_ts_ms = snap.venue_ts_ms,
                                    "REST snapshot handed to the book stage"
                                );
                                self.deliver(asset, &snap);
                                served.push(asset);
                                self.failures.remove(&asset);
                                self.stats.snapshots.inc();
                            }
                        }
                        None => self.stats.invalid_snapshots.inc(),
                    }
                }
                let missing: Vec<AssetIndex> = batch
                    .iter()
                    .copied()
                    .filter(|a| !served.contains(a))
                    .collect();
                self.stats.missing_in_response.add(missing.len() as u64);
                self.failed(&missing)
            }
            Err(RestError::RateLimited(wait)) => {
                self.stats.rate_limited.inc();
                tracing::warn!("resync rate limited: waiting {wait:?}");
                std::thread::sleep(wait);
                batch.to_vec()
            }
            Err(e) => {
                tracing::warn!("resync fetch failed: {e}");
                std::thread::sleep(Duration::from_millis(50));
                self.failed(batch)
            }
        }
    }

    /// Counts failures; assets past the limit are resubscribed instead of fetched again.
    fn failed(&mut self, assets: &[AssetIndex]) -> Vec<AssetIndex> {
        let mut again = Vec::new();
        let mut resubscribe = Vec::new();
        for &a in assets {
            self.stats.failures.inc();
            let n = self.failures.entry(a).or_insert(0);
            *n += 1;
            if *n >= self.cfg.failures_before_resubscribe {
                self.failures.remove(&a);
                resubscribe.push(a);
            } else {
                again.push(a);
            }
        }
        if !resubscribe.is_empty()
            && let Some(feed) = &self.feed
        {
            self.stats.resubscribes.add(resubscribe.len() as u64);
            feed.send(FeedCommand::Resubscribe(resubscribe));
        }
        again
    }

    /// Sends one snapshot to the book stage, waiting for ring space (this is a cold thread).
    fn deliver(&mut self, asset: AssetIndex, snap: &BookSnapshot) {
        let ts = snap.venue_ts_ms;

        let start = MarketMsg::SnapshotStart {
            asset,
            tick: snap.tick,
            venue_ts_ms: ts,
        };
        let levels = snap
            .bids
            .iter()
            .map(|&(p, s)| (Side::Bid, p, s))
            .chain(snap.asks.iter().map(|&(p, s)| (Side::Ask, p, s)))
            .filter(|l| !l.2.is_zero())
            .map(|(side, price, size)| MarketMsg::SnapshotLevel {
                asset,
                side,
                price,
                size,
            });
        let end = MarketMsg::AssetEventEnd {
            asset,
            claimed: ClaimedTop::UNKNOWN,
            venue_ts_ms: ts,
        };
        for m in std::iter::once(start)
            .chain(levels)
            .chain(std::iter::once(end))
        {
            let mut m = m;
            loop {
                match self.out.push(m) {
                    Ok(()) => break,
                    Err(back) => {
                        if self.out.is_abandoned() {
                            return;
                        }
                        m = back;
                        std::thread::sleep(Duration::from_micros(200));
                    }
                }
            }
        }
    }
}
