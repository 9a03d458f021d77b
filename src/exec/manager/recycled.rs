//! The order manager's side of capital recycling: complete sets merged or converted back into
//! pUSD leave the positions as fills of their own, stored like the user channel's, so that a
//! restart (which rebuilds the positions from the stored fills) does not see them again.
//!
//! A set's tokens leave at prices whose proceeds add up to exactly what the set freed: a
//! merged set's YES at 1 and its NO at 0 (1 pUSD); a converted set of N NOs, N − 1 of them at 1
//! and the last at 0 (N − 1 pUSD). Each token's cost basis is released as for a sale, so the
//! realized PnL of the set is what it freed less what it cost, exact to the micro-pUSD.

use crate::adapters::polymarket::signing::OrderSide;
use crate::adapters::polymarket::ws::user_events::TradeStatus;
use crate::core::{Amount, Price, TokenId};
use crate::settlement::recycle::{Recycled, SetKey};
use crate::storage::FillRecord;

use super::super::journal::OrderJournal;
use super::super::positions::Fill;
use super::OrderManager;
use super::user::position_record;

impl<J: OrderJournal> OrderManager<J> {
    /// Takes a recycled batch's sets out of the positions (once: a repeat is ignored) and
    /// journals the fills and the positions they changed.
    pub fn on_recycled(&mut self, r: &Recycled) {
        let now = crate::storage::time::unix_now_ns();
        let mut fills = Vec::new();
        for (i, item) in r.items.iter().enumerate() {
            let paid = match item.key {
                SetKey::Merge { .. } => 1,
                SetKey::Convert { questions, .. } => questions.saturating_sub(1) as usize,
            };
            for (k, token) in item.tokens.iter().enumerate() {
                let price = if k < paid { Price::ONE } else { Price::ZERO };
                let fill = Fill {
                    token: *token,
                    side: OrderSide::Sell,
                    price,
                    shares: crate::core::Size(item.sets),
                    fee: Amount::ZERO,
                };
                fills.push((format!("{}:{i}:{k}", r.id), fill));
            }
        }
        let changes = self
            .positions
            .on_fills(&r.id, &TradeStatus::Confirmed, fills.clone());
        for (order_hash, f) in &fills {
            if !changes
                .iter()
                .any(|(id, _, applied)| id == order_hash && *applied)
            {
                continue;
            }
            let rec = FillRecord {
                trade_id: r.id.clone(),
                order_hash: order_hash.clone(),
                token: f.token,
                side: f.side.book_side(),
                price: f.price,
                size: f.shares,
                fee: f.fee,
                trader_side: None,
                status: TradeStatus::Confirmed.as_str().to_string(),
                match_time_ms: Some(now / 1_000_000),
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
        let _ = self.journal_event(
            "recycled",
            &format!("{}: {} sets, {} pUSD freed", r.id, r.items.len(), r.freed),
        );
    }
}
