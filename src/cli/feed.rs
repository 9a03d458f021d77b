//! `polyarb feed`: the engine against a venue it does not own. The markets come from the
//! catalog (Gamma at `[catalog] gamma_url`), the books from `[feed] ws_url`, resync snapshots
//! from `[resync] clob_url`; a live table of books and health until Ctrl-C or `--duration`,
//! then the receive → applied latency table.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;

use polyarb::catalog::{CatalogStore, MemoryStore, SqliteCatalogStore};
use polyarb::pipeline::catalog_link::CatalogRunner;
use polyarb::pipeline::engine::{EngineSettings, Pipeline};

use super::dashboard::Dashboard;
use super::{markets, report};

#[derive(Args, Debug)]
pub struct FeedArgs {
    /// Engine config (TOML) with [feed] ws_url, [resync] clob_url and a [catalog] section.
    #[arg(long, default_value = "config/feed.toml")]
    pub config: PathBuf,
    /// Stop after this many seconds (default: run until Ctrl-C).
    #[arg(long)]
    pub duration: Option<f64>,
    /// Where to save the latency histograms (`.hgrm`).
    #[arg(long, default_value = "out/feed")]
    pub hgrm_dir: PathBuf,
    /// Redraw interval of the live view, in milliseconds.
    #[arg(long, default_value_t = 500)]
    pub refresh_ms: u64,
}

pub fn run(a: FeedArgs) -> anyhow::Result<()> {
    let cfg = EngineSettings::load(&a.config).with_context(|| {
        format!(
            "loading {} (run from the repository root, or pass --config)",
            a.config.display()
        )
    })?;
    let Some(cc) = &cfg.catalog else {
        bail!(
            "{}: key `catalog`: expected a [catalog] section (gamma_url and filters): the feed \
             takes its markets from the catalog",
            a.config.display()
        );
    };
    let store: Box<dyn CatalogStore> = match &cfg.storage {
        Some(sc) => Box::new(SqliteCatalogStore::open(sc).context("catalog database")?),
        None => Box::new(MemoryStore::new()),
    };
    let (first, mut runner) = CatalogRunner::start(cc, store)
        .with_context(|| format!("reading the catalog from {}", cc.gamma_url))?;
    let (set, held) = markets::from_catalog(&first);
    if set.registry.is_empty() {
        bail!(
            "the catalog at {} has no market that passes [catalog.filters]",
            cc.gamma_url
        );
    }
    let mut labels = set.labels;
    let groups = set.groups.len() - held.len();
    let mut p = Pipeline::start_held(&cfg, set.registry, set.groups, &held, 0)
        .context("starting the pipeline")?;
    println!(
        "feed     {} · resync {}",
        cfg.feed.ws_url, cfg.resync.clob_url
    );
    println!(
        "markets  {} from {} ({} assets, {} outcome groups watched for Dutch books)",
        labels.len(),
        cc.gamma_url,
        p.registry.len(),
        groups
    );
    println!("threads  {}", p.topology.describe());
    for w in p.warnings() {
        println!("warning  {w}");
    }

    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, stop.clone()).context("installing the signal handler")?;
    }
    let started = Instant::now();
    let limit = a.duration.map(Duration::from_secs_f64);
    let mut dash = Dashboard::new(format!("polyarb feed · {}", cfg.feed.ws_url));
    while !stop.load(Ordering::SeqCst) && limit.is_none_or(|l| started.elapsed() < l) {
        std::thread::sleep(Duration::from_millis(a.refresh_ms.max(50)));
        if runner.poll(&mut p) > 0
            && let Some(u) = &runner.last
        {
            labels = markets::catalog_labels(u, p.registry.len());
        }
        dash.draw(&p, &labels)?;
    }
    println!("\n{}", runner.summary());
    runner.shutdown();

    let s = p.stats.clone();
    let rep = p.shutdown();
    let secs = started.elapsed().as_secs_f64();
    println!("\n── feed summary ({secs:.1} s) ──");
    println!(
        "frames {} · applied {} deltas and {} snapshots ({:.0} changes/s)",
        s.book.frames.get(),
        s.book.deltas.get(),
        s.book.books.get(),
        s.book.deltas.get() as f64 / secs
    );
    println!("{}", report::health_line(&s));
    println!(
        "opportunities {} · dry-run intents {}",
        s.strategy.opportunities.get(),
        s.dispatch.intents.get()
    );
    println!();
    report::latency_table(&rep.histograms, Some(&a.hgrm_dir))?;
    Ok(())
}
