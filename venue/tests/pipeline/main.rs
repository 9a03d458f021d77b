//! The engine's pipeline against the venue over loopback, and its store: books equal the
//! venue's, feed resilience, storage on the cold thread, and books rebuilt from database files.

mod storage_synth;

mod feed_resilience;
mod pipeline;
mod pipeline_storage;
mod storage;
