//! Market data as running threads: the io stage, the market thread (parse + book), and the
//! resync worker, wired with rings, plus the handles to steer, observe and stop them.
//!
//! ```text
//!  io (mio) ──frames──▶ market thread: parse → book ──view──▶ UI / tests
//!     ▲  ◀──buffers──        │   ▲
//!     │                requests  snapshots
//!     └── resubscribe ── resync worker (REST /books)
//! ```
//! The market thread runs parse and book back to back (no ring between them), which on a
//! 2-core machine avoids a ~20 µs park/unpark hop per frame; the pipeline topology decides
//! where rings go on bigger hosts.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam::channel::{Receiver, Sender, TrySendError};
use serde::Deserialize;
use thiserror::Error;

use super::frame::{FrameBuf, IoEvent};
use super::ring::{RingRx, RingTx, ring};
use super::wait::{Doorbell, WaitStrategy, Waiter};
use crate::adapters::polymarket::market_channel::ParseCounters;
use crate::adapters::polymarket::market_channel::stage::{MsgSink, ParseStage, ParseStats};
use crate::adapters::polymarket::ws::{
    FeedCommand, FeedConfig, FeedControl, FeedError, FeedStats, MarketFeed,
};
use crate::book::resync::{ResyncConfig, ResyncStats, ResyncWorker};
use crate::book::stage::{BookStage, BookStageConfig, BookStats};
use crate::book::{BookState, Books};
use crate::core::{AssetIndex, AssetRegistry, MarketMsg, Price, Size, TickSize};
use crate::obs::LatencyHistogram;
use crate::obs::clock::now_ns;
use crate::obs::replay::{BookDump, dump_books};

/// Ring sizes (`[rings]`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RingSizes {
    pub frames: usize,
    pub resync: usize,
}

impl Default for RingSizes {
    fn default() -> Self {
        Self {
            frames: 4096,
            resync: 1 << 16,
        }
    }
}

/// Everything market data needs.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MarketDataConfig {
    pub feed: FeedConfig,
    pub book: BookStageConfig,
    pub resync: ResyncConfig,
    pub rings: RingSizes,
    /// Wait strategy of the market thread.
    pub market_wait: Option<WaitStrategy>,
    /// How often the read-only view is published (ms; 0 = never).
    pub view_interval_ms: u64,
}

#[derive(Debug, Error)]
pub enum MarketDataError {
    #[error(transparent)]
    Feed(#[from] FeedError),
    #[error("cannot spawn thread: {0}")]
    Spawn(#[from] std::io::Error),
}

/// One asset as the read-only view shows it.
#[derive(Clone, Copy, Debug)]
pub struct AssetView {
    pub asset: AssetIndex,
    pub state: BookState,
    pub tick: Option<TickSize>,
    pub best_bid: Option<(Price, Size)>,
    pub best_ask: Option<(Price, Size)>,
    /// Milliseconds since the last event or snapshot.
    pub age_ms: u64,
}

/// A periodic, read-only copy of the books' tops and health (never blocks the market thread).
#[derive(Clone, Debug, Default)]
pub struct MarketView {
    pub at_ns: u64,
    pub assets: Vec<AssetView>,
}

/// Requests to the market thread.
enum MarketCtl {
    DumpBooks(Sender<Vec<BookDump>>),
}

/// What the market thread hands back when it stops.
pub struct MarketOutcome {
    pub books: Books,
    pub registry: AssetRegistry,
    pub parse_counters: ParseCounters,
    pub apply_latency: LatencyHistogram,
    pub resync_latency: LatencyHistogram,
    pub parse_latency: LatencyHistogram,
}

/// Counters of every thread, for reports and terminal views.
#[derive(Clone)]
pub struct MarketDataStats {
    pub feed: Arc<FeedStats>,
    pub parse: Arc<ParseStats>,
    pub book: Arc<BookStats>,
    pub resync: Arc<ResyncStats>,
}

/// Running market data.
pub struct MarketData {
    pub control: FeedControl,
    pub stats: MarketDataStats,
    pub registry: AssetRegistry,
    views: Option<Receiver<MarketView>>,
    view_returns: Sender<MarketView>,
    ctl: Sender<MarketCtl>,
    market_bell: Arc<Doorbell>,
    stop: Arc<AtomicBool>,
    io: Option<JoinHandle<()>>,
    market: Option<JoinHandle<MarketOutcome>>,
    resync: Option<JoinHandle<()>>,
}

/// The book stage as the parse stage's sink, on the same thread.
struct Direct<'a>(&'a mut BookStage);

impl MsgSink for Direct<'_> {
    #[inline]
    fn deliver(&mut self, m: MarketMsg) -> bool {
        self.0.on_msg(&m, now_ns);
        true
    }
}

