//! Which markets are quoted: the catalog's binary markets that pass `[strategy.spread]`'s
//! filters, re-evaluated at each catalog refresh ([`choose`]), and, on every top, whether the
//! live book is still wide and deep enough to quote ([`book_qualifies`]).
//!
//! Filters: open and accepting orders; two outcomes; Gamma volume at least `min_volume`; the
//! end date at least `min_time_to_end_s` away (a market without one passes); with
//! `require_rewards`, liquidity rewards whose `rewardsMinSize` the quote size meets and whose
//! `rewardsMaxSpread` leaves room for a quote one tick off the midpoint; Gamma's spread, when
//! it gives one, at least `min_spread_ticks`.

use crate::catalog::Market;
use crate::core::{Price, Size};

use crate::strategy::spread::SpreadConfig;
use crate::strategy::spread::quote::YesTop;

/// Why a market is not quoted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
pub enum Refusal {
    #[error("not open for orders")]
    NotTradeable,
    #[error("not a binary market")]
    NotBinary,
    #[error("volume under min_volume")]
    LowVolume,
    #[error("ends within min_time_to_end_s")]
    EndsSoon,
    #[error("no liquidity rewards the quote size meets")]
    NoRewards,
    #[error("spread under min_spread_ticks")]
    Narrow,
}

/// Whether `m` may be quoted at unix time `now_s` (see the module doc).
pub fn eligible(cfg: &SpreadConfig, m: &Market, now_s: i64) -> Result<(), Refusal> {
    if !m.is_tradeable() {
        return Err(Refusal::NotTradeable);
    }
    if !m.is_binary() {
        return Err(Refusal::NotBinary);
    }
    if cfg.min_volume > 0.0 && m.volume.is_none_or(|v| v < cfg.min_volume) {
        return Err(Refusal::LowVolume);
    }
    if ends_within(cfg, m.end_unix_s, now_s) {
        return Err(Refusal::EndsSoon);
    }
    if cfg.require_rewards && !rewards_fit(cfg, m) {
        return Err(Refusal::NoRewards);
    }
    if let (Some(b), Some(a)) = (m.best_bid, m.best_ask)
        && a > b
        && (a.0 - b.0) / m.tick.micros().max(1) < cfg.min_spread_ticks
    {
        return Err(Refusal::Narrow);
    }
    Ok(())
}

/// Whether a market ending at `end_s` is within `min_time_to_end_s` of its end at `now_s`.
pub fn ends_within(cfg: &SpreadConfig, end_s: Option<i64>, now_s: i64) -> bool {
    end_s.is_some_and(|e| e.saturating_sub(now_s) < cfg.min_time_to_end_s as i64)
}

/// Whether the market pays liquidity rewards to a quote of `cfg.size`.
pub fn rewards_fit(cfg: &SpreadConfig, m: &Market) -> bool {
    match (m.rewards_min_size, m.rewards_max_spread) {
        (Some(min), Some(max)) => cfg.size >= min && max.0 >= m.tick.micros(),
        _ => false,
    }
}

/// Whether a resting quote at `price` (YES scale) of `size` earns rewards: its size at least
/// the minimum, its distance from the midpoint of `top` at most the maximum spread.
pub fn rewards_eligible(
    min: Option<Size>,
    max_spread: Option<Price>,
    top: &YesTop,
    price: Price,
    size: Size,
) -> bool {
    let (Some(min), Some(max)) = (min, max_spread) else {
        return false;
    };
    let mid2 = u64::from(top.bid.0) + u64::from(top.ask.0);
    size >= min && (2 * u64::from(price.0)).abs_diff(mid2) <= 2 * u64::from(max.0)
}

/// Whether the live book is wide and deep enough to quote.
#[inline]
pub fn book_qualifies(cfg: &SpreadConfig, tick: u32, top: &YesTop) -> bool {
    top.ok
        && top.ask > top.bid
        && (top.ask.0 - top.bid.0) / tick.max(1) >= cfg.min_spread_ticks
        && top.bid_size >= cfg.min_depth
        && top.ask_size >= cfg.min_depth
}

/// The markets to quote, in the catalog's order, at most `max_markets`; and how many were
/// refused for each reason.
pub fn choose<'a>(
    cfg: &SpreadConfig,
    markets: impl IntoIterator<Item = &'a Market>,
    now_s: i64,
) -> (Vec<&'a Market>, Vec<(Refusal, usize)>) {
    let mut chosen = Vec::new();
    let mut refused: Vec<(Refusal, usize)> = Vec::new();
    for m in markets {
        match eligible(cfg, m, now_s) {
            Ok(()) if chosen.len() < cfg.max_markets => chosen.push(m),
            Ok(()) => {}
            Err(r) => match refused.iter_mut().find(|(x, _)| *x == r) {
                Some((_, n)) => *n += 1,
                None => refused.push((r, 1)),
            },
        }
    }
    (chosen, refused)
}
