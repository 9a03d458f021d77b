//! The catalog against the venue's Gamma and CLOB listings over loopback: real samples, paging
//! and faults, refreshes, live listing and closing while the engine runs, and rule-change halts.

mod catalog_common;
#[path = "../../../tests/polymarket_fixtures/mod.rs"]
mod polymarket_fixtures;
#[path = "../../../tests/workspace_bins/mod.rs"]
mod workspace_bins;

mod fixtures;
mod gamma;
mod halt;
mod live;
mod live_orders;
mod refresh;
