//! `VenueControl`: the one programmatic surface over a running venue, shared by the admin HTTP
//! endpoints and by tests/the pipeline through `VenueHandle` (read its books, list its markets,
//! inject faults, pause/step/retime its source).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use polyarb::book::dump::BookDump;
use polyarb::core::{Price, Side, TokenId};

use super::book::VenueBooks;
use super::fault::{Fault, FaultOutcome, RestFaults};
use super::hub::{ConnInfo, Hub, HubStats, IoCommand, Notifier, Stall};
use super::model::MispricingSide;
use super::source::Source;
use super::trading::{TradingFaults, TradingShared};
use super::wire::RestBook;
use super::ws::{IoCounters, IoStats};
use polyarb::obs::clock::unix_ms;

/// Why a venue operation failed.
#[derive(Debug, Error)]
pub enum VenueError {
    #[error("cannot bind {what} on {addr}: {source}")]
    Bind {
        what: &'static str,
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot load replay file {path}: {source}")]
    Replay {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot start venue thread: {0}")]
    Thread(#[source] std::io::Error),
    #[error("unknown asset id {0:?}")]
    UnknownAsset(String),
    #[error("{0}")]
    Unsupported(&'static str),
    #[error("invalid venue config: {0}")]
    Config(String),
}

/// Pacing state of the source, watched by the publisher thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pacing {
    pub paused: bool,
    /// Synthetic: level changes per second (0 = flood). Replay: frames per second (0 = flood).
    pub rate: u64,
    /// Bumped whenever pacing changes, so the publisher restarts its schedule.
    pub epoch: u64,
    pub shutdown: bool,
}

/// The publisher's pacing, with a condvar to wake it.
pub struct SourceControl {
    pub state: Mutex<Pacing>,
    pub cv: Condvar,
}

impl SourceControl {
    pub fn new(paused: bool, rate: u64) -> Self {
        Self {
            state: Mutex::new(Pacing {
                paused,
                rate,
                epoch: 0,
                shutdown: false,
            }),
            cv: Condvar::new(),
        }
    }

    pub fn lock(&self) -> MutexGuard<'_, Pacing> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn update(&self, f: impl FnOnce(&mut Pacing)) -> Pacing {
        let mut s = self.lock();
        f(&mut s);
        s.epoch += 1;
        let out = *s;
        drop(s);
        self.cv.notify_all();
        out
    }
}

/// The venue's books as `/admin/books` serves them: the replay contract's book entries, so a
/// client's `--dump-books` output and the venue's compare directly.
#[derive(Debug, Serialize)]
pub struct BooksView {
    /// Source events published so far.
    pub events: u64,
    pub books: Vec<BookDump>,
}

/// One market as `/admin/markets` lists it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct MarketSummary {
    pub condition_id: String,
    pub question: String,
    pub neg_risk: bool,
    pub neg_risk_market_id: Option<String>,
    /// Its event is augmented (placeholder questions and an "Other" listed as Gamma does): its
    /// questions are not a complete set the engine can trade.
    #[serde(default)]
    pub neg_risk_augmented: bool,
    /// Token ids, YES first for binary markets.
    pub token_ids: Vec<String>,
}

/// Everything `/admin/stats` reports.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct VenueStats {
    pub hub: HubStats,
    pub io: IoCounters,
    pub connections: Vec<ConnInfo>,
    pub paused: bool,
    pub rate: u64,
    pub assets: usize,
    /// Binary Dutch book faults injected by the model so far (scheduled and on request).
    pub model_binary_dutch_faults: u64,
    /// Neg-risk mispricings injected so far (scheduled and on request), YES side: Σ YES asks
    /// below 1 − margin.
    #[serde(default)]
    pub model_mispricings_yes: u64,
    /// Neg-risk mispricings injected so far, NO side: Σ YES bids above 1 + margin (Σ NO asks
    /// below N − 1 − margin).
    #[serde(default)]
    pub model_mispricings_no: u64,
    /// Synthetic taker orders sent into the matching engine so far (`[model.takers]`).
    #[serde(default)]
    pub model_takers: u64,
    /// Those that filled at least one share.
    #[serde(default)]
    pub model_taker_fills: u64,
    /// Price moves after a taker's fill (adverse selection).
    #[serde(default)]
    pub model_adverse_moves: u64,
    /// Refusals of the trading endpoints so far, per reason (`amounts`, `signature`,
    /// `heartbeat_id`, ...; see `trading::refusal::Reason`).
    #[serde(default)]
    pub trading_rejections: std::collections::BTreeMap<String, u64>,
}

