//! `polyarb db …`: the recorder's database from the command line: import a frames file, rebuild
//! a book at a moment, stats, retention. The commands that load a store with synthetic events
//! (`bench`, the crash-test writer) run in `polyarb-venue` (`hosted`), beside the load generator.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};

use super::Hosted;

use polyarb::config::source::ConfigSource;
use polyarb::core::TokenId;
use polyarb::replay::FrameReader;
use polyarb::storage::ingest::FrameIngestor;
use polyarb::storage::time::{NS_PER_MS, format_ns, parse_time_ns, unix_now_ns};
use polyarb::storage::{EventStore, Pruner, SqliteStore, StorageConfig, WriterHandle, rebuild_at};

#[derive(Args, Debug)]
pub struct DbArgs {
    #[command(subcommand)]
    pub command: DbCommand,
}

/// Where the database is and how it is configured.
#[derive(Args, Debug, Clone)]
pub struct DbLocation {
    /// The SQLite database file.
    #[arg(long)]
    pub db: PathBuf,
    /// A config with a `[storage]` section (retention windows, export dir, cadences): a
    /// built-in name (`demo`) or a TOML file; `--db` overrides its `path`.
    #[arg(long)]
    pub config: Option<String>,
}

impl DbLocation {
    fn storage_config(&self) -> anyhow::Result<StorageConfig> {
        let cfg = match &self.config {
            Some(f) => StorageConfig::from_source(&ConfigSource::named(f)?)?,
            None => StorageConfig::default(),
        };
        Ok(cfg.with_path(&self.db))
    }

    fn open(&self) -> anyhow::Result<SqliteStore> {
        let cfg = self.storage_config()?;
        SqliteStore::open(&cfg).with_context(|| format!("opening {}", self.db.display()))
    }
}

