//! The depth walk: how many complete sets a group's ask ladders sell below a threshold.
//!
//! Every leg's asks are walked together from the best: at each step the marginal set costs
//! the sum of each leg's current ask (plus a per-share add-on a caller may give: fee and
//! slippage reserve); while that is at most `limit`, the smallest size left among the legs'
//! current levels is taken from every leg, and used-up levels are passed. The walk stops at the
//! first step over `limit`, at the end of a ladder, or at `cap`.
//!
//! Then [`fill`] walks one leg again for a chosen number of sets: the exact cost of those
//! shares through its levels and the worst price it reaches (the limit of its order).
//!
//! [`sets_within`] is that rule step by step, over callbacks (`level(k, i)` = leg `k`'s `i`-th
//! best ask), for whole books (replay). The hot path walks the same rule by level boundaries
//! instead: the marginal set cost changes only where some leg's cumulative size ends a level,
//! so each leg's ladder is kept as cumulative sizes ([`Ladder`], rebuilt only when that leg's
//! asks change), and every leg's boundaries are kept merged in walk order ([`Merged`]: a
//! changed leg's current boundaries are merged in as a walk reads on, and the order is
//! re-merged only once several legs are stale). The walk is then one pass over the merged
//! boundaries up to where it stops ([`Merged::walk`], [`walk_merged`]), and a leg's fill one
//! look-up in its prefix sums ([`Ladder::fill`]). Both give exactly what the step-by-step rule
//! gives.

use crate::core::{MAX_DEPTH, Price, Size};

/// Micro-shares of complete sets the legs' asks sell at marginal costs up to `limit`
/// (micro-pUSD per set), at most `cap`. `extra(k, p)` is added to leg `k`'s price `p` in the
/// marginal cost. `idx` and `rem` need a slot per leg. A leg without asks gives 0.
#[inline]
pub fn sets_within<L, E>(
    n: usize,
    mut level: L,
    mut extra: E,
    limit: u64,
    cap: u64,
    idx: &mut [u32],
    rem: &mut [u64],
) -> u64
where
    L: FnMut(usize, usize) -> Option<(Price, Size)>,
    E: FnMut(usize, Price) -> u64,
{
    let (idx, rem) = (&mut idx[..n], &mut rem[..n]);
    // The first step, fused with the set-up: most evaluations stop here.
    let mut c: u64 = 0;
    let mut s = u64::MAX;
    for k in 0..n {
        let Some((p, z)) = level(k, 0) else {
            return 0;
        };
        idx[k] = 0;
        rem[k] = z.0;
        s = s.min(z.0);
        c += u64::from(p.0) + extra(k, p);
    }
    let mut total: u64 = 0;
    loop {
        if n == 0 || c > limit || s == 0 {
            return total;
        }
        let take = s.min(cap - total);
        total += take;
        if total >= cap {
            return total;
        }
        c = 0;
        s = u64::MAX;
        for k in 0..n {
            rem[k] -= take;
            if rem[k] == 0 {
                idx[k] += 1;
                match level(k, idx[k] as usize) {
                    Some((_, z)) => rem[k] = z.0,
                    None => return total,
                }
            }
            // The level is known to exist: read it once more for its price.
            let (p, _) = level(k, idx[k] as usize).unwrap_or_default();
            s = s.min(rem[k]);
            c += u64::from(p.0) + extra(k, p);
        }
    }
}

/// One leg bought for a number of sets through its levels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LegFill {
    /// The highest price reached: the limit of the leg's order.
    pub worst: Price,
    /// Σ price × shares over the levels, in 1e-12 pUSD (exact).
    pub cost_e12: u128,
}

impl LegFill {
    /// The cost rounded up to the micro-pUSD.
    #[inline]
    pub fn cost_ceil(&self) -> u64 {
        u64::try_from(self.cost_e12.div_ceil(1_000_000)).unwrap_or(u64::MAX)
    }
}

