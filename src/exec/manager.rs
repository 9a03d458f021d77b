//! The order manager: sends orders so that an unknown outcome never causes a double order,
//! and keeps every order's state, fills and the positions they make.
//!
//! Sending: each order is signed first (its hash, the venue's id, is then known), journaled
//! with its client ids, and only then sent, as one `POST /orders` (split by the client past 15).
//! Idempotency: a (`plan_id`, `client_oid`) already in memory or in the journal is never sent
//! again. Unknown outcomes (timeout, broken connection, 5xx): the order is looked up by hash
//! (`GET /data/order/{id}`, then its trades); only if the venue knows nothing of it is the
//! *same signed order* sent again, which the venue cannot accept twice. `order_version_mismatch`:
//! re-read `GET /version`, re-sign, journal the new hash, send once more.
//!
//! Cancel/replace happens only when the price moved at least `replace_min_ticks` or the size
//! changed, and at most once per `replace_min_interval_ms` per token.
//!
//! `recovery`: look-ups by hash and `reconcile`; `user`: the user channel's events, fills
//! and positions; `restore`: positions rebuilt from the journal at start and reconciled with
//! the venue's trades and balances.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rustc_hash::FxHashMap;
use serde::Deserialize;

use crate::adapters::polymarket::http::clob::{ClobClient, ClobError, MAX_BATCH, PreparedOrder};
use crate::adapters::polymarket::signing::{MarketRules, OrderRequest, OrderSide};
use crate::core::fees::FeeSchedule;
use crate::core::{Price, Size, TickSize, TokenId};

use super::journal::{JournalEntry, JournalError, OrderJournal};
use super::order::{OrderState, TrackedOrder};
use super::positions::Positions;

mod recovery;
mod recycled;
mod restore;
mod user;

/// `[exec]` settings.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct ExecConfig {
    /// A resting order is replaced only if the new price is at least this many ticks away
    /// (or the size changed).
    pub replace_min_ticks: u32,
    /// At most one replace per token per this many milliseconds.
    pub replace_min_interval_ms: u64,
    /// Look-ups of an order whose outcome is unknown before giving up until the next
    /// reconcile.
    pub lookup_attempts: u32,
    /// Pause between look-ups.
    pub lookup_pause_ms: u64,
}

impl Default for ExecConfig {
    fn default() -> Self {
        Self {
            replace_min_ticks: 2,
            replace_min_interval_ms: 500,
            lookup_attempts: 3,
            lookup_pause_ms: 50,
        }
    }
}

/// An order to send: a strategy's leg with its client ids.
#[derive(Clone, Debug)]
pub struct NewOrder {
    pub plan_id: u64,
    pub client_oid: u64,
    pub request: OrderRequest,
    pub rules: MarketRules,
    /// The market's taker fee schedule (Gamma `feeSchedule`); `None` if unknown. Fills of
    /// ours as taker on this token are stored with the fee it gives.
    pub fees: Option<FeeSchedule>,
}

/// What became of one order of a submission.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubmitOutcome {
    /// The venue took it; its state now.
    Accepted(OrderState),
    /// Refused (locally or by the venue); nothing rests.
    Rejected(ClobError),
    /// These client ids were sent before: nothing was sent now.
    AlreadySent(OrderState),
    /// Still unknown after the look-ups (reconcile will settle it); never resent blindly.
    Unknown,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubmitResult {
    pub client_oid: u64,
    pub order_id: Option<String>,
    pub outcome: SubmitOutcome,
}

/// A batch cancel's answer: the ids canceled, and those not (with the venue's reason).
pub type CancelOutcome = (Vec<String>, Vec<(String, String)>);

/// What a replace request did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplaceDecision {
    /// Not worth it (moved less than the threshold, same size) or the order is over.
    Kept(&'static str),
    /// Too soon after the last replace on this token.
    Throttled,
    Replaced(SubmitResult),
    /// The cancel failed; the old order may still rest.
    CancelFailed(ClobError),
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExecStats {
    pub submitted: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub unknown: u64,
    pub resolved_by_lookup: u64,
    pub resent_same_hash: u64,
    pub version_retries: u64,
    pub already_sent: u64,
    pub journal_errors: u64,
    pub replaces: u64,
    pub replace_throttled: u64,
    /// Taker fills on a token whose fee schedule is unknown (stored with fee 0).
    pub fees_unknown: u64,
}

/// What a reconcile found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReconcileReport {
    pub checked: u64,
    pub resolved: u64,
    pub still_unknown: u64,
}

