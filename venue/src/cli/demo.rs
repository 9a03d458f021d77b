//! `polyarb demo`: the local venue with a synthetic market set and injected Dutch books, the
//! whole pipeline against it over loopback, and a live view, until Ctrl-C or `--duration`.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;

use polyarb::catalog::{CatalogStore, MemoryStore, SqliteCatalogStore};
use polyarb::cli::dashboard::Dashboard;
use polyarb::cli::{markets, report};
use polyarb::config::source::ConfigSource;
use polyarb::engine::catalog_link::CatalogRunner;
use polyarb::engine::{DispatchMode, EngineBuilder};

use super::{paper, venue_markets};
use crate::{Venue, VenueConfig};

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Engine config: a built-in name (`polyarb config list`) or a TOML file, whose relative
    /// paths resolve against its directory (venue, feed, book, pipeline, strategy and storage sections).
    #[arg(long, default_value = "demo")]
    pub config: String,
    /// Stop after this many seconds (default: run until Ctrl-C).
    #[arg(long)]
    pub duration: Option<f64>,
    /// Where to save the latency histograms (`.hgrm`), relative to the current directory.
    #[arg(long, default_value = "out/demo")]
    pub hgrm_dir: PathBuf,
    /// Redraw interval of the live view, in milliseconds.
    #[arg(long, default_value_t = 500)]
    pub refresh_ms: u64,
    /// Record every frame as received and every decision into this directory (rotating zstd
    /// files; `polyarb replay --recording DIR` audits them). Overrides `[recording] dir`.
    #[arg(long)]
    pub record: Option<PathBuf>,
    /// Paper-trade: send every Dutch book as signed FOK orders to the in-process venue's
    /// matching engine from a fresh, venue-funded account (default: dry-run intents only).
    #[arg(long)]
    pub live: bool,
    /// With `--live`: the SQLite order journal, started afresh each run (default:
    /// `demo-orders.db` beside the `[storage]` database, else `out/demo-orders.db`).
    #[arg(long, requires = "live")]
    pub journal: Option<PathBuf>,
    /// What trades: `arb` (Dutch books; sent with `--live`), `spread` (post-only two-sided
    /// quotes from a fresh venue-funded account, `[strategy.spread]`), or `both`.
    #[arg(long, value_enum, default_value = "arb")]
    pub strategy: DemoStrategy,
}

/// `--strategy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DemoStrategy {
    Arb,
    Spread,
    Both,
}

