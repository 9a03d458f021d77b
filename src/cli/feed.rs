//! `polyarb feed`: the engine against a venue it does not own. The markets come from the
//! catalog (Gamma at `[catalog] gamma_url`), the books from `[feed] ws_url`, resync snapshots
//! from `[resync] clob_url`; a live table of books and health until Ctrl-C or `--duration`,
//! then the receive → applied latency table.
//!
//! With `[trading] mode = "live"` the dispatch stage sends: the account is the key in
//! `key_file` (credentials from `creds_file`, else created or derived with L1 auth), the
//! instruments are the catalog's markets with their tick, minimum size, neg-risk flag and fee
//! schedule (markets listed later are sent to the sender before they are subscribed), and
//! orders go through the same live desk as `demo --live` (journal first, legs paired, uneven
//! fills unwound), journaled in `[trading] journal`.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;

use polyarb::adapters::polymarket::http::clob::{ClobClient, ClobConfig, create_or_derive_api_key};
use polyarb::adapters::polymarket::signing::{ApiCredentials, PrivateKey};
use polyarb::catalog::{CatalogStore, CatalogUpdate, MemoryStore, SqliteCatalogStore};
use polyarb::config::source::ConfigSource;
use polyarb::core::AssetRegistry;
use polyarb::engine::catalog_link::CatalogRunner;
use polyarb::engine::{DispatchMode, EngineBuilder, EngineSettings};
use polyarb::exec::instruments::{self, Instruments};
use polyarb::exec::settings::TradingConfig;

use super::dashboard::Dashboard;
use super::paper::{self, DeskSetup, LiveDesk};
use super::{markets, report};

const TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Args, Debug)]
pub struct FeedArgs {
    /// Engine config: a built-in name (`polyarb config list`) or a TOML file, whose relative
    /// paths resolve against its directory ([feed] ws_url, [resync] clob_url and a [catalog] section).
    #[arg(long, default_value = "feed")]
    pub config: String,
    /// Stop after this many seconds (default: run until Ctrl-C).
    #[arg(long)]
    pub duration: Option<f64>,
    /// Where to save the latency histograms (`.hgrm`), relative to the current directory.
    #[arg(long, default_value = "out/feed")]
    pub hgrm_dir: PathBuf,
    /// Redraw interval of the live view, in milliseconds.
    #[arg(long, default_value_t = 500)]
    pub refresh_ms: u64,
    /// Record every frame as received and every decision into this directory (rotating zstd
    /// files; `polyarb replay --recording DIR` audits them). Overrides `[recording] dir`.
    #[arg(long)]
    pub record: Option<PathBuf>,
}

