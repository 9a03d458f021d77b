//! `catalog list` and `catalog show`: the catalog as a table, and one market in full (with its
//! rule-hash history and change log when stored).

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::bail;

use polyarb::catalog::{
    Catalog, CatalogConfig, CatalogState, CatalogUpdate, GroupKey, Market, Selection,
};
use polyarb::core::Price;

use super::{SourceArgs, config, fetch, from_snapshot, load_snapshot, store_for};

/// Where `list` and `show` take the catalog from.
#[derive(Clone, Copy)]
pub(super) enum Origin<'a> {
    /// Fetch from Gamma now (a refresh: stored when there is a database).
    Fetch,
    /// A snapshot file written by `refresh --save`.
    Snapshot(&'a Path),
    /// The markets stored in the database.
    Stored,
}

impl<'a> Origin<'a> {
    pub(super) fn of(snapshot: Option<&'a Path>, stored: bool) -> Self {
        match (snapshot, stored) {
            (Some(p), _) => Self::Snapshot(p),
            (None, true) => Self::Stored,
            (None, false) => Self::Fetch,
        }
    }
}

fn catalog_for(
    a: &SourceArgs,
    origin: Origin<'_>,
) -> anyhow::Result<(CatalogConfig, CatalogState, CatalogUpdate)> {
    let cfg = config(a)?;
    let (store, db) = store_for(a)?;
    let (state, u) = match origin {
        Origin::Snapshot(p) => from_snapshot(&cfg, load_snapshot(p)?, store),
        Origin::Fetch => fetch(&cfg, store)?,
        Origin::Stored => {
            if db.is_none() {
                bail!("--stored needs a database: --db PATH or a [storage] section in --config");
            }
            let markets = store.markets()?;
            let catalog = Catalog {
                fetched_ms: polyarb::obs::clock::unix_ms(),
                complete: true,
                markets: markets.into_iter().map(|m| (m.condition_id, m)).collect(),
                events: Default::default(),
            };
            from_snapshot(&cfg, catalog, store)
        }
    };
    Ok((cfg, state, u))
}

