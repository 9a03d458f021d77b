//! `polyarb catalog`: refresh the markets catalog from Gamma (into the SQLite database when
//! one is configured), list it as a table, show one market, acknowledge a rule change.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};

use polyarb::catalog::{
    Catalog, CatalogConfig, CatalogState, CatalogStore, CatalogUpdate, Fetched, GammaSource,
    GroupKey, ListingSource, MemoryStore, NormalizeReport, SqliteCatalogStore,
};
use polyarb::config::source::{ConfigKind, ConfigSource};
use polyarb::storage::StorageConfig;

#[derive(Args, Debug)]
pub struct CatalogArgs {
    #[command(subcommand)]
    pub command: CatalogCommand,
}

/// Where the catalog comes from, for every subcommand.
#[derive(Args, Debug, Clone)]
pub struct SourceArgs {
    /// Config with a `[catalog]` section: a built-in name (`catalog`, `demo-catalog`, `feed`)
    /// or a TOML file (default: the documented defaults, those of `catalog`).
    #[arg(long)]
    pub config: Option<String>,
    /// Gamma base URL (overrides `catalog.gamma_url`; the venue's is http://127.0.0.1:PORT/gamma).
    #[arg(long)]
    pub gamma_url: Option<String>,
    /// Read `GET /events` or `GET /markets` (overrides `catalog.source`).
    #[arg(long, value_parser = ["events", "markets"])]
    pub source: Option<String>,
    /// Override a `[catalog.filters]` key: `--filter min_liquidity=1000 --filter neg_risk=only`
    /// (values are TOML; bare words are strings).
    #[arg(long = "filter", value_name = "KEY=VALUE")]
    pub filters: Vec<String>,
    /// SQLite database the catalog is stored in (overrides `[storage] path` of --config; with
    /// neither, nothing is persisted and rule changes are only seen against `--save`).
    #[arg(long)]
    pub db: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum CatalogCommand {
    /// Fetch and normalize Gamma; print counts, skips, groups, and the diff against `--save`.
    Refresh {
        #[command(flatten)]
        source: SourceArgs,
        /// Snapshot file: the previous one is diffed against (new, changed, closed, rule
        /// changes), then replaced.
        #[arg(long)]
        save: Option<PathBuf>,
        /// Print the full report as JSON instead of the summary.
        #[arg(long)]
        json: bool,
    },
    /// The watched markets as a table: question, outcomes, best prices, tick, neg-risk group.
    List {
        #[command(flatten)]
        source: SourceArgs,
        /// Read a snapshot written by `refresh --save` instead of fetching.
        #[arg(long)]
        snapshot: Option<PathBuf>,
        /// Read the markets stored in the database by earlier refreshes instead of fetching.
        #[arg(long, conflicts_with = "snapshot")]
        stored: bool,
        /// Every market of the catalog, not only those passing the filters.
        #[arg(long)]
        all: bool,
        /// At most this many rows.
        #[arg(long)]
        limit: Option<usize>,
    },
    /// Everything known about one market (condition id, Gamma id, slug or token id).
    Show {
        market: String,
        #[command(flatten)]
        source: SourceArgs,
        #[arg(long)]
        snapshot: Option<PathBuf>,
        #[arg(long, conflicts_with = "snapshot")]
        stored: bool,
    },
    /// Acknowledge a market's rule change: trading in it and its neg-risk group resumes (at
    /// the next refresh of a running engine). Needs the database (--db or [storage] path).
    Ack {
        /// Condition id, Gamma id, slug or token id.
        market: String,
        #[command(flatten)]
        source: SourceArgs,
    },
}

mod ack;
mod view;

use ack::ack;
use view::{Origin, list, short, show};

pub fn run(a: CatalogArgs) -> anyhow::Result<()> {
    match a.command {
        CatalogCommand::Refresh { source, save, json } => refresh(&source, save.as_deref(), json),
        CatalogCommand::List {
            source,
            snapshot,
            stored,
            all,
            limit,
        } => list(&source, Origin::of(snapshot.as_deref(), stored), all, limit),
        CatalogCommand::Show {
            market,
            source,
            snapshot,
            stored,
        } => show(&market, &source, Origin::of(snapshot.as_deref(), stored)),
        CatalogCommand::Ack { market, source } => ack(&market, &source),
    }
}

/// The catalog database of the command line: `--db`, else `[storage] path` of `--config`
/// (only when the file has a `[storage]` section), else none.
fn database(a: &SourceArgs) -> anyhow::Result<Option<SqliteCatalogStore>> {
    let cfg = match (&a.db, &a.config) {
        (Some(p), _) => Some(StorageConfig::default().with_path(p)),
        (None, Some(c)) => {
            let src = ConfigSource::named(c)?;
            if src.table(ConfigKind::Catalog)?.contains_key("storage") {
                Some(StorageConfig::from_source(&src)?)
            } else {
                None
            }
        }
        (None, None) => None,
    };
    cfg.map(|c| {
        SqliteCatalogStore::open(&c)
            .with_context(|| format!("opening the catalog database {}", c.path.display()))
    })
    .transpose()
}

/// The store a command's refresh writes to: the database if there is one, else memory.
fn store_for(a: &SourceArgs) -> anyhow::Result<(Box<dyn CatalogStore>, Option<PathBuf>)> {
    Ok(match database(a)? {
        Some(db) => {
            let p = db.path().to_path_buf();
            (Box::new(db), Some(p))
        }
        None => (Box::new(MemoryStore::new()), None),
    })
}

/// The config with the command line's overrides applied.
fn config(a: &SourceArgs) -> anyhow::Result<CatalogConfig> {
    let src = a.config.as_deref().map(ConfigSource::named).transpose()?;
    let path = src
        .as_ref()
        .map_or_else(|| PathBuf::from("<command line>"), ConfigSource::label);
    let mut table: toml::Table = match &src {
        Some(src) => src.table(ConfigKind::Catalog)?,
        None => toml::Table::new(),
    };
    let catalog = table
        .entry("catalog")
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    let Some(catalog) = catalog.as_table_mut() else {
        bail!("config file {}: `catalog` must be a table", path.display());
    };
    if let Some(u) = &a.gamma_url {
        catalog.insert("gamma_url".into(), toml::Value::String(u.clone()));
    }
    if let Some(s) = &a.source {
        catalog.insert("source".into(), toml::Value::String(s.clone()));
    }
    if !a.filters.is_empty() {
        let filters = catalog
            .entry("filters")
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        let Some(filters) = filters.as_table_mut() else {
            bail!(
                "config file {}: `catalog.filters` must be a table",
                path.display()
            );
        };
        for f in &a.filters {
            let Some((k, v)) = f.split_once('=') else {
                bail!("--filter {f:?}: expected KEY=VALUE");
            };
            let value = toml::from_str::<toml::Table>(&format!("v = {v}"))
                .ok()
                .and_then(|mut t| t.remove("v"))
                .unwrap_or_else(|| toml::Value::String(v.to_string()));
            filters.insert(k.trim().to_string(), value);
        }
    }
    Ok(CatalogConfig::from_table(&path, table)?)
}

fn fetch(
    cfg: &CatalogConfig,
    store: Box<dyn CatalogStore>,
) -> anyhow::Result<(CatalogState, CatalogUpdate)> {
    let mut state = CatalogState::new(cfg.filters.clone(), store);
    let mut source = GammaSource::new(cfg);
    let u = state
        .refresh(&mut source)
        .with_context(|| format!("refreshing from {}", cfg.gamma_url))?;
    Ok((state, u))
}

fn load_snapshot(p: &Path) -> anyhow::Result<Catalog> {
    let text = std::fs::read(p).with_context(|| format!("cannot read snapshot {}", p.display()))?;
    serde_json::from_slice(&text)
        .with_context(|| format!("snapshot {} is not a catalog", p.display()))
}

/// A state holding `catalog` as its current snapshot (selection done with `cfg`'s filters).
fn from_snapshot(
    cfg: &CatalogConfig,
    catalog: Catalog,
    store: Box<dyn CatalogStore>,
) -> (CatalogState, CatalogUpdate) {
    let mut state = CatalogState::new(cfg.filters.clone(), store);
    let at = catalog.fetched_ms;
    let u = state.apply(
        Fetched {
            catalog,
            report: NormalizeReport::default(),
            pages: 0,
            truncated: None,
        },
        at,
    );
    (state, u)
}

fn refresh(a: &SourceArgs, save: Option<&Path>, json: bool) -> anyhow::Result<()> {
    let cfg = config(a)?;
    let previous = match save {
        Some(p) if p.exists() => Some(load_snapshot(p)?),
        _ => None,
    };
    let (store, db) = store_for(a)?;
    let mut state = CatalogState::new(cfg.filters.clone(), store);
    if let Some(prev) = previous.filter(|_| db.is_none()) {
        // Without a database the previous snapshot becomes the baseline: the diff and the
        // rule check are against it. With one, the stored markets are.
        let at = prev.fetched_ms;
        let u = state.apply(
            Fetched {
                catalog: prev,
                report: NormalizeReport::default(),
                pages: 0,
                truncated: None,
            },
            at,
        );
        state.commit(&u);
    }
    let mut source = GammaSource::new(&cfg);
    let u = state
        .refresh(&mut source)
        .with_context(|| format!("refreshing from {}", cfg.gamma_url))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&u.report)?);
    } else {
        print_refresh(&cfg, &u, save, db.as_deref());
    }
    if let Some(p) = save {
        let tmp = p.with_extension("tmp");
        std::fs::write(&tmp, serde_json::to_vec(u.catalog.as_ref())?)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        std::fs::rename(&tmp, p).with_context(|| format!("cannot write {}", p.display()))?;
    }
    Ok(())
}

