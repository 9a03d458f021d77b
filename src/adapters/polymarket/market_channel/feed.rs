//! The io stage: one thread, one mio poll, every market-channel connection.
//!
//! Assets are sharded over connections (at most `max_assets_per_connection` each). Each
//! connection is kept alive with text `PING`s, declared dead after `dead_after_ms` without any
//! frame (or stalled after `silent_after_ms` with PONGs but no data), and reconnected with jittered exponential back-off; every asset it carried is
//! invalidated (`Reconnect`) until its fresh snapshot arrives on the new connection.
//!
//! Backpressure on the frames ring: when the parser is behind, the io stage stops reading that
//! socket (the kernel and TCP window buffer it, nothing is lost) and counts the stall. If the
//! ring stays full past `stall_budget_ms`, the held frame is dropped (counted) and every asset
//! of that connection is invalidated (`RingFull`) before any later frame of it is delivered, so
//! no book silently misses a delta.

use std::net::ToSocketAddrs;
use std::sync::Arc;
use std::time::Duration;

use crossbeam::channel::{Receiver, Sender, TryRecvError};
use mio::{Events, Poll, Token, Waker};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rustc_hash::FxHashMap;
use serde::Deserialize;
use thiserror::Error;

use super::connection::{Endpoint, Incoming, MarketConnection, ReadOutcome};
use super::frame::{FrameBuf, IoEvent};
use super::subscription;
use crate::adapters::polymarket::ws::backoff::Backoff;
use crate::core::{AssetIndex, RegistryExtension, ResyncReason};
use crate::obs::clock::now_ns;
use crate::pipeline::ring::{Counter, RingRx};
use crate::pipeline::stage::Out;
use crate::pipeline::wait::{Doorbell, WaitStrategy};

/// `[feed]` in the engine's TOML.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FeedConfig {
    /// `ws://` or `wss://` URL of the market channel.
    pub ws_url: String,
    pub max_assets_per_connection: usize,
    pub ping_interval_ms: u64,
    /// A connection with no frame (data or PONG) for this long is dead.
    pub dead_after_ms: u64,
    /// A connection that answers PINGs but has carried no market data for this long while it
    /// has subscriptions is stalled, and is reconnected (0 = never).
    pub silent_after_ms: u64,
    pub reconnect_base_ms: u64,
    pub reconnect_max_ms: u64,
    pub connect_timeout_ms: u64,
    /// How long the io stage may hold a frame for a full ring before dropping it.
    pub stall_budget_ms: u64,
    pub frame_buffers: usize,
    pub frame_buffer_bytes: usize,
    pub custom_feature_enabled: bool,
    /// `park` blocks in the poll; `spin`/`spin_then_yield` poll without blocking.
    pub wait: WaitStrategy,
}

impl Default for FeedConfig {
    fn default() -> Self {
        Self {
            ws_url: "ws://127.0.0.1:8081/ws/market".into(),
            max_assets_per_connection: 200,
            ping_interval_ms: 10_000,
            dead_after_ms: 30_000,
            silent_after_ms: 120_000,
            reconnect_base_ms: 100,
            reconnect_max_ms: 10_000,
            connect_timeout_ms: 5_000,
            stall_budget_ms: 250,
            frame_buffers: 1024,
            frame_buffer_bytes: 16 << 10,
            custom_feature_enabled: true,
            wait: WaitStrategy::Park,
        }
    }
}

