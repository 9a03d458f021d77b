//! The `polyarb-venue` command line: the commands that run the venue double in-process, alone
//! (`venue`, `synth`) or with the engine against it over loopback (`demo`, `flood`), the `db`
//! commands that load a store with synthetic events (`db bench`, `db crash-writer`), and
//! `config show` for configs with a venue in them. `polyarb` hands these commands here, so
//! `polyarb demo` and `polyarb-venue demo` are the same command.

mod config;
mod db;
mod demo;
mod flood;
mod paper;
mod synth;
mod venue;
mod venue_markets;

use clap::{Parser, Subcommand};

/// polyarb-venue: the Polymarket double, and the engine run against it in-process.
#[derive(Parser, Debug)]
#[command(name = "polyarb-venue", version, about, propagate_version = true)]
pub struct Cli {
    /// Log more (repeat for more detail); logs go to stderr.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// The built-in configs: list them, show one (or a file) as the commands read it.
    #[command(subcommand)]
    Config(polyarb::cli::config::ConfigCommand),
    /// The recorder's database under synthetic load: bench (`polyarb db` runs the others).
    Db(db::DbArgs),
    /// The main job: local venue + whole pipeline + live view (Dutch books, latencies).
    Demo(demo::DemoArgs),
    /// Load test: the venue floods level changes into the whole pipeline; rates and latency.
    Flood(flood::FloodArgs),
    /// Write synthetic market data (frames files) from the seeded market model.
    Synth(synth::SynthArgs),
    /// Run the local Polymarket double (/ws/market, REST books, admin, faults) on loopback.
    Venue(venue::VenueArgs),
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Config(c) => config::run(c),
        Command::Db(a) => db::run(a),
        Command::Demo(a) => demo::run(a),
        Command::Flood(a) => flood::run(a),
        Command::Synth(a) => synth::run(a),
        Command::Venue(a) => venue::run(a),
    }
}
