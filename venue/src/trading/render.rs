//! Renders the venue's orders and trades into their wire shapes ([`super::wire`]).

use crate::book::VenueBooks;
use polyarb::adapters::polymarket::signing::Address;
use polyarb::core::Size;

use super::orders::{VenueOrder, hash_hex};
use super::trades::{MakerFill, TradeRecord};
use super::wire::{MakerOrderJson, OpenOrderJson, TradeJson, UserOrderEvent};

/// The outcome names of the venue's binary markets.
pub fn outcome_name(outcome: u8) -> &'static str {
    if outcome == 0 { "Yes" } else { "No" }
}

fn addr(a: Address) -> String {
    a.to_checksum()
}

pub fn order_event(
    books: &VenueBooks,
    o: &VenueOrder,
    kind: &'static str,
    ts_ms: u64,
) -> UserOrderEvent {
    UserOrderEvent {
        asset_id: books.asset(o.asset).token_str.to_string(),
        associate_trades: (kind != "PLACEMENT").then(|| o.trades.clone()),
        created_at: o.created_s.to_string(),
        event_type: "order",
        expiration: o.expiration.to_string(),
        id: hash_hex(&o.hash),
        maker_address: addr(o.maker),
        market: books.markets[o.market as usize].condition_id.clone(),
        order_owner: o.owner.clone(),
        order_type: o.order_type.as_str().to_string(),
        original_size: Size(o.original).to_string(),
        outcome: outcome_name(o.outcome).to_string(),
        owner: o.owner.clone(),
        price: o.price.to_string(),
        side: o.side.as_str().to_string(),
        size_matched: Size(o.matched).to_string(),
        status: o.status.wire().to_string(),
        timestamp: ts_ms.to_string(),
        kind,
    }
}

pub fn order_json(books: &VenueBooks, o: &VenueOrder) -> OpenOrderJson {
    OpenOrderJson {
        associate_trades: o.trades.clone(),
        id: hash_hex(&o.hash),
        status: o.status.wire().to_string(),
        market: books.markets[o.market as usize].condition_id.clone(),
        original_size: Size(o.original).to_string(),
        outcome: outcome_name(o.outcome).to_string(),
        maker_address: addr(o.maker),
        owner: o.owner.clone(),
        price: o.price.to_string(),
        side: o.side.as_str().to_string(),
        size_matched: Size(o.matched).to_string(),
        asset_id: books.asset(o.asset).token_str.to_string(),
        expiration: o.expiration.to_string(),
        order_type: o.order_type.as_str().to_string(),
        created_at: o.created_s,
    }
}

fn maker_json(books: &VenueBooks, m: &MakerFill) -> MakerOrderJson {
    MakerOrderJson {
        order_id: hash_hex(&m.hash),
        owner: m.owner.clone(),
        maker_address: addr(m.address),
        matched_amount: Size(m.shares).to_string(),
        price: m.price.to_string(),
        fee_rate_bps: "0".into(),
        asset_id: books.asset(m.asset).token_str.to_string(),
        outcome: outcome_name(m.outcome).to_string(),
        side: m.side.as_str().to_string(),
    }
}

/// A trade as `GET /data/trades` lists it.
pub fn trade_json(books: &VenueBooks, t: &TradeRecord) -> TradeJson {
    TradeJson {
        asset_id: books.asset(t.asset).token_str.to_string(),
        bucket_index: 0,
        event_type: None,
        fee_rate_bps: t.fee_rate_bps.to_string(),
        id: t.id.clone(),
        last_update: t.last_update_s.to_string(),
        maker_address: addr(t.taker_address),
        maker_orders: t.makers.iter().map(|m| maker_json(books, m)).collect(),
        market: books.markets[t.market as usize].condition_id.clone(),
        match_time: t.match_s.to_string(),
        outcome: outcome_name(t.outcome).to_string(),
        owner: t.taker_owner.clone(),
        price: t.price.to_string(),
        side: t.side.as_str().to_string(),
        size: Size(t.shares).to_string(),
        status: t.status.wire().to_string(),
        taker_order_id: hash_hex(&t.taker_hash),
        timestamp: None,
        trade_owner: None,
        trader_side: "TAKER",
        transaction_hash: t.tx.clone(),
        kind: None,
    }
}

/// A user-channel `trade` event for the taker (`maker = None`) or for one maker's owner.
pub fn trade_event(books: &VenueBooks, t: &TradeRecord, maker: Option<&MakerFill>) -> TradeJson {
    let mut j = trade_json(books, t);
    j.event_type = Some("trade");
    j.kind = Some("TRADE");
    // The moment the event is sent, in milliseconds like every user-channel timestamp.
    j.timestamp = Some(polyarb::obs::clock::unix_ms().to_string());
    j.trade_owner = Some(t.taker_owner.clone());
    if let Some(m) = maker {
        j.trader_side = "MAKER";
        j.owner = m.owner.clone();
    }
    j
}
