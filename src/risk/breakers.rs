//! The circuit breakers, and the gate they close.
//!
//! [`RiskGate`] is shared: the hot path reads one atomic ([`RiskGate::is_halted`]) per
//! opportunity and drops it while any breaker is tripped, so a trip halts new plans within
//! the next top change; each breaker's state (ok or tripped), the reason of its last trip and
//! how often it tripped are there for summaries. [`BreakerMonitor`] is the cold side (the
//! live sender): it is told what happened (orders answered or refused, outcomes unknown,
//! round trips, realized PnL, unwind residuals, journal errors) and trips a breaker when its
//! `[risk]` threshold is crossed. Feed health is observed by whoever reads the pipeline's
//! counters ([`RiskGate::observe_feed`]).
//!
//! A trip stays until an operator resets ([`RiskGate::reset`], `polyarb risk reset`): the
//! monitor then restarts its windows and counts from the moment of the reset, so a reset is
//! "carry on from here", not a replay of what tripped it.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

use crate::obs::LatencyHistogram;

use super::config::RiskConfig;

/// The breakers, in the order summaries list them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Breaker {
    DailyLoss,
    UnwindResidual,
    RejectRate,
    UnknownOrders,
    RoundTrip,
    FeedHealth,
    Journal,
    /// The operator's kill switch (control file `kill`, SIGUSR1).
    Kill,
}

impl Breaker {
    pub const ALL: [Breaker; 8] = [
        Breaker::DailyLoss,
        Breaker::UnwindResidual,
        Breaker::RejectRate,
        Breaker::UnknownOrders,
        Breaker::RoundTrip,
        Breaker::FeedHealth,
        Breaker::Journal,
        Breaker::Kill,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Breaker::DailyLoss => "daily_loss",
            Breaker::UnwindResidual => "unwind_residual",
            Breaker::RejectRate => "reject_rate",
            Breaker::UnknownOrders => "unknown_orders",
            Breaker::RoundTrip => "round_trip",
            Breaker::FeedHealth => "feed_health",
            Breaker::Journal => "journal",
            Breaker::Kill => "kill",
        }
    }
}

/// One breaker as a summary shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BreakerState {
    pub breaker: Breaker,
    pub tripped: bool,
    /// Times it tripped since start.
    pub trips: u64,
    /// Why it last tripped.
    pub reason: String,
}

#[derive(Default)]
struct Slot {
    tripped: AtomicBool,
    trips: AtomicU64,
    reason: Mutex<String>,
}

/// Feed thresholds and the dead-connection count at the last reset.
#[derive(Default)]
struct FeedLimits {
    max_not_ok_pct: Option<u32>,
    max_dead: Option<u64>,
    dead_at_reset: AtomicU64,
    dead_seen: AtomicU64,
}

/// See the module doc.
#[derive(Default)]
pub struct RiskGate {
    halted: AtomicBool,
    slots: [Slot; 8],
    /// Bumped by every reset; the monitor restarts its windows when it sees a new value.
    resets: AtomicU64,
    /// Opportunities the hot path dropped while halted.
    pub halted_plans: AtomicU64,
    feed: FeedLimits,
}

impl RiskGate {
    pub fn new(cfg: &RiskConfig) -> Self {
        Self {
            feed: FeedLimits {
                max_not_ok_pct: cfg.max_books_not_ok_pct,
                max_dead: cfg.max_dead_connections,
                ..FeedLimits::default()
            },
            ..Self::default()
        }
    }

    /// Whether new plans are stopped (the hot path's only read).
    #[inline]
    pub fn is_halted(&self) -> bool {
        self.halted.load(Relaxed)
    }

    /// Trips `b` (again, if it was); returns whether it was ok before.
    pub fn trip(&self, b: Breaker, reason: impl Into<String>) -> bool {
        let s = &self.slots[b as usize];
        let reason = reason.into();
        tracing::error!(breaker = b.as_str(), %reason, "circuit breaker tripped: new plans stopped");
        if let Ok(mut r) = s.reason.lock() {
            *r = reason;
        }
        let was = s.tripped.swap(true, Relaxed);
        if !was {
            s.trips.fetch_add(1, Relaxed);
        }
        self.halted.store(true, Relaxed);
        !was
    }

