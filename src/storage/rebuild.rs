//! Rebuilding an asset's book as the engine had it at any moment: the nearest base at or before
//! that moment (a stored snapshot, or a venue `book` in the event stream, whichever is newer),
//! then every later event of the asset up to the moment, through the real `book::Books` code.
//!
//! "At time T" means after every event the engine had received by T (local receive time): the
//! cut is the market's last `seq` with `recv_ns <= T`, found on the sampled `(market_id,
//! recv_ns)` index and the primary key (see `storage`, "Indices").

use crate::book::Books;
use crate::book::dump::BookDump;
use crate::core::{AssetIndex, MarketMsg, TokenId};

use super::batch::{BookRowKind, StoredBookRow};
use super::error::StorageError;
use super::snapshots::load_image;
use super::store::{AssetRecord, EventStore};

/// Rows read per query while applying events.
const PAGE: usize = 4096;

/// A rebuilt book and how it was built.
pub struct RebuiltBook {
    pub asset: AssetRecord,
    /// The single-asset book table (the asset is `AssetIndex(0)`).
    pub books: Books,
    /// The last `seq` of the market included.
    pub seq: u64,
    /// Where the rebuild started: a snapshot's `seq` or a venue book's `seq`.
    pub base: Base,
    /// Events applied on top of the base.
    pub applied: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Base {
    Snapshot(u64),
    VenueBook(u64),
}

/// Why there is no book to show.
#[derive(Debug, thiserror::Error)]
pub enum RebuildError {
    #[error("token {0} is not in this database")]
    UnknownAsset(String),
    #[error("no stored event of market {condition} at or before the requested time")]
    NothingBefore { condition: String },
    #[error(
        "no snapshot or venue book of token {token} at or before seq {seq} (pruned by retention?)"
    )]
    NoBase { token: String, seq: u64 },
    #[error(transparent)]
    Storage(#[from] StorageError),
}

pub const ASSET: AssetIndex = AssetIndex(0);

/// The book of `token` after every event received at or before `at_ns`.
pub fn rebuild_at(
    store: &mut dyn EventStore,
    token: &TokenId,
    at_ns: u64,
) -> Result<RebuiltBook, RebuildError> {
    let asset = store
        .asset(token)?
        .ok_or_else(|| RebuildError::UnknownAsset(token.to_string()))?;
    let seq = store
        .seq_at(asset.market_id, at_ns)?
        .ok_or_else(|| RebuildError::NothingBefore {
            condition: asset.condition_id.clone(),
        })?;
    rebuild_through(store, asset, seq)
}

/// The book of an asset after every event of its market up to `seq`.
pub fn rebuild_through(
    store: &mut dyn EventStore,
    asset: AssetRecord,
    seq: u64,
) -> Result<RebuiltBook, RebuildError> {
    let snap = store.latest_snapshot(asset.asset_id, seq)?;
    let venue = store.latest_book_start(asset.asset_id, seq)?;
    let mut books = Books::with_assets(1);
    // The newer base wins; a snapshot taken at a venue book's seq already contains it.
    let (base, from) = match (snap, venue) {
        (Some(s), v) if v.is_none_or(|v| v <= s.seq) => {
            load_image(&mut books, ASSET, &s.book);
            (Base::Snapshot(s.seq), s.seq + 1)
        }
        (_, Some(v)) => (Base::VenueBook(v), v),
        (_, None) => {
            return Err(RebuildError::NoBase {
                token: asset.token_id,
                seq,
            });
        }
    };
    let mut applied = 0u64;
    let mut next = from;
    while next <= seq {
        let rows = store.book_rows(asset.market_id, Some(asset.asset_id), next, seq, PAGE)?;
        for r in &rows {
            apply_row(&mut books, r);
        }
        applied += rows.len() as u64;
        match rows.last() {
            Some(last) if rows.len() == PAGE => next = last.seq + 1,
            _ => break,
        }
    }
    Ok(RebuiltBook {
        asset,
        books,
        seq,
        base,
        applied,
    })
}

/// Applies one stored row as the messages the live book stage applied.
pub fn apply_row(books: &mut Books, r: &StoredBookRow) {
    let msg = match r.kind {
        BookRowKind::BookStart { tick } => Some(MarketMsg::SnapshotStart {
            asset: ASSET,
            tick,
            venue_ts_ms: r.venue_ts_ms,
        }),
        BookRowKind::BookLevel { side, price, size } => Some(MarketMsg::SnapshotLevel {
            asset: ASSET,
            side,
            price,
            size,
        }),
        BookRowKind::Change { side, price, size } => Some(MarketMsg::LevelChange {
            asset: ASSET,
            side,
            price,
            size,
        }),
        BookRowKind::TickSize { tick } => Some(MarketMsg::TickSizeChange { asset: ASSET, tick }),
        BookRowKind::EventEnd => None,
        BookRowKind::Invalidate { reason } => {
            books.invalidate(ASSET, reason);
            None
        }
    };
    if let Some(m) = msg {
        books.apply(&m);
    }
    if let Some(claimed) = r.end {
        books.apply(&MarketMsg::AssetEventEnd {
            asset: ASSET,
            claimed,
            venue_ts_ms: r.venue_ts_ms,
        });
    }
}

impl RebuiltBook {
    /// The book in the shape of one `polyarb replay --dump-books` entry (`None` if the asset
    /// has no book at that point: no snapshot had arrived yet).
    pub fn dump(&self) -> Option<BookDump> {
        let b = self.books.get(ASSET)?;
        Some(BookDump {
            asset_id: self.asset.token_id.clone(),
            market: Some(self.asset.condition_id.clone()),
            state: b.state.as_str().to_string(),
            reason: b.state.reason().map(|r| r.as_str().to_string()),
            tick_size: b.tick.map(|t| t.to_string()),
            bids: b.bids.dump_levels(),
            asks: b.asks.dump_levels(),
        })
    }
}
