//! The quotes at the venue: each top change of a quoted market becomes a decision
//! (`strategy::spread::quote::decide`) and the difference between it and what rests is sent through the
//! order manager, cancels first, then places, each as batches of at most 15.
//!
//! Replace policy: a resting quote is kept unless its target moved at least `replace_ticks`
//! or its size changed (the manager's `worth_replacing_by`); at most `max_replaces_per_s`
//! replaces per market in any second (sliding). Pulls are never throttled.
//!
//! Pulls: every quote of a market is canceled when its book is not ok (or no longer wide or
//! deep enough), its rules changed (a rule-hash halt, until resumed), its end date is within
//! `min_time_to_end_s`, or it leaves the selection; every quote of every market when a risk
//! breaker trips (the gate is read first on every top and every tick) or the heartbeat chain
//! is lost. After a lost chain nothing is quoted until a beat of the new chain is accepted.
//!
//! Heartbeats run while any quote rests (started with the first, stopped after the last is
//! gone): production cancels every order of the key ~10 s after the last accepted beat.
//!
//! A replacement is placed only after its predecessor's cancel is confirmed (or the venue says
//! it is no longer live), so a market never has two quotes on one side.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use rustc_hash::{FxHashMap, FxHashSet};

use crate::adapters::polymarket::http::clob::heartbeat::Heartbeat;
use crate::adapters::polymarket::signing::{MarketRules, OrderRequest, OrderSide, OrderType};
use crate::adapters::polymarket::ws::user::UserMessage;
use crate::adapters::polymarket::ws::user_events::{TradeStatus, UserEvent};
use crate::core::fees::FeeSchedule;
use crate::core::{Price, Size, TokenId};
use crate::exec::journal::OrderJournal;
use crate::exec::manager::{NewOrder, OrderManager, SubmitOutcome};
use crate::exec::positions::Positions;
use crate::risk::RiskGate;

use crate::strategy::spread::quote::{Inventory, Quote, QuoteRules, Quotes, YesTop, decide};
use crate::strategy::spread::report::MarketReport;
use crate::strategy::spread::{Outcome, SpreadConfig};

use super::select::{book_qualifies, ends_within, rewards_eligible};

/// A market to quote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuotedMarket {
    pub label: String,
    pub condition_id: String,
    pub yes: TokenId,
    pub no: TokenId,
    pub rules: MarketRules,
    pub fees: Option<FeeSchedule>,
    pub end_unix_s: Option<i64>,
    pub rewards_min_size: Option<Size>,
    pub rewards_max_spread: Option<Price>,
}

/// Complete sets (a YES and a NO of one market) to merge into pUSD: the settlement path's
/// entry. `offer` is called on the quoting thread with the sets acquired since the last offer
/// (never the same sets twice); it must not block (queue the work).
pub trait MergeHook: Send {
    /// `tokens` are what one set is made of: YES then NO.
    fn offer(&mut self, condition_id: &str, neg_risk: bool, tokens: [TokenId; 2], sets: Size);
}

/// The settlement recycler's channel: each offer is one `Merge` of the market's condition.
impl MergeHook for crate::settlement::recycle::RecycleTx {
    fn offer(&mut self, condition_id: &str, neg_risk: bool, tokens: [TokenId; 2], sets: Size) {
        use crate::settlement::calls::MarketKind;
        use crate::settlement::recycle::{FilledSets, SetKey};
        let Ok(condition) = condition_id.parse::<alloy_primitives::B256>() else {
            tracing::warn!(
                condition_id,
                "spread: a condition id that is not 32 bytes: sets not offered"
            );
            return;
        };
        let kind = if neg_risk {
            MarketKind::NegRisk
        } else {
            MarketKind::Binary
        };
        crate::settlement::recycle::RecycleTx::offer(
            self,
            FilledSets {
                key: SetKey::Merge { kind, condition },
                sets: sets.0,
                tokens: tokens.to_vec(),
            },
        );
    }
}

/// Why quotes were pulled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PullReason {
    BookNotOk,
    Halted,
    Breaker,
    NearResolution,
    HeartbeatLost,
    Deselected,
    Stopped,
}

