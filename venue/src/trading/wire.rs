//! The trading side's JSON in the real shapes (user channel and order endpoints; fixtures
//! `clob_*`, `ws_user_*`): order responses, open orders, trades, cancel results, and the user
//! channel's `order` and `trade` events. Prices and sizes are canonical decimal strings
//! rendered from integer micro-units; unix times are strings where the venue sends strings.

use std::collections::BTreeMap;

use serde::Serialize;

/// `POST /order` answer (and one element of `POST /orders`).
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct OrderResponse {
    pub success: bool,
    #[serde(rename = "errorMsg")]
    pub error_msg: String,
    #[serde(rename = "orderID")]
    pub order_id: String,
    /// `live`, `matched`, `delayed` or `unmatched`.
    pub status: String,
    #[serde(rename = "makingAmount")]
    pub making_amount: String,
    #[serde(rename = "takingAmount")]
    pub taking_amount: String,
    #[serde(rename = "transactionsHashes")]
    pub transactions_hashes: Vec<String>,
    #[serde(rename = "tradeIDs")]
    pub trade_ids: Vec<String>,
}

impl OrderResponse {
    /// A refused leg of a batch: the venue answers `success` with no id and the reason.
    pub fn refused(msg: &str) -> Self {
        Self {
            success: true,
            error_msg: msg.to_string(),
            ..Self::default()
        }
    }
}

/// `DELETE /order`, `/orders`, `/cancel-all`, `/cancel-market-orders` answer.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct CancelResponse {
    pub canceled: Vec<String>,
    pub not_canceled: BTreeMap<String, String>,
}

/// An order as `GET /data/order/{id}` and `GET /data/orders` list it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct OpenOrderJson {
    pub associate_trades: Vec<String>,
    pub id: String,
    pub status: String,
    pub market: String,
    pub original_size: String,
    pub outcome: String,
    pub maker_address: String,
    pub owner: String,
    pub price: String,
    pub side: String,
    pub size_matched: String,
    pub asset_id: String,
    pub expiration: String,
    pub order_type: String,
    pub created_at: u64,
}

/// A page of `GET /data/orders` or `GET /data/trades`.
#[derive(Clone, Debug, Serialize)]
pub struct Page<T> {
    pub data: Vec<T>,
    pub next_cursor: String,
}

/// A user-channel `order` event.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct UserOrderEvent {
    pub asset_id: String,
    /// `null` on PLACEMENT, as production sends it; the trade ids after.
    pub associate_trades: Option<Vec<String>>,
    pub created_at: String,
    pub event_type: &'static str,
    pub expiration: String,
    pub id: String,
    pub maker_address: String,
    pub market: String,
    pub order_owner: String,
    pub order_type: String,
    pub original_size: String,
    pub outcome: String,
    pub owner: String,
    pub price: String,
    pub side: String,
    pub size_matched: String,
    pub status: String,
    pub timestamp: String,
    /// `PLACEMENT`, `UPDATE` or `CANCELLATION`.
    #[serde(rename = "type")]
    pub kind: &'static str,
}

/// One maker order of a trade.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct MakerOrderJson {
    pub order_id: String,
    pub owner: String,
    pub maker_address: String,
    pub matched_amount: String,
    pub price: String,
    pub fee_rate_bps: String,
    pub asset_id: String,
    pub outcome: String,
    pub side: String,
}

/// A trade: a `GET /data/trades` item, and with `event_type`, `timestamp`, `trade_owner` and
/// `type` a user-channel `trade` event.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct TradeJson {
    pub asset_id: String,
    pub bucket_index: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_type: Option<&'static str>,
    pub fee_rate_bps: String,
    pub id: String,
    pub last_update: String,
    pub maker_address: String,
    pub maker_orders: Vec<MakerOrderJson>,
    pub market: String,
    pub match_time: String,
    pub outcome: String,
    pub owner: String,
    pub price: String,
    pub side: String,
    pub size: String,
    pub status: String,
    pub taker_order_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trade_owner: Option<String>,
    pub trader_side: &'static str,
    pub transaction_hash: String,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'static str>,
}

/// `GET /balance-allowance` answer.
#[derive(Clone, Debug, Serialize)]
pub struct BalanceAllowance {
    pub balance: String,
    pub allowance: String,
}

/// The allowance the venue reports: unlimited approval, as after the usual `approve(max)`.
pub const UNLIMITED_ALLOWANCE: &str =
    "115792089237316195423570985008687907853269984665640564039457584007913129639935";

/// Cursor of the first page, and the one that says there is no next page.
pub const FIRST_CURSOR: &str = "MA==";
pub const END_CURSOR: &str = "LTE=";
