//! A trade's record: the taker, the makers of its price level, what was charged and where its
//! settlement stands. The trading state keeps them; `render` writes them for the wire.

use polyarb::adapters::polymarket::signing::{Address, OrderSide};
use polyarb::core::Price;

use super::matching::LedgerEntry;
use super::orders::OrderHash;

/// A trade's settlement status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TradeStatus {
    Matched,
    Mined,
    Confirmed,
    Failed,
}

impl TradeStatus {
    pub fn wire(self) -> &'static str {
        match self {
            Self::Matched => "MATCHED",
            Self::Mined => "MINED",
            Self::Confirmed => "CONFIRMED",
            Self::Failed => "FAILED",
        }
    }
}

/// One maker order's part of a trade.
#[derive(Clone, Debug)]
pub struct MakerFill {
    /// `None` for house liquidity.
    pub seq: Option<u64>,
    pub hash: OrderHash,
    pub owner: String,
    /// The maker order's account.
    pub address: Address,
    /// The address of the API key that posted it.
    pub key_owner: Address,
    pub shares: u64,
    /// In the maker's token's space.
    pub price: Price,
    pub asset: u32,
    pub outcome: u8,
    pub side: OrderSide,
}

/// A trade: one taker order against the makers of one price level.
#[derive(Clone, Debug)]
pub struct TradeRecord {
    pub id: String,
    pub taker_hash: OrderHash,
    /// `None` when the house took (its quotes crossing resting orders).
    pub taker_seq: Option<u64>,
    pub taker_owner: String,
    /// The taker order's account.
    pub taker_address: Address,
    /// The address of the API key that posted the taker order.
    pub taker_key_owner: Address,
    pub asset: u32,
    pub market: u32,
    pub outcome: u8,
    pub side: OrderSide,
    pub price: Price,
    pub shares: u64,
    /// Micro-pUSD charged to the taker (0 for the house or a fee-free market).
    pub fee: u64,
    /// The taker's fee rate as the wire spells it (basis points of the schedule's rate).
    pub fee_rate_bps: u32,
    pub makers: Vec<MakerFill>,
    pub status: TradeStatus,
    pub match_s: u64,
    pub last_update_s: u64,
    pub tx: String,
    pub(super) ledger: Vec<LedgerEntry>,
    pub(super) fail: bool,
}

impl TradeRecord {
    /// Whether the API keys of `who` took part (as taker or maker).
    pub fn involves(&self, who: &Address) -> bool {
        (self.taker_seq.is_some() && self.taker_key_owner == *who)
            || self
                .makers
                .iter()
                .any(|m| m.seq.is_some() && m.key_owner == *who)
    }
}