/// The quoter's counters (all markets).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QuoterStats {
    pub tops: u64,
    pub decisions: u64,
    pub cancel_batches: u64,
    pub place_batches: u64,
    pub cancel_failed: u64,
    /// Quotes the venue refused as crossing (post-only); zero unless the book moved between
    /// the decision and the order's arrival.
    pub crossing_rejects: u64,
    pub heartbeat_losses: u64,
    pub breaker_pulls: u64,
}

struct Resting {
    order_id: String,
    quote: Quote,
}

struct MarketState {
    m: QuotedMarket,
    halted: bool,
    slots: [Option<Resting>; 2],
    top: YesTop,
    replaces: VecDeque<Instant>,
    report: MarketReport,
    /// Pulled for this reason and not quoted since.
    pulled: Option<PullReason>,
    /// Since when a resting quote is rewards-eligible.
    eligible_since: Option<Instant>,
    /// Micro-sets offered to the merge hook so far.
    sets_offered: u64,
}

impl MarketState {
    fn new(m: QuotedMarket) -> Self {
        Self {
            report: MarketReport {
                label: m.label.clone(),
                ..MarketReport::default()
            },
            m,
            halted: false,
            slots: [None, None],
            top: YesTop::default(),
            replaces: VecDeque::new(),
            pulled: None,
            eligible_since: None,
            sets_offered: 0,
        }
    }

    fn quote_rules(&self) -> QuoteRules {
        QuoteRules {
            tick: self.m.rules.tick_size,
            min_order_size: self.m.rules.min_order_size,
        }
    }

    fn token(&self, o: Outcome) -> TokenId {
        match o {
            Outcome::Yes => self.m.yes,
            Outcome::No => self.m.no,
        }
    }
}

/// What one pass over a market decided to send.
#[derive(Default)]
struct Batch {
    /// (market, slot, order id).
    cancels: Vec<(usize, usize, String)>,
    /// (market, slot, quote, is a replace).
    places: Vec<(usize, usize, Quote, bool)>,
}

/// The quoting engine of one account (see the module doc).
pub struct Quoter {
    cfg: SpreadConfig,
    markets: Vec<MarketState>,
    /// Token → (market, outcome).
    by_token: FxHashMap<TokenId, (usize, Outcome)>,
    gate: Option<Arc<RiskGate>>,
    heartbeat: Option<Heartbeat>,
    /// Heartbeat chain restarts already handled.
    hb_restarts: u64,
    /// After a lost chain: quote again once more than this many beats were accepted.
    hb_wait: Option<u64>,
    was_halted: bool,
    next_plan: u64,
    merge: Option<Box<dyn MergeHook>>,
    seen_fills: FxHashSet<(String, String)>,
    /// Every order id this quoter placed → its market's condition id.
    ours: FxHashMap<String, String>,
    pub stats: QuoterStats,
}

impl Quoter {
    /// A quoter whose orders take plan ids from `first_plan_id` up (one per quote; the slot is
    /// the client order id).
    pub fn new(cfg: SpreadConfig, first_plan_id: u64, gate: Option<Arc<RiskGate>>) -> Self {
        Self {
            cfg,
            markets: Vec::new(),
            by_token: FxHashMap::default(),
            gate,
            heartbeat: None,
            hb_restarts: 0,
            hb_wait: None,
            was_halted: false,
            next_plan: first_plan_id,
            merge: None,
            seen_fills: FxHashSet::default(),
            ours: FxHashMap::default(),
            stats: QuoterStats::default(),
        }
    }

    /// Where complete sets are offered for merging.
    pub fn with_merge(mut self, hook: Box<dyn MergeHook>) -> Self {
        self.merge = Some(hook);
        self
    }

    pub fn config(&self) -> &SpreadConfig {
        &self.cfg
    }

    /// The market and outcome of a token, if quoted.
    pub fn market_of(&self, token: &TokenId) -> Option<(usize, Outcome)> {
        self.by_token.get(token).copied()
    }

