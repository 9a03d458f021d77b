//! The trading timer thread: moves trade statuses on, expires GTD orders and fires the
//! heartbeat dead-man switch. It sleeps until the next deadline (or a ring from a request
//! that created an earlier one), so it never spins.

use std::time::{Duration, Instant};

use crate::control::VenueControl;

use super::state::Now;

/// Longest sleep without a deadline (shutdown is noticed within it).
const IDLE: Duration = Duration::from_millis(250);

pub fn run(ctl: VenueControl) {
    let shared = ctl.trading.clone();
    while !ctl.is_shutting_down() {
        let now = Now::current();
        let next = ctl
            .hub()
            .trading_op(now.ms, |st, books, buf| st.tick(books, buf, &now))
            .flatten();
        let until = next.map_or(now.at + IDLE, |t| t.min(now.at + IDLE));
        if until > Instant::now() {
            shared.timer.wait_until(until);
        }
    }
}
