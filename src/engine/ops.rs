//! The engine's operating surface: what `/metrics` and `/status` report of a running engine,
//! rendered on the endpoint's cold thread from the stage counters and the state replica
//! (`obs::replica`), and the counting wrapper that publishes per-market quotes and orders
//! from the dispatch thread.

use std::collections::BTreeMap;
use std::fmt::Error;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::running::PipelineStats;
use crate::core::AssetIndex;
use crate::core::decimal::format_micros;
use crate::obs::clock::now_ns;
use crate::obs::http::Endpoint;
use crate::obs::prom::{Families, Labels, Scrape};
use crate::obs::replica::{AssetTable, OpsReplica, REASONS, state_name};
use crate::obs::status::{
    BookStatus, BooksStatus, ConnectionStatus, FeedStatus, LatencyStatus, RingStatus, StatusReport,
    StorageStatus, StrategyStatus,
};
use crate::obs::{LatencyHistogram, LiveLatency};
use crate::pipeline::stage::Stage;
use crate::storage::StorageHealth;
use crate::storage::metrics::WriterMetrics;
use crate::strategy::Opportunity;

/// Everything the endpoint reads.
pub struct OpsView {
    pub stats: PipelineStats,
    pub replica: Arc<OpsReplica>,
    pub storage: Option<(Arc<WriterMetrics>, Arc<StorageHealth>)>,
    pub topology: String,
    pub dispatch: &'static str,
    pub ws_url: String,
    /// The recorder's counters, if `[recording]` is on.
    pub recording: Option<Arc<crate::recording::RecordingStats>>,
}

