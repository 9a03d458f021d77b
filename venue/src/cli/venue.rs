//! `polyarb venue`: run the local Polymarket double until Ctrl-C (or `--duration`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;

use crate::{SourceKind, Venue, VenueConfig};
use polyarb::config::source::ConfigSource;

#[derive(Args, Debug)]
pub struct VenueArgs {
    /// Venue config: a built-in name (`venue`) or a TOML file, whose relative paths resolve
    /// against its directory; without it, the documented defaults (those of `venue`).
    #[arg(long)]
    pub config: Option<String>,
    /// Override `[source] changes_per_s` (0 = flood).
    #[arg(long)]
    pub rate: Option<u64>,
    /// Override `[server] ws_port`.
    #[arg(long)]
    pub ws_port: Option<u16>,
    /// Override `[server] http_port`.
    #[arg(long)]
    pub http_port: Option<u16>,
    /// Stop after this many seconds (default: run until Ctrl-C).
    #[arg(long)]
    pub duration: Option<f64>,
}

pub fn run(a: VenueArgs) -> anyhow::Result<()> {
    let mut cfg = match &a.config {
        Some(name) => VenueConfig::from_source(&ConfigSource::named(name)?)?,
        None => VenueConfig::default(),
    };
    if let Some(r) = a.rate {
        cfg.source.changes_per_s = r;
        cfg.source.replay_frames_per_s = r;
    }
    if let Some(p) = a.ws_port {
        cfg.server.ws_port = p;
    }
    if let Some(p) = a.http_port {
        cfg.server.http_port = p;
    }
    let venue = Venue::start(cfg.clone()).context("starting the venue")?;
    let stats = venue.stats();
    let source = match cfg.source.kind {
        SourceKind::Synthetic => format!(
            "synthetic seed {} at {} changes/s",
            cfg.model.seed,
            if cfg.source.changes_per_s == 0 {
                "flood".to_string()
            } else {
                cfg.source.changes_per_s.to_string()
            }
        ),
        SourceKind::Replay => format!(
            "replay of {}",
            cfg.source
                .replay_file
                .as_deref()
                .unwrap_or_else(|| "?".as_ref())
                .display()
        ),
    };
    println!("venue ws   {}", venue.ws_url());
    println!(
        "venue http {}  (GET /book, POST /books, /admin/books, /admin/markets, /admin/stats, POST /admin/fault, POST /admin/source)",
        venue.http_url()
    );
    println!(
        "venue has {} markets, {} assets; source: {source}",
        venue.markets().len(),
        stats.assets
    );

    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, stop.clone()).context("installing the signal handler")?;
    }
    let t0 = Instant::now();
    let deadline = a.duration.map(|s| t0 + Duration::from_secs_f64(s.max(0.0)));
    while !stop.load(Ordering::Relaxed) && deadline.is_none_or(|d| Instant::now() < d) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let s = venue.stats();
    let secs = t0.elapsed().as_secs_f64().max(1e-9);
    println!(
        "venue stopping after {secs:.1} s: {} events, {} level changes ({:.0}/s), {} frames queued, {} written, {} connections accepted",
        s.hub.events,
        s.hub.changes,
        s.hub.changes as f64 / secs,
        s.hub.frames,
        s.io.frames_written,
        s.io.accepted
    );
    venue.shutdown();
    Ok(())
}
