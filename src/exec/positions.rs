//! Fills and positions: inventory per outcome token, its cost basis and the PnL realized on
//! it, net of fees, from the user channel's trades (each trade counted once; a FAILED trade
//! undone).
//!
//! A trade names the taker's side and token; a maker's side may be absent (older events), in
//! which case it follows from the match: a maker on the taker's token took the other side, a
//! maker on the other token (a mint or merge match) took the same side.
//!
//! PnL uses the average-cost method, in signed integer micro-pUSD. Each fill *spends*
//! `notional + fee` on a BUY and `fee − notional` on a SELL (notional = shares × price, floored
//! to a micro; only takers pay fees). A fill that adds to the position (or opens it) adds its
//! spend to the cost basis. A fill against the position closes `k = min(|fill|, |held|)`
//! shares: it releases `basis × k / |held|` (truncated toward zero; all of it when the
//! position closes) and realizes `−(released + spend × k / |fill|)`; the rest of the fill, if
//! it flips the position, opens the other way with the rest of its spend. So a long bought at
//! 0.50 (fee 0.01) and sold at 0.60 (fee 0.01) realizes 0.60 − 0.50 − 0.02 per share, and a
//! short the same way round. Fees paid are also summed per token. A FAILED trade's fills are
//! removed and the token's position recomputed from its remaining fills in their order.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::adapters::polymarket::signing::OrderSide;
use crate::adapters::polymarket::ws::user_events::{TradeStatus, UserTrade};
use crate::core::{Amount, Price, Size, TokenId};

/// One fill of one of our orders.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fill {
    pub token: TokenId,
    pub side: OrderSide,
    pub price: Price,
    pub shares: Size,
    /// Micro-pUSD fee paid (taker fills only).
    pub fee: Amount,
}

impl Fill {
    /// Collateral moved: paid for a BUY (negative), received for a SELL, floored to a micro;
    /// fees not included.
    pub fn cash(&self) -> i128 {
        let v = i128::from(self.shares.0) * i128::from(self.price.0) / 1_000_000;
        match self.side {
            OrderSide::Buy => -v,
            OrderSide::Sell => v,
        }
    }

    /// What the fill costs us, fee included (negative = received).
    pub fn spend(&self) -> i128 {
        i128::from(self.fee.0) - self.cash()
    }

    fn signed_shares(&self) -> i128 {
        match self.side {
            OrderSide::Buy => i128::from(self.shares.0),
            OrderSide::Sell => -i128::from(self.shares.0),
        }
    }
}

/// Holdings of one outcome token.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Position {
    /// Micro-shares held (negative only if more was sold than bought here).
    pub shares: i128,
    /// Micro-pUSD cost basis of what is held, fees included (negative for a short: the net
    /// proceeds).
    pub cost: i128,
    /// Micro-pUSD realized on closed shares, net of fees (average-cost method).
    pub realized: i128,
    /// Micro-pUSD fees paid on this token.
    pub fees: i128,
}

impl Position {
    /// Applies one fill (average-cost method: see the module doc).
    pub fn apply(&mut self, f: &Fill) {
        let d = f.signed_shares();
        let spend = f.spend();
        self.fees += i128::from(f.fee.0);
        if d == 0 {
            // A zero-share fill can still carry a fee: it is a pure loss.
            self.realized -= spend;
            return;
        }
        if self.shares == 0 || (self.shares > 0) == (d > 0) {
            self.shares += d;
            self.cost += spend;
            return;
        }
        let k = d.abs().min(self.shares.abs());
        let released = self.cost * k / self.shares.abs();
        let spend_k = spend * k / d.abs();
        self.realized -= released + spend_k;
        self.cost += spend - spend_k - released;
        self.shares += d;
    }
}

/// A fill's key: (trade id, order id).
type FillKey = (String, String);

/// Every position, and which trades made them.
#[derive(Default, Debug)]
pub struct Positions {
    by_token: BTreeMap<TokenId, Position>,
    /// (trade id, order id) → the fill applied, so repeats are ignored and failures undone.
    applied: FxHashMap<FillKey, Fill>,
    /// Per token, the applied fills in order (a failure recomputes the token from these).
    history: FxHashMap<TokenId, Vec<(FillKey, Fill)>>,
}

impl Positions {
    pub fn get(&self, t: &TokenId) -> Position {
        self.by_token.get(t).copied().unwrap_or_default()
    }

