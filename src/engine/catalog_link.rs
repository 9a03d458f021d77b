//! Applying a catalog update to a running pipeline (on the thread that receives the catalog's
//! notices, never the hot path): group definitions, halts and resumes to the strategy stage's
//! command ring, registry extensions to every stage that resolves assets, subscriptions to
//! the feed.
//!
//! A market listed while the engine runs gets asset indices from the catalog's `Selector`
//! (continuing the existing ones; indices are never reused). Every hot stage learns them by
//! message, never through a shared lock, and before the venue can send anything about them:
//! - storage (`RegisterAsset`), the resync worker, the book stage (`BookCtl::Extend`) and the
//!   strategy (`StrategyCommand::Define` of the new groups, then `KnownAssets`) are sent their
//!   part first;
//! - then the io stage gets `FeedCommand::Extend` followed by `FeedCommand::Subscribe`. It
//!   hands the extension to the parse stage in-band (`IoEvent::Extend`, on the frames ring or
//!   by a direct call when fused) before it carries out any later command, so the parser knows
//!   a token before the subscribe that makes the venue send its `book` goes out;
//! - the book and strategy stages, on a message for an asset they do not know yet, drain their
//!   control channel first, where its extension is already waiting (it was sent before the
//!   subscribe that caused the message), whatever the topology;
//! - a live sender (`Pipeline::instruments_tx`) is sent the instruments of every watched
//!   market (new ones, and rules Gamma changed) before the subscribe, and drains its channel
//!   when a plan names an asset it does not know.
//!
//! A closed (or filtered-out) market is retired in the book stage (`BookCtl::Retire`: its books
//! emptied, untradeable, their messages ignored) and unsubscribed; its group is halted. A
//! market that reopens is revived before it is subscribed again.
//!
//! The stages' tables are sized at start for `pipeline.max_assets` assets; assets past it are
//! refused (counted in `refused_assets`, logged) and wait for a restart with a larger
//! `max_assets`. If the strategy's command ring cannot take an update's commands in one batch,
//! nothing of the update is applied (`deferred`) and `CatalogRunner` applies it again later.

use crate::adapters::polymarket::market_channel::FeedCommand;
use crate::book_stage::BookCtl;
use crate::catalog::CatalogUpdate;
use crate::core::{AssetIndex, AssetRegistry, ConditionId};
use crate::storage::event::AssetRegistration;
use crate::strategy::StrategyCommand;

use super::Pipeline;

/// What `apply_catalog` did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CatalogApplied {
    pub halted_groups: usize,
    pub resumed_groups: usize,
    /// Groups defined (new) or redefined (changed legs or fees) in the strategy.
    pub defined_groups: usize,
    /// Assets added to every stage's registry.
    pub added_assets: usize,
    pub subscribed: usize,
    pub unsubscribed: usize,
    /// Assets the catalog watches that do not fit in `pipeline.max_assets`: not subscribed.
    pub refused_assets: usize,
    /// The strategy's command ring had no room: nothing was applied; apply the update again.
    pub deferred: bool,
}

impl Pipeline {
    /// Applies an update: strategy commands in one batch, then registry extensions, then the
    /// feed. Applying an update twice is harmless (every step is idempotent).
    pub fn apply_catalog(&mut self, u: &CatalogUpdate) -> CatalogApplied {
        let sel = &u.selection;
        let have = self.registry.len();
        let target = sel.registry.len().min(self.capacity).max(have);
        let fits = |a: &AssetIndex| a.get() < target;

        let mut cmds = Vec::new();
        let mut defined = Vec::new();
        let held = sel.held_groups.iter().map(|g| (g, true));
        for (g, halted) in sel.groups.iter().map(|g| (g, false)).chain(held) {
            if g.assets.iter().chain(&g.no_assets).all(fits)
                && self.strategy_groups.get(&g.id) != Some(g)
            {
                cmds.push(StrategyCommand::Define(Box::new(g.clone())));
                if halted {
                    // A group first seen halted (a question added to a halted event).
                    cmds.push(StrategyCommand::Halt(g.id));
                }
                defined.push(g.clone());
            }
        }
        if target > have {
            cmds.push(StrategyCommand::KnownAssets(target as u32));
        }
        cmds.extend(u.strategy_commands());
        if self.strategy_control.send_batch(cmds).is_err() {
            tracing::warn!("strategy command ring full: the catalog update is applied later");
            return CatalogApplied {
                deferred: true,
                ..CatalogApplied::default()
            };
        }
        let defined_groups = defined.len();
        for g in defined {
            self.strategy_groups.insert(g.id, g);
        }

        let added_assets = if target > have {
            self.extend(&sel.registry, target, u)
        } else {
            0
        };

        let (subscribe, refused): (Vec<_>, Vec<_>) =
            u.subscribe.iter().cloned().partition(|(a, _)| fits(a));
        let unsubscribe: Vec<AssetIndex> = u.unsubscribe.iter().copied().filter(fits).collect();
        let revive: Vec<AssetIndex> = subscribe
            .iter()
            .map(|(a, _)| *a)
            .filter(|a| a.get() < have)
            .collect();
        if !revive.is_empty() {
            let _ = self.book_ctl.send(BookCtl::Revive(revive));
        }
        let applied = CatalogApplied {
            halted_groups: u.halt_groups.len(),
            resumed_groups: u.resume_groups.len(),
            defined_groups,
            added_assets,
            subscribed: subscribe.len(),
            unsubscribed: unsubscribe.len(),
            refused_assets: refused.len(),
            deferred: false,
        };
        if let Some(tx) = &self.instruments_tx {
            let update = crate::exec::instruments::from_catalog(u, &sel.registry, target);
            if !update.is_empty() && tx.try_send(update).is_err() {
                tracing::warn!(
                    "the live sender's instrument queue is full: new markets are untradeable until the next update"
                );
            }
        }
        if !subscribe.is_empty() {
            self.control.send(FeedCommand::Subscribe(subscribe));
        }
        if !unsubscribe.is_empty() {
            let _ = self.book_ctl.send(BookCtl::Retire(unsubscribe.clone()));
            self.control.send(FeedCommand::Unsubscribe(unsubscribe));
        }
        if applied.refused_assets > 0 {
            tracing::warn!(
                assets = applied.refused_assets,
                max_assets = self.capacity,
                "catalog watches more assets than pipeline.max_assets: the rest wait for a restart with a larger max_assets"
            );
        }
        applied
    }

