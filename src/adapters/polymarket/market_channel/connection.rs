//! One market-channel WebSocket connection on a non-blocking socket: connect, TLS and
//! WebSocket handshake (tungstenite, rustls), reading text frames, keepalive bookkeeping.
//!
//! The connection never blocks: every step that would block returns and resumes on the next
//! readiness event from the feed's mio poll.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use mio::net::TcpStream;
use mio::{Interest, Registry, Token};
use tungstenite::handshake::client::ClientHandshake;
use tungstenite::handshake::{HandshakeError, MidHandshake};
use tungstenite::protocol::WebSocketConfig;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

use crate::core::AssetIndex;

pub type WsStream = MaybeTlsStream<TcpStream>;

enum Phase {
    /// Not connected (waiting for a retry, or no assets).
    Down,
    /// TCP connect in flight.
    Connecting(TcpStream),
    Handshaking(Box<MidHandshake<ClientHandshake<WsStream>>>),
    Open(Box<WebSocket<WsStream>>),
}

/// What reading a connection produced.
pub enum ReadOutcome {
    /// Stopped because the socket has nothing more (or the sink paused us).
    Drained,
    /// The connection failed or was closed by the peer.
    Closed(String),
}

/// A message received on an open connection.
pub enum Incoming<'a> {
    Text(&'a [u8]),
    Pong,
}

/// Where to connect and how.
#[derive(Clone)]
pub struct Endpoint {
    pub url: String,
    pub addr: SocketAddr,
    pub tls: Option<Arc<rustls::ClientConfig>>,
}

/// One connection and the assets it carries.
pub struct MarketConnection {
    pub id: u16,
    pub assets: Vec<AssetIndex>,
    phase: Phase,
    /// Monotonic ns of the last bytes received (any frame), the last PONG and the last PING.
    pub last_rx_ns: u64,
    pub last_data_ns: u64,
    pub last_ping_ns: u64,
    pub opened_ns: u64,
    /// When to try connecting again (monotonic ns; 0 = now).
    pub retry_at_ns: u64,
    pub connect_started_ns: u64,
}

impl MarketConnection {
    pub fn new(id: u16) -> Self {
        Self {
            id,
            assets: Vec::new(),
            phase: Phase::Down,
            last_rx_ns: 0,
            last_data_ns: 0,
            last_ping_ns: 0,
            opened_ns: 0,
            retry_at_ns: 0,
            connect_started_ns: 0,
        }
    }

    pub fn token(&self) -> Token {
        Token(self.id as usize)
    }

    pub fn is_open(&self) -> bool {
        matches!(self.phase, Phase::Open(_))
    }

    pub fn is_down(&self) -> bool {
        matches!(self.phase, Phase::Down)
    }

    /// Starts a non-blocking TCP connect.
    pub fn connect(&mut self, ep: &Endpoint, registry: &Registry, now_ns: u64) -> io::Result<()> {
        let mut s = TcpStream::connect(ep.addr)?;
        s.set_nodelay(true)?;
        registry.register(
            &mut s,
            self.token(),
            Interest::READABLE | Interest::WRITABLE,
        )?;
        self.phase = Phase::Connecting(s);
        self.connect_started_ns = now_ns;
        Ok(())
    }

    /// Drops the socket (deregistering it) and goes down.
    pub fn close(&mut self, registry: &Registry) {
        let phase = std::mem::replace(&mut self.phase, Phase::Down);
        match phase {
            Phase::Connecting(mut s) => {
                let _ = registry.deregister(&mut s);
            }
            Phase::Handshaking(mut mid) => {
                let _ = deregister_ws_stream(mid.get_mut().get_mut(), registry);
            }
            Phase::Open(mut ws) => {
                let _ = ws.close(None);
                let _ = ws.flush();
                let _ = deregister_ws_stream(ws.get_mut(), registry);
            }
            Phase::Down => {}
        }
    }

