//! The process's logs: human text on stderr (the terminal, colour only on a tty), and once an
//! engine config names `[obs] log_dir`, JSON lines to files rotated by tracing-appender and
//! written by its worker thread, so a thread that logs never waits for the disk.
//!
//! Events an operator audits carry their ids as fields and a target of their own (one JSON
//! object per line, fields flattened): `polyarb::order` (`plan`, `client_oid`, `order_id`,
//! `outcome`), `polyarb::fill` (`order_id`, `trade_id`, `asset_id`, `price`, `size`),
//! `polyarb::resync` (`asset`, `token`, `market`, `reason`), `polyarb::risk` (`breaker`,
//! `state`, `plan`, `reason`) and `polyarb::obs` (the endpoint's address).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Mutex, OnceLock};

use tracing::Metadata;
use tracing::level_filters::LevelFilter;
use tracing_appender::non_blocking::{ErrorCounter, NonBlocking, WorkerGuard};
use tracing_subscriber::layer::{Context, Filter, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use super::config::{LogRotation, ObsConfig};

/// The file writer once attached, and its guard (taken by [`finish`] to flush).
static FILE: OnceLock<(NonBlocking, PathBuf)> = OnceLock::new();
static GUARD: Mutex<Option<WorkerGuard>> = Mutex::new(None);
/// The file level: 0 = off (not attached), 1 error … 5 trace.
static FILE_LEVEL: AtomicU8 = AtomicU8::new(0);

fn file_level() -> LevelFilter {
    match FILE_LEVEL.load(Ordering::Relaxed) {
        1 => LevelFilter::ERROR,
        2 => LevelFilter::WARN,
        3 => LevelFilter::INFO,
        4 => LevelFilter::DEBUG,
        5 => LevelFilter::TRACE,
        _ => LevelFilter::OFF,
    }
}

/// Lets events through to the file layer only once it is attached, at its level.
struct FileFilter;

impl<S> Filter<S> for FileFilter {
    fn enabled(&self, meta: &Metadata<'_>, _: &Context<'_, S>) -> bool {
        file_level() >= *meta.level()
    }

    fn callsite_enabled(&self, _: &'static Metadata<'static>) -> tracing::subscriber::Interest {
        // The level changes when the file is attached: never cache a callsite's answer.
        tracing::subscriber::Interest::sometimes()
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(file_level())
    }
}

/// The file layer's writer: the non-blocking appender once attached, else nothing.
#[derive(Clone, Copy)]
struct FileWriter;

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for FileWriter {
    type Writer = Box<dyn std::io::Write + 'a>;

    fn make_writer(&'a self) -> Self::Writer {
        match FILE.get() {
            Some((w, _)) => Box::new(w.clone()),
            None => Box::new(std::io::sink()),
        }
    }
}

/// Installs the process's logging: text on stderr at `verbose` (0 warn, 1 info, 2 debug,
/// 3+ trace; `RUST_LOG`-style directives are not read), and the JSON file layer, idle until
/// [`attach`]. A second call does nothing.
pub fn init(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_new(format!("polyarb={level},{level}"))
        .unwrap_or_else(|_| EnvFilter::new("warn"));
    let terminal = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        // Colour codes only for a terminal: piped or redirected logs stay plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_filter(filter);
    let file = tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_thread_names(true)
        .with_writer(FileWriter)
        .with_filter(FileFilter);
    let _ = tracing_subscriber::registry()
        .with(terminal)
        .with(file)
        .try_init();
}

/// Starts writing JSON lines under `cfg.log_dir` (a no-op without one, and after the first
/// call); returns the directory written to.
pub fn attach(cfg: &ObsConfig) -> Result<Option<PathBuf>, String> {
    let Some(dir) = &cfg.log_dir else {
        return Ok(None);
    };
    if let Some((_, d)) = FILE.get() {
        return Ok(Some(d.clone()));
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let rotation = match cfg.log_rotation {
        LogRotation::Minutely => tracing_appender::rolling::Rotation::MINUTELY,
        LogRotation::Hourly => tracing_appender::rolling::Rotation::HOURLY,
        LogRotation::Daily => tracing_appender::rolling::Rotation::DAILY,
        LogRotation::Never => tracing_appender::rolling::Rotation::NEVER,
    };
    let mut builder = tracing_appender::rolling::RollingFileAppender::builder()
        .rotation(rotation)
        .filename_prefix("polyarb")
        .filename_suffix("jsonl");
    if cfg.log_max_files > 0 {
        builder = builder.max_log_files(cfg.log_max_files);
    }
    let appender = builder
        .build(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    // Lossy: when the writer thread falls 128k lines behind, lines are dropped (counted,
    // `dropped_lines`) rather than stalling the thread that logs.
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(true)
        .thread_name("log-writer")
        .finish(appender);
    if FILE.set((writer, dir.clone())).is_err() {
        return Ok(Some(dir.clone()));
    }
    *GUARD.lock().unwrap_or_else(|e| e.into_inner()) = Some(guard);
    let level = cfg.level().unwrap_or(tracing::Level::INFO);
    let code = match level {
        tracing::Level::ERROR => 1,
        tracing::Level::WARN => 2,
        tracing::Level::INFO => 3,
        tracing::Level::DEBUG => 4,
        tracing::Level::TRACE => 5,
    };
    FILE_LEVEL.store(code, Ordering::Relaxed);
    tracing::callsite::rebuild_interest_cache();
    Ok(Some(dir.clone()))
}

/// Lines the file writer dropped because it had fallen behind.
pub fn dropped_lines() -> u64 {
    FILE.get().map_or(0, |(w, _)| {
        ErrorCounter::dropped_lines(&w.error_counter()) as u64
    })
}

/// Where the JSON lines go, once attached.
pub fn log_dir() -> Option<&'static Path> {
    FILE.get().map(|(_, d)| d.as_path())
}

/// Flushes every line logged so far to its file and stops the writer thread; later events
/// are no longer written to files. Call at the end of a run.
pub fn finish() {
    FILE_LEVEL.store(0, Ordering::Relaxed);
    tracing::callsite::rebuild_interest_cache();
    drop(GUARD.lock().unwrap_or_else(|e| e.into_inner()).take());
}
