//! The spread desk's tap on the strategy stage: every top of a quoted asset (one relaxed load
//! of a shared bit set) is pushed as a small [`SpreadTop`] into an SPSC ring; never blocking, a
//! full ring drops the top (counted: the next one carries the book's state).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::core::{AssetIndex, TopOfBook};
use crate::pipeline::ring::{Counter, RingTx};

use super::quote::YesTop;

/// Assets whose tops the tap forwards (a fixed bit set, set by the desk).
pub struct QuotedSet {
    bits: Box<[AtomicU64]>,
}

impl QuotedSet {
    pub fn new(capacity: usize) -> Self {
        Self {
            bits: (0..capacity.div_ceil(64).max(1))
                .map(|_| AtomicU64::new(0))
                .collect(),
        }
    }

    #[inline]
    pub fn contains(&self, a: AssetIndex) -> bool {
        let i = a.get();
        self.bits
            .get(i / 64)
            .is_some_and(|w| w.load(Ordering::Relaxed) & (1 << (i % 64)) != 0)
    }

    /// Makes the set exactly `assets` (those past its capacity are left out, and returned).
    pub fn replace(&self, assets: &[AssetIndex]) -> usize {
        let mut words = vec![0u64; self.bits.len()];
        let mut left_out = 0;
        for a in assets {
            let i = a.get();
            match words.get_mut(i / 64) {
                Some(w) => *w |= 1 << (i % 64),
                None => left_out += 1,
            }
        }
        for (w, v) in self.bits.iter().zip(words) {
            w.store(v, Ordering::Relaxed);
        }
        left_out
    }
}

/// One top of a quoted asset, as the desk needs it.
#[derive(Clone, Copy, Debug, Default)]
pub struct SpreadTop {
    pub asset: AssetIndex,
    pub top: YesTop,
    pub recv_ns: u64,
}

/// The hot-side half (see the module doc).
pub struct SpreadTap {
    pub set: Arc<QuotedSet>,
    pub tx: RingTx<SpreadTop>,
    pub dropped: Arc<Counter>,
}

impl SpreadTap {
    #[inline]
    pub fn on_top(&mut self, t: &TopOfBook) {
        if !self.set.contains(t.asset) {
            return;
        }
        let s = SpreadTop {
            asset: t.asset,
            top: YesTop {
                bid: t.bid,
                bid_size: t.bid_size,
                ask: t.ask,
                ask_size: t.ask_size,
                ok: t.tradeable,
            },
            recv_ns: t.recv_ns,
        };
        if self.tx.push(s).is_err() {
            self.dropped.inc();
        }
    }
}
