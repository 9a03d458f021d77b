//! Live dispatch: the dispatch stage that sends.
//!
//! On the hot thread, [`LiveDispatchStage`] turns each complete-set `Opportunity` into a `Plan`
//! (one BUY leg per question at the worst price its sizing reached, all for the same number
//! of shares) and pushes it into an SPSC ring; it never blocks and never touches the network.
//! A full ring drops the plan (counted): a missed trade, never a late one. NO-side plans pay
//! only once their NOs are converted (the neg-risk adapter): they are sent only when the stage
//! is told to (`[strategy] no_side`, or a paper desk), otherwise counted and dropped.
//!
//! On the sender thread (which first reconciles what the journal left unknown), each plan
//! becomes signed FOK orders, every leg for the same share count (`pairing::plan_orders`),
//! sent as `POST /orders` batches of at most 15 back to back
//! through the [`OrderManager`] (journal first, unknown outcomes looked up by hash, version
//! mismatch re-signed once), and the user channel's events update orders and positions. Once
//! every leg of a plan is final, legs that filled more than the others are unwound
//! ([`super::pairing`]).
//!
//! Risk ([`super::risk_link`]): the hot stage drops every opportunity while the risk gate is
//! closed (one atomic load). The sender checks each plan against the exposure caps before
//! sizing it (cut to fit, or dropped, counted by reason), tells the breakers what each batch
//! did, and on a trip (or an operator's kill) drops the plans queued, cancels every resting
//! order at the venue and journals it; plans already sent still pair or unwind. A kill with
//! flattening sells every position held (FAK, within the flatten slippage bound).
//!
//! Capital recycling ([`super::recycle_link`], when given one): each decided plan's complete
//! sets are offered to the recycler's cold thread; each batch it recycled leaves the positions
//! and the free collateral is re-read from the venue.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam::channel::Receiver;

use crate::core::Size;
use crate::risk::control::{Command, Request};
use crate::risk::exposure::GuardStats;
use crate::risk::{Breaker, BreakerMonitor, GuardVerdict, RiskGate};

use crate::adapters::polymarket::http::ClobBookClient;
use crate::adapters::polymarket::signing::OrderRejection;
use crate::adapters::polymarket::ws::user::UserMessage;
use crate::obs::clock::now_ns;
use crate::obs::{Counter, LatencyHistogram, LiveLatency};
use crate::pipeline::ring::{RingRx, RingTx, ring};
use crate::pipeline::stage::Stage;
use crate::pipeline::wait::{Doorbell, WaitStrategy, Waiter};
use crate::strategy::{GroupSide, Opportunity};

use super::dispatch::{DispatchStats, DispatchTiming};
pub use super::instruments::{Instrument, InstrumentUpdate, Instruments};
use super::journal::OrderJournal;
use super::manager::{OrderManager, SubmitOutcome};
use super::order::OrderState;
use super::pairing::{
    PairTracker, PairingConfig, Plan, PlanSkip, UnwindCounters, plan_orders, unwind,
};
use super::recycle_link::RecycleLink;
use super::risk_link::{ExposureBook, RiskSetup};

/// What the sender has done.
#[derive(Debug, Default)]
pub struct LiveStats {
    pub plans: Counter,
    /// Plans dropped because the sender's ring was full.
    pub dropped: Counter,
    /// NO-side plans not sent (`[strategy] no_side` is off).
    pub no_side_held: Counter,
    /// Plans with a leg on an asset without an instrument (not sent).
    pub untradeable: Counter,
    /// Plans not sent because a leg would be refused locally at the legs' common size (tick,
    /// marketable precision, the $1 minimum).
    pub unpaired_skipped: Counter,
    /// Plans not sent because the free collateral buys no lot of every leg.
    pub unaffordable: Counter,
    /// Plans sent smaller than found, cut to what the free collateral buys.
    pub size_capped: Counter,
    /// Unwind SELLs sent for legs that filled more than the others.
    pub unwinds: Counter,
    /// Unwinds that did not sell the whole excess.
    pub unwind_failed: Counter,
    /// Micro-shares those unwinds left unsold (naked inventory).
    pub unwind_residual: Counter,
    /// Micro-pUSD those shares cost.
    pub unwind_residual_notional: Counter,
    /// Plans the sender dropped because the risk gate was closed.
    pub halted: Counter,
    /// The exposure guard's decisions.
    pub guard: GuardStats,
    /// Orders canceled at the venue by breaker trips and kills.
    pub risk_cancels: Counter,
    /// Kills executed, and flattening SELLs sent by them.
    pub kills: Counter,
    pub flattens: Counter,
    /// Plans whose legs were not all final when the sender stopped (not decided).
    pub pairs_pending: Counter,
    /// Plans an earlier run left undecided (a crash), followed again at start.
    pub plans_restored: Counter,
    /// Instrument updates applied (markets listed or changed while running).
    pub instrument_updates: Counter,
    /// Recycled batches taken out of the positions (the free pUSD re-read after each).
    pub recycled: Counter,
    /// Instruments whose rules were re-read from `GET /book` after a leg was off their tick.
    pub rules_refreshed: Counter,
    pub orders: Counter,
    pub filled: Counter,
    pub rejected: Counter,
    pub unknown: Counter,
    pub already_sent: Counter,
    /// Intent made → every answer of its batch in, published about once a second.
    pub round_trip: LiveLatency,
}

