//! `[risk]`: the exposure caps, the circuit breakers' thresholds, and where the engine
//! listens for an operator. Every cap and threshold is optional: absent, it is not checked
//! (the section itself may be absent). Amounts and shares are decimal strings, exact to the
//! micro-unit, like every other amount of the engine's TOML.

use std::path::PathBuf;

use serde::Deserialize;

use crate::core::{Amount, Size};

/// `[risk]` in the engine's TOML.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct RiskConfig {
    /// Shares of one token held or in flight.
    pub max_token_shares: Option<Size>,
    /// pUSD cost of one token held or in flight (limit prices for what is in flight).
    pub max_token_cost: Option<Amount>,
    /// Shares of one market (its YES and NO tokens together).
    pub max_market_shares: Option<Size>,
    pub max_market_cost: Option<Amount>,
    /// Shares of one neg-risk event (every token of its questions together).
    pub max_event_shares: Option<Size>,
    pub max_event_cost: Option<Amount>,
    /// pUSD cost of everything held or in flight.
    pub max_gross_cost: Option<Amount>,
    /// A plan must make at least this much pUSD at the size it is sent (beside the per-set
    /// `[strategy] min_profit`); 0 = any positive edge.
    pub min_plan_profit: Amount,

    /// Breaker: realized loss (net of fees) within one UTC day.
    pub max_daily_loss: Option<Amount>,
    /// Breaker: pUSD notional that unwinds left unsold (naked inventory).
    pub max_unwind_residual: Option<Amount>,
    /// Breaker: percent of the last `reject_window` orders the venue or the signer refused.
    pub max_reject_rate_pct: Option<u32>,
    pub reject_window: u32,
    /// Breaker: orders whose outcome is still unknown after the look-ups.
    pub max_unknown_orders: Option<u64>,
    /// Breaker: p99 of intent → batch answered over the last `round_trip_window` plans (ms).
    pub max_round_trip_p99_ms: Option<u64>,
    pub round_trip_window: u32,
    /// Breaker: percent of the subscribed books not ok (resync needed, stale).
    pub max_books_not_ok_pct: Option<u32>,
    /// Breaker: market connections declared dead since the last reset.
    pub max_dead_connections: Option<u64>,
    /// Breaker: journal errors (an order, fill or position the database did not take) since
    /// the last reset; the storage writer reporting trading rows failing trips it too.
    pub max_journal_errors: Option<u64>,

    /// The control file the engine watches for `polyarb risk kill|reset` (relative paths:
    /// relative to the TOML file). Absent: beside the order journal, `<journal>.control`.
    pub control_file: Option<PathBuf>,
    /// Whether a kill (the control file's `kill`, SIGUSR1) also sells every position held.
    pub flatten_on_kill: bool,
    /// Flattening SELLs take bids down to this many ticks under the best bid, no lower.
    pub flatten_max_slippage_ticks: u32,
}

impl RiskConfig {
    /// The section with the window sizes a config that names none gets.
    pub fn with_defaults(mut self) -> Self {
        if self.reject_window == 0 {
            self.reject_window = 20;
        }
        if self.round_trip_window == 0 {
            self.round_trip_window = 50;
        }
        if self.flatten_max_slippage_ticks == 0 {
            self.flatten_max_slippage_ticks = 2;
        }
        self
    }

    /// Checks ranges; errors name the key.
    pub fn validate(&self, file: &std::path::Path) -> Result<(), crate::config::ConfigError> {
        let invalid =
            |key: &str, expected: &str, found: String| crate::config::ConfigError::Invalid {
                file: file.to_path_buf(),
                key: format!("risk.{key}"),
                expected: expected.to_string(),
                found,
            };
        for (key, v) in [
            ("max_reject_rate_pct", self.max_reject_rate_pct),
            ("max_books_not_ok_pct", self.max_books_not_ok_pct),
        ] {
            if let Some(v) = v
                && !(1..=100).contains(&v)
            {
                return Err(invalid(key, "a percentage from 1 to 100", v.to_string()));
            }
        }
        if self.reject_window > 10_000 || self.round_trip_window > 100_000 {
            return Err(invalid(
                "reject_window / round_trip_window",
                "at most 10000 orders / 100000 plans",
                format!("{} / {}", self.reject_window, self.round_trip_window),
            ));
        }
        Ok(())
    }
}
