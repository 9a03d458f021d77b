//! The built `polyarb` binary as a user runs it, and the repository's front door: commands from
//! any directory, `order sign`/`headers`, `synth`/`replay`, the shipped configs, and the docs.

#[path = "../polymarket_fixtures/mod.rs"]
mod polymarket_fixtures;
#[path = "../workspace_bins/mod.rs"]
mod workspace_bins;

mod anywhere;
mod config_files;
mod docs;
mod order;
mod replay;
