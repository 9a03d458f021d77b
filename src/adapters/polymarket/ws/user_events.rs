//! The user channel's `order` and `trade` events, parsed exactly: prices
//! and sizes into integer micro-units, statuses into enums, ids kept as the venue wrote them.
//! A frame is one event or an array of them; unknown events are skipped, malformed ones are
//! reported, never guessed at.

use serde::Deserialize;
use thiserror::Error;

use crate::adapters::polymarket::signing::{OrderSide, OrderType};
use crate::core::{Price, Size, TokenId};

/// What an `order` event reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderEventKind {
    Placement,
    Update,
    Cancellation,
}

/// An order's status as the user channel spells it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OrderEventStatus {
    Live,
    Matched,
    Canceled,
    /// Canceled by the venue (e.g. a market closed).
    Invalid,
    /// `CANCELED_<reason>`: a FOK that could not be filled, and similar.
    CanceledBecause(String),
    Other(String),
}

impl OrderEventStatus {
    fn parse(s: &str) -> Self {
        match s {
            "LIVE" => Self::Live,
            "MATCHED" => Self::Matched,
            "CANCELED" => Self::Canceled,
            "INVALID" => Self::Invalid,
            s => match s.strip_prefix("CANCELED_") {
                Some(reason) => Self::CanceledBecause(reason.to_string()),
                None => Self::Other(s.to_string()),
            },
        }
    }

    /// Whether the order is over (nothing of it rests any more).
    pub fn is_final(&self) -> bool {
        !matches!(self, Self::Live | Self::Other(_))
    }
}

/// A trade's settlement status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TradeStatus {
    Matched,
    Mined,
    Confirmed,
    Retrying,
    Failed,
    Other(String),
}

impl TradeStatus {
    pub fn parse(s: &str) -> Self {
        match s {
            "MATCHED" => Self::Matched,
            "MINED" => Self::Mined,
            "CONFIRMED" => Self::Confirmed,
            "RETRYING" => Self::Retrying,
            "FAILED" => Self::Failed,
            s => Self::Other(s.to_string()),
        }
    }

    /// The venue's spelling.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Matched => "MATCHED",
            Self::Mined => "MINED",
            Self::Confirmed => "CONFIRMED",
            Self::Retrying => "RETRYING",
            Self::Failed => "FAILED",
            Self::Other(s) => s,
        }
    }
}

/// An `order` event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserOrder {
    pub id: String,
    pub asset_id: TokenId,
    pub market: String,
    pub side: OrderSide,
    pub price: Price,
    pub original_size: Size,
    pub size_matched: Size,
    pub status: OrderEventStatus,
    pub kind: OrderEventKind,
    pub order_type: Option<OrderType>,
    pub outcome: String,
    pub owner: String,
    pub maker_address: String,
    pub associate_trades: Vec<String>,
    pub timestamp_ms: u64,
}

/// One maker order of a trade.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserMakerOrder {
    pub order_id: String,
    pub owner: String,
    pub maker_address: String,
    pub matched_amount: Size,
    pub price: Price,
    pub asset_id: TokenId,
    pub outcome: String,
    pub side: Option<OrderSide>,
}

/// A `trade` event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserTrade {
    pub id: String,
    pub taker_order_id: String,
    pub market: String,
    pub asset_id: TokenId,
    pub side: OrderSide,
    pub size: Size,
    pub price: Price,
    pub status: TradeStatus,
    /// Whether the receiving account was the taker (else one of the makers).
    pub taker: bool,
    pub outcome: String,
    pub owner: String,
    pub maker_address: String,
    pub maker_orders: Vec<UserMakerOrder>,
    pub transaction_hash: String,
    pub match_time: u64,
    pub timestamp: u64,
}

/// One user-channel event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserEvent {
    Order(UserOrder),
    Trade(UserTrade),
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("user channel event field `{field}`: {problem}")]
pub struct UserEventError {
    pub field: &'static str,
    pub problem: String,
}

fn bad(field: &'static str, problem: impl ToString) -> UserEventError {
    UserEventError {
        field,
        problem: problem.to_string(),
    }
}

