//! Recorded frames into storage events, off the hot path (`polyarb db import`, tests, benches).
//!
//! Each venue event of a frame is parsed on its own by the real `MarketParser`, so every
//! message it yields can carry that event's own venue `timestamp` (a frame may batch events
//! with different timestamps). The books this produces are the books `replay::Replayer`
//! builds from the same frames: the parser treats the events of a frame independently.

use crate::adapters::polymarket::market_channel::MarketParser;
use crate::core::{AssetIndex, AssetRegistry, MarketMsg};

use super::event::{AssetRegistration, StorageEvent};

/// Frames in, `StorageEvent`s out (asset registrations first, in index order).
pub struct FrameIngestor {
    parser: MarketParser,
    registry: AssetRegistry,
    msgs: Vec<MarketMsg>,
    registered: usize,
    /// Frames that were not JSON at all (they yield no events; the parser counts the rest).
    pub unreadable_frames: u64,
}

impl Default for FrameIngestor {
    fn default() -> Self {
        Self::new()
    }
}

impl FrameIngestor {
    pub fn new() -> Self {
        Self {
            parser: MarketParser::new(true),
            registry: AssetRegistry::new(),
            msgs: Vec::with_capacity(256),
            registered: 0,
            unreadable_frames: 0,
        }
    }

    pub fn registry(&self) -> &AssetRegistry {
        &self.registry
    }

    pub fn parser(&self) -> &MarketParser {
        &self.parser
    }

    /// Parses one frame received at `recv_ns` (UNIX ns) and hands its events to `sink`.
    pub fn frame(&mut self, frame: &[u8], recv_ns: u64, sink: &mut impl FnMut(StorageEvent)) {
        let value: serde_json::Value = match serde_json::from_slice(frame) {
            Ok(v) => v,
            Err(_) => {
                // `PONG`, `NO NEW ASSETS`, garbage: let the parser count it, nothing to store.
                self.unreadable_frames += 1;
                self.msgs.clear();
                self.parser
                    .parse(frame, recv_ns, &mut self.registry, &mut self.msgs);
                return;
            }
        };
        match value {
            serde_json::Value::Array(events) => {
                for ev in &events {
                    self.event(ev, recv_ns, sink);
                }
            }
            ev => self.event(&ev, recv_ns, sink),
        }
    }

    /// The newest venue `timestamp` (ms) among a frame's events, if any.
    pub fn frame_venue_ms(frame: &[u8]) -> Option<u64> {
        let v: serde_json::Value = serde_json::from_slice(frame).ok()?;
        let ts = |e: &serde_json::Value| e.get("timestamp").and_then(venue_ms);
        match &v {
            serde_json::Value::Array(a) => a.iter().filter_map(ts).max(),
            e => ts(e),
        }
    }

    fn event(&mut self, ev: &serde_json::Value, recv_ns: u64, sink: &mut impl FnMut(StorageEvent)) {
        let venue_ts_ms = ev.get("timestamp").and_then(venue_ms).unwrap_or(0);
        let Ok(bytes) = serde_json::to_vec(ev) else {
            return;
        };
        self.msgs.clear();
        self.parser
            .parse(&bytes, recv_ns, &mut self.registry, &mut self.msgs);
        while self.registered < self.registry.len() {
            let asset = AssetIndex(self.registered as u32);
            self.registered += 1;
            if let Some(info) = self.registry.info(asset) {
                sink(StorageEvent::RegisterAsset(Box::new(AssetRegistration {
                    asset,
                    token: info.token,
                    condition_id: info.market.as_deref().unwrap_or("").to_string(),
                    outcome: None,
                    outcome_index: None,
                })));
            }
        }
        let fee_rate_bps = ev
            .get("fee_rate_bps")
            .and_then(serde_json::Value::as_str)
            .and_then(|s| s.parse().ok());
        for m in &self.msgs {
            match StorageEvent::from_market_msg(m, recv_ns).map(|e| e.or_venue_ts(venue_ts_ms)) {
                Some(StorageEvent::Trade(mut t)) => {
                    t.fee_rate_bps = fee_rate_bps;
                    sink(StorageEvent::Trade(t));
                }
                Some(e) => sink(e),
                None => {}
            }
        }
    }
}

/// A venue timestamp: milliseconds as a JSON string (what the venue sends) or number.
fn venue_ms(t: &serde_json::Value) -> Option<u64> {
    match t {
        serde_json::Value::String(s) => s.parse().ok(),
        serde_json::Value::Number(n) => n.as_u64(),
        _ => None,
    }
}
