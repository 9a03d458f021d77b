//! Synthetic load on the store and what it measures, behind `polyarb db bench` and
//! `db crash-writer` (shared with `benches/storage.rs` and the storage tests): the event flood
//! (`flood`), insert, writer, compaction and rebuild measurements (`measure`), and the scratch
//! directory they run in (`scratch`).

pub mod flood;
pub mod measure;
pub mod scratch;

pub use flood::EventFlood;
pub use scratch::TempDir;