#[derive(Debug, Error)]
pub enum FeedError {
    #[error("bad market websocket url {url:?}: {reason}")]
    Url { url: String, reason: String },
    #[error("cannot resolve {host}: {source}")]
    Resolve {
        host: String,
        #[source]
        source: std::io::Error,
    },
    #[error("io poll: {0}")]
    Poll(#[from] std::io::Error),
}

/// Commands from the control plane (catalog, resync worker, watchdog, tests).
#[derive(Debug)]
pub enum FeedCommand {
    /// New assets for the parse stage: handed on in-band (`IoEvent::Extend`) before any
    /// later command is carried out, so a `Subscribe` sent after it can never bring a frame
    /// the parser cannot resolve.
    Extend(Box<RegistryExtension>),
    /// Subscribe assets (index and token id as the venue spells it).
    Subscribe(Vec<(AssetIndex, Box<str>)>),
    Unsubscribe(Vec<AssetIndex>),
    /// Unsubscribe and subscribe again on the same connection: the venue re-sends snapshots.
    Resubscribe(Vec<AssetIndex>),
    /// Drop and reconnect the connection carrying this asset (stalled connection).
    Reconnect(AssetIndex),
    Shutdown,
}

/// What the io stage has done (single writer: the io thread).
#[derive(Debug, Default)]
pub struct FeedStats {
    pub frames: Counter,
    pub bytes: Counter,
    pub pongs: Counter,
    pub pings_sent: Counter,
    pub connects: Counter,
    pub reconnects: Counter,
    pub connect_failures: Counter,
    pub dead_connections: Counter,
    pub silent_connections: Counter,
    /// Times reading paused because the frames ring was full.
    pub stalls: Counter,
    pub frames_dropped: Counter,
    pub invalidations: Counter,
    pub buffer_allocs: Counter,
    pub open_connections: Counter,
    pub subscribed_assets: Counter,
    /// Registry extensions handed to the parse stage.
    pub extensions: Counter,
    /// Times an extension waited for room in the frames ring (commands behind it wait too).
    pub extension_stalls: Counter,
    /// Each connection's health, for status views (the first [`CONN_CELLS`] connections).
    pub conns: ConnCells,
}

/// Connections whose health is published one by one (500 assets each: 32,000 assets).
pub const CONN_CELLS: usize = 64;

/// One connection's health as the io thread last published it (about every 100 ms).
#[derive(Debug, Default)]
pub struct ConnCell {
    /// 0 unused, 1 connecting, 2 open, 3 down (waiting to reconnect).
    pub state: Counter,
    pub assets: Counter,
    /// `clock::now_ns` of the last byte received and of the last open (0 = never).
    pub last_rx_ns: Counter,
    pub opened_ns: Counter,
    /// Times it was torn down (dead, silent, failed or asked to reconnect).
    pub drops: Counter,
}

/// The published connection cells.
#[derive(Debug)]
pub struct ConnCells(pub Box<[ConnCell]>);

impl Default for ConnCells {
    fn default() -> Self {
        Self((0..CONN_CELLS).map(|_| ConnCell::default()).collect())
    }
}

/// A cloneable handle to steer a running feed.
#[derive(Clone)]
pub struct FeedControl {
    tx: Sender<FeedCommand>,
    waker: Arc<Waker>,
}

impl FeedControl {
    pub fn send(&self, cmd: FeedCommand) -> bool {
        let ok = self.tx.send(cmd).is_ok();
        let _ = self.waker.wake();
        ok
    }
}

const WAKER: Token = Token(usize::MAX - 1);

/// Why a connection is being torn down.
enum Teardown {
    Failed(String),
    Dead,
    Silent,
    Requested,
}

/// Per-connection delivery state.
#[derive(Default)]
struct Delivery {
    /// A frame the ring refused, and since when.
    held: Option<FrameBuf>,
    held_since_ns: u64,
    /// Assets of this connection still to be invalidated, and why.
    invalidate: Option<(ResyncReason, usize)>,
}

/// The io stage.
pub struct MarketFeed {
    cfg: FeedConfig,
    endpoint: Endpoint,
    poll: Poll,
    conns: Vec<MarketConnection>,
    delivery: Vec<Delivery>,
    backoffs: Vec<Backoff>,
    asset_conn: FxHashMap<AssetIndex, u16>,
    tokens: FxHashMap<AssetIndex, Box<str>>,
    out: Out<IoEvent>,
    returns: RingRx<FrameBuf>,
    /// Rung by rings into stages fused onto this thread (their producers wake the poll).
    bell: Arc<Doorbell>,
    free: Vec<FrameBuf>,
    commands: Receiver<FeedCommand>,
    /// An extension the frames ring refused: delivered before any further command.
    held_extension: Option<Box<RegistryExtension>>,
    stats: Arc<FeedStats>,
    rng: StdRng,
    shutdown: bool,
    /// When the connection cells are next published.
    next_conn_publish_ns: u64,
    /// Sees every text frame as received (a recording), before it is delivered.
    tap: Option<FrameTap>,
}

/// A frame observer on the io thread: (frame, receive time, connection). It must not block.
pub type FrameTap = Box<dyn Fn(&[u8], u64, u16) + Send>;

impl MarketFeed {
    /// Builds the io stage and its control handle. `out` carries frames to the parser (a ring,
    /// or the parse stage itself on this thread), `returns` brings their buffers back, and
    /// `bell` is this thread's doorbell.
    pub fn new(
        cfg: FeedConfig,
        out: Out<IoEvent>,
        returns: RingRx<FrameBuf>,
        bell: Arc<Doorbell>,
        seed: u64,
    ) -> Result<(Self, FeedControl, Arc<FeedStats>), FeedError> {
        let endpoint = resolve(&cfg.ws_url)?;
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        bell.bind_poll(waker.clone());
        let (tx, rx) = crossbeam::channel::unbounded();
        let stats = Arc::new(FeedStats::default());
        let free = (0..cfg.frame_buffers)
            .map(|_| FrameBuf::with_capacity(cfg.frame_buffer_bytes))
            .collect();
        let feed = Self {
            cfg,
            endpoint,
            poll,
            conns: Vec::new(),
            delivery: Vec::new(),
            backoffs: Vec::new(),
            asset_conn: FxHashMap::default(),
            tokens: FxHashMap::default(),
            out,
            returns,
            bell,
            free,
            commands: rx,
            held_extension: None,
            stats: stats.clone(),
            rng: StdRng::seed_from_u64(seed),
            shutdown: false,
            next_conn_publish_ns: 0,
            tap: None,
        };
        Ok((feed, FeedControl { tx, waker }, stats))
    }

