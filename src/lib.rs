//! polyarb: a low-latency arbitrage engine for Polymarket.
//!
//! Exact integer money (`core`), the venue's wire formats (`adapters::polymarket`), L2 books
//! (`book`), the pipeline, execution, storage and the tools that measure them, and the
//! `polyarb` command line (`cli`). The venue double it is tested against is the workspace
//! member `polyarb-venue` (`venue/`), which depends on this crate and never the reverse. The
//! overview is `docs/architecture.md`.

#![forbid(unsafe_code)]
#![deny(rustdoc::broken_intra_doc_links)]

// The command line (`cli`) names the engine `polyarb::`, as every crate built on it does.
extern crate self as polyarb;

pub mod adapters;
pub mod book;
pub mod book_stage;
pub mod catalog;
pub mod chain;
pub mod cli;
pub mod config;
pub mod core;
pub mod engine;
pub mod exec;
pub mod obs;
pub mod pipeline;
pub mod quoting;
pub mod recording;
pub mod replay;
pub mod risk;
pub mod settlement;
pub mod storage;
pub mod strategy;
