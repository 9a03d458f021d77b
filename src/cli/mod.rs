//! Command-line interface: the subcommands and their dispatch.

mod catalog;
mod chain;
mod config;
mod dashboard;
mod db;
mod demo;
mod feed;
mod flood;
mod markets;
mod order;
mod paper;
mod replay;
mod report;
mod synth;
mod trade;
mod venue;

use clap::{Parser, Subcommand};

/// `--version` plus the code-generation flags that the speed figures depend on.
const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    "\nrustflags: ",
    env!("POLYARB_RUSTFLAGS")
);

/// polyarb: exact L2 books and arbitrage on Polymarket.
#[derive(Parser, Debug)]
#[command(
    name = "polyarb",
    version,
    long_version = LONG_VERSION,
    about,
    propagate_version = true
)]
pub struct Cli {
    /// Log more (repeat for more detail); logs go to stderr.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// The markets catalog (Gamma): refresh, list, show, ack.
    Catalog(catalog::CatalogArgs),
    /// The built-in configs: list them, show one (or a file) as the commands read it.
    #[command(subcommand)]
    Config(config::ConfigCommand),
    /// The main job: local venue + whole pipeline + live view (Dutch books, latencies).
    Demo(demo::DemoArgs),
    /// The engine against an external venue: catalog markets, live books, health, latency.
    Feed(feed::FeedArgs),
    /// Load test: the venue floods level changes into the whole pipeline; rates and latency.
    Flood(flood::FloodArgs),
    /// Orders: sign and make auth headers offline; place, cancel and list against a CLOB.
    #[command(subcommand)]
    Order(order::OrderCommand),
    /// Replay a file of raw market-channel frames through the parser and the books.
    Replay(replay::ReplayArgs),
    /// Write synthetic market data (frames files) from the seeded market model.
    Synth(synth::SynthArgs),
    /// Run the local Polymarket double (/ws/market, REST books, admin, faults) on loopback.
    Venue(venue::VenueArgs),
    /// The recorder's database: import, rebuild a book at a moment, stats, prune, bench.
    Db(db::DbArgs),
    /// The account on chain: balances, approvals, open transactions after a restart.
    #[command(subcommand)]
    Chain(chain::ChainCommand),
    /// Settlement on chain: split, merge, redeem, neg-risk convert.
    #[command(subcommand)]
    Ctf(chain::CtfCommand),
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Catalog(a) => catalog::run(a),
        Command::Config(c) => config::run(c),
        Command::Demo(a) => demo::run(a),
        Command::Flood(a) => flood::run(a),
        Command::Feed(a) => feed::run(a),
        Command::Order(c) => order::run(c),
        Command::Replay(a) => replay::run(a),
        Command::Synth(a) => synth::run(a),
        Command::Venue(a) => venue::run(a),
        Command::Db(a) => db::run(a),
        Command::Chain(c) => chain::run_chain(c),
        Command::Ctf(c) => chain::run_ctf(c),
    }
}

/// Logs to stderr so that stdout stays machine-readable.
pub fn init_tracing(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_new(format!("polyarb={level},{level}"))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    // Colour codes only for a terminal: piped or redirected logs stay plain text.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}
