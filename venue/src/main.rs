//! `polyarb-venue`: the command line of the venue double and of the engine run against it
//! in-process (`venue/src/cli/`). Errors are reported here, with their context chain, and
//! exit non-zero.

#![forbid(unsafe_code)]
#![deny(rustdoc::broken_intra_doc_links)]

use clap::Parser;

fn main() {
    let args = polyarb_venue::cli::Cli::parse();
    polyarb::cli::init_tracing(args.verbose);
    let result = polyarb_venue::cli::run(args);
    // Every JSON log line reaches its file before the process exits.
    polyarb::obs::logs::finish();
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