/// What `POST /admin/source` accepts: every field optional.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SourceCommand {
    pub paused: Option<bool>,
    /// New rate (level changes/s, or frames/s for a replay); 0 = flood.
    pub rate: Option<u64>,
    /// Run this many source steps now (synthetic: model steps; replay: frames).
    pub step: Option<u64>,
    /// With `step` (synthetic): the steps run on the model's own clock, each this many model
    /// milliseconds after the last, instead of at the wall clock, so that what model time
    /// drives (the synthetic takers, scheduled faults) is reproducible.
    pub step_ms: Option<u64>,
    /// Inject a binary Dutch book fault now: on this market index, or on the first possible
    /// with `-1`.
    pub dutch_book: Option<i64>,
    /// Misprice a neg-risk event now, on this side (`"yes"` or `"no"`).
    pub mispricing: Option<MispricingSide>,
    /// The event to misprice (index among the neg-risk events); absent: the first possible.
    pub mispricing_group: Option<usize>,
}

/// What `POST /admin/source` answers.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct SourceReply {
    pub paused: bool,
    pub rate: u64,
    pub steps: u64,
    pub changes: u64,
    pub dutch_book_market: Option<u32>,
    /// The neg-risk event mispriced by this command.
    #[serde(default)]
    pub mispriced_group: Option<usize>,
    pub events: u64,
}

/// A cloneable handle on a running venue's state.
#[derive(Clone)]
pub struct VenueControl {
    pub(crate) hub: Arc<Mutex<Hub>>,
    pub(crate) notifier: Arc<Notifier>,
    pub(crate) source: Arc<SourceControl>,
    pub(crate) rest_faults: Arc<RestFaults>,
    pub(crate) io_stats: Arc<IoStats>,
    pub(crate) shutdown: Arc<AtomicBool>,
    pub(crate) trading: Arc<TradingShared>,
}

impl VenueControl {
    /// The taker fee schedule the venue charges on its synthetic markets (`None`: fee-free).
    pub fn trading_fees(&self) -> Option<polyarb::core::fees::FeeSchedule> {
        self.trading.cfg.fees
    }

    pub(crate) fn hub(&self) -> MutexGuard<'_, Hub> {
        self.hub.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn is_shutting_down(&self) -> bool {
        self.shutdown.load(Ordering::Relaxed)
    }

    /// The order version the venue accepts now (`GET /version`).
    pub fn order_version(&self) -> u8 {
        self.trading.version()
    }

    /// Switches the accepted order version (tests of `order_version_mismatch` handling).
    pub fn set_order_version(&self, v: u8) {
        self.trading.set_version(v);
    }

    /// Every asset's book, in the replay contract's shape, sorted by token id numerically.
    pub fn books(&self) -> BooksView {
        let hub = self.hub();
        BooksView {
            events: hub.stats.events,
            books: books_dump(hub.books()),
        }
    }

    /// One asset's REST book summary (as `GET /book` would answer now).
    pub fn rest_book(&self, token: &TokenId) -> Option<RestBook> {
        let hub = self.hub();
        let a = hub.books().lookup(token)?;
        Some(RestBook::of(hub.books(), a, unix_ms()))
    }

    pub fn markets(&self) -> Vec<MarketSummary> {
        let hub = self.hub();
        let books = hub.books();
        books
            .markets
            .iter()
            .map(|m| MarketSummary {
                condition_id: m.condition_id.clone(),
                question: m.question.clone(),
                neg_risk: m.neg_risk(),
                neg_risk_market_id: m.neg_risk_market_id.clone(),
                neg_risk_augmented: m.neg_risk_augmented,
                token_ids: m
                    .assets
                    .iter()
                    .map(|&a| books.asset(a).token_str.to_string())
                    .collect(),
            })
            .collect()
    }

    /// Every token id the venue serves, in market order (YES before NO).
    pub fn asset_ids(&self) -> Vec<String> {
        self.markets()
            .into_iter()
            .flat_map(|m| m.token_ids)
            .collect()
    }

