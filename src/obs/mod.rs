//! Observability: latency histograms and their reports.

pub mod clock;
pub mod hdr;
pub mod replay;

pub use hdr::{LatencyHistogram, LatencySummary};
