//! The user channel client (`/ws/user`): subscribes with the API credentials in the
//! subscribe message, keeps the connection alive with text `PING`/`PONG`, declares it dead
//! after silence, reconnects with jittered back-off, and hands every `order` and `trade`
//! event (parsed exactly, [`super::user_events`]) to a channel.
//!
//! One blocking thread (tungstenite, rustls for `wss://`): the user channel carries the
//! account's own events, a handful per order, far from the market channel's rates.

use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam::channel::{Receiver, Sender, unbounded};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

use super::backoff::Backoff;
use super::user_events::{UserEvent, parse_frame};
use crate::adapters::polymarket::signing::ApiCredentials;

/// Where and how to listen.
#[derive(Clone, Debug)]
pub struct UserChannelConfig {
    /// `wss://ws-subscriptions-clob.polymarket.com/ws/user`, or the venue's.
    pub url: String,
    pub creds: ApiCredentials,
    /// Condition ids to hear about (empty = every market).
    pub markets: Vec<String>,
    pub ping_every: Duration,
    /// No frame (not even `PONG`) for this long: the connection is dead.
    pub dead_after: Duration,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
}

impl UserChannelConfig {
    pub fn new(url: &str, creds: ApiCredentials) -> Self {
        Self {
            url: url.to_string(),
            creds,
            markets: Vec::new(),
            ping_every: Duration::from_secs(10),
            dead_after: Duration::from_secs(30),
            backoff_base: Duration::from_millis(200),
            backoff_max: Duration::from_secs(10),
        }
    }

    /// The subscribe message: raw credentials, the market filter, `type: user`.
    pub fn subscribe_message(&self) -> String {
        serde_json::json!({
            "auth": {
                "apiKey": self.creds.api_key,
                "secret": self.creds.secret,
                "passphrase": self.creds.passphrase,
            },
            "markets": self.markets,
            "assets_ids": [],
            "type": "user",
        })
        .to_string()
    }
}

/// What the listener tells its consumer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserMessage {
    /// Subscribed (again; confirmed by the venue's first answer): events may have been missed
    /// while down, so reconcile over REST.
    Connected,
    Event(Box<UserEvent>),
    Disconnected(String),
}

#[derive(Debug, Default)]
pub struct UserChannelStats {
    pub connects: AtomicU64,
    pub events: AtomicU64,
    pub bad_events: AtomicU64,
    pub pongs: AtomicU64,
}

/// A running listener; stops when dropped.
pub struct UserChannel {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    pub messages: Receiver<UserMessage>,
    pub stats: Arc<UserChannelStats>,
}

type Ws = WebSocket<MaybeTlsStream<TcpStream>>;

fn set_timeout(ws: &Ws, t: Duration) {
    let tcp = match ws.get_ref() {
        MaybeTlsStream::Plain(s) => s,
        MaybeTlsStream::Rustls(s) => s.get_ref(),
        _ => return,
    };
    let _ = tcp.set_read_timeout(Some(t));
    let _ = tcp.set_nodelay(true);
}

impl UserChannel {
    pub fn start(cfg: UserChannelConfig) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = unbounded();
        let stats = Arc::new(UserChannelStats::default());
        let (s2, st2) = (stop.clone(), stats.clone());
        let thread = std::thread::Builder::new()
            .name("user-channel".into())
            .spawn(move || run(cfg, s2, tx, st2))?;
        Ok(Self {
            stop,
            thread: Some(thread),
            messages: rx,
            stats,
        })
    }

    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for UserChannel {
    fn drop(&mut self) {
        self.stop();
    }
}

fn run(
    cfg: UserChannelConfig,
    stop: Arc<AtomicBool>,
    tx: Sender<UserMessage>,
    stats: Arc<UserChannelStats>,
) {
    let mut backoff = Backoff::new(cfg.backoff_base, cfg.backoff_max);
    let mut rng = rand::rng();
    while !stop.load(Ordering::SeqCst) {
        let reason = match tungstenite::connect(cfg.url.as_str()) {
            Ok((ws, _)) => session(&cfg, ws, &stop, &tx, &stats, &mut backoff),
            Err(e) => format!("connect: {e}"),
        };
        if stop.load(Ordering::SeqCst) {
            return;
        }
        if tx.send(UserMessage::Disconnected(reason)).is_err() {
            return;
        }
        let wait = backoff.next_delay(&mut rng);
        let until = Instant::now() + wait;
        while Instant::now() < until && !stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(20).min(wait));
        }
    }
}

/// One connection: subscribe, then read until it fails. Returns why it ended.
fn session(
    cfg: &UserChannelConfig,
    mut ws: Ws,
    stop: &AtomicBool,
    tx: &Sender<UserMessage>,
    stats: &UserChannelStats,
    backoff: &mut Backoff,
) -> String {
    set_timeout(&ws, Duration::from_millis(100));
    // The venue never acknowledges a subscription, but it answers a PING only after the
    // messages before it: the first PONG (or event) confirms the subscribe was taken.
    if let Err(e) = ws
        .send(Message::text(cfg.subscribe_message()))
        .and_then(|_| ws.send(Message::text("PING")))
    {
        return format!("subscribe: {e}");
    }
    let mut confirmed = false;
    let opened = Instant::now();
    let mut last_rx = Instant::now();
    let mut last_ping = Instant::now();
    loop {
        if stop.load(Ordering::SeqCst) {
            let _ = ws.close(None);
            return "stopped".into();
        }
        let now = Instant::now();
        if now.duration_since(last_rx) > cfg.dead_after {
            return "no frame or PONG for too long".into();
        }
        if now.duration_since(last_ping) >= cfg.ping_every {
            last_ping = now;
            if let Err(e) = ws.send(Message::text("PING")) {
                return format!("ping: {e}");
            }
        }
        match ws.read() {
            Ok(Message::Text(t)) => {
                last_rx = Instant::now();
                if opened.elapsed() > cfg.backoff_base {
                    backoff.reset();
                }
                if !confirmed {
                    confirmed = true;
                    stats.connects.fetch_add(1, Ordering::Relaxed);
                    if tx.send(UserMessage::Connected).is_err() {
                        return "consumer gone".into();
                    }
                }
                if t.as_str() == "PONG" {
                    stats.pongs.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                match parse_frame(t.as_str()) {
                    Ok(events) => {
                        for ev in events {
                            match ev {
                                Ok(ev) => {
                                    stats.events.fetch_add(1, Ordering::Relaxed);
                                    if tx.send(UserMessage::Event(Box::new(ev))).is_err() {
                                        return "consumer gone".into();
                                    }
                                }
                                Err(e) => {
                                    stats.bad_events.fetch_add(1, Ordering::Relaxed);
                                    tracing::warn!("user channel: {e}");
                                }
                            }
                        }
                    }
                    Err(e) => {
                        stats.bad_events.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!("user channel: {e}");
                    }
                }
            }
            Ok(Message::Close(_)) => return "closed by the venue".into(),
            Ok(_) => last_rx = Instant::now(),
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => return format!("read: {e}"),
        }
    }
}
