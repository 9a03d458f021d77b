//! The venue's `/ws/market` server: one io thread on mio drives every connection.
//!
//! Handshakes go through tungstenite's server side (`accept_hdr`, resumed on each readiness
//! event while non-blocking), never hand-written framing. The thread sleeps in `poll` until a
//! socket is ready or the hub wakes it (a `mio::Waker`) because frames were queued, so it never
//! spins. Text `PING` is answered with `PONG` through the connection's outbox, i.e. after every
//! frame queued before it: a client that pings after the source is paused knows, on `PONG`,
//! that it has seen everything. Protocol-level pings are answered by tungstenite.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use serde::{Deserialize, Serialize};
use tungstenite::handshake::server::{Callback, ErrorResponse, Request, Response, ServerHandshake};
use tungstenite::handshake::{HandshakeError, MidHandshake};
use tungstenite::protocol::WebSocketConfig;
use tungstenite::protocol::frame::CloseFrame;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::{Error as WsError, Message, Utf8Bytes, WebSocket};

use polyarb::obs::clock::unix_ms;

use super::hub::{Hub, IoCommand, Notifier, Outbox};

const LISTENER: Token = Token(0);
pub const WAKER: Token = Token(1);
/// The path of the public market channel.
pub const MARKET_PATH: &str = "/ws/market";
/// The path of the authenticated user channel.
pub const USER_PATH: &str = "/ws/user";
const CHANNEL_USER: u8 = 2;
/// Rounds of outbox draining per connection before others get a turn.
const DRAIN_ROUNDS: usize = 4;

/// What the io thread has done.
#[derive(Debug, Default)]
pub struct IoStats {
    pub accepted: AtomicU64,
    pub handshake_failures: AtomicU64,
    pub closed: AtomicU64,
    pub slow_consumer_closes: AtomicU64,
    pub pings: AtomicU64,
    pub frames_written: AtomicU64,
}

/// A snapshot of `IoStats`.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct IoCounters {
    pub accepted: u64,
    pub handshake_failures: u64,
    pub closed: u64,
    pub slow_consumer_closes: u64,
    pub pings: u64,
    pub frames_written: u64,
}

impl IoStats {
    pub fn snapshot(&self) -> IoCounters {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        IoCounters {
            accepted: g(&self.accepted),
            handshake_failures: g(&self.handshake_failures),
            closed: g(&self.closed),
            slow_consumer_closes: g(&self.slow_consumer_closes),
            pings: g(&self.pings),
            frames_written: g(&self.frames_written),
        }
    }
}

fn bump(a: &AtomicU64) {
    a.fetch_add(1, Ordering::Relaxed);
}

/// Accepts only the channels' paths (anything else is a 404 before the upgrade) and records
/// which one the client asked for.
pub struct PathCheck(Arc<AtomicU8>);

impl Callback for PathCheck {
    fn on_request(self, req: &Request, resp: Response) -> Result<Response, ErrorResponse> {
        let path = req.uri().path();
        if path == MARKET_PATH {
            Ok(resp)
        } else if path == USER_PATH {
            self.0.store(CHANNEL_USER, Ordering::Relaxed);
            Ok(resp)
        } else {
            let mut e = ErrorResponse::new(Some("not found".to_string()));
            *e.status_mut() = tungstenite::http::StatusCode::NOT_FOUND;
            Err(e)
        }
    }
}

type Mid = MidHandshake<ServerHandshake<TcpStream, PathCheck>>;

enum Phase {
    Handshake(Box<Mid>, Instant),
    Open(Box<WebSocket<TcpStream>>),
    /// A close frame was sent; the connection is dropped on the client's reply or the deadline.
    Closing(Box<WebSocket<TcpStream>>, Instant),
}

struct Conn {
    phase: Phase,
    outbox: Arc<Outbox>,
    write_blocked: bool,
    /// Which channel the handshake asked for (set by `PathCheck`).
    channel: Arc<AtomicU8>,
}

