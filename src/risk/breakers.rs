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

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock};

use crate::obs::LatencyHistogram;
use crate::obs::replica::{BreakerBoard, BreakerCell, NO_THRESHOLD};
use crate::obs::status::BreakerStatus;

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

    /// The unit of its measure and threshold (empty: the kill switch has neither).
    pub fn unit(self) -> &'static str {
        match self {
            Breaker::DailyLoss | Breaker::UnwindResidual => "micro_pusd",
            Breaker::RejectRate => "percent",
            Breaker::UnknownOrders => "orders",
            Breaker::RoundTrip => "ms",
            Breaker::FeedHealth => "percent",
            Breaker::Journal => "errors",
            Breaker::Kill => "",
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
    /// Its measure now (since the last reset), in [`Breaker::unit`].
    pub value: i64,
    /// Where it trips (`None`: not configured).
    pub threshold: Option<i64>,
}

struct Slot {
    tripped: AtomicBool,
    trips: AtomicU64,
    reason: Mutex<String>,
    value: AtomicI64,
    /// [`NO_THRESHOLD`] when not configured.
    threshold: AtomicI64,
}

impl Default for Slot {
    fn default() -> Self {
        Self {
            tripped: AtomicBool::new(false),
            trips: AtomicU64::new(0),
            reason: Mutex::new(String::new()),
            value: AtomicI64::new(0),
            threshold: AtomicI64::new(NO_THRESHOLD),
        }
    }
}

/// A threshold as one number (amounts in micro-units; [`NO_THRESHOLD`] when absent).
fn limit<T: TryInto<i64>>(v: Option<T>) -> i64 {
    v.and_then(|v| v.try_into().ok()).unwrap_or(NO_THRESHOLD)
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
    /// The state replica's cells, once published there ([`RiskGate::publish_to`]), in
    /// [`Breaker::ALL`] order.
    cells: OnceLock<Vec<Arc<BreakerCell>>>,
}

impl RiskGate {
    pub fn new(cfg: &RiskConfig) -> Self {
        let g = Self {
            feed: FeedLimits {
                max_not_ok_pct: cfg.max_books_not_ok_pct,
                max_dead: cfg.max_dead_connections,
                ..FeedLimits::default()
            },
            ..Self::default()
        };
        // Feed health is measured in percent of books not ok, unless only dead connections
        // are limited.
        let feed = match (cfg.max_books_not_ok_pct, cfg.max_dead_connections) {
            (None, Some(d)) => limit(Some(d)),
            (p, _) => limit(p),
        };
        for (b, t) in [
            (Breaker::DailyLoss, limit(cfg.max_daily_loss.map(|a| a.0))),
            (
                Breaker::UnwindResidual,
                limit(cfg.max_unwind_residual.map(|a| a.0)),
            ),
            (Breaker::RejectRate, limit(cfg.max_reject_rate_pct)),
            (Breaker::UnknownOrders, limit(cfg.max_unknown_orders)),
            (Breaker::RoundTrip, limit(cfg.max_round_trip_p99_ms)),
            (Breaker::FeedHealth, feed),
            (Breaker::Journal, limit(cfg.max_journal_errors)),
        ] {
            g.slots[b as usize].threshold.store(t, Relaxed);
        }
        g
    }

