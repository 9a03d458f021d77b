//! Observability: clocks, counters, latency histograms and their reports, build info, the
//! state replica the hot path publishes to, the status and metrics endpoint that serves it,
//! and the process's logs (terminal text and JSON files).

pub mod build_info;
pub mod clock;
pub mod config;
pub mod counter;
pub mod hdr;
pub mod http;
pub mod logs;
pub mod prom;
pub mod replica;
pub mod status;

pub use config::ObsConfig;
pub use counter::Counter;
pub use hdr::{LatencyHistogram, LatencySummary, LiveLatency};