    /// The quoted markets.
    pub fn markets(&self) -> impl Iterator<Item = &QuotedMarket> {
        self.markets.iter().map(|s| &s.m)
    }

    /// The order ids resting now.
    pub fn resting(&self) -> Vec<String> {
        self.markets
            .iter()
            .flat_map(|s| s.slots.iter().flatten().map(|r| r.order_id.clone()))
            .collect()
    }

    fn resting_any(&self) -> bool {
        self.markets
            .iter()
            .any(|s| s.slots.iter().any(Option::is_some))
    }

    /// Whether the heartbeat loop runs.
    pub fn heartbeating(&self) -> bool {
        self.heartbeat.is_some()
    }

    /// The selection: markets no longer in it are pulled and forgotten, new ones added, kept
    /// ones updated (their halt state stays).
    pub fn set_markets<J: OrderJournal>(
        &mut self,
        manager: &mut OrderManager<J>,
        markets: Vec<QuotedMarket>,
    ) {
        let keep: FxHashSet<String> = markets.iter().map(|m| m.condition_id.clone()).collect();
        let gone: Vec<usize> = (0..self.markets.len())
            .filter(|&i| !keep.contains(&self.markets[i].m.condition_id))
            .collect();
        self.pull(manager, &gone, PullReason::Deselected);
        let mut old: Vec<MarketState> = std::mem::take(&mut self.markets);
        for m in markets {
            let state = match old.iter().position(|s| s.m.condition_id == m.condition_id) {
                Some(i) => {
                    let mut s = old.swap_remove(i);
                    s.m = m;
                    s
                }
                None => MarketState::new(m),
            };
            if let Some(f) = state.m.fees {
                manager.set_fees(state.m.yes, f);
                manager.set_fees(state.m.no, f);
            }
            self.markets.push(state);
        }
        self.by_token.clear();
        for (i, s) in self.markets.iter().enumerate() {
            self.by_token.insert(s.m.yes, (i, Outcome::Yes));
            self.by_token.insert(s.m.no, (i, Outcome::No));
        }
    }

    /// Stops quoting a market whose rules changed (pulls its quotes) until [`Self::resume`].
    pub fn halt<J: OrderJournal>(&mut self, manager: &mut OrderManager<J>, condition_id: &str) {
        if let Some(i) = self.index_of(condition_id) {
            self.markets[i].halted = true;
            self.pull(manager, &[i], PullReason::Halted);
        }
    }

    pub fn resume(&mut self, condition_id: &str) {
        if let Some(i) = self.index_of(condition_id) {
            self.markets[i].halted = false;
        }
    }

    fn index_of(&self, condition_id: &str) -> Option<usize> {
        self.markets
            .iter()
            .position(|s| s.m.condition_id == condition_id)
    }

    /// A new top of a quoted token's book (either outcome: a NO top is mirrored).
    pub fn on_top<J: OrderJournal>(
        &mut self,
        manager: &mut OrderManager<J>,
        token: &TokenId,
        top: YesTop,
        now: Instant,
        unix_s: i64,
    ) {
        let Some((i, outcome)) = self.market_of(token) else {
            return;
        };
        self.stats.tops += 1;
        let top = match outcome {
            Outcome::Yes => top,
            Outcome::No => YesTop {
                bid: if top.ask.0 == 0 {
                    Price(0)
                } else {
                    crate::strategy::spread::mirror(top.ask)
                },
                bid_size: top.ask_size,
                ask: if top.bid.0 == 0 {
                    Price(0)
                } else {
                    crate::strategy::spread::mirror(top.bid)
                },
                ask_size: top.bid_size,
                ok: top.ok,
            },
        };
        self.markets[i].top = top;
        self.markets[i].report.mid = Price((top.bid.0 + top.ask.0) / 2);
        if self.guard(manager, now) {
            return;
        }
        self.requote(manager, i, now, unix_s);
    }