    fn unit(&self, b: Breaker) -> &'static str {
        if b == Breaker::FeedHealth
            && self.feed.max_not_ok_pct.is_none()
            && self.feed.max_dead.is_some()
        {
            return "connections";
        }
        b.unit()
    }

    /// Registers every breaker in the state replica (once, at setup) and publishes each
    /// change there from now on. A second call does nothing.
    pub fn publish_to(&self, board: &BreakerBoard) {
        let cells = self.cells.get_or_init(|| {
            Breaker::ALL
                .iter()
                .map(|&b| board.register(b.as_str()))
                .collect()
        });
        for (&b, c) in Breaker::ALL.iter().zip(cells) {
            let s = self.state(b);
            c.set_threshold(s.threshold, self.unit(b));
            c.set_value(s.value);
            if s.tripped {
                c.trip(&s.reason);
            }
        }
    }

    fn cell(&self, b: Breaker) -> Option<&BreakerCell> {
        self.cells
            .get()
            .and_then(|c| c.get(b as usize))
            .map(|c| &**c)
    }

    /// Sets `b`'s measure (in [`Breaker::unit`]).
    pub fn set_value(&self, b: Breaker, v: i64) {
        self.slots[b as usize].value.store(v, Relaxed);
        if let Some(c) = self.cell(b) {
            c.set_value(v);
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
        if let Some(c) = self.cell(b) {
            c.trip(&reason);
        }
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
        for (&b, s) in Breaker::ALL.iter().zip(&self.slots) {
            s.tripped.store(false, Relaxed);
            // Every measure but the feed's (a state of now) counts from the reset.
            if b != Breaker::FeedHealth {
                s.value.store(0, Relaxed);
            }
            if let Some(c) = self.cell(b) {
                c.clear();
                c.set_value(s.value.load(Relaxed));
            }
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
            value: s.value.load(Relaxed),
            threshold: Some(s.threshold.load(Relaxed)).filter(|&t| t != NO_THRESHOLD),
        }
    }

    pub fn states(&self) -> Vec<BreakerState> {
        Breaker::ALL.iter().map(|&b| self.state(b)).collect()
    }

    /// Every breaker as `/status` shows it (for summaries: `obs::status::breaker_table`).
    pub fn report(&self) -> Vec<BreakerStatus> {
        match self.cells.get() {
            Some(cells) => cells.iter().map(|c| c.status()).collect(),
            None => self
                .states()
                .into_iter()
                .map(|s| BreakerStatus {
                    name: s.breaker.as_str().to_string(),
                    state: if s.tripped { "tripped" } else { "ok" }.to_string(),
                    tripped: s.tripped,
                    trips: s.trips,
                    reason: s.reason,
                    value: s.value,
                    threshold: s.threshold,
                    unit: self.unit(s.breaker).to_string(),
                    changed_ms: 0,
                })
                .collect(),
        }
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
        let dead = dead_total.saturating_sub(self.feed.dead_at_reset.load(Relaxed));
        let v = if self.unit(Breaker::FeedHealth) == "connections" {
            dead
        } else {
            (unhealthy * 100).checked_div(total).unwrap_or(0)
        };
        self.set_value(Breaker::FeedHealth, i64::try_from(v).unwrap_or(i64::MAX));
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
        self.outcomes.fill(false);
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
        // The ring holds only this window's outcomes since a reset cleared it.
        let refused = self.outcomes.iter().filter(|r| **r).count();
        gate.set_value(Breaker::RejectRate, (refused * 100 / self.filled) as i64);
        let Some(pct) = self.cfg.max_reject_rate_pct else {
            return;
        };
        if self.filled < n || gate.is_tripped(Breaker::RejectRate) {
            return;
        }
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
        gate.set_value(
            Breaker::UnknownOrders,
            i64::try_from(self.unknown).unwrap_or(i64::MAX),
        );
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
        gate.set_value(
            Breaker::RoundTrip,
            i64::try_from(p99 / 1_000_000).unwrap_or(i64::MAX),
        );
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
        gate.set_value(
            Breaker::DailyLoss,
            i64::try_from(loss).unwrap_or(if loss < 0 { i64::MIN + 1 } else { i64::MAX }),
        );
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
        gate.set_value(
            Breaker::UnwindResidual,
            i64::try_from(n).unwrap_or(i64::MAX),
        );
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
        let n = errors.saturating_sub(self.journal_base);
        gate.set_value(Breaker::Journal, i64::try_from(n).unwrap_or(i64::MAX));
        if gate.is_tripped(Breaker::Journal) {
            return;
        }
        if !storage_ok {
            gate.trip(Breaker::Journal, "storage cannot record orders and fills");
            return;
        }
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

    #[test]
    fn breakers_publish_their_state_measure_and_threshold_to_the_replica() {
        let c = cfg();
        let g = RiskGate::new(&c);
        let mut m = BreakerMonitor::new(&c);
        m.on_unknown(&g);
        let board = crate::obs::replica::BreakerBoard::default();
        g.publish_to(&board);
        g.publish_to(&board);
        let snap = board.snapshot();
        assert_eq!(snap.len(), Breaker::ALL.len(), "each registered once");
        let of = |name: &str| {
            board
                .snapshot()
                .into_iter()
                .find(|b| b.name == name)
                .unwrap()
        };
        let u = of("unknown_orders");
        assert_eq!(
            (u.value, u.threshold, u.unit.as_str()),
            (1, Some(2), "orders")
        );
        assert_eq!(of("daily_loss").threshold, Some(5_000_000));
        assert_eq!(of("kill").threshold, None);
        m.on_unknown(&g);
        let u = of("unknown_orders");
        assert_eq!((u.state.as_str(), u.trips, u.value), ("tripped", 1, 2));
        assert_eq!(u.reason, "2 orders with an unknown outcome (limit 2)");
        assert_eq!(g.report(), board.snapshot());
        g.observe_feed(1, 3, 0);
        assert_eq!(of("feed_health").value, 75);
        g.reset();
        let u = of("unknown_orders");
        assert_eq!((u.state.as_str(), u.trips, u.value), ("ok", 1, 0));
        assert_eq!(of("feed_health").value, 75, "a state of now, kept");
        assert_eq!(u.reason, "2 orders with an unknown outcome (limit 2)");
    }
}
