//! A paused venue and its clients over real loopback sockets: an HTTP client (ureq) for its REST
//! and admin endpoints, and a market-channel client (tungstenite) that keeps its books with the
//! project's own replayer so they can be compared with the venue's.

use std::net::TcpStream;
use std::time::Duration;

use polyarb::replay::Replayer;
use polyarb_venue::{Venue, VenueConfig, VenueHandle};
use serde_json::Value;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

/// A paused synthetic venue of about `assets` assets.
pub fn venue(assets: u32, seed: u64) -> VenueHandle {
    venue_with(assets, seed, |_| {})
}

/// A paused synthetic venue of about `assets` assets, its config tweaked before it starts.
pub fn venue_with(assets: u32, seed: u64, tweak: impl FnOnce(&mut VenueConfig)) -> VenueHandle {
    let mut cfg = VenueConfig {
        model: polyarb_venue::ModelConfig::for_assets(assets, seed),
        ..VenueConfig::default()
    };
    cfg.source.paused = true;
    tweak(&mut cfg);
    Venue::start(cfg).expect("venue starts")
}

/// An HTTP client that returns every status as a reply (no error for 4xx/5xx), 20 s at most.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .into()
}

pub struct Reply {
    pub status: u16,
    pub retry_after: Option<String>,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

pub struct Http {
    agent: ureq::Agent,
    base: String,
}

impl Http {
    pub fn new(v: &VenueHandle) -> Self {
        Self {
            agent: agent(),
            base: v.http_url(),
        }
    }

    fn reply(r: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Reply {
        let mut r = r.expect("HTTP request completes");
        let status = r.status().as_u16();
        let retry_after = r
            .headers()
            .get("retry-after")
            .and_then(|h| h.to_str().ok())
            .map(str::to_string);
        let body = r
            .body_mut()
            .with_config()
            .limit(256 << 20)
            .read_to_string()
            .expect("body");
        Reply {
            status,
            retry_after,
            body,
        }
    }

    pub fn get(&self, path: &str) -> Reply {
        Self::reply(self.agent.get(format!("{}{path}", self.base)).call())
    }

    pub fn post(&self, path: &str, body: &str) -> Reply {
        Self::reply(
            self.agent
                .post(format!("{}{path}", self.base))
                .header("Content-Type", "application/json")
                .send(body),
        )
    }

    pub fn post_bytes(&self, path: &str, body: Vec<u8>) -> Reply {
        Self::reply(
            self.agent
                .post(format!("{}{path}", self.base))
                .send(&body[..]),
        )
    }

    /// The venue's books for exactly these assets, as JSON values.
    pub fn venue_books(&self, assets: &[String]) -> Vec<Value> {
        let v = self.get("/admin/books").json();
        v["books"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|b| assets.iter().any(|a| b["asset_id"] == a.as_str()))
            .cloned()
            .collect()
    }

    pub fn step(&self, n: u64) {
        let r = self.post("/admin/source", &format!("{{\"step\":{n}}}"));
        assert_eq!(r.status, 200, "{}", r.body);
    }

    pub fn fault(&self, json: &str) -> Reply {
        self.post("/admin/fault", json)
    }
}

/// A market-channel client that keeps its books with the project's replayer.
pub struct MarketClient {
    pub ws: WebSocket<MaybeTlsStream<TcpStream>>,
    pub books: Replayer,
    /// Every data frame received (not PONG), in order.
    pub frames: Vec<String>,
}

impl MarketClient {
    pub fn connect(url: &str) -> Self {
        let (ws, _) = tungstenite::connect(url).expect("websocket connects");
        if let MaybeTlsStream::Plain(s) = ws.get_ref() {
            s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        }
        Self {
            ws,
            books: Replayer::new(),
            frames: Vec::new(),
        }
    }

    pub fn send(&mut self, text: &str) {
        self.ws.send(Message::text(text)).expect("send");
    }

    /// The real initial subscribe message.
    pub fn subscribe(&mut self, ids: &[String]) {
        let msg = serde_json::json!({"assets_ids": ids, "type": "market", "initial_dump": true, "custom_feature_enabled": false});
        self.send(&msg.to_string());
    }

    pub fn operation(&mut self, op: &str, ids: &[String]) {
        self.send(&serde_json::json!({"operation": op, "assets_ids": ids}).to_string());
    }

    /// Sends `PING` and applies every frame up to the `PONG`: the venue queues `PONG` behind
    /// everything sent before it. Returns the number of data frames received.
    pub fn sync(&mut self) -> usize {
        self.send("PING");
        let mut n = 0;
        loop {
            match self.ws.read().expect("read until PONG") {
                Message::Text(t) if t.as_str() == "PONG" => return n,
                Message::Text(t) => {
                    self.books.frame(t.as_bytes(), 0);
                    self.frames.push(t.to_string());
                    n += 1;
                }
                _ => {}
            }
        }
    }

    /// The client's books as JSON values (the replay contract's entries).
    pub fn book_values(&self) -> Vec<Value> {
        let d = self.books.dump();
        d.books
            .iter()
            .map(|b| serde_json::to_value(b).unwrap())
            .collect()
    }
}

/// The first `n` asset ids of the venue.
pub fn ids(v: &VenueHandle, n: usize) -> Vec<String> {
    v.asset_ids().into_iter().take(n).collect()
}