    pub fn all(&self) -> &BTreeMap<TokenId, Position> {
        &self.by_token
    }

    /// Our fills in a trade: the taker's if `ours(taker_order_id)`, and each maker order of
    /// ours, all with fee 0 (the caller knows the schedule). Returns (order id, fill) pairs.
    pub fn fills_of(trade: &UserTrade, ours: &impl Fn(&str) -> bool) -> Vec<(String, Fill)> {
        let mut out = Vec::new();
        if ours(&trade.taker_order_id) {
            out.push((
                trade.taker_order_id.clone(),
                Fill {
                    token: trade.asset_id,
                    side: trade.side,
                    price: trade.price,
                    shares: trade.size,
                    fee: Amount::ZERO,
                },
            ));
        }
        for m in trade.maker_orders.iter().filter(|m| ours(&m.order_id)) {
            let side = m.side.unwrap_or(if m.asset_id == trade.asset_id {
                opposite(trade.side)
            } else {
                trade.side
            });
            out.push((
                m.order_id.clone(),
                Fill {
                    token: m.asset_id,
                    side,
                    price: m.price,
                    shares: m.matched_amount,
                    fee: Amount::ZERO,
                },
            ));
        }
        out
    }

    /// Applies a trade event without fees (see [`Self::on_fills`]).
    pub fn on_trade(
        &mut self,
        trade: &UserTrade,
        ours: &impl Fn(&str) -> bool,
    ) -> Vec<(String, Fill, bool)> {
        self.on_fills(&trade.id, &trade.status, Self::fills_of(trade, ours))
    }

    /// Applies a trade's fills of ours: new fills once, a FAILED trade's fills undone.
    /// Returns the (order id, fill, applied) changes made (`applied` false = undone).
    pub fn on_fills(
        &mut self,
        trade_id: &str,
        status: &TradeStatus,
        fills: Vec<(String, Fill)>,
    ) -> Vec<(String, Fill, bool)> {
        let mut changes = Vec::new();
        for (order_id, fill) in fills {
            let key = (trade_id.to_string(), order_id.clone());
            match status {
                &TradeStatus::Failed => {
                    if let Some(f) = self.applied.remove(&key) {
                        self.undo(&key, f.token);
                        changes.push((order_id, f, false));
                    }
                }
                _ => {
                    if !self.applied.contains_key(&key) {
                        self.by_token.entry(fill.token).or_default().apply(&fill);
                        self.history
                            .entry(fill.token)
                            .or_default()
                            .push((key.clone(), fill));
                        self.applied.insert(key, fill);
                        changes.push((order_id, fill, true));
                    }
                }
            }
        }
        changes
    }

    fn undo(&mut self, key: &FillKey, token: TokenId) {
        let h = self.history.entry(token).or_default();
        h.retain(|(k, _)| k != key);
        let mut p = Position::default();
        for (_, f) in h.iter() {
            p.apply(f);
        }
        self.by_token.insert(token, p);
    }
}

