//! Bid-ask spread capture: post-only two-sided quotes on binary markets.
//!
//! Polymarket keeps one book per binary market: a YES bid at p is the NO ask at 1 − p. So both
//! sides of the YES book can be quoted without inventory: a BUY YES rests on the bid side, a
//! BUY NO at 1 − p rests on the ask side at p. Where the account holds YES (NO), the ask (bid)
//! side is quoted as a SELL of what is held instead. A BUY YES and a BUY NO that both fill make
//! complete sets, merged back into pUSD by the settlement path (see `quoting::quoter::MergeHook`).
//!
//! - `quoting::select`: which markets are quoted (config filters, re-evaluated at each catalog refresh).
//! - [`quote`]: the decision: a top and the inventory in, the two quotes out (pure, no
//!   allocation; every price and size an integer micro-unit).
//! - `quoting::quoter`: the quotes at the venue: cancel/replace through the order manager's policy,
//!   batches of at most 15, pulls (book not ok, rule-hash halt, risk breaker, resolution near,
//!   heartbeat chain lost), heartbeats while anything rests.
//! - [`report`]: per market, what the quoting did and what it earned.

pub mod quote;
pub mod report;
pub mod tap;

use serde::Deserialize;

use crate::core::{Price, Size};

/// `[strategy.spread]` in the engine's TOML.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SpreadConfig {
    /// Quote at all (`demo --strategy spread|both` sets it).
    pub enabled: bool,
    /// Ticks inside the best bid and ask each quote is placed (0 = join the best price). A
    /// quote never reaches the other side: it stays at least one tick away.
    pub improve_ticks: u32,
    /// The edge kept against the fair value (the midpoint): a bid never above mid − this, an
    /// ask never below mid + this, in ticks.
    pub fair_edge_ticks: u32,
    /// Shares of each quote with no inventory.
    pub size: Size,
    /// The most shares of either outcome held (and bid for) per market: a BUY is cut so that
    /// inventory plus its size stays within it, and shrinks as inventory nears it.
    pub max_inventory: Size,
    /// Inventory skew: ticks both quotes move away from the side held, per whole share of net
    /// inventory (micro-ticks per share: 1_000 = one tick per 1,000 shares).
    pub skew_micro_ticks_per_share: u64,
    /// The most ticks the skew moves a quote.
    pub max_skew_ticks: u32,
    /// Quote SELLs of the inventory held (otherwise only BUYs, merged in complete sets).
    pub sell_inventory: bool,
    /// A resting quote is replaced only when its target moved at least this many ticks (or its
    /// size changed).
    pub replace_ticks: u32,
    /// Replaces per market per second, at most.
    pub max_replaces_per_s: u32,
    /// Market selection (see [`select`](crate::quoting::select)).
    pub min_spread_ticks: u32,
    /// Shares at the best bid and at the best ask, each, at least.
    pub min_depth: Size,
    /// Gamma volume, at least (informational float; 0 = any).
    pub min_volume: f64,
    /// Quotes are pulled this many seconds before the market's end date, and markets closer
    /// than this are not selected.
    pub min_time_to_end_s: u64,
    /// Only markets with liquidity rewards whose `rewardsMinSize` the quote size meets.
    pub require_rewards: bool,
    /// Heartbeat interval while any quote rests, in milliseconds (production cancels every
    /// order of the key ~10 s after the last accepted beat).
    pub heartbeat_ms: u64,
    /// Markets quoted at most (the first selected, by catalog order).
    pub max_markets: usize,
}

impl Default for SpreadConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            improve_ticks: 1,
            fair_edge_ticks: 1,
            size: Size(10_000_000),
            max_inventory: Size(100_000_000),
            skew_micro_ticks_per_share: 50_000,
            max_skew_ticks: 3,
            sell_inventory: true,
            replace_ticks: 1,
            max_replaces_per_s: 2,
            min_spread_ticks: 2,
            min_depth: Size::ZERO,
            min_volume: 0.0,
            min_time_to_end_s: 3_600,
            require_rewards: false,
            heartbeat_ms: 5_000,
            max_markets: 20,
        }
    }
}

impl SpreadConfig {
    /// What is wrong with these settings, if anything: (key, expected, found).
    pub fn problem(&self) -> Option<(&'static str, &'static str, String)> {
        if self.size.0 == 0 || !self.size.0.is_multiple_of(quote::LOT) {
            Some((
                "size",
                "a positive size in whole hundredths of a share (limit orders carry 2 decimals)",
                self.size.to_string(),
            ))
        } else if self.max_inventory < self.size {
            Some((
                "max_inventory",
                "at least `size`",
                self.max_inventory.to_string(),
            ))
        } else if self.max_replaces_per_s == 0 {
            Some(("max_replaces_per_s", "at least 1", "0".into()))
        } else if self.heartbeat_ms == 0 || self.heartbeat_ms >= 10_000 {
            Some((
                "heartbeat_ms",
                "1 to 9999 (the venue cancels every order ~10 s after the last beat)",
                self.heartbeat_ms.to_string(),
            ))
        } else if !self.min_volume.is_finite() || self.min_volume < 0.0 {
            Some((
                "min_volume",
                "a finite number at least 0",
                self.min_volume.to_string(),
            ))
        } else {
            None
        }
    }
}

/// One outcome of a binary market.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Outcome {
    #[default]
    Yes,
    No,
}

impl Outcome {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Yes => "YES",
            Self::No => "NO",
        }
    }
}

/// A price on the YES book's scale turned into the NO token's (`1 − p`).
#[inline]
pub const fn mirror(p: Price) -> Price {
    Price(1_000_000u32.saturating_sub(p.0))
}
