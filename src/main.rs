//! `polyarb`: the command line over the engine's modules (`polyarb::cli`, one file per command
//! group in `src/cli/`). Errors are reported here, with their context chain, and exit non-zero.

#![forbid(unsafe_code)]
#![deny(rustdoc::broken_intra_doc_links)]

use clap::Parser;
use polyarb::cli;

fn main() {
    let args = cli::Cli::parse();
    cli::init_tracing(args.verbose);
    if let Err(e) = cli::run(args) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