/// A JSON string or number (the venue writes unix times both ways).
#[derive(Deserialize, Clone, Debug)]
#[serde(untagged)]
enum StrNum {
    S(String),
    N(u64),
}

impl StrNum {
    fn as_u64(&self) -> u64 {
        match self {
            Self::S(s) => s.trim().parse().unwrap_or(0),
            Self::N(n) => *n,
        }
    }
}

#[derive(Deserialize)]
struct RawOrder {
    id: String,
    asset_id: String,
    #[serde(default)]
    market: String,
    side: String,
    price: String,
    original_size: String,
    #[serde(default)]
    size_matched: Option<String>,
    status: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    order_type: Option<String>,
    #[serde(default)]
    outcome: Option<String>,
    #[serde(default)]
    owner: Option<String>,
    #[serde(default)]
    maker_address: Option<String>,
    #[serde(default)]
    associate_trades: Option<Vec<String>>,
    #[serde(default)]
    timestamp: Option<StrNum>,
}

#[derive(Deserialize)]
struct RawMaker {
    order_id: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    maker_address: String,
    matched_amount: String,
    price: String,
    asset_id: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    side: Option<String>,
}

#[derive(Deserialize)]
struct RawTrade {
    id: String,
    taker_order_id: String,
    #[serde(default)]
    market: String,
    asset_id: String,
    side: String,
    size: String,
    price: String,
    status: String,
    #[serde(default)]
    trader_side: Option<String>,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    maker_address: String,
    #[serde(default)]
    maker_orders: Vec<RawMaker>,
    #[serde(default)]
    transaction_hash: Option<String>,
    #[serde(default)]
    match_time: Option<StrNum>,
    #[serde(default)]
    timestamp: Option<StrNum>,
}

fn side(s: &str) -> Result<OrderSide, UserEventError> {
    s.parse().map_err(|e| bad("side", e))
}

fn price(field: &'static str, s: &str) -> Result<Price, UserEventError> {
    Price::parse(s).map_err(|e| bad(field, e))
}

/// A size; the venue writes an empty string for "nothing matched yet".
fn size(field: &'static str, s: &str) -> Result<Size, UserEventError> {
    if s.is_empty() {
        return Ok(Size::ZERO);
    }
    Size::parse(s).map_err(|e| bad(field, e))
}

fn token(s: &str) -> Result<TokenId, UserEventError> {
    TokenId::parse(s).map_err(|e| bad("asset_id", e))
}

fn order(r: RawOrder) -> Result<UserOrder, UserEventError> {
    Ok(UserOrder {
        asset_id: token(&r.asset_id)?,
        side: side(&r.side)?,
        price: price("price", &r.price)?,
        original_size: size("original_size", &r.original_size)?,
        size_matched: size("size_matched", r.size_matched.as_deref().unwrap_or(""))?,
        status: OrderEventStatus::parse(&r.status),
        kind: match r.kind.as_str() {
            "PLACEMENT" => OrderEventKind::Placement,
            "UPDATE" => OrderEventKind::Update,
            "CANCELLATION" => OrderEventKind::Cancellation,
            other => return Err(bad("type", format!("unknown order event {other:?}"))),
        },
        order_type: r.order_type.as_deref().and_then(|t| t.parse().ok()),
        outcome: r.outcome.unwrap_or_default(),
        owner: r.owner.unwrap_or_default(),
        maker_address: r.maker_address.unwrap_or_default(),
        associate_trades: r.associate_trades.unwrap_or_default(),
        timestamp_ms: r.timestamp.map_or(0, |t| t.as_u64()),
        id: r.id,
        market: r.market,
    })
}

