//! polyarb-venue: the local venue, a double of Polymarket on loopback that clients cannot tell
//! from the real thing, and the `polyarb-venue` commands that run the engine (`polyarb`)
//! against it in-process (`cli`). It depends on the engine's protocol types; the engine never
//! depends on it.
//!
//! The double owns the synthetic market model (`model`), the venue's own books (`book`), the
//! wire rendering of market events (`wire`), the servers — `/ws/market` on mio + tungstenite
//! (`ws`), REST on tiny_http (`http` router, `book_api`, `public_api`, `admin`) — and fault
//! injection (`fault`). `synth` writes the model's events as a frames file. `trading` is the
//! trading side: accounts, API keys, signed orders, matching, trades and `/ws/user`; `relayer`
//! is Polymarket's relayer for Safe, proxy and deposit-wallet accounts, settling on that ledger.
//! `storage_load` is synthetic load on the engine's store and its measurements (`db bench`).
//!
//! Start one with `Venue::start(config)`: it binds 127.0.0.1 (port 0 by default), returns a
//! `VenueHandle` with the bound addresses, and shuts down cleanly when dropped. The handle
//! dereferences to `VenueControl`: books, markets, stats, faults, pause/step.
//!
//! Threads: one io thread (mio, sleeps in `poll`), one publisher (sleeps on a condvar between
//! batches), and the HTTP workers (blocked in tiny_http's `recv`); none of them spins.

#![forbid(unsafe_code)]
#![deny(rustdoc::broken_intra_doc_links)]

pub mod admin;
pub mod book;
pub mod book_api;
pub mod cli;
pub mod config;
pub mod control;
pub mod custom_feed;
pub mod event;
pub mod fault;
pub mod gamma;
pub mod http;
pub mod hub;
pub mod model;
pub mod public_api;
pub mod publisher;
pub mod rate;
pub mod relayer;
pub mod source;
pub mod storage_load;
pub mod synth;
pub mod trading;
pub mod wire;
pub mod ws;

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

pub use config::{SourceKind, VenueConfig};
pub use control::{BooksView, MarketSummary, SourceCommand, VenueControl, VenueError, VenueStats};
pub use fault::{Fault, FaultOutcome, MalformedShape};
pub use model::{MarketModel, ModelConfig};
pub use trading::deposit_wallet_address;

use tungstenite::protocol::WebSocketConfig;

use control::SourceControl;
use fault::RestFaults;
use http::{HttpServer, Router};
use hub::{Hub, Notifier};
use source::{ReplaySource, Source};
use ws::{IoLoop, IoShared, IoStats};

/// Starts venues.
pub struct Venue;