pub struct OrderManager<J: OrderJournal> {
    client: Arc<ClobClient>,
    journal: J,
    cfg: ExecConfig,
    orders: FxHashMap<String, TrackedOrder>,
    by_client: FxHashMap<(u64, u64), String>,
    pub positions: Positions,
    /// Taker fee schedules by token (from the orders sent, or [`Self::set_fees`]).
    fees: FxHashMap<TokenId, FeeSchedule>,
    last_replace: FxHashMap<TokenId, Instant>,
    /// Set when the user channel (re)connects: events may have been missed.
    pub needs_reconcile: bool,
    pub stats: ExecStats,
    /// The id of every order this manager sent, in sending order (the exposure guard follows
    /// them until they are final).
    sent: Vec<String>,
}

fn shares_of(p: &PreparedOrder) -> Size {
    let o = &p.signed.order;
    Size(match o.side {
        OrderSide::Buy => o.taker_amount,
        OrderSide::Sell => o.maker_amount,
    })
}

impl<J: OrderJournal> OrderManager<J> {
    pub fn new(client: Arc<ClobClient>, journal: J, cfg: ExecConfig) -> Self {
        Self {
            client,
            journal,
            cfg,
            orders: FxHashMap::default(),
            by_client: FxHashMap::default(),
            positions: Positions::default(),
            fees: FxHashMap::default(),
            last_replace: FxHashMap::default(),
            needs_reconcile: false,
            stats: ExecStats::default(),
            sent: Vec::new(),
        }
    }

    /// The orders sent since the `from`-th (0: all of them), in sending order.
    pub fn sent_since(&self, from: usize) -> &[String] {
        self.sent.get(from..).unwrap_or(&[])
    }

    /// Records a token's taker fee schedule (a market known before any order is sent).
    pub fn set_fees(&mut self, token: TokenId, fees: FeeSchedule) {
        self.fees.insert(token, fees);
    }

    pub fn client(&self) -> &Arc<ClobClient> {
        &self.client
    }

    pub fn journal(&self) -> &J {
        &self.journal
    }

    /// Journals an event of the risk controls (a failure is counted as a journal error).
    pub fn journal_event(&mut self, action: &str, detail: &str) -> Result<(), JournalError> {
        let r = self.journal.record_event(action, detail);
        if r.is_err() {
            self.stats.journal_errors += 1;
        }
        r
    }

    pub fn order(&self, order_id: &str) -> Option<&TrackedOrder> {
        self.orders.get(order_id)
    }

    pub fn orders(&self) -> impl Iterator<Item = &TrackedOrder> {
        self.orders.values()
    }

    /// The order sent for a plan's leg.
    pub fn order_of(&self, plan_id: u64, client_oid: u64) -> Option<&TrackedOrder> {
        self.by_client
            .get(&(plan_id, client_oid))
            .and_then(|id| self.orders.get(id))
    }

    fn journal_outcome(&mut self, order_id: &str) {
        let Some(t) = self.orders.get(order_id) else {
            return;
        };
        let (state, filled) = (t.state, t.filled);
        if self
            .journal
            .record_outcome(order_id, state, filled)
            .is_err()
        {
            self.stats.journal_errors += 1;
        }
    }

