//! The order state machine: new → sent → live → partially filled → filled / canceled /
//! rejected / expired, driven by REST answers, REST look-ups and the user channel.
//!
//! Quantities only grow: the matched size is the largest the venue has reported (an order
//! event's `size_matched`, a look-up, an acknowledgement, or the sum of the order's distinct
//! trades), so events arriving late or twice never move an order backwards. Final states are
//! final, except that fills reported after a cancel are still counted.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::adapters::polymarket::http::clob::{AckStatus, OpenOrder, OrderAck};
use crate::adapters::polymarket::signing::{OrderSide, OrderType};
use crate::adapters::polymarket::ws::user_events::{OrderEventStatus, UserOrder, UserTrade};
use crate::core::{Price, Size, TokenId};

/// Where an order is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OrderState {
    /// Built and signed, not yet journaled as sent.
    New,
    /// Journaled and sent; no answer yet.
    Sent,
    /// Sent, and the answer was lost (timeout, broken connection): look it up by hash.
    Unknown,
    Live,
    PartiallyFilled,
    Filled,
    Canceled,
    Rejected,
    Expired,
}

impl OrderState {
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Filled | Self::Canceled | Self::Rejected | Self::Expired
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Sent => "sent",
            Self::Unknown => "unknown",
            Self::Live => "live",
            Self::PartiallyFilled => "partially_filled",
            Self::Filled => "filled",
            Self::Canceled => "canceled",
            Self::Rejected => "rejected",
            Self::Expired => "expired",
        }
    }

    /// The inverse of [`Self::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::New,
            Self::Sent,
            Self::Unknown,
            Self::Live,
            Self::PartiallyFilled,
            Self::Filled,
            Self::Canceled,
            Self::Rejected,
            Self::Expired,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

/// One order the engine has sent (or is about to).
#[derive(Clone, Debug)]
pub struct TrackedOrder {
    pub plan_id: u64,
    pub client_oid: u64,
    pub order_id: String,
    pub token_id: TokenId,
    pub side: OrderSide,
    pub price: Price,
    /// Shares ordered.
    pub size: Size,
    pub order_type: OrderType,
    pub state: OrderState,
    /// Shares matched, as the venue reports them.
    pub filled: Size,
    /// Shares per trade id seen on the user channel.
    trades: FxHashMap<String, u64>,
    pub last_error: Option<String>,
}