impl LiveStats {
    /// The counters the pairing tracker's unwinds update.
    pub fn unwind_counters(&self) -> UnwindCounters<'_> {
        UnwindCounters {
            sent: &self.unwinds,
            failed: &self.unwind_failed,
            residual: &self.unwind_residual,
            residual_notional: &self.unwind_residual_notional,
        }
    }
}

/// The hot-thread half.
pub struct LiveDispatchStage {
    next_plan: u64,
    /// Whether NO-side plans are sent.
    no_side: bool,
    tx: RingTx<Plan>,
    pub stats: Arc<DispatchStats>,
    pub live: Arc<LiveStats>,
    timing: DispatchTiming,
    /// Closed by a breaker or a kill: no plan is made.
    gate: Arc<RiskGate>,
}

impl Stage for LiveDispatchStage {
    type In = Opportunity;

    fn process(&mut self, o: Opportunity) {
        let now = self.timing.start(&o);
        if self.gate.is_halted() {
            self.gate
                .halted_plans
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.timing.done(&o);
            return;
        }
        if o.side == GroupSide::No && !self.no_side {
            self.live.no_side_held.inc();
            self.timing.done(&o);
            return;
        }
        let plan = Plan {
            plan_id: self.next_plan,
            group: o.group,
            side: o.side,
            n_legs: o.n_legs,
            legs: o.legs,
            size: o.size,
            leg_costs: o.leg_costs,
            edge: o.edge,
            recv_ns: o.recv_ns,
            created_ns: now,
        };
        self.next_plan += 1;
        self.stats.plans.inc();
        self.stats.intents.add(u64::from(o.n_legs));
        if self.tx.push(plan).is_err() {
            self.live.dropped.inc();
        }
        self.timing.done(&o);
    }

    fn tick(&mut self, now_ns: u64) -> bool {
        self.timing.tick(&self.stats, now_ns);
        false
    }

    fn has_pending(&self) -> bool {
        false
    }

    fn flush(&mut self) {}

    fn histograms(&self, out: &mut Vec<LatencyHistogram>) {
        self.timing.histograms(out);
    }
}

impl LiveDispatchStage {
    /// The risk gate this stage obeys (its breakers are published with it).
    pub fn gate(&self) -> &Arc<RiskGate> {
        &self.gate
    }

    /// Sends NO-side plans too (their NOs then wait for a conversion the engine cannot do).
    pub fn with_no_side(mut self, send: bool) -> Self {
        self.no_side = send;
        self
    }
}

/// The sender thread; joining it returns the order manager (orders, positions, stats).
pub struct Sender<J: OrderJournal> {
    thread: Option<JoinHandle<OrderManager<J>>>,
    stop: Arc<AtomicBool>,
    bell: Arc<Doorbell>,
    pub stats: Arc<LiveStats>,
    /// Instruments for the sender's table (see [`super::instruments`]).
    pub instruments: crossbeam::channel::Sender<InstrumentUpdate>,
    /// The risk gate: every breaker's state.
    pub gate: Arc<RiskGate>,
}

