//! The venue's orders and the queues they rest in.
//!
//! Orders are numbered in arrival order (`seq`), which is their time priority. Resting orders
//! of a binary market sit in one YES-space book per market: each price holds a FIFO of order
//! numbers. The published books (`AssetBook::user`) are kept equal to the sum of what rests.

use std::collections::{BTreeMap, VecDeque};

use rustc_hash::FxHashMap;

use polyarb::adapters::polymarket::signing::{Address, OrderSide, OrderType};
use polyarb::core::{Price, Side};

use super::accounts::Holding;

/// An order id: the EIP-712 digest of the signed order.
pub type OrderHash = [u8; 32];

/// `0x` + 64 hex, as the venue spells order ids.
pub fn hash_hex(h: &OrderHash) -> String {
    format!("0x{}", hex::encode(h))
}

/// Parses an order id; `None` if it is not `0x` + 64 hex.
pub fn parse_hash(s: &str) -> Option<OrderHash> {
    let h = s.strip_prefix("0x").unwrap_or(s);
    let mut out = [0u8; 32];
    hex::decode_to_slice(h, &mut out).ok()?;
    Some(out)
}

/// Where an order is in its life at the venue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderStatus {
    /// Resting (possibly partly matched).
    Live,
    /// Completely matched.
    Matched,
    /// Canceled by its owner, the heartbeat switch, or as the unfilled rest of a FAK.
    Canceled,
    /// A FOK that could not be filled completely.
    Killed,
    /// A GTD whose expiration passed.
    Expired,
}

impl OrderStatus {
    /// The status string of the REST order object and the user channel.
    pub fn wire(self) -> &'static str {
        match self {
            Self::Live => "LIVE",
            Self::Matched => "MATCHED",
            Self::Canceled | Self::Expired => "CANCELED",
            Self::Killed => {
                "CANCELED_order couldn't be fully filled. FOK orders are fully filled or killed."
            }
        }
    }
}

/// One order as the venue holds it. Prices are in the order's own token's space; quantities
/// are micro-shares.
#[derive(Clone, Debug)]
pub struct VenueOrder {
    pub seq: u64,
    pub hash: OrderHash,
    /// The API key it was posted under.
    pub owner: String,
    /// The address of that key: the EOA whose keys see, cancel and are told about it.
    pub key_owner: Address,
    /// The funder (`maker`) whose balances it moves, and the signing key's address.
    pub maker: Address,
    pub signer: Address,
    pub asset: u32,
    pub market: u32,
    /// 0 = the market's first (YES) token, 1 = the second (NO).
    pub outcome: u8,
    pub side: OrderSide,
    pub price: Price,
    pub original: u64,
    pub matched: u64,
    pub order_type: OrderType,
    pub expiration: u64,
    pub created_s: u64,
    /// What it still holds back: pUSD for a BUY, tokens for a SELL.
    pub reserved: u64,
    pub status: OrderStatus,
    pub trades: Vec<String>,
}

impl VenueOrder {
    pub fn remaining(&self) -> u64 {
        self.original - self.matched
    }

    /// The holding the order pays with.
    pub fn pays(&self) -> Holding {
        match self.side {
            OrderSide::Buy => Holding::Collateral,
            OrderSide::Sell => Holding::Token(self.asset),
        }
    }

    /// The order's place in its market's YES-space book.
    pub fn yes_level(&self) -> (Side, Price) {
        to_yes(self.outcome, self.side.book_side(), self.price)
    }
}

/// A level of an outcome's book in YES space: the first outcome's levels are themselves; the
/// second's bid at q is a YES ask at 1 − q (and its ask a YES bid).
pub fn to_yes(outcome: u8, side: Side, price: Price) -> (Side, Price) {
    if outcome == 0 {
        (side, price)
    } else {
        (side.opposite(), price.complement().unwrap_or(Price::ZERO))
    }
}

/// The resting orders of one market, in YES space.
#[derive(Default, Debug)]
pub struct MarketQueue {
    pub bids: BTreeMap<Price, VecDeque<u64>>,
    pub asks: BTreeMap<Price, VecDeque<u64>>,
}

impl MarketQueue {
    pub fn side(&self, side: Side) -> &BTreeMap<Price, VecDeque<u64>> {
        match side {
            Side::Bid => &self.bids,
            Side::Ask => &self.asks,
        }
    }

    pub fn side_mut(&mut self, side: Side) -> &mut BTreeMap<Price, VecDeque<u64>> {
        match side {
            Side::Bid => &mut self.bids,
            Side::Ask => &mut self.asks,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.bids.is_empty() && self.asks.is_empty()
    }
}

/// Every order the venue has accepted, and the queues of those resting.
#[derive(Default)]
pub struct OrderStore {
    pub orders: FxHashMap<u64, VenueOrder>,
    pub by_hash: FxHashMap<OrderHash, u64>,
    pub queues: FxHashMap<u32, MarketQueue>,
    next_seq: u64,
}

impl OrderStore {
    pub fn next_seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }

    pub fn get(&self, hash: &OrderHash) -> Option<&VenueOrder> {
        self.by_hash.get(hash).and_then(|s| self.orders.get(s))
    }

    pub fn insert(&mut self, o: VenueOrder) {
        self.by_hash.insert(o.hash, o.seq);
        self.orders.insert(o.seq, o);
    }

    /// Queues a live order at the back of its level.
    pub fn enqueue(&mut self, seq: u64) {
        let Some(o) = self.orders.get(&seq) else {
            return;
        };
        let (side, price) = o.yes_level();
        self.queues
            .entry(o.market)
            .or_default()
            .side_mut(side)
            .entry(price)
            .or_default()
            .push_back(seq);
    }

    /// Takes an order out of its queue (it filled, was canceled or expired).
    pub fn dequeue(&mut self, seq: u64) {
        let Some(o) = self.orders.get(&seq) else {
            return;
        };
        let (side, price) = o.yes_level();
        let market = o.market;
        let Some(q) = self.queues.get_mut(&market) else {
            return;
        };
        let levels = q.side_mut(side);
        if let Some(fifo) = levels.get_mut(&price) {
            fifo.retain(|&s| s != seq);
            if fifo.is_empty() {
                levels.remove(&price);
            }
        }
        if q.is_empty() {
            self.queues.remove(&market);
        }
    }

    /// Live orders, oldest first.
    pub fn live(&self) -> Vec<u64> {
        let mut v: Vec<u64> = self
            .orders
            .values()
            .filter(|o| o.status == OrderStatus::Live)
            .map(|o| o.seq)
            .collect();
        v.sort_unstable();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_outcome_maps_to_yes_space() {
        assert_eq!(
            to_yes(1, Side::Bid, Price(400_000)),
            (Side::Ask, Price(600_000))
        );
        assert_eq!(
            to_yes(0, Side::Ask, Price(510_000)),
            (Side::Ask, Price(510_000))
        );
        let h = [0xab; 32];
        assert_eq!(parse_hash(&hash_hex(&h)), Some(h));
        assert_eq!(parse_hash("0x12"), None);
    }
}