/// Buys `shares` (micro) through one leg's levels (`level(i)`, best first); `per_level(p,
/// taken)` sees every level used. `None` if the levels hold fewer shares.
#[inline]
pub fn fill<L, F>(shares: u64, mut level: L, mut per_level: F) -> Option<LegFill>
where
    L: FnMut(usize) -> Option<(Price, Size)>,
    F: FnMut(Price, u64),
{
    let mut left = shares;
    let mut out = LegFill::default();
    let mut i = 0;
    while left > 0 {
        let (p, z) = level(i)?;
        let take = left.min(z.0);
        out.cost_e12 += u128::from(p.0) * u128::from(take);
        out.worst = p;
        per_level(p, take);
        left -= take;
        i += 1;
    }
    Some(out)
}

/// The most a level's unit counts: far above any set's payout (at most 63 pUSD), so that
/// capping changes no answer and every difference of two units fits an `i32`.
const UNIT_CAP: u64 = i32::MAX as u64;

/// One leg's ask ladder as the boundary walk reads it, built once per change of its asks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ladder {
    /// Levels the walk may use: the first `depth` asks, ended early by a zero-size level.
    pub n: u8,
    pub price: [Price; MAX_DEPTH],
    /// Micro-shares through level `i` (saturating).
    pub cum: [u64; MAX_DEPTH],
    /// What level `i` adds to a set's marginal cost: its price plus the caller's add-on,
    /// micro-pUSD, at most `i32::MAX`.
    pub unit: [u64; MAX_DEPTH],
    /// Σ price × size of the levels before `i`, in 1e-12 pUSD (exact).
    pub pre: [u128; MAX_DEPTH],
}

impl Ladder {
    /// From asks best first (at most `depth` of them are used); `extra(p)` is added to each
    /// level's price in its unit (fee and slippage reserve per share).
    pub fn build<I, E>(levels: I, depth: usize, mut extra: E) -> Self
    where
        I: IntoIterator<Item = (Price, Size)>,
        E: FnMut(Price) -> u64,
    {
        let mut l = Self::default();
        let (mut cum, mut pre) = (0u64, 0u128);
        for (i, (p, z)) in levels.into_iter().take(depth.min(MAX_DEPTH)).enumerate() {
            if z.0 == 0 {
                break;
            }
            cum = cum.saturating_add(z.0);
            l.price[i] = p;
            l.cum[i] = cum;
            l.unit[i] = (u64::from(p.0) + extra(p)).min(UNIT_CAP);
            l.pre[i] = pre;
            pre += u128::from(p.0) * u128::from(z.0);
            l.n = i as u8 + 1;
        }
        l
    }

    /// The unit of the first level (0 without levels).
    #[inline]
    pub fn first_unit(&self) -> u64 {
        if self.n == 0 { 0 } else { self.unit[0] }
    }

    /// Buys `shares` (more than 0, at most the ladder's total) through the levels: the level
    /// it ends on and the fill. `hint`: a level at or after that one (the walk's).
    #[inline]
    pub fn fill(&self, shares: u64, hint: usize) -> Option<(usize, LegFill)> {
        let n = self.n as usize;
        if n == 0 || shares == 0 || shares > self.cum[n - 1] {
            return None;
        }
        let mut j = hint.min(n - 1);
        while j > 0 && self.cum[j - 1] >= shares {
            j -= 1;
        }
        while self.cum[j] < shares {
            j += 1;
        }
        let before = if j == 0 { 0 } else { self.cum[j - 1] };
        let p = self.price[j];
        Some((
            j,
            LegFill {
                worst: p,
                cost_e12: self.pre[j] + u128::from(p.0) * u128::from(shares - before),
            },
        ))
    }

    /// The shares level `i` holds.
    #[inline]
    pub fn size(&self, i: usize) -> u64 {
        self.cum[i] - if i == 0 { 0 } else { self.cum[i - 1] }
    }
}

/// Where one leg's level ends, in sets walked: the marginal set cost moves by `delta` there,
/// or the walk ends (`end`: the leg's ladder has no next level).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bound {
    pub at: u64,
    pub delta: i32,
    pub leg: u8,
    pub end: bool,
}

/// Every leg's level boundaries of one side of a group, merged in walk order and kept across
/// evaluations. A leg whose ladder changed is marked; the next [`Merged::refresh`] takes its
/// old boundaries out and merges its new ones in (one pass), so a top change costs one
/// re-merge of one leg, and only when a walk needs it.
#[derive(Clone, Debug, Default)]
pub struct Merged {
    order: Vec<Bound>,
    scratch: Vec<Bound>,
    fresh: Vec<Bound>,
    /// Legs whose boundaries in `order` are out of date (bit `k` = leg `k`).
    dirty: u64,
}

