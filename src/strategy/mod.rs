//! Strategies: pure functions of book tops that find mispricings and emit `Opportunity`s.
//!
//! The same strategy code runs live (fed by the book stage) and in replay. Strategies never
//! see a book that is not `ok`: a top that is untradeable or older than `max_top_age_ms`
//! removes its group from consideration.

pub mod control;
pub mod dutch;
pub mod stage;

use serde::Deserialize;

use crate::core::fees::FeeSchedule;
use crate::core::{Amount, AssetIndex, Price, Size};

/// The largest group a hot-path `Opportunity` carries (binary markets use 2).
pub const MAX_LEGS: usize = 4;

/// Outcomes whose payouts sum to exactly one unit of collateral: the two tokens of a binary
/// market, or the YES tokens of every question of a complete neg-risk event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutcomeGroup {
    pub id: u32,
    pub assets: Vec<AssetIndex>,
    pub fees: FeeSchedule,
    /// The venue's minimum order size for these tokens.
    pub min_order_size: Size,
}

/// One leg of an opportunity: buy `asset` at `price`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Leg {
    pub asset: AssetIndex,
    pub price: Price,
}

/// A mispricing found by a strategy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Opportunity {
    pub group: u32,
    pub n_legs: u8,
    pub legs: [Leg; MAX_LEGS],
    /// Shares of every leg (complete sets).
    pub size: Size,
    /// What buying every leg costs, fees included (rounded up).
    pub cost: Amount,
    /// Payout of `size` complete sets minus `cost`.
    pub edge: Amount,
    /// Receive time of the frame whose change revealed it.
    pub recv_ns: u64,
    /// When the strategy emitted it.
    pub detected_ns: u64,
}

impl Opportunity {
    pub fn legs(&self) -> &[Leg] {
        &self.legs[..self.n_legs as usize]
    }
}

/// A control message to the strategy stage, through its bounded command ring (cold side →
/// hot path, no locks): the catalog stops a group whose market's rules changed, and resumes it
/// after the operator's acknowledgement; and it defines groups of markets listed while the
/// engine runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StrategyCommand {
    /// Emit nothing for this group until it is resumed.
    Halt(u32),
    Resume(u32),
    /// Adds a group, or replaces the legs, fees and minimum of the group with this id (a neg-risk
    /// event that gained a question). Sent before the feed subscribes its new assets.
    Define(Box<OutcomeGroup>),
    /// Assets below this index exist (the registry grew): the strategy's tables cover them.
    KnownAssets(u32),
}

/// `[strategy]` in the engine's TOML.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StrategyConfig {
    /// Minimum edge per complete set, in pUSD (the plan's `min_profit_usdc`, default 0.02).
    pub min_profit: Price,
    /// Largest number of complete sets per opportunity.
    pub max_size: Size,
    /// A top older than this is not traded on (0, the default = no limit besides the book's
    /// health: a quiet book is not stale while its connection lives, and audits re-read it).
    pub max_top_age_ms: u64,
}

impl Default for StrategyConfig {
    fn default() -> Self {
        Self {
            min_profit: Price(20_000),
            max_size: Size(1_000_000_000),
            max_top_age_ms: 0,
        }
    }
}
