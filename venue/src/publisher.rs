//! The publisher thread: steps the source at the configured pace (or flat out in flood mode)
//! and fires the periodic faults of the config.
//!
//! Pacing is by schedule, not by sleeping a fixed amount per event: after waking it publishes
//! everything due since the schedule's start, then sleeps on a condvar until the next unit is
//! due (at least 1 ms), so high rates are reached in small batches without spinning, and a
//! pause, resume or rate change wakes it at once. Flood mode publishes as fast as the slowest
//! connection drains: it waits while any connection has more than `FLOOD_BACKLOG` unsent.

use std::time::{Duration, Instant};

use super::config::FaultConfig;
use super::control::VenueControl;
use super::fault::{Fault, MalformedShape};
use polyarb::obs::clock::unix_ms;

/// Unsent bytes on a connection above which flood mode waits for the io thread.
const FLOOD_BACKLOG: usize = 4 << 20;
/// Level changes (or frames) per flood batch, i.e. per lock hold.
const FLOOD_BATCH: u64 = 2_048;

struct Periodic {
    every: Duration,
    next: Instant,
}

impl Periodic {
    fn new(every_ms: u64, now: Instant) -> Option<Self> {
        (every_ms > 0).then(|| Self {
            every: Duration::from_millis(every_ms),
            next: now + Duration::from_millis(every_ms),
        })
    }

    fn due(slot: &mut Option<Self>, now: Instant) -> bool {
        match slot {
            Some(p) if now >= p.next => {
                p.next = now + p.every;
                true
            }
            _ => false,
        }
    }
}

/// Runs until the venue shuts down.
pub fn run(ctl: VenueControl, faults: FaultConfig) {
    let start = Instant::now();
    let mut close = Periodic::new(faults.close_every_ms, start);
    let mut malformed = Periodic::new(faults.malformed_every_ms, start);
    let mut gap = Periodic::new(faults.gap_every_ms, start);
    let mut gap_turn = 0usize;
    let mut epoch = u64::MAX;
    let mut t0 = start;
    let mut done = 0u64;
    loop {
        let pacing = {
            let mut s = ctl.source.lock();
            loop {
                if s.shutdown {
                    return;
                }
                if !s.paused {
                    break;
                }
                s = ctl
                    .source
                    .cv
                    .wait_timeout(s, Duration::from_millis(250))
                    .map_or_else(|e| e.into_inner().0, |r| r.0);
            }
            *s
        };
        let now = Instant::now();
        if pacing.epoch != epoch {
            epoch = pacing.epoch;
            t0 = now;
            done = 0;
        }
        if Periodic::due(&mut close, now) {
            let _ = ctl.fault(&Fault::Close {
                conn: None,
                abrupt: true,
            });
        }
        if Periodic::due(&mut malformed, now) {
            let _ = ctl.fault(&Fault::Malformed {
                conn: None,
                count: 1,
                shape: MalformedShape::Truncated,
            });
        }
        if Periodic::due(&mut gap, now) {
            let ids = ctl.asset_ids();
            if !ids.is_empty() {
                gap_turn = (gap_turn + 1) % ids.len();
                let _ = ctl.fault(&Fault::Gap {
                    asset_id: Some(ids[gap_turn].clone()),
                });
            }
        }
        let rate = pacing.rate;
        let budget = if rate == 0 {
            let (idle, backlog) = {
                let hub = ctl.hub();
                (hub.conn_ids().is_empty(), hub.max_pending_bytes())
            };
            if idle || backlog > FLOOD_BACKLOG {
                // Nobody to flood, or the io thread is behind: let it catch up.
                std::thread::sleep(Duration::from_millis(if idle { 5 } else { 1 }));
                continue;
            }
            FLOOD_BATCH
        } else {
            let elapsed = now.duration_since(t0).as_micros();
            let target = (elapsed * u128::from(rate) / 1_000_000) as u64;
            if target <= done {
                let next = t0
                    + Duration::from_micros(
                        ((done + 1) as u128 * 1_000_000 / u128::from(rate)) as u64,
                    );
                let wait = next
                    .saturating_duration_since(now)
                    .clamp(Duration::from_millis(1), Duration::from_millis(100));
                let s = ctl.source.lock();
                if !s.shutdown && s.epoch == epoch {
                    let _ = ctl.source.cv.wait_timeout(s, wait);
                }
                continue;
            }
            if target - done > rate.saturating_mul(2) {
                // Far behind (a long stall): restart the schedule instead of a huge burst.
                t0 = now;
                done = 0;
                continue;
            }
            (target - done).min(rate / 50 + 1)
        };
        let progressed = {
            let mut hub = ctl.hub();
            // Re-checked under the hub lock: once `pause()` returns, no batch is in flight.
            if ctl.source.lock().paused {
                continue;
            }
            match hub.step_model(unix_ms(), budget, budget + 64) {
                Some((steps, changes)) => {
                    done += changes.max(u64::from(steps > 0 && changes == 0));
                    true
                }
                None => {
                    let n = hub.step_replay(budget).unwrap_or(0);
                    done += n;
                    n > 0
                }
            }
        };
        if !progressed {
            // A replay that has run out: idle until shut down or re-paced.
            let s = ctl.source.lock();
            if !s.shutdown {
                let _ = ctl.source.cv.wait_timeout(s, Duration::from_millis(250));
            }
        }
    }
}
