//! polyarb: a low-latency arbitrage engine for Polymarket.
//!
//! Exact integer money (`core`), the venue's wire formats (`adapters::polymarket`), L2 books
//! (`book`) and the tools that measure them. The overview is `docs/architecture.md`.

#![forbid(unsafe_code)]
#![deny(rustdoc::broken_intra_doc_links)]

pub mod adapters;
pub mod book;
pub mod book_stage;
pub mod catalog;
pub mod config;
pub mod core;
pub mod engine;
pub mod exec;
pub mod obs;
pub mod pipeline;
pub mod replay;
pub mod storage;
pub mod strategy;
pub mod venue;
