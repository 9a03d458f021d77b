//! The status and metrics endpoint: a tiny_http server on its own cold thread answering
//! `GET /metrics` (OpenMetrics text) and `GET /status` (JSON) from what its [`Endpoint`]
//! renders on each request. It reads only the state replica; nothing on the hot path waits
//! for it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum ObsError {
    #[error("cannot listen on {addr}: {why}")]
    Bind { addr: SocketAddr, why: String },
    #[error("cannot spawn the obs thread: {0}")]
    Spawn(#[from] std::io::Error),
}

/// What the endpoint serves.
pub trait Endpoint: Send + Sync + 'static {
    /// The OpenMetrics text of `/metrics`.
    fn metrics(&self) -> Result<String, String>;
    /// The JSON document of `/status`.
    fn status(&self) -> Result<String, String>;
}

/// A running endpoint; dropping it (or [`ObsServer::stop`]) stops its thread.
pub struct ObsServer {
    server: Arc<tiny_http::Server>,
    addr: SocketAddr,
    thread: Option<JoinHandle<()>>,
}

impl ObsServer {
    /// Binds `addr` (port 0: any free port) and serves `endpoint` on a thread named `obs`.
    pub fn start(addr: SocketAddr, endpoint: Arc<dyn Endpoint>) -> Result<Self, ObsError> {
        let server = tiny_http::Server::http(addr).map_err(|e| ObsError::Bind {
            addr,
            why: e.to_string(),
        })?;
        let bound = server.server_addr().to_ip().ok_or_else(|| ObsError::Bind {
            addr,
            why: "not an IP socket".into(),
        })?;
        let server = Arc::new(server);
        let s = server.clone();
        let thread = std::thread::Builder::new()
            .name("obs".into())
            .spawn(move || {
                for req in s.incoming_requests() {
                    answer(req, endpoint.as_ref());
                }
            })?;
        tracing::info!(target: "polyarb::obs", addr = %bound, "status and metrics endpoint listening");
        Ok(Self {
            server,
            addr: bound,
            thread: Some(thread),
        })
    }

    /// The bound address (the real port when 0 was asked for).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops serving and joins the thread.
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for ObsServer {
    fn drop(&mut self) {
        self.halt();
    }
}

fn answer(req: tiny_http::Request, endpoint: &dyn Endpoint) {
    let path = req.url().split('?').next().unwrap_or("").to_string();
    let get = *req.method() == tiny_http::Method::Get;
    let (code, ctype, body) = match (get, path.as_str()) {
        (true, "/metrics") => match endpoint.metrics() {
            Ok(t) => (200, super::prom::CONTENT_TYPE, t),
            Err(e) => (500, "text/plain; charset=utf-8", e),
        },
        (true, "/status") => match endpoint.status() {
            Ok(t) => (200, "application/json", t),
            Err(e) => (500, "text/plain; charset=utf-8", e),
        },
        (true, "/") => (
            200,
            "text/plain; charset=utf-8",
            "polyarb: GET /metrics (OpenMetrics text), GET /status (JSON)\n".to_string(),
        ),
        (false, "/metrics" | "/status" | "/") => {
            (405, "text/plain; charset=utf-8", "only GET\n".to_string())
        }
        _ => (404, "text/plain; charset=utf-8", "not found\n".to_string()),
    };
    let mut resp = tiny_http::Response::from_string(body).with_status_code(code);
    if let Ok(h) = tiny_http::Header::from_bytes(&b"Content-Type"[..], ctype.as_bytes()) {
        resp = resp.with_header(h);
    }
    // A client that went away is its own problem; the endpoint keeps serving.
    let _ = req.respond(resp);
}