    /// Sends new orders (one plan's legs go as one batch). See the module doc.
    pub fn submit(&mut self, batch: &[NewOrder]) -> Vec<SubmitResult> {
        let mut results: Vec<Option<SubmitResult>> = vec![None; batch.len()];
        let mut ready = Vec::with_capacity(batch.len());
        for (i, o) in batch.iter().enumerate() {
            self.stats.submitted += 1;
            if let Some(f) = o.fees {
                self.fees.insert(o.request.token_id, f);
            }
            let key = (o.plan_id, o.client_oid);
            let known = match self.by_client.get(&key) {
                Some(id) => self.orders.get(id).map(|t| (t.state, Some(id.clone()))),
                None => match self.journal.find(o.plan_id, o.client_oid) {
                    Ok(e) => e.map(|e| (e.state, Some(e.order_id))),
                    Err(_) => {
                        // Never send what cannot be journaled.
                        self.stats.journal_errors += 1;
                        Some((OrderState::Rejected, None))
                    }
                },
            };
            if let Some((state, order_id)) = known {
                self.stats.already_sent += 1;
                results[i] = Some(SubmitResult {
                    client_oid: o.client_oid,
                    order_id,
                    outcome: SubmitOutcome::AlreadySent(state),
                });
                continue;
            }
            match self.client.prepare(&o.request, &o.rules) {
                Ok(p) => ready.push((i, p)),
                Err(e) => {
                    self.stats.rejected += 1;
                    results[i] = Some(SubmitResult {
                        client_oid: o.client_oid,
                        order_id: None,
                        outcome: SubmitOutcome::Rejected(e),
                    });
                }
            }
        }
        let retry = self.send(batch, ready, &mut results);
        if !retry.is_empty() {
            // Signed for a version the venue no longer takes: re-read it, re-sign, once.
            self.stats.version_retries += 1;
            let refreshed = self.client.refresh_version();
            let mut again = Vec::new();
            for i in retry {
                let o = &batch[i];
                match refreshed
                    .clone()
                    .and_then(|_| self.client.prepare(&o.request, &o.rules))
                {
                    Ok(p) => again.push((i, p)),
                    Err(e) => {
                        results[i] = Some(SubmitResult {
                            client_oid: o.client_oid,
                            order_id: None,
                            outcome: SubmitOutcome::Rejected(e),
                        })
                    }
                }
            }
            for i in self.send(batch, again, &mut results) {
                results[i] = Some(SubmitResult {
                    client_oid: batch[i].client_oid,
                    order_id: None,
                    outcome: SubmitOutcome::Rejected(ClobError::VersionMismatch),
                });
            }
        }
        results
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                r.unwrap_or(SubmitResult {
                    client_oid: batch[i].client_oid,
                    order_id: None,
                    outcome: SubmitOutcome::Unknown,
                })
            })
            .collect()
    }

    /// Journals, sends and applies the answers. Returns the indices refused for the order
    /// version (to re-sign).
    fn send(
        &mut self,
        batch: &[NewOrder],
        ready: Vec<(usize, PreparedOrder)>,
        results: &mut [Option<SubmitResult>],
    ) -> Vec<usize> {
        let mut staged = Vec::with_capacity(ready.len());
        let mut entries = Vec::with_capacity(ready.len());
        for (i, p) in ready {
            let o = &batch[i];
            let t = TrackedOrder::new(
                o.plan_id,
                o.client_oid,
                p.order_id.clone(),
                o.request.token_id,
                o.request.side,
                o.request.price,
                shares_of(&p),
                o.request.order_type,
            );
            entries.push(JournalEntry {
                plan_id: o.plan_id,
                client_oid: o.client_oid,
                order_id: p.order_id.clone(),
                token_id: o.request.token_id.to_string(),
                side: o.request.side,
                price: o.request.price,
                size: t.size,
                order_type: o.request.order_type,
                state: OrderState::Sent,
                filled: Size::ZERO,
                created_ms: p.signed.order.timestamp_ms,
            });
            staged.push((i, p, t));
        }
        // Journal first: only what the journal took may leave.
        let verdicts = self.journal.record_intents(&entries);
        let mut sendable = Vec::with_capacity(staged.len());
        for ((i, p, mut t), verdict) in staged.into_iter().zip(verdicts) {
            let o = &batch[i];
            if verdict.is_err() {
                self.stats.journal_errors += 1;
                results[i] = Some(SubmitResult {
                    client_oid: o.client_oid,
                    order_id: None,
                    outcome: SubmitOutcome::Rejected(ClobError::Status {
                        status: 0,
                        message: "the journal refused the order; not sent".into(),
                    }),
                });
                continue;
            }
            t.on_sent();
            self.by_client
                .insert((o.plan_id, o.client_oid), p.order_id.clone());
            self.orders.insert(p.order_id.clone(), t);
            self.sent.push(p.order_id.clone());
            sendable.push((i, p));
        }
        if sendable.is_empty() {
            return Vec::new();
        }
        let prepared: Vec<PreparedOrder> = sendable.iter().map(|(_, p)| p.clone()).collect();
        let answers = self.client.post_orders(&prepared);
        let mut retry = Vec::new();
        for ((i, p), answer) in sendable.into_iter().zip(answers) {
            let id = p.order_id.clone();
            let outcome = match answer {
                Ok(ack) => {
                    if let Some(t) = self.orders.get_mut(&id) {
                        t.on_ack(&ack);
                    }
                    self.stats.accepted += 1;
                    SubmitOutcome::Accepted(self.orders[&id].state)
                }
                Err(ClobError::VersionMismatch) => {
                    if let Some(t) = self.orders.get_mut(&id) {
                        t.on_rejected("order_version_mismatch");
                    }
                    self.journal_outcome(&id);
                    self.by_client
                        .remove(&(batch[i].plan_id, batch[i].client_oid));
                    retry.push(i);
                    continue;
                }
                Err(e) if e.outcome_unknown() => {
                    self.stats.unknown += 1;
                    if let Some(t) = self.orders.get_mut(&id) {
                        t.on_unknown(&e.to_string());
                    }
                    self.journal_outcome(&id);
                    self.resolve(&p)
                }
                Err(e) => {
                    self.stats.rejected += 1;
                    if let Some(t) = self.orders.get_mut(&id) {
                        t.on_rejected(&e.to_string());
                    }
                    SubmitOutcome::Rejected(e)
                }
            };
            self.journal_outcome(&id);
            results[i] = Some(SubmitResult {
                client_oid: batch[i].client_oid,
                order_id: Some(id),
                outcome,
            });
        }
        retry
    }

    /// Cancels one order.
    pub fn cancel(&mut self, order_id: &str) -> Result<bool, ClobError> {
        let r = self.client.cancel(order_id)?;
        let done = r.canceled.iter().any(|c| c == order_id);
        if done && let Some(t) = self.orders.get_mut(order_id) {
            t.on_canceled();
        }
        self.journal_outcome(order_id);
        Ok(done)
    }

    /// Cancels every order of the key.
    pub fn cancel_all(&mut self) -> Result<usize, ClobError> {
        let r = self.client.cancel_all()?;
        for id in &r.canceled {
            if let Some(t) = self.orders.get_mut(id) {
                t.on_canceled();
            }
            self.journal_outcome(id);
        }
        Ok(r.canceled.len())
    }

    /// Whether moving a resting order to (`price`, `size`) is worth a cancel/replace.
    pub fn worth_replacing(
        &self,
        order_id: &str,
        price: Price,
        size: Size,
        tick: TickSize,
    ) -> bool {
        self.worth_replacing_by(order_id, price, size, tick, self.cfg.replace_min_ticks)
    }

    /// [`Self::worth_replacing`] with the caller's threshold of ticks (a strategy's own).
    pub fn worth_replacing_by(
        &self,
        order_id: &str,
        price: Price,
        size: Size,
        tick: TickSize,
        min_ticks: u32,
    ) -> bool {
        let Some(t) = self.orders.get(order_id) else {
            return false;
        };
        let moved = t.price.0.abs_diff(price.0) / tick.micros().max(1);
        size != t.size || moved >= min_ticks.max(1)
    }

    /// Cancels these orders, `DELETE /orders` batches of at most 15; returns the ids the venue
    /// canceled and those it did not (with its reason). A failed batch is an error only when no
    /// batch got through; the ids of failed batches are then left as they were.
    pub fn cancel_orders(&mut self, ids: &[String]) -> Result<CancelOutcome, ClobError> {
        let (mut canceled, mut not) = (Vec::new(), Vec::new());
        let mut last_err = None;
        for chunk in ids.chunks(MAX_BATCH) {
            match self.client.cancel_orders(chunk) {
                Ok(r) => {
                    for id in &r.canceled {
                        if let Some(t) = self.orders.get_mut(id) {
                            t.on_canceled();
                        }
                        self.journal_outcome(id);
                    }
                    canceled.extend(r.canceled);
                    not.extend(r.not_canceled);
                }
                Err(e) => last_err = Some(e),
            }
        }
        match last_err {
            Some(e) if canceled.is_empty() && not.is_empty() => Err(e),
            _ => Ok((canceled, not)),
        }
    }

    /// Cancel/replace: see the module doc for when it happens.
    pub fn replace(&mut self, order_id: &str, new: NewOrder) -> ReplaceDecision {
        let Some(t) = self.orders.get(order_id) else {
            return ReplaceDecision::Kept("unknown order");
        };
        if t.state.is_final() {
            return ReplaceDecision::Kept("order is over");
        }
        let size = match new.request.quantity {
            crate::adapters::polymarket::signing::Quantity::Shares(s) => s,
            crate::adapters::polymarket::signing::Quantity::MarketAmount(_) => Size(u64::MAX),
        };
        if !self.worth_replacing(order_id, new.request.price, size, new.rules.tick_size) {
            return ReplaceDecision::Kept("moved less than the replace threshold");
        }
        let token = t.token_id;
        let now = Instant::now();
        let gap = Duration::from_millis(self.cfg.replace_min_interval_ms);
        if self
            .last_replace
            .get(&token)
            .is_some_and(|&last| now.duration_since(last) < gap)
        {
            self.stats.replace_throttled += 1;
            return ReplaceDecision::Throttled;
        }
        self.last_replace.insert(token, now);
        match self.cancel(order_id) {
            Ok(_) => {}
            Err(e) => return ReplaceDecision::CancelFailed(e),
        }
        self.stats.replaces += 1;
        let mut r = self.submit(std::slice::from_ref(&new));
        ReplaceDecision::Replaced(r.pop().unwrap_or(SubmitResult {
            client_oid: new.client_oid,
            order_id: None,
            outcome: SubmitOutcome::Unknown,
        }))
    }
}
