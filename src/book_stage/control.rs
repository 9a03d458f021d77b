//! Control requests served between messages (dumps, registry extension, retirement) and the
//! periodic read-only view of tops and health.

use super::*;

/// Requests answered by the book stage between two messages.
///
/// The registry changes (`Extend`, `Retire`, `Revive`) are sent before the feed is told to
/// subscribe or after it is told to unsubscribe; a message for an asset the stage does not
/// know, or has retired, first drains this channel, so it is always applied in time.
pub enum BookCtl {
    /// A copy of every book, in the replay dump's shape.
    DumpBooks(Sender<Vec<BookDump>>),
    /// New assets (a market listed while running).
    Extend(Box<RegistryExtension>),
    /// Unsubscribed assets: their books are emptied and become untradeable.
    Retire(Vec<AssetIndex>),
    /// Assets subscribed again.
    Revive(Vec<AssetIndex>),
}

/// One asset as the read-only view shows it.
#[derive(Clone, Copy, Debug)]
pub struct AssetView {
    pub asset: AssetIndex,
    pub state: BookState,
    pub tick: Option<TickSize>,
    pub best_bid: Option<(Price, Size)>,
    pub best_ask: Option<(Price, Size)>,
    /// Milliseconds since the last event or snapshot.
    pub age_ms: u64,
}

/// A periodic, read-only copy of the books' tops and health (the book stage never waits for
/// its reader: an unread view is simply replaced).
#[derive(Clone, Debug, Default)]
pub struct MarketView {
    pub at_ns: u64,
    pub assets: Vec<AssetView>,
}

impl BookStage {
    /// Serves one control request; false when none is waiting.
    pub(super) fn serve_ctl(&mut self) -> bool {
        let Some(rx) = &self.links.ctl else {
            return false;
        };
        match rx.try_recv() {
            Ok(BookCtl::DumpBooks(tx)) => {
                let _ = tx.send(dump_books(&self.books, &self.links.registry));
            }
            Ok(BookCtl::Extend(ext)) => self.extend(*ext),
            Ok(BookCtl::Retire(assets)) => {
                for a in assets {
                    self.retire(a);
                }
            }
            Ok(BookCtl::Revive(assets)) => {
                for a in assets {
                    if let Some(h) = self.health.get_mut(a.get())
                        && std::mem::take(&mut h.retired)
                    {
                        self.stats.revived_assets.inc();
                    }
                }
            }
            Err(_) => return false,
        }
        true
    }

    /// Takes new assets: their token ids and empty books (allocated here, on a rare control
    /// message, within the tables' reserved capacity).
    pub(super) fn extend(&mut self, ext: RegistryExtension) {
        let first = ext.first;
        match self.links.registry.extend_with(ext) {
            Ok(n) => {
                let len = self.links.registry.len();
                self.books.grow_to(len);
                self.health.resize(len, Health::default());
                self.last_top.resize(len, TopOfBook::default());
                self.stats.extended_assets.add(n as u64);
            }
            Err(e) => tracing::error!(first, error = %e, "book stage: registry extension refused"),
        }
    }

    /// An unsubscribed asset: its book is emptied, its top untradeable, its requests ended.
    pub(super) fn retire(&mut self, asset: AssetIndex) {
        let i = asset.get();
        if i >= self.health.len() || self.health[i].retired {
            return;
        }
        self.health[i] = Health {
            retired: true,
            ..Health::default()
        };
        self.pending.retain(|d| d.asset != asset);
        self.books.retire(asset);
        self.stats.retired_assets.inc();
        self.emit_top(asset, now_ns());
        if let Some(c) = self.cell(asset) {
            c.state.set(crate::obs::replica::STATE_RETIRED);
        }
    }

    pub(super) fn publish_view(&mut self, now: u64) {
        let Some((tx, back)) = &self.links.views else {
            return;
        };
        let mut v = back.try_recv().unwrap_or_default();
        v.assets.clear();
        v.at_ns = now;
        for i in 0..self.books.capacity() {
            let asset = AssetIndex(i as u32);
            let Some(b) = self.books.book(asset) else {
                continue;
            };
            if self.health.get(i).is_some_and(|h| h.retired) {
                continue;
            }
            let last = b.last_event_ns.max(b.last_snapshot_ns);
            v.assets.push(AssetView {
                asset,
                state: b.state,
                tick: b.tick,
                best_bid: b.bids.best(),
                best_ask: b.asks.best(),
                age_ms: if last == 0 {
                    u64::MAX
                } else {
                    now.saturating_sub(last) / 1_000_000
                },
            });
        }
        // An unread view is replaced next time; never wait for the reader.
        let _ = tx.try_send(v);
    }
}