impl<J: OrderJournal + 'static> Sender<J> {
    /// Stops after the plans already queued, and returns the manager.
    pub fn join(mut self) -> Option<OrderManager<J>> {
        self.stop.store(true, Ordering::SeqCst);
        self.bell.ring();
        self.thread.take().and_then(|t| t.join().ok())
    }
}

/// Makes the live dispatch: the stage for the pipeline and its sender thread (no cap, no
/// breaker configured: [`live_dispatch_with_risk`] with the defaults).
pub fn live_dispatch<J: OrderJournal + 'static>(
    first_plan_id: u64,
    manager: OrderManager<J>,
    instruments: Instruments,
    user: Option<Receiver<UserMessage>>,
    ring_capacity: usize,
    pairing: PairingConfig,
) -> io::Result<(LiveDispatchStage, Sender<J>)> {
    live_dispatch_with_risk(
        first_plan_id,
        manager,
        instruments,
        user,
        ring_capacity,
        pairing,
        RiskSetup::default(),
    )
}

/// Makes the live dispatch under the risk controls of `risk` (no capital recycling).
pub fn live_dispatch_with_risk<J: OrderJournal + 'static>(
    first_plan_id: u64,
    manager: OrderManager<J>,
    instruments: Instruments,
    user: Option<Receiver<UserMessage>>,
    ring_capacity: usize,
    pairing: PairingConfig,
    risk: RiskSetup,
) -> io::Result<(LiveDispatchStage, Sender<J>)> {
    live_dispatch_recycling(
        first_plan_id,
        manager,
        instruments,
        user,
        ring_capacity,
        pairing,
        risk,
        None,
    )
}

/// Makes the live dispatch under the risk controls of `risk`, with the capital recycler's
/// link if given (see the module doc).
#[allow(clippy::too_many_arguments)]
pub fn live_dispatch_recycling<J: OrderJournal + 'static>(
    first_plan_id: u64,
    manager: OrderManager<J>,
    instruments: Instruments,
    user: Option<Receiver<UserMessage>>,
    ring_capacity: usize,
    pairing: PairingConfig,
    risk: RiskSetup,
    recycle: Option<RecycleLink>,
) -> io::Result<(LiveDispatchStage, Sender<J>)> {
    let gate = risk.gate.clone();
    let bell = Doorbell::new();
    let (tx, rx) = ring::<Plan>("dispatch→sender", ring_capacity.max(16), bell.clone());
    let live = Arc::new(LiveStats::default());
    let stop = Arc::new(AtomicBool::new(false));
    let (st, b, l) = (stop.clone(), bell.clone(), live.clone());
    // Rare (one per catalog refresh at most): a short bounded queue, a full one is logged.
    let (itx, irx) = crossbeam::channel::bounded::<InstrumentUpdate>(64);
    let thread = std::thread::Builder::new()
        .name("dispatch-sender".into())
        .spawn(move || {
            let c = manager.client().config();
            let books = ClobBookClient::new(&c.base_url, c.timeout);
            let pairs = PairTracker::new(pairing, books);
            let inputs = SenderInputs {
                plans: rx,
                user,
                instruments: irx,
                recycle,
            };
            let risk = RiskRun::new(risk, &manager, &instruments);
            run_sender(manager, instruments, inputs, pairs, risk, b, st, l)
        })?;
    Ok((
        LiveDispatchStage {
            next_plan: first_plan_id,
            no_side: false,
            tx,
            stats: Arc::new(DispatchStats::default()),
            live: live.clone(),
            timing: DispatchTiming::default(),
            gate: gate.clone(),
        },
        Sender {
            thread: Some(thread),
            stop,
            bell,
            stats: live,
            instruments: itx,
            gate,
        },
    ))
}

/// What the sender thread reads: plans from the hot thread, the user channel, instruments,
/// and the capital recycler's link.
struct SenderInputs {
    plans: RingRx<Plan>,
    user: Option<Receiver<UserMessage>>,
    instruments: Receiver<InstrumentUpdate>,
    recycle: Option<RecycleLink>,
}