fn trade(r: RawTrade) -> Result<UserTrade, UserEventError> {
    let makers = r
        .maker_orders
        .into_iter()
        .map(|m| {
            Ok(UserMakerOrder {
                matched_amount: size("maker_orders.matched_amount", &m.matched_amount)?,
                price: price("maker_orders.price", &m.price)?,
                asset_id: token(&m.asset_id)?,
                side: m.side.as_deref().map(side).transpose()?,
                order_id: m.order_id,
                owner: m.owner,
                maker_address: m.maker_address,
                outcome: m.outcome,
            })
        })
        .collect::<Result<Vec<_>, UserEventError>>()?;
    Ok(UserTrade {
        asset_id: token(&r.asset_id)?,
        side: side(&r.side)?,
        size: size("size", &r.size)?,
        price: price("price", &r.price)?,
        status: TradeStatus::parse(&r.status),
        taker: r.trader_side.as_deref() != Some("MAKER"),
        maker_orders: makers,
        transaction_hash: r.transaction_hash.unwrap_or_default(),
        match_time: r.match_time.map_or(0, |t| t.as_u64()),
        timestamp: r.timestamp.map_or(0, |t| t.as_u64()),
        id: r.id,
        taker_order_id: r.taker_order_id,
        market: r.market,
        outcome: r.outcome,
        owner: r.owner,
        maker_address: r.maker_address,
    })
}

/// Parses one event object; `Ok(None)` for an event type that is not `order` or `trade`.
pub fn parse_event(v: serde_json::Value) -> Result<Option<UserEvent>, UserEventError> {
    let field = |k: &str| v.get(k).and_then(|e| e.as_str()).unwrap_or("");
    // Some captures lack `event_type`; their `type` still says what they are.
    let kind = match (field("event_type"), field("type")) {
        ("", "PLACEMENT" | "UPDATE" | "CANCELLATION") => "order",
        ("", "TRADE") => "trade",
        (k, _) => k,
    }
    .to_string();
    match kind.as_str() {
        "order" => {
            let r: RawOrder = serde_json::from_value(v).map_err(|e| bad("order", e))?;
            order(r).map(|o| Some(UserEvent::Order(o)))
        }
        "trade" => {
            let r: RawTrade = serde_json::from_value(v).map_err(|e| bad("trade", e))?;
            trade(r).map(|t| Some(UserEvent::Trade(t)))
        }
        _ => Ok(None),
    }
}

/// Parses a frame: one event or an array of events. Bad events are returned as errors in
/// place, so one malformed event does not hide the others.
pub fn parse_frame(text: &str) -> Result<Vec<Result<UserEvent, UserEventError>>, UserEventError> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| bad("frame", e))?;
    let items = match v {
        serde_json::Value::Array(a) => a,
        other => vec![other],
    };
    Ok(items
        .into_iter()
        .filter_map(|i| parse_event(i).transpose())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_update_and_a_trade_parse_exactly() {
        let raw = r#"{"asset_id":"7","associate_trades":["t"],"event_type":"order","id":"0x1","market":"0xm","order_owner":"k","order_type":"GTC","original_size":"100.0","outcome":"Yes","owner":"k","price":"0.5","side":"BUY","size_matched":"25.5","status":"LIVE","timestamp":"1703875200500","type":"UPDATE","expiration":null}"#;
        let ev = parse_frame(raw).unwrap().pop().unwrap().unwrap();
        let UserEvent::Order(o) = ev else { panic!() };
        assert_eq!(o.size_matched, Size(25_500_000));
        assert_eq!(o.original_size, Size(100_000_000));
        assert_eq!(o.kind, OrderEventKind::Update);
        assert_eq!(o.timestamp_ms, 1_703_875_200_500);
        let t = r#"[{"event_type":"trade","id":"x","taker_order_id":"0x2","asset_id":"7","side":"SELL","size":"15","price":"0.5","status":"MINED","trader_side":"MAKER","maker_orders":[{"order_id":"0x3","matched_amount":"5","price":"0.4","asset_id":"7","side":"BUY"}]},{"event_type":"other"}]"#;
        let evs = parse_frame(t).unwrap();
        assert_eq!(evs.len(), 1);
        let UserEvent::Trade(t) = evs[0].clone().unwrap() else {
            panic!()
        };
        assert!(!t.taker);
        assert_eq!(t.status, TradeStatus::Mined);
        assert_eq!(t.maker_orders[0].price, Price(400_000));
        assert!(parse_frame(r#"{"event_type":"order","id":"1"}"#).unwrap()[0].is_err());
        // No `event_type`: the `type` tells.
        let untyped = raw.replace(r#""event_type":"order","#, "");
        assert!(matches!(
            parse_frame(&untyped).unwrap()[0],
            Ok(UserEvent::Order(_))
        ));
    }
}
