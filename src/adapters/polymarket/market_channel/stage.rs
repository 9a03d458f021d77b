//! The parse stage: raw frames from the io stage in, `MarketMsg`s out.
//!
//! Backpressure: a message the downstream cannot take is not dropped silently. Its asset goes
//! into a lost set, and before anything newer is delivered every lost asset is invalidated
//! (`RingFull`), so its book becomes `resync_needed` and is healed. Frame buffers go back to the
//! io stage's pool after parsing.

use std::sync::Arc;

use super::parser::MarketParser;
use crate::core::{AssetIndex, AssetRegistry, MarketMsg, ResyncReason};
use crate::obs::LatencyHistogram;
use crate::pipeline::frame::{FrameBuf, IoEvent};
use crate::pipeline::ring::Counter;

/// Where parsed messages go: a ring to the book thread, or the book stage itself when both run
/// on one thread. `deliver` returns false when the message could not be taken.
pub trait MsgSink {
    fn deliver(&mut self, m: MarketMsg) -> bool;
    /// A frame's messages are all delivered (wake the consumer once per frame).
    fn flush(&mut self) {}
}

/// Parse-stage counters, readable from other threads.
#[derive(Debug, Default)]
pub struct ParseStats {
    pub frames: Counter,
    pub events: Counter,
    pub invalid: Counter,
    pub ignored: Counter,
    pub other: Counter,
    pub orphan: Counter,
    pub messages: Counter,
    pub lost_messages: Counter,
    pub lost_assets: Counter,
}

pub struct ParseStage {
    parser: MarketParser,
    pub registry: AssetRegistry,
    msgs: Vec<MarketMsg>,
    /// Assets with undelivered messages, in order, and a membership bitmap.
    lost: Vec<AssetIndex>,
    lost_bits: Vec<u64>,
    pub stats: Arc<ParseStats>,
    /// Frame received → parsed (includes the frames-ring wait).
    pub latency: LatencyHistogram,
}

impl ParseStage {
    pub fn new(registry: AssetRegistry) -> Self {
        let n = registry.len();
        Self {
            parser: MarketParser::new(false),
            registry,
            msgs: Vec::with_capacity(4096),
            lost: Vec::with_capacity(n),
            lost_bits: vec![0; n / 64 + 1],
            stats: Arc::new(ParseStats::default()),
            latency: LatencyHistogram::new("frame received → parsed"),
        }
    }

    /// Handles one io event; returns the frame buffer for the pool.
    pub fn on_event(
        &mut self,
        ev: IoEvent,
        sink: &mut impl MsgSink,
        now_ns: impl Fn() -> u64,
    ) -> Option<FrameBuf> {
        if !self.flush_lost(sink) {
            // Still blocked: whatever this event carries joins the lost set.
            match ev {
                IoEvent::Frame(mut buf) => {
                    self.parse(&mut buf);
                    for i in 0..self.msgs.len() {
                        if let Some(a) = self.msgs[i].asset() {
                            self.mark_lost(a);
                        }
                    }
                    self.stats.lost_messages.add(self.msgs.len() as u64);
                    return Some(buf);
                }
                IoEvent::Invalidate { asset, .. } => {
                    self.mark_lost(asset);
                    return None;
                }
            }
        }
        match ev {
            IoEvent::Frame(mut buf) => {
                self.parse(&mut buf);
                self.latency.record(now_ns().saturating_sub(buf.recv_ns));
                for i in 0..self.msgs.len() {
                    let m = self.msgs[i];
                    if !sink.deliver(m) {
                        self.stats.lost_messages.inc();
                        if let Some(a) = m.asset() {
                            self.mark_lost(a);
                        }
                    }
                }
                self.stats.messages.add(self.msgs.len() as u64);
                sink.flush();
                Some(buf)
            }
            IoEvent::Invalidate { asset, reason } => {
                if !sink.deliver(MarketMsg::Invalidate { asset, reason }) {
                    self.mark_lost(asset);
                }
                sink.flush();
                None
            }
        }
    }

    fn parse(&mut self, buf: &mut FrameBuf) {
        self.msgs.clear();
        let recv_ns = buf.recv_ns;
        let (bytes, len) = buf.padded_mut();
        self.parser
            .parse_padded(bytes, len, recv_ns, &mut self.registry, &mut self.msgs);
        let c = &self.parser.counters;
        let s = &self.stats;
        s.frames.set(c.frames);
        s.events.set(c.events);
        s.invalid.set(c.invalid);
        s.ignored.set(c.ignored);
        s.other.set(c.other);
        s.orphan.set(c.orphan);
    }

    fn mark_lost(&mut self, a: AssetIndex) {
        let (w, b) = (a.get() / 64, a.get() % 64);
        if w >= self.lost_bits.len() {
            self.lost_bits.resize(w + 1, 0);
        }
        if self.lost_bits[w] & (1 << b) == 0 {
            self.lost_bits[w] |= 1 << b;
            self.lost.push(a);
            self.stats.lost_assets.inc();
        }
    }

    /// Delivers pending invalidations; true when none remain.
    fn flush_lost(&mut self, sink: &mut impl MsgSink) -> bool {
        while let Some(&a) = self.lost.last() {
            let m = MarketMsg::Invalidate {
                asset: a,
                reason: ResyncReason::RingFull,
            };
            if !sink.deliver(m) {
                return false;
            }
            self.lost.pop();
            self.lost_bits[a.get() / 64] &= !(1 << (a.get() % 64));
        }
        true
    }

    pub fn counters(&self) -> super::ParseCounters {
        self.parser.counters
    }
}