    /// Shows every text frame to `tap` as it is received (see [`FrameTap`]).
    pub fn with_tap(mut self, tap: FrameTap) -> Self {
        self.tap = Some(tap);
        self
    }

    /// Runs until `FeedCommand::Shutdown`; returns the latency histograms of stages fused
    /// onto this thread.
    pub fn run(mut self) -> Vec<crate::obs::LatencyHistogram> {
        let mut events = Events::with_capacity(1024);
        while !self.shutdown {
            // Announce the sleep first, then look for fused work: a producer that pushes in
            // between sees us asleep and wakes the poll.
            self.bell.will_sleep();
            let timeout = if self.out.has_pending() {
                Duration::ZERO
            } else {
                self.poll_timeout()
            };
            let polled = self.poll.poll(&mut events, Some(timeout));
            self.bell.awake();
            if let Err(e) = polled
                && e.kind() != std::io::ErrorKind::Interrupted
            {
                tracing::error!("io poll failed: {e}");
                break;
            }
            for ev in events.iter() {
                if ev.token() == WAKER {
                    continue;
                }
                let id = ev.token().0;
                if id < self.conns.len() {
                    self.on_ready(id);
                }
            }
            self.drain_commands();
            self.retry_held();
            self.timers();
            self.out.flush();
            self.out.tick(now_ns());
            if self.out.is_abandoned() {
                break;
            }
        }
        self.deliver_held_at_stop();
        let registry = self.poll.registry();
        for c in &mut self.conns {
            c.close(registry);
        }
        self.out.flush();
        self.out.finish();
        let mut h = Vec::new();
        self.out.histograms(&mut h);
        h
    }

    /// At shutdown, frames read but held for a full ring are still delivered (within the
    /// stall budget; the consumer is draining): everything read is parsed. Any left is counted.
    fn deliver_held_at_stop(&mut self) {
        let deadline = now_ns() + self.cfg.stall_budget_ms * 1_000_000;
        while self.delivery.iter().any(|d| d.held.is_some())
            && now_ns() < deadline
            && !self.out.is_abandoned()
        {
            for d in &mut self.delivery {
                if let Some(buf) = d.held.take()
                    && let Err(IoEvent::Frame(buf)) = self.out.emit(IoEvent::Frame(buf))
                {
                    d.held = Some(buf);
                }
            }
            self.out.flush();
            std::thread::yield_now();
        }
        for d in &mut self.delivery {
            if let Some(buf) = d.held.take() {
                self.stats.frames_dropped.inc();
                self.free.push(buf);
            }
        }
    }

