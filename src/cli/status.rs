//! `polyarb status`: a running engine's `/status` as tables: the feed's health, books by
//! state (the unhealthy ones listed), strategies, live latency, rings, storage, risk
//! breakers and positions.

use std::fmt::Write as _;
use std::time::Duration;

use anyhow::Context;
use clap::Args;

use polyarb::obs::status::StatusReport;

#[derive(Args, Debug)]
pub struct StatusArgs {
    /// The engine's endpoint (`[obs] listen`).
    #[arg(long, default_value = "http://127.0.0.1:9184")]
    pub url: String,
    /// Books listed at most (unhealthy first, then the quietest).
    #[arg(long, default_value_t = 20)]
    pub books: usize,
    /// Print the JSON document as served instead of tables.
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: StatusArgs) -> anyhow::Result<()> {
    let url = format!("{}/status", a.url.trim_end_matches('/'));
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(5)))
        .build()
        .into();
    let text = agent
        .get(&url)
        .call()
        .with_context(|| format!("GET {url}: is an engine running with [obs] serve = true?"))?
        .body_mut()
        .read_to_string()
        .with_context(|| format!("GET {url}: reading the answer"))?;
    if a.json {
        println!("{text}");
        return Ok(());
    }
    let r: StatusReport =
        serde_json::from_str(&text).with_context(|| format!("GET {url}: not a status document"))?;
    print!("{}", render(&r, a.books));
    Ok(())
}

fn dash(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("-")
}

/// The tables of a status document.
pub fn render(r: &StatusReport, max_books: usize) -> String {
    let mut o = String::new();
    let f = &r.feed;
    let _ = writeln!(
        o,
        "polyarb {} · up {:.0} s · dispatch {} · threads {}",
        r.version, r.uptime_s, r.dispatch, r.topology
    );
    let _ = writeln!(
        o,
        "feed     {} · {} · connections open {} · assets {} · connects {} reconnects {} failures {} dead {} silent {}",
        f.health,
        f.ws_url,
        f.open_connections,
        f.subscribed_assets,
        f.connects,
        f.reconnects,
        f.connect_failures,
        f.dead_connections,
        f.silent_connections
    );
    let _ = writeln!(
        o,
        "frames   {} received · {} dropped · {} invalid",
        f.frames, f.frames_dropped, f.invalid_frames
    );
    for c in &r.connections {
        let _ = writeln!(
            o,
            "conn {:<3} {:<10} assets {:<4} last rx {:>7} ms ago · open {:>8} s · drops {}",
            c.id,
            c.state,
            c.assets,
            c.last_rx_ms.map_or("-".into(), |v| v.to_string()),
            c.open_s.map_or("-".into(), |v| format!("{v:.0}")),
            c.drops
        );
    }
    let b = &r.books;
    let _ = writeln!(
        o,
        "books    {} ok · {} resync needed · {} empty · {} retired",
        b.ok, b.resync_needed, b.empty, b.retired
    );
    let mut rows: Vec<_> = b.assets.iter().collect();
    // Unhealthy first, then the longest silent.
    rows.sort_by_key(|a| {
        (
            a.state == "ok",
            std::cmp::Reverse(a.age_ms.unwrap_or(u64::MAX)),
        )
    });
    if !rows.is_empty() {
        let _ = writeln!(
            o,
            "\n{:<6} {:<14} {:<14} {:<16} {:>8} {:>8} {:>9} {:>8} {:>7} {:>7}",
            "asset",
            "token",
            "market",
            "state",
            "bid",
            "ask",
            "age ms",
            "events",
            "invalid",
            "resyncs"
        );
        for a in rows.iter().take(max_books) {
            let state = match &a.reason {
                Some(r) => format!("{} ({r})", a.state),
                None => a.state.clone(),
            };
            let _ = writeln!(
                o,
                "{:<6} {:<14} {:<14} {:<16} {:>8} {:>8} {:>9} {:>8} {:>7} {:>7}",
                a.asset,
                short(&a.token),
                short(&a.market),
                state,
                dash(&a.bid),
                dash(&a.ask),
                a.age_ms.map_or("-".into(), |v| v.to_string()),
                a.events,
                a.invalidations,
                a.resyncs
            );
        }
        if rows.len() > max_books {
            let _ = writeln!(o, "… {} more (--books N)", rows.len() - max_books);
        }
    }
    let _ = writeln!(
        o,
        "\n{:<12} {:>10} {:>14} {:>8} {:>8} {:>8} {:>8} {:>10}",
        "strategy", "tops", "opportunities", "halted", "held", "dropped", "plans", "intents"
    );
    for s in &r.strategies {
        let _ = writeln!(
            o,
            "{:<12} {:>10} {:>14} {:>8} {:>8} {:>8} {:>8} {:>10}",
            s.name, s.tops, s.opportunities, s.halted, s.held, s.dropped, s.plans, s.intents
        );
    }
    let _ = writeln!(
        o,
        "\n{:<26} {:>10} {:>10} {:>10} {:>10}",
        "latency (live, µs)", "count", "p50", "p99", "max"
    );
    for l in &r.latency {
        let _ = writeln!(
            o,
            "{:<26} {:>10} {:>10.1} {:>10.1} {:>10.1}",
            l.name, l.count, l.p50_us, l.p99_us, l.max_us
        );
    }
    let _ = writeln!(
        o,
        "\n{:<22} {:>10} {:>8} {:>12} {:>8}",
        "ring", "capacity", "depth", "pushed", "full"
    );
    for g in &r.rings {
        let _ = writeln!(
            o,
            "{:<22} {:>10} {:>8} {:>12} {:>8}",
            g.name, g.capacity, g.depth, g.pushed, g.full
        );
    }
    match &r.storage {
        Some(s) => {
            let _ = writeln!(
                o,
                "\nstorage  queue {} (max {}) · rows {} · dropped {} · trading {} · market data {}",
                s.queue_depth,
                s.queue_depth_max,
                s.rows_written,
                s.dropped,
                if s.trading_ok { "ok" } else { "HALTED" },
                if s.market_data_ok { "ok" } else { "failing" }
            );
        }
        None => {
            let _ = writeln!(o, "\nstorage  off");
        }
    }
    if r.breakers.is_empty() {
        let _ = writeln!(o, "breakers none published (dry run: no risk controls)");
    } else {
        let _ = write!(o, "\n{}", polyarb::obs::status::breaker_table(&r.breakers));
    }
    match &r.positions {
        None => {
            let _ = writeln!(o, "positions none published");
        }
        Some(p) => {
            let m = |v: i64| {
                let s = polyarb::core::decimal::format_micros(v.unsigned_abs());
                if v < 0 { format!("-{s}") } else { s }
            };
            let _ = writeln!(
                o,
                "positions {} · realized PnL {} · unrealized {}",
                p.positions.len(),
                m(p.realized_pnl_micros),
                m(p.unrealized_pnl_micros)
            );
            for row in &p.positions {
                let _ = writeln!(
                    o,
                    "  {:<14} {:>14} shares @ {}",
                    short(&row.token),
                    m(row.shares_micros),
                    polyarb::core::decimal::format_micros(row.avg_price_micros)
                );
            }
        }
    }
    o
}

/// A long id's tail, enough to tell ids apart in a table.
fn short(id: &str) -> String {
    if id.len() <= 14 {
        id.to_string()
    } else {
        format!("…{}", &id[id.len() - 12..])
    }
}
