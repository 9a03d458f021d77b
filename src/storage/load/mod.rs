//! Synthetic load on the store and what it measures, behind `polyarb db bench` and
//! `db crash-writer` (shared with `benches/storage.rs` and the storage tests): the event flood
//! (`flood`) and the insert, writer, compaction and rebuild measurements (`measure`).

pub mod flood;
pub mod measure;

pub use flood::EventFlood;