fn print_refresh(cfg: &CatalogConfig, u: &CatalogUpdate, save: Option<&Path>, db: Option<&Path>) {
    let r = &u.report;
    let src = match cfg.source {
        ListingSource::Events => "events",
        ListingSource::Markets => "markets",
    };
    println!(
        "refreshed {} ({src}): {} pages, {} events, {} markets kept of {} seen, {} skipped{}",
        cfg.gamma_url,
        r.pages,
        r.events,
        r.normalize.markets_kept,
        r.normalize.markets_seen,
        r.normalize.skipped_total(),
        match &r.truncated {
            Some(t) => format!("; TRUNCATED: {t:?}"),
            None => String::new(),
        }
    );
    for (reason, n) in &r.normalize.skipped {
        println!("  skipped {n:>5}  {}", reason.as_str());
    }
    for s in r.normalize.samples.iter().take(5) {
        println!("    e.g. {} {}: {}", s.reason.as_str(), s.market, s.detail);
    }
    let sel = &u.selection;
    let nr = sel
        .group_info
        .iter()
        .filter(|g| matches!(g.key, GroupKey::NegRisk(_)))
        .count();
    println!(
        "watched {} markets ({} assets); {} outcome groups ({} binary, {nr} neg-risk)",
        r.watched,
        sel.watched_assets.len(),
        r.groups,
        r.groups - nr
    );
    if !r.rejected.is_empty() {
        let parts: Vec<String> = r
            .rejected
            .iter()
            .map(|(k, n)| format!("{} {n}", k.as_str()))
            .collect();
        println!("  not watched: {}", parts.join(", "));
    }
    if !r.not_grouped.is_empty() {
        let parts: Vec<String> = r
            .not_grouped
            .iter()
            .map(|(k, n)| format!("{} {n}", k.as_str()))
            .collect();
        println!("  no group: {}", parts.join(", "));
    }
    for (id, why) in &r.refused_groups {
        println!("  group refused {id}: {}", why.as_str());
    }
    if let Some(p) = db {
        let st = &r.stored;
        println!(
            "stored in {}: {} new, {} changed, {} closed, {} resolved{}",
            p.display(),
            st.new.len(),
            st.changed.len(),
            st.closed.len(),
            st.resolved.len(),
            if st.refused.is_empty() {
                String::new()
            } else {
                format!(", {} refused", st.refused.len())
            }
        );
        for c in st.changed.iter().take(10) {
            let fields: Vec<&str> = c.fields.iter().map(|f| f.as_str()).collect();
            let q = u
                .catalog
                .market(&c.condition_id)
                .map(|m| short(&m.question, 50))
                .unwrap_or_default();
            println!("  changed {} {q:?}: {}", c.condition_id, fields.join(", "));
        }
        if st.changed.len() > 10 {
            println!("  … and {} more (--json for all)", st.changed.len() - 10);
        }
        for (id, why) in st.refused.iter().take(5) {
            println!("  refused {id}: {why}");
        }
    } else if let Some(p) = save {
        let d = &r.diff;
        println!(
            "since {}: {} new, {} changed, {} closed, {} gone",
            p.display(),
            d.new.len(),
            d.changed.len(),
            d.closed.len(),
            d.gone.len()
        );
        for c in d.changed.iter().take(10) {
            let fields: Vec<&str> = c.fields.iter().map(|f| f.as_str()).collect();
            let q = u
                .catalog
                .market(&c.condition_id)
                .map(|m| short(&m.question, 50))
                .unwrap_or_default();
            println!("  changed {} {q:?}: {}", c.condition_id, fields.join(", "));
        }
        if d.changed.len() > 10 {
            println!("  … and {} more (--json for all)", d.changed.len() - 10);
        }
    }
    for c in &r.rule_changes {
        let m = u.catalog.market(&c.condition_id);
        println!(
            "RULES CHANGED {} {:?} ({}): {} -> {}; halted with its neg-risk group until acknowledged",
            c.condition_id,
            m.map(|m| short(&m.question, 50)).unwrap_or_default(),
            c.detail,
            c.old_hash.map(|h| h.short()).unwrap_or_default(),
            c.new_hash.short()
        );
    }
    if !u.selection.halted.is_empty() {
        println!(
            "halted: {} markets (rule changes pending acknowledgement: polyarb catalog ack MARKET)",
            u.selection.halted.len()
        );
    }
    for e in &r.store_errors {
        println!("STORE ERROR: {e}");
    }
    if let Some(p) = save {
        println!("saved {}", p.display());
    }
}
