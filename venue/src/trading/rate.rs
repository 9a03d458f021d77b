//! Per-signer token buckets for orders and cancels (Polymarket's trading rate limits):
//! a batch costs one token per order, a cancel-all one plus one per order it cancels. An
//! exhausted bucket answers 429 with `Retry-After`; a bucket used past the warning share adds
//! `Poly-RateLimit-Warning: true` to the answer. Integer arithmetic in nanoseconds.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use rustc_hash::FxHashMap;

use polyarb::adapters::polymarket::signing::Address;

/// Which bucket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Bucket {
    Orders,
    Cancels,
}

/// What a request may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Allow {
        warn: bool,
    },
    /// Seconds to wait.
    Deny(u64),
}

struct State {
    /// Tokens × window_ns (so refills stay exact in integers).
    level: u128,
    last: Instant,
}

pub struct SignerLimits {
    window_ns: u128,
    orders: u32,
    cancels: u32,
    warn_pct: u32,
    state: Mutex<FxHashMap<(Address, Bucket), State>>,
}

impl SignerLimits {
    pub fn new(window: Duration, orders: u32, cancels: u32, warn_pct: u32) -> Self {
        Self {
            window_ns: window.as_nanos().max(1),
            orders,
            cancels,
            warn_pct,
            state: Mutex::new(FxHashMap::default()),
        }
    }

    fn limit(&self, b: Bucket) -> u32 {
        match b {
            Bucket::Orders => self.orders,
            Bucket::Cancels => self.cancels,
        }
    }

    /// Takes `cost` tokens from a signer's bucket.
    pub fn take(&self, who: Address, b: Bucket, cost: u32) -> Verdict {
        let limit = u128::from(self.limit(b));
        let w = self.window_ns;
        let full = limit * w;
        let now = Instant::now();
        let mut map = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let s = map.entry((who, b)).or_insert(State {
            level: full,
            last: now,
        });
        // Refill: `limit` tokens per window, i.e. `limit` units of level per nanosecond.
        let elapsed = now.duration_since(s.last).as_nanos();
        s.level = (s.level + elapsed * limit).min(full);
        s.last = now;
        let need = u128::from(cost) * w;
        if limit == 0 || s.level < need {
            let missing = need.saturating_sub(s.level);
            let wait_ns = missing.checked_div(limit).unwrap_or(w);
            return Verdict::Deny(wait_ns.div_ceil(1_000_000_000).max(1) as u64);
        }
        s.level -= need;
        // Rounded up: the nanoseconds of refill between two calls must not hide a warning.
        let used_pct = ((full - s.level) * 100).div_ceil(full.max(1));
        Verdict::Allow {
            warn: used_pct >= u128::from(self.warn_pct),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn costs_warning_and_retry_after() {
        let l = SignerLimits::new(Duration::from_secs(10), 10, 5, 80);
        let a = Address([7; 20]);
        assert_eq!(l.take(a, Bucket::Orders, 5), Verdict::Allow { warn: false });
        assert_eq!(l.take(a, Bucket::Orders, 3), Verdict::Allow { warn: true });
        match l.take(a, Bucket::Orders, 5) {
            Verdict::Deny(s) => assert!((1..=4).contains(&s), "{s}"),
            v => panic!("{v:?}"),
        }
        // Other signers and other buckets are independent.
        assert_eq!(
            l.take(Address([8; 20]), Bucket::Orders, 10),
            Verdict::Allow { warn: true }
        );
        assert_eq!(
            l.take(a, Bucket::Cancels, 1),
            Verdict::Allow { warn: false }
        );
    }
}