    /// Drives connect and handshake on a readiness event. Returns `Ok(true)` when the
    /// WebSocket just opened.
    pub fn advance(&mut self, ep: &Endpoint, now_ns: u64) -> Result<bool, String> {
        match std::mem::replace(&mut self.phase, Phase::Down) {
            Phase::Connecting(s) => {
                if let Some(e) = s.take_error().map_err(|e| e.to_string())? {
                    return Err(format!("connect: {e}"));
                }
                match s.peer_addr() {
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotConnected => {
                        self.phase = Phase::Connecting(s);
                        return Ok(false);
                    }
                    Err(e) => return Err(format!("connect: {e}")),
                }
                let config = ws_config();
                let connector = match &ep.tls {
                    Some(c) => tungstenite::Connector::Rustls(c.clone()),
                    None => tungstenite::Connector::Plain,
                };
                let res = tungstenite::client_tls_with_config(
                    ep.url.as_str(),
                    s,
                    Some(config),
                    Some(connector),
                );
                self.on_handshake(res.map(|(ws, _)| ws), now_ns)
            }
            Phase::Handshaking(mid) => {
                let res = (*mid).handshake();
                self.on_handshake(res.map(|(ws, _)| ws), now_ns)
            }
            other => {
                self.phase = other;
                Ok(false)
            }
        }
    }

    fn on_handshake(
        &mut self,
        res: Result<WebSocket<WsStream>, HandshakeError<ClientHandshake<WsStream>>>,
        now_ns: u64,
    ) -> Result<bool, String> {
        match res {
            Ok(ws) => {
                self.phase = Phase::Open(Box::new(ws));
                self.opened_ns = now_ns;
                self.last_rx_ns = now_ns;
                self.last_data_ns = now_ns;
                self.last_ping_ns = now_ns;
                Ok(true)
            }
            Err(HandshakeError::Interrupted(mid)) => {
                self.phase = Phase::Handshaking(Box::new(mid));
                Ok(false)
            }
            Err(HandshakeError::Failure(e)) => Err(format!("handshake: {e}")),
        }
    }

    /// Sends a text message (buffered by tungstenite if the socket would block).
    pub fn send_text(&mut self, text: String) -> Result<(), String> {
        let Phase::Open(ws) = &mut self.phase else {
            return Err("not open".into());
        };
        match ws.send(Message::text(text)) {
            Ok(()) => Ok(()),
            Err(tungstenite::Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
            Err(e) => Err(format!("send: {e}")),
        }
    }

    /// Writes what tungstenite has buffered (pongs, subscriptions).
    pub fn flush(&mut self) -> Result<(), String> {
        let Phase::Open(ws) = &mut self.phase else {
            return Ok(());
        };
        match ws.flush() {
            Ok(()) => Ok(()),
            Err(tungstenite::Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
            Err(e) => Err(format!("flush: {e}")),
        }
    }

    /// Reads messages until the socket would block or `on_msg` asks to pause (returns false).
    pub fn read(
        &mut self,
        now: impl Fn() -> u64,
        mut on_msg: impl FnMut(Incoming<'_>, u64) -> bool,
    ) -> ReadOutcome {
        let Phase::Open(ws) = &mut self.phase else {
            return ReadOutcome::Drained;
        };
        loop {
            match ws.read() {
                Ok(msg) => {
                    let t = now();
                    self.last_rx_ns = t;
                    let keep_going = match &msg {
                        Message::Text(text) if text.as_str() == "PONG" => on_msg(Incoming::Pong, t),
                        Message::Text(text) => {
                            self.last_data_ns = t;
                            on_msg(Incoming::Text(text.as_bytes()), t)
                        }
                        Message::Pong(_) => on_msg(Incoming::Pong, t),
                        Message::Close(_) => return ReadOutcome::Closed("closed by peer".into()),
                        // Protocol pings are answered by tungstenite; binary frames are not
                        // part of the market channel.
                        _ => true,
                    };
                    if !keep_going {
                        return ReadOutcome::Drained;
                    }
                }
                Err(tungstenite::Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => {
                    return ReadOutcome::Drained;
                }
                Err(e) => return ReadOutcome::Closed(format!("read: {e}")),
            }
        }
    }
}

fn ws_config() -> WebSocketConfig {
    // Initial dumps of 500 assets are a few MB; anything far beyond is not a market frame.
    WebSocketConfig::default()
        .max_message_size(Some(64 << 20))
        .max_frame_size(Some(64 << 20))
}

fn deregister_ws_stream(s: &mut WsStream, registry: &Registry) -> io::Result<()> {
    match s {
        MaybeTlsStream::Plain(t) => registry.deregister(t),
        MaybeTlsStream::Rustls(t) => registry.deregister(&mut t.sock),
        #[allow(unreachable_patterns)]
        _ => Ok(()),
    }
}
