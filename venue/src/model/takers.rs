//! Synthetic takers: the market's other traders, who send marketable orders that the venue's
//! matching engine fills against the house book and the clients' resting orders.
//!
//! Arrivals are a Poisson process in model time: `orders_per_market_per_min` on average per
//! market, spread over the markets by their Zipf activity weight (a hot book sees many takers,
//! a quiet one few). Each taker buys or sells either outcome (a NO buyer is a YES seller in the
//! one matching book), a heavy-tailed size (Pareto: many near `size_min`, a few up to
//! `size_max`), up to `max_depth_ticks` through the best opposite price. After a taker that
//! filled anything, the price moves on in the taker's direction with probability
//! `adverse_per_mille` (informed flow: the maker it hit is left on the wrong side).
//!
//! The flow draws from its own generator, seeded from the model's seed, so turning it on does
//! not change the walk's own draws, and everything stays a function of the seed and of the
//! sequence of `step(now_ms)` calls (and of what the clients rest, which the takers meet).

use serde::Deserialize;

use polyarb::adapters::polymarket::signing::OrderSide;
use polyarb::adapters::polymarket::signing::amounts::SHARE_LOT;
use polyarb::core::Size;

use super::rng::ModelRng;

/// Mixed into the model's seed for the takers' own generator.
const TAKER_SEED_SALT: u64 = 0x7a6b_e25f_0d1c_3a49;
/// Most takers sent in one step; the rest of a backlog (a long pause) is dropped.
const MAX_PER_STEP: u32 = 32;

/// A Pareto tail exponent (a draw's shape, never an amount).
#[derive(Clone, Copy, Debug, Deserialize, PartialEq)]
#[serde(transparent)]
pub struct TailExponent(pub f64);

// The configuration is compared whole; a NaN exponent is refused when the file is checked.
impl Eq for TailExponent {}

/// `[model.takers]`: the synthetic taker flow (off unless `enabled`).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct TakerConfig {
    pub enabled: bool,
    /// Mean taker orders per minute per market; market of activity weight w gets
    /// `this × markets × w / Σw`.
    pub orders_per_market_per_min: u32,
    /// Smallest taker order, in shares (the Pareto scale).
    pub size_min: Size,
    /// Largest taker order, in shares (the tail is cut here).
    pub size_max: Size,
    /// Pareto exponent of the sizes: P(size > x) = (size_min / x)^this; lower = heavier tail.
    pub size_tail_exponent: TailExponent,
    /// A taker's limit is the best opposite price plus (BUY) or minus (SELL) a uniform draw of
    /// 0 to this many ticks: it takes the best level, sometimes a few more.
    pub max_depth_ticks: u32,
    /// After a taker that filled anything, per thousand: the market's top moves on in the
    /// taker's direction (a BUY of YES or a SELL of NO: up).
    pub adverse_per_mille: u32,
    /// How many ticks such a move goes.
    pub adverse_ticks: u32,
}

impl Default for TakerConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            orders_per_market_per_min: 6,
            size_min: Size(5_000_000),
            size_max: Size(2_000_000_000),
            size_tail_exponent: TailExponent(1.2),
            max_depth_ticks: 2,
            adverse_per_mille: 150,
            adverse_ticks: 1,
        }
    }
}

/// One synthetic taker order, in its own token's terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TakerOrder {
    pub market: u32,
    /// 0 = the market's YES token, 1 = its NO token.
    pub outcome: u8,
    pub side: OrderSide,
    /// Micro-shares, a whole number of 0.01-share lots.
    pub shares: u64,
    /// How many ticks through the best opposite price its limit goes.
    pub depth_ticks: u32,
}

impl TakerOrder {
    /// Whether it pushes the YES price up (buys YES or sells NO).
    pub fn pushes_up(&self) -> bool {
        (self.outcome == 0) == (self.side == OrderSide::Buy)
    }
}

