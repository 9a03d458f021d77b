//! Builds and runs the hot path from a topology: io → parse → book → strategy → dispatch, with
//! the resync worker and the intent journal on the cold side.
//!
//! The chain is built from its tail. Where two adjacent stages share a thread the upstream
//! stage calls the downstream one directly; at a thread boundary a ring is created whose
//! consumer is woken through the downstream thread's doorbell. Every thread is spawned from
//! this (unpinned) thread and pins itself, so pins are never inherited.
//!
//! Shutdown cascades: the io thread stops reading and exits, dropping its ring; each thread
//! exits once its input ring is abandoned and drained, so everything accepted is processed.

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam::channel::{Receiver, Sender};
use thiserror::Error;

use super::frame::FrameBuf;
use super::ring::{RingRx, RingSnapshot, RingStats, ring};
use super::stage::{Out, Stage};
use super::topology::{PipelineConfig, StageKind, StagePlacement, Topology};
use super::wait::{Doorbell, Waiter};
use crate::adapters::polymarket::market_channel::stage::{ParseStage, ParseStats};
use crate::adapters::polymarket::ws::{
    FeedCommand, FeedConfig, FeedControl, FeedError, FeedStats, MarketFeed,
};
use crate::book::resync::{ResyncConfig, ResyncStats, ResyncWorker};
use crate::book::stage::{BookCtl, BookLinks, BookStage, BookStageConfig, BookStats, MarketView};
use crate::config::source::{ConfigKind, ConfigSource};
use crate::core::AssetRegistry;
use crate::exec::OrderIntent;
use crate::exec::dispatch::{DispatchStage, DispatchStats};
use crate::obs::LatencyHistogram;
use crate::obs::clock::now_ns;
use crate::obs::replay::BookDump;
use crate::strategy::control::{COMMAND_CAPACITY, StrategyControl};
use crate::strategy::dutch::DutchBook;
use crate::strategy::stage::{StrategyStage, StrategyStats};
use crate::strategy::{OutcomeGroup, StrategyConfig};

/// The engine's TOML file: market data, pipeline and strategy sections, and the section of the
/// in-process venue that `demo` and `flood` start (`feed` connects to `[feed] ws_url` instead).
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineSettings {
    pub feed: FeedConfig,
    pub book: BookStageConfig,
    pub resync: ResyncConfig,
    pub pipeline: PipelineConfig,
    pub strategy: StrategyConfig,
    /// How often the read-only view is published (ms; 0 = never).
    pub view_interval_ms: u64,
    /// `[venue]`: the in-process venue double's section, read and checked by `polyarb-venue`
    /// (`demo`, `flood`); the engine carries it without reading it.
    pub venue: Option<toml::Table>,
    /// `[storage]`: present = every book event is stored (cold thread); absent = off.
    pub storage: Option<crate::storage::StorageConfig>,
    /// `[catalog]`: present = the markets come from Gamma through the catalog, refreshed on a
    /// cold thread (`pipeline::catalog_link`); absent = the in-process venue's market list.
    pub catalog: Option<crate::catalog::CatalogConfig>,
    /// `[trading]`: absent or `mode = "dry_run"` = intents only; `"live"` = orders are sent
    /// (`polyarb feed`).
    pub trading: Option<crate::exec::settings::TradingConfig>,
}

impl EngineSettings {
    /// Loads and validates an engine config file; errors name the file and the key. Relative
    /// paths inside it resolve against its directory.
    pub fn load(path: &std::path::Path) -> Result<Self, crate::config::ConfigError> {
        Self::from_source(&ConfigSource::File(path.to_path_buf()))
    }

    /// Loads and validates a built-in config or a file (see `config::source`).
    pub fn from_source(src: &ConfigSource) -> Result<Self, crate::config::ConfigError> {
        let s: Self = src.load(ConfigKind::Engine)?;
        s.validate(&src.label())?;
        Ok(s)
    }

