//! End-of-run reports: percentile tables of every stage's histograms, saved as `.hgrm` files.

use std::path::Path;

use polyarb::engine::PipelineStats;
use polyarb::obs::{LatencyHistogram, LatencySummary};
use polyarb::storage::MetricsSnapshot;

/// The banner lines of a running engine's operating surface: where `/metrics` and `/status`
/// are served, and where JSON logs go.
pub fn ops_banner(p: &polyarb::engine::Pipeline) {
    if let Some(addr) = p.obs_addr() {
        println!(
            "obs      http://{addr} (/metrics, /status; `polyarb status --url http://{addr}`)"
        );
    }
    if let Some(dir) = polyarb::obs::logs::log_dir() {
        println!("logs     {} (JSON lines)", dir.display());
    }
}

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

/// The market-data health line of an exit summary (demo, feed): what was refused or healed,
/// and the audits of quiet books (re-read in batches, compared, marked only when different).
pub fn health_line(s: &PipelineStats) -> String {
    format!(
        "invalid {} · mismatch {} · crossed {} · resyncs {} · reconnects {} · frames dropped {}\n\
         audits {} in {} batches · differed {} · marked {} · REST calls {}",
        s.parse.invalid.get(),
        s.book.mismatch.get(),
        s.book.crossed.get(),
        s.book.resyncs_completed.get(),
        s.feed.reconnects.get(),
        s.feed.frames_dropped.get() + s.parse.lost_messages.get(),
        s.book.audits.get(),
        s.resync.audit_calls.get(),
        s.book.audit_differences.get(),
        s.book.audit_mismatches.get(),
        s.resync.calls.get()
    )
}

/// The recorder's two lines of an exit summary (flood, demo, feed): rows committed and refused
/// (`refused_upstream`: events the hot path could not hand over), then what it cost: the
/// writer's on-CPU time, its compactions and checkpoints, and the bytes written to the
/// database's files (where the platform counts a thread's writes).
pub fn storage_lines(m: &MetricsSnapshot, window_s: f64, refused_upstream: u64) -> String {
    let rows = m.rows_written.max(1) as f64;
    let written = m.writer_write_bytes + m.checkpoint_write_bytes;
    let bytes = if written == 0 {
        String::new()
    } else {
        format!(
            "; wrote {:.1} MB ({:.0} B/row): {:.1} MB WAL, {:.1} MB checkpoints",
            written as f64 / 1e6,
            written as f64 / rows,
            m.writer_write_bytes as f64 / 1e6,
            m.checkpoint_write_bytes as f64 / 1e6
        )
    };
    format!(
        "storage   {} rows in {} batches ({:.0} rows/s over the window), {} dropped, max batch {}, max queue {}\n          \
         writer on-CPU {:.2} s ({:.2} µs/row), of which compaction {:.2} s in {} runs (longest {}; bursts that held it back: {}); {} WAL checkpoints off-thread (longest {}){bytes}",
        m.rows_written,
        m.batches_committed,
        m.rows_written as f64 / window_s.max(1e-9),
        refused_upstream + m.dropped_channel_full + m.dropped_pending_full,
        us(m.max_batch_ns),
        m.queue_depth_max,
        m.writer_cpu_ns as f64 / 1e9,
        m.writer_cpu_ns as f64 / 1e3 / rows,
        m.compaction_cpu_ns as f64 / 1e9,
        m.compactions,
        us(m.max_compaction_ns),
        m.compaction_deferrals,
        m.checkpoints,
        us(m.max_checkpoint_ns)
    )
}

/// Prints the recorder's lines of a demo or feed summary; a writer that failed at shutdown is
/// printed too and returned, so the run can exit with it after its report.
pub fn storage_summary(
    storage: &Option<Result<MetricsSnapshot, polyarb::storage::StorageError>>,
    window_s: f64,
    refused_upstream: u64,
) -> Option<String> {
    match storage {
        Some(Ok(m)) => {
            println!("{}", storage_lines(m, window_s, refused_upstream));
            None
        }
        Some(Err(e)) => {
            println!("storage   FAILED at shutdown: {e}");
            Some(e.to_string())
        }
        None => None,
    }
}
