//! `polyarb db …`: the recorder's database from the command line: import a frames file, rebuild
//! a book at a moment, stats, retention, benchmarks, and the crash-test writer.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};

use polyarb::config::source::ConfigSource;
use polyarb::core::TokenId;
use polyarb::replay::FrameReader;
use polyarb::storage::ingest::FrameIngestor;
use polyarb::storage::load::EventFlood;
use polyarb::storage::load::measure as bench;
use polyarb::storage::time::{NS_PER_MS, format_ns, parse_time_ns, unix_now_ns};
use polyarb::storage::{
    EventStore, Pruner, SqliteStore, StorageConfig, Synchronous, WriterHandle, rebuild_at,
};

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
    Bench {
        /// Print `{"rows_per_s":…,"batch_rows":…,"rebuild_ms":…}`.
        #[arg(long)]
        json: bool,
        #[arg(long, default_value_t = 1_000_000)]
        rows: usize,
        #[arg(long, default_value_t = 1000)]
        batch_rows: usize,
        /// Minutes of the busy asset for the rebuild figure.
        #[arg(long, default_value_t = 60)]
        minutes: u64,
        /// Scratch directory (default: a fresh one under the system temp dir, removed after).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Test helper: floods events into the store and prints each committed batch
    /// (`committed <batch_id> <rows> <total_rows>`) until killed or `--events` are sent.
    #[command(hide = true)]
    CrashWriter {
        #[arg(long)]
        db: PathBuf,
        #[arg(long, default_value_t = 8)]
        markets: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, default_value_t = 200)]
        batch_rows: usize,
        #[arg(long, default_value_t = 5)]
        batch_ms: u64,
        /// Stop after this many change events (0 = run until killed).
        #[arg(long, default_value_t = 0)]
        events: u64,
    },
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
        DbCommand::Bench {
            json,
            rows,
            batch_rows,
            minutes,
            dir,
        } => run_bench(json, rows, batch_rows, minutes, dir),
        DbCommand::CrashWriter {
            db,
            markets,
            seed,
            batch_rows,
            batch_ms,
            events,
        } => crash_writer(&db, markets, seed, batch_rows, batch_ms, events),
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

fn run_bench(
    json: bool,
    rows: usize,
    batch_rows: usize,
    minutes: u64,
    dir: Option<PathBuf>,
) -> anyhow::Result<()> {
    let tmp;
    let dir = match dir {
        Some(d) => {
            std::fs::create_dir_all(&d)?;
            d
        }
        None => {
            tmp = BenchDir::create()?;
            tmp.path().to_path_buf()
        }
    };
    let ins = bench::insert_rate(&dir, rows, batch_rows, Synchronous::Normal)?;
    let (per_s, seconds, depth) = (20, minutes.max(1) * 60, 50);
    let (token, t0, t1) = bench::busy_asset_db(&dir.join("busy.db"), per_s, seconds, depth)?;
    let mut store = SqliteStore::open_with(&dir.join("busy.db"), Synchronous::Normal, 5000)?;
    let (times, max_applied) = bench::rebuild_times(&mut store, &token, t0, t1, 41)?;
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let p50 = ms(times[times.len() / 2]);
    if json {
        println!(
            "{}",
            serde_json::json!({
                "rows_per_s": ins.rows_per_s().round(),
                "batch_rows": ins.batch_rows,
                "rebuild_ms": (p50 * 1000.0).round() / 1000.0,
                "landed_rows_per_s": ins.landed_per_s().round(),
                "cpu_rows_per_s": ins.cpu_rows_per_s().map(f64::round),
            })
        );
        return Ok(());
    }
    let bare = bench::bare_rate(&dir, rows, batch_rows)?;
    let (events, el) = bench::writer_rate(&dir, rows.min(500_000))?;
    println!(
        "orderbook_events: {} rows over 100 markets (200 assets), batches of {} rows, one transaction each,",
        ins.rows, ins.batch_rows
    );
    println!(
        "WAL, synchronous=NORMAL; indexed table: PK (market_id, seq) + (market_id, recv_ns) every 64th seq + (market_id, side, price) + partial (asset_id, seq)"
    );
    println!(
        "  sustained rows/s  {:>12.0}  into the indexed table, landing + compaction ({:.3} s + {:.3} s) (target >= 500000)",
        ins.rows_per_s(),
        (ins.elapsed - ins.compaction).as_secs_f64(),
        ins.compaction.as_secs_f64()
    );
    println!(
        "  landed rows/s     {:>12.0}  the 1000-row commits alone, into the unindexed landing table",
        ins.landed_per_s()
    );
    if let (Some(per_s), Some((land, comp))) = (ins.cpu_rows_per_s(), ins.cpu) {
        println!(
            "  on-CPU rows/s     {:>12.0}  sustained per second of the thread's CPU time ({:.3} s + {:.3} s): one idle core",
            per_s,
            land.as_secs_f64(),
            comp.as_secs_f64()
        );
    }
    println!(
        "  calibration       {:>12.0}  bare 10-integer-column table, same batches, same moment ({:.0} on-CPU)",
        bare.rows_per_s(),
        bare.cpu_rows_per_s().unwrap_or(f64::NAN)
    );
    println!(
        "writer thread end to end: channel -> mirror books -> snapshots/bars -> landed batches (compaction yields to a busy channel)"
    );
    println!(
        "  events/s          {:>12.0}  ({} level changes, each with its event end)",
        events as f64 / el.as_secs_f64().max(1e-9),
        events
    );
    let fill = 900_000;
    println!(
        "trickle compaction: WAL bytes of one compaction into a partition of {fill} rows over 500 markets"
    );
    for page in [65_536u32, 4_096] {
        let Some(trickle) = bench::trickle_compaction(&dir, fill, &[4_000, 40_000], page)? else {
            println!("  (this platform does not count a thread's writes)");
            break;
        };
        for (chunk, bytes) in trickle {
            println!(
                "  {chunk:>6} rows, {:>2} KiB pages {:>7.1} MB  ({:.1} KB per row)",
                page / 1024,
                bytes as f64 / 1e6,
                bytes as f64 / 1e3 / chunk as f64
            );
        }
    }
    println!(
        "rebuild one busy asset: {} min of 2 x {} changes/s, {}+{} levels, snapshot every 1000 events",
        seconds / 60,
        per_s,
        depth,
        depth
    );
    println!(
        "  rebuild p50       {:>12.3} ms  (max {:.3} ms over {} moments; at most {} events on a base; target < 5 ms)",
        p50,
        ms(times[times.len() - 1]),
        times.len(),
        max_applied
    );
    Ok(())
}

