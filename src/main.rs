//! `polyarb`: the command line over the engine's modules (`polyarb::cli`, one file per command
//! group in `src/cli/`). Errors are reported here, with their context chain, and exit non-zero.

#![forbid(unsafe_code)]
#![deny(rustdoc::broken_intra_doc_links)]

use clap::Parser;
use polyarb::cli;

fn main() {
    let args = cli::Cli::parse();
    cli::init_tracing(args.verbose);
    let result = cli::run(args);
    // Every JSON log line reaches its file before the process exits.
    polyarb::obs::logs::finish();
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
