//! The venue's HTTP side: a tiny_http server, worker threads, and a router over services.
//!
//! Each endpoint family is a `HttpService` in its own module (`book_api` for the CLOB market
//! data, `admin` for fault injection and inspection; Gamma and the order endpoints plug in the
//! same way). No HTTP is parsed here: tiny_http does that; a service sees a `HttpRequest` with
//! the path, the decoded query and a size-capped body, and answers a `HttpResponse`. Every
//! error is JSON `{"error": "..."}`; a panicking handler becomes a 500, never a dead worker.

use std::io::Read;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::wire::error_body;

/// A request as a service sees it.
pub struct HttpRequest<'a> {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    raw: &'a mut tiny_http::Request,
    max_body: usize,
}

impl HttpRequest<'_> {
    /// The first value of a query parameter.
    pub fn query(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.raw
            .headers()
            .iter()
            .find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str().to_string())
    }

    /// The body, at most the configured size (413 beyond it).
    pub fn body(&mut self) -> Result<Vec<u8>, HttpResponse> {
        let too_large = || HttpResponse::error(413, "request body too large");
        if self.raw.body_length().is_some_and(|n| n > self.max_body) {
            return Err(too_large());
        }
        let mut body = Vec::new();
        self.raw
            .as_reader()
            .take(self.max_body as u64 + 1)
            .read_to_end(&mut body)
            .map_err(|_| HttpResponse::error(400, "unreadable request body"))?;
        if body.len() > self.max_body {
            return Err(too_large());
        }
        Ok(body)
    }

    /// The body as JSON of type `T` (400 with the reason if it is not).
    pub fn json<T: DeserializeOwned>(&mut self) -> Result<T, HttpResponse> {
        let body = self.body()?;
        serde_json::from_slice(&body)
            .map_err(|e| HttpResponse::error(400, &format!("invalid JSON body: {e}")))
    }
}

/// A response: status, JSON body, extra headers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub body: Vec<u8>,
    pub headers: Vec<(&'static str, String)>,
}

impl HttpResponse {
    pub fn json<T: Serialize>(status: u16, v: &T) -> Self {
        match serde_json::to_vec(v) {
            Ok(body) => Self {
                status,
                body,
                headers: Vec::new(),
            },
            Err(e) => Self::error(500, &format!("cannot serialize response: {e}")),
        }
    }

    pub fn error(status: u16, msg: &str) -> Self {
        Self {
            status,
            body: error_body(msg),
            headers: Vec::new(),
        }
    }

    /// 429 with `Retry-After` (seconds).
    pub fn too_many(retry_after_s: u64) -> Self {
        let mut r = Self::error(429, "Too Many Requests");
        r.headers.push(("Retry-After", retry_after_s.to_string()));
        r
    }
}

/// An endpoint family. Returns `None` for requests that are not its own.
pub trait HttpService: Send + Sync {
    fn handle(&self, req: &mut HttpRequest<'_>) -> Option<HttpResponse>;
}

/// Dispatches to the first service that claims the request.
#[derive(Default, Clone)]
pub struct Router {
    services: Vec<Arc<dyn HttpService>>,
}

impl Router {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with(mut self, s: Arc<dyn HttpService>) -> Self {
        self.services.push(s);
        self
    }

    pub fn dispatch(&self, req: &mut HttpRequest<'_>) -> HttpResponse {
        for s in &self.services {
            if let Some(r) = s.handle(req) {
                return r;
            }
        }
        HttpResponse::error(404, "not found")
    }
}

/// Splits `a=1&b=%20x` into decoded pairs (`+` is a space, `%XX` a byte).
pub fn parse_query(q: &str) -> Vec<(String, String)> {
    fn decode(s: &str) -> String {
        let b = s.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            let c = b[i];
            if c == b'+' {
                out.push(b' ');
                i += 1;
                continue;
            }
            if c == b'%' {
                let hex = b
                    .get(i + 1..i + 3)
                    .filter(|h| h.iter().all(u8::is_ascii_hexdigit));
                if let Some(v) =
                    hex.and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok())
                {
                    out.push(v);
                    i += 3;
                    continue;
                }
            }
            out.push(c);
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
        .collect()
}

/// The running HTTP server.
pub struct HttpServer {
    server: Arc<tiny_http::Server>,
    workers: Vec<JoinHandle<()>>,
    stop: Arc<AtomicBool>,
    pub addr: SocketAddr,
}

impl HttpServer {
    pub fn start(
        addr: SocketAddr,
        workers: usize,
        max_body: usize,
        router: Router,
    ) -> std::io::Result<Self> {
        let server = tiny_http::Server::http(addr).map_err(std::io::Error::other)?;
        let addr = server
            .server_addr()
            .to_ip()
            .ok_or_else(|| std::io::Error::other("HTTP server has no IP address"))?;
        let server = Arc::new(server);
        let stop = Arc::new(AtomicBool::new(false));
        let workers = (0..workers.max(1))
            .map(|i| {
                let (server, stop, router) = (server.clone(), stop.clone(), router.clone());
                std::thread::Builder::new()
                    .name(format!("venue-http-{i}"))
                    .spawn(move || serve(&server, &stop, &router, max_body))
            })
            .collect::<std::io::Result<Vec<_>>>()?;
        Ok(Self {
            server,
            workers,
            stop,
            addr,
        })
    }

    pub fn shutdown(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for _ in 0..self.workers.len() {
            self.server.unblock();
        }
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn serve(server: &tiny_http::Server, stop: &AtomicBool, router: &Router, max_body: usize) {
    while !stop.load(Ordering::SeqCst) {
        let Ok(mut raw) = server.recv() else { break };
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let (path, query) = match raw.url().split_once('?') {
            Some((p, q)) => (p.to_string(), parse_query(q)),
            None => (raw.url().to_string(), Vec::new()),
        };
        let method = raw.method().as_str().to_ascii_uppercase();
        let resp = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut req = HttpRequest {
                method,
                path,
                query,
                raw: &mut raw,
                max_body,
            };
            router.dispatch(&mut req)
        }))
        .unwrap_or_else(|_| HttpResponse::error(500, "internal error"));
        let mut out = tiny_http::Response::from_data(resp.body).with_status_code(resp.status);
        let mut headers = vec![("Content-Type", "application/json".to_string())];
        headers.extend(resp.headers);
        for (k, v) in headers {
            if let Ok(h) = tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()) {
                out.add_header(h);
            }
        }
        let _ = raw.respond(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_decoding() {
        let q = parse_query("token_id=123&x=a%20b+c&flag&bad=%zz&end=%4");
        assert_eq!(q[0], ("token_id".into(), "123".into()));
        assert_eq!(q[1], ("x".into(), "a b c".into()));
        assert_eq!(q[2], ("flag".into(), String::new()));
        assert_eq!(q[3], ("bad".into(), "%zz".into()));
        assert_eq!(q[4], ("end".into(), "%4".into()));
    }
}
