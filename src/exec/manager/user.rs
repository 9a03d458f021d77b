//! The order manager's user-channel side: `order` and `trade` events drive the order state
//! machine and the positions; each fill of ours is stored once per trade status, and the
//! positions it changed after it.

use crate::adapters::polymarket::ws::user::UserMessage;
use crate::adapters::polymarket::ws::user_events::{UserEvent, UserTrade};
use crate::core::{Amount, Size, TokenId};
use crate::storage::{FillRecord, PositionRecord};

use super::super::journal::OrderJournal;
use super::super::positions::{Fill, Positions};
use super::OrderManager;

impl<J: OrderJournal> OrderManager<J> {
    /// Applies a user-channel message.
    pub fn on_user(&mut self, msg: &UserMessage) {
        match msg {
            UserMessage::Connected => self.needs_reconcile = true,
            UserMessage::Disconnected(_) => {}
            UserMessage::Event(ev) => self.on_event(ev),
        }
    }

    pub fn on_event(&mut self, ev: &UserEvent) {
        match ev {
            UserEvent::Order(o) => {
                if let Some(t) = self.orders.get_mut(&o.id) {
                    let before = (t.state, t.filled);
                    t.on_order_event(o);
                    if before != (t.state, t.filled) {
                        let id = o.id.clone();
                        self.journal_outcome(&id);
                    }
                }
            }
            UserEvent::Trade(tr) => {
                let orders = &self.orders;
                let ours = |id: &str| orders.contains_key(id);
                let fills = Positions::fills_of(tr, &ours);
                let changes = self.positions.on_trade(tr, &ours);
                self.store_fills(tr, &fills, &changes);
                for (id, fill, applied) in changes {
                    if let Some(t) = self.orders.get_mut(&id) {
                        if applied {
                            t.on_trade(tr, fill.shares.0);
                        } else {
                            t.on_trade_failed(&tr.id);
                        }
                    }
                    self.journal_outcome(&id);
                }
            }
        }
    }

    /// Stores our fills of a trade (once per trade status) and the positions they changed.
    fn store_fills(
        &mut self,
        tr: &UserTrade,
        fills: &[(String, Fill)],
        changes: &[(String, Fill, bool)],
    ) {
        let now = crate::storage::time::unix_now_ns();
        // The venue spells `match_time` in seconds.
        let match_ms = (tr.match_time > 0).then(|| {
            if tr.match_time < 100_000_000_000 {
                tr.match_time.saturating_mul(1000)
            } else {
                tr.match_time
            }
        });
        for (id, f) in fills {
            let rec = FillRecord {
                trade_id: tr.id.clone(),
                order_hash: id.clone(),
                token: f.token,
                side: f.side.book_side(),
                price: f.price,
                size: f.shares,
                fee: Amount(0),
                trader_side: Some(
                    if *id == tr.taker_order_id {
                        "TAKER"
                    } else {
                        "MAKER"
                    }
                    .into(),
                ),
                status: tr.status.as_str().to_string(),
                match_time_ms: match_ms,
                recv_ns: now,
            };
            if self.journal.record_fill(&rec).is_err() {
                self.stats.journal_errors += 1;
            }
        }
        let mut tokens: Vec<TokenId> = changes.iter().map(|(_, f, _)| f.token).collect();
        tokens.sort_unstable();
        tokens.dedup();
        for token in tokens {
            let p = self.positions.get(&token);
            // Stored columns are unsigned: a short position or a net receipt is stored as 0
            // (realised PnL is not tracked yet).
            let rec = PositionRecord {
                token,
                size: Size(u64::try_from(p.shares.max(0)).unwrap_or(u64::MAX)),
                cost: Amount(u64::try_from(p.cost.max(0)).unwrap_or(u64::MAX)),
                realized_pnl: 0,
                updated_ns: now,
            };
            if self.journal.record_position(&rec).is_err() {
                self.stats.journal_errors += 1;
            }
        }
    }
}
