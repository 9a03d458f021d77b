//! `polyarb flood`: a load test. The local venue floods level changes over real loopback
//! WebSockets into the whole pipeline; the report gives offered and applied rates, drops and
//! resyncs, the latency tables, and the targets beside them.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use serde_json::json;

use polyarb::cli::report;
use polyarb::config::source::ConfigSource;
use polyarb::engine::Pipeline;
use polyarb::obs::LatencySummary;

use super::venue_markets;
use crate::{ModelConfig, Venue, VenueConfig};

#[derive(Args, Debug)]
pub struct FloodArgs {
    /// Level changes per second offered by the venue (0 = as fast as the client drains).
    #[arg(long, default_value_t = 200_000)]
    pub rate: u64,
    /// Seconds of flood (after every book is healthy).
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Assets (outcome tokens) in the synthetic market set.
    #[arg(long, default_value_t = 1_000)]
    pub assets: u32,
    /// Engine config: a built-in name (`polyarb config list`) or a TOML file; its `[venue]`
    /// model and source are replaced by the flags above.
    #[arg(long, default_value = "flood")]
    pub config: String,
    /// Override `[pipeline] threads`, e.g. "io+parse+book+strategy+dispatch".
    #[arg(long, value_delimiter = '|')]
    pub threads: Option<Vec<String>>,
    /// Store every book event in SQLite on the cold thread while flooding.
    #[arg(long, value_enum, default_value_t = Switch::On)]
    pub storage: Switch,
    /// The database for `--storage on` (replaced at start), relative to the current directory.
    #[arg(long, default_value = "out/flood.db")]
    pub db: PathBuf,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Where to save the latency histograms (`.hgrm`), relative to the current directory.
    #[arg(long, default_value = "out/flood")]
    pub hgrm_dir: PathBuf,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Questions per neg-risk event of the market set (a fifth of the markets are grouped).
    #[arg(long, default_value_t = 4)]
    pub questions: u32,
    /// Mean interval between neg-risk mispricings the venue injects (0 = none).
    #[arg(long, default_value_t = 0)]
    pub mispricing_every_ms: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Switch {
    On,
    Off,
}

pub fn run(a: FloodArgs) -> anyhow::Result<()> {
    let src = ConfigSource::named(&a.config)?;
    let (mut cfg, mut vcfg) = VenueConfig::with_engine(&src)?;
    if let Some(t) = &a.threads {
        cfg.pipeline.threads = t.iter().map(|s| s.trim().to_string()).collect();
        cfg.validate(&src.label())?;
    }
    let mut model = ModelConfig::for_assets(a.assets, a.seed);
    let q = a.questions.max(2);
    let markets = model.binary_markets + model.neg_risk_groups * model.neg_risk_group_size;
    let grouped = model.neg_risk_groups * model.neg_risk_group_size;
    model.neg_risk_group_size = q;
    model.neg_risk_groups = grouped / q;
    model.binary_markets = markets - model.neg_risk_groups * q;
    vcfg.model = ModelConfig {
        binary_dutch_fault_every_ms: 0,
        mispricing_every_ms: a.mispricing_every_ms,
        ..model
    };
    vcfg.source.paused = true;
    vcfg.source.changes_per_s = a.rate;
    cfg.storage = match a.storage {
        Switch::On => {
            if let Some(dir) = a.db.parent() {
                std::fs::create_dir_all(dir)?;
            }
            for ext in ["", "-wal", "-shm"] {
                let mut f = a.db.clone().into_os_string();
                f.push(ext);
                let _ = std::fs::remove_file(f);
            }
            Some(polyarb::storage::StorageConfig {
                path: a.db.clone(),
                ..cfg.storage.clone().unwrap_or_default()
            })
        }
        Switch::Off => None,
    };
    let venue = Venue::start(vcfg.clone()).context("starting the local venue")?;
    cfg.feed.ws_url = venue.ws_url();
    cfg.resync.clob_url = venue.http_url();
    let set = venue_markets::from_venue(&venue.markets(), vcfg.model.min_order_size)?;
    let assets = set.registry.len() as u64;
    let p =
        Pipeline::start(&cfg, set.registry, set.groups, a.seed).context("starting the pipeline")?;
    let say = |s: String| {
        if !a.json {
            println!("{s}");
        }
    };
    say(format!(
        "flood: {} assets, {} changes/s for {} s · threads {}",
        assets,
        if a.rate == 0 {
            "max".to_string()
        } else {
            a.rate.to_string()
        },
        a.duration,
        p.topology.describe()
    ));
    // Where `/metrics` and `/status` listen (the port bound, when `[obs] listen` asks for 0).
    if !a.json {
        report::ops_banner(&p);
    }
    if let Some(sc) = &cfg.storage {
        say(format!("storage: {}", sc.path.display()));
    }
    for w in p.warnings() {
        say(format!("warning: {w}"));
    }

    // Warm up: every book healthy before the clock starts.
    let t = Instant::now();
    while p.stats.book.healthy_assets.get() < assets {
        if t.elapsed() > Duration::from_secs(60) {
            bail!(
                "only {} of {assets} books became healthy in 60 s",
                p.stats.book.healthy_assets.get()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    say(format!(
        "all {assets} books healthy after {:.2} s; flooding",
        t.elapsed().as_secs_f64()
    ));
    let s = p.stats.clone();
    let v0 = venue.stats();
    let reasons = |p: &Pipeline| {
        let b = &p.stats.book;
        [
            ("tick size change", b.tick_size_changes.get()),
            ("best mismatch", b.mismatch.get()),
            ("crossed", b.crossed.get()),
            ("reconnect", b.invalidated_reconnect.get()),
            ("ring full", b.invalidated_ring_full.get()),
            ("audit mismatch", b.audit_mismatches.get()),
        ]
    };
    let (d0, r0, drops0, why0) = (
        s.book.deltas.get(),
        s.book.invalidations.get(),
        dropped(&p),
        reasons(&p),
    );
    p.reset_latency();
    let start = Instant::now();
    venue.resume();
    std::thread::sleep(Duration::from_secs_f64(a.duration));
    venue.pause();
    let window = start.elapsed().as_secs_f64();
    let v1 = venue.stats();
    let offered = v1.hub.changes - v0.hub.changes;
    // Drain: everything the venue sent must arrive (or be counted as dropped).
    let drain = Instant::now();
    let mut last = (s.book.deltas.get(), Instant::now());
    while s.book.deltas.get() - d0 < offered && drain.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(10));
        let now = s.book.deltas.get();
        if now != last.0 {
            last = (now, Instant::now());
        } else if last.1.elapsed() > Duration::from_secs(2) {
            break;
        }
    }
    let applied = s.book.deltas.get() - d0;
    let resyncs = s.book.invalidations.get() - r0;
    let why: Vec<String> = reasons(&p)
        .iter()
        .zip(why0.iter())
        .filter(|(a, b)| a.1 > b.1)
        .map(|(a, b)| format!("{} {}", a.0, a.1 - b.1))
        .collect();
    let rest_fetches = s.resync.snapshots.get();
    let venue_drops = (v1.io.slow_consumer_closes - v0.io.slow_consumer_closes)
        + (v1.hub.dropped_stalled - v0.hub.dropped_stalled);
    let drops = dropped(&p) - drops0 + venue_drops;
    let storage_dropped = s.book.storage_dropped.get();
    let rep = p.shutdown();
    venue.shutdown();
    let stored = match rep.storage {
        Some(Ok(m)) => Some(m),
        Some(Err(e)) => bail!("storage failed at shutdown: {e}"),
        None => None,
    };

    let find = |name: &str| {
        rep.histograms
            .iter()
            .find(|h| h.name() == name)
            .map(|h| h.summary())
            .unwrap_or_default()
    };
    let apply = find("received → book applied");
    let opp = find("received → opportunity");
    let resync = find("resync detected → healthy");
    let offered_per_s = offered as f64 / window;
    let applied_per_s = applied as f64 / window;
    if a.json {
        let lat = |l: &LatencySummary| json!({"p50": l.p50, "p90": l.p90, "p99": l.p99, "p999": l.p999, "max": l.max});
        println!(
            "{}",
            json!({
                "offered_per_s": offered_per_s.round(),
                "applied_per_s": applied_per_s.round(),
                "dropped": drops,
                "resyncs": resyncs,
                "storage": stored.as_ref().map(|m| json!({
                    "path": a.db,
                    "rows_written": m.rows_written,
                    "rows_per_s": (m.rows_written as f64 / window).round(),
                    "dropped": storage_dropped + m.dropped_channel_full + m.dropped_pending_full,
                    "max_batch_ns": m.max_batch_ns,
                    "queue_depth_max": m.queue_depth_max,
                    "writer_cpu_ns": m.writer_cpu_ns,
                    "writer_write_bytes": m.writer_write_bytes,
                    "checkpoint_write_bytes": m.checkpoint_write_bytes,
                })),
                "apply_latency_ns": lat(&apply),
                "opportunity_latency_ns": lat(&opp),
            })
        );
        return Ok(());
    }
    println!("\n── flood report ({window:.2} s window) ──");
    println!("offered   {offered} level changes ({offered_per_s:.0}/s)");
    println!("applied   {applied} level changes ({applied_per_s:.0}/s)");
    println!(
        "dropped   {drops}{}",
        if drops == 0 {
            ""
        } else {
            "  (frames or messages given up on full rings, or venue slow-consumer drops)"
        }
    );
    println!(
        "resyncs   {resyncs}{}",
        if resyncs == 0 {
            String::new()
        } else {
            format!(
                "  ({}; healed in-band or by {rest_fetches} REST snapshots)",
                why.join(", ")
            )
        }
    );
    if let Some(m) = &stored {
        println!("{}", report::storage_lines(m, window, storage_dropped));
    }
    println!();
    report::latency_table(&rep.histograms, Some(&a.hgrm_dir))?;
    println!("\ntargets                              measured");
    let ok = |b: bool| if b { "met" } else { "MISSED" };
    println!(
        "seed: median delta-apply < 20 ms     p50 {} ({})",
        report::us(apply.p50),
        ok(apply.p50 < 20_000_000)
    );
    println!(
        "seed: ≥ 5,000 L2 changes/min         {:.0}/min ({})",
        applied_per_s * 60.0,
        ok(applied_per_s * 60.0 >= 5_000.0)
    );
    println!(
        "seed: resync < 300 ms                {} ({})",
        if resync.count == 0 {
            "no resync in window".to_string()
        } else {
            format!("p99 {}", report::us(resync.p99))
        },
        ok(resync.count == 0 || resync.p99 < 300_000_000)
    );
    // With storage on, "nothing dropped" includes events the recorder could not take (their
    // stored streams are repaired with snapshots, but the events themselves are not stored).
    let storage_lost = stored.as_ref().map_or(0, |m| {
        storage_dropped + m.dropped_channel_full + m.dropped_pending_full
    });
    println!(
        "≥ 200,000 changes/s, nothing dropped {applied_per_s:.0}/s, {drops} dropped{} ({})",
        if stored.is_some() {
            format!(", {storage_lost} not stored")
        } else {
            String::new()
        },
        ok(sustained_200k(a.rate, offered, applied, window) && drops == 0 && storage_lost == 0)
    );
    println!(
        "received→applied p50 < 100 µs        {} ({})",
        report::us(apply.p50),
        ok(apply.p50 < 100_000)
    );
    println!(
        "received→applied p99 < 2 ms          {} ({})",
        report::us(apply.p99),
        ok(apply.p99 < 2_000_000)
    );
    Ok(())
}

/// Everything the engine gave up on: frames and messages lost to full rings.
fn dropped(p: &Pipeline) -> u64 {
    let s = &p.stats;
    s.feed.frames_dropped.get() + s.parse.lost_messages.get()
}

/// Whether the flood offered at least 200,000 changes/s and every one was applied. A paced
/// venue (`rate` > 0) counts at the rate it was asked for when it kept within 0.1% of it: it
/// paces in steps of at least 1 ms, so a window stops up to a step short of `rate × window`
/// (measured: 10 to 60 changes short in 2,000,000). An unpaced flood (`rate` 0) must reach it.
fn sustained_200k(rate: u64, offered: u64, applied: u64, window_s: f64) -> bool {
    let offered_per_s = offered as f64 / window_s.max(1e-9);
    let pace = if rate == 0 {
        offered_per_s
    } else if offered_per_s >= rate as f64 * 0.999 {
        rate as f64
    } else {
        offered_per_s
    };
    pace >= 200_000.0 && applied >= offered
}

#[cfg(test)]
mod tests {
    use super::sustained_200k;

    #[test]
    fn the_200k_target_allows_only_the_pacing_step() {
        // (rate asked, offered, applied, window s) → met
        let cases = [
            (200_000, 1_999_940, 1_999_940, 10.0, true),
            (200_000, 1_999_940, 1_999_939, 10.0, false),
            (200_000, 1_990_000, 1_990_000, 10.0, false),
            (250_000, 2_400_000, 2_400_000, 10.0, true),
            (0, 2_100_000, 2_100_000, 10.0, true),
            (0, 1_999_940, 1_999_940, 10.0, false),
            (150_000, 1_500_000, 1_500_000, 10.0, false),
        ];
        for (rate, offered, applied, w, met) in cases {
            assert_eq!(
                sustained_200k(rate, offered, applied, w),
                met,
                "{rate} {offered} {applied}"
            );
        }
    }
}