    pub fn validate(&self, file: &std::path::Path) -> Result<(), crate::config::ConfigError> {
        let invalid =
            |key: &str, expected: &str, found: String| crate::config::ConfigError::Invalid {
                file: file.to_path_buf(),
                key: key.to_string(),
                expected: expected.to_string(),
                found,
            };
        if let Err(e) = Topology::parse(&self.pipeline.threads) {
            return Err(invalid(
                "pipeline.threads",
                "io, parse, book, strategy, dispatch once each, in order, as '+'-joined runs",
                format!("{:?} ({e})", self.pipeline.threads),
            ));
        }
        let url = &self.feed.ws_url;
        if !(url.starts_with("ws://") || url.starts_with("wss://")) {
            return Err(invalid(
                "feed.ws_url",
                "a ws:// or wss:// URL",
                format!("{url:?}"),
            ));
        }
        let rest = &self.resync.clob_url;
        if !(rest.starts_with("http://") || rest.starts_with("https://")) {
            return Err(invalid(
                "resync.clob_url",
                "an http:// or https:// URL",
                format!("{rest:?}"),
            ));
        }
        if self.feed.max_assets_per_connection == 0 || self.feed.max_assets_per_connection > 500 {
            return Err(invalid(
                "feed.max_assets_per_connection",
                "1 to 500 (the venue sends no snapshots past 500)",
                self.feed.max_assets_per_connection.to_string(),
            ));
        }
        for (key, v) in [
            ("pipeline.rings.frames", self.pipeline.rings.frames),
            ("pipeline.rings.msgs", self.pipeline.rings.msgs),
            ("pipeline.rings.tops", self.pipeline.rings.tops),
            (
                "pipeline.rings.opportunities",
                self.pipeline.rings.opportunities,
            ),
            ("pipeline.rings.snapshots", self.pipeline.rings.snapshots),
        ] {
            if v < 16 {
                return Err(invalid(key, "at least 16 slots", v.to_string()));
            }
        }
        if self.strategy.min_profit >= crate::core::Price::ONE {
            return Err(invalid(
                "strategy.min_profit",
                "a decimal below 1",
                self.strategy.min_profit.to_string(),
            ));
        }
        if let Some(c) = &self.catalog {
            c.validate(file)?;
        }
        if let Some(t) = &self.trading {
            t.validate(file)?;
        }
        Ok(())
    }
}