#[derive(Subcommand, Debug)]
pub enum DbCommand {
    /// Record a frames file into the database through the real writer (receive times are the
    /// venue timestamps, kept increasing).
    Import {
        #[command(flatten)]
        loc: DbLocation,
        /// Frames file: one market-channel frame per line (`.zst` decompressed, `-` = stdin).
        #[arg(long)]
        frames: PathBuf,
    },
    /// Print an asset's book as the engine had it at a moment, rebuilt from the nearest
    /// snapshot and the events after it (one `replay --dump-books` entry).
    Book {
        #[command(flatten)]
        loc: DbLocation,
        /// The token id.
        #[arg(long)]
        asset: String,
        /// UNIX ms, `now`, or UTC like 2026-11-25T12:00:00.250Z (local receive time).
        #[arg(long, default_value = "now")]
        at: String,
    },
    /// Row counts, size on disk, oldest/newest event, per-market event rates.
    Stats {
        #[command(flatten)]
        loc: DbLocation,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
        /// Markets listed (busiest first).
        #[arg(long, default_value_t = 10)]
        top: usize,
    },
    /// Export raw events older than the retention window to zstd frames files, then delete them;
    /// delete old snapshots.
    Prune {
        #[command(flatten)]
        loc: DbLocation,
        /// Measure the retention windows back from this time instead of the clock.
        #[arg(long)]
        now: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Upgrade the schema to this build's version.
    Migrate {
        #[command(flatten)]
        loc: DbLocation,
    },
    /// Insert rate of batched `orderbook_events` rows, writer throughput, and book rebuild time.
    #[command(disable_help_flag = true)]
    Bench(Hosted),
    /// Test helper: floods events into the store and prints each committed batch.
    #[command(hide = true, disable_help_flag = true)]
    CrashWriter(Hosted),
}

pub fn run(a: DbArgs) -> anyhow::Result<()> {
    match a.command {
        DbCommand::Import { loc, frames } => import(&loc, &frames),
        DbCommand::Book { loc, asset, at } => book(&loc, &asset, &at),
        DbCommand::Stats { loc, json, top } => stats(&loc, json, top),
        DbCommand::Prune { loc, now, json } => prune(&loc, now.as_deref(), json),
        DbCommand::Migrate { loc } => {
            let s = loc.open()?;
            println!(
                "{}: schema version {}",
                loc.db.display(),
                polyarb::storage::migrations::current_version(s.connection())?
            );
            Ok(())
        }
        DbCommand::Bench(_) | DbCommand::CrashWriter(_) => super::hosted::run_hosted(),
    }
}

fn import(loc: &DbLocation, frames: &Path) -> anyhow::Result<()> {
    let mut cfg = loc.storage_config()?;
    // A recording is history: retention must not run on it while it is being imported.
    cfg.retention.prune_interval_s = 0;
    let (writer, tx) =
        WriterHandle::spawn(&cfg).with_context(|| format!("opening {}", loc.db.display()))?;
    let mut reader = FrameReader::open(frames)
        .with_context(|| format!("cannot open frames file {}", frames.display()))?;
    let mut ing = FrameIngestor::new();
    let mut last_ns = 0u64;
    let mut first_ns = None;
    let mut n_frames = 0u64;
    let mut failed: Option<anyhow::Error> = None;
    while let Some(f) = reader
        .next_frame()
        .with_context(|| format!("reading {}", frames.display()))?
    {
        n_frames += 1;
        let venue_ns = FrameIngestor::frame_venue_ms(f).map_or(0, |ms| ms * NS_PER_MS);
        last_ns = venue_ns.max(last_ns + 1);
        first_ns.get_or_insert(last_ns);
        ing.frame(f, last_ns, &mut |ev| {
            if failed.is_none()
                && let Err(e) = tx.send_blocking(ev)
            {
                failed = Some(e.into());
            }
        });
        if let Some(e) = failed.take() {
            return Err(e);
        }
    }
    drop(tx);
    let m = writer.shutdown()?;
    let c = ing.parser().counters;
    println!(
        "imported {}: {} frames, {} events ({} invalid, {} ignored), {} assets",
        frames.display(),
        n_frames,
        c.events,
        c.invalid,
        c.ignored,
        ing.registry().len()
    );
    println!(
        "stored {} rows in {} batches ({} snapshots, {} rows refused); receive times {} .. {}",
        m.rows_written,
        m.batches_committed,
        m.snapshots_written,
        m.rejected_duplicate + m.rejected_invalid + m.rejected_oversized + m.rejected_unregistered,
        first_ns.map_or_else(|| "-".into(), format_ns),
        first_ns.map_or_else(|| "-".into(), |_| format_ns(last_ns))
    );
    Ok(())
}

fn book(loc: &DbLocation, asset: &str, at: &str) -> anyhow::Result<()> {
    let token = TokenId::parse(asset).map_err(|e| anyhow::anyhow!("--asset {asset:?}: {e}"))?;
    let at_ns = parse_time_ns(at)?;
    let mut store = loc.open()?;
    let r = rebuild_at(&mut store, &token, at_ns)?;
    tracing::info!(
        seq = r.seq,
        base = ?r.base,
        applied = r.applied,
        "rebuilt {} at {}",
        asset,
        format_ns(at_ns)
    );
    let Some(dump) = r.dump() else {
        bail!(
            "token {asset} has no book at {} (no venue snapshot yet)",
            format_ns(at_ns)
        );
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    serde_json::to_writer(&mut out, &dump)?;
    writeln!(out)?;
    Ok(())
}

fn human_bytes(n: u64) -> String {
    if n >= 10 << 20 {
        format!("{:.1} MiB", n as f64 / (1 << 20) as f64)
    } else if n >= 10 << 10 {
        format!("{:.1} KiB", n as f64 / 1024.0)
    } else {
        format!("{n} B")
    }
}

fn stats(loc: &DbLocation, json: bool, top: usize) -> anyhow::Result<()> {
    if !loc.db.exists() {
        bail!("no database at {}", loc.db.display());
    }
    let mut store = loc.open()?;
    let s = store.stats()?;
    if json {
        println!("{}", serde_json::to_string(&s)?);
        return Ok(());
    }
    println!(
        "database      {} (schema v{})",
        loc.db.display(),
        s.schema_version
    );
    println!(
        "size on disk  {} + {} WAL",
        human_bytes(s.db_bytes),
        human_bytes(s.wal_bytes)
    );
    match (s.oldest_event_ns, s.newest_event_ns) {
        (Some(a), Some(b)) => println!(
            "events        oldest {}  newest {}  ({:.1} min)",
            format_ns(a),
            format_ns(b),
            (b - a) as f64 / 60e9
        ),
        _ => println!("events        none"),
    }
    println!("last batch    {}", s.last_batch_id);
    println!();
    println!("{:<18} {:>12}", "table", "rows");
    for t in &s.tables {
        if t.table == "orderbook_events" {
            let parts = match s.event_partitions {
                1 => "1 partition".to_string(),
                n => format!("{n} partitions"),
            };
            println!("{:<18} {:>12}  ({parts})", t.table, t.rows);
        } else {
            println!("{:<18} {:>12}", t.table, t.rows);
        }
    }
    println!();
    println!(
        "{:<68} {:>10} {:>8} {:>10} {:>10}",
        "market (busiest first)", "events", "trades", "ev/min", "last hour"
    );
    for m in s.markets.iter().take(top) {
        let mins = (m.last_recv_ns.saturating_sub(m.first_recv_ns)) as f64 / 60e9;
        let rate = if mins > 0.0 {
            m.events as f64 / mins
        } else {
            m.events as f64
        };
        println!(
            "{:<68} {:>10} {:>8} {:>10.1} {:>10}",
            m.condition_id, m.events, m.trades, rate, m.events_last_hour
        );
    }
    if s.markets.len() > top {
        println!("… {} more markets", s.markets.len() - top);
    }
    Ok(())
}

fn prune(loc: &DbLocation, now: Option<&str>, json: bool) -> anyhow::Result<()> {
    let cfg = loc.storage_config()?;
    let now_ns = match now {
        Some(t) => parse_time_ns(t)?,
        None => unix_now_ns(),
    };
    let mut store = loc.open()?;
    let r = Pruner::run(&cfg, &mut store, now_ns)?;
    if json {
        println!("{}", serde_json::to_string(&r)?);
        return Ok(());
    }
    println!(
        "raw events before {} ({} days): {} rows from {} markets exported as {} frames to {} files in {}",
        format_ns(r.events_cutoff_ns),
        cfg.retention.raw_event_days,
        r.deleted_events,
        r.markets,
        r.exported_frames,
        r.files.len(),
        cfg.export_dir().display()
    );
    for f in &r.files {
        println!("  {}", f.display());
    }
    println!(
        "snapshots before {} ({} days): {} deleted (each asset's newest kept); {} batch records deleted",
        format_ns(r.snapshots_cutoff_ns),
        cfg.retention.snapshot_days,
        r.deleted_snapshots,
        r.deleted_batches
    );
    if r.dropped_partitions > 0 {
        println!(
            "orderbook_events partitions emptied and dropped: {}",
            r.dropped_partitions
        );
    }
    if r.recovered_files + r.removed_partial_files > 0 {
        println!(
            "interrupted earlier prune: {} exports finished, {} partial files removed",
            r.recovered_files, r.removed_partial_files
        );
    }
    Ok(())
}
