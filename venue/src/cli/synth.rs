//! `polyarb synth frames`: write a synthetic, reproducible frames file.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};

use crate::ModelConfig;
use crate::synth::write_frames;

#[derive(Args, Debug)]
pub struct SynthArgs {
    #[command(subcommand)]
    pub command: SynthCommand,
}

#[derive(Subcommand, Debug)]
pub enum SynthCommand {
    /// Write a frames file (one raw market-channel frame per line): the initial book dump, then
    /// price_change bursts, trades, fresh books and tick size changes from the seeded model.
    Frames(FramesArgs),
}

#[derive(Args, Debug)]
pub struct FramesArgs {
    /// Number of assets (two per binary market; a fifth of the markets in neg-risk groups of 4).
    #[arg(long, default_value_t = 1000)]
    pub assets: u32,
    /// Model steps after the initial dump (each gives one or more frames).
    #[arg(long, default_value_t = 100_000)]
    pub events: u64,
    /// Same seed, same file.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Levels per side when a book is built.
    #[arg(long, default_value_t = 8)]
    pub depth: u32,
    /// Inject a Dutch book about this often, in model ms (2 ms per step); 0 = never.
    #[arg(long, default_value_t = 0)]
    pub dutch_every_ms: u64,
    /// Output file (default: standard output).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn run(a: SynthArgs) -> anyhow::Result<()> {
    let SynthCommand::Frames(f) = a.command;
    anyhow::ensure!(
        f.assets >= 2,
        "--assets must be at least 2 (one binary market)"
    );
    anyhow::ensure!(f.depth >= 1, "--depth must be at least 1");
    let cfg = ModelConfig {
        depth: f.depth,
        dutch_book_every_ms: f.dutch_every_ms,
        ..ModelConfig::for_assets(f.assets, f.seed)
    };
    let summary = match &f.out {
        Some(path) => {
            let file =
                File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
            let mut w = BufWriter::with_capacity(1 << 20, file);
            let (_, s) = write_frames(cfg, f.events, &mut w)
                .with_context(|| format!("writing {}", path.display()))?;
            w.flush()
                .with_context(|| format!("writing {}", path.display()))?;
            s
        }
        None => {
            let stdout = std::io::stdout();
            let mut w = BufWriter::with_capacity(1 << 20, stdout.lock());
            let (_, s) = write_frames(cfg, f.events, &mut w).context("writing frames to stdout")?;
            w.flush().context("writing frames to stdout")?;
            s
        }
    };
    eprintln!("{}", serde_json::to_string(&summary)?);
    Ok(())
}