impl TrackedOrder {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        plan_id: u64,
        client_oid: u64,
        order_id: String,
        token_id: TokenId,
        side: OrderSide,
        price: Price,
        size: Size,
        order_type: OrderType,
    ) -> Self {
        Self {
            plan_id,
            client_oid,
            order_id,
            token_id,
            side,
            price,
            size,
            order_type,
            state: OrderState::New,
            filled: Size::ZERO,
            trades: FxHashMap::default(),
            last_error: None,
        }
    }

    fn matched(&mut self, shares: u64) {
        if shares > self.filled.0 {
            self.filled = Size(shares);
        }
    }

    /// The state a live order's fill implies.
    fn live_state(&self) -> OrderState {
        if self.filled.0 >= self.size.0 && self.size.0 > 0 {
            OrderState::Filled
        } else if self.filled.0 > 0 {
            OrderState::PartiallyFilled
        } else {
            OrderState::Live
        }
    }

    fn go(&mut self, to: OrderState) {
        // Fills reported after a cancel still count.
        if !self.state.is_final()
            || (to == OrderState::Filled && self.state == OrderState::Canceled)
        {
            self.state = to;
        }
    }

    /// Journaled and on its way.
    pub fn on_sent(&mut self) {
        if self.state == OrderState::New {
            self.state = OrderState::Sent;
        }
    }

    /// The answer was lost.
    pub fn on_unknown(&mut self, why: &str) {
        if matches!(self.state, OrderState::New | OrderState::Sent) {
            self.state = OrderState::Unknown;
        }
        self.last_error = Some(why.to_string());
    }

    pub fn on_rejected(&mut self, why: &str) {
        self.last_error = Some(why.to_string());
        self.go(OrderState::Rejected);
    }

    /// `POST /order(s)` accepted it.
    pub fn on_ack(&mut self, ack: &OrderAck) {
        let shares = match self.side {
            OrderSide::Buy => ack.taking,
            OrderSide::Sell => ack.making,
        };
        self.matched(shares);
        let next = match ack.status {
            AckStatus::Live | AckStatus::Delayed | AckStatus::Unmatched => self.live_state(),
            // A FAK's unfilled rest is canceled at once.
            AckStatus::Matched if self.order_type.is_marketable() && self.filled < self.size => {
                OrderState::Canceled
            }
            AckStatus::Matched => OrderState::Filled,
        };
        self.go(next);
    }

    fn apply_status(&mut self, status: &OrderEventStatus, cancellation: bool) {
        let next = match status {
            OrderEventStatus::Live if !cancellation => self.live_state(),
            OrderEventStatus::Matched => OrderState::Filled,
            OrderEventStatus::Live | OrderEventStatus::Canceled | OrderEventStatus::Invalid => {
                OrderState::Canceled
            }
            OrderEventStatus::CanceledBecause(_) => OrderState::Canceled,
            OrderEventStatus::Other(_) => return,
        };
        self.go(next);
    }

    /// A user-channel `order` event about this order.
    pub fn on_order_event(&mut self, ev: &UserOrder) {
        self.matched(ev.size_matched.0);
        self.apply_status(
            &ev.status,
            ev.kind == crate::adapters::polymarket::ws::user_events::OrderEventKind::Cancellation,
        );
    }

    /// A user-channel `trade` event involving this order: counts its shares once per trade.
    pub fn on_trade(&mut self, ev: &UserTrade, shares: u64) {
        self.trades.entry(ev.id.clone()).or_insert(shares);
        let total: u64 = self.trades.values().sum();
        self.matched(total);
        if matches!(
            self.state,
            OrderState::Sent | OrderState::Unknown | OrderState::Live | OrderState::PartiallyFilled
        ) {
            let next = self.live_state();
            self.go(next);
        }
    }

    /// A trade of this order failed on chain: its shares were never delivered.
    pub fn on_trade_failed(&mut self, trade_id: &str) {
        if let Some(s) = self.trades.remove(trade_id) {
            self.filled = Size(self.filled.0.saturating_sub(s));
        }
    }

    /// What a look-up by hash found (`None`: the venue does not know the order).
    pub fn on_lookup(&mut self, found: Option<&OpenOrder>) {
        let Some(o) = found else {
            return;
        };
        if let Some(m) = o.matched_micros() {
            self.matched(m);
        }
        let status = match o.status.as_str() {
            "LIVE" => OrderEventStatus::Live,
            "MATCHED" => OrderEventStatus::Matched,
            "CANCELED" => OrderEventStatus::Canceled,
            "INVALID" => OrderEventStatus::Invalid,
            s => match s.strip_prefix("CANCELED_") {
                Some(r) => OrderEventStatus::CanceledBecause(r.to_string()),
                None => OrderEventStatus::Other(s.to_string()),
            },
        };
        if matches!(self.state, OrderState::Unknown | OrderState::Sent) {
            self.state = OrderState::Live;
        }
        self.apply_status(&status, false);
    }

    /// A cancel request was confirmed.
    pub fn on_canceled(&mut self) {
        self.go(OrderState::Canceled);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_through_their_stored_names() {
        for s in [
            OrderState::New,
            OrderState::Sent,
            OrderState::Unknown,
            OrderState::Live,
            OrderState::PartiallyFilled,
            OrderState::Filled,
            OrderState::Canceled,
            OrderState::Rejected,
            OrderState::Expired,
        ] {
            assert_eq!(OrderState::parse(s.as_str()), Some(s));
        }
        assert_eq!(OrderState::parse("LIVE"), None);
    }

    fn order(t: OrderType) -> TrackedOrder {
        TrackedOrder::new(
            1,
            1,
            "0x1".into(),
            TokenId::from_u64(5),
            OrderSide::Buy,
            Price(500_000),
            Size(10_000_000),
            t,
        )
    }

    fn ack(status: AckStatus, taking: u64) -> OrderAck {
        OrderAck {
            order_id: "0x1".into(),
            status,
            making: taking / 2,
            taking,
            trade_ids: vec![],
            transaction_hashes: vec![],
        }
    }

    #[test]
    fn gtc_lives_fills_partly_then_fully() {
        let mut o = order(OrderType::Gtc);
        o.on_sent();
        assert_eq!(o.state, OrderState::Sent);
        o.on_ack(&ack(AckStatus::Live, 0));
        assert_eq!(o.state, OrderState::Live);
        o.on_lookup(Some(&OpenOrder {
            id: "0x1".into(),
            status: "LIVE".into(),
            market: String::new(),
            asset_id: "5".into(),
            side: "BUY".into(),
            price: "0.5".into(),
            original_size: "10".into(),
            size_matched: "4".into(),
            outcome: String::new(),
            owner: String::new(),
            maker_address: String::new(),
            order_type: "GTC".into(),
            associate_trades: None,
        }));
        assert_eq!(
            (o.state, o.filled),
            (OrderState::PartiallyFilled, Size(4_000_000))
        );
        o.on_ack(&ack(AckStatus::Live, 1_000_000));
        assert_eq!(o.filled, Size(4_000_000), "never backwards");
        o.on_ack(&ack(AckStatus::Matched, 10_000_000));
        assert_eq!(o.state, OrderState::Filled);
        o.on_canceled();
        assert_eq!(o.state, OrderState::Filled, "final stays final");
    }

    #[test]
    fn fak_rest_is_canceled_and_unknown_resolves() {
        let mut o = order(OrderType::Fak);
        o.on_sent();
        o.on_ack(&ack(AckStatus::Matched, 6_000_000));
        assert_eq!((o.state, o.filled), (OrderState::Canceled, Size(6_000_000)));
        let mut u = order(OrderType::Fok);
        u.on_sent();
        u.on_unknown("timeout");
        assert_eq!(u.state, OrderState::Unknown);
        u.on_lookup(None);
        assert_eq!(u.state, OrderState::Unknown);
        u.on_rejected("FOK not filled");
        assert_eq!(u.state, OrderState::Rejected);
    }
}