    pub fn stats(&self) -> VenueStats {
        let pacing = *self.source.lock();
        let hub = self.hub();
        let taker = match &hub.source {
            Source::Model(m) => m.taker_stats(),
            Source::Replay(_) => Default::default(),
        };
        VenueStats {
            hub: hub.stats,
            io: self.io_stats.snapshot(),
            connections: hub.connections(),
            paused: pacing.paused,
            rate: pacing.rate,
            assets: hub.books().len(),
            model_binary_dutch_faults: match &hub.source {
                Source::Model(m) => m.binary_dutch_faults,
                Source::Replay(_) => 0,
            },
            model_mispricings_yes: match &hub.source {
                Source::Model(m) => m.mispricings.0,
                Source::Replay(_) => 0,
            },
            model_mispricings_no: match &hub.source {
                Source::Model(m) => m.mispricings.1,
                Source::Replay(_) => 0,
            },
            model_takers: taker.sent,
            model_taker_fills: taker.filled,
            model_adverse_moves: taker.adverse_moves,
            trading_rejections: self.trading.refusals.snapshot(),
        }
    }

    /// Pauses the source. On return no batch is in flight and none will start, so the books
    /// read afterwards are the last ones streamed.
    pub fn pause(&self) {
        self.source.update(|p| p.paused = true);
        // The publisher steps only under the hub lock and re-checks `paused` there.
        drop(self.hub());
    }

    pub fn resume(&self) {
        self.source.update(|p| p.paused = false);
    }

    pub fn set_rate(&self, rate: u64) {
        self.source.update(|p| p.rate = rate);
    }

    /// Runs `n` source steps now, on the caller's thread (deterministic tests pause first).
    /// Returns (steps, level changes).
    pub fn step(&self, n: u64) -> (u64, u64) {
        let mut hub = self.hub();
        match hub.step_model(unix_ms(), u64::MAX, n) {
            Some(r) => r,
            None => (hub.step_replay(n).unwrap_or(0), 0),
        }
    }

    /// Runs `n` model steps now, each `step_ms` model milliseconds after the one before (the
    /// model's own clock, not the wall clock). Returns (steps, level changes); a replay
    /// source runs `n` frames.
    pub fn step_clocked(&self, n: u64, step_ms: u64) -> (u64, u64) {
        let mut hub = self.hub();
        let (mut steps, mut changes) = (0, 0);
        for _ in 0..n {
            let at = match &hub.source {
                Source::Model(m) => m.now_ms() + step_ms,
                Source::Replay(_) => return (hub.step_replay(n).unwrap_or(0), 0),
            };
            if let Some((s, c)) = hub.step_model(at, u64::MAX, 1) {
                steps += s;
                changes += c;
            }
        }
        (steps, changes)
    }

    /// Injects a Dutch book (YES ask + NO ask < 1 − margin) now; returns the market index.
    pub fn inject_dutch_book(&self, market: Option<u32>) -> Option<u32> {
        self.hub().dutch_book(market, unix_ms())
    }

    /// Applies a source command (pause/resume, rate, steps, Dutch book).
    pub fn source_command(&self, c: &SourceCommand) -> SourceReply {
        if c.paused.is_some() || c.rate.is_some() {
            self.source.update(|p| {
                if let Some(x) = c.paused {
                    p.paused = x;
                }
                if let Some(r) = c.rate {
                    p.rate = r;
                }
            });
            // Same barrier as `pause()`.
            drop(self.hub());
        }
        let (steps, changes) = match (c.step, c.step_ms) {
            (Some(n), Some(ms)) => self.step_clocked(n, ms),
            (Some(n), None) => self.step(n),
            (None, _) => (0, 0),
        };
        let dutch_book_market = c
            .dutch_book
            .and_then(|m| self.inject_dutch_book(u32::try_from(m).ok()));
        let mispriced_group = c
            .mispricing
            .and_then(|side| self.hub().mispricing(c.mispricing_group, side, unix_ms()));
        let p = *self.source.lock();
        SourceReply {
            mispriced_group,
            paused: p.paused,
            rate: p.rate,
            steps,
            changes,
            dutch_book_market,
            events: self.hub().stats.events,
        }
    }

    fn token(&self, s: &str) -> Result<TokenId, VenueError> {
        TokenId::parse(s).map_err(|_| VenueError::UnknownAsset(s.to_string()))
    }

