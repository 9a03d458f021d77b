//! Recordings: every market-channel frame as received and the engine's decisions on the same
//! timeline, written by a cold thread to rotating zstd files, read back for `polyarb replay
//! --recording` (which re-runs the books and the strategy and audits the decisions) and for
//! the venue double's `replay` source.
//!
//! - [`mod@format`]: the versioned file format (documented there and in `docs/replay.md`).
//! - [`writer`]: the hot path's [`Tap`] (a bounded ring of pooled buffers: no allocation, a
//!   full ring is counted, never waited on) and the cold thread that compresses and rotates.
//! - [`reader`]: a session's files in order, with errors that name the file and the offset.
//! - [`audit`]: the replay of a recording and the diff of its decisions.

pub mod audit;
pub mod config;
pub mod format;
pub mod reader;
pub mod writer;

pub use config::RecordingConfig;
pub use format::{Header, RecordKind};
pub use reader::{Record, RecordingError, RecordingReader};
pub use writer::{Recorder, RecordingStats, RecordingSummary, Tap};

#[cfg(test)]
mod tests;