    /// Clears every breaker (the kill switch too); trading resumes.
    pub fn reset(&self) {
        for s in &self.slots {
            s.tripped.store(false, Relaxed);
        }
        self.feed
            .dead_at_reset
            .store(self.feed.dead_seen.load(Relaxed), Relaxed);
        self.resets.fetch_add(1, Relaxed);
        self.halted.store(false, Relaxed);
        tracing::warn!("risk reset: every breaker ok, new plans allowed");
    }

    pub fn resets(&self) -> u64 {
        self.resets.load(Relaxed)
    }

    pub fn is_tripped(&self, b: Breaker) -> bool {
        self.slots[b as usize].tripped.load(Relaxed)
    }

    pub fn state(&self, b: Breaker) -> BreakerState {
        let s = &self.slots[b as usize];
        BreakerState {
            breaker: b,
            tripped: s.tripped.load(Relaxed),
            trips: s.trips.load(Relaxed),
            reason: s.reason.lock().map(|r| r.clone()).unwrap_or_default(),
        }
    }

    pub fn states(&self) -> Vec<BreakerState> {
        Breaker::ALL.iter().map(|&b| self.state(b)).collect()
    }

    /// `breakers: daily_loss ok · ... · journal TRIPPED ×1 (why)`.
    pub fn line(&self) -> String {
        let parts: Vec<String> = self
            .states()
            .into_iter()
            .map(|s| {
                let trips = if s.trips > 0 {
                    format!(" ×{}", s.trips)
                } else {
                    String::new()
                };
                if s.tripped {
                    format!("{} TRIPPED{trips} ({})", s.breaker.as_str(), s.reason)
                } else {
                    format!("{} ok{trips}", s.breaker.as_str())
                }
            })
            .collect();
        format!(
            "breakers: {} · opportunities dropped while halted {}",
            parts.join(" · "),
            self.halted_plans.load(Relaxed)
        )
    }

    /// The feed's health as the pipeline counts it: books ok and not ok now, market
    /// connections declared dead since start. Trips `feed_health` past its thresholds.
    pub fn observe_feed(&self, healthy: u64, unhealthy: u64, dead_total: u64) {
        self.feed.dead_seen.store(dead_total, Relaxed);
        let total = healthy + unhealthy;
        if let Some(pct) = self.feed.max_not_ok_pct
            && total > 0
            && unhealthy * 100 > u64::from(pct) * total
            && !self.is_tripped(Breaker::FeedHealth)
        {
            self.trip(
                Breaker::FeedHealth,
                format!("{unhealthy} of {total} books not ok (limit {pct}%)"),
            );
        }
        let dead = dead_total.saturating_sub(self.feed.dead_at_reset.load(Relaxed));
        if let Some(max) = self.feed.max_dead
            && dead >= max
            && !self.is_tripped(Breaker::FeedHealth)
        {
            self.trip(
                Breaker::FeedHealth,
                format!("{dead} market connections died (limit {max})"),
            );
        }
    }
}

/// Micro-units as a decimal, for reasons.
fn dec(v: u64) -> String {
    crate::core::decimal::format_micros(v)
}

/// See the module doc.
pub struct BreakerMonitor {
    cfg: RiskConfig,
    /// Outcomes of the last `reject_window` orders (true = refused), a ring.
    outcomes: Vec<bool>,
    next: usize,
    filled: usize,
    round_trips: LatencyHistogram,
    unknown: u64,
    /// Realized PnL at the start of the UTC day (or the last reset), and that day.
    day: u64,
    realized_base: i128,
    residual_base: u64,
    journal_base: u64,
    last_realized: i128,
    last_residual: u64,
    last_journal: u64,
    resets_seen: u64,
}

impl BreakerMonitor {
    pub fn new(cfg: &RiskConfig) -> Self {
        let cfg = cfg.clone().with_defaults();
        Self {
            outcomes: vec![false; cfg.reject_window as usize],
            next: 0,
            filled: 0,
            round_trips: LatencyHistogram::new("risk: round trip window"),
            unknown: 0,
            day: u64::MAX,
            realized_base: 0,
            residual_base: 0,
            journal_base: 0,
            last_realized: 0,
            last_residual: 0,
            last_journal: 0,
            resets_seen: 0,
            cfg,
        }
    }

