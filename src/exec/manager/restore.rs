//! The order manager's start: positions rebuilt from the journal, then reconciled with the
//! venue, before any order is sent.
//!
//! Positions are folded from the journal's fills (each (trade, order) once, with its latest
//! status; FAILED ones left out), never taken from the stored `positions` rows, which are only
//! what the last run wrote after its last fill: a new fill then adds to what the journal
//! holds instead of replacing it. The venue is then asked for every trade of the account
//! (`GET /data/trades`): a fill of one of our orders that the journal lacks (the engine
//! stopped before the user channel delivered it), or holds with another status, is recorded
//! and applied. Each token's balance (`GET /balance-allowance`) is then compared with its
//! position. Differences are reported and logged, and the journal is corrected: missing
//! fills recorded, every position row rewritten from the fills, the reconciliation itself
//! journaled as a risk event.

use rustc_hash::{FxHashMap, FxHashSet};

use crate::adapters::polymarket::http::clob::types::lenient_micros;
use crate::adapters::polymarket::http::clob::{AssetType, Filter, TradeRecord};
use crate::adapters::polymarket::signing::OrderSide;
use crate::adapters::polymarket::ws::user_events::TradeStatus;
use crate::core::{Amount, Price, Side, Size, TokenId};
use crate::storage::FillRecord;

use super::super::journal::OrderJournal;
use super::super::positions::Fill;
use super::OrderManager;
use super::user::position_record;

/// What the start-up reconciliation found and did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RestoreReport {
    /// Fills read from the journal.
    pub journal_fills: usize,
    /// Tokens with shares held after the journal and the venue.
    pub positions: usize,
    /// Stored position rows that disagreed with the fills (rewritten).
    pub rows_corrected: Vec<String>,
    /// Trades the venue listed for the account.
    pub venue_trades: usize,
    /// Fills of ours the venue knows and the journal did not (recorded now).
    pub fills_added: usize,
    /// Fills whose status moved on at the venue (recorded now; FAILED ones undone).
    pub status_changed: usize,
    /// Tokens whose venue balance differs from the position (reported, not changed).
    pub balance_differences: Vec<String>,
    /// What could not be read (journal or venue); the positions are then the journal's.
    pub errors: Vec<String>,
}

impl RestoreReport {
    pub fn line(&self) -> String {
        let mut s = format!(
            "portfolio: {} fills in the journal · {} positions · venue trades {} · fills added {} · statuses moved {} · rows corrected {} · balances differing {}",
            self.journal_fills,
            self.positions,
            self.venue_trades,
            self.fills_added,
            self.status_changed,
            self.rows_corrected.len(),
            self.balance_differences.len()
        );
        for d in self.rows_corrected.iter().chain(&self.balance_differences) {
            s.push_str("\n  ");
            s.push_str(d);
        }
        for e in &self.errors {
            s.push_str("\n  error: ");
            s.push_str(e);
        }
        s
    }

    /// Whether the journal and the venue agreed as they were.
    pub fn agreed(&self) -> bool {
        self.fills_added == 0
            && self.status_changed == 0
            && self.rows_corrected.is_empty()
            && self.balance_differences.is_empty()
            && self.errors.is_empty()
    }
}

fn order_side(s: &str) -> Option<OrderSide> {
    match s.to_ascii_uppercase().as_str() {
        "BUY" => Some(OrderSide::Buy),
        "SELL" => Some(OrderSide::Sell),
        _ => None,
    }
}

fn opposite(s: OrderSide) -> OrderSide {
    match s {
        OrderSide::Buy => OrderSide::Sell,
        OrderSide::Sell => OrderSide::Buy,
    }
}

