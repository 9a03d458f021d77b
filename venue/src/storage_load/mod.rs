//! Synthetic load on the engine's store and what it measures: the seeded event flood
//! (`flood`) and the insert, writer, compaction and rebuild measurements (`measure`). They run
//! `polyarb db bench` and `db crash-writer` (`cli::db`), `venue/benches/storage.rs` and the storage
//! tests; the engine itself never generates load, so none of this is in its library.

pub mod flood;
pub mod measure;

pub use flood::EventFlood;