fn crash_writer(
    db: &Path,
    markets: usize,
    seed: u64,
    batch_rows: usize,
    batch_ms: u64,
    events: u64,
) -> anyhow::Result<()> {
    let cfg = StorageConfig {
        path: db.to_path_buf(),
        batch_rows: batch_rows.max(1),
        batch_ms,
        retention: polyarb::storage::RetentionConfig {
            prune_interval_s: 0,
            ..Default::default()
        },
        ..StorageConfig::default()
    };
    let store = SqliteStore::open(&cfg)?;
    let (ntx, nrx) = crossbeam::channel::bounded(1 << 16);
    let (writer, tx) = WriterHandle::spawn_with(Box::new(store), &cfg, Some(ntx))?;
    let printer = std::thread::spawn(move || {
        let stdout = std::io::stdout();
        for n in nrx {
            let mut out = stdout.lock();
            if writeln!(out, "committed {} {} {}", n.batch_id, n.rows, n.total_rows)
                .and_then(|()| out.flush())
                .is_err()
            {
                return;
            }
        }
    });
    let mut flood = EventFlood::new(markets.max(1), seed);
    let mut buf = flood.registrations();
    let t0 = unix_now_ns();
    for a in 0..flood.assets() {
        flood.book(a, 10, t0, &mut buf);
    }
    let mut sent = 0u64;
    loop {
        for ev in buf.drain(..) {
            tx.send_blocking(ev)?;
        }
        if events > 0 && sent >= events {
            break;
        }
        flood.change(unix_now_ns(), &mut buf);
        sent += 1;
    }
    drop(tx);
    writer.shutdown()?;
    let _ = printer.join();
    Ok(())
}

/// The directory `db bench` measures in when none is given, removed with its databases when the
/// bench ends.
struct BenchDir {
    path: PathBuf,
}

impl BenchDir {
    fn create() -> std::io::Result<Self> {
        let path = std::env::temp_dir().join(format!(
            "polyarb-db-bench-{}-{}",
            std::process::id(),
            polyarb::storage::time::unix_now_ns()
        ));
        std::fs::create_dir_all(&path)?;
        Ok(Self { path })
    }

    fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for BenchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
