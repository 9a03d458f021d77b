//! Live dispatch: the dispatch stage that sends.
//!
//! On the hot thread, [`LiveDispatchStage`] turns each complete-set `Opportunity` into a `Plan`
//! (one BUY leg per question at the worst price its sizing reached, all for the same number
//! of shares) and pushes it into an SPSC ring; it never blocks and never touches the network.
//! A full ring drops the plan (counted): a missed trade, never a late one. NO-side plans pay
//! only once their NOs are converted (the neg-risk adapter), which this engine does not do:
//! they are sent only when the stage is told to (`[strategy] no_side`, or a paper desk),
//! otherwise counted and dropped.
//!
//! On the sender thread (which first reconciles what the journal left unknown), each plan
//! becomes signed FOK orders, every leg for the same share count (`pairing::plan_orders`),
//! sent as `POST /orders` batches of at most 15 back to back
//! through the [`OrderManager`] (journal first, unknown outcomes looked up by hash, version
//! mismatch re-signed once), and the user channel's events update orders and positions. Once
//! every leg of a plan is final, legs that filled more than the others are unwound
//! ([`super::pairing`]).

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam::channel::Receiver;

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
use super::pairing::{PairTracker, PairingConfig, Plan, PlanSkip, UnwindCounters, plan_orders};

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
    /// Plans whose legs were not all final when the sender stopped (not decided).
    pub pairs_pending: Counter,
    /// Instrument updates applied (markets listed or changed while running).
    pub instrument_updates: Counter,
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
}

impl Stage for LiveDispatchStage {
    type In = Opportunity;

    fn process(&mut self, o: Opportunity) {
        let now = self.timing.start(&o);
        if o.side == GroupSide::No && !self.no_side {
            self.live.no_side_held.inc();
            self.timing.done(&o);
            return;
        }
        let plan = Plan {
            plan_id: self.next_plan,
            side: o.side,
            n_legs: o.n_legs,
            legs: o.legs,
            size: o.size,
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
}

impl<J: OrderJournal + 'static> Sender<J> {
    /// Stops after the plans already queued, and returns the manager.
    pub fn join(mut self) -> Option<OrderManager<J>> {
        self.stop.store(true, Ordering::SeqCst);
        self.bell.ring();
        self.thread.take().and_then(|t| t.join().ok())
    }
}

/// Makes the live dispatch: the stage for the pipeline and its sender thread.
pub fn live_dispatch<J: OrderJournal + 'static>(
    first_plan_id: u64,
    manager: OrderManager<J>,
    instruments: Instruments,
    user: Option<Receiver<UserMessage>>,
    ring_capacity: usize,
    pairing: PairingConfig,
) -> io::Result<(LiveDispatchStage, Sender<J>)> {
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
            };
            run_sender(manager, instruments, inputs, pairs, b, st, l)
        })?;
    Ok((
        LiveDispatchStage {
            next_plan: first_plan_id,
            no_side: false,
            tx,
            stats: Arc::new(DispatchStats::default()),
            live: live.clone(),
            timing: DispatchTiming::default(),
        },
        Sender {
            thread: Some(thread),
            stop,
            bell,
            stats: live,
            instruments: itx,
        },
    ))
}

/// What the sender thread reads: plans from the hot thread, the user channel, instruments.
struct SenderInputs {
    plans: RingRx<Plan>,
    user: Option<Receiver<UserMessage>>,
    instruments: Receiver<InstrumentUpdate>,
}

fn run_sender<J: OrderJournal>(
    mut manager: OrderManager<J>,
    mut instruments: Instruments,
    inputs: SenderInputs,
    mut pairs: PairTracker,
    bell: Arc<Doorbell>,
    stop: Arc<AtomicBool>,
    stats: Arc<LiveStats>,
) -> OrderManager<J> {
    let SenderInputs {
        plans: mut rx,
        user,
        instruments: updates,
    } = inputs;
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
    // The free collateral the next plan may reserve, re-read after anything filled.
    let mut free = free_collateral(&manager);
    // The user channel does not ring the bell: a short park bound keeps its events flowing.
    let mut waiter = Waiter::new(WaitStrategy::Park, bell, Duration::from_millis(5));
    let mut round_trip = LatencyHistogram::new("intent → batch answered");
    let mut next_publish = 0u64;
    loop {
        let mut worked = false;
        while let Some(plan) = rx.pop() {
            worked = true;
            stats.plans.inc();
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
            round_trip.record(now_ns().saturating_sub(plan.created_ns));
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
        }
        if manager.needs_reconcile {
            manager.reconcile();
        }
        if pairs.pending() > 0
            && pairs.poll(&mut manager, &instruments, stats.unwind_counters()) > 0
        {
            free = free_collateral(&manager);
        }
        let now = now_ns();
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