pub fn run(a: DemoArgs) -> anyhow::Result<()> {
    let src = ConfigSource::named(&a.config)?;
    let (mut cfg, vcfg) = VenueConfig::with_engine(&src)?;
    cfg.recording =
        polyarb::recording::config::resolve(cfg.recording.take(), a.record.clone(), &src.text()?);
    let venue = Venue::start(vcfg.clone()).context("starting the local venue")?;
    cfg.feed.ws_url = venue.ws_url();
    cfg.resync.clob_url = venue.http_url();
    let (set, held, mut runner) = match &cfg.catalog {
        // The catalog reads the in-process venue's Gamma and keeps refreshing it.
        Some(cc) => {
            let mut cc = cc.clone();
            cc.gamma_url = venue.gamma_url();
            let store: Box<dyn CatalogStore> = match &cfg.storage {
                Some(sc) => Box::new(SqliteCatalogStore::open(sc).context("catalog database")?),
                None => Box::new(MemoryStore::new()),
            };
            let (first, runner) =
                CatalogRunner::start(&cc, store).context("starting the catalog")?;
            let (set, held) = markets::from_catalog(&first);
            (set, held, Some(runner))
        }
        None => (
            venue_markets::from_venue(&venue.markets(), vcfg.model.min_order_size)?,
            Vec::new(),
            None,
        ),
    };
    let refused = set.refused_lines();
    let mut labels = set.labels;
    let groups = set.groups.len() - held.len();
    let arb = a.strategy != DemoStrategy::Spread;
    let (dispatch, desk) = if a.live && arb {
        let journal = a.journal.clone().unwrap_or_else(|| {
            cfg.storage
                .as_ref()
                .and_then(|s| s.path.parent().map(|d| d.join("demo-orders.db")))
                .unwrap_or_else(|| PathBuf::from("out/demo-orders.db"))
        });
        let places = polyarb::exec::risk_link::asset_places(&set.registry, &set.groups);
        let (d, desk) = paper::open(
            &venue,
            &set.registry,
            vcfg.gamma.fee_schedule(),
            &journal,
            (cfg.risk.clone(), places),
            cfg.chain.as_ref(),
        )?;
        (d, Some(desk))
    } else {
        (DispatchMode::DryRun, None)
    };
    let mut scfg = cfg.strategy.spread.clone();
    let spread = if a.strategy == DemoStrategy::Arb {
        None
    } else {
        scfg.enabled = true;
        let markets = match runner.as_ref().and_then(|r| r.last.as_ref()) {
            Some(u) => polyarb::cli::spread::from_catalog(&scfg, u),
            None => spread_markets(&venue, &set.registry, vcfg.gamma.fee_schedule(), &scfg)?,
        };
        let (client, creds, _) = paper::account(&venue)?;
        let capacity = set.registry.len().max(cfg.pipeline.max_assets);
        let gate = desk.as_ref().map(|d| d.gate().clone());
        println!(
            "spread   quoting {} markets from a fresh venue-funded account",
            markets.len()
        );
        Some(polyarb::cli::spread::open(
            &scfg,
            client,
            creds,
            &venue.user_ws_url(),
            markets,
            capacity,
            gate,
        )?)
    };
    let mut builder = EngineBuilder::new(&cfg, set.registry, set.groups)
        .held(&held)
        .seed(vcfg.model.seed)
        .dispatch(dispatch);
    let spread = match spread {
        Some((tap, run)) => {
            builder = builder.spread(tap);
            Some(run)
        }
        None => None,
    };
    let mut p = builder.start().context("starting the pipeline")?;
    // With the catalog, markets listed while running reach the live sender before they are
    // subscribed.
    if runner.is_some() {
        p.instruments_tx = desk
            .as_ref()
            .map(polyarb::cli::paper::LiveDesk::instruments);
    }
    println!(
        "venue    {} · {} (REST and /admin)",
        venue.ws_url(),
        venue.http_url()
    );
    markets::print_banner(labels.len(), None, p.registry.len(), groups, &refused);
    println!("threads  {}", p.topology.describe());
    report::ops_banner(&p);
    if let Some(sc) = &cfg.storage {
        println!(
            "storage  {} (book events, snapshots, trades)",
            sc.path.display()
        );
    }
    if let Some(r) = &cfg.recording {
        println!(
            "record   {} (frames and decisions; polyarb replay --recording)",
            r.dir.display()
        );
    }
    for w in p.warnings() {
        println!("warning  {w}");
    }

    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, stop.clone()).context("installing the signal handler")?;
    }
    let started = Instant::now();
    let limit = a.duration.map(Duration::from_secs_f64);
    let mut dash = Dashboard::new(format!("polyarb demo · {}", p.topology.describe()));
    while !stop.load(Ordering::SeqCst) && limit.is_none_or(|l| started.elapsed() < l) {
        std::thread::sleep(Duration::from_millis(a.refresh_ms.max(50)));
        if let Some(r) = runner.as_mut()
            && r.poll(&mut p) > 0
            && let Some(u) = &r.last
        {
            labels = markets::catalog_labels(u, p.registry.len());
            if let Some(s) = &spread {
                s.on_catalog(&scfg, u);
            }
        }
        if let Some(s) = &spread {
            dash.quotes = s.live_lines();
        }
        if let Some(d) = &desk {
            d.observe(&p.stats);
        }
        dash.draw(&p, &labels)?;
    }
    if let Some(r) = runner.take() {
        println!("\n{}", r.summary());
        r.shutdown();
    }

    let s = p.stats.clone();
    let venue_stats = venue.stats();
    let rep = p.shutdown();

    let secs = started.elapsed().as_secs_f64();
    println!("\n── demo summary ({secs:.1} s) ──");
    println!(
        "venue published {} level changes; applied {} deltas and {} snapshots ({:.0} changes/s)",
        venue_stats.hub.changes,
        s.book.deltas.get(),
        s.book.books.get(),
        s.book.deltas.get() as f64 / secs
    );
    println!("{}", report::health_line(&s));
    for r in &refused {
        println!("{r}");
    }
    if let Some(r) = &rep.recording {
        println!("{}", r.line());
    }
    let storage_failed = report::storage_summary(&rep.storage, secs, s.book.storage_dropped.get());
    let faults = match venue_stats.model_binary_dutch_faults {
        0 => String::new(),
        n => format!(" · binary Dutch book faults {n}"),
    };
    println!(
        "venue mispriced neg-risk events: YES side {}, NO side {}{faults} · engine found {} \
         opportunities · {} {}",
        venue_stats.model_mispricings_yes,
        venue_stats.model_mispricings_no,
        s.strategy.opportunities.get(),
        if a.live {
            "plans sent"
        } else {
            "dry-run intents"
        },
        s.dispatch.intents.get()
    );
    // The sender finishes what it holds while the venue still answers.
    if let Some(d) = desk {
        d.finish()?;
    }
    if let Some(s) = spread {
        s.finish()?;
    }
    venue.shutdown();
    println!();
    report::latency_table(&rep.histograms, Some(&a.hgrm_dir))?;
    match storage_failed {
        Some(e) => anyhow::bail!("storage failed at shutdown: {e}"),
        None => Ok(()),
    }
}

/// Without a catalog: every binary market of the venue, with the rules it publishes, up to
/// `max_markets`.
fn spread_markets(
    venue: &crate::VenueHandle,
    registry: &polyarb::core::AssetRegistry,
    fees: Option<polyarb::core::fees::FeeSchedule>,
    cfg: &polyarb::strategy::spread::SpreadConfig,
) -> anyhow::Result<Vec<polyarb::quoting::desk::DeskMarket>> {
    let url = venue.http_url();
    let mut out = Vec::new();
    for m in venue.markets() {
        if m.token_ids.len() != 2 || out.len() >= cfg.max_markets {
            continue;
        }
        let yes = polyarb::core::TokenId::parse(&m.token_ids[0])
            .with_context(|| format!("token {}", m.token_ids[0]))?;
        let rules = polyarb::cli::trade::rules(&url, &yes, polyarb::cli::paper::TIMEOUT)
            .with_context(|| format!("rules of {}", m.token_ids[0]))?;
        if let Some(d) = polyarb::cli::spread::desk_market(
            registry,
            m.question.chars().take(40).collect(),
            m.condition_id.clone(),
            (&m.token_ids[0], &m.token_ids[1]),
            rules,
            (fees, None),
        ) {
            out.push(d);
        }
    }
    Ok(out)
}
