//! One side of an L2 book: price levels kept sorted with the best price at the END.
//!
//! Why a sorted vector and not an array over the tick grid or a tree (measured in
//! `benches/market_data.rs`, group `level_store_4096_updates`):
//! - exact for any price the venue sends: after a `tick_size_change` the old levels stay off
//!   the new grid until the next snapshot, and a level can sit at any 6-decimal price; a grid
//!   array would need 10^6 slots per side to be exact (or a fallback path);
//! - the venue sends snapshot arrays best-LAST, which is this layout's order, so a snapshot
//!   loads with appends only; most changes hit the top few levels, at the tail, so the memmove
//!   of an insert or removal is a few bytes;
//! - memory follows depth (tens of levels) rather than the grid (up to 10,000 per side), so
//!   thousands of assets stay in cache; a `BTreeMap` costs a pointer chase per level and ~6x
//!   the time per update.
//!   Keys and sizes are separate arrays so a binary search touches 4 bytes per level.

use crate::core::{Price, Side, Size};

/// One side of a book. Keys ascend towards the best price: bids store the price, asks store
/// its bitwise complement, so both sides keep the best level last.
#[derive(Clone, Debug, Default)]
pub struct Ladder {
    keys: Vec<u32>,
    sizes: Vec<u64>,
    ask: bool,
}

impl Ladder {
    pub fn new(side: Side) -> Self {
        Self {
            keys: Vec::with_capacity(64),
            sizes: Vec::with_capacity(64),
            ask: side == Side::Ask,
        }
    }

    #[inline]
    fn key(&self, price: Price) -> u32 {
        if self.ask { !price.0 } else { price.0 }
    }

    #[inline]
    fn price_of(&self, key: u32) -> Price {
        Price(if self.ask { !key } else { key })
    }

    /// Sets the absolute size at `price`; zero removes the level. Returns whether the best
    /// level changed.
    #[inline]
    pub fn set(&mut self, price: Price, size: Size) -> bool {
        let key = self.key(price);
        let n = self.keys.len();
        // Fast path: the best level, or a new best level (the common cases on a live book).
        if let Some(&last) = self.keys.last() {
            if key == last {
                if size.is_zero() {
                    self.keys.pop();
                    self.sizes.pop();
                } else {
                    self.sizes[n - 1] = size.0;
                }
                return true;
            }
            if key > last {
                if size.is_zero() {
                    return false;
                }
                self.keys.push(key);
                self.sizes.push(size.0);
                return true;
            }
        } else {
            if size.is_zero() {
                return false;
            }
            self.keys.push(key);
            self.sizes.push(size.0);
            return true;
        }
        match self.keys.binary_search(&key) {
            Ok(i) => {
                if size.is_zero() {
                    self.keys.remove(i);
                    self.sizes.remove(i);
                } else {
                    self.sizes[i] = size.0;
                }
            }
            Err(i) => {
                if !size.is_zero() {
                    self.keys.insert(i, key);
                    self.sizes.insert(i, size.0);
                }
            }
        }
        false
    }

    /// Appends a snapshot level; levels arriving best-last (the venue's order) append in O(1),
    /// any other order falls back to a sorted insert, a repeated price overwrites.
    #[inline]
    pub fn load(&mut self, price: Price, size: Size) {
        self.set(price, size);
    }

    pub fn clear(&mut self) {
        self.keys.clear();
        self.sizes.clear();
    }

    /// The best level (highest bid, lowest ask).
    #[inline]
    pub fn best(&self) -> Option<(Price, Size)> {
        let n = self.keys.len();
        if n == 0 {
            None
        } else {
            Some((self.price_of(self.keys[n - 1]), Size(self.sizes[n - 1])))
        }
    }

    #[inline]
    pub fn best_price(&self) -> Option<Price> {
        self.keys.last().map(|&k| self.price_of(k))
    }

