//! The order journal: what was about to be sent is written down before it is sent, so that
//! no outcome is ever unknown for good and no order is ever sent twice.
//!
//! Every order is recorded with its hash (the EIP-712 digest: the venue's order id) and its
//! client ids (`plan_id`, `client_oid`) *before* the request leaves; its outcome is recorded
//! when known. After a crash or a timeout, [`OrderJournal::unknown`] lists what was sent
//! without a known outcome, and the order manager looks each up by hash at the venue.
//!
//! Fills (one record per trade status) and positions go through the journal too, so that the
//! database keeps them beside the orders.
//!
//! [`MemoryJournal`] serves tests and dry runs; [`super::journal_db::StorageJournal`] (SQLite,
//! through the storage writer) implements the same trait.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use thiserror::Error;

use crate::adapters::polymarket::signing::{OrderSide, OrderType};
use crate::core::{Price, Size};
use crate::storage::{FillRecord, PositionRecord};

use super::order::OrderState;

#[derive(Debug, Error)]
pub enum JournalError {
    #[error("journal storage: {0}")]
    Storage(String),
}

/// One order as journaled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JournalEntry {
    pub plan_id: u64,
    pub client_oid: u64,
    /// `0x` + 64 hex: the venue's order id.
    pub order_id: String,
    pub token_id: String,
    pub side: OrderSide,
    pub price: Price,
    pub size: Size,
    pub order_type: OrderType,
    pub state: OrderState,
    /// Shares matched as last known.
    pub filled: Size,
    pub created_ms: u64,
}

/// Where orders are journaled.
pub trait OrderJournal: Send {
    /// Records an order about to be sent (state `Sent`). Must be durable before returning.
    fn record_intent(&mut self, entry: &JournalEntry) -> Result<(), JournalError>;

    /// Records several orders about to be sent as one: each result says whether that order
    /// may be sent. The database journal waits for one commit instead of one per order.
    fn record_intents(&mut self, entries: &[JournalEntry]) -> Vec<Result<(), JournalError>> {
        entries.iter().map(|e| self.record_intent(e)).collect()
    }

    /// Records what became of an order.
    fn record_outcome(
        &mut self,
        order_id: &str,
        state: OrderState,
        filled: Size,
    ) -> Result<(), JournalError>;

    /// Orders sent whose outcome is not known (`Sent` or `Unknown`), oldest first.
    fn unknown(&self) -> Result<Vec<JournalEntry>, JournalError>;

    /// The order of a plan's leg, if one was ever journaled (idempotency).
    fn find(&self, plan_id: u64, client_oid: u64) -> Result<Option<JournalEntry>, JournalError>;

    /// Records a fill of one of our orders (again with each new trade status).
    fn record_fill(&mut self, _fill: &FillRecord) -> Result<(), JournalError> {
        Ok(())
    }

    /// Records the inventory of a token after a fill changed it.
    fn record_position(&mut self, _position: &PositionRecord) -> Result<(), JournalError> {
        Ok(())
    }

    /// Every fill recorded, one per (trade, order) with its latest status, in the order they
    /// were first recorded: what positions are rebuilt from at start.
    fn stored_fills(&self) -> Result<Vec<FillRecord>, JournalError> {
        Ok(Vec::new())
    }

    /// The positions as last recorded (token id, shares, cost, realized PnL).
    fn stored_positions(&self) -> Result<Vec<PositionRecord>, JournalError> {
        Ok(Vec::new())
    }

    /// The venue's id (hash) of every order ever journaled.
    fn order_ids(&self) -> Result<Vec<String>, JournalError> {
        Ok(Vec::new())
    }

    /// Records an event of the risk controls (a breaker's trip, a kill, a reset, a
    /// reconciliation's corrections).
    fn record_event(&mut self, _action: &str, _detail: &str) -> Result<(), JournalError> {
        Ok(())
    }

    /// Records how a plan ended once every leg was final (paired, or unwound and what was
    /// left unsold). A plan with an outcome is never restored after a restart.
    fn record_plan_outcome(&mut self, _plan_id: u64, _outcome: &str) -> Result<(), JournalError> {
        Ok(())
    }

    /// Every order (legs and unwinds) of the plans journaled without an outcome, in
    /// journaling order: what a restart finishes.
    fn open_plans(&self) -> Result<Vec<JournalEntry>, JournalError> {
        Ok(Vec::new())
    }
}

#[derive(Default)]
struct Inner {
    entries: Vec<JournalEntry>,
    by_id: BTreeMap<String, usize>,
    fills: Vec<FillRecord>,
    positions: Vec<PositionRecord>,
    events: Vec<(String, String)>,
    /// Plans with an outcome (plan id, outcome), in order.
    plans: Vec<(u64, String)>,
}

/// An in-memory journal. Clones share the same entries, so a test can "restart" an order
/// manager on the journal its predecessor wrote.
#[derive(Clone, Default)]
pub struct MemoryJournal {
    inner: Arc<Mutex<Inner>>,
}

impl MemoryJournal {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every entry, in journaling order.
    pub fn entries(&self) -> Vec<JournalEntry> {
        self.lock().entries.clone()
    }

