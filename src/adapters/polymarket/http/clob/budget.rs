//! The client's own view of its rate limits, so that it stops before the venue says 429:
//! per-signer token buckets for orders and cancels (each a burst window and a sustained
//! window, as Polymarket publishes them), and the `Retry-After` of the last 429 per endpoint class.
//! Integer arithmetic in nanoseconds.

use std::time::{Duration, Instant};

/// Endpoint classes with separate budgets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    Orders = 0,
    Cancels = 1,
    Other = 2,
}

/// `limit` tokens per `window`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub limit: u32,
    pub window: Duration,
}

/// The published per-signer limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BudgetConfig {
    pub orders: Vec<Window>,
    pub cancels: Vec<Window>,
}

impl Default for BudgetConfig {
    fn default() -> Self {
        let w = |limit, s| Window {
            limit,
            window: Duration::from_secs(s),
        };
        Self {
            // POST /order: 3,500 per 10 s burst, 36,000 per 10 min sustained.
            orders: vec![w(3_500, 10), w(36_000, 600)],
            // DELETE /order: 3,000 per 10 s, 30,000 per 10 min.
            cancels: vec![w(3_000, 10), w(30_000, 600)],
        }
    }
}

struct Bucket {
    w: Window,
    /// Tokens × window_ns.
    level: u128,
    last: Instant,
}

impl Bucket {
    fn new(w: Window, now: Instant) -> Self {
        Self {
            w,
            level: u128::from(w.limit) * w.window.as_nanos().max(1),
            last: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let full = u128::from(self.w.limit) * self.w.window.as_nanos().max(1);
        let dt = now.saturating_duration_since(self.last).as_nanos();
        self.level = (self.level + dt * u128::from(self.w.limit)).min(full);
        self.last = now;
    }

    /// How long until `cost` tokens are there (zero if they are).
    fn wait_for(&self, cost: u32) -> Duration {
        let need = u128::from(cost) * self.w.window.as_nanos().max(1);
        if self.level >= need {
            return Duration::ZERO;
        }
        if self.w.limit == 0 {
            return self.w.window;
        }
        Duration::from_nanos(((need - self.level) / u128::from(self.w.limit)) as u64)
    }
}

/// Budgets and 429 blocks of one signer.
pub struct SignerBudget {
    classes: [Vec<Bucket>; 2],
    blocked_until: [Option<Instant>; 3],
    /// Answers that carried `Poly-RateLimit-Warning: true`.
    pub warnings: u64,
}

impl SignerBudget {
    pub fn new(cfg: &BudgetConfig) -> Self {
        let now = Instant::now();
        let mk = |ws: &[Window]| ws.iter().map(|&w| Bucket::new(w, now)).collect();
        Self {
            classes: [mk(&cfg.orders), mk(&cfg.cancels)],
            blocked_until: [None; 3],
            warnings: 0,
        }
    }

    /// Takes `cost` tokens, or says how long to wait (nothing is taken then).
    pub fn take(&mut self, class: Class, cost: u32, now: Instant) -> Result<(), Duration> {
        if let Some(until) = self.blocked_until[class as usize] {
            if until > now {
                return Err(until - now);
            }
            self.blocked_until[class as usize] = None;
        }
        let Some(buckets) = self.classes.get_mut(class as usize) else {
            return Ok(());
        };
        let mut wait = Duration::ZERO;
        for b in buckets.iter_mut() {
            b.refill(now);
            wait = wait.max(b.wait_for(cost));
        }
        if !wait.is_zero() {
            return Err(wait);
        }
        let c = u128::from(cost);
        for b in buckets.iter_mut() {
            b.level -= c * b.w.window.as_nanos().max(1);
        }
        Ok(())
    }

    /// The venue said 429: nothing of this class goes out before `Retry-After` has passed.
    pub fn block(&mut self, class: Class, retry_after: Duration, now: Instant) {
        let until = now + retry_after;
        let slot = &mut self.blocked_until[class as usize];
        *slot = Some(slot.map_or(until, |u| u.max(until)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_windows_and_retry_after_are_respected() {
        let cfg = BudgetConfig {
            orders: vec![
                Window {
                    limit: 10,
                    window: Duration::from_secs(10),
                },
                Window {
                    limit: 12,
                    window: Duration::from_secs(600),
                },
            ],
            cancels: vec![],
        };
        let mut b = SignerBudget::new(&cfg);
        let t0 = Instant::now();
        assert!(b.take(Class::Orders, 10, t0).is_ok());
        let wait = b.take(Class::Orders, 1, t0).unwrap_err();
        assert!(wait <= Duration::from_secs(1), "{wait:?}");
        // After 10 s the burst window is full again, the sustained one has only 2 left.
        let t1 = t0 + Duration::from_secs(10);
        assert!(b.take(Class::Orders, 2, t1).is_ok());
        assert!(b.take(Class::Orders, 1, t1).is_err());
        assert!(b.take(Class::Cancels, 1000, t1).is_ok());
        b.block(Class::Other, Duration::from_secs(3), t1);
        assert_eq!(
            b.take(Class::Other, 1, t1 + Duration::from_secs(1)),
            Err(Duration::from_secs(2))
        );
        assert!(b.take(Class::Other, 1, t1 + Duration::from_secs(3)).is_ok());
    }
}
