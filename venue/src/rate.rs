//! REST rate limits: one token bucket per endpoint class, refilled continuously over the
//! configured window (the venue's limits are "N requests per 10 s" sliding windows).
//! Past the limit the request gets 429 with `Retry-After` in whole seconds.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use rustc_hash::FxHashMap;

struct Bucket {
    tokens: f64,
    last: Instant,
}

/// Token buckets by endpoint class.
pub struct RateLimiter {
    window: Duration,
    limits: FxHashMap<&'static str, u32>,
    buckets: Mutex<FxHashMap<&'static str, Bucket>>,
}

impl RateLimiter {
    pub fn new(window: Duration, limits: &[(&'static str, u32)]) -> Self {
        Self {
            window,
            limits: limits.iter().copied().collect(),
            buckets: Mutex::new(FxHashMap::default()),
        }
    }

    /// Takes one request from `class`'s budget, or says how many seconds to wait.
    pub fn check(&self, class: &'static str) -> Result<(), u64> {
        let Some(&limit) = self.limits.get(class) else {
            return Ok(());
        };
        if limit == 0 {
            return Err(self.window.as_secs().max(1));
        }
        let now = Instant::now();
        let per_sec = f64::from(limit) / self.window.as_secs_f64();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let b = buckets.entry(class).or_insert(Bucket {
            tokens: f64::from(limit),
            last: now,
        });
        b.tokens =
            (b.tokens + now.duration_since(b.last).as_secs_f64() * per_sec).min(f64::from(limit));
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - b.tokens) / per_sec).ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_then_retry_after() {
        let r = RateLimiter::new(Duration::from_secs(10), &[("book", 3)]);
        for _ in 0..3 {
            assert_eq!(r.check("book"), Ok(()));
        }
        let wait = r.check("book").unwrap_err();
        assert!((1..=4).contains(&wait), "{wait}");
        assert_eq!(r.check("other"), Ok(()));
    }
}