#[allow(clippy::too_many_arguments)]
fn run_sender<J: OrderJournal>(
    mut manager: OrderManager<J>,
    mut instruments: Instruments,
    inputs: SenderInputs,
    mut pairs: PairTracker,
    mut risk: RiskRun,
    bell: Arc<Doorbell>,
    stop: Arc<AtomicBool>,
    stats: Arc<LiveStats>,
) -> OrderManager<J> {
    let SenderInputs {
        plans: mut rx,
        user,
        instruments: updates,
        recycle,
    } = inputs;
    if recycle.is_some() {
        pairs.keep_sets();
    }
    let take_updates = |table: &mut Instruments| {
        let mut n = 0;
        while let Ok(u) = updates.try_recv() {
            super::instruments::apply(table, u);
            stats.instrument_updates.inc();
            n += 1;
        }
        n
    };
    bell.bind_current();
    // A restart: whatever the journal left sent-but-unknown is settled by hash before any plan.
    manager.reconcile();
    // [risk-views] Plans a crash left undecided are followed again: paired or unwound below.
    let restored = pairs.restore_open(&mut manager, &instruments);
    stats.plans_restored.add(restored.plans as u64);
    // The free collateral the next plan may reserve, re-read after anything filled.
    let mut free = free_collateral(&manager);
    // The user channel does not ring the bell: a short park bound keeps its events flowing.
    let mut waiter = Waiter::new(WaitStrategy::Park, bell, Duration::from_millis(5));
    let mut round_trip = LatencyHistogram::new("intent → batch answered");
    let mut next_publish = 0u64;
    loop {
        let mut worked = false;
        while let Some(mut plan) = rx.pop() {
            worked = true;
            stats.plans.inc();
            if risk.gate.is_halted() {
                stats.halted.inc();
                continue;
            }
            if !risk.admit(&mut plan, &manager, &instruments, &stats) {
                continue;
            }
            let now_s = crate::storage::time::unix_now_ns() / 1_000_000_000;
            let mut sized = plan_orders(&plan, &instruments, now_s, free);
            // A new market's instruments are sent before its assets are subscribed: a plan on
            // an asset not in the table finds them waiting.
            if matches!(sized, Err(PlanSkip::Untradeable { .. }))
                && take_updates(&mut instruments) > 0
            {
                sized = plan_orders(&plan, &instruments, now_s, free);
            }
            // Off the tick grid the rules were taken with: the venue may have changed the tick.
            if let Err(PlanSkip::Invalid {
                leg,
                why: OrderRejection::PriceOffTick { .. },
            }) = sized
                && let Some(Some(inst)) = instruments.get_mut(plan.legs[leg].asset.get())
                && super::instruments::refresh_rules(pairs.books(), inst)
            {
                stats.rules_refreshed.inc();
                sized = plan_orders(&plan, &instruments, now_s, free);
            }
            let orders = match sized {
                Ok(s) => {
                    if s.capped {
                        stats.size_capped.inc();
                    }
                    s.orders
                }
                Err(PlanSkip::Untradeable { .. }) => {
                    stats.untradeable.inc();
                    log_skip(plan.plan_id, "untradeable");
                    continue;
                }
                Err(PlanSkip::Unaffordable) => {
                    stats.unaffordable.inc();
                    log_skip(plan.plan_id, "unaffordable");
                    continue;
                }
                Err(why) => {
                    tracing::warn!(
                        plan = plan.plan_id,
                        ?why,
                        "plan not sent: legs cannot be paired"
                    );
                    stats.unpaired_skipped.inc();
                    continue;
                }
            };
            stats.orders.add(orders.len() as u64);
            let mut spent = false;
            for r in manager.submit(&orders) {
                risk.on_outcome(&r.outcome);
                log_order(plan.plan_id, &r);
                let c = match &r.outcome {
                    SubmitOutcome::Accepted(OrderState::Filled) => {
                        spent = true;
                        &stats.filled
                    }
                    SubmitOutcome::Accepted(_) => {
                        spent = true;
                        continue;
                    }
                    SubmitOutcome::Rejected(e) => {
                        tracing::warn!(plan = plan.plan_id, error = %e, "order rejected");
                        &stats.rejected
                    }
                    SubmitOutcome::AlreadySent(_) => &stats.already_sent,
                    SubmitOutcome::Unknown => &stats.unknown,
                };
                c.inc();
            }
            let rt = now_ns().saturating_sub(plan.created_ns);
            round_trip.record(rt);
            risk.monitor.on_round_trip(&risk.gate, rt);
            risk.book.sync(&manager);
            pairs.track(&plan);
            if spent {
                free = free_collateral(&manager);
            }
        }
        if let Some(u) = &user {
            while let Ok(m) = u.try_recv() {
                worked = true;
                log_fill(&m);
                manager.on_user(&m);
            }
        }
        if take_updates(&mut instruments) > 0 {
            worked = true;
            risk.book.refresh_instruments(&instruments);
        }
        if manager.needs_reconcile {
            manager.reconcile();
        }
        if pairs.pending() > 0
            && pairs.poll(&mut manager, &instruments, stats.unwind_counters()) > 0
        {
            free = free_collateral(&manager);
        }
        // Capital recycling: decided plans' sets out, recycled batches in (pUSD freed).
        if let Some(r) = &recycle {
            r.offer(pairs.take_sets(), &instruments);
            if r.take_done(&mut manager) {
                stats.recycled.inc();
                worked = true;
                free = free_collateral(&manager);
            }
        }
        let now = now_ns();
        if risk.tick(now, &mut manager, &instruments, &mut rx, &pairs, &stats) {
            worked = true;
            free = free_collateral(&manager);
        }
        if now >= next_publish {
            next_publish = now + 1_000_000_000;
            stats.round_trip.publish(&round_trip);
        }
        if worked {
            waiter.worked();
            continue;
        }
        if (stop.load(Ordering::SeqCst) || rx.is_abandoned()) && rx.is_empty() {
            // Trades of the last orders may still be on their way: record them before handing
            // the manager back, until the channel has been quiet for a while.
            if let Some(u) = &user {
                settle(&mut manager, u);
            }
            // Legs the last answers made final may need an unwind, whose fills are awaited too.
            if pairs.poll(&mut manager, &instruments, stats.unwind_counters()) > 0
                && let Some(u) = &user
            {
                settle(&mut manager, u);
            }
            if let Some(r) = &recycle {
                r.offer(pairs.take_sets(), &instruments);
            }
            stats.pairs_pending.add(pairs.pending() as u64);
            return manager;
        }
        let r = &rx;
        waiter.idle(|| !r.is_empty() || stop.load(Ordering::SeqCst));
    }
}