/// Everything the io thread shares with the rest of the venue.
pub struct IoShared {
    pub hub: Arc<Mutex<Hub>>,
    pub notifier: Arc<Notifier>,
    pub stats: Arc<IoStats>,
    pub shutdown: Arc<std::sync::atomic::AtomicBool>,
    pub ws_config: WebSocketConfig,
    pub handshake_timeout: Duration,
    pub max_pending_bytes: usize,
}

/// The io thread's state.
pub struct IoLoop {
    poll: Poll,
    listener: TcpListener,
    conns: HashMap<Token, Conn>,
    next: usize,
    sh: IoShared,
    scratch: VecDeque<Utf8Bytes>,
    ready: Vec<u64>,
}

impl IoLoop {
    /// Binds the listener; the caller builds the waker from `poll()` before `run`.
    pub fn bind(addr: SocketAddr) -> io::Result<(Poll, TcpListener)> {
        let poll = Poll::new()?;
        let mut listener = TcpListener::bind(addr)?;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        Ok((poll, listener))
    }

    pub fn new(poll: Poll, listener: TcpListener, sh: IoShared) -> Self {
        Self {
            poll,
            listener,
            conns: HashMap::new(),
            next: 2,
            sh,
            scratch: VecDeque::new(),
            ready: Vec::new(),
        }
    }

    pub fn run(mut self) {
        let mut events = Events::with_capacity(1024);
        while !self.sh.shutdown.load(Ordering::Relaxed) {
            // The timeout only serves handshake and close deadlines; readiness and the waker
            // end the wait as soon as there is work.
            if let Err(e) = self
                .poll
                .poll(&mut events, Some(Duration::from_millis(250)))
                && e.kind() != io::ErrorKind::Interrupted
            {
                tracing::error!("venue ws poll failed: {e}");
                break;
            }
            let mut woke = false;
            for ev in events.iter() {
                match ev.token() {
                    LISTENER => self.accept(),
                    WAKER => woke = true,
                    t => self.conn_event(t, ev.is_readable(), ev.is_writable()),
                }
            }
            if woke {
                self.on_wake();
            }
            self.sweep();
        }
        let tokens: Vec<Token> = self.conns.keys().copied().collect();
        for t in tokens {
            self.drop_conn(t, true);
        }
    }