    /// Restarts windows and counts if the gate was reset since the last call.
    pub fn sync_reset(&mut self, gate: &RiskGate) {
        let r = gate.resets();
        if r == self.resets_seen {
            return;
        }
        self.resets_seen = r;
        self.filled = 0;
        self.next = 0;
        self.round_trips.reset();
        self.unknown = 0;
        self.realized_base = self.last_realized;
        self.residual_base = self.last_residual;
        self.journal_base = self.last_journal;
    }

    /// One order's answer: refused (by the signer or the venue) or not.
    pub fn on_order(&mut self, gate: &RiskGate, refused: bool) {
        let n = self.outcomes.len();
        if n == 0 {
            return;
        }
        self.outcomes[self.next] = refused;
        self.next = (self.next + 1) % n;
        self.filled = (self.filled + 1).min(n);
        let Some(pct) = self.cfg.max_reject_rate_pct else {
            return;
        };
        if self.filled < n || gate.is_tripped(Breaker::RejectRate) {
            return;
        }
        let refused = self.outcomes.iter().filter(|r| **r).count();
        if refused * 100 >= pct as usize * n {
            gate.trip(
                Breaker::RejectRate,
                format!("{refused} of the last {n} orders refused (limit {pct}%)"),
            );
        }
    }

    /// An order whose outcome stayed unknown after the look-ups.
    pub fn on_unknown(&mut self, gate: &RiskGate) {
        self.unknown += 1;
        if let Some(max) = self.cfg.max_unknown_orders
            && self.unknown >= max
            && !gate.is_tripped(Breaker::UnknownOrders)
        {
            gate.trip(
                Breaker::UnknownOrders,
                format!(
                    "{} orders with an unknown outcome (limit {max})",
                    self.unknown
                ),
            );
        }
    }

    /// One plan's intent → every answer of its batch, in nanoseconds.
    pub fn on_round_trip(&mut self, gate: &RiskGate, ns: u64) {
        self.round_trips.record(ns);
        if self.round_trips.len() < u64::from(self.cfg.round_trip_window) {
            return;
        }
        let p99 = self.round_trips.summary().p99;
        self.round_trips.reset();
        if let Some(max) = self.cfg.max_round_trip_p99_ms
            && p99 > max.saturating_mul(1_000_000)
            && !gate.is_tripped(Breaker::RoundTrip)
        {
            gate.trip(
                Breaker::RoundTrip,
                format!(
                    "order round trip p99 {} ms over {} plans (limit {max} ms)",
                    p99 / 1_000_000,
                    self.cfg.round_trip_window
                ),
            );
        }
    }

    /// The realized PnL of every position (micro-pUSD, net of fees) at `unix_s`.
    pub fn on_realized(&mut self, gate: &RiskGate, realized: i128, unix_s: u64) {
        self.last_realized = realized;
        let day = unix_s / 86_400;
        if day != self.day {
            self.day = day;
            self.realized_base = realized;
        }
        let loss = self.realized_base - realized;
        if let Some(max) = self.cfg.max_daily_loss
            && loss > i128::from(max.0)
            && !gate.is_tripped(Breaker::DailyLoss)
        {
            gate.trip(
                Breaker::DailyLoss,
                format!(
                    "realized loss {} pUSD today (limit {})",
                    dec(u64::try_from(loss).unwrap_or(u64::MAX)),
                    max
                ),
            );
        }
    }

    /// The pUSD notional unwinds left unsold since start.
    pub fn on_residual(&mut self, gate: &RiskGate, notional: u64) {
        self.last_residual = notional;
        let n = notional.saturating_sub(self.residual_base);
        if let Some(max) = self.cfg.max_unwind_residual
            && n > max.0
            && !gate.is_tripped(Breaker::UnwindResidual)
        {
            gate.trip(
                Breaker::UnwindResidual,
                format!("unwinds left {} pUSD unsold (limit {max})", dec(n)),
            );
        }
    }

