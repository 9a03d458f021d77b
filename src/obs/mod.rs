//! Observability: clocks, counters, latency histograms and their reports, build info.

pub mod build_info;
pub mod clock;
pub mod counter;
pub mod hdr;

pub use counter::Counter;
pub use hdr::{LatencyHistogram, LatencySummary, LiveLatency};
