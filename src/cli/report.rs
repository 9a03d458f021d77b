//! End-of-run reports: percentile tables of every stage's histograms, saved as `.hgrm` files.

use std::path::Path;

use polyarb::obs::{LatencyHistogram, LatencySummary};
use polyarb::pipeline::engine::PipelineStats;

/// Prints a percentile table of every non-empty histogram and saves each as `.hgrm`.
pub fn latency_table(
    histograms: &[LatencyHistogram],
    hgrm_dir: Option<&Path>,
) -> anyhow::Result<()> {
    println!("{}", LatencySummary::header());
    for h in histograms.iter().filter(|h| !h.is_empty()) {
        println!("{}", h.summary().row(h.name()));
    }
    if let Some(dir) = hgrm_dir {
        std::fs::create_dir_all(dir)?;
        for h in histograms.iter().filter(|h| !h.is_empty()) {
            let file = dir.join(format!("{}.hgrm", slug(h.name())));
            h.save_hgrm(&file)?;
        }
        println!("histograms saved as .hgrm in {}", dir.display());
    }
    Ok(())
}

/// A file-name form of a histogram's name.
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_matches('_').to_string()
}

pub fn us(ns: u64) -> String {
    format!("{:.1} µs", ns as f64 / 1000.0)
}

/// The market-data health line of an exit summary (demo, feed): what was refused or healed.
pub fn health_line(s: &PipelineStats) -> String {
    format!(
        "invalid {} · mismatch {} · crossed {} · resyncs {} · reconnects {} · frames dropped {}",
        s.parse.invalid.get(),
        s.book.mismatch.get(),
        s.book.crossed.get(),
        s.book.resyncs_completed.get(),
        s.feed.reconnects.get(),
        s.feed.frames_dropped.get() + s.parse.lost_messages.get()
    )
}
