//! The trading state that lives outside the hub lock: configuration, API keys, per-signer
//! limits, the order version served, REST-level faults, refusal counters and the timer's bell. Requests are
//! authenticated and limited with these before they ever wait for the hub.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::config::VenueTradingConfig;
use super::keys::ApiKeys;
use super::rate::SignerLimits;
use super::refusal::RefusalCounts;

/// What order requests must suffer, as injected through `/admin/fault`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TradingFaults {
    /// The next `delay_count` order requests are answered `delay_ms` after they were matched
    /// (a client timing out before that does not know the order went through).
    pub delay_count: u64,
    pub delay_ms: u64,
    /// The next `fail_count` order requests are refused before anything is done, with
    /// `fail_status` (429 adds `Retry-After: retry_after_s`).
    pub fail_count: u64,
    pub fail_status: u16,
    pub retry_after_s: u64,
}

/// What an order request must suffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderFault {
    None,
    /// Refuse with this status (and `Retry-After` seconds for a 429).
    Fail(u16, u64),
}

/// Wakes the trading timer when a new deadline comes before the one it sleeps towards.
#[derive(Default)]
pub struct TimerBell {
    epoch: Mutex<u64>,
    cv: Condvar,
}

impl TimerBell {
    pub fn ring(&self) {
        *self.epoch.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        self.cv.notify_all();
    }

    /// Sleeps until `until` or a ring, whichever is first.
    pub fn wait_until(&self, until: Instant) {
        let g = self.epoch.lock().unwrap_or_else(|e| e.into_inner());
        let seen = *g;
        let wait = until.saturating_duration_since(Instant::now());
        if wait.is_zero() {
            return;
        }
        let _ = self
            .cv
            .wait_timeout_while(g, wait, |e| *e == seen)
            .map_err(|e| e.into_inner());
    }
}

pub struct TradingShared {
    pub cfg: VenueTradingConfig,
    pub keys: RwLock<ApiKeys>,
    pub limits: SignerLimits,
    faults: Mutex<TradingFaults>,
    version: AtomicU8,
    pub timer: TimerBell,
    pub shutdown: AtomicBool,
    /// Every refusal of the trading endpoints, per reason.
    pub refusals: RefusalCounts,
}

impl TradingShared {
    pub fn new(cfg: VenueTradingConfig) -> Self {
        Self {
            limits: SignerLimits::new(
                Duration::from_millis(cfg.rate_window_ms),
                cfg.signer_order_limit,
                cfg.signer_cancel_limit,
                cfg.rate_warning_pct,
            ),
            version: AtomicU8::new(cfg.order_version),
            keys: RwLock::new(ApiKeys::default()),
            faults: Mutex::new(TradingFaults::default()),
            timer: TimerBell::default(),
            shutdown: AtomicBool::new(false),
            refusals: RefusalCounts::default(),
            cfg,
        }
    }

    /// The order version the venue accepts now (`GET /version`).
    pub fn version(&self) -> u8 {
        self.version.load(Ordering::Relaxed)
    }

    /// Switches the accepted order version (an upgrade in production; tests use it to check
    /// a client's `order_version_mismatch` handling).
    pub fn set_version(&self, v: u8) {
        self.version.store(v, Ordering::Relaxed);
    }

    fn faults(&self) -> MutexGuard<'_, TradingFaults> {
        self.faults.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn set_faults(&self, f: TradingFaults) {
        *self.faults() = f;
    }

    pub fn clear_faults(&self) {
        *self.faults() = TradingFaults::default();
    }

    /// Called once per order request before it is processed.
    pub fn order_fault(&self) -> OrderFault {
        let mut f = self.faults();
        if f.fail_count > 0 {
            f.fail_count -= 1;
            return OrderFault::Fail(f.fail_status, f.retry_after_s);
        }
        OrderFault::None
    }

    /// Called once per order request after matching: how long to hold the answer back.
    pub fn response_delay(&self) -> Option<Duration> {
        let mut f = self.faults();
        if f.delay_count > 0 {
            f.delay_count -= 1;
            return Some(Duration::from_millis(f.delay_ms));
        }
        None
    }
}
