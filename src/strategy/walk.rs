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
//! Pure integer code over callbacks (`level(k, i)` = leg `k`'s `i`-th best ask), so the hot
//! path (fixed ask arrays per asset) and replay (whole books) share it; the caller gives the
//! scratch (`idx`, `rem`: one slot per leg), so nothing allocates.

use crate::core::{Price, Size};

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

    proptest! {
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
