//! The built `polyarb` binary as a user runs it, and the repository's front door: commands from
//! any directory, `order sign`/`headers`, `synth`/`replay`, the shipped configs, and the docs.

mod anywhere;
mod config_files;
mod docs;
mod order;
mod replay;
