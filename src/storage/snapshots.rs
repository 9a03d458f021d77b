//! Book snapshots: when to take one (per asset, by event count and by time), how a book is
//! turned into a stored image and back, and the binary encoding of its levels.
//!
//! Levels are one BLOB per snapshot rather than one row per level: a snapshot is only ever read
//! whole (as the base of a rebuild), and a busy asset snapshotted every thousand events would
//! otherwise add a hundred rows per thousand. The encoding is fixed-width little-endian
//! integers in micro-units, bids then asks, each best first: `price: u32`, `size: u64` (12
//! bytes a level); the level counts are columns, so a truncated blob is detected.

use crate::book::{Books, OrderBook};
use crate::core::{AssetIndex, MarketMsg, Price, Side, Size};

use super::batch::{BookImage, StoredState};
use super::error::StorageError;

const LEVEL_BYTES: usize = 12;

/// The levels of an image as a BLOB.
pub fn encode_levels(img: &BookImage) -> Vec<u8> {
    let mut out = Vec::with_capacity((img.bids.len() + img.asks.len()) * LEVEL_BYTES);
    for &(p, s) in img.bids.iter().chain(img.asks.iter()) {
        out.extend_from_slice(&p.0.to_le_bytes());
        out.extend_from_slice(&s.0.to_le_bytes());
    }
    out
}

/// Levels of one side, best first.
pub type Levels = Vec<(Price, Size)>;

/// Reads `bids + asks` levels back; anything but exactly that many levels is malformed.
pub fn decode_levels(
    blob: &[u8],
    bids: usize,
    asks: usize,
) -> Result<(Levels, Levels), StorageError> {
    let n = bids
        .checked_add(asks)
        .filter(|n| n.checked_mul(LEVEL_BYTES) == Some(blob.len()))
        .ok_or_else(|| {
            StorageError::BadStoredData(format!(
                "snapshot blob of {} bytes for {bids}+{asks} levels",
                blob.len()
            ))
        })?;
    let mut levels = Vec::with_capacity(n);
    for c in blob.chunks_exact(LEVEL_BYTES) {
        let mut p = [0u8; 4];
        let mut s = [0u8; 8];
        p.copy_from_slice(&c[..4]);
        s.copy_from_slice(&c[4..]);
        levels.push((Price(u32::from_le_bytes(p)), Size(u64::from_le_bytes(s))));
    }
    let asks_v = levels.split_off(bids);
    Ok((levels, asks_v))
}

/// The stored image of a live book.
pub fn image_of(book: &OrderBook) -> BookImage {
    BookImage {
        tick: book.tick,
        state: StoredState::from_book(book.state),
        bids: book.bids.levels().collect(),
        asks: book.asks.levels().collect(),
    }
}

/// Loads an image into `books` as `asset`, through the same messages a venue snapshot applies,
/// then restores the stored health state (which a venue snapshot would reset to ok).
pub fn load_image(books: &mut Books, asset: AssetIndex, img: &BookImage) {
    books.apply(&MarketMsg::SnapshotStart {
        asset,
        tick: img.tick,
        venue_ts_ms: 0,
    });
    // Worst first, so the ladder appends (the venue's order); any order would be correct.
    for (side, levels) in [(Side::Bid, &img.bids), (Side::Ask, &img.asks)] {
        for &(price, size) in levels.iter().rev() {
            books.apply(&MarketMsg::SnapshotLevel {
                asset,
                side,
                price,
                size,
            });
        }
    }
    if let Some(b) = books.get_mut(asset) {
        b.tick = img.tick;
        b.state = img.state.to_book();
    }
}

/// When to snapshot each asset.
#[derive(Clone, Copy, Debug)]
pub struct SnapshotPolicy {
    pub every_events: u64,
    pub every_ns: u64,
}

/// Per-asset progress towards the next snapshot.
#[derive(Clone, Copy, Debug, Default)]
pub struct SnapshotClock {
    /// Stored book events since the last snapshot (or venue `book`, which is a base too).
    pub events_since: u64,
    /// Receive time of the last snapshot or venue `book`.
    pub last_ns: u64,
    /// Inside a venue event (rows stored, its end not yet): a snapshot now would split it.
    pub in_event: bool,
}

impl SnapshotClock {
    /// A stored row of the asset's event stream.
    #[inline]
    pub fn on_row(&mut self) {
        self.events_since += 1;
        self.in_event = true;
    }

    /// A venue `book` began: it is a rebuild base of its own.
    #[inline]
    pub fn on_venue_book(&mut self, recv_ns: u64) {
        self.events_since = 0;
        self.last_ns = recv_ns;
    }

    /// Whether to snapshot now, at an event boundary with the asset's clock at `now_ns`.
    #[inline]
    pub fn due(&self, policy: &SnapshotPolicy, now_ns: u64) -> bool {
        !self.in_event
            && self.events_since > 0
            && (self.events_since >= policy.every_events
                || now_ns.saturating_sub(self.last_ns) >= policy.every_ns)
    }

    pub fn taken(&mut self, now_ns: u64) {
        self.events_since = 0;
        self.last_ns = now_ns;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book::ResyncReason;
    use crate::core::TickSize;

    #[test]
    fn levels_round_trip_and_truncation_is_detected() {
        let img = BookImage {
            tick: Some(TickSize::CENT),
            state: StoredState::ResyncNeeded(ResyncReason::Crossed),
            bids: vec![(Price(500_000), Size(1)), (Price(490_000), Size(u64::MAX))],
            asks: vec![(Price(510_000), Size(3))],
        };
        let blob = encode_levels(&img);
        assert_eq!(blob.len(), 36);
        let (b, a) = decode_levels(&blob, 2, 1).unwrap();
        assert_eq!((b, a), (img.bids.clone(), img.asks.clone()));
        assert!(decode_levels(&blob[..35], 2, 1).is_err());
        assert!(decode_levels(&blob, 3, 1).is_err());
        assert!(decode_levels(&blob, usize::MAX, 1).is_err());
    }

    #[test]
    fn image_loads_into_books_with_its_state() {
        let img = BookImage {
            tick: Some(TickSize::CENT),
            state: StoredState::ResyncNeeded(ResyncReason::BestMismatch),
            bids: vec![(Price(500_000), Size(1)), (Price(490_000), Size(2))],
            asks: vec![(Price(510_000), Size(3)), (Price(520_000), Size(4))],
        };
        let mut books = Books::with_assets(1);
        load_image(&mut books, AssetIndex(0), &img);
        let b = books.get(AssetIndex(0)).unwrap();
        assert_eq!(image_of(b), img);
    }

    #[test]
    fn clock_waits_for_event_boundaries() {
        let p = SnapshotPolicy {
            every_events: 2,
            every_ns: 1000,
        };
        let mut c = SnapshotClock::default();
        c.on_row();
        c.on_row();
        assert!(!c.due(&p, 0), "inside an event");
        c.in_event = false;
        assert!(c.due(&p, 0));
        c.taken(10);
        c.on_row();
        c.in_event = false;
        assert!(!c.due(&p, 500));
        assert!(c.due(&p, 1010));
    }
}