    /// Injects a fault; see `Fault`.
    pub fn fault(&self, f: &Fault) -> Result<FaultOutcome, VenueError> {
        let now = Instant::now();
        let affected = match f {
            Fault::Close { conn, abrupt } => {
                let n = self
                    .hub()
                    .conn_ids()
                    .iter()
                    .filter(|&&id| conn.is_none_or(|c| c == id))
                    .count();
                self.notifier.command(IoCommand::Close {
                    conn: *conn,
                    abrupt: *abrupt,
                });
                n as u64
            }
            Fault::Stall { conn, duration_ms } => self
                .hub()
                .stall_conn(*conn, Some(Stall::new(*duration_ms, now))),
            Fault::StallAsset {
                asset_id,
                duration_ms,
            } => {
                let t = self.token(asset_id)?;
                if !self.hub().stall_asset(&t, Stall::new(*duration_ms, now)) {
                    return Err(VenueError::UnknownAsset(asset_id.clone()));
                }
                1
            }
            Fault::Malformed { conn, count, shape } => self.hub().malformed(*conn, *count, *shape),
            Fault::Gap { asset_id } => {
                let t = asset_id.as_deref().map(|s| self.token(s)).transpose()?;
                let mut hub = self.hub();
                if let Some(t) = t.as_ref().filter(|t| hub.books().lookup(t).is_none()) {
                    return Err(VenueError::UnknownAsset(t.to_string()));
                }
                match hub.gap(t.as_ref(), unix_ms()) {
                    Some(assets) => assets.len() as u64,
                    None => {
                        return Err(VenueError::Unsupported(
                            "a gap needs the synthetic source and a market not holding a Dutch book",
                        ));
                    }
                }
            }
            Fault::SilentChange { asset_id } => {
                let t = asset_id.as_deref().map(|s| self.token(s)).transpose()?;
                let mut hub = self.hub();
                if let Some(t) = t.as_ref().filter(|t| hub.books().lookup(t).is_none()) {
                    return Err(VenueError::UnknownAsset(t.to_string()));
                }
                match hub.silent_change(t.as_ref()) {
                    Some(assets) => assets.len() as u64,
                    None => {
                        return Err(VenueError::Unsupported(
                            "a silent change needs the synthetic source and a market not frozen",
                        ));
                    }
                }
            }
            Fault::RestDelay { delay_ms } => {
                self.rest_faults.set_delay(*delay_ms);
                1
            }
            Fault::RestFail { count, status } => {
                self.rest_faults.fail_next(*count, *status);
                *count
            }
            Fault::OrderDelay { delay_ms, count } => {
                self.trading.set_faults(TradingFaults {
                    delay_count: *count,
                    delay_ms: *delay_ms,
                    ..TradingFaults::default()
                });
                *count
            }
            Fault::OrderFail {
                count,
                status,
                retry_after_s,
            } => {
                self.trading.set_faults(TradingFaults {
                    fail_count: *count,
                    fail_status: *status,
                    retry_after_s: *retry_after_s,
                    ..TradingFaults::default()
                });
                *count
            }
            Fault::TradeFail { count } => {
                self.hub().trading.fail_trades = *count;
                *count
            }
            Fault::Clear => {
                let mut hub = self.hub();
                hub.clear_stalls();
                hub.trading.fail_trades = 0;
                drop(hub);
                self.rest_faults.clear();
                self.trading.clear_faults();
                1
            }
        };
        Ok(FaultOutcome { affected })
    }
}

/// The venue's books in the replay contract's shape, sorted by token id numerically.
pub fn books_dump(books: &VenueBooks) -> Vec<BookDump> {
    let mut order: Vec<u32> = (0..books.len() as u32).collect();
    order.sort_by_key(|&a| books.asset(a).token);
    order
        .into_iter()
        .map(|a| {
            let asset = books.asset(a);
            let book = asset.published();
            let side = |side: Side| -> Vec<[String; 2]> {
                let lv = |(p, s): (&Price, &polyarb::core::Size)| [p.to_string(), s.to_string()];
                match side {
                    Side::Bid => book.bids.iter().rev().map(lv).collect(),
                    Side::Ask => book.asks.iter().map(lv).collect(),
                }
            };
            let market = &books.market_of(a).condition_id;
            BookDump {
                asset_id: asset.token_str.to_string(),
                market: (!market.is_empty()).then(|| market.clone()),
                state: "ok".into(),
                reason: None,
                tick_size: Some(asset.tick.to_string()),
                bids: side(Side::Bid),
                asks: side(Side::Ask),
            }
        })
        .collect()
}