/// The live histograms on `/metrics` (`stage` label) and `/status`.
fn live(s: &PipelineStats) -> [(&'static str, &LiveLatency); 4] {
    [
        ("received_to_book", &s.book.apply_live),
        ("received_to_opportunity", &s.strategy.detect_live),
        ("received_to_intent", &s.dispatch.e2e_live),
        ("resync_to_healthy", &s.book.resync_live),
    ]
}

/// One market's sums over its assets.
#[derive(Default)]
struct MarketSums {
    events: u64,
    snapshots: u64,
    invalidations: [u64; REASONS.len()],
    resync_requests: u64,
    resyncs: u64,
    quotes: u64,
    orders: u64,
}

impl OpsView {
    fn markets(&self) -> BTreeMap<Box<str>, MarketSums> {
        let t = &self.replica.assets;
        let mut out: BTreeMap<Box<str>, MarketSums> = BTreeMap::new();
        for (i, l) in self.replica.labels().into_iter().enumerate() {
            let a = AssetIndex(i as u32);
            let (Some(b), Some(o)) = (t.book(a), t.orders(a)) else {
                continue;
            };
            let m = out.entry(l.market).or_default();
            m.events += b.events.get();
            m.snapshots += b.snapshots.get();
            for (s, c) in m.invalidations.iter_mut().zip(&b.invalidations) {
                *s += c.get();
            }
            m.resync_requests += b.resync_requests.get();
            m.resyncs += b.resyncs.get();
            m.quotes += o.quotes.get();
            m.orders += o.orders.get();
        }
        out
    }

    fn rings(&self) -> Vec<RingStatus> {
        self.stats
            .rings
            .iter()
            .map(|r| RingStatus {
                name: r.name.to_string(),
                capacity: r.capacity as u64,
                depth: r.depth(),
                pushed: r.pushed.get(),
                full: r.full.get(),
            })
            .collect()
    }

    /// Connections in use (a cell once written keeps a state).
    fn connections(&self) -> Vec<ConnectionStatus> {
        let now = now_ns();
        self.stats
            .feed
            .conns
            .0
            .iter()
            .enumerate()
            .filter(|(_, c)| c.state.get() != 0)
            .map(|(id, c)| {
                let rx = c.last_rx_ns.get();
                let opened = c.opened_ns.get();
                ConnectionStatus {
                    id: id as u32,
                    state: match c.state.get() {
                        2 => "open",
                        3 => "down",
                        _ => "connecting",
                    }
                    .to_string(),
                    assets: c.assets.get(),
                    last_rx_ms: (rx != 0).then(|| now.saturating_sub(rx) / 1_000_000),
                    open_s: (opened != 0).then(|| now.saturating_sub(opened) as f64 / 1e9),
                    drops: c.drops.get(),
                }
            })
            .collect()
    }

    /// Counts of books by state name.
    fn book_states(&self) -> BTreeMap<&'static str, u64> {
        let mut out: BTreeMap<&'static str, u64> = ["ok", "empty", "resync_needed", "retired"]
            .map(|s| (s, 0))
            .into();
        let n = self.replica.labels().len();
        for i in 0..n {
            if let Some(b) = self.replica.assets.book(AssetIndex(i as u32)) {
                *out.entry(state_name(b.state.get()).0).or_default() += 1;
            }
        }
        out
    }

    pub fn status(&self) -> StatusReport {
        let s = &self.stats;
        let states = self.book_states();
        let now = now_ns();
        let assets = self
            .replica
            .labels()
            .into_iter()
            .enumerate()
            .filter_map(|(i, l)| {
                let b = self.replica.assets.book(AssetIndex(i as u32))?;
                let (state, reason) = state_name(b.state.get());
                let px = |v: u64| (v != 0).then(|| format_micros(v));
                let last = b.last_event_ns.get();
                Some(BookStatus {
                    asset: i as u32,
                    token: l.token.to_string(),
                    market: l.market.to_string(),
                    state: state.to_string(),
                    reason: reason.map(str::to_string),
                    bid: px(b.bid.get()),
                    ask: px(b.ask.get()),
                    age_ms: (last != 0).then(|| now.saturating_sub(last) / 1_000_000),
                    events: b.events.get(),
                    snapshots: b.snapshots.get(),
                    invalidations: b.invalidations.iter().map(|c| c.get()).sum(),
                    resyncs: b.resyncs.get(),
                })
            })
            .collect();
        let open = s.feed.open_connections.get();
        let degraded = open == 0 || states["resync_needed"] > 0;
        StatusReport {
            version: env!("CARGO_PKG_VERSION").to_string(),
            uptime_s: self.replica.started.elapsed().as_secs_f64(),
            topology: self.topology.clone(),
            dispatch: self.dispatch.to_string(),
            feed: FeedStatus {
                ws_url: self.ws_url.clone(),
                health: if degraded { "degraded" } else { "ok" }.to_string(),
                open_connections: open,
                subscribed_assets: s.feed.subscribed_assets.get(),
                connects: s.feed.connects.get(),
                reconnects: s.feed.reconnects.get(),
                connect_failures: s.feed.connect_failures.get(),
                dead_connections: s.feed.dead_connections.get(),
                silent_connections: s.feed.silent_connections.get(),
                frames: s.feed.frames.get(),
                frames_dropped: s.feed.frames_dropped.get(),
                invalid_frames: s.parse.invalid.get(),
            },
            connections: self.connections(),
            books: BooksStatus {
                ok: states["ok"],
                empty: states["empty"],
                resync_needed: states["resync_needed"],
                retired: states["retired"],
                assets,
            },
            strategies: vec![StrategyStatus {
                name: "dutch".into(),
                tops: s.strategy.tops.get(),
                opportunities: s.strategy.opportunities.get(),
                halted: s.strategy.halted.get(),
                held: s.strategy.held.get(),
                dropped: s.strategy.dropped.get(),
                plans: s.dispatch.plans.get(),
                intents: s.dispatch.intents.get(),
            }],
            latency: live(s)
                .iter()
                .map(|(name, l)| {
                    let r = l.read();
                    LatencyStatus {
                        name: name.to_string(),
                        count: r.count,
                        p50_us: r.p50 as f64 / 1e3,
                        p99_us: r.p99 as f64 / 1e3,
                        max_us: r.max as f64 / 1e3,
                    }
                })
                .collect(),
            rings: self.rings(),
            storage: self.storage.as_ref().map(|(m, h)| StorageStatus {
                queue_depth: m.queue_depth.load(Ordering::Relaxed),
                queue_depth_max: m.queue_depth_max.load(Ordering::Relaxed),
                rows_written: m.rows_written.load(Ordering::Relaxed),
                dropped: m.dropped_channel_full.load(Ordering::Relaxed)
                    + m.dropped_pending_full.load(Ordering::Relaxed)
                    + s.book.storage_dropped.get(),
                trading_ok: h.trading_ok(),
                market_data_ok: h.market_data_ok(),
            }),
            breakers: self.replica.breakers.snapshot(),
            positions: self.replica.positions.latest(),
        }
    }
}

fn l1<'a>(k: &'a str, v: impl Into<String>) -> Labels<'a> {
    vec![(k, v.into())]
}