    /// The periodic checks between tops: the risk gate, the heartbeat chain, end dates, and
    /// quotes that ended (filled) and may be renewed.
    pub fn tick<J: OrderJournal>(
        &mut self,
        manager: &mut OrderManager<J>,
        now: Instant,
        unix_s: i64,
    ) {
        if self.guard(manager, now) {
            return;
        }
        for i in 0..self.markets.len() {
            let s = &self.markets[i];
            let ended = s.slots.iter().flatten().any(|r| {
                manager
                    .order(&r.order_id)
                    .is_none_or(|t| t.state.is_final())
            });
            let resolving = ends_within(&self.cfg, s.m.end_unix_s, unix_s)
                && s.slots.iter().any(Option::is_some);
            if ended || resolving || (s.pulled == Some(PullReason::HeartbeatLost) && s.top.ok) {
                self.requote(manager, i, now, unix_s);
            }
        }
        self.update_heartbeat(manager);
    }

    /// Pulls everything and stops the heartbeats (the engine is stopping).
    pub fn stop<J: OrderJournal>(&mut self, manager: &mut OrderManager<J>) {
        let all: Vec<usize> = (0..self.markets.len()).collect();
        self.pull(manager, &all, PullReason::Stopped);
        if let Some(mut h) = self.heartbeat.take() {
            h.stop();
        }
    }

    /// The gate and the heartbeat chain; true when every quote was pulled for them.
    fn guard<J: OrderJournal>(&mut self, manager: &mut OrderManager<J>, _now: Instant) -> bool {
        let all = |n: usize| (0..n).collect::<Vec<usize>>();
        if self.gate.as_ref().is_some_and(|g| g.is_halted()) {
            if !self.was_halted {
                self.stats.breaker_pulls += 1;
            }
            if !self.was_halted || self.resting_any() {
                self.pull(manager, &all(self.markets.len()), PullReason::Breaker);
            }
            self.was_halted = true;
            return true;
        }
        self.was_halted = false;
        if let Some(h) = &self.heartbeat {
            let restarts = h.stats.restarts.load(Ordering::Relaxed);
            if restarts > self.hb_restarts {
                self.hb_restarts = restarts;
                self.stats.heartbeat_losses += 1;
                self.hb_wait = Some(h.stats.sent.load(Ordering::Relaxed));
                tracing::warn!("heartbeat chain lost: pulling every quote until a new one holds");
                self.pull(manager, &all(self.markets.len()), PullReason::HeartbeatLost);
            }
        }
        if let Some(seen) = self.hb_wait {
            let beats = self
                .heartbeat
                .as_ref()
                .map_or(u64::MAX, |h| h.stats.sent.load(Ordering::Relaxed));
            if beats <= seen {
                return true;
            }
            self.hb_wait = None;
        }
        false
    }

    /// Decides market `i`'s quotes from its last top and sends the difference.
    fn requote<J: OrderJournal>(
        &mut self,
        manager: &mut OrderManager<J>,
        i: usize,
        now: Instant,
        unix_s: i64,
    ) {
        self.stats.decisions += 1;
        let s = &self.markets[i];
        let tick = s.m.rules.tick_size.micros();
        let pull = if s.halted {
            Some(PullReason::Halted)
        } else if ends_within(&self.cfg, s.m.end_unix_s, unix_s) {
            Some(PullReason::NearResolution)
        } else if !book_qualifies(&self.cfg, tick, &s.top) {
            Some(PullReason::BookNotOk)
        } else {
            None
        };
        if let Some(r) = pull {
            self.pull(manager, &[i], r);
            return;
        }
        let inv = self.inventory(manager, i);
        let target = decide(&self.cfg, &s.quote_rules(), &s.top, inv);
        self.markets[i].pulled = None;
        let mut batch = Batch::default();
        self.diff(manager, i, target, now, &mut batch);
        self.send(manager, batch, now);
        self.offer_sets(manager, i);
    }

    /// What market `i` holds of each outcome (never negative).
    pub fn inventory<J: OrderJournal>(&self, manager: &OrderManager<J>, i: usize) -> Inventory {
        let s = &self.markets[i];
        let held =
            |t: &TokenId| Size(u64::try_from(manager.positions.get(t).shares.max(0)).unwrap_or(0));
        Inventory {
            yes: held(&s.m.yes),
            no: held(&s.m.no),
        }
    }