impl<J: OrderJournal> OrderManager<J> {
    /// Rebuilds the positions from the journal and reconciles them with the venue: see the
    /// module doc. Call once, before the first order.
    pub fn restore_positions(&mut self) -> RestoreReport {
        let mut rep = RestoreReport::default();
        let now = crate::storage::time::unix_now_ns();
        let stored = match self.journal.stored_fills() {
            Ok(f) => f,
            Err(e) => {
                rep.errors.push(format!("journal fills: {e}"));
                Vec::new()
            }
        };
        rep.journal_fills = stored.len();
        // (trade, order) → status as journaled.
        let mut known: FxHashMap<(String, String), String> = FxHashMap::default();
        for f in &stored {
            let fill = Fill {
                token: f.token,
                side: match f.side {
                    Side::Bid => OrderSide::Buy,
                    Side::Ask => OrderSide::Sell,
                },
                price: f.price,
                shares: f.size,
                fee: f.fee,
            };
            self.positions.on_fills(
                &f.trade_id,
                &TradeStatus::parse(&f.status),
                vec![(f.order_hash.clone(), fill)],
            );
            known.insert((f.trade_id.clone(), f.order_hash.clone()), f.status.clone());
        }
        let mut ours: FxHashSet<String> = self.orders.keys().cloned().collect();
        match self.journal.order_ids() {
            Ok(ids) => ours.extend(ids),
            Err(e) => rep.errors.push(format!("journal orders: {e}")),
        }
        let mut tokens: FxHashSet<TokenId> = stored.iter().map(|f| f.token).collect();
        match self.client.trades(&Filter::default()) {
            Ok(trades) => {
                rep.venue_trades = trades.len();
                for tr in &trades {
                    self.reconcile_trade(tr, &ours, &known, now, &mut rep, &mut tokens);
                }
            }
            Err(e) => rep.errors.push(format!(
                "GET /data/trades: {e} (positions are the journal's)"
            )),
        }
        // The stored rows against the fills: any difference is rewritten.
        let rows = match self.journal.stored_positions() {
            Ok(r) => r,
            Err(e) => {
                rep.errors.push(format!("journal positions: {e}"));
                Vec::new()
            }
        };
        let mut by_token: FxHashMap<TokenId, crate::storage::PositionRecord> = FxHashMap::default();
        for r in rows {
            tokens.insert(r.token);
            by_token.insert(r.token, r);
        }
        let mut sorted: Vec<TokenId> = tokens.into_iter().collect();
        sorted.sort_unstable();
        for token in &sorted {
            let want = position_record(*token, &self.positions.get(token), now);
            let differs = match by_token.get(token) {
                Some(r) => {
                    (r.size, r.cost, r.realized_pnl) != (want.size, want.cost, want.realized_pnl)
                }
                None => !want.size.is_zero() || want.realized_pnl != 0,
            };
            if differs {
                let was = by_token.get(token).map_or("no row".to_string(), |r| {
                    format!(
                        "{} shares, cost {}, realized {}",
                        r.size, r.cost, r.realized_pnl
                    )
                });
                rep.rows_corrected.push(format!(
                    "{token}: stored {was}; the fills make {} shares, cost {}, realized {}",
                    want.size, want.cost, want.realized_pnl
                ));
                if self.journal.record_position(&want).is_err() {
                    self.stats.journal_errors += 1;
                }
            }
            let held = self.positions.get(token).shares.max(0);
            if held > 0 || by_token.contains_key(token) {
                match self
                    .client
                    .balance_allowance(&AssetType::Conditional(token.to_string()))
                {
                    Ok(b) => {
                        let venue = b.balance_micros().map_or(-1, i128::from);
                        if venue != held {
                            rep.balance_differences.push(format!(
                                "{token}: the venue holds {} shares, the positions {}",
                                Size(u64::try_from(venue.max(0)).unwrap_or(0)),
                                Size(u64::try_from(held).unwrap_or(0))
                            ));
                        }
                    }
                    Err(e) => rep.errors.push(format!("balance of {token}: {e}")),
                }
            }
        }
        rep.positions = self
            .positions
            .all()
            .values()
            .filter(|p| p.shares != 0)
            .count();
        if rep.agreed() {
            tracing::info!("{}", rep.line());
        } else {
            tracing::warn!("{}", rep.line());
        }
        if self
            .journal
            .record_event("reconcile", &rep.line().replace('\n', " |"))
            .is_err()
        {
            self.stats.journal_errors += 1;
        }
        rep
    }

    /// Our fills in one trade of the venue's listing, recorded and applied if the journal
    /// lacks them (or has another status).
    fn reconcile_trade(
        &mut self,
        tr: &TradeRecord,
        ours: &FxHashSet<String>,
        known: &FxHashMap<(String, String), String>,
        now: u64,
        rep: &mut RestoreReport,
        tokens: &mut FxHashSet<TokenId>,
    ) {
        let status = TradeStatus::parse(&tr.status.to_ascii_uppercase());
        let Some(taker_side) = order_side(&tr.side) else {
            return;
        };
        let Ok(taker_token) = TokenId::parse(&tr.asset_id) else {
            return;
        };
        let price = |s: &str| {
            lenient_micros(s)
                .and_then(|v| u32::try_from(v).ok())
                .map(Price)
        };
        let mut fills: Vec<(String, Fill, bool)> = Vec::new();
        if ours.contains(&tr.taker_order_id)
            && let (Some(p), Some(n)) = (price(&tr.price), lenient_micros(&tr.size))
        {
            let mut f = Fill {
                token: taker_token,
                side: taker_side,
                price: p,
                shares: Size(n),
                fee: Amount::ZERO,
            };
            f.fee = self
                .fees
                .get(&f.token)
                .map_or(Amount::ZERO, |s| s.taker_fee(f.price, f.shares));
            fills.push((tr.taker_order_id.clone(), f, true));
        }
        for m in tr
            .maker_orders
            .iter()
            .filter(|m| ours.contains(&m.order_id))
        {
            let token = if m.asset_id.is_empty() {
                taker_token
            } else {
                match TokenId::parse(&m.asset_id) {
                    Ok(t) => t,
                    Err(_) => continue,
                }
            };
            let side = m
                .side
                .as_deref()
                .and_then(order_side)
                .unwrap_or(if token == taker_token {
                    opposite(taker_side)
                } else {
                    taker_side
                });
            let (Some(p), Some(n)) = (price(&m.price), lenient_micros(&m.matched_amount)) else {
                continue;
            };
            fills.push((
                m.order_id.clone(),
                Fill {
                    token,
                    side,
                    price: p,
                    shares: Size(n),
                    fee: Amount::ZERO,
                },
                false,
            ));
        }
        for (order_id, fill, taker) in fills {
            let key = (tr.id.clone(), order_id.clone());
            match known.get(&key) {
                Some(s) if s.eq_ignore_ascii_case(status.as_str()) => continue,
                Some(_) => rep.status_changed += 1,
                None => rep.fills_added += 1,
            }
            tokens.insert(fill.token);
            self.positions
                .on_fills(&tr.id, &status, vec![(order_id.clone(), fill)]);
            let rec = FillRecord {
                trade_id: tr.id.clone(),
                order_hash: order_id,
                token: fill.token,
                side: fill.side.book_side(),
                price: fill.price,
                size: fill.shares,
                fee: fill.fee,
                trader_side: Some(if taker { "TAKER" } else { "MAKER" }.into()),
                status: status.as_str().to_string(),
                match_time_ms: None,
                recv_ns: now,
            };
            if self.journal.record_fill(&rec).is_err() {
                self.stats.journal_errors += 1;
            }
        }
    }
}
