//! The order manager's recovery: an order whose answer was lost is looked up by hash (then
//! among its token's trades) before anything is sent again, and `reconcile` settles every
//! order the journal left `sent`/`unknown` (after a restart or a user-channel reconnect).
//!
//! Production answers `GET /data/order/{id}` only for open orders: a matched or canceled one
//! is not found there, so what a closed order filled is read from `GET /data/trades` alone,
//! even from a venue that does answer for closed orders.

use std::time::Duration;

use crate::adapters::polymarket::http::clob::types::lenient_micros;
use crate::adapters::polymarket::http::clob::{
    AckStatus, ClobError, Filter, OrderAck, PreparedOrder,
};
use crate::adapters::polymarket::signing::OrderSide;
use crate::core::TokenId;

use super::super::journal::{JournalEntry, OrderJournal};
use super::super::order::{OrderState, TrackedOrder};
use super::{OrderManager, ReconcileReport, SubmitOutcome};

/// A journaled order as the manager follows it, new (`None`: a token id that does not parse).
fn tracked(e: &JournalEntry) -> Option<TrackedOrder> {
    let token = TokenId::parse(&e.token_id).ok()?;
    Some(TrackedOrder::new(
        e.plan_id,
        e.client_oid,
        e.order_id.clone(),
        token,
        e.side,
        e.price,
        e.size,
        e.order_type,
    ))
}

impl<J: OrderJournal> OrderManager<J> {
    /// Settles an order whose answer was lost: look it up by hash, then by its trades; only
    /// if the venue knows nothing of it, send the same signed order again.
    pub(super) fn resolve(&mut self, p: &PreparedOrder) -> SubmitOutcome {
        let id = p.order_id.clone();
        for attempt in 0..self.cfg.lookup_attempts.max(1) {
            if attempt > 0 {
                std::thread::sleep(Duration::from_millis(self.cfg.lookup_pause_ms));
            }
            match self.lookup(&id) {
                Ok(true) => {
                    self.stats.resolved_by_lookup += 1;
                    return SubmitOutcome::Accepted(self.orders[&id].state);
                }
                Ok(false) => {}
                Err(_) => continue,
            }
            // The venue has never seen it: the same signed order cannot be taken twice.
            self.stats.resent_same_hash += 1;
            match self.client.post_order(p) {
                Ok(ack) => {
                    if let Some(t) = self.orders.get_mut(&id) {
                        t.on_ack(&ack);
                    }
                    return SubmitOutcome::Accepted(self.orders[&id].state);
                }
                Err(e) if e.outcome_unknown() || matches!(e, ClobError::Duplicated(_)) => {}
                Err(e) => {
                    if let Some(t) = self.orders.get_mut(&id) {
                        t.on_rejected(&e.to_string());
                    }
                    return SubmitOutcome::Rejected(e);
                }
            }
        }
        SubmitOutcome::Unknown
    }

    /// Looks an order up at the venue: by id, then among its token's trades. Returns whether
    /// the venue knows it (and applies what it says).
    fn lookup(&mut self, id: &str) -> Result<bool, ClobError> {
        // Only an open order's answer is used (what production gives); a closed one's fills
        // are counted from its trades below.
        let mut closed = false;
        if let Some(found) = self.client.order(id)? {
            if found.status.eq_ignore_ascii_case("LIVE") {
                if let Some(t) = self.orders.get_mut(id) {
                    t.on_lookup(Some(&found));
                }
                self.journal_outcome(id);
                return Ok(true);
            }
            closed = true;
        }
        let Some(token) = self.orders.get(id).map(|t| t.token_id) else {
            return Ok(closed);
        };
        let trades = self.client.trades(&Filter {
            asset_id: Some(token.to_string()),
            ..Filter::default()
        })?;
        let mut shares = 0u64;
        let mut seen = false;
        for tr in &trades {
            if tr.taker_order_id == id {
                seen = true;
                shares += lenient_micros(&tr.size).unwrap_or(0);
            }
            for m in tr.maker_orders.iter().filter(|m| m.order_id == id) {
                seen = true;
                shares += lenient_micros(&m.matched_amount).unwrap_or(0);
            }
        }
        if !seen {
            if closed {
                // Known to the venue, over, and no trade of it: canceled or killed unfilled.
                if let Some(t) = self.orders.get_mut(id) {
                    t.on_canceled();
                }
                self.journal_outcome(id);
            }
            return Ok(closed);
        }
        if let Some(t) = self.orders.get_mut(id) {
            let ack = OrderAck {
                order_id: id.to_string(),
                status: AckStatus::Matched,
                making: if t.side == OrderSide::Sell { shares } else { 0 },
                taking: if t.side == OrderSide::Buy { shares } else { 0 },
                trade_ids: Vec::new(),
                transaction_hashes: Vec::new(),
            };
            t.on_ack(&ack);
        }
        self.journal_outcome(id);
        Ok(true)
    }

    /// Follows an order of a plan the journal left open (after a restart) as journaled; an
    /// order already followed (a reconciled one) is kept as it is. One journaled without an
    /// outcome is looked up by the next reconcile.
    pub fn adopt(&mut self, e: &JournalEntry) {
        if self.orders.contains_key(&e.order_id) {
            return;
        }
        let Some(mut t) = tracked(e) else {
            return;
        };
        t.state = e.state;
        t.filled = e.filled;
        if !t.state.is_final() {
            self.needs_reconcile = true;
        }
        self.by_client
            .insert((e.plan_id, e.client_oid), e.order_id.clone());
        self.orders.insert(e.order_id.clone(), t);
    }

    /// Journals how a plan ended (a failure is counted as a journal error).
    pub fn journal_plan_outcome(&mut self, plan_id: u64, outcome: &str) {
        if self.journal.record_plan_outcome(plan_id, outcome).is_err() {
            self.stats.journal_errors += 1;
        }
    }

    /// Settles every order whose outcome is unknown (the journal's, after a restart, and
    /// those still open here): each is looked up by hash.
    pub fn reconcile(&mut self) -> ReconcileReport {
        self.needs_reconcile = false;
        let mut report = ReconcileReport::default();
        if let Ok(entries) = self.journal.unknown() {
            for e in entries {
                if !self.orders.contains_key(&e.order_id) {
                    let Some(mut t) = tracked(&e) else {
                        continue;
                    };
                    t.on_sent();
                    t.on_unknown("found unresolved in the journal");
                    self.by_client
                        .insert((e.plan_id, e.client_oid), e.order_id.clone());
                    self.orders.insert(e.order_id.clone(), t);
                }
            }
        }
        let open: Vec<String> = self
            .orders
            .values()
            .filter(|t| !t.state.is_final() && t.state != OrderState::New)
            .map(|t| t.order_id.clone())
            .collect();
        for id in open {
            report.checked += 1;
            match self.lookup(&id) {
                Ok(true) => report.resolved += 1,
                Ok(false) => {
                    // Journaled but never received by the venue: nothing rests.
                    let sent = self.orders.get(&id).map(|t| t.state);
                    if matches!(sent, Some(OrderState::Sent | OrderState::Unknown)) {
                        if let Some(t) = self.orders.get_mut(&id) {
                            t.on_rejected("never reached the venue");
                        }
                        self.journal_outcome(&id);
                        report.resolved += 1;
                    } else {
                        report.still_unknown += 1;
                    }
                }
                Err(_) => report.still_unknown += 1,
            }
        }
        report
    }
}