    fn diff<J: OrderJournal>(
        &mut self,
        manager: &OrderManager<J>,
        i: usize,
        target: Quotes,
        now: Instant,
        batch: &mut Batch,
    ) {
        let cfg = &self.cfg;
        let s = &mut self.markets[i];
        let tick = s.m.rules.tick_size;
        while s
            .replaces
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
        {
            s.replaces.pop_front();
        }
        for (slot, want) in target.slots().into_iter().enumerate() {
            // A quote that ended (filled, canceled by the venue) frees its slot.
            if let Some(r) = &s.slots[slot]
                && manager
                    .order(&r.order_id)
                    .is_none_or(|t| t.state.is_final())
            {
                s.slots[slot] = None;
            }
            match (&s.slots[slot], want) {
                (None, None) => {}
                (Some(r), None) => batch.cancels.push((i, slot, r.order_id.clone())),
                (None, Some(q)) => batch.places.push((i, slot, q, false)),
                (Some(r), Some(q)) => {
                    let same_order = r.quote.outcome == q.outcome && r.quote.side == q.side;
                    let left = manager
                        .order(&r.order_id)
                        .map_or(Size::ZERO, |t| Size(t.size.0.saturating_sub(t.filled.0)));
                    let moved = !same_order
                        || manager.worth_replacing_by(
                            &r.order_id,
                            q.price,
                            q.size,
                            tick,
                            cfg.replace_ticks,
                        ) && (q.price != r.quote.price || q.size != left);
                    if !moved {
                        continue;
                    }
                    if s.replaces.len() >= cfg.max_replaces_per_s as usize {
                        s.report.throttled += 1;
                        continue;
                    }
                    s.replaces.push_back(now);
                    batch.cancels.push((i, slot, r.order_id.clone()));
                    batch.places.push((i, slot, q, true));
                }
            }
        }
    }

    /// Cancels every quote of these markets (one batch).
    fn pull<J: OrderJournal>(
        &mut self,
        manager: &mut OrderManager<J>,
        markets: &[usize],
        why: PullReason,
    ) {
        let mut batch = Batch::default();
        for &i in markets {
            let Some(s) = self.markets.get_mut(i) else {
                continue;
            };
            let mut any = false;
            for (slot, r) in s.slots.iter().enumerate() {
                if let Some(r) = r {
                    any = true;
                    batch.cancels.push((i, slot, r.order_id.clone()));
                }
            }
            if any {
                s.report.pulls += 1;
                tracing::info!(market = %s.m.label, reason = ?why, "quotes pulled");
            }
            s.pulled = Some(why);
        }
        if !batch.cancels.is_empty() {
            self.send(manager, batch, Instant::now());
        }
        self.update_heartbeat(manager);
    }