fn opposite(s: OrderSide) -> OrderSide {
    match s {
        OrderSide::Buy => OrderSide::Sell,
        OrderSide::Sell => OrderSide::Buy,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::polymarket::ws::user_events::UserMakerOrder;

    fn trade(status: TradeStatus) -> UserTrade {
        UserTrade {
            id: "t1".into(),
            taker_order_id: "0xtaker".into(),
            market: "0xm".into(),
            asset_id: TokenId::from_u64(1),
            side: OrderSide::Buy,
            size: Size(15_000_000),
            price: Price(518_000),
            status,
            taker: true,
            outcome: "Yes".into(),
            owner: String::new(),
            maker_address: String::new(),
            maker_orders: vec![
                UserMakerOrder {
                    order_id: "0xno".into(),
                    owner: String::new(),
                    maker_address: String::new(),
                    matched_amount: Size(10_000_000),
                    price: Price(482_000),
                    asset_id: TokenId::from_u64(2),
                    outcome: "No".into(),
                    side: None,
                },
                UserMakerOrder {
                    order_id: "0xyes".into(),
                    owner: String::new(),
                    maker_address: String::new(),
                    matched_amount: Size(5_000_000),
                    price: Price(518_000),
                    asset_id: TokenId::from_u64(1),
                    outcome: "Yes".into(),
                    side: None,
                },
            ],
            transaction_hash: String::new(),
            match_time: 0,
            timestamp: 0,
        }
    }

    #[test]
    fn taker_and_cross_outcome_makers_once_then_undone() {
        let mut p = Positions::default();
        let all = |_: &str| true;
        assert_eq!(p.on_trade(&trade(TradeStatus::Matched), &all).len(), 3);
        assert!(p.on_trade(&trade(TradeStatus::Mined), &all).is_empty());
        // Taker bought 15 YES; the YES maker sold 5; the NO maker (a mint) bought 10 NO.
        assert_eq!(p.get(&TokenId::from_u64(1)).shares, 10_000_000);
        assert_eq!(p.get(&TokenId::from_u64(2)).shares, 10_000_000);
        assert_eq!(p.get(&TokenId::from_u64(2)).cost, 4_820_000);
        p.on_trade(&trade(TradeStatus::Failed), &all);
        assert_eq!(p.get(&TokenId::from_u64(1)), Position::default());
        assert_eq!(p.get(&TokenId::from_u64(2)), Position::default());
    }

    fn fill(side: OrderSide, price: u32, shares: u64, fee: u64) -> Fill {
        Fill {
            token: TokenId::from_u64(7),
            side,
            price: Price(price),
            shares: Size(shares),
            fee: Amount(fee),
        }
    }

    #[test]
    fn average_cost_realizes_net_of_fees() {
        let mut p = Position::default();
        // Buy 10 @0.40 (fee 0.06) and 10 @0.60 (fee 0.06): 20 held, basis 10.12.
        p.apply(&fill(OrderSide::Buy, 400_000, 10_000_000, 60_000));
        p.apply(&fill(OrderSide::Buy, 600_000, 10_000_000, 60_000));
        assert_eq!((p.shares, p.cost), (20_000_000, 10_120_000));
        // Sell 5 @0.70 as a maker: proceeds 3.50, released 10.12 × 5/20 = 2.53 → +0.97.
        p.apply(&fill(OrderSide::Sell, 700_000, 5_000_000, 0));
        assert_eq!(
            (p.shares, p.cost, p.realized),
            (15_000_000, 7_590_000, 970_000)
        );
        // Sell 20 @0.30 as a taker, fee 0.126: closes 15 (proceeds 4.50 − fee 0.0945 →
        // −3.1845 on basis 7.59), then opens a 5-share short with 1.50 − 0.0315.
        p.apply(&fill(OrderSide::Sell, 300_000, 20_000_000, 126_000));
        assert_eq!(p.shares, -5_000_000);
        assert_eq!(p.realized, 970_000 - 3_184_500);
        assert_eq!(p.cost, -1_468_500);
        assert_eq!(p.fees, 246_000);
        // Buy 5 back @0.20, fee 0.04: the short made 1.4685 − 1.04 = 0.4285.
        p.apply(&fill(OrderSide::Buy, 200_000, 5_000_000, 40_000));
        assert_eq!((p.shares, p.cost), (0, 0));
        assert_eq!(p.realized, 970_000 - 3_184_500 + 428_500);
        // The cash view agrees: paid 4 + 6 + 1 + fees 0.286, received 3.5 + 6.
        assert_eq!(p.realized, 9_500_000 - 11_000_000 - 286_000);
    }

    #[test]
    fn a_failed_trade_is_taken_out_of_the_average() {
        let mut p = Positions::default();
        let key = |t: &str| (t.to_string(), "0xo".to_string());
        let b1 = fill(OrderSide::Buy, 400_000, 10_000_000, 60_000);
        let b2 = fill(OrderSide::Buy, 600_000, 10_000_000, 60_000);
        let s1 = fill(OrderSide::Sell, 500_000, 10_000_000, 0);
        p.on_fills("t1", &TradeStatus::Matched, vec![(key("t1").1, b1)]);
        p.on_fills("t2", &TradeStatus::Matched, vec![(key("t2").1, b2)]);
        p.on_fills("t3", &TradeStatus::Matched, vec![(key("t3").1, s1)]);
        // Without t2: bought 10 @0.40 + fee 0.06, sold 10 @0.50 → +0.94.
        p.on_fills("t2", &TradeStatus::Failed, vec![(key("t2").1, b2)]);
        let q = p.get(&TokenId::from_u64(7));
        assert_eq!(
            (q.shares, q.cost, q.realized, q.fees),
            (0, 0, 940_000, 60_000)
        );
    }
}
