//! Applying a catalog update to a running pipeline (on the thread that receives the catalog's
//! notices, never the hot path): group halts and resumes to the strategy stage's command ring,
//! subscriptions to the feed.
//!
//! The parse stage resolves token ids with the registry the pipeline started with, so only
//! assets of that registry can be subscribed at run time (a market the catalog watched at
//! start-up, dropped and watched again); assets first seen later are counted in
//! `needs_restart` and wait for the next start. Unsubscribing always works.

use crate::adapters::polymarket::ws::FeedCommand;
use crate::catalog::CatalogUpdate;
use crate::strategy::StrategyCommand;

use super::engine::Pipeline;

/// What `apply_catalog` did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CatalogApplied {
    pub halted_groups: usize,
    pub resumed_groups: usize,
    /// Commands the strategy's ring refused (full): send them again.
    pub refused: Vec<StrategyCommand>,
    pub subscribed: usize,
    pub unsubscribed: usize,
    /// Assets the catalog wants that the running parse stage cannot resolve.
    pub needs_restart: usize,
}

impl Pipeline {
    /// Sends an update's strategy commands and feed changes.
    pub fn apply_catalog(&self, u: &CatalogUpdate) -> CatalogApplied {
        let cmds = u.strategy_commands();
        let refused = self.strategy_control.send_all(&cmds);
        let known = self.registry.len();
        let (subscribe, later): (Vec<_>, Vec<_>) = u
            .subscribe
            .iter()
            .cloned()
            .partition(|(a, _)| a.get() < known);
        let unsubscribe: Vec<_> = u
            .unsubscribe
            .iter()
            .copied()
            .filter(|a| a.get() < known)
            .collect();
        let applied = CatalogApplied {
            halted_groups: u.halt_groups.len(),
            resumed_groups: u.resume_groups.len(),
            refused,
            subscribed: subscribe.len(),
            unsubscribed: unsubscribe.len(),
            needs_restart: later.len(),
        };
        if !subscribe.is_empty() {
            self.control.send(FeedCommand::Subscribe(subscribe));
        }
        if !unsubscribe.is_empty() {
            self.control.send(FeedCommand::Unsubscribe(unsubscribe));
        }
        if applied.needs_restart > 0 {
            tracing::warn!(
                assets = applied.needs_restart,
                "catalog watches new assets the running pipeline cannot parse; they are subscribed at the next start"
            );
        }
        applied
    }
}

/// Why the catalog could not start the engine.
#[derive(Debug, thiserror::Error)]
pub enum CatalogStartError {
    #[error("first catalog refresh: {0}")]
    Refresh(#[from] crate::adapters::polymarket::gamma::GammaError),
    #[error("cannot spawn the catalog thread: {0}")]
    Spawn(#[from] std::io::Error),
}

/// The catalog side of a running engine: the scheduler's cold thread and the notices it
/// sends, applied to the pipeline by whoever calls `poll` (a cold loop: the demo's view).
pub struct CatalogRunner {
    handle: crate::catalog::SchedulerHandle,
    notices: crossbeam::channel::Receiver<crate::catalog::CatalogNotice>,
    /// Commands the strategy ring refused, sent again at the next `poll`.
    retry: Vec<StrategyCommand>,
    /// Totals over every applied update.
    pub totals: CatalogApplied,
    pub refreshes: u64,
    pub failures: u64,
}

impl CatalogRunner {
    /// Refreshes once (the caller starts the pipeline on the returned update's selection),
    /// then starts the scheduler on the cold thread.
    pub fn start(
        cfg: &crate::catalog::CatalogConfig,
        store: Box<dyn crate::catalog::CatalogStore>,
    ) -> Result<(CatalogUpdate, Self), CatalogStartError> {
        use crate::catalog::scheduler::{SchedulerConfig, spawn};
        use crate::catalog::{CatalogState, GammaSource};
        let mut state = CatalogState::new(cfg.filters.clone(), store);
        let first = state.refresh(&mut GammaSource::new(cfg))?;
        state.commit(&first);
        let (handle, notices) = spawn(
            state,
            Box::new(GammaSource::new(cfg)),
            SchedulerConfig {
                interval: std::time::Duration::from_secs(cfg.refresh_interval_s),
                refresh_at_start: false,
            },
        )?;
        Ok((
            first,
            Self {
                handle,
                notices,
                retry: Vec::new(),
                totals: CatalogApplied::default(),
                refreshes: 0,
                failures: 0,
            },
        ))
    }

    /// Applies every notice waiting (never blocks); returns how many updates were applied.
    pub fn poll(&mut self, p: &Pipeline) -> usize {
        use crate::catalog::CatalogNotice;
        self.retry = p.strategy_control.send_all(&self.retry);
        let mut n = 0;
        while let Ok(notice) = self.notices.try_recv() {
            match notice {
                CatalogNotice::Updated(u) => {
                    let a = p.apply_catalog(&u);
                    let t = &mut self.totals;
                    t.halted_groups += a.halted_groups;
                    t.resumed_groups += a.resumed_groups;
                    t.subscribed += a.subscribed;
                    t.unsubscribed += a.unsubscribed;
                    t.needs_restart += a.needs_restart;
                    self.retry.extend(a.refused);
                    self.refreshes += 1;
                    n += 1;
                }
                CatalogNotice::RefreshFailed { .. } => self.failures += 1,
                CatalogNotice::Acked { .. } | CatalogNotice::AckFailed { .. } => {}
            }
        }
        n
    }

    /// Refresh now (e.g. after `polyarb catalog ack` in another process).
    pub fn refresh_now(&self) {
        self.handle.refresh_now();
    }

    /// Acknowledge a rule change from inside the engine.
    pub fn ack(&self, market: crate::core::ConditionId) {
        self.handle.ack(market);
    }

    /// Stops the catalog thread.
    /// One line for an exit report: refreshes and what they changed on the running engine.
    pub fn summary(&self) -> String {
        let t = &self.totals;
        format!(
            "catalog: {} refreshes ({} failed) · groups halted {} resumed {} · assets subscribed {} unsubscribed {} (needing a restart {})",
            self.refreshes,
            self.failures,
            t.halted_groups,
            t.resumed_groups,
            t.subscribed,
            t.unsubscribed,
            t.needs_restart
        )
    }

    pub fn shutdown(self) {
        self.handle.shutdown();
    }
}
