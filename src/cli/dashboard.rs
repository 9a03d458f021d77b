//! The live terminal view of a running pipeline: totals, live latency, the markets closest to
//! a Dutch book, and the latest dry-run intents. It reads only the pipeline's counters and its
//! published read-only view, never the hot path's state.

use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::time::Instant;

use polyarb::book::BookState;
use polyarb::book_stage::AssetView;
use polyarb::core::{AssetIndex, Price};
use polyarb::engine::Pipeline;
use polyarb::exec::OrderIntent;

use super::markets::MarketLabel;
use super::report::us;

pub struct Dashboard {
    title: String,
    started: Instant,
    tty: bool,
    last_frames: u64,
    last_deltas: u64,
    last_at: Instant,
    recent: VecDeque<String>,
    pub intents: u64,
    /// The breakers line last printed to a pipe.
    last_risk: String,
    /// The spread desk's quotes and inventory per market (empty: not quoting).
    pub quotes: Vec<String>,
}

impl Dashboard {
    pub fn new(title: String) -> Self {
        Self {
            title,
            started: Instant::now(),
            tty: std::io::stdout().is_terminal(),
            last_frames: 0,
            last_deltas: 0,
            last_at: Instant::now(),
            recent: VecDeque::new(),
            intents: 0,
            last_risk: String::new(),
            quotes: Vec::new(),
        }
    }

    /// Redraws (a terminal) or prints one status line (a pipe or file).
    pub fn draw(&mut self, p: &Pipeline, labels: &[MarketLabel]) -> std::io::Result<()> {
        let s = &p.stats;
        let now = Instant::now();
        let dt = now.duration_since(self.last_at).as_secs_f64().max(1e-3);
        let frames = s.parse.frames.get();
        let deltas = s.book.deltas.get();
        let fps = (frames - self.last_frames) as f64 / dt;
        let dps = (deltas - self.last_deltas) as f64 / dt;
        (self.last_frames, self.last_deltas, self.last_at) = (frames, deltas, now);
        self.collect_intents(p);
        let apply = s.book.apply_live.read();
        let detect = s.strategy.detect_live.read();
        let e2e = s.dispatch.e2e_live.read();
        let totals = format!(
            "frames {frames} ({fps:.0}/s)  deltas {deltas} ({dps:.0}/s)  invalid {}  mismatch {}  crossed {}  resyncs {}  reconnects {}  healthy {}/{}",
            s.parse.invalid.get(),
            s.book.mismatch.get(),
            s.book.crossed.get(),
            s.book.resyncs_completed.get(),
            s.feed.reconnects.get(),
            s.book.healthy_assets.get(),
            s.feed.subscribed_assets.get(),
        );
        let latency = format!(
            "received→book p50 {} p99 {} · received→opportunity p50 {} · received→intent p50 {} p99 {}",
            us(apply.p50),
            us(apply.p99),
            us(detect.p50),
            us(e2e.p50),
            us(e2e.p99)
        );
        // Every risk breaker (a live dispatch publishes them; a dry run has none).
        let breakers = p.replica.breakers.snapshot();
        let risk = (!breakers.is_empty())
            .then(|| format!("breakers {}", polyarb::obs::status::breaker_line(&breakers)));
        let elapsed = self.started.elapsed().as_secs_f64();
        let mut out = std::io::stdout().lock();
        if !self.tty {
            writeln!(
                out,
                "[{elapsed:6.1}s] {totals} · opportunities {} intents {}",
                s.strategy.opportunities.get(),
                self.intents
            )?;
            // A pipe gets the breakers at start and whenever one changes.
            if let Some(r) = risk.filter(|r| *r != self.last_risk) {
                writeln!(out, "[{elapsed:6.1}s] {r}")?;
                self.last_risk = r;
            }
            return out.flush();
        }
        let mut screen = String::new();
        let _ = writeln!(
            screen,
            "\x1b[H\x1b[2J{} · {elapsed:.1} s · Ctrl-C to stop",
            self.title
        );
        let _ = writeln!(screen, "{totals}");
        let _ = writeln!(screen, "latency (live) {latency}");
        if let Some(r) = &risk {
            let _ = writeln!(screen, "{r}");
        }
        let _ = writeln!(screen);
        if let Some(view) = p.latest_view() {
            self.markets(&mut screen, &view.assets, labels);
            p.recycle_view(view);
        }
        let _ = writeln!(
            screen,
            "\nopportunities {} · dry-run intents {} (latest first):",
            s.strategy.opportunities.get(),
            self.intents
        );
        for line in &self.recent {
            let _ = writeln!(screen, "  {line}");
        }
        if !self.quotes.is_empty() {
            let _ = writeln!(screen, "\nspread quotes and inventory:");
            for line in &self.quotes {
                let _ = writeln!(screen, "  {line}");
            }
        }
        out.write_all(screen.as_bytes())?;
        out.flush()
    }