    fn poll_timeout(&self) -> Duration {
        let held = self.held_extension.is_some()
            || self
                .delivery
                .iter()
                .any(|d| d.held.is_some() || d.invalidate.is_some());
        match self.cfg.wait {
            WaitStrategy::Spin | WaitStrategy::SpinThenYield => Duration::ZERO,
            WaitStrategy::Park if held => Duration::from_micros(100),
            // Stages fused onto this thread have timers (watchdog, views) of their own.
            WaitStrategy::Park if matches!(self.out, Out::Next(_)) => Duration::from_millis(10),
            WaitStrategy::Park => Duration::from_millis(50),
        }
    }

    fn on_ready(&mut self, id: usize) {
        let now = now_ns();
        let conn = &mut self.conns[id];
        if !conn.is_open() && !conn.is_down() {
            match conn.advance(&self.endpoint, now) {
                Ok(true) => self.on_open(id),
                Ok(false) => return,
                Err(e) => {
                    self.stats.connect_failures.inc();
                    self.teardown(id, Teardown::Failed(e));
                    return;
                }
            }
        }
        self.read_conn(id);
    }

    fn on_open(&mut self, id: usize) {
        self.stats.connects.inc();
        self.stats.open_connections.add(1);
        let tokens: Vec<&str> = self.conns[id]
            .assets
            .iter()
            .filter_map(|a| self.tokens.get(a).map(|t| &**t))
            .collect();
        let msg = subscription::initial(&tokens, self.cfg.custom_feature_enabled);
        tracing::info!(conn = id, assets = tokens.len(), "market connection open");
        if let Err(e) = self.conns[id].send_text(msg) {
            self.teardown(id, Teardown::Failed(e));
        }
    }

    /// Reads one connection until it would block, the ring is full, or it fails.
    fn read_conn(&mut self, id: usize) {
        if self.delivery[id].held.is_some() || self.delivery[id].invalidate.is_some() {
            return;
        }
        let Self {
            conns,
            delivery,
            out,
            free,
            returns,
            stats,
            tap,
            ..
        } = self;
        let d = &mut delivery[id];
        let conn_id = id as u16;
        let outcome = conns[id].read(now_ns, |msg, t| match msg {
            Incoming::Pong => {
                stats.pongs.inc();
                true
            }
            Incoming::Text(bytes) => {
                stats.frames.inc();
                stats.bytes.add(bytes.len() as u64);
                if let Some(tap) = tap {
                    tap(bytes, t, conn_id);
                }
                let mut buf = take_buf(free, returns, stats);
                if buf.fill(bytes, t, conn_id) {
                    stats.buffer_allocs.inc();
                }
                match out.emit(IoEvent::Frame(buf)) {
                    Ok(()) => true,
                    Err(IoEvent::Frame(buf)) => {
                        stats.stalls.inc();
                        d.held = Some(buf);
                        d.held_since_ns = t;
                        false
                    }
                    Err(_) => false,
                }
            }
        });
        let flushed = conns[id].flush();
        match (outcome, flushed) {
            (ReadOutcome::Closed(e), _) | (_, Err(e)) => self.teardown(id, Teardown::Failed(e)),
            (ReadOutcome::Drained, Ok(())) => {}
        }
    }

