//! Strategies: pure functions of book tops that find mispricings and emit `Opportunity`s.
//!
//! `dutch` finds complete sets of a neg-risk event's questions cheaper than they pay, on
//! both sides and sized through the ask ladders (`walk`); `contract` is the same rule over
//! whole books for `polyarb replay --opportunities`.
//!
//! The same strategy code runs live (fed by the book stage) and in replay. Strategies never
//! see a book that is not `ok`: a top that is untradeable or older than `max_top_age_ms`
//! removes its group from consideration.

pub mod contract;
pub mod control;
pub mod dutch;
pub mod spread;
pub mod stage;
pub mod walk;

use serde::Deserialize;

use crate::core::fees::FeeSchedule;
use crate::core::{Amount, AssetIndex, Price, Size, TickSize};

/// The most questions a group may have: a hot-path `Opportunity` carries its legs in a fixed
/// array (no allocation between the strategy and the sender). Larger groups are refused with
/// their reason (`too_many_questions`), never counted as watched.
pub const MAX_LEGS: usize = 64;

/// Ask levels a strategy sizes through by default (`[strategy] depth_levels`).
pub const DEFAULT_DEPTH_LEVELS: u32 = 8;

/// The questions of one neg-risk event: exactly one question resolves YES.
///
/// YES side: one YES of every question is a complete set paying 1. NO side: one NO of every
/// question pays N − 1 (the NOs convert into N − 1 pUSD through the neg-risk adapter). A
/// binary market is not a group: its YES and NO books are one book on the venue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutcomeGroup {
    pub id: u32,
    /// The YES token of every question, in the event's order.
    pub assets: Vec<AssetIndex>,
    /// The NO token of every question, in the same order; empty when the NO side is not
    /// watched.
    pub no_assets: Vec<AssetIndex>,
    pub fees: FeeSchedule,
    /// The venue's minimum order size for these tokens.
    pub min_order_size: Size,
    /// The questions' tick size: the unit of `[strategy] slippage_ticks`.
    pub tick: TickSize,
}

impl OutcomeGroup {
    /// A group of the questions' YES and NO tokens (`no` may be empty), tick 0.01.
    pub fn new(
        id: u32,
        yes: Vec<AssetIndex>,
        no: Vec<AssetIndex>,
        fees: FeeSchedule,
        min_order_size: Size,
    ) -> Self {
        Self {
            id,
            assets: yes,
            no_assets: no,
            fees,
            min_order_size,
            tick: TickSize::CENT,
        }
    }

    /// Questions in the event.
    pub fn questions(&self) -> usize {
        self.assets.len()
    }

    /// Why the strategy cannot trade this group, if it cannot.
    pub fn refusal(&self) -> Option<GroupRefusal> {
        let n = self.assets.len();
        if n < 2 {
            Some(GroupRefusal::TooFewQuestions)
        } else if n > MAX_LEGS {
            Some(GroupRefusal::TooManyQuestions)
        } else if !self.no_assets.is_empty() && self.no_assets.len() != n {
            Some(GroupRefusal::UnevenSides)
        } else {
            None
        }
    }

    /// The legs of one side.
    #[inline]
    pub fn side(&self, side: GroupSide) -> &[AssetIndex] {
        match side {
            GroupSide::Yes => &self.assets,
            GroupSide::No => &self.no_assets,
        }
    }
}

/// Why the strategy refused a group definition (counted, logged; the group never trades).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GroupRefusal {
    #[error("fewer than two questions")]
    TooFewQuestions,
    #[error("more than {MAX_LEGS} questions")]
    TooManyQuestions,
    #[error("the NO tokens do not match the questions")]
    UnevenSides,
}

/// Which complete set an opportunity buys.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupSide {
    /// One YES of every question: pays 1 per set.
    #[default]
    Yes,
    /// One NO of every question: pays N − 1 per set (after conversion).
    No,
}

impl GroupSide {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Yes => "yes",
            Self::No => "no",
        }
    }

    /// What one complete set of this side pays, in micro-pUSD, for a group of `n` questions.
    #[inline]
    pub const fn payout(self, n: usize) -> u64 {
        match self {
            Self::Yes => crate::core::decimal::MICROS_PER_UNIT,
            Self::No => (n as u64).saturating_sub(1) * crate::core::decimal::MICROS_PER_UNIT,
        }
    }
}

/// One leg of an opportunity: buy `asset` up to `price` (the worst level the sizing walked).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Leg {
    pub asset: AssetIndex,
    pub price: Price,
}

/// A mispricing found by a strategy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Opportunity {
    pub group: u32,
    pub side: GroupSide,
    pub n_legs: u8,
    pub legs: [Leg; MAX_LEGS],
    /// Shares of every leg (complete sets).
    pub size: Size,
    /// What buying every leg costs through the levels walked, fees included (rounded up).
    pub cost: Amount,
    /// Each leg's cost for `size` shares through the levels it walks (fees apart, rounded up
    /// to the micro-pUSD): what its marketable BUY spends. Zero when not known; the leg is then
    /// priced at its worst price for every share.
    pub leg_costs: [Amount; MAX_LEGS],
    /// Payout of `size` complete sets minus `cost`.
    pub edge: Amount,
    /// Receive time of the frame whose change revealed it.
    pub recv_ns: u64,
    /// When the strategy emitted it.
    pub detected_ns: u64,
}

impl Default for Opportunity {
    fn default() -> Self {
        Self {
            group: 0,
            side: GroupSide::Yes,
            n_legs: 0,
            legs: [Leg::default(); MAX_LEGS],
            size: Size::ZERO,
            cost: Amount::ZERO,
            leg_costs: [Amount::ZERO; MAX_LEGS],
            edge: Amount::ZERO,
            recv_ns: 0,
            detected_ns: 0,
        }
    }
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
    /// Ask levels per leg the sizing walks through (1..=16).
    pub depth_levels: u32,
    /// Ticks per leg reserved for slippage: each leg's price counts this much higher in the
    /// threshold of every set.
    pub slippage_ticks: u32,
    /// Send NO-side plans live (N NOs bought for less than N − 1 need the neg-risk adapter's
    /// conversion to pay out); otherwise they are detected, reported and paper-traded only.
    pub no_side: bool,
    /// After an opportunity of a group is emitted, hold the group (emit nothing more for it)
    /// until every leg of the emitted side has shown a new ask ladder (the plan's own fills
    /// landing) or this many milliseconds have passed: a second plan sent on liquidity the
    /// first is taking would be killed. 0 = no hold.
    pub rearm_ms: u64,
    /// `[strategy.spread]`: bid-ask spread capture (see [`spread`]).
    pub spread: spread::SpreadConfig,
}

impl Default for StrategyConfig {
    fn default() -> Self {
        Self {
            min_profit: Price(20_000),
            max_size: Size(1_000_000_000),
            max_top_age_ms: 0,
            depth_levels: DEFAULT_DEPTH_LEVELS,
            slippage_ticks: 0,
            no_side: false,
            rearm_ms: 0,
            spread: spread::SpreadConfig::default(),
        }
    }
}