    /// Journal errors since start, and whether storage takes trading rows.
    pub fn on_journal(&mut self, gate: &RiskGate, errors: u64, storage_ok: bool) {
        self.last_journal = errors;
        if gate.is_tripped(Breaker::Journal) {
            return;
        }
        if !storage_ok {
            gate.trip(Breaker::Journal, "storage cannot record orders and fills");
            return;
        }
        let n = errors.saturating_sub(self.journal_base);
        if let Some(max) = self.cfg.max_journal_errors
            && n > max
        {
            gate.trip(
                Breaker::Journal,
                format!("{n} journal errors (limit {max})"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Amount;

    fn cfg() -> RiskConfig {
        RiskConfig {
            max_daily_loss: Some(Amount(5_000_000)),
            max_unwind_residual: Some(Amount(1_000_000)),
            max_reject_rate_pct: Some(50),
            reject_window: 4,
            max_unknown_orders: Some(2),
            max_round_trip_p99_ms: Some(100),
            round_trip_window: 3,
            max_books_not_ok_pct: Some(25),
            max_dead_connections: Some(2),
            max_journal_errors: Some(0),
            ..RiskConfig::default()
        }
    }

    #[test]
    fn each_breaker_trips_at_its_threshold_and_a_reset_counts_from_there() {
        let c = cfg();
        let g = RiskGate::new(&c);
        let mut m = BreakerMonitor::new(&c);
        assert!(!g.is_halted());
        for refused in [true, false, false] {
            m.on_order(&g, refused);
        }
        assert!(!g.is_halted(), "the window is not full yet");
        m.on_order(&g, false);
        assert!(!g.is_halted(), "1 of 4 refused");
        m.on_order(&g, true);
        assert!(
            !g.is_halted(),
            "the oldest refusal left the window: still 1 of 4"
        );
        m.on_order(&g, true);
        assert!(g.is_tripped(Breaker::RejectRate) && g.is_halted());
        g.reset();
        m.sync_reset(&g);
        assert!(!g.is_halted());
        m.on_order(&g, true);
        assert!(!g.is_halted(), "the window restarted at the reset");

        m.on_unknown(&g);
        m.on_unknown(&g);
        assert!(g.is_tripped(Breaker::UnknownOrders));

        for ns in [1_000_000, 2_000_000, 300_000_000] {
            m.on_round_trip(&g, ns);
        }
        assert!(g.is_tripped(Breaker::RoundTrip));

        let day = 20_000 * 86_400;
        m.on_realized(&g, 10_000_000, day + 5);
        m.on_realized(&g, 6_000_000, day + 6);
        assert!(!g.is_tripped(Breaker::DailyLoss), "4 pUSD lost");
        m.on_realized(&g, 4_000_000, day + 7);
        assert!(g.is_tripped(Breaker::DailyLoss));

        m.on_residual(&g, 1_500_000);
        assert!(g.is_tripped(Breaker::UnwindResidual));

        m.on_journal(&g, 0, true);
        assert!(!g.is_tripped(Breaker::Journal));
        m.on_journal(&g, 1, true);
        assert!(g.is_tripped(Breaker::Journal));

        g.observe_feed(3, 1, 0);
        assert!(!g.is_tripped(Breaker::FeedHealth), "25% is the limit");
        g.observe_feed(2, 2, 0);
        assert!(g.is_tripped(Breaker::FeedHealth));

        g.reset();
        m.sync_reset(&g);
        assert!(!g.is_halted());
        // The same cumulative figures do not trip again after the reset.
        m.on_residual(&g, 1_500_000);
        m.on_journal(&g, 1, true);
        m.on_realized(&g, 4_000_000, day + 8);
        g.observe_feed(4, 0, 0);
        assert!(!g.is_halted(), "{}", g.line());
        // A new day starts from its own first PnL.
        m.on_realized(&g, -10_000_000, day + 86_400);
        assert!(!g.is_halted());
        g.observe_feed(4, 0, 2);
        assert!(g.is_tripped(Breaker::FeedHealth));
        let line = g.line();
        assert!(
            line.contains("feed_health TRIPPED ×2 (2 market connections died (limit 2))"),
            "{line}"
        );
        assert!(line.contains("reject_rate ok ×1"), "{line}");
    }

    #[test]
    fn a_storage_failure_trips_the_journal_breaker_and_the_kill_is_a_breaker() {
        let g = RiskGate::new(&RiskConfig::default());
        let mut m = BreakerMonitor::new(&RiskConfig::default());
        m.on_journal(&g, 5, true);
        assert!(!g.is_halted(), "no limit configured");
        m.on_journal(&g, 5, false);
        assert!(g.is_tripped(Breaker::Journal));
        assert!(g.trip(Breaker::Kill, "operator"));
        assert!(!g.trip(Breaker::Kill, "again"));
        assert_eq!(g.state(Breaker::Kill).trips, 1);
        assert_eq!(g.state(Breaker::Kill).reason, "again");
    }
}
