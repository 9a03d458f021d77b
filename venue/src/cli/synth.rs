//! `polyarb synth frames`: write a synthetic, reproducible frames file.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};

use crate::ModelConfig;
use crate::synth::{FrameOptions, START_MS, write_frames_with};

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
    /// Fault: inject a binary Dutch book (YES ask + NO ask < 1, which production never shows)
    /// about this often, in model ms (2 ms per step); 0 = never.
    #[arg(long, default_value_t = 0)]
    pub dutch_every_ms: u64,
    /// Misprice a neg-risk event (either direction) about this often, in model ms; 0 = never.
    #[arg(long, default_value_t = 0)]
    pub mispricing_every_ms: u64,
    /// Fault: steps per thousand with a tick-size change whose fresh books come only 40 model
    /// ms later; 0 = never.
    #[arg(long, default_value_t = 0)]
    pub late_tick_book_per_mille: u32,
    /// Fault: frames per thousand after the dump that carry two events in one JSON array;
    /// 0 = never.
    #[arg(long, default_value_t = 0)]
    pub batched_per_mille: u32,
    /// Model time of the first frame (UNIX ms).
    #[arg(long, default_value_t = START_MS)]
    pub start_ms: u64,
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
    anyhow::ensure!(
        f.late_tick_book_per_mille <= 1000 && f.batched_per_mille <= 1000,
        "a per-mille rate is at most 1000"
    );
    let opts = FrameOptions {
        start_ms: f.start_ms,
        batched_per_mille: f.batched_per_mille,
    };
    let cfg = ModelConfig {
        depth: f.depth,
        binary_dutch_fault_every_ms: f.dutch_every_ms,
        mispricing_every_ms: f.mispricing_every_ms,
        late_tick_book_fault_per_mille: f.late_tick_book_per_mille,
        ..ModelConfig::for_assets(f.assets, f.seed)
    };
    let summary = match &f.out {
        Some(path) => {
            let file =
                File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
            let mut w = BufWriter::with_capacity(1 << 20, file);
            let (_, s) = write_frames_with(cfg, opts, f.events, &mut w)
                .with_context(|| format!("writing {}", path.display()))?;
            w.flush()
                .with_context(|| format!("writing {}", path.display()))?;
            s
        }
        None => {
            let stdout = std::io::stdout();
            let mut w = BufWriter::with_capacity(1 << 20, stdout.lock());
            let (_, s) = write_frames_with(cfg, opts, f.events, &mut w)
                .context("writing frames to stdout")?;
            w.flush().context("writing frames to stdout")?;
            s
        }
    };
    eprintln!("{}", serde_json::to_string(&summary)?);
    Ok(())
}