    /// Retries held frames and pending invalidations; resumes reading on success.
    fn retry_held(&mut self) {
        let now = now_ns();
        let budget = self.cfg.stall_budget_ms * 1_000_000;
        for id in 0..self.conns.len() {
            let d = &mut self.delivery[id];
            if let Some((reason, mut next)) = d.invalidate {
                let assets = &self.conns[id].assets;
                while next < assets.len() {
                    let ev = IoEvent::Invalidate {
                        asset: assets[next],
                        reason,
                    };
                    if self.out.emit(ev).is_err() {
                        break;
                    }
                    self.stats.invalidations.inc();
                    next += 1;
                }
                d.invalidate = (next < assets.len()).then_some((reason, next));
                if d.invalidate.is_some() {
                    continue;
                }
            }
            if let Some(buf) = d.held.take() {
                match self.out.emit(IoEvent::Frame(buf)) {
                    Ok(()) => {}
                    Err(IoEvent::Frame(buf)) => {
                        if now.saturating_sub(d.held_since_ns) > budget {
                            // Give up on this frame: its assets can no longer be trusted.
                            self.stats.frames_dropped.inc();
                            self.free.push(buf);
                            d.invalidate = Some((ResyncReason::RingFull, 0));
                        } else {
                            d.held = Some(buf);
                        }
                        continue;
                    }
                    Err(_) => continue,
                }
            }
            if self.conns[id].is_open() {
                self.read_conn(id);
            }
        }
    }

    fn timers(&mut self) {
        let now = now_ns();
        let ping_every = self.cfg.ping_interval_ms * 1_000_000;
        let dead_after = self.cfg.dead_after_ms * 1_000_000;
        let connect_timeout = self.cfg.connect_timeout_ms * 1_000_000;
        let silent_after = self.cfg.silent_after_ms * 1_000_000;
        for id in 0..self.conns.len() {
            let c = &mut self.conns[id];
            if c.is_open() {
                if now.saturating_sub(c.last_rx_ns) > dead_after {
                    self.stats.dead_connections.inc();
                    self.teardown(id, Teardown::Dead);
                    continue;
                }
                if silent_after > 0 && now.saturating_sub(c.last_data_ns) > silent_after {
                    self.stats.silent_connections.inc();
                    self.teardown(id, Teardown::Silent);
                    continue;
                }
                if now.saturating_sub(c.last_ping_ns) >= ping_every {
                    c.last_ping_ns = now;
                    self.stats.pings_sent.inc();
                    if let Err(e) = c.send_text("PING".into()) {
                        self.teardown(id, Teardown::Failed(e));
                    }
                }
            } else if c.is_down() {
                if !c.assets.is_empty()
                    && now >= c.retry_at_ns
                    && let Err(e) = c.connect(&self.endpoint, self.poll.registry(), now)
                {
                    self.stats.connect_failures.inc();
                    self.teardown(id, Teardown::Failed(format!("connect: {e}")));
                }
            } else if now.saturating_sub(c.connect_started_ns) > connect_timeout {
                self.stats.connect_failures.inc();
                self.teardown(id, Teardown::Failed("connect timeout".into()));
            }
        }
        if now >= self.next_conn_publish_ns {
            self.next_conn_publish_ns = now + 100_000_000;
            for (c, cell) in self.conns.iter().zip(self.stats.conns.0.iter()) {
                let state = if c.is_open() {
                    2
                } else if c.is_down() {
                    3
                } else {
                    1
                };
                cell.state.set(state);
                cell.assets.set(c.assets.len() as u64);
                cell.last_rx_ns.set(c.last_rx_ns);
                cell.opened_ns
                    .set(if c.is_open() { c.opened_ns } else { 0 });
            }
        }
    }

    /// Closes a connection, invalidates its assets and schedules the reconnect.
    fn teardown(&mut self, id: usize, why: Teardown) {
        let now = now_ns();
        let was_open = self.conns[id].is_open();
        match &why {
            Teardown::Failed(e) => tracing::warn!(conn = id, "market connection down: {e}"),
            Teardown::Dead => tracing::warn!(conn = id, "market connection silent: declared dead"),
            Teardown::Silent => {
                tracing::warn!(
                    conn = id,
                    "market connection answers PING but carries no data: reconnecting"
                )
            }
            Teardown::Requested => {
                tracing::info!(conn = id, "market connection reconnect requested")
            }
        }
        self.conns[id].close(self.poll.registry());
        if let Some(cell) = self.stats.conns.0.get(id) {
            cell.drops.inc();
        }
        if was_open {
            self.stats
                .open_connections
                .set(self.stats.open_connections.get().saturating_sub(1));
            // A connection that stayed up a while earns a fresh back-off.
            if now.saturating_sub(self.conns[id].opened_ns) > 10_000_000_000 {
                self.backoffs[id].reset();
            }
        }
        self.stats.reconnects.inc();
        let d = &mut self.delivery[id];
        if let Some(buf) = d.held.take() {
            self.stats.frames_dropped.inc();
            self.free.push(buf);
        }
        if was_open {
            d.invalidate = Some((ResyncReason::Reconnect, 0));
        }
        let delay = match why {
            Teardown::Requested => Duration::ZERO,
            _ => self.backoffs[id].next_delay(&mut self.rng),
        };
        self.conns[id].retry_at_ns = now + delay.as_nanos() as u64;
    }

