//! The engine builder: composes the hot path (io → parse → book → strategy → dispatch), the
//! resync worker and the storage writer from an `EngineSettings`, then starts their threads.
//!
//! The chain is built from its tail, each stage handed the output of the one after it: a
//! direct call where two adjacent stages share a thread, a ring at a thread boundary
//! (`pipeline::threads`). Every thread is spawned from this (unpinned) thread and pins itself,
//! so pins are never inherited. Once every thread runs, the feed subscribes every asset.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossbeam::channel::{Receiver, Sender};

use super::ops::{CountingDispatch, OpsEndpoint, OpsView};
use super::running::{Pipeline, PipelineError, PipelineStats};
use super::settings::EngineSettings;
use crate::adapters::polymarket::market_channel::frame::FrameBuf;
use crate::adapters::polymarket::market_channel::stage::ParseStage;
use crate::adapters::polymarket::market_channel::{FeedCommand, MarketFeed};
use crate::book_stage::resync::ResyncWorker;
use crate::book_stage::{BookCtl, BookLinks, BookStage, MarketView, StorageLink};
use crate::core::{AssetRegistry, MarketMsg, TopOfBook};
use crate::exec::OrderIntent;
use crate::exec::dispatch::{DispatchStage, DispatchStats};
use crate::exec::live::LiveDispatchStage;
use crate::obs::clock::now_ns;
use crate::obs::http::ObsServer;
use crate::obs::replica::{AssetTable, OpsReplica};
use crate::pipeline::ring::{RingTx, ring};
use crate::pipeline::stage::{Out, Stage};
use crate::pipeline::threads::StageWiring;
use crate::pipeline::topology::{StageKind, Topology};
use crate::pipeline::wait::Doorbell;
use crate::recording::Recorder;
use crate::recording::writer::{TapDispatch, session_info};
use crate::storage::event::AssetRegistration;
use crate::storage::time::WallClock;
use crate::storage::{StorageEvent, StorageHealth, WriterHandle};
use crate::strategy::control::{COMMAND_CAPACITY, StrategyControl};
use crate::strategy::dutch::DutchBook;
use crate::strategy::stage::StrategyStage;
use crate::strategy::{Opportunity, OutcomeGroup, StrategyCommand};

/// What the dispatch stage does with opportunities.
pub enum DispatchMode {
    /// Journal intents to `Pipeline::drain_intents`; send nothing.
    DryRun,
    /// Send them: the live stage (its sender thread runs beside the pipeline).
    Live(Box<LiveDispatchStage>),
}

/// An engine to start: its settings, the markets it watches, and the start options.
pub struct EngineBuilder<'a> {
    cfg: &'a EngineSettings,
    registry: AssetRegistry,
    groups: Vec<OutcomeGroup>,
    held: Vec<u32>,
    seed: u64,
    dispatch: DispatchMode,
    /// The spread desk's tap on the strategy stage (`[strategy.spread]`).
    spread: Option<crate::strategy::spread::tap::SpreadTap>,
}

impl<'a> EngineBuilder<'a> {
    /// The engine for `registry`'s assets and the outcome `groups` over them: dry-run dispatch,
    /// no group held, seed 0.
    pub fn new(
        cfg: &'a EngineSettings,
        registry: AssetRegistry,
        groups: Vec<OutcomeGroup>,
    ) -> Self {
        Self {
            cfg,
            registry,
            groups,
            held: Vec::new(),
            seed: 0,
            dispatch: DispatchMode::DryRun,
            spread: None,
        }
    }

    /// Groups halted from the first top on (the catalog's pending rule changes:
    /// `Selection::startup_groups`), to be resumed by `StrategyCommand::Resume`.
    pub fn held(mut self, groups: &[u32]) -> Self {
        self.held = groups.to_vec();
        self
    }

    /// The seed of the feed's randomness (reconnect jitter).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// What the dispatch stage does with opportunities (dry run unless told).
    pub fn dispatch(mut self, mode: DispatchMode) -> Self {
        self.dispatch = mode;
        self
    }

    /// Forwards the tops of quoted assets to the spread desk (`quoting::desk`).
    pub fn spread(mut self, tap: crate::strategy::spread::tap::SpreadTap) -> Self {
        self.spread = Some(tap);
        self
    }

