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