/// The account's free collateral as the venue reports it (`GET /balance-allowance`); `None`
/// (legs not capped) if it cannot be read.
fn free_collateral<J: OrderJournal>(manager: &OrderManager<J>) -> Option<u64> {
    use crate::adapters::polymarket::http::clob::AssetType;
    match manager.client().balance_allowance(&AssetType::Collateral) {
        Ok(b) => b.balance_micros(),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the free collateral: plans are not capped by it");
            None
        }
    }
}

/// How long the user channel must stay quiet at shutdown before the sender stops listening.
const SETTLE_QUIET: Duration = Duration::from_millis(300);
/// The longest the sender listens at shutdown.
const SETTLE_MAX: Duration = Duration::from_secs(3);

fn settle<J: OrderJournal>(manager: &mut OrderManager<J>, user: &Receiver<UserMessage>) {
    let deadline = std::time::Instant::now() + SETTLE_MAX;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match user.recv_timeout(SETTLE_QUIET.min(left)) {
            Ok(m) => {
                log_fill(&m);
                manager.on_user(&m);
            }
            Err(_) => return,
        }
    }
}

/// How often the sender re-reads PnL, residuals, the journal and the operator's commands.
const RISK_CHECK_NS: u64 = 20_000_000;

/// The sender's risk controls (see the module doc and [`super::risk_link`]).
struct RiskRun {
    cfg: crate::risk::RiskConfig,
    gate: Arc<RiskGate>,
    monitor: BreakerMonitor,
    book: ExposureBook,
    commands: Option<Receiver<Request>>,
    answers: Option<crossbeam::channel::Sender<(u64, String)>>,
    storage: Option<Arc<crate::storage::StorageHealth>>,
    /// The gate as last seen: a new trip cancels what rests at the venue.
    was_halted: bool,
    next_check: u64,
}

impl RiskRun {
    fn new<J: OrderJournal>(
        setup: RiskSetup,
        manager: &OrderManager<J>,
        instruments: &Instruments,
    ) -> Self {
        let guard = crate::risk::ExposureGuard::from_config(&setup.cfg);
        let book = ExposureBook::new(guard, &setup.places, instruments, &manager.positions);
        Self {
            monitor: BreakerMonitor::new(&setup.cfg),
            cfg: setup.cfg,
            gate: setup.gate,
            book,
            commands: setup.commands,
            answers: setup.answers,
            storage: setup.storage,
            was_halted: false,
            next_check: 0,
        }
    }