impl Merged {
    /// Room for `n` legs of `depth` levels, so that refreshes never allocate; every leg is
    /// out of date.
    pub fn with_capacity(n: usize, depth: usize) -> Self {
        let cap = n * depth.min(MAX_DEPTH);
        Self {
            order: Vec::with_capacity(cap),
            scratch: Vec::with_capacity(cap),
            fresh: Vec::with_capacity(cap),
            dirty: if n >= 64 { u64::MAX } else { (1u64 << n) - 1 },
        }
    }

    /// Leg `k`'s ladder changed.
    #[inline]
    pub fn mark(&mut self, k: usize) {
        self.dirty |= 1u64 << (k & 63);
    }

    /// Brings the merged boundaries up to date with the ladders of legs `0..n`.
    pub fn refresh<'a, F>(&mut self, n: usize, ladder: &F)
    where
        F: Fn(usize) -> &'a Ladder,
    {
        let dirty = self.dirty;
        if dirty == 0 {
            return;
        }
        self.fresh.clear();
        for k in (0..n).filter(|k| dirty >> k & 1 == 1) {
            push_bounds(&mut self.fresh, ladder(k), k);
        }
        if dirty.count_ones() > 1 {
            self.fresh.sort_unstable_by_key(|b| b.at);
        }
        self.scratch.clear();
        let (old, new) = (&self.order, &self.fresh);
        let (mut i, mut j) = (0, 0);
        loop {
            while i < old.len() && dirty >> old[i].leg & 1 == 1 {
                i += 1;
            }
            if i == old.len() {
                self.scratch.extend_from_slice(&new[j..]);
                break;
            }
            if j == new.len() {
                self.scratch
                    .extend(old[i..].iter().filter(|b| dirty >> b.leg & 1 == 0));
                break;
            }
            if new[j].at < old[i].at {
                self.scratch.push(new[j]);
                j += 1;
            } else {
                self.scratch.push(old[i]);
                i += 1;
            }
        }
        std::mem::swap(&mut self.order, &mut self.scratch);
        self.dirty = 0;
    }

    /// [`walk_merged`] over the legs' current ladders without re-merging first, while few legs
    /// are out of date: their stale boundaries are skipped and their current ones (a short
    /// sorted list) are merged in as the walk reads on, so a top change costs nothing until a
    /// walk, and a walk only what it reads. Past [`LAZY_LEGS`] stale legs, a refresh first.
    pub fn walk<'a, F>(
        &mut self,
        n: usize,
        ladder: F,
        c0: u64,
        limit: u64,
        cap: u64,
        level: &mut [u8],
    ) -> u64
    where
        F: Fn(usize) -> &'a Ladder,
    {
        if c0 > limit {
            return 0;
        }
        if self.dirty.count_ones() > LAZY_LEGS {
            self.refresh(n, &ladder);
        }
        let dirty = self.dirty;
        self.fresh.clear();
        for k in (0..n).filter(|k| dirty >> k & 1 == 1) {
            push_bounds(&mut self.fresh, ladder(k), k);
        }
        if dirty.count_ones() > 1 {
            self.fresh.sort_unstable_by_key(|b| b.at);
        }
        let (old, new) = (&self.order[..], &self.fresh[..]);
        let (mut i, mut j) = (0, 0);
        let mut c = c0;
        let mut at = 0u64;
        let mut started = false;
        loop {
            while i < old.len() && dirty >> old[i].leg & 1 == 1 {
                i += 1;
            }
            let b = match (old.get(i), new.get(j)) {
                (Some(a), Some(f)) if f.at < a.at => {
                    j += 1;
                    *f
                }
                (Some(a), _) => {
                    i += 1;
                    *a
                }
                (None, Some(f)) => {
                    j += 1;
                    *f
                }
                (None, None) => break,
            };
            if !started || b.at != at {
                // The step up to the previous boundary was priced with every leg that ends
                // there moved on.
                if started && c > limit {
                    return at;
                }
                if b.at >= cap {
                    return cap;
                }
                started = true;
                at = b.at;
            }
            if b.end {
                return at;
            }
            c = c.wrapping_add(i64::from(b.delta) as u64);
            level[b.leg as usize] += 1;
        }
        // Every ladder ends in a boundary, so the loop returns; nothing is taken past the last.
        at.min(cap)
    }

    /// The merged boundaries (up to date after [`Self::refresh`]).
    #[inline]
    pub fn bounds(&self) -> &[Bound] {
        &self.order
    }
}