    fn drain_commands(&mut self) {
        loop {
            if !self.deliver_extension() {
                // Commands are ordered: a subscribe behind it must wait.
                return;
            }
            match self.commands.try_recv() {
                Ok(cmd) => self.command(cmd),
                Err(TryRecvError::Empty) => {
                    self.deliver_extension();
                    break;
                }
                Err(TryRecvError::Disconnected) => {
                    self.shutdown = true;
                    break;
                }
            }
        }
    }

    /// Hands a held extension to the parse stage; true when none is held.
    fn deliver_extension(&mut self) -> bool {
        let Some(ext) = self.held_extension.take() else {
            return true;
        };
        match self.out.emit(IoEvent::Extend(ext)) {
            Ok(()) => {
                self.stats.extensions.inc();
                self.out.flush();
                true
            }
            Err(IoEvent::Extend(ext)) => {
                self.stats.extension_stalls.inc();
                self.held_extension = Some(ext);
                false
            }
            Err(_) => true,
        }
    }

    fn command(&mut self, cmd: FeedCommand) {
        match cmd {
            FeedCommand::Extend(ext) => self.held_extension = Some(ext),
            FeedCommand::Subscribe(list) => self.subscribe(list),
            FeedCommand::Unsubscribe(list) => self.unsubscribe(&list),
            FeedCommand::Resubscribe(list) => {
                let mut by_conn: FxHashMap<u16, Vec<AssetIndex>> = FxHashMap::default();
                for a in list {
                    if let Some(&c) = self.asset_conn.get(&a) {
                        by_conn.entry(c).or_default().push(a);
                    }
                }
                for (c, assets) in by_conn {
                    let toks = self.token_strs(&assets);
                    let (unsub, sub) = (
                        subscription::unsubscribe(&toks),
                        subscription::subscribe(&toks),
                    );
                    let conn = &mut self.conns[c as usize];
                    if conn.is_open() {
                        let _ = conn.send_text(unsub);
                        let _ = conn.send_text(sub);
                    }
                }
            }
            FeedCommand::Reconnect(asset) => {
                if let Some(&c) = self.asset_conn.get(&asset) {
                    self.teardown(c as usize, Teardown::Requested);
                }
            }
            FeedCommand::Shutdown => self.shutdown = true,
        }
    }

    fn token_strs(&self, assets: &[AssetIndex]) -> Vec<&str> {
        assets
            .iter()
            .filter_map(|a| self.tokens.get(a).map(|t| &**t))
            .collect()
    }

    fn subscribe(&mut self, list: Vec<(AssetIndex, Box<str>)>) {
        let max = self.cfg.max_assets_per_connection.max(1);
        let mut added: FxHashMap<u16, Vec<AssetIndex>> = FxHashMap::default();
        for (asset, token) in list {
            if self.asset_conn.contains_key(&asset) {
                continue;
            }
            // Least-loaded connection with room, else a new one.
            let target = self
                .conns
                .iter()
                .filter(|c| c.assets.len() < max)
                .min_by_key(|c| c.assets.len())
                .map(|c| c.id);
            let id = match target {
                Some(id) => id,
                None => self.add_connection(),
            };
            self.conns[id as usize].assets.push(asset);
            self.asset_conn.insert(asset, id);
            self.tokens.insert(asset, token);
            added.entry(id).or_default().push(asset);
        }
        for (id, assets) in added {
            // A connection still coming up subscribes everything when it opens.
            if self.conns[id as usize].is_open() {
                let msg = subscription::subscribe(&self.token_strs(&assets));
                if let Err(e) = self.conns[id as usize].send_text(msg) {
                    self.teardown(id as usize, Teardown::Failed(e));
                }
            }
        }
        self.stats
            .subscribed_assets
            .set(self.asset_conn.len() as u64);
    }