    /// Cancels, then places what may be placed: a replacement only once its predecessor is
    /// gone.
    fn send<J: OrderJournal>(&mut self, manager: &mut OrderManager<J>, batch: Batch, now: Instant) {
        let mut blocked: FxHashSet<(usize, usize)> = FxHashSet::default();
        if !batch.cancels.is_empty() {
            let ids: Vec<String> = batch.cancels.iter().map(|(_, _, id)| id.clone()).collect();
            self.stats.cancel_batches += ids
                .len()
                .div_ceil(crate::adapters::polymarket::http::clob::MAX_BATCH)
                as u64;
            let (canceled, not) = match manager.cancel_orders(&ids) {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(error = %e, "quote cancels failed");
                    self.stats.cancel_failed += ids.len() as u64;
                    (Vec::new(), Vec::new())
                }
            };
            let canceled: FxHashSet<&str> = canceled.iter().map(String::as_str).collect();
            let gone: FxHashSet<&str> = not.iter().map(|(id, _)| id.as_str()).collect();
            for (i, slot, id) in &batch.cancels {
                let s = &mut self.markets[*i];
                if canceled.contains(id.as_str()) {
                    s.report.canceled += 1;
                } else if !gone.contains(id.as_str()) {
                    // Unknown: it may still rest. Keep it; nothing replaces it now.
                    blocked.insert((*i, *slot));
                    continue;
                }
                if s.slots[*slot].as_ref().is_some_and(|r| &r.order_id == id) {
                    s.slots[*slot] = None;
                }
            }
        }
        let places: Vec<(usize, usize, Quote, bool)> = batch
            .places
            .into_iter()
            .filter(|(i, slot, _, _)| {
                !blocked.contains(&(*i, *slot)) && self.markets[*i].slots[*slot].is_none()
            })
            .collect();
        if places.is_empty() {
            self.rewards_clock(now);
            return;
        }
        let orders: Vec<NewOrder> = places
            .iter()
            .map(|(i, slot, q, _)| {
                let s = &self.markets[*i];
                let mut request = OrderRequest::limit(s.token(q.outcome), q.side, q.price, q.size);
                request.order_type = OrderType::Gtc;
                request.post_only = true;
                let plan_id = self.next_plan;
                self.next_plan += 1;
                NewOrder {
                    plan_id,
                    client_oid: *slot as u64,
                    request,
                    rules: s.m.rules,
                    fees: s.m.fees,
                }
            })
            .collect();
        self.stats.place_batches += orders
            .len()
            .div_ceil(crate::adapters::polymarket::http::clob::MAX_BATCH)
            as u64;
        let results = manager.submit(&orders);
        for ((i, slot, q, replace), r) in places.into_iter().zip(results) {
            let s = &mut self.markets[i];
            match (&r.outcome, r.order_id) {
                (SubmitOutcome::Accepted(state), Some(id)) => {
                    s.report.placed += 1;
                    if replace {
                        s.report.replaced += 1;
                    }
                    self.ours.insert(id.clone(), s.m.condition_id.clone());
                    if !state.is_final() {
                        s.slots[slot] = Some(Resting {
                            order_id: id,
                            quote: q,
                        });
                    }
                }
                (SubmitOutcome::Unknown, Some(id)) => {
                    // It may rest: keep it as resting; a later cancel settles it.
                    self.ours.insert(id.clone(), s.m.condition_id.clone());
                    s.slots[slot] = Some(Resting {
                        order_id: id,
                        quote: q,
                    });
                }
                (SubmitOutcome::Rejected(e), _) => {
                    s.report.rejected += 1;
                    if e.to_string().contains("crosses book") {
                        self.stats.crossing_rejects += 1;
                    }
                    tracing::warn!(market = %s.m.label, error = %e, "quote refused");
                }
                _ => {}
            }
        }
        self.rewards_clock(now);
        self.update_heartbeat(manager);
    }

    /// Adds the time since the last look to each market whose quotes are rewards-eligible.
    fn rewards_clock(&mut self, now: Instant) {
        for s in &mut self.markets {
            if let Some(since) = s.eligible_since.take() {
                s.report.rewards_ms += now.saturating_duration_since(since).as_millis() as u64;
            }
            let eligible = s.slots.iter().flatten().any(|r| {
                rewards_eligible(
                    s.m.rewards_min_size,
                    s.m.rewards_max_spread,
                    &s.top,
                    r.quote.yes_price(),
                    r.quote.size,
                )
            });
            if eligible {
                s.eligible_since = Some(now);
            }
        }
    }

    /// Starts the heartbeats when a quote rests, stops them when none does.
    fn update_heartbeat<J: OrderJournal>(&mut self, manager: &OrderManager<J>) {
        let any = self.resting_any();
        match (&self.heartbeat, any) {
            (None, true) => {
                let every = Duration::from_millis(self.cfg.heartbeat_ms);
                match Heartbeat::start(manager.client().clone(), every) {
                    Ok(h) => {
                        self.hb_restarts = h.stats.restarts.load(Ordering::Relaxed);
                        self.heartbeat = Some(h);
                    }
                    Err(e) => tracing::error!(error = %e, "cannot start the heartbeats"),
                }
            }
            (Some(_), false) if self.hb_wait.is_none() => {
                if let Some(mut h) = self.heartbeat.take() {
                    h.stop();
                }
            }
            _ => {}
        }
    }

    /// A user-channel message: the manager applies it; fills of our quotes are counted per
    /// market with the spread they captured.
    pub fn on_user<J: OrderJournal>(&mut self, manager: &mut OrderManager<J>, msg: &UserMessage) {
        if let UserMessage::Event(ev) = msg
            && let UserEvent::Trade(tr) = &**ev
            && tr.status != TradeStatus::Failed
        {
            let ours = |id: &str| self.ours.contains_key(id);
            for (order_id, f) in Positions::fills_of(tr, &ours) {
                if !self.seen_fills.insert((tr.id.clone(), order_id.clone())) {
                    continue;
                }
                let Some(i) = self.ours.get(&order_id).and_then(|c| self.index_of(c)) else {
                    continue;
                };
                let s = &mut self.markets[i];
                s.report.fills += 1;
                s.report.filled += f.shares.0;
                let mid = i128::from(s.top.bid.0 + s.top.ask.0) / 2;
                let yes_price = if f.token == s.m.no {
                    1_000_000 - i128::from(f.price.0)
                } else {
                    i128::from(f.price.0)
                };
                // A BUY YES or a SELL NO is bid-side on the YES book: it gains below mid.
                let bid_side = (f.token == s.m.yes) == (f.side == OrderSide::Buy);
                let per_share = if bid_side {
                    mid - yes_price
                } else {
                    yes_price - mid
                };
                s.report.captured += per_share * i128::from(f.shares.0) / 1_000_000;
            }
        }
        manager.on_user(msg);
    }

    /// Offers the complete sets market `i` acquired since its last offer to the merge hook.
    fn offer_sets<J: OrderJournal>(&mut self, manager: &OrderManager<J>, i: usize) {
        if self.merge.is_none() {
            return;
        }
        let inv = self.inventory(manager, i);
        let sets = inv.yes.0.min(inv.no.0) / crate::strategy::spread::quote::LOT
            * crate::strategy::spread::quote::LOT;
        let s = &mut self.markets[i];
        let new = sets.saturating_sub(s.sets_offered);
        if new == 0 {
            return;
        }
        if let Some(h) = &mut self.merge {
            h.offer(
                &s.m.condition_id,
                s.m.rules.neg_risk,
                [s.m.yes, s.m.no],
                Size(new),
            );
            s.sets_offered += new;
            s.report.sets_offered += new;
        }
    }

    /// Each market's report, figures as of now (PnL marked at its last midpoint).
    pub fn reports<J: OrderJournal>(&self, manager: &OrderManager<J>) -> Vec<MarketReport> {
        self.markets
            .iter()
            .map(|s| {
                let mut r = s.report.clone();
                let (y, n) = (
                    manager.positions.get(&s.m.yes),
                    manager.positions.get(&s.m.no),
                );
                r.yes = Size(u64::try_from(y.shares.max(0)).unwrap_or(0));
                r.no = Size(u64::try_from(n.shares.max(0)).unwrap_or(0));
                r.realized = y.realized + n.realized;
                r.fees = y.fees + n.fees;
                let mid = i128::from(s.top.bid.0 + s.top.ask.0) / 2;
                let mark = |shares: i128, price: i128| shares * price / 1_000_000;
                r.mtm = r.realized + mark(y.shares, mid) - y.cost + mark(n.shares, 1_000_000 - mid)
                    - n.cost;
                let view = |slot: &Option<Resting>| {
                    slot.as_ref().map(|x| {
                        let side = match x.quote.side {
                            OrderSide::Buy => "BUY",
                            OrderSide::Sell => "SELL",
                        };
                        (side, x.quote.outcome.as_str(), x.quote.price, x.quote.size)
                    })
                };
                r.bid = view(&s.slots[0]);
                r.ask = view(&s.slots[1]);
                r
            })
            .collect()
    }
}
