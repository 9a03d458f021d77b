//! The `polyarb` command line: the subcommands and their dispatch, and the reporting pieces
//! (`report`, `dashboard`, `markets`, `paper`, `trade`) that `polyarb-venue`'s commands share.
//!
//! The commands that run the venue double in-process (`demo`, `flood`, `synth`, `venue`) and
//! those that load a store with synthetic events (`db bench`, `db crash-writer`) live in the
//! `polyarb-venue` binary, which links engine, double and load generator; `polyarb` hands them
//! to it (`hosted`), so both binaries answer to the same command names.

mod catalog;
mod chain;
pub mod config;
pub mod dashboard;
mod db;
mod feed;
pub mod hosted;
pub mod markets;
mod order;
pub mod paper;
mod replay;
pub mod report;
mod risk;
pub mod spread;
mod status;
pub mod trade;

use std::ffi::OsString;

use clap::{Args, Parser, Subcommand};

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
    #[command(disable_help_flag = true)]
    Demo(Hosted),
    /// The engine against an external venue: catalog markets, live books, health, latency.
    Feed(feed::FeedArgs),
    /// Load test: the venue floods level changes into the whole pipeline; rates and latency.
    #[command(disable_help_flag = true)]
    Flood(Hosted),
    /// Orders: sign and make auth headers offline; place, cancel and list against a CLOB.
    #[command(subcommand)]
    Order(order::OrderCommand),
    /// Replay a file of raw market-channel frames through the parser and the books.
    Replay(replay::ReplayArgs),
    /// Write synthetic market data (frames files) from the seeded market model.
    #[command(disable_help_flag = true)]
    Synth(Hosted),
    /// Run the local Polymarket double (/ws/market, REST books, admin, faults) on loopback.
    #[command(disable_help_flag = true)]
    Venue(Hosted),
    /// The recorder's database: import, rebuild a book at a moment, stats, prune, bench.
    Db(db::DbArgs),
    /// The account on chain: balances, approvals, open transactions after a restart.
    #[command(subcommand)]
    Chain(chain::ChainCommand),
    /// Settlement on chain: split, merge, redeem, neg-risk convert.
    #[command(subcommand)]
    Ctf(chain::CtfCommand),
    /// A running engine's risk controls: kill switch, reset of the circuit breakers.
    #[command(subcommand)]
    Risk(risk::RiskCommand),
    /// A running engine's health, books, strategies, latency and rings (from its /status).
    Status(status::StatusArgs),
}

/// The arguments of a command that `polyarb-venue` runs: taken as they are (`--help`
/// included), since `polyarb` hands the whole command line over unchanged.
#[derive(Args, Debug)]
pub struct Hosted {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
    pub args: Vec<OsString>,
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Catalog(a) => catalog::run(a),
        Command::Config(c) => config::run(c),
        Command::Demo(_) | Command::Flood(_) | Command::Synth(_) | Command::Venue(_) => {
            hosted::run_hosted()
        }
        Command::Feed(a) => feed::run(a),
        Command::Order(c) => order::run(c),
        Command::Replay(a) => replay::run(a),
        Command::Db(a) => db::run(a),
        Command::Chain(c) => chain::run_chain(c),
        Command::Ctf(c) => chain::run_ctf(c),
        Command::Risk(c) => risk::run(c),
        Command::Status(a) => status::run(a),
    }
}

/// Logs to stderr so that stdout stays machine-readable; an engine whose config names
/// `[obs] log_dir` also writes JSON lines there (`obs::logs`).
pub fn init_tracing(verbose: u8) {
    crate::obs::logs::init(verbose);
}
