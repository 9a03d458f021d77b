//! The catalog's cold thread: refreshes every `interval` (and on demand), acknowledges rule
//! changes on command, and reports each `CatalogUpdate` through a channel for the pipeline to
//! apply (`update.feed_commands()` → the feed; `update.selection` → the strategy's groups).
//!
//! The thread sleeps in a channel receive between refreshes (no spinning) and never blocks on
//! its consumer: notices go through a bounded channel with `try_send`; an update that does not
//! fit is not committed, so its subscribe/unsubscribe lists are folded into the next one.

use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam::channel::{Receiver, RecvTimeoutError, Sender, TrySendError, bounded, unbounded};

use crate::core::ConditionId;

use super::source::CatalogSource;
use super::state::{CatalogState, CatalogUpdate};

/// What the scheduler reports.
#[derive(Debug)]
pub enum CatalogNotice {
    /// A refresh (or an acknowledgement) produced an update.
    Updated(Box<CatalogUpdate>),
    /// A refresh failed; the previous catalog stays in force.
    RefreshFailed {
        error: String,
        /// Failures in a row (reset by a successful refresh).
        consecutive: u32,
    },
    /// An acknowledgement was applied (`changes` pending changes cleared); an `Updated`
    /// follows.
    Acked { market: ConditionId, changes: usize },
    /// An acknowledgement could not be stored.
    AckFailed { market: ConditionId, error: String },
}

enum Command {
    RefreshNow,
    Ack(ConditionId),
    Shutdown,
}

/// Notices buffered before the consumer must catch up.
const NOTICE_CAPACITY: usize = 64;

/// Controls a running scheduler; dropping it stops the thread.
pub struct SchedulerHandle {
    tx: Sender<Command>,
    join: Option<JoinHandle<CatalogState>>,
}

impl SchedulerHandle {
    /// Refresh now (then keep the interval from there).
    pub fn refresh_now(&self) {
        let _ = self.tx.send(Command::RefreshNow);
    }

    /// Acknowledge a market's rule change (`polyarb catalog ack` in a running engine).
    pub fn ack(&self, market: ConditionId) {
        let _ = self.tx.send(Command::Ack(market));
    }

    /// Stops the thread and returns the catalog state (for inspection or a restart).
    pub fn shutdown(mut self) -> Option<CatalogState> {
        self.stop()
    }

    fn stop(&mut self) -> Option<CatalogState> {
        let _ = self.tx.send(Command::Shutdown);
        self.join.take().and_then(|j| j.join().ok())
    }
}

impl Drop for SchedulerHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Scheduler settings.
#[derive(Clone, Copy, Debug)]
pub struct SchedulerConfig {
    pub interval: Duration,
    /// Refresh as soon as the thread starts (otherwise after one interval).
    pub refresh_at_start: bool,
}

/// Starts the cold thread over `state` (typically after a first synchronous refresh used to
/// start the pipeline, whose update was `commit`ted).
pub fn spawn(
    mut state: CatalogState,
    mut source: Box<dyn CatalogSource>,
    cfg: SchedulerConfig,
) -> std::io::Result<(SchedulerHandle, Receiver<CatalogNotice>)> {
    let (tx, rx) = unbounded::<Command>();
    let (ntx, nrx) = bounded::<CatalogNotice>(NOTICE_CAPACITY);
    let join = std::thread::Builder::new()
        .name("catalog".into())
        .spawn(move || {
            let mut failures = 0u32;
            let mut next = if cfg.refresh_at_start {
                Instant::now()
            } else {
                Instant::now() + cfg.interval
            };
            loop {
                let cmd = match rx.recv_timeout(next.saturating_duration_since(Instant::now())) {
                    Ok(c) => c,
                    Err(RecvTimeoutError::Timeout) => Command::RefreshNow,
                    Err(RecvTimeoutError::Disconnected) => Command::Shutdown,
                };
                match cmd {
                    Command::Shutdown => break,
                    Command::RefreshNow => {
                        next = Instant::now() + cfg.interval;
                        match state.refresh(source.as_mut()) {
                            Ok(u) => {
                                failures = 0;
                                deliver(&mut state, &ntx, u);
                            }
                            Err(e) => {
                                failures += 1;
                                tracing::warn!(error = %e, consecutive = failures, "catalog refresh failed; keeping the previous catalog");
                                let _ = ntx.try_send(CatalogNotice::RefreshFailed {
                                    error: e.to_string(),
                                    consecutive: failures,
                                });
                            }
                        }
                    }
                    Command::Ack(market) => match state.ack(&market) {
                        Ok((changes, u)) => {
                            let _ = ntx.try_send(CatalogNotice::Acked { market, changes });
                            deliver(&mut state, &ntx, u);
                        }
                        Err(e) => {
                            let _ = ntx.try_send(CatalogNotice::AckFailed {
                                market,
                                error: e.to_string(),
                            });
                        }
                    },
                }
            }
            state
        })?;
    Ok((
        SchedulerHandle {
            tx,
            join: Some(join),
        },
        nrx,
    ))
}

fn deliver(state: &mut CatalogState, ntx: &Sender<CatalogNotice>, u: CatalogUpdate) {
    let committed = u.clone();
    match ntx.try_send(CatalogNotice::Updated(Box::new(u))) {
        Ok(()) => state.commit(&committed),
        Err(TrySendError::Full(_)) => {
            tracing::warn!("catalog consumer is behind; this update folds into the next");
        }
        Err(TrySendError::Disconnected(_)) => {}
    }
}