impl Scrape for OpsView {
    fn families(&self, f: &mut Families<'_, '_>) -> Result<(), Error> {
        let s = &self.stats;
        f.gauge(
            "polyarb_uptime_seconds",
            "Seconds since the engine started.",
            self.replica.started.elapsed().as_secs() as i64,
        )?;
        // Feed and parser.
        f.gauge(
            "polyarb_feed_open_connections",
            "Market WebSocket connections open.",
            s.feed.open_connections.get() as i64,
        )?;
        f.gauge(
            "polyarb_feed_subscribed_assets",
            "Assets subscribed on the market channel.",
            s.feed.subscribed_assets.get() as i64,
        )?;
        let conns = self.connections();
        let up: Vec<_> = conns
            .iter()
            .map(|c| (l1("conn", c.id.to_string()), i64::from(c.state == "open")))
            .collect();
        let assets: Vec<_> = conns
            .iter()
            .map(|c| (l1("conn", c.id.to_string()), c.assets as i64))
            .collect();
        let drops: Vec<_> = conns
            .iter()
            .map(|c| (l1("conn", c.id.to_string()), c.drops))
            .collect();
        f.gauges(
            "polyarb_feed_connection_up",
            "1 while the market connection is open.",
            &up,
        )?;
        f.gauges(
            "polyarb_feed_connection_assets",
            "Assets the market connection carries.",
            &assets,
        )?;
        f.counters(
            "polyarb_feed_connection_drops",
            "Times the market connection was torn down.",
            &drops,
        )?;
        f.counter(
            "polyarb_feed_frames",
            "Frames received.",
            s.feed.frames.get(),
        )?;
        f.counter(
            "polyarb_feed_bytes",
            "Bytes of frames received.",
            s.feed.bytes.get(),
        )?;
        f.counter(
            "polyarb_feed_connects",
            "Connections opened.",
            s.feed.connects.get(),
        )?;
        f.counter(
            "polyarb_feed_reconnects",
            "Connections opened again after a loss.",
            s.feed.reconnects.get(),
        )?;
        f.counter(
            "polyarb_feed_dead_connections",
            "Connections closed for not answering PING.",
            s.feed.dead_connections.get(),
        )?;
        f.counter(
            "polyarb_feed_frames_dropped",
            "Frames dropped at a full frames ring.",
            s.feed.frames_dropped.get(),
        )?;
        f.counter(
            "polyarb_parse_invalid_frames",
            "Frames refused as malformed.",
            s.parse.invalid.get(),
        )?;
        f.counter(
            "polyarb_parse_lost_messages",
            "Parsed messages lost at a full ring (their assets resynced).",
            s.parse.lost_messages.get(),
        )?;
        // Books.
        f.counter(
            "polyarb_book_deltas",
            "Level changes applied.",
            s.book.deltas.get(),
        )?;
        f.counter(
            "polyarb_book_snapshots",
            "Full book snapshots applied.",
            s.book.books.get(),
        )?;
        f.counter(
            "polyarb_book_resyncs",
            "Books healthy again after being marked.",
            s.book.resyncs_completed.get(),
        )?;
        f.counter(
            "polyarb_book_audits",
            "Quiet books re-read from REST and compared.",
            s.book.audits.get(),
        )?;
        f.counter(
            "polyarb_resync_rest_calls",
            "REST book calls of the resync worker.",
            s.resync.calls.get(),
        )?;
        f.counter(
            "polyarb_resync_rest_failures",
            "Failed REST book calls of the resync worker.",
            s.resync.failures.get(),
        )?;
        let states = self.book_states();
        let rows: Vec<_> = states
            .iter()
            .map(|(k, v)| (l1("state", *k), *v as i64))
            .collect();
        f.gauges("polyarb_books", "Books by state.", &rows)?;
        // Per market.
        let markets = self.markets();
        let per = |pick: &dyn Fn(&MarketSums) -> u64| -> Vec<(Labels<'_>, u64)> {
            markets
                .iter()
                .map(|(m, v)| (l1("market", m.to_string()), pick(v)))
                .collect()
        };
        f.counters(
            "polyarb_market_events",
            "Market events applied to the market's books.",
            &per(&|m| m.events),
        )?;
        f.counters(
            "polyarb_market_snapshots",
            "Full snapshots applied to the market's books.",
            &per(&|m| m.snapshots),
        )?;
        let mut inv = Vec::new();
        for (m, v) in &markets {
            for (r, n) in REASONS.iter().zip(v.invalidations) {
                inv.push((
                    vec![
                        ("market", m.to_string()),
                        ("reason", r.as_str().to_string()),
                    ],
                    n,
                ));
            }
        }
        f.counters(
            "polyarb_market_invalidations",
            "Times a book of the market became untrustworthy, by resync reason.",
            &inv,
        )?;
        f.counters(
            "polyarb_market_resync_requests",
            "REST snapshots requested for the market's books.",
            &per(&|m| m.resync_requests),
        )?;
        f.counters(
            "polyarb_market_resyncs",
            "Times a book of the market became healthy again.",
            &per(&|m| m.resyncs),
        )?;
        f.counters(
            "polyarb_market_quotes",
            "Opportunities (priced sets) with a leg in the market.",
            &per(&|m| m.quotes),
        )?;
        f.counters(
            "polyarb_market_orders",
            "Order legs in the market handed to dispatch.",
            &per(&|m| m.orders),
        )?;
        // Strategy and dispatch.
        f.counter(
            "polyarb_strategy_opportunities",
            "Opportunities found.",
            s.strategy.opportunities.get(),
        )?;
        f.counter(
            "polyarb_strategy_halted",
            "Opportunities not emitted: trading halted.",
            s.strategy.halted.get(),
        )?;
        f.counter(
            "polyarb_strategy_held",
            "Opportunities not emitted: group held by the catalog.",
            s.strategy.held.get(),
        )?;
        f.counter(
            "polyarb_dispatch_plans",
            "Plans dispatched.",
            s.dispatch.plans.get(),
        )?;
        f.counter(
            "polyarb_dispatch_intents",
            "Order intents dispatched.",
            s.dispatch.intents.get(),
        )?;
        // Latency.
        let lat: Vec<_> = live(s)
            .into_iter()
            .map(|(n, l)| (l1("stage", n), l))
            .collect();
        f.latencies(
            "polyarb_latency_seconds",
            "Stage latency, published by each stage about once a second since its last reset.",
            &lat,
        )?;
        // Rings.
        let rings = self.rings();
        let by = |pick: &dyn Fn(&RingStatus) -> u64| -> Vec<(Labels<'_>, u64)> {
            rings
                .iter()
                .map(|r| (l1("ring", r.name.clone()), pick(r)))
                .collect()
        };
        let depth: Vec<_> = by(&|r| r.depth)
            .into_iter()
            .map(|(l, v)| (l, v as i64))
            .collect();
        let cap: Vec<_> = by(&|r| r.capacity)
            .into_iter()
            .map(|(l, v)| (l, v as i64))
            .collect();
        f.gauges("polyarb_ring_depth", "Values waiting in the ring.", &depth)?;
        f.gauges("polyarb_ring_capacity", "Slots of the ring.", &cap)?;
        f.counters(
            "polyarb_ring_pushed",
            "Values the ring accepted.",
            &by(&|r| r.pushed),
        )?;
        f.counters(
            "polyarb_ring_full",
            "Pushes the ring refused because it was full.",
            &by(&|r| r.full),
        )?;
        // Storage.
        if let Some((m, h)) = &self.storage {
            f.gauge(
                "polyarb_storage_queue_depth",
                "Events waiting for the storage writer.",
                m.queue_depth.load(Ordering::Relaxed) as i64,
            )?;
            f.counter(
                "polyarb_storage_rows_written",
                "Rows committed by the storage writer.",
                m.rows_written.load(Ordering::Relaxed),
            )?;
            f.counter(
                "polyarb_storage_dropped",
                "Events storage could not take.",
                m.dropped_channel_full.load(Ordering::Relaxed)
                    + m.dropped_pending_full.load(Ordering::Relaxed)
                    + s.book.storage_dropped.get(),
            )?;
            f.gauge(
                "polyarb_storage_trading_ok",
                "1 while orders and fills can be stored.",
                h.trading_ok() as i64,
            )?;
        }
        if let Some(r) = &self.recording {
            f.counter(
                "polyarb_recording_frames",
                "Frames handed to the recorder.",
                r.frames.get(),
            )?;
            f.counters(
                "polyarb_recording_dropped",
                "Frames and decisions the recorder's full ring refused (left out of the recording).",
                &[
                    (l1("what", "frames"), r.dropped_frames.get()),
                    (l1("what", "decisions"), r.dropped_decisions.get()),
                ],
            )?;
            f.counter(
                "polyarb_recording_files",
                "Recording files started.",
                r.files.get(),
            )?;
        }
        // Risk breakers (published by the risk module).
        let breakers = self.replica.breakers.snapshot();
        let by = |f: &dyn Fn(&crate::obs::status::BreakerStatus) -> Option<i64>, unit: bool| {
            breakers
                .iter()
                .filter_map(|b| {
                    let mut l = l1("breaker", b.name.clone());
                    if unit {
                        l.push(("unit", b.unit.clone()));
                    }
                    f(b).map(|v| (l, v))
                })
                .collect::<Vec<_>>()
        };
        f.gauges(
            "polyarb_breaker_tripped",
            "1 while the risk breaker is tripped (new plans stopped until a reset).",
            &by(&|b| Some(b.tripped as i64), false),
        )?;
        let trips: Vec<_> = breakers
            .iter()
            .map(|b| (l1("breaker", b.name.clone()), b.trips))
            .collect();
        f.counters(
            "polyarb_breaker_trips",
            "Times the risk breaker tripped.",
            &trips,
        )?;
        f.gauges(
            "polyarb_breaker_value",
            "The risk breaker's measure since the last reset, in `unit`.",
            &by(&|b| (!b.unit.is_empty()).then_some(b.value), true),
        )?;
        f.gauges(
            "polyarb_breaker_threshold",
            "Where the risk breaker trips, in `unit` (configured breakers only).",
            &by(&|b| b.threshold, true),
        )?;
        let reasons: Vec<_> = breakers
            .iter()
            .filter(|b| !b.reason.is_empty())
            .map(|b| {
                (
                    vec![("breaker", b.name.clone()), ("reason", b.reason.clone())],
                    b.tripped as i64,
                )
            })
            .collect();
        f.gauges(
            "polyarb_breaker_reason",
            "The reason of the risk breaker's last trip; 1 while it is tripped for it.",
            &reasons,
        )?;
        // Positions and PnL (published by their owner).
        if let Some(p) = self.replica.positions.latest() {
            let rows: Vec<_> = p
                .positions
                .iter()
                .map(|r| {
                    (
                        vec![
                            ("token", r.token.clone()),
                            ("market", r.market.clone().unwrap_or_default()),
                        ],
                        r.shares_micros,
                    )
                })
                .collect();
            f.gauges(
                "polyarb_position_shares_micros",
                "Shares held, micro-shares.",
                &rows,
            )?;
            f.gauge(
                "polyarb_pnl_realized_micros",
                "Realized PnL, pUSD micro-units.",
                p.realized_pnl_micros,
            )?;
            f.gauge(
                "polyarb_pnl_unrealized_micros",
                "Unrealized PnL, pUSD micro-units.",
                p.unrealized_pnl_micros,
            )?;
        }
        f.counter(
            "polyarb_log_lines_dropped",
            "JSON log lines dropped because the writer fell behind.",
            crate::obs::logs::dropped_lines(),
        )?;
        Ok(())
    }
}

