//! The hot path's plumbing: bounded SPSC rings with counted backpressure, wait strategies,
//! and pooled frame buffers.

pub mod frame;
pub mod market_data;
pub mod ring;
pub mod wait;