    fn unsubscribe(&mut self, list: &[AssetIndex]) {
        let mut removed: FxHashMap<u16, Vec<AssetIndex>> = FxHashMap::default();
        for a in list {
            if let Some(c) = self.asset_conn.remove(a) {
                removed.entry(c).or_default().push(*a);
            }
        }
        for (id, assets) in removed {
            let toks: Vec<Box<str>> = assets
                .iter()
                .filter_map(|a| self.tokens.remove(a))
                .collect();
            let refs: Vec<&str> = toks.iter().map(|t| &**t).collect();
            let conn = &mut self.conns[id as usize];
            conn.assets.retain(|a| !assets.contains(a));
            if conn.is_open() {
                let _ = conn.send_text(subscription::unsubscribe(&refs));
            }
            if conn.assets.is_empty() {
                let was_open = conn.is_open();
                conn.close(self.poll.registry());
                if was_open {
                    self.stats
                        .open_connections
                        .set(self.stats.open_connections.get().saturating_sub(1));
                }
            }
        }
        self.stats
            .subscribed_assets
            .set(self.asset_conn.len() as u64);
    }

    fn add_connection(&mut self) -> u16 {
        let id = self.conns.len() as u16;
        self.conns.push(MarketConnection::new(id));
        self.delivery.push(Delivery::default());
        self.backoffs.push(Backoff::new(
            Duration::from_millis(self.cfg.reconnect_base_ms),
            Duration::from_millis(self.cfg.reconnect_max_ms),
        ));
        id
    }
}

fn take_buf(
    free: &mut Vec<FrameBuf>,
    returns: &mut RingRx<FrameBuf>,
    stats: &FeedStats,
) -> FrameBuf {
    while let Some(b) = returns.pop() {
        free.push(b);
    }
    free.pop().unwrap_or_else(|| {
        stats.buffer_allocs.inc();
        FrameBuf::with_capacity(16 << 10)
    })
}

/// Resolves the WebSocket URL once (DNS is a blocking call: never on the hot path).
fn resolve(url: &str) -> Result<Endpoint, FeedError> {
    let bad = |reason: &str| FeedError::Url {
        url: url.to_string(),
        reason: reason.to_string(),
    };
    let (tls, rest) = if let Some(r) = url.strip_prefix("wss://") {
        (true, r)
    } else if let Some(r) = url.strip_prefix("ws://") {
        (false, r)
    } else {
        return Err(bad("expected ws:// or wss://"));
    };
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.is_empty() {
        return Err(bad("no host"));
    }
    let host_port = if authority
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        authority.to_string()
    } else {
        format!("{authority}:{}", if tls { 443 } else { 80 })
    };
    let addr = host_port
        .to_socket_addrs()
        .map_err(|source| FeedError::Resolve {
            host: host_port.clone(),
            source,
        })?
        .next()
        .ok_or_else(|| bad("host resolved to no address"))?;
    let tls = if tls {
        // Exactly one crypto provider (ring), chosen here rather than process-wide.
        let roots =
            rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| bad(&format!("tls: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Some(Arc::new(config))
    } else {
        None
    };
    Ok(Endpoint {
        url: url.to_string(),
        addr,
        tls,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert!(resolve("http://x").is_err());
        assert!(resolve("ws://").is_err());
        let e = resolve("ws://127.0.0.1:9/ws/market").unwrap();
        assert_eq!(e.addr.port(), 9);
        assert!(e.tls.is_none());
        let e = resolve("wss://127.0.0.1/ws/market").unwrap();
        assert_eq!(e.addr.port(), 443);
        assert!(e.tls.is_some());
    }
}