    /// Every fill recorded, in order (one per trade status seen).
    pub fn fills(&self) -> Vec<FillRecord> {
        self.lock().fills.clone()
    }

    /// Every position recorded, in order.
    pub fn positions(&self) -> Vec<PositionRecord> {
        self.lock().positions.clone()
    }

    /// Every plan outcome recorded (plan id, outcome), in order.
    pub fn plan_outcomes(&self) -> Vec<(u64, String)> {
        self.lock().plans.clone()
    }

    /// Every risk event recorded (action, detail), in order.
    pub fn events(&self) -> Vec<(String, String)> {
        self.lock().events.clone()
    }
}

impl OrderJournal for MemoryJournal {
    fn record_intent(&mut self, entry: &JournalEntry) -> Result<(), JournalError> {
        let mut g = self.lock();
        let i = g.entries.len();
        g.entries.push(entry.clone());
        g.by_id.insert(entry.order_id.clone(), i);
        Ok(())
    }

    fn record_outcome(
        &mut self,
        order_id: &str,
        state: OrderState,
        filled: Size,
    ) -> Result<(), JournalError> {
        let mut g = self.lock();
        let Some(&i) = g.by_id.get(order_id) else {
            return Err(JournalError::Storage(format!(
                "outcome for an order never journaled: {order_id}"
            )));
        };
        let e = &mut g.entries[i];
        e.state = state;
        e.filled = filled;
        Ok(())
    }

    fn unknown(&self) -> Result<Vec<JournalEntry>, JournalError> {
        Ok(self
            .lock()
            .entries
            .iter()
            .filter(|e| matches!(e.state, OrderState::Sent | OrderState::Unknown))
            .cloned()
            .collect())
    }

    fn find(&self, plan_id: u64, client_oid: u64) -> Result<Option<JournalEntry>, JournalError> {
        Ok(self
            .lock()
            .entries
            .iter()
            .rev()
            .find(|e| e.plan_id == plan_id && e.client_oid == client_oid)
            .cloned())
    }

    fn record_fill(&mut self, fill: &FillRecord) -> Result<(), JournalError> {
        self.lock().fills.push(fill.clone());
        Ok(())
    }

    fn record_position(&mut self, position: &PositionRecord) -> Result<(), JournalError> {
        self.lock().positions.push(position.clone());
        Ok(())
    }

    fn stored_fills(&self) -> Result<Vec<FillRecord>, JournalError> {
        let g = self.lock();
        let mut out: Vec<FillRecord> = Vec::new();
        for f in &g.fills {
            match out
                .iter_mut()
                .find(|o| o.trade_id == f.trade_id && o.order_hash == f.order_hash)
            {
                Some(o) => o.status = f.status.clone(),
                None => out.push(f.clone()),
            }
        }
        Ok(out)
    }

    fn stored_positions(&self) -> Result<Vec<PositionRecord>, JournalError> {
        let g = self.lock();
        let mut last: BTreeMap<String, PositionRecord> = BTreeMap::new();
        for p in &g.positions {
            last.insert(p.token.to_string(), p.clone());
        }
        Ok(last.into_values().collect())
    }

    fn order_ids(&self) -> Result<Vec<String>, JournalError> {
        Ok(self
            .lock()
            .entries
            .iter()
            .map(|e| e.order_id.clone())
            .collect())
    }

    fn record_event(&mut self, action: &str, detail: &str) -> Result<(), JournalError> {
        self.lock()
            .events
            .push((action.to_string(), detail.to_string()));
        Ok(())
    }

    fn record_plan_outcome(&mut self, plan_id: u64, outcome: &str) -> Result<(), JournalError> {
        self.lock().plans.push((plan_id, outcome.to_string()));
        Ok(())
    }

    fn open_plans(&self) -> Result<Vec<JournalEntry>, JournalError> {
        let g = self.lock();
        Ok(g.entries
            .iter()
            .filter(|e| !g.plans.iter().any(|(p, _)| *p == e.plan_id))
            .cloned()
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(oid: u64, id: &str) -> JournalEntry {
        JournalEntry {
            plan_id: 7,
            client_oid: oid,
            order_id: id.into(),
            token_id: "1".into(),
            side: OrderSide::Buy,
            price: Price(500_000),
            size: Size(10_000_000),
            order_type: OrderType::Fok,
            state: OrderState::Sent,
            filled: Size::ZERO,
            created_ms: 1,
        }
    }

    #[test]
    fn unknown_until_an_outcome_and_shared_by_clones() {
        let mut j = MemoryJournal::new();
        j.record_intent(&entry(1, "0xa")).unwrap();
        j.record_intent(&entry(2, "0xb")).unwrap();
        let restarted = j.clone();
        assert_eq!(restarted.unknown().unwrap().len(), 2);
        j.record_outcome("0xa", OrderState::Filled, Size(10_000_000))
            .unwrap();
        let u = restarted.unknown().unwrap();
        assert_eq!(u.len(), 1);
        assert_eq!(u[0].order_id, "0xb");
        assert_eq!(
            restarted.find(7, 1).unwrap().unwrap().state,
            OrderState::Filled
        );
        assert!(
            j.record_outcome("0xz", OrderState::Live, Size::ZERO)
                .is_err()
        );
    }
}