    fn hub(&self) -> std::sync::MutexGuard<'_, Hub> {
        self.sh.hub.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn accept(&mut self) {
        loop {
            match self.listener.accept() {
                Ok((mut stream, peer)) => {
                    let token = Token(self.next);
                    self.next += 1;
                    if self
                        .poll
                        .registry()
                        .register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)
                        .is_err()
                    {
                        continue;
                    }
                    let _ = stream.set_nodelay(true);
                    bump(&self.sh.stats.accepted);
                    let outbox = Arc::new(Outbox::new(self.sh.max_pending_bytes));
                    self.hub()
                        .add_conn(token.0 as u64, peer.to_string(), outbox.clone());
                    let channel = Arc::new(AtomicU8::new(0));
                    let result = tungstenite::accept_hdr_with_config(
                        stream,
                        PathCheck(channel.clone()),
                        Some(self.sh.ws_config),
                    );
                    self.handshake_result(token, outbox, channel, result);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    tracing::warn!("venue ws accept failed: {e}");
                    return;
                }
            }
        }
    }

    fn handshake_result(
        &mut self,
        token: Token,
        outbox: Arc<Outbox>,
        channel: Arc<AtomicU8>,
        result: Result<WebSocket<TcpStream>, HandshakeError<ServerHandshake<TcpStream, PathCheck>>>,
    ) {
        match result {
            Ok(ws) => {
                if channel.load(Ordering::Relaxed) == CHANNEL_USER {
                    self.hub().set_user_channel(token.0 as u64);
                }
                self.conns.insert(
                    token,
                    Conn {
                        phase: Phase::Open(Box::new(ws)),
                        outbox,
                        write_blocked: false,
                        channel,
                    },
                );
                // Bytes that arrived with the handshake produce no new readiness event.
                self.read(token);
                self.drain(token);
            }
            Err(HandshakeError::Interrupted(mid)) => {
                let deadline = Instant::now() + self.sh.handshake_timeout;
                self.conns.insert(
                    token,
                    Conn {
                        phase: Phase::Handshake(Box::new(mid), deadline),
                        outbox,
                        write_blocked: false,
                        channel,
                    },
                );
            }
            Err(HandshakeError::Failure(_)) => {
                bump(&self.sh.stats.handshake_failures);
                self.hub().remove_conn(token.0 as u64);
            }
        }
    }

    fn conn_event(&mut self, token: Token, readable: bool, writable: bool) {
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        if matches!(conn.phase, Phase::Handshake(..)) {
            let Some(Conn {
                phase: Phase::Handshake(mid, _),
                outbox,
                channel,
                ..
            }) = self.conns.remove(&token)
            else {
                return;
            };
            let result = mid.handshake();
            self.handshake_result(token, outbox, channel, result);
            return;
        }
        if writable {
            conn.write_blocked = false;
        }
        if readable {
            self.read(token);
        }
        self.drain(token);
    }

    /// Reads every available message; `PING` → `PONG`, anything else goes to the hub.
    fn read(&mut self, token: Token) {
        let id = token.0 as u64;
        loop {
            let Some(conn) = self.conns.get_mut(&token) else {
                return;
            };
            let ws = match &mut conn.phase {
                Phase::Open(ws) | Phase::Closing(ws, _) => ws,
                Phase::Handshake(..) => return,
            };
            match ws.read() {
                Ok(Message::Text(t)) => {
                    if t.as_str().trim() == "PING" {
                        bump(&self.sh.stats.pings);
                        conn.outbox.push(Utf8Bytes::from_static("PONG"));
                    } else {
                        let now = unix_ms();
                        self.hub().client_message(id, t.as_str(), now);
                    }
                }
                Ok(_) => {} // protocol pings are answered by tungstenite; binary is ignored
                Err(WsError::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(_) => {
                    self.drop_conn(token, false);
                    return;
                }
            }
        }
    }

    /// Writes queued frames until the socket would block or the outbox is empty.
    fn drain(&mut self, token: Token) {
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        if conn.outbox.overflowed() {
            bump(&self.sh.stats.slow_consumer_closes);
            self.drop_conn(token, true);
            return;
        }
        let ws = match &mut conn.phase {
            Phase::Open(ws) => ws,
            Phase::Closing(ws, _) => {
                let _ = ws.flush();
                return;
            }
            Phase::Handshake(..) => return,
        };
        if conn.write_blocked {
            return;
        }
        let mut failed = false;
        let mut written = 0u64;
        for _ in 0..DRAIN_ROUNDS {
            conn.outbox.take(&mut self.scratch);
            if self.scratch.is_empty() {
                break;
            }
            while let Some(frame) = self.scratch.pop_front() {
                match ws.write(Message::Text(frame)) {
                    Ok(()) => written += 1,
                    // The frame is buffered inside tungstenite; wait for writability.
                    Err(WsError::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => {
                        written += 1;
                        conn.write_blocked = true;
                        break;
                    }
                    Err(WsError::WriteBufferFull(msg)) => {
                        if let Message::Text(t) = *msg {
                            self.scratch.push_front(t);
                        }
                        conn.write_blocked = true;
                        break;
                    }
                    Err(_) => {
                        failed = true;
                        break;
                    }
                }
            }
            if conn.write_blocked || failed {
                break;
            }
        }
        let rest = std::mem::take(&mut self.scratch);
        conn.outbox.put_back(rest);
        self.sh
            .stats
            .frames_written
            .fetch_add(written, Ordering::Relaxed);
        if !failed {
            match ws.flush() {
                Ok(()) => {}
                Err(WsError::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => {
                    conn.write_blocked = true
                }
                Err(_) => failed = true,
            }
        }
        if failed {
            self.drop_conn(token, false);
        } else if !conn.write_blocked && conn.outbox.pending_bytes() > 0 {
            // More arrived while writing: come back after the other connections had a turn.
            self.ready.push(token.0 as u64);
        }
    }

    fn on_wake(&mut self) {
        for cmd in self.sh.notifier.take_commands() {
            match cmd {
                IoCommand::Close { conn, abrupt } => {
                    let tokens: Vec<Token> = self
                        .conns
                        .keys()
                        .copied()
                        .filter(|t| conn.is_none_or(|c| c == t.0 as u64))
                        .collect();
                    for t in tokens {
                        if abrupt {
                            self.drop_conn(t, true);
                        } else {
                            self.close_gracefully(
                                t,
                                CloseCode::Away,
                                "closed by venue fault injection",
                            );
                        }
                    }
                }
                IoCommand::Refuse { conn, reason } => {
                    let t = Token(conn as usize);
                    // Frames queued before the refusal go out first.
                    self.drain(t);
                    self.close_gracefully(t, CloseCode::Policy, reason);
                }
            }
        }
        let mut ready = std::mem::take(&mut self.ready);
        self.sh.notifier.take_ready(&mut ready);
        ready.sort_unstable();
        ready.dedup();
        for id in ready.drain(..) {
            self.drain(Token(id as usize));
        }
        self.ready.append(&mut ready);
        if !self.ready.is_empty() {
            // Work left over: make the next poll return at once.
            self.sh.notifier.wake();
        }
    }

    fn close_gracefully(&mut self, token: Token, code: CloseCode, reason: &'static str) {
        let Some(conn) = self.conns.remove(&token) else {
            return;
        };
        match conn.phase {
            Phase::Open(mut ws) => {
                let _ = ws.close(Some(CloseFrame {
                    code,
                    reason: reason.into(),
                }));
                let _ = ws.flush();
                self.hub().remove_conn(token.0 as u64);
                let deadline = Instant::now() + Duration::from_secs(1);
                self.conns.insert(
                    token,
                    Conn {
                        phase: Phase::Closing(ws, deadline),
                        ..conn
                    },
                );
            }
            other => {
                self.conns.insert(
                    token,
                    Conn {
                        phase: other,
                        ..conn
                    },
                );
                self.drop_conn(token, true);
            }
        }
    }

    /// Drops a connection; `abrupt` shuts the socket without a close handshake.
    fn drop_conn(&mut self, token: Token, abrupt: bool) {
        let Some(conn) = self.conns.remove(&token) else {
            return;
        };
        bump(&self.sh.stats.closed);
        self.hub().remove_conn(token.0 as u64);
        let shut = |s: &TcpStream| {
            if abrupt {
                let _ = s.shutdown(std::net::Shutdown::Both);
            }
        };
        match conn.phase {
            Phase::Open(mut ws) | Phase::Closing(mut ws, _) => {
                let _ = self.poll.registry().deregister(ws.get_mut());
                shut(ws.get_ref());
            }
            Phase::Handshake(mut mid, _) => {
                let s = mid.get_mut().get_mut();
                let _ = self.poll.registry().deregister(s);
                shut(s);
            }
        }
    }

    /// Drops handshakes and closes that ran out of time.
    fn sweep(&mut self) {
        let now = Instant::now();
        let late: Vec<Token> = self
            .conns
            .iter()
            .filter(|(_, c)| match &c.phase {
                Phase::Handshake(_, d) | Phase::Closing(_, d) => now >= *d,
                Phase::Open(_) => false,
            })
            .map(|(&t, _)| t)
            .collect();
        for t in late {
            if matches!(
                self.conns.get(&t).map(|c| &c.phase),
                Some(Phase::Handshake(..))
            ) {
                bump(&self.sh.stats.handshake_failures);
            }
            self.drop_conn(t, true);
        }
    }
}