impl Venue {
    /// Starts a venue: binds its sockets, starts its threads, and returns at once.
    pub fn start(cfg: VenueConfig) -> Result<VenueHandle, VenueError> {
        cfg.validate(Path::new("<venue config>"))
            .map_err(|e| VenueError::Config(e.to_string()))?;
        let source = match cfg.source.kind {
            SourceKind::Synthetic => Source::Model(Box::new(MarketModel::new(cfg.model.clone()))),
            SourceKind::Replay => {
                let path = cfg.source.replay_file.clone().unwrap_or_default();
                let r = ReplaySource::load(&path).map_err(|source| VenueError::Replay {
                    path: path.display().to_string(),
                    source,
                })?;
                Source::Replay(Box::new(r))
            }
        };
        let ip: IpAddr = cfg
            .server
            .host
            .parse()
            .map_err(|_| VenueError::Config(format!("bad host {}", cfg.server.host)))?;
        let bind_err = |what, port| {
            move |source| VenueError::Bind {
                what,
                addr: format!("{ip}:{port}"),
                source,
            }
        };
        let ws_bind = SocketAddr::new(ip, cfg.server.ws_port);
        let (poll, listener) = IoLoop::bind(ws_bind)
            .map_err(bind_err("the WebSocket listener", cfg.server.ws_port))?;
        let ws_addr = listener
            .local_addr()
            .map_err(bind_err("the WebSocket listener", cfg.server.ws_port))?;
        let waker = mio::Waker::new(poll.registry(), ws::WAKER).map_err(VenueError::Thread)?;
        let notifier = Arc::new(Notifier::new(waker));
        let mut trading_cfg = cfg.trading.clone();
        // Served Gamma files describe other markets; only the synthetic ones carry the
        // configured schedule.
        trading_cfg.fees = cfg
            .gamma
            .files
            .is_empty()
            .then(|| cfg.gamma.fee_schedule())
            .flatten();
        let trading = Arc::new(trading::TradingShared::new(trading_cfg));
        let hub = Arc::new(Mutex::new(Hub::new(
            source,
            cfg.server.max_assets_per_connection,
            notifier.clone(),
            trading.clone(),
        )));
        let rate = match cfg.source.kind {
            SourceKind::Synthetic => cfg.source.changes_per_s,
            SourceKind::Replay => cfg.source.replay_frames_per_s,
        };
        let shutdown = Arc::new(AtomicBool::new(false));
        let io_stats = Arc::new(IoStats::default());
        let ctl = VenueControl {
            hub: hub.clone(),
            notifier: notifier.clone(),
            source: Arc::new(SourceControl::new(cfg.source.paused, rate)),
            rest_faults: Arc::new(RestFaults::new(
                cfg.faults.rest_delay_ms,
                cfg.faults.rest_fail_every,
            )),
            io_stats: io_stats.clone(),
            shutdown: shutdown.clone(),
            trading: trading.clone(),
        };
        let mut ws_config = WebSocketConfig::default();
        ws_config.max_message_size = Some(cfg.server.max_message_bytes);
        ws_config.max_frame_size = Some(cfg.server.max_message_bytes);
        ws_config.max_write_buffer_size = 16 << 20;
        let io = IoLoop::new(
            poll,
            listener,
            IoShared {
                hub,
                notifier,
                stats: io_stats,
                shutdown: shutdown.clone(),
                ws_config,
                handshake_timeout: Duration::from_millis(cfg.server.handshake_timeout_ms),
                max_pending_bytes: cfg.server.max_pending_bytes,
            },
        );
        let mut handle = VenueHandle {
            control: ctl.clone(),
            ws_addr,
            http_addr: ws_addr,
            threads: Vec::new(),
            http: None,
        };
        let spawn = |name: &str, f: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(name.into())
                .spawn(f)
                .map_err(VenueError::Thread)
        };
        handle
            .threads
            .push(spawn("venue-io", Box::new(move || io.run()))?);
        let (pctl, faults) = (ctl.clone(), cfg.faults.clone());
        handle.threads.push(spawn(
            "venue-publisher",
            Box::new(move || publisher::run(pctl, faults)),
        )?);
        let gamma = gamma::GammaApi::new(
            ctl.clone(),
            &cfg.gamma,
            Duration::from_millis(cfg.rest.rate_window_ms),
        )
        .map_err(|e| VenueError::Config(e.to_string()))?;
        let tctl = ctl.clone();
        handle.threads.push(spawn(
            "venue-trading",
            Box::new(move || trading::timer::run(tctl)),
        )?);
        // The trading service goes before the admin one: it owns `/admin/fund` and friends.
        let router = Router::new()
            .with(Arc::new(gamma))
            .with(Arc::new(book_api::BookApi::new(ctl.clone(), &cfg.rest)))
            .with(Arc::new(public_api::PublicApi::new(ctl.clone())))
            .with(Arc::new(trading::api::TradingApi::new(ctl.clone())))
            .with(Arc::new(relayer::RelayerApi::new(ctl.clone())))
            .with(Arc::new(admin::AdminApi::new(ctl)));
        let http_bind = SocketAddr::new(ip, cfg.server.http_port);
        let server = HttpServer::start(
            http_bind,
            cfg.server.http_workers,
            cfg.rest.max_body_bytes,
            router,
        )
        .map_err(bind_err("the HTTP server", cfg.server.http_port))?;
        handle.http_addr = server.addr;
        handle.http = Some(server);
        Ok(handle)
    }
}

/// A running venue. Dropping it (or `shutdown`) stops every thread and closes every socket.
pub struct VenueHandle {
    control: VenueControl,
    ws_addr: SocketAddr,
    http_addr: SocketAddr,
    threads: Vec<JoinHandle<()>>,
    http: Option<HttpServer>,
}

impl VenueHandle {
    pub fn ws_addr(&self) -> SocketAddr {
        self.ws_addr
    }

    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// `ws://127.0.0.1:PORT/ws/market`
    pub fn ws_url(&self) -> String {
        format!("ws://{}{}", self.ws_addr, ws::MARKET_PATH)
    }

    /// `ws://127.0.0.1:PORT/ws/user`
    pub fn user_ws_url(&self) -> String {
        format!("ws://{}{}", self.ws_addr, ws::USER_PATH)
    }

    /// `http://127.0.0.1:PORT` (REST and `/admin`).
    pub fn http_url(&self) -> String {
        format!("http://{}", self.http_addr)
    }

    /// `http://127.0.0.1:PORT/gamma`: the base URL of the venue's Gamma API.
    pub fn gamma_url(&self) -> String {
        format!("http://{}{}", self.http_addr, gamma::GAMMA_PREFIX)
    }

    pub fn control(&self) -> &VenueControl {
        &self.control
    }

    /// Stops the venue and waits for its threads.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        self.control.shutdown.store(true, Ordering::SeqCst);
        self.control.trading.timer.ring();
        self.control.source.update(|p| p.shutdown = true);
        self.control.notifier.wake();
        if let Some(mut h) = self.http.take() {
            h.shutdown();
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl std::ops::Deref for VenueHandle {
    type Target = VenueControl;
    fn deref(&self) -> &VenueControl {
        &self.control
    }
}

impl Drop for VenueHandle {
    fn drop(&mut self) {
        self.stop();
    }
}