pub fn run(a: FeedArgs) -> anyhow::Result<()> {
    let src = ConfigSource::named(&a.config)?;
    let mut cfg = EngineSettings::from_source(&src)?;
    cfg.recording =
        polyarb::recording::config::resolve(cfg.recording.take(), a.record.clone(), &src.text()?);
    let Some(cc) = &cfg.catalog else {
        bail!(
            "{}: key `catalog`: expected a [catalog] section (gamma_url and filters): the feed \
             takes its markets from the catalog",
            src
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
    let refused = set.refused_lines();
    let mut labels = set.labels;
    let groups = set.groups.len() - held.len();
    let scfg = &cfg.strategy.spread;
    let live = cfg.trading.as_ref().filter(|t| t.is_live());
    if scfg.enabled && live.is_none() {
        bail!(
            "{src}: key `strategy.spread.enabled`: quoting sends orders: expected [trading] \
             mode = \"live\" with its account"
        );
    }
    let (dispatch, desk) = match live {
        Some(t) => {
            let places = polyarb::exec::risk_link::asset_places(&set.registry, &set.groups);
            let risk = (cfg.risk.clone(), places);
            let (d, desk) = open_live(
                &src,
                t,
                &first,
                &set.registry,
                cfg.strategy.no_side,
                risk,
                cfg.chain.as_ref(),
            )?;
            (d, Some(desk))
        }
        None => (DispatchMode::DryRun, None),
    };
    let capacity = set.registry.len().max(cfg.pipeline.max_assets);
    let mut builder = EngineBuilder::new(&cfg, set.registry, set.groups)
        .held(&held)
        .dispatch(dispatch);
    let spread = match live.filter(|_| scfg.enabled) {
        Some(t) => {
            let (client, creds, _) = account(&src, t)?;
            let markets = super::spread::from_catalog(scfg, &first);
            println!("spread   quoting {} markets", markets.len());
            let gate = desk.as_ref().map(|d| d.gate().clone());
            let (tap, run) =
                super::spread::open(scfg, client, creds, &t.user_ws_url, markets, capacity, gate)?;
            builder = builder.spread(tap);
            Some(run)
        }
        None => None,
    };
    let mut p = builder.start().context("starting the pipeline")?;
    // Markets listed while running become tradeable: their instruments reach the sender first.
    p.instruments_tx = desk.as_ref().map(LiveDesk::instruments);
    println!(
        "feed     {} · resync {}",
        cfg.feed.ws_url, cfg.resync.clob_url
    );
    markets::print_banner(
        labels.len(),
        Some(&cc.gamma_url),
        p.registry.len(),
        groups,
        &refused,
    );
    println!("threads  {}", p.topology.describe());
    report::ops_banner(&p);
    if let Some(sc) = &cfg.storage {
        println!(
            "storage  {} (book events, snapshots, trades)",
            sc.path.display()
        );
    }
    if let Some(t) = cfg.trading.as_ref().filter(|t| t.is_live()) {
        println!(
            "trading  live · {} · user channel {}",
            t.clob_url, t.user_ws_url
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
    let mut dash = Dashboard::new(format!("polyarb feed · {}", cfg.feed.ws_url));
    while !stop.load(Ordering::SeqCst) && limit.is_none_or(|l| started.elapsed() < l) {
        std::thread::sleep(Duration::from_millis(a.refresh_ms.max(50)));
        if runner.poll(&mut p) > 0
            && let Some(u) = &runner.last
        {
            labels = markets::catalog_labels(u, p.registry.len());
            if let Some(s) = &spread {
                s.on_catalog(scfg, u);
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
    for r in &refused {
        println!("{r}");
    }
    if let Some(r) = &rep.recording {
        println!("{}", r.line());
    }
    let storage_failed = report::storage_summary(&rep.storage, secs, s.book.storage_dropped.get());
    println!(
        "opportunities {} · {} {}",
        s.strategy.opportunities.get(),
        if desk.is_some() {
            "orders planned"
        } else {
            "dry-run intents"
        },
        s.dispatch.intents.get()
    );
    if let Some(d) = desk {
        d.finish()?;
    }
    if let Some(s) = spread {
        s.finish()?;
    }
    println!();
    report::latency_table(&rep.histograms, Some(&a.hgrm_dir))?;
    match storage_failed {
        Some(e) => anyhow::bail!("storage failed at shutdown: {e}"),
        None => Ok(()),
    }
}

/// The live desk of `[trading]`: the account from its files (paths already resolved against
/// the config), instruments from the catalog.
fn open_live(
    config: &ConfigSource,
    t: &TradingConfig,
    first: &CatalogUpdate,
    registry: &AssetRegistry,
    no_side: bool,
    (risk, places): (
        polyarb::risk::RiskConfig,
        Vec<polyarb::exec::risk_link::AssetPlace>,
    ),
    chain: Option<&polyarb::chain::ChainConfig>,
) -> anyhow::Result<(DispatchMode, LiveDesk)> {
    let journal = t.journal.as_deref().context("trading.journal")?;
    let (client, creds, recycle_key) = account(config, t)?;
    // Capital recycling: the account's wallet is owned by `[chain] key_file`, else the
    // trading key.
    let recycle = match chain.filter(|c| c.recycle.enabled) {
        Some(c) => Some(paper::RecycleSetup {
            chain: c.clone(),
            key: match &c.key_file {
                Some(p) => PrivateKey::from_file(p)
                    .with_context(|| format!("{config}: key `chain.key_file`: {}", p.display()))?,
                None => recycle_key,
            },
            auth: None,
        }),
        None => None,
    };
    paper::open_desk(DeskSetup {
        label: "account",
        client,
        creds,
        user_ws_url: &t.user_ws_url,
        instruments: {
            let mut table = Instruments::new();
            instruments::apply(
                &mut table,
                instruments::from_catalog(first, registry, registry.len()),
            );
            table
        },
        journal,
        pairing: t.pairing(),
        no_side,
        ledger_url: None,
        risk,
        places,
        recycle,
    })
}

/// The account of `[trading]`: its key and credentials from their files (or L1 auth), a CLOB
/// client trading for it, and the key (the owner of its wallet, unless `[chain]` names another).
fn account(
    config: &ConfigSource,
    t: &TradingConfig,
) -> anyhow::Result<(Arc<ClobClient>, ApiCredentials, PrivateKey)> {
    let named =
        |key: &str, p: &std::path::Path| format!("{config}: key `trading.{key}`: {}", p.display());
    // `validate` made sure these are set when the mode is live.
    let key_path = t.key_file.as_deref().context("trading.key_file")?;
    let key = PrivateKey::from_file(key_path).with_context(|| {
        format!(
            "{}: expected a file holding a 0x-hex private key",
            named("key_file", key_path)
        )
    })?;
    let creds = match &t.creds_file {
        Some(p) => ApiCredentials::from_file(p).with_context(|| {
            format!(
                "{}: expected a JSON file with apiKey, secret and passphrase",
                named("creds_file", p)
            )
        })?,
        None => create_or_derive_api_key(&t.clob_url, &key, t.chain_id, 0, TIMEOUT)
            .with_context(|| format!("creating or deriving the API key at {}", t.clob_url))?,
    };
    let recycle_key = key.clone();
    let account = t.account(&config.label())?;
    account.check_key(&config.label(), "trading", key.address())?;
    let mut cc = ClobConfig::new(&t.clob_url);
    cc.chain_id = t.chain_id;
    cc.signature_type = account.signature_type;
    cc.funder = account.funder;
    let client = Arc::new(
        ClobClient::connect(cc, key, creds.clone())
            .with_context(|| format!("connecting to the CLOB at {}", t.clob_url))?,
    );
    Ok((client, creds, recycle_key))
}
