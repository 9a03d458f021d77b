//! [`AssetSet`]: a set of asset indices for hot-path stages that must remember which assets
//! owe some work (a conflated top to re-send, an invalidation to deliver, a storage repair)
//! and then serve them one by one.
//!
//! A membership bitmap makes `insert` and `contains` O(1) without hashing, and a stack of the
//! members gives the next one to serve without scanning the bitmap. Both are sized for the
//! stage's asset capacity up front, so the hot path does not allocate.

use super::AssetIndex;

/// Asset indices, each at most once, served last-in first-out.
#[derive(Clone, Debug, Default)]
pub struct AssetSet {
    /// The members, in the order they were inserted; served from the end.
    list: Vec<AssetIndex>,
    /// Bit `i % 64` of word `i / 64` is set while asset `i` is a member.
    bits: Vec<u64>,
}

impl AssetSet {
    /// An empty set with room for assets `0..capacity` (it grows past that if needed).
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            list: Vec::with_capacity(capacity),
            bits: vec![0; capacity / 64 + 1],
        }
    }

    #[inline]
    const fn word_bit(a: AssetIndex) -> (usize, u64) {
        (a.get() / 64, 1 << (a.get() % 64))
    }

    /// Whether `a` is a member.
    #[inline]
    pub fn contains(&self, a: AssetIndex) -> bool {
        let (w, bit) = Self::word_bit(a);
        self.bits.get(w).is_some_and(|word| word & bit != 0)
    }

    /// Adds `a`; returns whether it was not a member yet.
    #[inline]
    pub fn insert(&mut self, a: AssetIndex) -> bool {
        let (w, bit) = Self::word_bit(a);
        if w >= self.bits.len() {
            self.bits.resize(w + 1, 0);
        }
        if self.bits[w] & bit != 0 {
            return false;
        }
        self.bits[w] |= bit;
        self.list.push(a);
        true
    }

    /// The member to serve next (the last inserted of those still listed).
    #[inline]
    pub fn last(&self) -> Option<AssetIndex> {
        self.list.last().copied()
    }

    /// Removes and returns the member to serve next.
    #[inline]
    pub fn pop(&mut self) -> Option<AssetIndex> {
        let a = self.list.pop()?;
        let (w, bit) = Self::word_bit(a);
        self.bits[w] &= !bit;
        Some(a)
    }

    /// How many members are listed to be served.
    #[inline]
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether no member is listed to be served.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_once_served_last_in_first_out() {
        let mut s = AssetSet::with_capacity(4);
        assert!(s.is_empty() && !s.contains(AssetIndex(3)));
        assert!(s.insert(AssetIndex(3)));
        assert!(s.insert(AssetIndex(200)), "grows past its capacity");
        assert!(!s.insert(AssetIndex(3)), "a member is listed once");
        assert_eq!(s.len(), 2);
        assert!(s.contains(AssetIndex(200)) && !s.contains(AssetIndex(64)));
        assert_eq!(s.last(), Some(AssetIndex(200)));
        assert_eq!(s.pop(), Some(AssetIndex(200)));
        assert!(!s.contains(AssetIndex(200)));
        assert_eq!(s.pop(), Some(AssetIndex(3)));
        assert!(s.is_empty() && !s.contains(AssetIndex(3)));
        assert_eq!(s.pop(), None);
    }
}
