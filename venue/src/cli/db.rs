//! `polyarb db bench` and `db crash-writer`: the `db` commands that load the engine's store with
//! synthetic events (`storage_load`); `polyarb` hands them here. The other `db` commands read
//! and maintain a real database and stay in `polyarb`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Subcommand};

use polyarb::storage::time::unix_now_ns;
use polyarb::storage::{SqliteStore, StorageConfig, Synchronous, WriterHandle};

use crate::storage_load::EventFlood;
use crate::storage_load::measure as bench;

#[derive(Args, Debug)]
pub struct DbArgs {
    #[command(subcommand)]
    pub command: DbCommand,
}

#[derive(Subcommand, Debug)]
pub enum DbCommand {
    /// Insert rate of batched `orderbook_events` rows, writer throughput, and book rebuild time.
    Bench(BenchArgs),
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

/// What `db bench` measures and where.
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Print `{"rows_per_s":…,"batch_rows":…,"rebuild_ms":…}`.
    #[arg(long)]
    pub json: bool,
    #[arg(long, default_value_t = 1_000_000)]
    pub rows: usize,
    #[arg(long, default_value_t = 1000)]
    pub batch_rows: usize,
    /// Minutes of the busy asset for the rebuild figure.
    #[arg(long, default_value_t = 60)]
    pub minutes: u64,
    /// Scratch directory (default: a fresh one under the system temp dir, removed after).
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

pub fn run(a: DbArgs) -> anyhow::Result<()> {
    match a.command {
        DbCommand::Bench(b) => run_bench(b),
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

fn run_bench(a: BenchArgs) -> anyhow::Result<()> {
    let BenchArgs {
        json,
        rows,
        batch_rows,
        minutes,
        dir,
    } = a;
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
            unix_now_ns()
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