    /// Sends assets `self.registry.len()..target` of `source` to every stage that resolves
    /// assets, the io stage last (it subscribes nothing before passing it to the parser).
    fn extend(&mut self, source: &AssetRegistry, target: usize, u: &CatalogUpdate) -> usize {
        let ext = source.cut(self.registry.len(), target);
        if let Some(tx) = &self.storage_tx {
            for (asset, info) in ext.iter() {
                let market = info.market.as_deref().unwrap_or_default();
                let outcome = ConditionId::parse(market)
                    .ok()
                    .and_then(|c| u.catalog.market(&c))
                    .and_then(|m| {
                        m.outcomes
                            .iter()
                            .position(|o| o.token == info.token)
                            .map(|i| (m.outcomes[i].name.clone(), i as u32))
                    });
                let reg = AssetRegistration {
                    asset,
                    token: info.token,
                    condition_id: market.to_string(),
                    outcome: outcome.as_ref().map(|o| o.0.clone()),
                    outcome_index: outcome.map(|o| o.1),
                };
                // Cold thread; the writer drains fast. Its events would be refused otherwise.
                if let Err(e) =
                    tx.send_blocking(crate::storage::StorageEvent::RegisterAsset(Box::new(reg)))
                {
                    tracing::error!(asset = asset.0, error = %e, "cannot register a new asset in storage");
                }
            }
        }
        let _ = self.resync_extensions.send(ext.clone());
        let _ = self.book_ctl.send(BookCtl::Extend(Box::new(ext.clone())));
        self.control
            .send(FeedCommand::Extend(Box::new(ext.clone())));
        let added = ext.len();
        if let Err(e) = self.registry.extend_with(ext) {
            tracing::error!(error = %e, "pipeline registry extension refused");
        }
        self.replica.set_labels(&self.registry);
        tracing::info!(
            assets = added,
            total = self.registry.len(),
            "registry extended: new markets subscribed without a restart"
        );
        added
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
    /// Updates not applied yet (the strategy ring was full), oldest first: each is relative
    /// to the one before, so they are applied in order.
    pending: std::collections::VecDeque<Box<CatalogUpdate>>,
    /// The last update applied (its catalog and selection: labels for a view).
    pub last: Option<Box<CatalogUpdate>>,
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
                pending: std::collections::VecDeque::new(),
                last: None,
                totals: CatalogApplied::default(),
                refreshes: 0,
                failures: 0,
            },
        ))
    }

    /// Applies every notice waiting (never blocks); returns how many updates were applied.
    pub fn poll(&mut self, p: &mut Pipeline) -> usize {
        use crate::catalog::CatalogNotice;
        while let Ok(notice) = self.notices.try_recv() {
            match notice {
                CatalogNotice::Updated(u) => self.pending.push_back(u),
                CatalogNotice::RefreshFailed { .. } => self.failures += 1,
                CatalogNotice::Acked { .. } | CatalogNotice::AckFailed { .. } => {}
            }
        }
        let mut n = 0;
        while let Some(u) = self.pending.front() {
            let a = p.apply_catalog(u);
            if a.deferred {
                self.totals.deferred = true;
                break;
            }
            self.last = self.pending.pop_front();
            let t = &mut self.totals;
            t.halted_groups += a.halted_groups;
            t.resumed_groups += a.resumed_groups;
            t.defined_groups += a.defined_groups;
            t.added_assets += a.added_assets;
            t.subscribed += a.subscribed;
            t.unsubscribed += a.unsubscribed;
            t.refused_assets += a.refused_assets;
            self.refreshes += 1;
            n += 1;
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
            "catalog: {} refreshes ({} failed) · groups defined {} halted {} resumed {} · assets added {} subscribed {} unsubscribed {} (over max_assets {})",
            self.refreshes,
            self.failures,
            t.defined_groups,
            t.halted_groups,
            t.resumed_groups,
            t.added_assets,
            t.subscribed,
            t.unsubscribed,
            t.refused_assets
        )
    }

    pub fn shutdown(self) {
        self.handle.shutdown();
    }
}
