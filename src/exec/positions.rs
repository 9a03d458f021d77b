//! Fills and positions: inventory per outcome token and the collateral spent or received,
//! from the user channel's trades (each trade counted once; a FAILED trade undone).
//!
//! A trade names the taker's side and token; a maker's side may be absent (older events), in
//! which case it follows from the match: a maker on the taker's token took the other side, a
//! maker on the other token (a mint or merge match) took the same side.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::adapters::polymarket::signing::OrderSide;
use crate::adapters::polymarket::ws::user_events::{TradeStatus, UserTrade};
use crate::core::{Price, Size, TokenId};

/// One fill of one of our orders.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fill {
    pub token: TokenId,
    pub side: OrderSide,
    pub price: Price,
    pub shares: Size,
}

impl Fill {
    /// Collateral moved: paid for a BUY (negative), received for a SELL, floored to a micro.
    pub fn cash(&self) -> i128 {
        let v = i128::from(self.shares.0) * i128::from(self.price.0) / 1_000_000;
        match self.side {
            OrderSide::Buy => -v,
            OrderSide::Sell => v,
        }
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
    /// Micro-pUSD spent on it net of sales (negative = received).
    pub cost: i128,
}

/// Every position, and which trades made them.
#[derive(Default, Debug)]
pub struct Positions {
    by_token: BTreeMap<TokenId, Position>,
    /// (trade id, order id) → the fill applied, so repeats are ignored and failures undone.
    applied: FxHashMap<(String, String), Fill>,
}

impl Positions {
    pub fn get(&self, t: &TokenId) -> Position {
        self.by_token.get(t).copied().unwrap_or_default()
    }

    pub fn all(&self) -> &BTreeMap<TokenId, Position> {
        &self.by_token
    }

    fn apply(&mut self, f: &Fill, sign: i128) {
        let p = self.by_token.entry(f.token).or_default();
        p.shares += sign * f.signed_shares();
        p.cost -= sign * f.cash();
    }

    /// Our fills in a trade: the taker's if `ours(taker_order_id)`, and each maker order of
    /// ours. Returns (order id, fill) pairs.
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
                },
            ));
        }
        out
    }

    /// Applies a trade event: new fills once, a FAILED trade's fills undone. Returns the
    /// (order id, fill, applied) changes made (`applied` false = undone).
    pub fn on_trade(
        &mut self,
        trade: &UserTrade,
        ours: &impl Fn(&str) -> bool,
    ) -> Vec<(String, Fill, bool)> {
        let mut changes = Vec::new();
        for (order_id, fill) in Self::fills_of(trade, ours) {
            let key = (trade.id.clone(), order_id.clone());
            match trade.status {
                TradeStatus::Failed => {
                    if let Some(f) = self.applied.remove(&key) {
                        self.apply(&f, -1);
                        changes.push((order_id, f, false));
                    }
                }
                _ => {
                    if !self.applied.contains_key(&key) {
                        self.apply(&fill, 1);
                        self.applied.insert(key, fill);
                        changes.push((order_id, fill, true));
                    }
                }
            }
        }
        changes
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
}
