//! The spread desk: the quoter on its own thread, fed by a tap on the strategy stage.
//!
//! Hot side ([`SpreadTap`], inside the strategy stage): every top of a quoted asset (one
//! relaxed load of a shared bit set) is pushed as a small [`SpreadTop`] into an SPSC ring;
//! never blocking, a full ring drops the top (counted: the next one carries the book's state).
//!
//! Desk thread: tops become quote decisions and cancel/replace batches through its own order
//! manager (its own CLOB connection, the same account or another), the user channel's events
//! become fills, selection changes and halts arrive as [`DeskCommand`]s, and every 20 ms the
//! quoter's periodic checks run (gate, heartbeat chain, end dates). The reports are published
//! for the live view about four times a second. Stopping pulls every quote and returns the
//! manager and the final reports.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam::channel::{Receiver, Sender};
use rustc_hash::FxHashMap;

use crate::adapters::polymarket::ws::user::UserMessage;
use crate::core::{AssetIndex, TokenId};
use crate::exec::journal::OrderJournal;
use crate::exec::manager::OrderManager;
use crate::pipeline::ring::{Counter, RingRx, ring};
use crate::pipeline::wait::{Doorbell, WaitStrategy, Waiter};
use crate::risk::RiskGate;

use crate::strategy::spread::SpreadConfig;
use crate::strategy::spread::report::MarketReport;
pub use crate::strategy::spread::tap::{QuotedSet, SpreadTap, SpreadTop};

use super::quoter::{MergeHook, QuotedMarket, Quoter, QuoterStats};

/// A market to quote and its two assets in the engine's registry.
#[derive(Clone, Debug)]
pub struct DeskMarket {
    pub yes_asset: AssetIndex,
    pub no_asset: AssetIndex,
    pub market: QuotedMarket,
}

/// What the desk is told while it runs.
#[derive(Clone, Debug)]
pub enum DeskCommand {
    /// The selection after a catalog refresh (markets not in it are pulled).
    Select(Vec<DeskMarket>),
    /// The market's rules changed: pull and stop quoting it until resumed.
    Halt(String),
    Resume(String),
}

/// What a stopped desk hands back: its order manager, the final reports, the counters.
pub type DeskEnd<J> = (OrderManager<J>, Vec<MarketReport>, QuoterStats);

/// The running desk.
pub struct SpreadDesk<J: OrderJournal> {
    thread: Option<JoinHandle<DeskEnd<J>>>,
    stop: Arc<AtomicBool>,
    bell: Arc<Doorbell>,
    pub commands: Sender<DeskCommand>,
    /// The reports as last published (for the live view).
    pub view: Arc<Mutex<Vec<MarketReport>>>,
    pub dropped: Arc<Counter>,
}

/// What the desk starts from.
pub struct DeskSetup<J: OrderJournal> {
    pub cfg: SpreadConfig,
    pub manager: OrderManager<J>,
    pub user: Option<Receiver<UserMessage>>,
    pub gate: Option<Arc<RiskGate>>,
    /// The engine's asset capacity (the tap's bit set covers it).
    pub capacity: usize,
    pub markets: Vec<DeskMarket>,
    pub first_plan_id: u64,
    pub merge: Option<Box<dyn MergeHook>>,
}

/// The tap for the strategy stage, and the desk thread.
pub fn start<J: OrderJournal + Send + 'static>(
    s: DeskSetup<J>,
) -> std::io::Result<(SpreadTap, SpreadDesk<J>)> {
    let bell = Doorbell::new();
    let (tx, rx) = ring::<SpreadTop>("strategy→spread", 4096, bell.clone());
    let set = Arc::new(QuotedSet::new(s.capacity));
    let dropped = Arc::new(Counter::default());
    let stop = Arc::new(AtomicBool::new(false));
    let view = Arc::new(Mutex::new(Vec::new()));
    let (ctx, crx) = crossbeam::channel::unbounded();
    let _ = ctx.send(DeskCommand::Select(s.markets));
    let mut quoter = Quoter::new(s.cfg, s.first_plan_id, s.gate);
    if let Some(m) = s.merge {
        quoter = quoter.with_merge(m);
    }
    let run = DeskRun {
        quoter,
        manager: s.manager,
        tops: rx,
        user: s.user,
        commands: crx,
        set: set.clone(),
        assets: FxHashMap::default(),
        view: view.clone(),
    };
    let (st, b) = (stop.clone(), bell.clone());
    let thread = std::thread::Builder::new()
        .name("spread-desk".into())
        .spawn(move || run.run(b, st))?;
    Ok((
        SpreadTap {
            set,
            tx,
            dropped: dropped.clone(),
        },
        SpreadDesk {
            thread: Some(thread),
            stop,
            bell,
            commands: ctx,
            view,
            dropped,
        },
    ))
}

