//! The order manager's user-channel side: `order` and `trade` events drive the order state
//! machine and the positions; each fill of ours is stored once per trade status, with its
//! fee (takers pay the market's schedule, makers nothing), and the positions it changed after
//! it.

use crate::adapters::polymarket::ws::user::UserMessage;
use crate::adapters::polymarket::ws::user_events::{UserEvent, UserTrade};
use crate::core::{Amount, Size, TokenId};
use crate::storage::{FillRecord, PositionRecord};

use super::super::journal::OrderJournal;
use super::super::positions::{Fill, Position, Positions};
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
                let mut fills = Positions::fills_of(tr, &ours);
                for (id, f) in &mut fills {
                    if *id == tr.taker_order_id {
                        f.fee = self.taker_fee(f);
                    }
                }
                let changes = self.positions.on_fills(&tr.id, &tr.status, fills.clone());
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

    /// The fee of a fill of ours as taker: the token's schedule applied (makers pay none).
    /// Unknown schedule: 0, counted (the user channel reports only a rate, not the curve).
    fn taker_fee(&mut self, f: &Fill) -> Amount {
        match self.fees.get(&f.token) {
            Some(s) => s.taker_fee(f.price, f.shares),
            None => {
                self.stats.fees_unknown += 1;
                Amount::ZERO
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
                fee: f.fee,
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
            let rec = position_record(token, &self.positions.get(&token), now);
            if self.journal.record_position(&rec).is_err() {
                self.stats.journal_errors += 1;
            }
        }
    }
}

/// A token's position as the `positions` table stores it. Size and cost columns are unsigned:
/// a short position or a net receipt is stored as 0; realized PnL is signed.
pub(super) fn position_record(token: TokenId, p: &Position, now: u64) -> PositionRecord {
    PositionRecord {
        token,
        size: Size(u64::try_from(p.shares.max(0)).unwrap_or(u64::MAX)),
        cost: Amount(u64::try_from(p.cost.max(0)).unwrap_or(u64::MAX)),
        realized_pnl: i64::try_from(p.realized).unwrap_or(if p.realized < 0 {
            i64::MIN
        } else {
            i64::MAX
        }),
        updated_ns: now,
    }
}