/// Stale legs a [`Merged::walk`] merges in as it reads; more are re-merged first.
pub const LAZY_LEGS: u32 = 4;

/// Leg `k`'s boundaries, in order.
fn push_bounds(out: &mut Vec<Bound>, l: &Ladder, k: usize) {
    let m = l.n as usize;
    for j in 0..m {
        let end = j + 1 == m;
        let delta = if end {
            0
        } else {
            // Units are capped at i32::MAX: the difference fits.
            (l.unit[j + 1] as i64 - l.unit[j] as i64) as i32
        };
        out.push(Bound {
            at: l.cum[j],
            delta,
            leg: k as u8,
            end,
        });
    }
}

/// [`sets_within`] over merged boundaries: `c0` is the first step's marginal set cost (every
/// leg's first unit), `bounds` every leg's boundaries in walk order. `level[k]` ends at or
/// after the level leg `k`'s fill of the result ends on (a hint for [`Ladder::fill`]); it must
/// start at 0. Every leg must have a level.
#[inline]
pub fn walk_merged(bounds: &[Bound], c0: u64, limit: u64, cap: u64, level: &mut [u8]) -> u64 {
    if c0 > limit {
        return 0;
    }
    let mut c = c0;
    let mut i = 0;
    while i < bounds.len() {
        let at = bounds[i].at;
        if at >= cap {
            return cap;
        }
        // Every leg whose level ends here moves on before the next step is priced.
        loop {
            let b = bounds[i];
            if b.end {
                return at;
            }
            c = c.wrapping_add(i64::from(b.delta) as u64);
            level[b.leg as usize] += 1;
            i += 1;
            if i == bounds.len() || bounds[i].at != at {
                break;
            }
        }
        if c > limit {
            return at;
        }
    }
    // Every ladder ends in a boundary, so the loop returns; nothing is taken past the last.
    bounds.last().map_or(0, |b| b.at.min(cap))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    type Book = Vec<(u32, u64)>;

    fn run(books: &[Book], limit: u64, cap: u64) -> u64 {
        let n = books.len();
        let (mut idx, mut rem) = (vec![0; n], vec![0; n]);
        sets_within(
            n,
            |k, i| books[k].get(i).map(|&(p, s)| (Price(p), Size(s))),
            |_, _| 0,
            limit,
            cap,
            &mut idx,
            &mut rem,
        )
    }

    /// The rule as written, on owned queues: the reference the walk must match.
    fn reference(books: &[Book], limit: u64, cap: u64) -> u64 {
        let mut q: Vec<std::collections::VecDeque<(u32, u64)>> =
            books.iter().map(|b| b.iter().copied().collect()).collect();
        let mut total = 0u64;
        loop {
            if q.is_empty() || q.iter().any(|l| l.is_empty()) {
                return total;
            }
            let c: u64 = q.iter().map(|l| u64::from(l[0].0)).sum();
            if c > limit {
                return total;
            }
            let s = q.iter().map(|l| l[0].1).min().unwrap().min(cap - total);
            if s == 0 {
                return total;
            }
            total += s;
            if total >= cap {
                return total;
            }
            for l in &mut q {
                l[0].1 -= s;
                if l[0].1 == 0 {
                    l.pop_front();
                }
            }
        }
    }

    #[test]
    fn stops_at_the_threshold_at_a_ladder_end_and_at_the_cap() {
        let books = vec![
            vec![(300_000, 10), (310_000, 5), (400_000, 100)],
            vec![(300_000, 4), (320_000, 20)],
            vec![(300_000, 50)],
        ];
        // 0.90 for 4, 0.92 for 6 more (leg 0's first level), 0.93 for 5, then 1.02: stop.
        assert_eq!(run(&books, 980_000, u64::MAX), 15);
        // At exactly the limit the set is still taken.
        assert_eq!(run(&books, 920_000, u64::MAX), 10);
        assert_eq!(run(&books, 899_999, u64::MAX), 0);
        assert_eq!(run(&books, 980_000, 12), 12);
        // The last leg's 50 end first when the limit allows everything.
        assert_eq!(run(&books, 2_000_000, u64::MAX), 24);
        assert_eq!(run(&[vec![(1, 1)], vec![]], 2_000_000, u64::MAX), 0);
    }

    #[test]
    fn fill_walks_levels_for_exact_cost_and_worst_price() {
        let l = [(Price(300_000), Size(10)), (Price(310_000), Size(5))];
        let f = fill(12, |i| l.get(i).copied(), |_, _| {}).unwrap();
        assert_eq!(f.worst, Price(310_000));
        assert_eq!(f.cost_e12, 300_000 * 10 + 310_000 * 2);
        assert_eq!(f.cost_ceil(), 4);
        assert!(fill(16, |i| l.get(i).copied(), |_, _| {}).is_none());
    }

    fn ladder() -> impl Strategy<Value = Book> {
        proptest::collection::vec((1u32..100, 1u64..50), 0..6).prop_map(|mut v| {
            // Ascending distinct prices on a 0.01 grid, as an ask ladder.
            v.sort_by_key(|x| x.0);
            v.dedup_by_key(|x| x.0);
            v.into_iter()
                .map(|(p, s)| (p * 10_000, s * 10_000))
                .collect()
        })
    }

    /// The boundary walk over the same books, its merged order built leg by leg in a random
    /// order of refreshes (as ladder changes arrive), then every leg's fill.
    fn run_merged(books: &[Book], limit: u64, cap: u64, stale: &[usize]) -> (u64, Vec<LegFill>) {
        let n = books.len();
        let ladders: Vec<Ladder> = books
            .iter()
            .map(|b| {
                Ladder::build(
                    b.iter().map(|&(p, s)| (Price(p), Size(s))),
                    MAX_DEPTH,
                    |_| 0,
                )
            })
            .collect();
        let mut m = Merged::with_capacity(n, MAX_DEPTH);
        // A first merge from other ladders, then the real ones arrive for `stale` legs.
        let junk: Vec<Ladder> = (0..n)
            .map(|k| Ladder::build([(Price(1), Size(k as u64 + 1))], MAX_DEPTH, |_| 0))
            .collect();
        m.refresh(n, &|k| &junk[k]);
        for &k in stale {
            m.mark(k % n);
        }
        let both: Vec<&Ladder> = (0..n)
            .map(|k| {
                if stale.iter().any(|&s| s % n == k) {
                    &ladders[k]
                } else {
                    &junk[k]
                }
            })
            .collect();
        m.refresh(n, &|k| both[k]);
        if ladders.iter().any(|l| l.n == 0) {
            return (0, Vec::new());
        }
        let c0 = ladders.iter().map(Ladder::first_unit).sum();
        // The legs still on junk are stale: the lazy walk merges their ladders in as it reads
        // (or re-merges first, past a few).
        let mut lazy = m.clone();
        for k in (0..n).filter(|&k| std::ptr::eq(both[k], &junk[k])) {
            lazy.mark(k);
        }
        let mut level = vec![0u8; n];
        let lazy_total = lazy.walk(n, |k| &ladders[k], c0, limit, cap, &mut level);
        let lazy_fills: Vec<LegFill> = if lazy_total == 0 {
            Vec::new()
        } else {
            (0..n)
                .map(|k| ladders[k].fill(lazy_total, level[k] as usize).unwrap().1)
                .collect()
        };
        // Then every leg is brought up to date and walked from the merged order.
        for k in 0..n {
            m.mark(k);
        }
        m.refresh(n, &|k| &ladders[k]);
        let mut level = vec![0u8; n];
        let total = walk_merged(m.bounds(), c0, limit, cap, &mut level);
        assert_eq!(
            (lazy_total, &lazy_fills),
            (total, &{
                if total == 0 {
                    Vec::new()
                } else {
                    (0..n)
                        .map(|k| ladders[k].fill(total, level[k] as usize).unwrap().1)
                        .collect::<Vec<_>>()
                }
            })
        );
        let fills = if total == 0 {
            Vec::new()
        } else {
            (0..n)
                .map(|k| ladders[k].fill(total, level[k] as usize).unwrap().1)
                .collect()
        };
        (total, fills)
    }

    fn reference_fills(books: &[Book], total: u64) -> Vec<LegFill> {
        if total == 0 {
            return Vec::new();
        }
        books
            .iter()
            .map(|b| {
                fill(
                    total,
                    |i| b.get(i).map(|&(p, s)| (Price(p), Size(s))),
                    |_, _| {},
                )
                .unwrap()
            })
            .collect()
    }

    #[test]
    fn the_boundary_walk_matches_the_reference_over_thousands_of_ladders() {
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = |n: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % n
        };
        let mut walked = 0;
        for _ in 0..20_000 {
            let n = [2, 3, 5, 10, 40, 64][next(6) as usize];
            // Sizes from a small set make many legs end levels at the same point.
            let sizes = [1u64, 2, 3, 5, 10, 25];
            let books: Vec<Book> = (0..n)
                .map(|_| {
                    let levels = 1 + next(8) as usize;
                    let mut p = 1 + next(3) as u32;
                    (0..levels)
                        .map(|_| {
                            p += 1 + next(2) as u32;
                            (p * 1_000, sizes[next(6) as usize] * 10_000)
                        })
                        .collect()
                })
                .collect();
            let first: u64 = books.iter().map(|b| u64::from(b[0].0)).sum();
            let limit = first + next(40) * 1_000;
            let cap = if next(4) == 0 {
                1 + next(200_000)
            } else {
                u64::MAX
            };
            let stale: Vec<usize> = (0..next(4)).map(|_| next(64) as usize).collect();
            let want = reference(&books, limit, cap);
            let (got, fills) = run_merged(&books, limit, cap, &stale);
            assert_eq!(got, want, "{books:?} limit {limit} cap {cap}");
            assert_eq!(fills, reference_fills(&books, got));
            walked += usize::from(got > 0);
        }
        assert!(walked > 5_000, "{walked} walks took sets");
    }

    #[test]
    fn ladders_end_at_a_zero_size_level_and_at_the_depth() {
        let l = Ladder::build(
            [
                (Price(10), Size(5)),
                (Price(20), Size(0)),
                (Price(30), Size(9)),
            ],
            MAX_DEPTH,
            |p| u64::from(p.0),
        );
        assert_eq!((l.n, l.cum[0], l.unit[0]), (1, 5, 20));
        let l = Ladder::build([(Price(10), Size(5)), (Price(20), Size(7))], 1, |_| 0);
        assert_eq!(l.n, 1);
        assert!(l.fill(6, 0).is_none());
        let l = Ladder::build([(Price(10), Size(5)), (Price(20), Size(7))], 2, |_| 0);
        assert_eq!(
            l.fill(6, 1).unwrap(),
            (
                1,
                LegFill {
                    worst: Price(20),
                    cost_e12: 70
                }
            )
        );
        assert_eq!(
            l.fill(5, 1).unwrap(),
            (
                0,
                LegFill {
                    worst: Price(10),
                    cost_e12: 50
                }
            )
        );
        assert_eq!(l.size(1), 7);
    }

    proptest! {
        #[test]
        fn the_boundary_walk_matches_the_reference(
            books in proptest::collection::vec(ladder(), 1..8),
            limit in 0u64..6_000_000,
            cap in 1u64..2_000_000,
        ) {
            let (got, fills) = run_merged(&books, limit, cap, &[]);
            let want = reference(&books, limit, cap);
            prop_assert_eq!(got, want);
            prop_assert_eq!(fills, reference_fills(&books, got));
        }

        #[test]
        fn matches_the_reference(
            books in proptest::collection::vec(ladder(), 1..8),
            limit in 0u64..6_000_000,
            cap in 1u64..2_000_000,
        ) {
            prop_assert_eq!(run(&books, limit, cap), reference(&books, limit, cap));
            prop_assert_eq!(run(&books, limit, u64::MAX), reference(&books, limit, u64::MAX));
        }
    }
}