/// The endpoint of one engine: its view and the registry that encodes it.
pub struct OpsEndpoint {
    view: Arc<OpsView>,
    registry: prometheus_client::registry::Registry,
}

impl OpsEndpoint {
    pub fn new(view: Arc<OpsView>) -> Self {
        Self {
            registry: crate::obs::prom::registry(view.clone()),
            view,
        }
    }
}

impl Endpoint for OpsEndpoint {
    fn metrics(&self) -> Result<String, String> {
        crate::obs::prom::encode(&self.registry).map_err(|e| format!("encoding metrics: {e}"))
    }

    fn status(&self) -> Result<String, String> {
        serde_json::to_string_pretty(&self.view.status()).map_err(|e| e.to_string())
    }
}

/// The dispatch stage with per-market quote and order counts published before it: a few
/// relaxed stores per opportunity on the dispatch thread.
pub struct CountingDispatch {
    pub inner: Box<dyn Stage<In = Opportunity>>,
    pub table: Arc<AssetTable>,
}

impl Stage for CountingDispatch {
    type In = Opportunity;

    #[inline]
    fn process(&mut self, o: Opportunity) {
        for leg in o.legs.iter().take(o.n_legs as usize) {
            if let Some(c) = self.table.orders(leg.asset) {
                c.quotes.inc();
                c.orders.inc();
            }
        }
        self.inner.process(o);
    }

    fn tick(&mut self, now_ns: u64) -> bool {
        self.inner.tick(now_ns)
    }

    fn has_pending(&self) -> bool {
        self.inner.has_pending()
    }

    fn flush(&mut self) {
        self.inner.flush();
    }

    fn finish(&mut self) {
        self.inner.finish();
    }

    fn histograms(&self, out: &mut Vec<LatencyHistogram>) {
        self.inner.histograms(out);
    }
}