/// At most `n` characters, with an ellipsis when cut.
pub(super) fn short(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

fn price(p: Option<Price>) -> String {
    p.map_or_else(|| "-".into(), |p| p.to_string())
}

/// UNIX nanoseconds, readable.
pub(super) fn ns_time(ns: u64) -> String {
    polyarb::storage::time::format_ns(ns)
}

fn short_id(id: &impl ToString) -> String {
    let s = id.to_string();
    if s.len() > 12 {
        format!("{}…{}", &s[..6], &s[s.len() - 4..])
    } else {
        s
    }
}

fn flags(m: &Market, sel: &Selection) -> String {
    let mut f = Vec::new();
    if sel.halted.contains(&m.condition_id) {
        f.push("HALTED");
    }
    if m.status != polyarb::catalog::MarketStatus::Open {
        f.push(m.status.as_str());
    }
    if !m.accepting_orders {
        f.push("not-accepting");
    }
    if m.fees.is_none() {
        f.push("fees?");
    }
    if let Some(n) = &m.neg_risk {
        if n.other {
            f.push("other");
        }
        if n.placeholder {
            f.push("placeholder");
        }
        if n.augmented {
            f.push("augmented");
        }
    }
    f.join(",")
}

pub(super) fn list(
    a: &SourceArgs,
    origin: Origin<'_>,
    all: bool,
    limit: Option<usize>,
) -> anyhow::Result<()> {
    let (_, _, u) = catalog_for(a, origin)?;
    let sel = &u.selection;
    let rows: Vec<&Market> = u
        .catalog
        .markets
        .values()
        .filter(|m| all || sel.watched.contains(&m.condition_id))
        .collect();
    // Plain markets first, then each neg-risk event's questions together; by Gamma id within.
    let mut rows = rows;
    let gamma_id = |m: &Market| m.gamma_id.parse::<u64>().unwrap_or(u64::MAX);
    rows.sort_by_key(|m| (m.neg_risk_market_id().copied(), gamma_id(m), m.condition_id));
    let shown = limit.unwrap_or(usize::MAX).min(rows.len());
    println!(
        "{:<44} {:<14} {:>7} {:>7} {:>6} {:>5} {:<13} FLAGS",
        "QUESTION", "OUTCOMES", "BID", "ASK", "TICK", "MIN", "NEG-RISK"
    );
    for m in &rows[..shown] {
        let outcomes: Vec<&str> = m.outcomes.iter().map(|o| o.name.as_str()).collect();
        let row = format!(
            "{:<44} {:<14} {:>7} {:>7} {:>6} {:>5} {:<13} {}",
            short(&m.question, 44),
            short(&outcomes.join("/"), 14),
            price(m.best_bid),
            price(m.best_ask),
            m.tick.to_string(),
            m.min_order_size.to_string(),
            m.neg_risk_market_id()
                .map(short_id)
                .unwrap_or_else(|| "-".into()),
            flags(m, sel)
        );
        println!("{}", row.trim_end());
    }
    let nr: BTreeSet<_> = rows.iter().filter_map(|m| m.neg_risk_market_id()).collect();
    println!(
        "{} of {} markets{} ({} neg-risk groups); {} outcome groups tradeable",
        shown,
        rows.len(),
        if all { "" } else { " passing the filters" },
        nr.len(),
        sel.groups.len()
    );
    Ok(())
}

pub(super) fn show(key: &str, a: &SourceArgs, origin: Origin<'_>) -> anyhow::Result<()> {
    let (cfg, state, u) = catalog_for(a, origin)?;
    let Some(m) = u.catalog.find(key) else {
        bail!(
            "no market {key:?} in the catalog ({} markets)",
            u.catalog.markets.len()
        );
    };
    let sel = &u.selection;
    let yes = |b: bool, t: &'static str| if b { t } else { "" };
    println!("question      {}", m.question);
    println!("condition id  {}", m.condition_id);
    println!("gamma id      {}    slug {}", m.gamma_id, m.slug);
    if let Some(e) = u.catalog.event_of(m) {
        println!("event         {} {} {:?}", e.id, e.slug, e.title);
    }
    println!(
        "status        {}{}{}{}{}",
        m.status.as_str(),
        yes(m.active, ", active"),
        yes(m.accepting_orders, ", accepting orders"),
        yes(m.order_book_enabled, ", order book"),
        yes(m.archived, ", archived"),
    );
    for (i, o) in m.outcomes.iter().enumerate() {
        println!(
            "outcome {i}     {:<10} {:>8}  token {}",
            o.name,
            price(o.price),
            o.token
        );
    }
    println!("tick / min    {} / {} shares", m.tick, m.min_order_size);
    println!(
        "best          bid {}  ask {}  last {}",
        price(m.best_bid),
        price(m.best_ask),
        price(m.last_trade)
    );
    match m.fees {
        Some(f) if f.rate_ppm == 0 => println!("fees          none"),
        Some(f) => println!(
            "fees          rate {} exponent {}{} ({})",
            polyarb::core::decimal::format_micros(u64::from(f.rate_ppm)),
            f.exponent,
            yes(f.taker_only, ", taker only"),
            m.fee_type.as_deref().unwrap_or("-")
        ),
        None => println!(
            "fees          enabled, schedule unknown ({}): not traded",
            m.fee_type.as_deref().unwrap_or("-")
        ),
    }
    if let Some(n) = &m.neg_risk {
        let members = u.catalog.neg_risk_members(&n.market_id).len();
        println!(
            "neg-risk      {} ({members} questions here){}{}{}",
            n.market_id,
            yes(n.augmented, ", augmented event"),
            yes(n.other, ", the \"Other\" question"),
            yes(n.placeholder, ", placeholder")
        );
    }
    println!("end date      {}", m.end_date.as_deref().unwrap_or("-"));
    // Informational figures (f64): never used for money.
    println!(
        "volume        {} (24h {}), liquidity {}",
        m.volume.map_or("-".into(), |v| format!("{v:.2}")),
        m.volume_24h.map_or("-".into(), |v| format!("{v:.2}")),
        m.liquidity.map_or("-".into(), |v| format!("{v:.2}"))
    );
    if !m.tags.is_empty() {
        println!("tags          {}", m.tags.join(", "));
    }
    println!("rule hash     {}", m.rule_hash);
    let now_s = (u.catalog.fetched_ms / 1000) as i64;
    let slug = u.catalog.event_of(m).map(|e| e.slug.as_str());
    match cfg.filters.check(m, slug, now_s) {
        Ok(()) => println!("filters       pass (watched)"),
        Err(r) => println!("filters       rejected: {}", r.as_str()),
    }
    if sel.halted.contains(&m.condition_id) {
        println!("trading       HALTED (rule change pending acknowledgement)");
    }
    for c in state.store().rule_hash_history(&m.condition_id)? {
        println!(
            "rule history  {} {} -> {} ({}){}",
            ns_time(c.detected_ns),
            c.old_hash.map_or_else(|| "-".into(), |h| h.short()),
            c.new_hash.short(),
            c.detail,
            match c.acked_ns {
                Some(t) if c.old_hash.is_some() => format!(", acknowledged {}", ns_time(t)),
                Some(_) => String::new(),
                None => ", PENDING".into(),
            }
        );
    }
    for c in state.store().change_log(&m.condition_id)? {
        println!(
            "stored        {} {}{}",
            ns_time(c.detected_ns),
            c.kind,
            if c.fields.is_empty() {
                String::new()
            } else {
                format!(": {}", c.fields)
            }
        );
    }
    for (g, info) in sel.groups_of(&m.condition_id) {
        let kind = match info.key {
            GroupKey::Binary(_) => "binary (YES + NO)".to_string(),
            GroupKey::NegRisk(nr) => format!("neg-risk {} (every YES)", short_id(&nr)),
        };
        println!(
            "group #{:<6} {kind}: {} legs, min order {}",
            g.id,
            g.assets.len(),
            g.min_order_size
        );
    }
    println!(
        "resolution    {}",
        if m.resolution_source.is_empty() {
            "-"
        } else {
            &m.resolution_source
        }
    );
    println!("description");
    for line in m.description.lines() {
        println!("{}", format!("  {line}").trim_end());
    }
    Ok(())
}