    /// The pre-trade check: cuts the plan to fit the caps, or refuses it (counted, logged).
    fn admit<J: OrderJournal>(
        &mut self,
        plan: &mut Plan,
        manager: &OrderManager<J>,
        instruments: &Instruments,
        stats: &LiveStats,
    ) -> bool {
        self.book.sync(manager);
        let min = plan
            .legs()
            .iter()
            .filter_map(|l| instruments.get(l.asset.get()).and_then(Option::as_ref))
            .map(|i| i.rules.min_order_size)
            .max()
            .unwrap_or(Size::ZERO);
        let v = self
            .book
            .guard
            .will_exceed_exposure(plan.legs(), plan.size, plan.edge, min);
        stats.guard.record(v);
        match v {
            GuardVerdict::Fits => true,
            GuardVerdict::Cut { size, by } => {
                tracing::info!(plan = plan.plan_id, from = %plan.size, to = %size, cap = by.as_str(), "plan cut to fit the exposure caps");
                plan.cut_to(size);
                true
            }
            GuardVerdict::Drop(by) => {
                tracing::info!(plan = plan.plan_id, size = %plan.size, cap = by.as_str(), "plan dropped by the exposure guard");
                false
            }
        }
    }

    fn on_outcome(&mut self, o: &SubmitOutcome) {
        match o {
            SubmitOutcome::Rejected(_) => self.monitor.on_order(&self.gate, true),
            SubmitOutcome::Unknown => {
                self.monitor.on_order(&self.gate, false);
                self.monitor.on_unknown(&self.gate);
            }
            _ => self.monitor.on_order(&self.gate, false),
        }
    }

    /// The periodic checks, the operator's commands, and the response to a new trip.
    /// Returns whether it sent or canceled anything.
    fn tick<J: OrderJournal>(
        &mut self,
        now: u64,
        manager: &mut OrderManager<J>,
        instruments: &Instruments,
        plans: &mut crate::pipeline::ring::RingRx<Plan>,
        pairs: &PairTracker,
        stats: &LiveStats,
    ) -> bool {
        if now < self.next_check {
            return false;
        }
        self.next_check = now + RISK_CHECK_NS;
        let g = &self.gate;
        self.monitor.sync_reset(g);
        let realized: i128 = manager.positions.all().values().map(|p| p.realized).sum();
        let unix_s = crate::storage::time::unix_now_ns() / 1_000_000_000;
        self.monitor.on_realized(g, realized, unix_s);
        self.monitor
            .on_residual(g, stats.unwind_residual_notional.get());
        let storage_ok = self.storage.as_ref().is_none_or(|h| h.trading_ok());
        self.monitor
            .on_journal(g, manager.stats.journal_errors, storage_ok);
        let mut acted = false;
        let requests: Vec<Request> = self
            .commands
            .as_ref()
            .map(|c| c.try_iter().collect())
            .unwrap_or_default();
        for r in requests {
            let answer = match r.command {
                Command::Kill { flatten } => {
                    acted = true;
                    self.kill(r.id, flatten, manager, instruments, plans, pairs, stats)
                }
                Command::Reset => {
                    self.gate.reset();
                    self.monitor.sync_reset(&self.gate);
                    self.was_halted = false;
                    let _ = manager.journal_event("risk_reset", &format!("request {}", r.id));
                    format!("reset: every breaker ok · {}", self.gate.line())
                }
            };
            if let Some(a) = &self.answers {
                let _ = a.send((r.id, answer));
            }
        }
        let halted = self.gate.is_halted();
        if halted && !self.was_halted {
            // A breaker tripped since the last look: nothing new leaves, nothing rests.
            acted = true;
            while plans.pop().is_some() {
                stats.halted.inc();
            }
            let canceled = cancel_all(manager, stats);
            let line = self.gate.line();
            tracing::error!(%canceled, "{line}");
            let _ = manager.journal_event("risk_trip", &format!("{line} · {canceled}"));
        }
        self.was_halted = halted;
        acted
    }

