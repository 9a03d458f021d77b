//! The heartbeat loop: keeps the venue's dead-man switch armed (`POST /v1/heartbeats` every
//! `interval`, well inside the venue's 10 s). If this process dies or hangs, the heartbeats
//! stop and the venue cancels every resting order of the key: nothing is left quoting blind.
//!
//! The beats form a chain: each answer carries a new `heartbeat_id`, and the next beat must
//! echo it. A beat the venue does not recognise (400 `Invalid Heartbeat ID`: a lost answer, a
//! restart on either side) breaks the chain; the loop then starts a new one at once with an
//! empty id, and counts it (`restarts`), since the venue may cancel the key's resting orders
//! while no chain is alive.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{RecvTimeoutError, Sender, channel};
use std::thread::JoinHandle;
use std::time::Duration;

use super::{ClobClient, ClobError};

/// What the loop has done.
#[derive(Debug, Default)]
pub struct HeartbeatStats {
    pub sent: AtomicU64,
    pub failed: AtomicU64,
    /// Chains restarted after 400 `Invalid Heartbeat ID` (also counted in `failed`).
    pub restarts: AtomicU64,
    /// Whether the last heartbeat was accepted.
    pub healthy: AtomicBool,
}

/// A running heartbeat loop; stops when dropped.
pub struct Heartbeat {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
    pub stats: Arc<HeartbeatStats>,
}

impl Heartbeat {
    pub fn start(client: Arc<ClobClient>, interval: Duration) -> std::io::Result<Self> {
        let (tx, rx) = channel::<()>();
        let stats = Arc::new(HeartbeatStats::default());
        let st = stats.clone();
        let thread = std::thread::Builder::new()
            .name("clob-heartbeat".into())
            .spawn(move || {
                // The previous answer's id; empty starts a chain.
                let mut id = String::new();
                loop {
                    let mut wait = interval;
                    match client.heartbeat(&id) {
                        Ok(new) => {
                            id = new;
                            st.sent.fetch_add(1, Ordering::Relaxed);
                            st.healthy.store(true, Ordering::Relaxed);
                        }
                        Err(e) => {
                            st.failed.fetch_add(1, Ordering::Relaxed);
                            st.healthy.store(false, Ordering::Relaxed);
                            if e == ClobError::InvalidHeartbeatId && !id.is_empty() {
                                tracing::warn!("heartbeat chain lost ({e}): starting a new one");
                                st.restarts.fetch_add(1, Ordering::Relaxed);
                                id.clear();
                                wait = Duration::ZERO;
                            } else {
                                tracing::warn!("heartbeat failed: {e}");
                            }
                        }
                    }
                    match rx.recv_timeout(wait) {
                        Err(RecvTimeoutError::Timeout) => continue,
                        _ => return,
                    }
                }
            })?;
        Ok(Self {
            stop: Some(tx),
            thread: Some(thread),
            stats,
        })
    }

    /// Stops sending (the venue's switch then fires after its timeout).
    pub fn stop(&mut self) {
        self.stop.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::polymarket::http::clob::ClobConfig;
    use crate::adapters::polymarket::signing::{ApiCredentials, PrivateKey};
    use std::sync::Mutex;

    /// A venue that rotates heartbeat ids like production: each answer a new id, the next
    /// beat must echo it (or be empty, starting a chain); anything else is 400 `Invalid
    /// Heartbeat ID`. It loses its chain once, after the third beat.
    fn serve(server: &tiny_http::Server, bodies: &Mutex<Vec<String>>) {
        let mut n = 0u32;
        let mut current = String::new();
        for mut req in server.incoming_requests() {
            let mut body = String::new();
            req.as_reader().read_to_string(&mut body).unwrap();
            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
            let echoed = v["heartbeat_id"].as_str().unwrap_or("?").to_string();
            bodies.lock().unwrap().push(echoed.clone());
            let ok = echoed.is_empty() || echoed == current;
            let (status, answer) = if ok {
                n += 1;
                current = format!("hb-{n}");
                (200, serde_json::json!({ "heartbeat_id": current }))
            } else {
                (400, serde_json::json!({ "error": "Invalid Heartbeat ID" }))
            };
            if n == 3 && ok {
                current = "lost".into();
            }
            let json: tiny_http::Header = "Content-Type: application/json".parse().unwrap();
            let r = tiny_http::Response::from_string(answer.to_string())
                .with_status_code(status)
                .with_header(json);
            let _ = req.respond(r);
        }
    }

    #[test]
    fn each_beat_echoes_the_last_id_and_a_lost_chain_restarts_empty() {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let url = format!("http://{}", server.server_addr().to_ip().unwrap());
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let venue = {
            let (s, b) = (server.clone(), bodies.clone());
            std::thread::spawn(move || serve(&s, &b))
        };
        let creds = ApiCredentials {
            api_key: "k".into(),
            secret: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into(),
            passphrase: "p".into(),
        };
        let key = PrivateKey::from_hex(&format!("0x{:064x}", 7)).unwrap();
        let client = Arc::new(ClobClient::new(ClobConfig::new(&url), key, creds, 2).unwrap());
        let mut hb = Heartbeat::start(client, Duration::from_millis(20)).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while bodies.lock().unwrap().len() < 7 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        hb.stop();
        server.unblock();
        venue.join().unwrap();
        let seen = bodies.lock().unwrap().clone();
        // A chain from empty; the venue lost hb-3: 400, then a new chain at once.
        assert_eq!(seen[..7], ["", "hb-1", "hb-2", "hb-3", "", "hb-4", "hb-5"]);
        assert_eq!(hb.stats.restarts.load(Ordering::Relaxed), 1);
        assert_eq!(hb.stats.failed.load(Ordering::Relaxed), 1);
        assert!(hb.stats.healthy.load(Ordering::Relaxed));
    }
}
