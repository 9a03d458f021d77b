//! The book stage's line to the storage writer: every applied message is forwarded, a full
//! channel opens a hole in the asset's stored stream, and the hole is repaired with a snapshot
//! of the current book once the channel has room.

use super::*;

/// The book stage's line to the storage writer.
pub struct StorageLink {
    pub tx: StorageSender,
    pub clock: WallClock,
}

impl BookStage {
    /// Forwards a message to the storage writer; a full channel is counted and the asset's
    /// stored stream is repaired later with a snapshot (never a block on the hot path).
    #[inline]
    pub(super) fn store(&mut self, m: &MarketMsg) {
        let Some(link) = &self.links.storage else {
            return;
        };
        let Some(asset) = m.asset() else { return };
        if self.storage_lost.contains(asset) {
            return;
        }
        let frame_ns = match *m {
            MarketMsg::FrameStart { recv_ns, .. } => recv_ns,
            _ => self.books.frame_ns(),
        };
        let Some(ev) = StorageEvent::from_market_msg(m, link.clock.wall_ns(frame_ns)) else {
            return;
        };
        if link.tx.try_send(ev).is_err() {
            self.stats.storage_dropped.inc();
            self.storage_lost.insert(asset);
            self.stats.storage_holes.inc();
        }
    }

    /// Re-snapshots into storage every asset whose stored stream has a hole, while the writer's
    /// channel has room: a resync marker, then the whole current book.
    pub(super) fn repair_storage(&mut self, now: u64) -> bool {
        let Some(link) = &self.links.storage else {
            return false;
        };
        let mut did = false;
        while let Some(asset) = self.storage_lost.last() {
            let Some(b) = self.books.book(asset) else {
                // No book (retired, or never snapshotted): nothing to re-snapshot, and its
                // next snapshot starts a fresh stored stream. It leaves the set, so that
                // `store` forwards its messages again instead of skipping them for good.
                self.storage_lost.pop();
                continue;
            };
            let levels = b.bids.len() + b.asks.len();
            if link.tx.capacity().saturating_sub(link.tx.queue_depth()) < levels + 3 {
                break;
            }
            let recv_ns = link.clock.wall_ns(now);
            let ev = |change| {
                StorageEvent::Book(BookEvent {
                    asset,
                    venue_ts_ms: 0,
                    recv_ns,
                    change,
                })
            };
            let mut batch = std::mem::take(&mut self.repair_buf);
            batch.clear();
            batch.push(StorageEvent::Resync(ResyncEvent {
                asset,
                reason: ResyncReason::RingFull,
                recv_ns,
            }));
            batch.push(ev(BookChange::SnapshotStart { tick: b.tick }));
            for (side, ladder) in [(Side::Bid, &b.bids), (Side::Ask, &b.asks)] {
                for (price, size) in ladder.levels() {
                    batch.push(ev(BookChange::SnapshotLevel { side, price, size }));
                }
            }
            batch.push(ev(BookChange::EventEnd {
                claimed: crate::core::ClaimedTop::UNKNOWN,
            }));
            // Room was checked; a race with another producer only delays the repair.
            let sent = batch.drain(..).all(|e| link.tx.try_send(e).is_ok());
            self.repair_buf = batch;
            if !sent {
                break;
            }
            self.storage_lost.pop();
            self.stats.storage_repairs.inc();
            did = true;
        }
        did
    }
}
