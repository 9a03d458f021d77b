//! The parse stage: raw frames from the io stage in, `MarketMsg`s out.
//!
//! Backpressure (parse → book ring): a full ring first stalls this stage, yielding, for up to
//! `stall_budget` (the frames ring behind it fills, the io stage stops reading, TCP buffers
//! the rest: nothing is lost). Past the budget, a message that still cannot be delivered is
//! not dropped silently: its asset goes into a lost set, and before anything newer is
//! delivered every lost asset is invalidated (`RingFull`), so its book is resynced.
//! Frame buffers go back to the io stage's pool after parsing.
//!
//! The registry grows while running only by `IoEvent::Extend` (a market listed since the
//! start), which the io stage sends before subscribing its assets: the tokens of any frame are
//! known by the time it arrives. The registry's tables are reserved for `max_assets` at start.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::frame::{FrameBuf, IoEvent};
use super::parser::MarketParser;
use crate::core::{AssetIndex, AssetRegistry, AssetSet, MarketMsg, ResyncReason};
use crate::obs::LatencyHistogram;
use crate::obs::clock::now_ns;
use crate::pipeline::ring::{Counter, RingTx};
use crate::pipeline::stage::{Out, Stage};

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
    pub stalls: Counter,
    pub lost_messages: Counter,
    pub lost_assets: Counter,
    /// Assets added to the registry while running (`IoEvent::Extend`).
    pub extended_assets: Counter,
    /// Extensions refused (a hole in the indices: a bug upstream, logged).
    pub extension_errors: Counter,
    /// Bumped by a controller to start a new measurement window (histograms reset).
    pub epoch: Counter,
}

pub struct ParseStage {
    parser: MarketParser,
    pub registry: AssetRegistry,
    msgs: Vec<MarketMsg>,
    out: Out<MarketMsg>,
    returns: Option<RingTx<FrameBuf>>,
    /// Assets with undelivered messages, each owed an invalidation.
    lost: AssetSet,
    stall_budget: Duration,
    pub stats: Arc<ParseStats>,
    /// Frame received → parsed (includes the wait in the frames ring).
    latency: LatencyHistogram,
    epoch: u64,
}

impl ParseStage {
    /// `returns` takes frame buffers back to the io stage's pool. Tables are sized for
    /// `max_assets` (at least the registry's size) so that extensions never reallocate them.
    pub fn new(
        mut registry: AssetRegistry,
        out: Out<MarketMsg>,
        returns: Option<RingTx<FrameBuf>>,
        stall_budget: Duration,
        max_assets: usize,
    ) -> Self {
        let n = registry.len().max(max_assets);
        registry.reserve_total(n);
        Self {
            parser: MarketParser::new(false),
            registry,
            msgs: Vec::with_capacity(4096),
            out,
            returns,
            lost: AssetSet::with_capacity(n),
            stall_budget,
            stats: Arc::new(ParseStats::default()),
            latency: LatencyHistogram::new("received → parsed"),
            epoch: 0,
        }
    }

    pub fn counters(&self) -> super::ParseCounters {
        self.parser.counters
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

    /// Delivers one message, stalling within the budget; false if it had to be given up.
    #[inline]
    fn deliver(&mut self, m: MarketMsg) -> bool {
        let Err(mut m) = self.out.emit(m) else {
            return true;
        };
        self.stats.stalls.inc();
        self.out.flush();
        let start = Instant::now();
        loop {
            std::thread::yield_now();
            match self.out.emit(m) {
                Ok(()) => return true,
                Err(back) => m = back,
            }
            if start.elapsed() > self.stall_budget {
                return false;
            }
        }
    }

    fn mark_lost(&mut self, a: AssetIndex) {
        if self.lost.insert(a) {
            self.stats.lost_assets.inc();
        }
    }

    /// Delivers pending invalidations; true when none remain.
    fn flush_lost(&mut self) -> bool {
        while let Some(a) = self.lost.last() {
            let m = MarketMsg::Invalidate {
                asset: a,
                reason: ResyncReason::RingFull,
            };
            if self.out.emit(m).is_err() {
                return false;
            }
            self.lost.pop();
        }
        true
    }
}

impl Stage for ParseStage {
    type In = IoEvent;

    #[inline]
    fn process(&mut self, ev: IoEvent) {
        let unblocked = self.flush_lost();
        match ev {
            IoEvent::Frame(mut buf) => {
                self.parse(&mut buf);
                let now = now_ns();
                self.latency.record(now.saturating_sub(buf.recv_ns));
                if let Some(MarketMsg::FrameStart { sent_ns, .. }) = self.msgs.first_mut() {
                    *sent_ns = now;
                }
                self.stats.messages.add(self.msgs.len() as u64);
                for i in 0..self.msgs.len() {
                    let m = self.msgs[i];
                    if !(unblocked && self.lost.is_empty() && self.deliver(m)) {
                        self.stats.lost_messages.inc();
                        if let Some(a) = m.asset() {
                            self.mark_lost(a);
                        }
                    }
                }
                self.out.flush();
                if let Some(r) = &mut self.returns {
                    // The pool ring is sized for every buffer: it cannot be full.
                    let _ = r.push_quiet(buf);
                }
            }
            IoEvent::Invalidate { asset, reason } => {
                if !(unblocked && self.deliver(MarketMsg::Invalidate { asset, reason })) {
                    self.mark_lost(asset);
                }
                self.out.flush();
            }
            IoEvent::Extend(ext) => {
                let first = ext.first;
                match self.registry.extend_with(*ext) {
                    Ok(n) => self.stats.extended_assets.add(n as u64),
                    Err(e) => {
                        self.stats.extension_errors.inc();
                        tracing::error!(first, error = %e, "parse stage: registry extension refused");
                    }
                }
            }
        }
    }

    fn tick(&mut self, now_ns: u64) -> bool {
        if self.stats.epoch.get() != self.epoch {
            self.epoch = self.stats.epoch.get();
            self.latency.reset();
        }
        let mut did = false;
        if !self.lost.is_empty() {
            did = self.flush_lost();
            self.out.flush();
        }
        self.out.tick(now_ns) || did
    }

    fn has_pending(&self) -> bool {
        !self.lost.is_empty() || self.out.has_pending()
    }

    fn flush(&mut self) {
        self.out.flush();
    }

    fn finish(&mut self) {
        self.out.finish();
    }

    fn histograms(&self, out: &mut Vec<LatencyHistogram>) {
        out.push(self.latency.clone());
        self.out.histograms(out);
    }
}