    /// Starts every thread and subscribes every asset of the registry.
    pub fn start(self) -> Result<Pipeline, PipelineError> {
        let cfg = self.cfg;
        let registry = self.registry;
        let topo = Topology::parse(&cfg.pipeline.threads).map_err(PipelineError::Topology)?;
        let rings = &cfg.pipeline.rings;
        let capacity = registry.len().max(cfg.pipeline.max_assets);
        let strategy_groups = self.groups.iter().map(|g| (g.id, g.clone())).collect();
        let storage = StorageParts::start(cfg, &registry)?;
        let storage_tx = storage.link.as_ref().map(|l| l.tx.clone());
        let storage_metrics = storage
            .writer
            .as_ref()
            .map(|w| (w.metrics().clone(), w.health().clone()));
        let mut wiring = StageWiring::new(topo);
        let warnings = Arc::new(Mutex::new(Vec::new()));
        // JSON log files first, so that every thread's events reach them.
        if let Err(e) = crate::obs::logs::attach(&cfg.obs) {
            warnings
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(format!("obs.log_dir: cannot write JSON logs: {e}"));
        }
        let replica = Arc::new(OpsReplica::new(capacity, &registry));
        // A live dispatch's breakers are published from the start (a dry run has none).
        if let DispatchMode::Live(d) = &self.dispatch {
            d.gate().publish_to(&replica.breakers);
        }
        let recorder = match &cfg.recording {
            Some(rc) => Some(
                Recorder::start(rc, session_info(&registry, &self.groups, &self.held)).map_err(
                    |source| PipelineError::Recording {
                        dir: rc.dir.clone(),
                        source,
                    },
                )?,
            ),
            None => None,
        };

        let dispatch_mode = match self.dispatch {
            DispatchMode::DryRun => "dry_run",
            DispatchMode::Live(_) => "live",
        };
        let dispatch = DispatchParts::new(self.dispatch);
        let dispatch_stats = dispatch.stats.clone();
        let dispatch_stage = match &recorder {
            Some(r) => Box::new(TapDispatch {
                inner: dispatch.stage,
                tap: r.tap(),
            }),
            None => dispatch.stage,
        };
        let (opp_out, dispatch_thread) = wiring.link(
            StageKind::Strategy,
            Box::new(CountingDispatch {
                inner: dispatch_stage,
                table: replica.assets.clone(),
            }),
            rings.opportunities,
            "strategy→dispatch",
        );
        let (strategy, strategy_control) = strategy_stage(
            cfg,
            self.groups,
            &self.held,
            capacity,
            opp_out,
            storage.health,
            wiring.bell(StageKind::Strategy),
        );
        let strategy = match self.spread {
            Some(tap) => strategy.with_spread(tap),
            None => strategy,
        };
        let strategy_stats = strategy.stats.clone();
        let (tops_out, strategy_thread) = wiring.link(
            StageKind::Book,
            Box::new(strategy),
            rings.tops,
            "book→strategy",
        );
        let mut book = BookParts::new(
            cfg,
            &mut wiring,
            tops_out,
            &registry,
            capacity,
            storage.link,
            replica.assets.clone(),
        );
        if let Some(r) = &recorder {
            book.stage.set_final_books(r.books_sender());
        }
        let book_stats = book.stage.stats.clone();
        let (msgs_out, book_thread) = wiring.link(
            StageKind::Parse,
            Box::new(book.stage),
            rings.msgs,
            "parse→book",
        );
        let buffers = cfg.feed.frame_buffers + rings.frames + 64;
        let (ret_tx, ret_rx) = ring::<FrameBuf>("parse→io buffers", buffers, Doorbell::new());
        let parse = ParseStage::new(
            registry.clone(),
            msgs_out,
            Some(ret_tx),
            Duration::from_millis(cfg.pipeline.stall_budget_ms),
            capacity,
        );
        let parse_stats = parse.stats.clone();
        let (frames_out, parse_thread) =
            wiring.link(StageKind::Io, Box::new(parse), rings.frames, "io→parse");
        let mut feed_cfg = cfg.feed.clone();
        feed_cfg.stall_budget_ms = cfg.pipeline.stall_budget_ms;
        feed_cfg.wait = cfg.pipeline.stages.io.wait;
        let (feed, control, feed_stats) = MarketFeed::new(
            feed_cfg,
            frames_out,
            ret_rx,
            wiring.bell(StageKind::Io),
            self.seed,
        )?;
        let feed = match &recorder {
            Some(r) => {
                let tap = r.tap();
                feed.with_tap(Box::new(move |frame, recv_ns, conn| {
                    tap.frame(frame, recv_ns, conn)
                }))
            }
            None => feed,
        };
        let (resync_extensions, resync_ext_rx) = crossbeam::channel::unbounded();
        let resync = ResyncWorker::new(
            cfg.resync.clone(),
            book.requests,
            book.snapshots,
            registry.clone(),
            Some(control.clone()),
        )
        .with_extensions(resync_ext_rx);
        let resync_stats = resync.stats.clone();

        // Downstream threads first, so every ring has its consumer before anything arrives.
        let placements = &cfg.pipeline.stages;
        let mut stages = Vec::new();
        if let Some(p) = dispatch_thread {
            let place = placements.get(StageKind::Dispatch);
            stages.push(wiring.spawn(p, place, warnings.clone())?);
        }
        if let Some(p) = strategy_thread {
            let place = placements.get(StageKind::Strategy);
            stages.push(wiring.spawn(p, place, warnings.clone())?);
        }
        if let Some(p) = book_thread {
            let place = placements.get(StageKind::Book);
            stages.push(wiring.spawn(p, place, warnings.clone())?);
        }
        if let Some(p) = parse_thread {
            let place = placements.get(StageKind::Parse);
            stages.push(wiring.spawn(p, place, warnings.clone())?);
        }
        let io_place = placements.get(StageKind::Io);
        let io_warn = warnings.clone();
        let io = std::thread::Builder::new()
            .name("io".into())
            .spawn(move || {
                crate::pipeline::threads::pin(io_place, "io", &io_warn);
                feed.run()
            })?;
        let resync = std::thread::Builder::new()
            .name("resync".into())
            .spawn(move || resync.run())?;

        let (topology, ring_stats) = wiring.finish();
        let stats = PipelineStats {
            feed: feed_stats,
            parse: parse_stats,
            book: book_stats,
            strategy: strategy_stats,
            dispatch: dispatch_stats,
            resync: resync_stats,
            rings: ring_stats,
        };
        let obs = start_endpoint(
            cfg,
            OpsView {
                stats: stats.clone(),
                replica: replica.clone(),
                storage: storage_metrics,
                topology: topology.describe(),
                dispatch: dispatch_mode,
                ws_url: cfg.feed.ws_url.clone(),
                recording: recorder.as_ref().map(|r| r.stats().clone()),
            },
            &warnings,
        );
        let p = Pipeline {
            control,
            strategy_control,
            stats,
            replica,
            obs,
            topology,
            registry: registry.clone(),
            capacity,
            strategy_groups,
            resync_extensions,
            storage_tx,
            book_ctl: book.ctl,
            views: book.views,
            view_returns: book.view_returns,
            intents: dispatch.intents,
            warnings,
            storage: storage.writer,
            instruments_tx: None,
            io: Some(io),
            recording: recorder,
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
}

/// The status and metrics endpoint of `[obs]`, unless it is off; one that cannot start is a
/// warning, not a failure: the engine trades without it.
fn start_endpoint(
    cfg: &EngineSettings,
    view: OpsView,
    warnings: &Mutex<Vec<String>>,
) -> Option<ObsServer> {
    if !cfg.obs.serve {
        return None;
    }
    let started = cfg
        .obs
        .listen_addr()
        .map_err(|e| format!("obs.listen: {e}"))
        .and_then(|addr| {
            ObsServer::start(addr, Arc::new(OpsEndpoint::new(Arc::new(view))))
                .map_err(|e| format!("obs: {e}; running without /metrics and /status"))
        });
    match started {
        Ok(s) => Some(s),
        Err(msg) => {
            tracing::warn!("{msg}");
            warnings.lock().unwrap_or_else(|e| e.into_inner()).push(msg);
            None
        }
    }
}

/// The storage writer, when `[storage]` is present, with every starting asset registered.
struct StorageParts {
    writer: Option<WriterHandle>,
    /// The book stage's line to the writer.
    link: Option<StorageLink>,
    /// What the strategy checks before acting (halts while trading rows cannot be stored).
    health: Option<Arc<StorageHealth>>,
}

impl StorageParts {
    fn start(cfg: &EngineSettings, registry: &AssetRegistry) -> Result<Self, PipelineError> {
        let Some(sc) = &cfg.storage else {
            return Ok(Self {
                writer: None,
                link: None,
                health: None,
            });
        };
        let (writer, tx) = WriterHandle::spawn(sc)?;
        for (asset, info) in registry.iter() {
            let reg = AssetRegistration {
                asset,
                token: info.token,
                condition_id: info.market.as_deref().unwrap_or_default().to_string(),
                outcome: None,
                outcome_index: None,
            };
            tx.send_blocking(StorageEvent::RegisterAsset(Box::new(reg)))?;
        }
        let health = writer.health().clone();
        let link = StorageLink {
            tx,
            clock: WallClock::anchor(now_ns()),
        };
        Ok(Self {
            writer: Some(writer),
            link: Some(link),
            health: Some(health),
        })
    }
}

/// The dispatch stage of a mode, its counters, and the dry-run intent journal.
struct DispatchParts {
    stage: Box<dyn Stage<In = Opportunity>>,
    stats: Arc<DispatchStats>,
    /// Dry-run intents (`Pipeline::drain_intents`); nothing arrives in live mode.
    intents: Receiver<OrderIntent>,
}

impl DispatchParts {
    fn new(mode: DispatchMode) -> Self {
        let (journal_tx, intents) = crossbeam::channel::bounded(1 << 16);
        let (stage, stats): (Box<dyn Stage<In = _>>, _) = match mode {
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
        Self {
            stage,
            stats,
            intents,
        }
    }
}

/// The strategy stage over `groups` (those `held` halted), and its command channel.
fn strategy_stage(
    cfg: &EngineSettings,
    groups: Vec<OutcomeGroup>,
    held: &[u32],
    capacity: usize,
    out: Out<Opportunity>,
    storage: Option<Arc<StorageHealth>>,
    bell: Arc<Doorbell>,
) -> (StrategyStage, StrategyControl) {
    // Room for a definition per asset on top of halts and resumes: a refresh that lists
    // many markets at once still fits in one batch.
    let (control, commands) = StrategyControl::channel(COMMAND_CAPACITY + capacity, bell);
    let mut dutch = DutchBook::new(cfg.strategy.clone(), groups);
    dutch.reserve(capacity);
    let mut stage = StrategyStage::new(dutch, out, storage).with_commands(commands);
    for &g in held {
        stage.apply(StrategyCommand::Halt(g));
    }
    (stage, control)
}

/// The book stage and the channels around it: REST snapshot requests out to the resync
/// worker and snapshots back, control requests in, read-only views out.
struct BookParts {
    stage: BookStage,
    /// The resync worker's ends.
    requests: Receiver<crate::book_stage::ResyncRequest>,
    snapshots: RingTx<MarketMsg>,
    ctl: Sender<BookCtl>,
    views: Receiver<MarketView>,
    view_returns: Sender<MarketView>,
}

impl BookParts {
    fn new(
        cfg: &EngineSettings,
        wiring: &mut StageWiring,
        tops: Out<TopOfBook>,
        registry: &AssetRegistry,
        capacity: usize,
        storage: Option<StorageLink>,
        replica: Arc<AssetTable>,
    ) -> Self {
        let (snap_tx, snap_rx) =
            wiring.ring("resync→book", cfg.pipeline.rings.snapshots, StageKind::Book);
        let (req_tx, req_rx) = crossbeam::channel::bounded(capacity.max(1024));
        let (ctl_tx, ctl_rx) = crossbeam::channel::unbounded();
        let (view_tx, view_rx) = crossbeam::channel::bounded(1);
        let (view_ret_tx, view_ret_rx) = crossbeam::channel::bounded(2);
        let stage = BookStage::new(
            cfg.book.clone(),
            tops,
            BookLinks {
                resync_tx: req_tx,
                snapshots: Some(snap_rx),
                ctl: Some(ctl_rx),
                views: Some((view_tx, view_ret_rx)),
                view_interval_ms: cfg.view_interval_ms,
                registry: registry.clone(),
                max_assets: capacity,
                storage,
            },
        )
        .with_replica(replica);
        Self {
            stage,
            requests: req_rx,
            snapshots: snap_tx,
            ctl: ctl_tx,
            views: view_rx,
            view_returns: view_ret_tx,
        }
    }
}
