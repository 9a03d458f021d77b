//! A running engine: the handles, channels and counters of its threads, what callers read
//! while it runs (views, intents, book dumps, stats), and its shutdown.
//!
//! Shutdown cascades: the io thread stops reading and exits, dropping its ring; each thread
//! exits once its input ring is abandoned and drained, so everything accepted is processed.

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam::channel::{Receiver, Sender};
use thiserror::Error;

use super::builder::EngineBuilder;
use super::settings::EngineSettings;
use crate::adapters::polymarket::market_channel::stage::ParseStats;
use crate::adapters::polymarket::market_channel::{FeedCommand, FeedControl, FeedError, FeedStats};
use crate::book::dump::BookDump;
use crate::book_stage::resync::ResyncStats;
use crate::book_stage::{BookCtl, BookStats, MarketView};
use crate::core::AssetRegistry;
use crate::exec::OrderIntent;
use crate::exec::dispatch::DispatchStats;
use crate::obs::LatencyHistogram;
use crate::pipeline::ring::{RingSnapshot, RingStats};
use crate::pipeline::topology::Topology;
use crate::strategy::OutcomeGroup;
use crate::strategy::control::StrategyControl;
use crate::strategy::stage::StrategyStats;

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
    #[error("recording to {}: {source}", dir.display())]
    Recording {
        dir: std::path::PathBuf,
        source: std::io::Error,
    },
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
    /// The recording's summary, if recording was on.
    pub recording: Option<crate::recording::RecordingSummary>,
}

/// A running pipeline.
pub struct Pipeline {
    pub control: FeedControl,
    /// Halts and resumes of outcome groups, to the strategy stage (catalog rule changes).
    pub strategy_control: StrategyControl,
    pub stats: PipelineStats,
    /// What the hot path publishes for the cold side: per-asset cells, and the slots where the
    /// risk module publishes its breakers and the positions' owner its report
    /// (`obs::replica`).
    pub replica: Arc<crate::obs::replica::OpsReplica>,
    /// The `/metrics` and `/status` endpoint, if `[obs]` serves one and it started.
    pub(super) obs: Option<crate::obs::http::ObsServer>,
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
    pub(super) views: Receiver<MarketView>,
    pub(super) view_returns: Sender<MarketView>,
    pub(super) intents: Receiver<OrderIntent>,
    pub(super) warnings: Arc<Mutex<Vec<String>>>,
    /// The storage writer (cold thread), if storage is on.
    pub storage: Option<crate::storage::WriterHandle>,
    /// The live sender's instrument channel, if it trades: markets the catalog lists while
    /// running are sent there before they are subscribed (`catalog_link`).
    pub instruments_tx: Option<Sender<crate::exec::live::InstrumentUpdate>>,
    pub(super) io: Option<JoinHandle<Vec<LatencyHistogram>>>,
    /// The recorder (cold thread), if `[recording]` is on; its counters are readable.
    pub recording: Option<crate::recording::Recorder>,
    pub(super) stages: Vec<JoinHandle<Vec<LatencyHistogram>>>,
    pub(super) resync: Option<JoinHandle<()>>,
}

impl Pipeline {
    /// Starts every thread and subscribes every asset of `registry` (dispatch: dry run, no
    /// group held): [`EngineBuilder`] with its defaults and `seed`.
    pub fn start(
        cfg: &EngineSettings,
        registry: AssetRegistry,
        groups: Vec<OutcomeGroup>,
        seed: u64,
    ) -> Result<Self, PipelineError> {
        EngineBuilder::new(cfg, registry, groups).seed(seed).start()
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

    /// The address `/metrics` and `/status` are served on, if they are.
    pub fn obs_addr(&self) -> Option<std::net::SocketAddr> {
        self.obs.as_ref().map(|s| s.addr())
    }

    /// Warnings raised while starting (e.g. a core that does not exist).
    pub fn warnings(&self) -> Vec<String> {
        self.warnings.lock().map(|w| w.clone()).unwrap_or_default()
    }

    /// Stops input, lets every ring drain, and returns the histograms.
    pub fn shutdown(mut self) -> PipelineReport {
        if let Some(s) = self.obs.take() {
            s.stop();
        }
        self.control.send(FeedCommand::Shutdown);
        let mut histograms = Vec::new();
        if let Some(h) = self.io.take() {
            histograms.extend(h.join().unwrap_or_default());
        }
        // Downstream threads finish in order as their inputs drain.
        for h in self.stages.drain(..).rev() {
            histograms.extend(h.join().unwrap_or_default());
        }
        // The book stage has sent its final books: the recording can close.
        let recording = self
            .recording
            .take()
            .map(crate::recording::Recorder::finish);
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
            recording,
        }
    }
}