impl<J: OrderJournal + 'static> SpreadDesk<J> {
    /// Pulls every quote, stops, and returns the manager, the final reports and the counters.
    pub fn join(mut self) -> Option<DeskEnd<J>> {
        self.stop.store(true, Ordering::SeqCst);
        self.bell.ring();
        self.thread.take().and_then(|t| t.join().ok())
    }

    /// The reports as last published.
    pub fn reports(&self) -> Vec<MarketReport> {
        self.view.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

struct DeskRun<J: OrderJournal> {
    quoter: Quoter,
    manager: OrderManager<J>,
    tops: RingRx<SpreadTop>,
    user: Option<Receiver<UserMessage>>,
    commands: Receiver<DeskCommand>,
    set: Arc<QuotedSet>,
    assets: FxHashMap<AssetIndex, TokenId>,
    view: Arc<Mutex<Vec<MarketReport>>>,
}

const TICK: Duration = Duration::from_millis(20);
const PUBLISH: Duration = Duration::from_millis(250);

fn unix_s() -> i64 {
    (crate::storage::time::unix_now_ns() / 1_000_000_000) as i64
}

impl<J: OrderJournal> DeskRun<J> {
    fn run(mut self, bell: Arc<Doorbell>, stop: Arc<AtomicBool>) -> DeskEnd<J> {
        bell.bind_current();
        // The user channel does not ring the bell: a short park bound keeps its events flowing.
        let mut waiter = Waiter::new(WaitStrategy::Park, bell, Duration::from_millis(5));
        let (mut next_tick, mut next_publish) = (Instant::now(), Instant::now());
        loop {
            let mut worked = false;
            while let Ok(c) = self.commands.try_recv() {
                worked = true;
                self.apply(c);
            }
            while let Some(t) = self.tops.pop() {
                worked = true;
                if let Some(token) = self.assets.get(&t.asset).copied() {
                    self.quoter
                        .on_top(&mut self.manager, &token, t.top, Instant::now(), unix_s());
                }
            }
            if let Some(u) = &self.user {
                while let Ok(m) = u.try_recv() {
                    worked = true;
                    self.quoter.on_user(&mut self.manager, &m);
                }
            }
            if self.manager.needs_reconcile {
                self.manager.reconcile();
            }
            let now = Instant::now();
            if now >= next_tick {
                next_tick = now + TICK;
                self.quoter.tick(&mut self.manager, now, unix_s());
            }
            if now >= next_publish {
                next_publish = now + PUBLISH;
                self.publish();
            }
            if stop.load(Ordering::SeqCst) {
                self.quoter.stop(&mut self.manager);
                self.settle();
                self.publish();
                let reports = self.quoter.reports(&self.manager);
                let stats = self.quoter.stats;
                return (self.manager, reports, stats);
            }
            if worked {
                waiter.worked();
                continue;
            }
            let r = &self.tops;
            waiter.idle(|| !r.is_empty() || stop.load(Ordering::SeqCst));
        }
    }

    fn apply(&mut self, c: DeskCommand) {
        match c {
            DeskCommand::Select(markets) => {
                self.assets.clear();
                let mut assets = Vec::with_capacity(markets.len() * 2);
                for m in &markets {
                    self.assets.insert(m.yes_asset, m.market.yes);
                    self.assets.insert(m.no_asset, m.market.no);
                    assets.push(m.yes_asset);
                    assets.push(m.no_asset);
                }
                let left_out = self.set.replace(&assets);
                if left_out > 0 {
                    tracing::warn!(
                        left_out,
                        "spread: assets past the engine's capacity are not quoted"
                    );
                }
                let qm = markets.into_iter().map(|m| m.market).collect();
                self.quoter.set_markets(&mut self.manager, qm);
            }
            DeskCommand::Halt(c) => self.quoter.halt(&mut self.manager, &c),
            DeskCommand::Resume(c) => self.quoter.resume(&c),
        }
    }

    /// Fills of the last cancels' races may still be on their way: apply them.
    fn settle(&mut self) {
        let Some(u) = &self.user else {
            return;
        };
        let deadline = Instant::now() + Duration::from_secs(2);
        while let Ok(m) = u.recv_timeout(
            Duration::from_millis(300).min(deadline.saturating_duration_since(Instant::now())),
        ) {
            self.quoter.on_user(&mut self.manager, &m);
        }
    }

    fn publish(&self) {
        let r = self.quoter.reports(&self.manager);
        if let Ok(mut v) = self.view.lock() {
            *v = r;
        }
    }
}
