//! Reconnect back-off: exponential with full jitter, so a venue outage does not end in a
//! synchronized reconnect storm from every connection at once.

use std::time::Duration;

use rand::Rng;

#[derive(Clone, Debug)]
pub struct Backoff {
    base: Duration,
    max: Duration,
    attempt: u32,
}

impl Backoff {
    pub fn new(base: Duration, max: Duration) -> Self {
        Self {
            base,
            max: max.max(base),
            attempt: 0,
        }
    }

    /// The delay before the next attempt: uniform in [base/2, min(max, base·2^attempt)].
    pub fn next_delay(&mut self, rng: &mut impl Rng) -> Duration {
        let cap = self
            .base
            .saturating_mul(1u32 << self.attempt.min(16))
            .min(self.max);
        self.attempt = self.attempt.saturating_add(1);
        let lo = (self.base / 2).as_nanos() as u64;
        let hi = (cap.as_nanos() as u64).max(lo + 1);
        Duration::from_nanos(rng.random_range(lo..=hi))
    }

    /// A connection that came up and stayed up resets the back-off.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    pub fn attempts(&self) -> u32 {
        self.attempt
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{SeedableRng, rngs::StdRng};

    #[test]
    fn grows_to_the_cap_with_jitter_and_resets() {
        let mut rng = StdRng::seed_from_u64(1);
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(2));
        let delays: Vec<Duration> = (0..12).map(|_| b.next_delay(&mut rng)).collect();
        assert!(
            delays
                .iter()
                .all(|d| *d >= Duration::from_millis(50) && *d <= Duration::from_secs(2))
        );
        assert!(delays[8..].iter().any(|d| *d > Duration::from_millis(400)));
        b.reset();
        assert!(b.next_delay(&mut rng) <= Duration::from_millis(100));
    }
}