/// What the flow has done so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TakerStats {
    /// Taker orders sent into the matching engine.
    pub sent: u64,
    /// Those that filled at least one share.
    pub filled: u64,
    /// Price moves after a fill (adverse selection).
    pub adverse_moves: u64,
}

/// The flow's state inside the model.
#[derive(Clone, Debug)]
pub(super) struct TakerFlow {
    pub rng: ModelRng,
    /// Model time of the next arrival, in microseconds.
    next_us: Option<u64>,
    pub pending: Vec<TakerOrder>,
    pub stats: TakerStats,
}

impl TakerFlow {
    pub fn new(seed: u64) -> Self {
        Self {
            rng: ModelRng::new(seed ^ TAKER_SEED_SALT),
            next_us: None,
            pending: Vec::new(),
            stats: TakerStats::default(),
        }
    }

    /// An exponential gap between arrivals of mean `mean_us`, at least 1 µs.
    fn gap_us(&mut self, mean_us: f64) -> u64 {
        let u = self.rng.unit();
        ((-(1.0 - u).ln() * mean_us) as u64).max(1)
    }

    /// How many takers arrive by `now_ms` (at most [`MAX_PER_STEP`]) at `per_min` in all.
    pub fn arrivals(&mut self, now_ms: u64, per_min: u64) -> u32 {
        if per_min == 0 {
            return 0;
        }
        let mean_us = 60e6 / per_min as f64;
        let now_us = now_ms.saturating_mul(1000);
        let mut next = match self.next_us {
            Some(n) => n,
            None => now_us + self.gap_us(mean_us),
        };
        let mut n = 0;
        while next <= now_us {
            if n == MAX_PER_STEP {
                next = now_us + self.gap_us(mean_us);
                break;
            }
            n += 1;
            next += self.gap_us(mean_us);
        }
        self.next_us = Some(next);
        n
    }

    /// A size of the configured Pareto law, floored to a 0.01-share lot, in `min..=max`.
    pub fn size(&mut self, cfg: &TakerConfig) -> u64 {
        let (min, max) = (cfg.size_min.0.max(SHARE_LOT), cfg.size_max.0);
        let u = 1.0 - self.rng.unit();
        let x = min as f64 * u.powf(-1.0 / cfg.size_tail_exponent.0);
        let shares = if x >= max as f64 { max } else { x as u64 };
        (shares / SHARE_LOT * SHARE_LOT).clamp(min, max.max(min))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_heavy_tailed_lots_within_bounds() {
        let cfg = TakerConfig::default();
        let mut f = TakerFlow::new(5);
        let sizes: Vec<u64> = (0..20_000).map(|_| f.size(&cfg)).collect();
        assert!(sizes.iter().all(|&s| s % SHARE_LOT == 0));
        assert!(
            sizes
                .iter()
                .all(|&s| (cfg.size_min.0..=cfg.size_max.0).contains(&s))
        );
        let share = |lo: u64| sizes.iter().filter(|&&s| s >= lo).count() as f64 / 20_000.0;
        // P(size ≥ x) = (5 / x)^1.2: about 6 % from 50 shares, 0.4 % from 500.
        assert!(share(10_000_000) > 0.35 && share(10_000_000) < 0.5);
        assert!(share(50_000_000) > 0.04 && share(50_000_000) < 0.085);
        assert!(share(500_000_000) > 0.001 && share(500_000_000) < 0.01);
    }

    #[test]
    fn arrivals_follow_the_rate_and_skip_a_long_backlog() {
        let mut f = TakerFlow::new(9);
        // 600 a minute = 10 a second: about 1,000 in 100 s of 10 ms steps.
        let n: u32 = (1..=10_000u64).map(|i| f.arrivals(i * 10, 600)).sum();
        assert!((850..=1150).contains(&n), "{n}");
        // An hour's pause: at most one step's worth, not 36,000.
        assert!(f.arrivals(100_000 + 3_600_000, 600) <= MAX_PER_STEP);
        assert_eq!(f.arrivals(200_000_000, 0), 0);
    }
}
