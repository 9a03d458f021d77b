//! A copy of the books in the shape the replay contract and `--dump-books` print: token ids,
//! health and levels as decimal strings, sorted by token id.

use serde::Serialize;

use super::Books;
use crate::core::{AssetRegistry, TokenId};

/// One asset in the `--dump-books` document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct BookDump {
    pub asset_id: String,
    pub market: Option<String>,
    pub state: String,
    pub reason: Option<String>,
    pub tick_size: Option<String>,
    pub bids: Vec<[String; 2]>,
    pub asks: Vec<[String; 2]>,
}

/// Every asset that ever had a book, sorted by token id numerically, in the dump's shape.
pub fn dump_books(books: &Books, registry: &AssetRegistry) -> Vec<BookDump> {
    let mut out: Vec<(TokenId, BookDump)> = books
        .iter()
        .filter_map(|(asset, b)| {
            let info = registry.info(asset)?;
            Some((
                info.token,
                BookDump {
                    asset_id: info.token_str.to_string(),
                    market: info.market.as_deref().map(str::to_string),
                    state: b.state.as_str().to_string(),
                    reason: b.state.reason().map(|r| r.as_str().to_string()),
                    tick_size: b.tick.map(|t| t.to_string()),
                    bids: b.bids.dump_levels(),
                    asks: b.asks.dump_levels(),
                },
            ))
        })
        .collect();
    out.sort_by_key(|(t, _)| *t);
    out.into_iter().map(|(_, b)| b).collect()
}
