//! The catalog against the venue's Gamma and CLOB listings over loopback: real samples, paging
//! and faults, refreshes, live listing and closing while the engine runs, and rule-change halts.

mod fixtures;
mod gamma;
mod halt;
mod live;
mod live_orders;
mod refresh;