impl MarketData {
    /// Starts the threads and subscribes every asset of `registry`.
    pub fn start(
        cfg: MarketDataConfig,
        registry: AssetRegistry,
        seed: u64,
    ) -> Result<Self, MarketDataError> {
        let market_bell = Doorbell::new();
        let (frames_tx, frames_rx) =
            ring::<IoEvent>("io→market frames", cfg.rings.frames, market_bell.clone());
        // The io thread collects returned buffers when it needs one: no wake-up needed.
        let (returns_tx, returns_rx) = ring::<FrameBuf>(
            "market→io buffers",
            cfg.feed.frame_buffers + cfg.rings.frames,
            Doorbell::new(),
        );
        let (snap_tx, snap_rx) = ring::<MarketMsg>(
            "resync→market snapshots",
            cfg.rings.resync,
            market_bell.clone(),
        );
        let (req_tx, req_rx) = crossbeam::channel::bounded(registry.len().max(1024));
        let (feed, control, feed_stats) =
            MarketFeed::new(cfg.feed.clone(), frames_tx, returns_rx, seed)?;
        let resync = ResyncWorker::new(
            cfg.resync.clone(),
            req_rx,
            snap_tx,
            registry.clone(),
            Some(control.clone()),
        );
        let resync_stats = resync.stats.clone();
        let parse = ParseStage::new(registry.clone());
        let book = BookStage::new(cfg.book.clone(), registry.len(), req_tx);
        let stats = MarketDataStats {
            feed: feed_stats,
            parse: parse.stats.clone(),
            book: book.stats.clone(),
            resync: resync_stats,
        };
        let (ctl_tx, ctl_rx) = crossbeam::channel::unbounded();
        let (view_tx, view_rx) = crossbeam::channel::bounded(1);
        let (ret_tx, ret_rx) = crossbeam::channel::bounded(2);
        let stop = Arc::new(AtomicBool::new(false));

        let io = std::thread::Builder::new()
            .name("io".into())
            .spawn(move || feed.run())?;
        let resync = std::thread::Builder::new()
            .name("resync".into())
            .spawn(move || resync.run())?;
        let market_thread = MarketThread {
            parse,
            book,
            frames: frames_rx,
            returns: returns_tx,
            snapshots: snap_rx,
            snap_buf: Vec::with_capacity(4096),
            ctl: ctl_rx,
            views: view_tx,
            view_returns: ret_rx,
            view_interval_ns: cfg.view_interval_ms * 1_000_000,
            next_view_ns: 0,
            waiter: Waiter::new(
                cfg.market_wait.unwrap_or(WaitStrategy::Park),
                market_bell.clone(),
                Duration::from_millis(10),
            ),
            stop: stop.clone(),
        };
        let market = std::thread::Builder::new()
            .name("market".into())
            .spawn(move || market_thread.run())?;
        let md = Self {
            control,
            stats,
            registry: registry.clone(),
            views: Some(view_rx),
            view_returns: ret_tx,
            ctl: ctl_tx,
            market_bell,
            stop,
            io: Some(io),
            market: Some(market),
            resync: Some(resync),
        };
        md.control.send(FeedCommand::Subscribe(
            registry
                .iter()
                .map(|(a, i)| (a, i.token_str.clone()))
                .collect(),
        ));
        Ok(md)
    }

    /// The latest view, if one was published since the last call.
    pub fn latest_view(&self) -> Option<MarketView> {
        let rx = self.views.as_ref()?;
        let mut last = None;
        while let Ok(v) = rx.try_recv() {
            if let Some(old) = last.replace(v) {
                let _ = self.view_returns.try_send(old);
            }
        }
        last
    }

    /// Gives a view's buffer back for reuse.
    pub fn recycle_view(&self, v: MarketView) {
        let _ = self.view_returns.try_send(v);
    }

