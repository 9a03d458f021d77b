//! `GET /book` and `POST /books`: order-book snapshots, used to heal books that went wrong.
//!
//! Responses are parsed exactly (decimal strings into micro-units); a malformed entry is
//! skipped and counted by the caller, never trusted.

use std::time::Duration;

use serde::Deserialize;
use thiserror::Error;

use crate::core::{Price, Size, TickSize};

#[derive(Debug, Error)]
pub enum RestError {
    #[error("rate limited; retry after {0:?}")]
    RateLimited(Duration),
    #[error("HTTP {status}: {body}")]
    Status { status: u16, body: String },
    #[error("transport: {0}")]
    Transport(String),
    #[error("bad response body: {0}")]
    Body(String),
}

/// One level of a snapshot as the venue spells it.
#[derive(Debug, Deserialize)]
pub struct WireLevel {
    pub price: String,
    pub size: String,
}

/// `OrderBookSummary` as served by `/book` and `/books`.
#[derive(Debug, Deserialize)]
pub struct WireBook {
    pub market: Option<String>,
    pub asset_id: String,
    #[serde(default)]
    pub timestamp: Option<String>,
    #[serde(default)]
    pub hash: Option<String>,
    pub bids: Vec<WireLevel>,
    pub asks: Vec<WireLevel>,
    #[serde(default)]
    pub tick_size: Option<String>,
    #[serde(default)]
    pub min_order_size: Option<String>,
    #[serde(default)]
    pub neg_risk: Option<bool>,
    #[serde(default)]
    pub last_trade_price: Option<String>,
}

/// A validated snapshot: exact integers, levels in the order served.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BookSnapshot {
    pub asset_id: String,
    pub venue_ts_ms: u64,
    pub tick: Option<TickSize>,
    pub bids: Vec<(Price, Size)>,
    pub asks: Vec<(Price, Size)>,
}

impl WireBook {
    /// Validates every field the book depends on; `None` if any level is malformed.
    pub fn validate(&self) -> Option<BookSnapshot> {
        let level = |l: &WireLevel| -> Option<(Price, Size)> {
            let p = Price::parse(&l.price).ok().filter(|p| p.is_level_price())?;
            Some((p, Size::parse(&l.size).ok()?))
        };
        let tick = match &self.tick_size {
            Some(t) => Some(TickSize::parse(t).ok()?),
            None => None,
        };
        crate::core::TokenId::parse(&self.asset_id).ok()?;
        Some(BookSnapshot {
            asset_id: self.asset_id.clone(),
            venue_ts_ms: self
                .timestamp
                .as_deref()
                .and_then(|t| t.parse().ok())
                .unwrap_or(0),
            tick,
            bids: self.bids.iter().map(level).collect::<Option<_>>()?,
            asks: self.asks.iter().map(level).collect::<Option<_>>()?,
        })
    }
}

/// A keep-alive client for the CLOB's public book endpoints.
pub struct ClobBookClient {
    agent: ureq::Agent,
    base: String,
    max_body: u64,
}

#[derive(Serialize)]
struct BooksParam<'a> {
    token_id: &'a str,
}

use serde::Serialize;

impl ClobBookClient {
    pub fn new(base_url: &str, timeout: Duration) -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .max_idle_connections_per_host(4)
            .build()
            .new_agent();
        Self {
            agent,
            base: base_url.trim_end_matches('/').to_string(),
            max_body: 64 << 20,
        }
    }

    /// `POST /books` for several tokens; returns the raw entries (validate each).
    pub fn books(&self, token_ids: &[&str]) -> Result<Vec<WireBook>, RestError> {
        let body: Vec<BooksParam<'_>> = token_ids
            .iter()
            .map(|t| BooksParam { token_id: t })
            .collect();
        let body = serde_json::to_string(&body).map_err(|e| RestError::Body(e.to_string()))?;
        let resp = self
            .agent
            .post(format!("{}/books", self.base))
            .header("Content-Type", "application/json")
            .send(body)
            .map_err(|e| RestError::Transport(e.to_string()))?;
        self.decode(resp)
    }

    /// `GET /book?token_id=`.
    pub fn book(&self, token_id: &str) -> Result<WireBook, RestError> {
        let resp = self
            .agent
            .get(format!("{}/book", self.base))
            .query("token_id", token_id)
            .call()
            .map_err(|e| RestError::Transport(e.to_string()))?;
        self.decode(resp)
    }

    fn decode<T: serde::de::DeserializeOwned>(
        &self,
        mut resp: ureq::http::Response<ureq::Body>,
    ) -> Result<T, RestError> {
        let status = resp.status().as_u16();
        if status == 429 {
            let secs = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(1);
            return Err(RestError::RateLimited(Duration::from_secs(secs)));
        }
        let bytes = resp
            .body_mut()
            .with_config()
            .limit(self.max_body)
            .read_to_vec()
            .map_err(|e| RestError::Transport(e.to_string()))?;
        if !(200..300).contains(&status) {
            let body = String::from_utf8_lossy(&bytes[..bytes.len().min(512)]).into_owned();
            return Err(RestError::Status { status, body });
        }
        serde_json::from_slice(&bytes).map_err(|e| RestError::Body(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_exactly() {
        let b: WireBook = serde_json::from_str(
            r#"{"market":"0x1","asset_id":"123","timestamp":"17","hash":"h","bids":[{"price":"0.48","size":"100.5"}],"asks":[{"price":".52","size":"3"}],"tick_size":"0.01","min_order_size":"5","neg_risk":false,"last_trade_price":"0.5"}"#,
        )
        .unwrap();
        let s = b.validate().unwrap();
        assert_eq!(s.venue_ts_ms, 17);
        assert_eq!(s.bids, vec![(Price(480_000), Size(100_500_000))]);
        assert_eq!(s.asks, vec![(Price(520_000), Size(3_000_000))]);
        let bad: WireBook = serde_json::from_str(
            r#"{"asset_id":"123","bids":[{"price":"1.5","size":"1"}],"asks":[]}"#,
        )
        .unwrap();
        assert!(bad.validate().is_none());
    }
}
