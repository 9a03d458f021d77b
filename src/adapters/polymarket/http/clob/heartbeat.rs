//! The heartbeat loop: keeps the venue's dead-man switch armed (`POST /v1/heartbeats` every
//! `interval`, well inside the venue's 10 s). If this process dies or hangs, the heartbeats
//! stop and the venue cancels every resting order of the key: nothing is left quoting blind.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{RecvTimeoutError, Sender, channel};
use std::thread::JoinHandle;
use std::time::Duration;

use super::ClobClient;

/// What the loop has done.
#[derive(Debug, Default)]
pub struct HeartbeatStats {
    pub sent: AtomicU64,
    pub failed: AtomicU64,
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
                let mut id: Option<String> = None;
                loop {
                    match client.heartbeat(id.as_deref()) {
                        Ok(new) => {
                            id = Some(new);
                            st.sent.fetch_add(1, Ordering::Relaxed);
                            st.healthy.store(true, Ordering::Relaxed);
                        }
                        Err(e) => {
                            tracing::warn!("heartbeat failed: {e}");
                            st.failed.fetch_add(1, Ordering::Relaxed);
                            st.healthy.store(false, Ordering::Relaxed);
                        }
                    }
                    match rx.recv_timeout(interval) {
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
