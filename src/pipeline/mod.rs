//! The hot path's plumbing, below every stage: bounded SPSC rings with counted backpressure,
//! wait strategies and doorbells, the stage trait, the thread topology and the loop of a stage
//! thread. It knows no stage; `engine` composes the stages on it.

pub mod ring;
pub mod stage;
pub mod threads;
pub mod topology;
pub mod wait;
