//! The markets catalog: which markets exist (Gamma), which of them polyarb watches and trades,
//! and when a market's rules change under it.
//!
//! - `normalize`: Gamma wire objects → `model` (`Event` → `Market` → `Outcome`), every
//!   trade-relevant field validated; bad markets skipped with a counted reason.
//! - `diff`: new / changed (which fields) / closed / gone between two snapshots.
//! - `rules`: rule hashes and rule changes (a change halts the market and its neg-risk group
//!   until acknowledged).
//! - `filter` and `config`: `[catalog]` and `[catalog.filters]` from TOML.
//! - `select`: the `AssetRegistry` and the strategy's `OutcomeGroup`s.
//! - `store`, `sqlite_store`: `CatalogStore`, the persistence seam, with change detection;
//!   `SqliteCatalogStore` (the storage layer's tables) and `MemoryStore` (tests).
//! - `source`, `state`, `scheduler`: refreshing, once (`CatalogState::refresh`) or on a cold
//!   thread (`scheduler::spawn`) that reports `CatalogUpdate`s through a channel.
//!
//! How the engine uses it: `engine::catalog_link::CatalogRunner` refreshes once (the pipeline
//! starts on `update.selection.registry` and `.groups`), commits, spawns the scheduler and
//! applies every `CatalogNotice::Updated` with `Pipeline::apply_catalog`: new and changed groups
//! defined, others halted/resumed through the strategy's command ring, the registry of a running
//! pipeline extended by message with the assets of markets listed since (the `Selector`'s
//! indices only grow), then the feed subscribed and unsubscribed.

pub mod config;
pub mod diff;
pub mod filter;
pub mod model;
pub mod normalize;
pub mod rules;
pub mod scheduler;
pub mod select;
pub mod source;
pub mod sqlite_store;
pub mod state;
pub mod store;
#[cfg(test)]
mod testing;
pub mod time;

pub use config::{CatalogConfig, ListingSource};
pub use diff::{CatalogDiff, MarketField, diff};
pub use filter::{CatalogFilters, NegRiskFilter, Rejection};
pub use model::{Catalog, Event, Market, MarketStatus, NegRisk, Outcome};
pub use normalize::{NormalizeReport, SkipReason};
pub use rules::{RuleChange, RuleHash};
pub use scheduler::{CatalogNotice, SchedulerConfig, SchedulerHandle};
pub use select::{GroupKey, GroupSkip, Selection, Selector};
pub use source::{CatalogSource, Fetched, GammaSource};
pub use sqlite_store::SqliteCatalogStore;
pub use state::{CatalogState, CatalogUpdate, RefreshReport};
pub use store::{CatalogStore, ChangeLogEntry, Detected, MemoryStore, StoreError, UpsertReport};
