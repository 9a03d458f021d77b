//! Risk: what stops the engine from trading, and by how much it may trade.
//!
//! - [`config`]: the `[risk]` section (caps, breaker thresholds, the control file).
//! - [`exposure`]: the exposure guard: shares and cost held or in flight per token, market,
//!   neg-risk event and in total, and the pre-trade check every plan passes
//!   ([`exposure::ExposureGuard::will_exceed_exposure`]), which sizes a plan down or drops it.
//! - [`breakers`]: the circuit breakers and the trading gate the hot path reads (one atomic).
//! - [`control`]: how an operator reaches a running engine: a control file the engine watches
//!   (`polyarb risk kill|reset`), SIGUSR1, and the answers the engine writes back.
//!
//! This module sits below `exec`: the live sender owns a guard and the breakers and feeds
//! them; nothing here sends an order.

pub mod breakers;
pub mod config;
pub mod control;
pub mod exposure;

pub use breakers::{Breaker, BreakerMonitor, BreakerState, RiskGate};
pub use config::RiskConfig;
pub use exposure::{ExposureGuard, GuardVerdict, Limit};
