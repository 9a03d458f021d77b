//! Observability: latency histograms and their reports.

pub mod hdr;
pub mod replay;

pub use hdr::{LatencyHistogram, LatencySummary};
