//! The built binaries against the venue as a user runs them: `demo`, `feed`, the commands
//! `polyarb` hands to `polyarb-venue`, `order place|cancel|list`, and operating a running
//! engine (`/metrics`, `/status`, `polyarb status`, JSON logs), and restarts after a SIGKILL.

mod crash;
mod demo;
mod feed;
mod hosted;
mod ops;
mod recording;
mod trade;
