//! The hot path's plumbing: bounded SPSC rings with counted backpressure, wait strategies,
//! and pooled frame buffers; `engine` builds and runs it, `catalog_link` applies catalog
//! updates to a running pipeline.

pub mod catalog_link;
pub mod engine;
pub mod frame;
pub mod ring;
pub mod stage;
pub mod topology;
pub mod wait;
