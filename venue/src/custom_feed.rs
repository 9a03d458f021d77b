//! The market channel's custom-feature events (`custom_feature_enabled: true`) in production's
//! shapes (fixtures `ws_best_bid_ask.json`, `ws_new_market.json`, `ws_market_resolved.json`):
//! `best_bid_ask` when an asset's published top of book changes, and `new_market` /
//! `market_resolved` announced through `POST /admin/market-event`. Also the plain close
//! reasons of a refused user-channel subscription.

use serde::Deserialize;
use serde_json::json;

use polyarb::core::Price;

use super::book::VenueBooks;

/// Close reason of a user-channel subscription whose credentials the venue did not issue.
pub const AUTH_REFUSED: &str = "Unauthorized/Invalid api key";
/// Close reason of a user-channel message that is not a subscription.
pub const BAD_USER_MESSAGE: &str = "invalid user channel message";

/// An asset's published best bid and ask.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Best {
    pub bid: Option<Price>,
    pub ask: Option<Price>,
}

impl Best {
    pub fn of(books: &VenueBooks, a: u32) -> Self {
        let book = books.asset(a).published();
        Self {
            bid: book.best_bid(),
            ask: book.best_ask(),
        }
    }
}

fn price_text(p: Option<Price>) -> String {
    p.map(|p| p.to_string()).unwrap_or_default()
}

/// The `best_bid_ask` event of one asset.
pub fn best_bid_ask(books: &VenueBooks, a: u32, best: Best, ts_ms: u64) -> String {
    let spread = match (best.bid, best.ask) {
        (Some(b), Some(a)) => Price(a.0.saturating_sub(b.0)).to_string(),
        _ => String::new(),
    };
    json!({
        "event_type": "best_bid_ask",
        "market": books.market_of(a).condition_id,
        "asset_id": books.asset(a).token_str.as_ref(),
        "best_bid": price_text(best.bid),
        "best_ask": price_text(best.ask),
        "spread": spread,
        "timestamp": ts_ms.to_string(),
    })
    .to_string()
}

/// `POST /admin/market-event`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum MarketEventKind {
    NewMarket,
    #[serde(rename = "market_resolved")]
    Resolved {
        winning_asset_id: String,
    },
}

/// The `new_market` or `market_resolved` event of market `m`; `None` if the winner is not
/// one of its assets.
pub fn market_event(
    books: &VenueBooks,
    m: u32,
    kind: &MarketEventKind,
    ts_ms: u64,
) -> Option<String> {
    let info = &books.markets[m as usize];
    let tokens: Vec<&str> = info
        .assets
        .iter()
        .map(|&a| books.asset(a).token_str.as_ref())
        .collect();
    let outcomes = ["Yes", "No"];
    let id = (1_000_000 + m).to_string();
    let tags = ["synthetic"];
    let v = match kind {
        MarketEventKind::NewMarket => {
            let slug = format!("synthetic-market-{m}");
            let tick = info
                .assets
                .first()
                .map(|&a| books.asset(a).tick.to_string())
                .unwrap_or_default();
            json!({
                "event_type": "new_market",
                "id": id,
                "question": info.question,
                "market": info.condition_id,
                "slug": slug,
                "description": info.question,
                "assets_ids": tokens,
                "outcomes": &outcomes[..tokens.len().min(2)],
                "event_message": {
                    "id": (100_000 + m).to_string(),
                    "ticker": slug,
                    "slug": slug,
                    "title": info.question,
                    "description": info.question,
                },
                "timestamp": ts_ms.to_string(),
                "tags": tags,
                "condition_id": info.condition_id,
                "active": true,
                "clob_token_ids": tokens,
                "sports_market_type": "",
                "line": "",
                "game_start_time": "",
                "order_price_min_tick_size": tick,
                "group_item_title": "",
            })
        }
        MarketEventKind::Resolved { winning_asset_id } => {
            let i = tokens.iter().position(|t| t == winning_asset_id)?;
            json!({
                "event_type": "market_resolved",
                "id": id,
                "market": info.condition_id,
                "assets_ids": tokens,
                "winning_asset_id": winning_asset_id,
                "winning_outcome": outcomes.get(i).copied().unwrap_or_default(),
                "timestamp": ts_ms.to_string(),
                "tags": tags,
            })
        }
    };
    Some(v.to_string())
}