    /// The markets whose asks sum lowest (closest to, or in, a Dutch book).
    fn markets(&self, screen: &mut String, view: &[AssetView], labels: &[MarketLabel]) {
        let by_asset: HashMap<AssetIndex, &AssetView> = view.iter().map(|a| (a.asset, a)).collect();
        let mut rows: Vec<(u64, String)> = labels
            .iter()
            .filter(|l| l.assets.len() == 2)
            .filter_map(|l| {
                let (y, n) = (by_asset.get(&l.assets[0])?, by_asset.get(&l.assets[1])?);
                let px = |p: Option<(Price, _)>| p.map_or("-".into(), |(p, _)| p.to_string());
                let sum = match (y.best_ask, n.best_ask) {
                    (Some((a, _)), Some((b, _))) => u64::from(a.0) + u64::from(b.0),
                    _ => u64::MAX,
                };
                let state = |a: &AssetView| match a.state {
                    BookState::Ok => "ok".to_string(),
                    BookState::Empty => "empty".to_string(),
                    BookState::ResyncNeeded(r) => r.as_str().to_string(),
                };
                let q: String = l.question.chars().take(44).collect();
                let sum_s = if sum == u64::MAX {
                    "-".into()
                } else {
                    polyarb::core::decimal::format_micros(sum)
                };
                Some((
                    sum,
                    format!(
                        "{q:<44} {:>6}/{:<6} {:>6}/{:<6} {:>7} {:>14} {:>6}",
                        px(y.best_bid),
                        px(y.best_ask),
                        px(n.best_bid),
                        px(n.best_ask),
                        sum_s,
                        format!("{}/{}", state(y), state(n)),
                        format!("{}ms", y.age_ms.min(n.age_ms).min(999_999)),
                    ),
                ))
            })
            .collect();
        rows.sort_by_key(|r| r.0);
        let _ = writeln!(
            screen,
            "{:<44} {:>13} {:>13} {:>7} {:>14} {:>6}",
            "market (lowest YES ask + NO ask first)",
            "YES bid/ask",
            "NO bid/ask",
            "Σ ask",
            "state",
            "age"
        );
        for (_, r) in rows.iter().take(12) {
            let _ = writeln!(screen, "{r}");
        }
    }

    /// Drains the intent journal; the legs of one plan are journaled together.
    fn collect_intents(&mut self, p: &Pipeline) {
        let mut plans: Vec<(u64, Vec<OrderIntent>)> = Vec::new();
        for i in p.drain_intents(100_000) {
            self.intents += 1;
            match plans.last_mut() {
                Some((id, legs)) if *id == i.plan_id => legs.push(i),
                _ => plans.push((i.plan_id, vec![i])),
            }
        }
        // A live dispatch journals nothing here: its stage counts the legs it planned.
        self.intents = self.intents.max(p.stats.dispatch.intents.get());
        for (id, legs) in plans {
            let text = legs
                .iter()
                .map(|l| {
                    let token = p
                        .registry
                        .info(l.asset)
                        .map_or("?".into(), |a| short(&a.token_str));
                    format!("BUY {} {token} @{}", l.size, l.price)
                })
                .collect::<Vec<_>>()
                .join(" + ");
            let kind = legs.first().map_or("", |l| l.order_type.as_str());
            self.recent.push_front(format!("plan {id} {kind}: {text}"));
        }
        self.recent.truncate(6);
    }
}

fn short(token: &str) -> String {
    format!("…{}", &token[token.len().saturating_sub(6)..])
}