#[derive(Debug, Error)]
pub enum PipelineError {
    #[error("pipeline.threads: {0}")]
    Topology(String),
    #[error(transparent)]
    Feed(#[from] FeedError),
    #[error("cannot spawn a thread: {0}")]
    Spawn(#[from] std::io::Error),
    #[error("storage: {0}")]
    Storage(#[from] crate::storage::StorageError),
}

/// Counters of every stage, readable while running.
#[derive(Clone)]
pub struct PipelineStats {
    pub feed: Arc<FeedStats>,
    pub parse: Arc<ParseStats>,
    pub book: Arc<BookStats>,
    pub strategy: Arc<StrategyStats>,
    pub dispatch: Arc<DispatchStats>,
    pub resync: Arc<ResyncStats>,
    pub rings: Vec<Arc<RingStats>>,
}

impl PipelineStats {
    pub fn rings(&self) -> Vec<RingSnapshot> {
        self.rings.iter().map(|r| r.snapshot()).collect()
    }
}

/// What a stopped pipeline reports.
pub struct PipelineReport {
    pub histograms: Vec<LatencyHistogram>,
    pub warnings: Vec<String>,
    /// The storage writer's final metrics, if storage was on.
    pub storage: Option<Result<crate::storage::MetricsSnapshot, crate::storage::StorageError>>,
}

/// A running pipeline.
pub struct Pipeline {
    pub control: FeedControl,
    /// Halts and resumes of outcome groups, to the strategy stage (catalog rule changes).
    pub strategy_control: StrategyControl,
    pub stats: PipelineStats,
    pub topology: Topology,
    /// Every asset the hot stages know (grown by `catalog_link` while running).
    pub registry: AssetRegistry,
    /// Assets the hot stages' tables were sized for (`pipeline.max_assets`).
    pub(super) capacity: usize,
    /// The groups the strategy stage knows, by id (started with, or defined since).
    pub(super) strategy_groups: rustc_hash::FxHashMap<u32, OutcomeGroup>,
    /// Registry extensions to the resync worker.
    pub(super) resync_extensions: Sender<crate::core::RegistryExtension>,
    /// The storage writer's channel, for registering assets added while running.
    pub(super) storage_tx: Option<crate::storage::StorageSender>,
    pub(super) book_ctl: Sender<BookCtl>,
    views: Receiver<MarketView>,
    view_returns: Sender<MarketView>,
    intents: Receiver<OrderIntent>,
    warnings: Arc<Mutex<Vec<String>>>,
    /// The storage writer (cold thread), if storage is on.
    pub storage: Option<crate::storage::WriterHandle>,
    /// The live sender's instrument channel, if it trades: markets the catalog lists while
    /// running are sent there before they are subscribed (`catalog_link`).
    pub instruments_tx: Option<Sender<crate::exec::live::InstrumentUpdate>>,
    io: Option<JoinHandle<Vec<LatencyHistogram>>>,
    stages: Vec<JoinHandle<Vec<LatencyHistogram>>>,
    resync: Option<JoinHandle<()>>,
}

/// What the dispatch stage does with opportunities.
pub enum DispatchMode {
    /// Journal intents to `Pipeline::drain_intents`; send nothing.
    DryRun,
    /// Send them: the live stage (its sender thread runs beside the pipeline).
    Live(Box<crate::exec::live::LiveDispatchStage>),
}

/// A stage thread to spawn: its head stage and input ring.
struct Pending<T> {
    kind: StageKind,
    head: Box<dyn Stage<In = T>>,
    input: RingRx<T>,
}

impl Pipeline {
    /// Starts every thread and subscribes every asset of `registry` (dispatch: dry run).
    pub fn start(
        cfg: &EngineSettings,
        registry: AssetRegistry,
        groups: Vec<OutcomeGroup>,
        seed: u64,
    ) -> Result<Self, PipelineError> {
        Self::start_full(cfg, registry, groups, &[], seed, DispatchMode::DryRun)
    }

    /// `start`, with the groups `held` halted from the first top on (the catalog's pending
    /// rule changes: `Selection::startup_groups`), to be resumed by `StrategyCommand::Resume`.
    pub fn start_held(
        cfg: &EngineSettings,
        registry: AssetRegistry,
        groups: Vec<OutcomeGroup>,
        held: &[u32],
        seed: u64,
    ) -> Result<Self, PipelineError> {
        Self::start_full(cfg, registry, groups, held, seed, DispatchMode::DryRun)
    }

    /// [`Self::start`] with a chosen dispatch (dry run or live).
    pub fn start_with(
        cfg: &EngineSettings,
        registry: AssetRegistry,
        groups: Vec<OutcomeGroup>,
        seed: u64,
        dispatch: DispatchMode,
    ) -> Result<Self, PipelineError> {
        Self::start_full(cfg, registry, groups, &[], seed, dispatch)
    }

    /// Every start option: groups held from the start, and the dispatch.
    pub fn start_full(
        cfg: &EngineSettings,
        registry: AssetRegistry,
        groups: Vec<OutcomeGroup>,
        held: &[u32],
        seed: u64,
        dispatch: DispatchMode,
    ) -> Result<Self, PipelineError> {
        let topo = Topology::parse(&cfg.pipeline.threads).map_err(PipelineError::Topology)?;
        let rings_cfg = &cfg.pipeline.rings;
        let capacity = registry.len().max(cfg.pipeline.max_assets);
        let strategy_groups = groups.iter().map(|g| (g.id, g.clone())).collect();
        let (storage, storage_link, storage_health) = match &cfg.storage {
            Some(sc) => {
                let (writer, tx) = crate::storage::WriterHandle::spawn(sc)?;
                for (asset, info) in registry.iter() {
                    let reg = crate::storage::event::AssetRegistration {
                        asset,
                        token: info.token,
                        condition_id: info.market.as_deref().unwrap_or_default().to_string(),
                        outcome: None,
                        outcome_index: None,
                    };
                    tx.send_blocking(crate::storage::StorageEvent::RegisterAsset(Box::new(reg)))?;
                }
                let health = writer.health().clone();
                let link = crate::book::stage::StorageLink {
                    tx,
                    clock: crate::storage::time::WallClock::anchor(now_ns()),
                };
                (Some(writer), Some(link), Some(health))
            }
            None => (None, None, None),
        };
        let storage_tx = storage_link.as_ref().map(|l| l.tx.clone());
        let bells: Vec<Arc<Doorbell>> = topo.threads.iter().map(|_| Doorbell::new()).collect();
        let bell_of = |k: StageKind| {
            bells[topo
                .threads
                .iter()
                .position(|t| t.contains(&k))
                .unwrap_or(0)]
            .clone()
        };
        let mut ring_stats = Vec::new();
        let warnings = Arc::new(Mutex::new(Vec::new()));

        // Dispatch.
        let (journal_tx, journal_rx) = crossbeam::channel::bounded(1 << 16);
        let (dispatch, dispatch_stats): (Box<dyn Stage<In = _>>, _) = match dispatch {
            DispatchMode::DryRun => {
                let d = DispatchStage::new(crate::obs::clock::unix_ms() << 16, Some(journal_tx));
                let s = d.stats.clone();
                (Box::new(d), s)
            }
            DispatchMode::Live(d) => {
                let s = d.stats.clone();
                (d, s)
            }
        };
        // Strategy.
        let (opp_out, dispatch_thread) = link(
            &topo,
            StageKind::Strategy,
            dispatch,
            rings_cfg.opportunities,
            bell_of(StageKind::Dispatch),
            "strategy→dispatch",
            &mut ring_stats,
        );
        // Room for a definition per asset on top of halts and resumes: a refresh that lists
        // many markets at once still fits in one batch.
        let (strategy_control, commands_rx) =
            StrategyControl::channel(COMMAND_CAPACITY + capacity, bell_of(StageKind::Strategy));
        let mut dutch = DutchBook::new(cfg.strategy.clone(), groups);
        dutch.reserve(capacity);
        let mut strategy =
            StrategyStage::new(dutch, opp_out, storage_health).with_commands(commands_rx);
        for &g in held {
            strategy.apply(crate::strategy::StrategyCommand::Halt(g));
        }
        let strategy_stats = strategy.stats.clone();
        // Book.
        let (tops_out, strategy_thread) = link(
            &topo,
            StageKind::Book,
            Box::new(strategy),
            rings_cfg.tops,
            bell_of(StageKind::Strategy),
            "book→strategy",
            &mut ring_stats,
        );
        let (snap_tx, snap_rx) = ring("resync→book", rings_cfg.snapshots, bell_of(StageKind::Book));
        ring_stats.push(snap_tx.stats().clone());
        let (req_tx, req_rx) = crossbeam::channel::bounded(capacity.max(1024));
        let (ctl_tx, ctl_rx) = crossbeam::channel::unbounded();
        let (view_tx, view_rx) = crossbeam::channel::bounded(1);
        let (view_ret_tx, view_ret_rx) = crossbeam::channel::bounded(2);
        let book = BookStage::new(
            cfg.book.clone(),
            tops_out,
            BookLinks {
                resync_tx: req_tx,
                snapshots: Some(snap_rx),
                ctl: Some(ctl_rx),
                views: Some((view_tx, view_ret_rx)),
                view_interval_ms: cfg.view_interval_ms,
                registry: registry.clone(),
                max_assets: capacity,
                storage: storage_link,
            },
        );
        let book_stats = book.stats.clone();
        // Parse.
        let (msgs_out, book_thread) = link(
            &topo,
            StageKind::Parse,
            Box::new(book),
            rings_cfg.msgs,
            bell_of(StageKind::Book),
            "parse→book",
            &mut ring_stats,
        );
        let buffers = cfg.feed.frame_buffers + rings_cfg.frames + 64;
        let (ret_tx, ret_rx) = ring::<FrameBuf>("parse→io buffers", buffers, Doorbell::new());
        let parse = ParseStage::new(
            registry.clone(),
            msgs_out,
            Some(ret_tx),
            Duration::from_millis(cfg.pipeline.stall_budget_ms),
            capacity,
        );
        let parse_stats = parse.stats.clone();
        // Io.
        let (frames_out, parse_thread) = link(
            &topo,
            StageKind::Io,
            Box::new(parse),
            rings_cfg.frames,
            bell_of(StageKind::Parse),
            "io→parse",
            &mut ring_stats,
        );
        let mut feed_cfg = cfg.feed.clone();
        feed_cfg.stall_budget_ms = cfg.pipeline.stall_budget_ms;
        feed_cfg.wait = cfg.pipeline.stages.io.wait;
        let (feed, control, feed_stats) =
            MarketFeed::new(feed_cfg, frames_out, ret_rx, bell_of(StageKind::Io), seed)?;
        let (resync_extensions, resync_ext_rx) = crossbeam::channel::unbounded();
        let resync = ResyncWorker::new(
            cfg.resync.clone(),
            req_rx,
            snap_tx,
            registry.clone(),
            Some(control.clone()),
        )
        .with_extensions(resync_ext_rx);
        let resync_stats = resync.stats.clone();

        let mut stages = Vec::new();
        let placements = &cfg.pipeline.stages;
        for pending in [
            dispatch_thread.map(Spawnable::from),
            strategy_thread.map(Spawnable::from),
        ]
        .into_iter()
        .flatten()
        {
            let kind = pending.kind();
            stages.push(pending.spawn(placements.get(kind), bell_of(kind), warnings.clone())?);
        }
        if let Some(p) = book_thread {
            let kind = p.kind;
            stages.push(spawn_stage(
                p,
                placements.get(kind),
                bell_of(kind),
                warnings.clone(),
            )?);
        }
        if let Some(p) = parse_thread {
            let kind = p.kind;
            stages.push(spawn_stage(
                p,
                placements.get(kind),
                bell_of(kind),
                warnings.clone(),
            )?);
        }
        let io_place = placements.get(StageKind::Io);
        let io_warn = warnings.clone();
        let io = std::thread::Builder::new()
            .name("io".into())
            .spawn(move || {
                pin(io_place, "io", &io_warn);
                feed.run()
            })?;
        let resync = std::thread::Builder::new()
            .name("resync".into())
            .spawn(move || resync.run())?;

        let p = Self {
            control,
            strategy_control,
            stats: PipelineStats {
                feed: feed_stats,
                parse: parse_stats,
                book: book_stats,
                strategy: strategy_stats,
                dispatch: dispatch_stats,
                resync: resync_stats,
                rings: ring_stats,
            },
            topology: topo,
            registry: registry.clone(),
            capacity,
            strategy_groups,
            resync_extensions,
            storage_tx,
            book_ctl: ctl_tx,
            views: view_rx,
            view_returns: view_ret_tx,
            intents: journal_rx,
            warnings,
            storage,
            instruments_tx: None,
            io: Some(io),
            stages,
            resync: Some(resync),
        };
        p.control.send(FeedCommand::Subscribe(
            registry
                .iter()
                .map(|(a, i)| (a, i.token_str.clone()))
                .collect(),
        ));
        Ok(p)
    }

    /// The latest read-only view, if one was published since the last call.
    pub fn latest_view(&self) -> Option<MarketView> {
        let mut last = None;
        while let Ok(v) = self.views.try_recv() {
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

    /// Intents dispatched since the last call (dry-run journal).
    pub fn drain_intents(&self, max: usize) -> Vec<OrderIntent> {
        self.intents.try_iter().take(max).collect()
    }

    /// A copy of every book, taken by the book thread between two messages.
    pub fn dump_books(&self, timeout: Duration) -> Option<Vec<BookDump>> {
        let (tx, rx) = crossbeam::channel::bounded(1);
        self.book_ctl.send(BookCtl::DumpBooks(tx)).ok()?;
        rx.recv_timeout(timeout).ok()
    }

    /// Starts a new measurement window: every stage resets its histograms at its next tick.
    pub fn reset_latency(&self) {
        let s = &self.stats;
        for c in [
            &s.parse.epoch,
            &s.book.epoch,
            &s.strategy.epoch,
            &s.dispatch.epoch,
        ] {
            c.set(c.get() + 1);
        }
    }

    /// Warnings raised while starting (e.g. a core that does not exist).
    pub fn warnings(&self) -> Vec<String> {
        self.warnings.lock().map(|w| w.clone()).unwrap_or_default()
    }

    /// Stops input, lets every ring drain, and returns the histograms.
    pub fn shutdown(mut self) -> PipelineReport {
        self.control.send(FeedCommand::Shutdown);
        let mut histograms = Vec::new();
        if let Some(h) = self.io.take() {
            histograms.extend(h.join().unwrap_or_default());
        }
        // Downstream threads finish in order as their inputs drain.
        for h in self.stages.drain(..).rev() {
            histograms.extend(h.join().unwrap_or_default());
        }
        drop(self.book_ctl);
        if let Some(h) = self.resync.take() {
            let _ = h.join();
        }
        // Every hot thread has stopped: the writer drains what they sent, then commits.
        let storage = self.storage.take().map(|w| w.shutdown());
        PipelineReport {
            histograms,
            warnings: self.warnings.lock().map(|w| w.clone()).unwrap_or_default(),
            storage,
        }
    }
}

/// Connects `upstream`'s output to `next`: a direct call when they share a thread, else a
/// ring whose consumer thread is returned for spawning.
fn link<T: Send + 'static>(
    topo: &Topology,
    upstream: StageKind,
    next: Box<dyn Stage<In = T>>,
    capacity: usize,
    bell: Arc<Doorbell>,
    name: &'static str,
    ring_stats: &mut Vec<Arc<RingStats>>,
) -> (Out<T>, Option<Pending<T>>) {
    if topo.fused_with_next(upstream) {
        return (Out::Next(next), None);
    }
    let (tx, rx) = ring(name, capacity, bell);
    ring_stats.push(tx.stats().clone());
    let kind = StageKind::ALL[upstream as usize + 1];
    (
        Out::Ring(tx),
        Some(Pending {
            kind,
            head: next,
            input: rx,
        }),
    )
}

/// A pending stage thread whose input type has been erased, so threads of different stages
/// can be spawned in one loop.
enum Spawnable {
    Dispatch(Pending<crate::strategy::Opportunity>),
    Strategy(Pending<crate::core::TopOfBook>),
}

impl From<Pending<crate::strategy::Opportunity>> for Spawnable {
    fn from(p: Pending<crate::strategy::Opportunity>) -> Self {
        Self::Dispatch(p)
    }
}

impl From<Pending<crate::core::TopOfBook>> for Spawnable {
    fn from(p: Pending<crate::core::TopOfBook>) -> Self {
        Self::Strategy(p)
    }
}

impl Spawnable {
    fn kind(&self) -> StageKind {
        match self {
            Self::Dispatch(p) => p.kind,
            Self::Strategy(p) => p.kind,
        }
    }

    fn spawn(
        self,
        place: StagePlacement,
        bell: Arc<Doorbell>,
        warnings: Arc<Mutex<Vec<String>>>,
    ) -> std::io::Result<JoinHandle<Vec<LatencyHistogram>>> {
        match self {
            Self::Dispatch(p) => spawn_stage(p, place, bell, warnings),
            Self::Strategy(p) => spawn_stage(p, place, bell, warnings),
        }
    }
}

fn spawn_stage<T: Send + 'static>(
    p: Pending<T>,
    place: StagePlacement,
    bell: Arc<Doorbell>,
    warnings: Arc<Mutex<Vec<String>>>,
) -> std::io::Result<JoinHandle<Vec<LatencyHistogram>>> {
    let name = p.kind.name();
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            pin(place, name, &warnings);
            run_stage_thread(
                p.head,
                p.input,
                Waiter::new(place.wait, bell, Duration::from_millis(10)),
            )
        })
}

/// The loop of every stage thread but io.
fn run_stage_thread<T>(
    mut head: Box<dyn Stage<In = T>>,
    mut input: RingRx<T>,
    mut waiter: Waiter,
) -> Vec<LatencyHistogram> {
    waiter.bell().bind_current();
    loop {
        let mut n = 0;
        while n < 1024 {
            let Some(v) = input.pop() else { break };
            head.process(v);
            n += 1;
        }
        if n > 0 {
            head.flush();
        }
        let ticked = head.tick(now_ns());
        if n > 0 || ticked {
            waiter.worked();
            continue;
        }
        if input.is_abandoned() && input.is_empty() {
            head.flush();
            head.finish();
            break;
        }
        let (inp, h) = (&input, &head);
        waiter.idle(|| !inp.is_empty() || h.has_pending() || inp.is_abandoned());
    }
    let mut out = Vec::new();
    head.histograms(&mut out);
    out
}

/// Pins the calling thread if asked; a core that does not exist is a warning, not an error.
fn pin(place: StagePlacement, thread: &str, warnings: &Mutex<Vec<String>>) {
    let Some(core) = place.core else { return };
    let ids = core_affinity::get_core_ids().unwrap_or_default();
    let msg = match ids.into_iter().find(|c| c.id == core) {
        Some(id) if core_affinity::set_for_current(id) => return,
        Some(_) => format!("thread {thread}: pinning to core {core} failed; running unpinned"),
        None => {
            format!("thread {thread}: core {core} does not exist on this machine; running unpinned")
        }
    };
    tracing::warn!("{msg}");
    if let Ok(mut w) = warnings.lock() {
        w.push(msg);
    }
}
