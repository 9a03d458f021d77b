//! The hot path's plumbing: bounded SPSC rings with counted backpressure, wait strategies,
//! and pooled frame buffers.

pub mod engine;
pub mod frame;
pub mod ring;
pub mod stage;
pub mod topology;
pub mod wait;