    /// A copy of every book, taken by the market thread between two frames.
    pub fn dump_books(&self, timeout: Duration) -> Option<Vec<BookDump>> {
        let (tx, rx) = crossbeam::channel::bounded(1);
        self.ctl.send(MarketCtl::DumpBooks(tx)).ok()?;
        self.market_bell.ring();
        rx.recv_timeout(timeout).ok()
    }

    /// Stops input, drains the rings, stops every thread and returns the market state.
    pub fn shutdown(mut self) -> Option<MarketOutcome> {
        self.control.send(FeedCommand::Shutdown);
        if let Some(h) = self.io.take() {
            let _ = h.join();
        }
        self.stop.store(true, Ordering::SeqCst);
        self.market_bell.ring();
        let out = self.market.take().and_then(|h| h.join().ok());
        if let Some(h) = self.resync.take() {
            let _ = h.join();
        }
        out
    }
}

impl Drop for MarketData {
    fn drop(&mut self) {
        if self.market.is_some() {
            self.control.send(FeedCommand::Shutdown);
            self.stop.store(true, Ordering::SeqCst);
            self.market_bell.ring();
        }
    }
}

struct MarketThread {
    parse: ParseStage,
    book: BookStage,
    frames: RingRx<IoEvent>,
    returns: RingTx<FrameBuf>,
    snapshots: RingRx<MarketMsg>,
    snap_buf: Vec<MarketMsg>,
    ctl: Receiver<MarketCtl>,
    views: Sender<MarketView>,
    view_returns: Receiver<MarketView>,
    view_interval_ns: u64,
    next_view_ns: u64,
    waiter: Waiter,
    stop: Arc<AtomicBool>,
}

impl MarketThread {
    fn run(mut self) -> MarketOutcome {
        self.waiter.bell().bind_current();
        loop {
            let mut worked = false;
            for _ in 0..256 {
                let Some(ev) = self.frames.pop() else { break };
                worked = true;
                if let Some(buf) = self.parse.on_event(ev, &mut Direct(&mut self.book), now_ns) {
                    // The pool ring is sized for every buffer: it cannot be full.
                    let _ = self.returns.push_quiet(buf);
                }
            }
            while let Some(m) = self.snapshots.pop() {
                worked = true;
                let end = matches!(m, MarketMsg::AssetEventEnd { .. });
                self.snap_buf.push(m);
                if end {
                    self.book.on_rest_snapshot(&self.snap_buf, now_ns);
                    self.snap_buf.clear();
                }
            }
            if let Ok(MarketCtl::DumpBooks(tx)) = self.ctl.try_recv() {
                let _ = tx.send(dump_books(&self.book.books, &self.parse.registry));
            }
            let now = now_ns();
            self.book.maybe_watchdog(now);
            if self.view_interval_ns > 0 && now >= self.next_view_ns {
                self.next_view_ns = now + self.view_interval_ns;
                self.publish_view(now);
            }
            if worked {
                self.waiter.worked();
                continue;
            }
            if self.stop.load(Ordering::SeqCst) && self.frames.is_empty() {
                break;
            }
            let (frames, snaps) = (&self.frames, &self.snapshots);
            self.waiter.idle(|| !frames.is_empty() || !snaps.is_empty());
        }
        MarketOutcome {
            parse_counters: self.parse.counters(),
            parse_latency: self.parse.latency.clone(),
            apply_latency: self.book.apply_latency.clone(),
            resync_latency: self.book.resync_latency.clone(),
            books: self.book.books,
            registry: self.parse.registry,
        }
    }

    fn publish_view(&mut self, now: u64) {
        let mut v = self.view_returns.try_recv().unwrap_or_default();
        v.assets.clear();
        v.at_ns = now;
        let books = &self.book.books;
        for i in 0..books.capacity() {
            let asset = AssetIndex(i as u32);
            let Some(b) = books.book(asset) else { continue };
            let last = b.last_event_ns.max(b.last_snapshot_ns);
            v.assets.push(AssetView {
                asset,
                state: b.state,
                tick: b.tick,
                best_bid: b.bids.best(),
                best_ask: b.asks.best(),
                age_ms: if last == 0 {
                    u64::MAX
                } else {
                    now.saturating_sub(last) / 1_000_000
                },
            });
        }
        if let Err(TrySendError::Full(v) | TrySendError::Disconnected(v)) = self.views.try_send(v) {
            // The reader has not taken the last one: keep the buffer for next time.
            drop(v);
        }
    }
}
