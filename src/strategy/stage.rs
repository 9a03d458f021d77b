//! The strategy stage: book tops in, opportunities out.
//!
//! Backpressure (strategy → dispatch ring): an opportunity that cannot be delivered is dropped
//! and counted, and the group's memory of it is cleared, so the next top that still shows it
//! emits it again (a missed trade, never a stale one).
//!
//! Halt: while storage reports it cannot record orders and fills, no opportunity leaves this
//! stage (counted), so nothing is traded that could not be accounted for.

use std::sync::Arc;

use super::Opportunity;
use super::dutch::DutchBook;
use crate::core::TopOfBook;
use crate::obs::clock::now_ns;
use crate::obs::{LatencyHistogram, LiveLatency};
use crate::pipeline::ring::Counter;
use crate::pipeline::stage::{Out, Stage};
use crate::storage::StorageHealth;

#[derive(Debug, Default)]
pub struct StrategyStats {
    pub tops: Counter,
    pub opportunities: Counter,
    pub dropped: Counter,
    /// Opportunities not emitted because trading is halted (storage of orders/fills failing).
    pub halted: Counter,
    /// Frame received → opportunity, published about once a second.
    pub detect_live: LiveLatency,
    /// Bumped by a controller to start a new measurement window (histograms reset).
    pub epoch: Counter,
}

pub struct StrategyStage {
    pub dutch: DutchBook,
    out: Out<Opportunity>,
    /// While storage cannot record orders and fills, nothing may be traded.
    storage: Option<Arc<StorageHealth>>,
    pub stats: Arc<StrategyStats>,
    queue_wait: LatencyHistogram,
    /// Frame received → opportunity emitted.
    detect_latency: LatencyHistogram,
    next_publish_ns: u64,
    epoch: u64,
}

impl StrategyStage {
    pub fn new(
        dutch: DutchBook,
        out: Out<Opportunity>,
        storage: Option<Arc<StorageHealth>>,
    ) -> Self {
        Self {
            dutch,
            out,
            storage,
            stats: Arc::new(StrategyStats::default()),
            queue_wait: LatencyHistogram::new("strategy: queue wait"),
            detect_latency: LatencyHistogram::new("received → opportunity"),
            next_publish_ns: 0,
            epoch: 0,
        }
    }
}

impl Stage for StrategyStage {
    type In = TopOfBook;

    #[inline]
    fn process(&mut self, top: TopOfBook) {
        let now = now_ns();
        self.stats.tops.inc();
        if top.sent_ns != 0 {
            self.queue_wait.record(now.saturating_sub(top.sent_ns));
        }
        let Some(o) = self.dutch.on_top(top, now) else {
            return;
        };
        if self.storage.as_ref().is_some_and(|h| !h.trading_ok()) {
            self.stats.halted.inc();
            self.dutch.forget(o.group);
            return;
        }
        self.stats.opportunities.inc();
        self.detect_latency.record(now.saturating_sub(o.recv_ns));
        if self.out.emit(o).is_err() {
            self.stats.dropped.inc();
            self.dutch.forget(o.group);
        }
    }

    fn tick(&mut self, now_ns: u64) -> bool {
        if self.stats.epoch.get() != self.epoch {
            self.epoch = self.stats.epoch.get();
            self.queue_wait.reset();
            self.detect_latency.reset();
        }
        if now_ns >= self.next_publish_ns {
            self.next_publish_ns = now_ns + 1_000_000_000;
            self.stats.detect_live.publish(&self.detect_latency);
        }
        self.out.tick(now_ns)
    }

    fn has_pending(&self) -> bool {
        self.out.has_pending()
    }

    fn flush(&mut self) {
        self.out.flush();
    }

    fn histograms(&self, out: &mut Vec<LatencyHistogram>) {
        out.push(self.queue_wait.clone());
        out.push(self.detect_latency.clone());
        self.out.histograms(out);
    }
}
