//! What the CLOB's private endpoints answer, parsed into exact types: order acks, open
//! orders, trades, cancel results, balances. Decimal strings become micro-units; fields the
//! venue spells two ways (`errorMsg`/`error_msg`, `not_canceled`/`notCanceled`) read either.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::core::decimal::{DECIMALS, parse_micros};

/// Micro-units of a decimal string the venue may write with more than six decimals (as
/// `makingAmount` sometimes is): digits past the sixth are cut. Empty is zero.
pub fn lenient_micros(s: &str) -> Option<u64> {
    let s = s.trim();
    if s.is_empty() {
        return Some(0);
    }
    let cut = match s.split_once('.') {
        Some((i, f)) if f.len() > DECIMALS as usize => &s[..i.len() + 1 + DECIMALS as usize],
        _ => s,
    };
    parse_micros(cut.as_bytes()).ok()
}

/// One order's answer (`POST /order`, or one element of `POST /orders`).
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct RawOrderResponse {
    #[serde(default)]
    pub success: bool,
    #[serde(default, rename = "errorMsg", alias = "error_msg")]
    pub error_msg: Option<String>,
    #[serde(default, rename = "orderID")]
    pub order_id: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default, rename = "makingAmount")]
    pub making_amount: Option<String>,
    #[serde(default, rename = "takingAmount")]
    pub taking_amount: Option<String>,
    #[serde(default, rename = "transactionsHashes")]
    pub transactions_hashes: Option<Vec<String>>,
    #[serde(default, rename = "tradeIDs")]
    pub trade_ids: Option<Vec<String>>,
}

/// What the venue did with an accepted order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AckStatus {
    /// Resting on the book (possibly partly matched).
    Live,
    /// Matched (completely, or a FAK's part with the rest canceled).
    Matched,
    /// Accepted, matching delayed (sports markets).
    Delayed,
    /// Accepted, not matched (a marketable order delayed without match).
    Unmatched,
}

/// An accepted order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderAck {
    pub order_id: String,
    pub status: AckStatus,
    /// What the order gave and got so far, in micro-units (collateral or shares by side).
    pub making: u64,
    pub taking: u64,
    pub trade_ids: Vec<String>,
    pub transaction_hashes: Vec<String>,
}

/// An order as `GET /data/order/{id}` and `GET /data/orders` return it.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct OpenOrder {
    pub id: String,
    pub status: String,
    #[serde(default)]
    pub market: String,
    pub asset_id: String,
    pub side: String,
    pub price: String,
    pub original_size: String,
    pub size_matched: String,
    #[serde(default)]
    pub outcome: String,
    #[serde(default)]
    pub owner: String,
    #[serde(default)]
    pub maker_address: String,
    #[serde(default)]
    pub order_type: String,
    #[serde(default)]
    pub associate_trades: Option<Vec<String>>,
}

impl OpenOrder {
    pub fn original_micros(&self) -> Option<u64> {
        lenient_micros(&self.original_size)
    }

    pub fn matched_micros(&self) -> Option<u64> {
        lenient_micros(&self.size_matched)
    }
}

/// One maker order of a trade.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct MakerOrder {
    pub order_id: String,
    #[serde(default)]
    pub owner: String,
    #[serde(default)]
    pub maker_address: String,
    pub matched_amount: String,
    pub price: String,
    #[serde(default)]
    pub asset_id: String,
    #[serde(default)]
    pub outcome: String,
    #[serde(default)]
    pub side: Option<String>,
}

/// A trade as `GET /data/trades` lists it.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct TradeRecord {
    pub id: String,
    pub taker_order_id: String,
    pub market: String,
    pub asset_id: String,
    pub side: String,
    pub size: String,
    pub price: String,
    pub status: String,
    #[serde(default)]
    pub outcome: String,
    #[serde(default)]
    pub owner: String,
    #[serde(default)]
    pub maker_address: String,
    #[serde(default)]
    pub maker_orders: Vec<MakerOrder>,
    #[serde(default)]
    pub trader_side: String,
}

/// A page of a listing.
#[derive(Clone, Debug, Deserialize)]
pub struct Page<T> {
    pub data: Vec<T>,
    #[serde(default)]
    pub next_cursor: Option<String>,
}

/// What a cancel did.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct CancelResult {
    #[serde(default)]
    pub canceled: Vec<String>,
    #[serde(default, alias = "notCanceled")]
    pub not_canceled: BTreeMap<String, String>,
}

/// `GET /balance-allowance`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct BalanceAllowance {
    pub balance: String,
    #[serde(default)]
    pub allowance: Option<String>,
}

impl BalanceAllowance {
    /// The balance in micro-units (the venue sends 6-decimal integers as strings).
    pub fn balance_micros(&self) -> Option<u64> {
        self.balance.trim().parse().ok()
    }
}

/// Which balance to ask for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AssetType {
    Collateral,
    Conditional(String),
}

/// Filters of `GET /data/orders` and `GET /data/trades`.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub id: Option<String>,
    pub market: Option<String>,
    pub asset_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient_amounts() {
        assert_eq!(lenient_micros(""), Some(0));
        assert_eq!(lenient_micros("1.94"), Some(1_940_000));
        assert_eq!(lenient_micros("0.1234567891"), Some(123_456));
        assert_eq!(lenient_micros("x"), None);
    }

    #[test]
    fn both_spellings_of_error_and_not_canceled() {
        let r: RawOrderResponse = serde_json::from_str(
            r#"{"error_msg":"","orderID":"0x1","status":"live","success":true}"#,
        )
        .unwrap();
        assert_eq!(r.error_msg.as_deref(), Some(""));
        let c: CancelResult =
            serde_json::from_str(r#"{"canceled":["2"],"notCanceled":{"1":"gone"}}"#).unwrap();
        assert_eq!(c.not_canceled["1"], "gone");
    }
}
