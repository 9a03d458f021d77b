//! The built binaries against the venue as a user runs them: `demo`, `feed`, the commands
//! `polyarb` hands to `polyarb-venue`, and `order place|cancel|list`.

mod demo;
mod feed;
mod hosted;
mod trade;