    /// The kill switch: gate closed, queued plans dropped, every order canceled at the venue,
    /// and with `flatten` every position sold (FAK, within the flatten slippage bound).
    #[allow(clippy::too_many_arguments)]
    fn kill<J: OrderJournal>(
        &mut self,
        id: u64,
        flatten: bool,
        manager: &mut OrderManager<J>,
        instruments: &Instruments,
        plans: &mut crate::pipeline::ring::RingRx<Plan>,
        pairs: &PairTracker,
        stats: &LiveStats,
    ) -> String {
        self.gate
            .trip(Breaker::Kill, format!("operator kill (request {id})"));
        self.was_halted = true;
        stats.kills.inc();
        while plans.pop().is_some() {
            stats.halted.inc();
        }
        let canceled = cancel_all(manager, stats);
        let mut out = format!("killed: {canceled}");
        if flatten {
            let cfg = PairingConfig {
                unwind_max_slippage_ticks: self.cfg.flatten_max_slippage_ticks,
                unwind_attempts: 3,
            };
            // One plan id per kill, far from the engine's (which count up from the start
            // time in milliseconds).
            let plan_id = u64::MAX / 2 - crate::obs::clock::unix_ms();
            let held: Vec<(crate::core::TokenId, i128)> = manager
                .positions
                .all()
                .iter()
                .filter(|(_, p)| p.shares > 0)
                .map(|(t, p)| (*t, p.shares))
                .collect();
            let (mut sold, mut left) = (0u64, 0u64);
            for (k, (token, shares)) in held.iter().enumerate() {
                let Some(inst) = instruments.iter().flatten().find(|i| i.token_id == *token) else {
                    left += u64::try_from(*shares).unwrap_or(u64::MAX);
                    continue;
                };
                stats.flattens.inc();
                let size = Size(u64::try_from(*shares).unwrap_or(u64::MAX));
                let r = unwind(manager, pairs.books(), inst, plan_id, k, size, &cfg);
                sold += r.sold.0;
                left += r.residual.0;
            }
            out.push_str(&format!(
                " · flattened: {} shares sold, {} left",
                Size(sold),
                Size(left)
            ));
        }
        let _ = manager.journal_event("risk_kill", &format!("request {id}: {out}"));
        tracing::error!("{out}");
        out
    }
}

/// Cancels every order of the account at the venue; says what it did.
fn cancel_all<J: OrderJournal>(manager: &mut OrderManager<J>, stats: &LiveStats) -> String {
    match manager.cancel_all() {
        Ok(n) => {
            stats.risk_cancels.add(n as u64);
            format!("{n} orders canceled at the venue")
        }
        Err(e) => format!("cancel-all failed: {e}"),
    }
}

/// The audit event of one order sent (`polyarb::order`; the sender is a cold thread).
fn log_order(plan: u64, r: &super::manager::SubmitResult) {
    let outcome = match &r.outcome {
        SubmitOutcome::Accepted(s) => format!("accepted:{s:?}"),
        SubmitOutcome::Rejected(e) => format!("rejected:{e}"),
        SubmitOutcome::AlreadySent(s) => format!("already_sent:{s:?}"),
        SubmitOutcome::Unknown => "unknown".to_string(),
    };
    tracing::info!(
        target: "polyarb::order",
        event = "order",
        plan,
        client_oid = r.client_oid,
        order_id = r.order_id.as_deref().unwrap_or(""),
        outcome = %outcome,
        "order sent"
    );
}

/// The audit event of a trade of the account from the user channel (`polyarb::fill`).
fn log_fill(m: &UserMessage) {
    if let UserMessage::Event(e) = m
        && let crate::adapters::polymarket::ws::user_events::UserEvent::Trade(t) = &**e
    {
        tracing::info!(
            target: "polyarb::fill",
            event = "fill",
            trade_id = %t.id,
            order_id = %t.taker_order_id,
            asset_id = %t.asset_id,
            market = %t.market,
            side = ?t.side,
            price = %t.price,
            size = %t.size,
            status = ?t.status,
            taker = t.taker,
            "trade of the account"
        );
    }
}

/// The audit event of a plan the sender's checks refused (`polyarb::risk`).
fn log_skip(plan: u64, reason: &'static str) {
    tracing::info!(
        target: "polyarb::risk",
        event = "plan_refused",
        plan,
        reason,
        "plan not sent"
    );
}