    /// The size resting at exactly `price`.
    pub fn size_at(&self, price: Price) -> Size {
        match self.keys.binary_search(&self.key(price)) {
            Ok(i) => Size(self.sizes[i]),
            Err(_) => Size::ZERO,
        }
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Levels from the best outwards.
    pub fn levels(&self) -> impl Iterator<Item = (Price, Size)> + '_ {
        self.keys
            .iter()
            .zip(self.sizes.iter())
            .rev()
            .map(|(&k, &s)| (self.price_of(k), Size(s)))
    }

    /// The `i`-th best level (0 = the best).
    #[inline]
    pub fn level(&self, i: usize) -> Option<(Price, Size)> {
        let n = self.keys.len();
        (i < n).then(|| {
            (
                self.price_of(self.keys[n - 1 - i]),
                Size(self.sizes[n - 1 - i]),
            )
        })
    }

    /// The first levels, best first, into a fixed-size ladder (no allocation).
    #[inline]
    pub fn ask_depth(&self) -> crate::core::AskDepth {
        let mut d = crate::core::AskDepth::default();
        let n = self.keys.len().min(crate::core::MAX_DEPTH);
        for i in 0..n {
            let j = self.keys.len() - 1 - i;
            d.prices[i] = self.price_of(self.keys[j]);
            d.sizes[i] = Size(self.sizes[j]);
        }
        d.len = n as u8;
        d
    }

    /// The levels, best first, as canonical `[price, size]` strings: the shape of a side in
    /// `polyarb replay --dump-books` and every other book dump.
    pub fn dump_levels(&self) -> Vec<[String; 2]> {
        self.levels()
            .map(|(p, s)| [p.to_string(), s.to_string()])
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    #[test]
    fn bids_best_is_highest_asks_best_is_lowest() {
        let mut b = Ladder::new(Side::Bid);
        let mut a = Ladder::new(Side::Ask);
        for p in [480_000, 500_000, 490_000] {
            b.set(Price(p), Size(1));
            a.set(Price(p + 30_000), Size(1));
        }
        assert_eq!(b.best_price(), Some(Price(500_000)));
        assert_eq!(a.best_price(), Some(Price(510_000)));
        let bp: Vec<u32> = b.levels().map(|(p, _)| p.0).collect();
        assert_eq!(bp, [500_000, 490_000, 480_000]);
        let ap: Vec<u32> = a.levels().map(|(p, _)| p.0).collect();
        assert_eq!(ap, [510_000, 520_000, 530_000]);
    }

    #[test]
    fn zero_removes_and_reports_best_changes() {
        let mut b = Ladder::new(Side::Bid);
        assert!(b.set(Price(500_000), Size(10)));
        assert!(!b.set(Price(400_000), Size(10)));
        assert!(b.set(Price(500_000), Size::ZERO));
        assert_eq!(b.best_price(), Some(Price(400_000)));
        assert!(!b.set(Price(300_000), Size::ZERO));
        assert_eq!(b.len(), 1);
    }

    proptest! {
        /// The ladder behaves exactly like an ordered map under any sequence of sets.
        #[test]
        fn matches_a_reference_map(ops in proptest::collection::vec((1u32..1000, 0u64..5, any::<bool>()), 0..300)) {
            for side in [Side::Bid, Side::Ask] {
                let mut l = Ladder::new(side);
                let mut m = BTreeMap::new();
                for &(p, s, _) in &ops {
                    l.set(Price(p), Size(s));
                    if s == 0 { m.remove(&p); } else { m.insert(p, s); }
                }
                let want: Vec<(u32, u64)> = match side {
                    Side::Bid => m.iter().rev().map(|(&p, &s)| (p, s)).collect(),
                    Side::Ask => m.iter().map(|(&p, &s)| (p, s)).collect(),
                };
                let got: Vec<(u32, u64)> = l.levels().map(|(p, s)| (p.0, s.0)).collect();
                prop_assert_eq!(got, want);
            }
        }
    }
}
