//! The dispatch stage: opportunities in, order intents out.
//!
//! In dry-run (the default until the orders path is configured) every intent is journaled to
//! a cold thread and counted, never sent. A complete set (either side) becomes one plan of
//! BUY legs at the worst prices its sizing reached, all FOK: a leg fills completely within its
//! limit or not at all.

use std::sync::Arc;

use crossbeam::channel::Sender;

use super::OrderIntent;
use crate::adapters::polymarket::signing::OrderType;
use crate::core::Side;
use crate::obs::clock::now_ns;
use crate::obs::{LatencyHistogram, LiveLatency};
use crate::pipeline::ring::Counter;
use crate::pipeline::stage::Stage;
use crate::strategy::Opportunity;

#[derive(Debug, Default)]
pub struct DispatchStats {
    pub plans: Counter,
    pub intents: Counter,
    /// Intents the journal could not take (its channel was full).
    pub journal_dropped: Counter,
    /// Frame received → intents dispatched, published about once a second.
    pub e2e_live: LiveLatency,
    /// Bumped by a controller to start a new measurement window (histograms reset).
    pub epoch: Counter,
}

/// The timing both dispatch stages keep: queue wait and received → dispatched histograms, reset
/// when a controller bumps [`DispatchStats::epoch`], the latter published about once a second.
pub struct DispatchTiming {
    queue_wait: LatencyHistogram,
    /// Frame received → intents dispatched.
    e2e: LatencyHistogram,
    next_publish_ns: u64,
    epoch: u64,
}

impl Default for DispatchTiming {
    fn default() -> Self {
        Self {
            queue_wait: LatencyHistogram::new("dispatch: queue wait"),
            e2e: LatencyHistogram::new("received → intent dispatched"),
            next_publish_ns: 0,
            epoch: 0,
        }
    }
}

impl DispatchTiming {
    /// At the start of `process`: the opportunity's wait in the ring. Returns now.
    #[inline]
    pub fn start(&mut self, o: &Opportunity) -> u64 {
        let now = now_ns();
        self.queue_wait.record(now.saturating_sub(o.detected_ns));
        now
    }

    /// At the end of `process`: received → dispatched.
    #[inline]
    pub fn done(&mut self, o: &Opportunity) {
        self.e2e.record(now_ns().saturating_sub(o.recv_ns));
    }

    /// The stage's `tick`: epoch reset and the once-a-second live publish.
    pub fn tick(&mut self, stats: &DispatchStats, now_ns: u64) {
        if stats.epoch.get() != self.epoch {
            self.epoch = stats.epoch.get();
            self.queue_wait.reset();
            self.e2e.reset();
        }
        if now_ns >= self.next_publish_ns {
            self.next_publish_ns = now_ns + 1_000_000_000;
            stats.e2e_live.publish(&self.e2e);
        }
    }

    pub fn histograms(&self, out: &mut Vec<LatencyHistogram>) {
        out.push(self.queue_wait.clone());
        out.push(self.e2e.clone());
    }
}

pub struct DispatchStage {
    next_plan: u64,
    journal: Option<Sender<OrderIntent>>,
    pub stats: Arc<DispatchStats>,
    timing: DispatchTiming,
}

impl DispatchStage {
    /// `first_plan_id` must not repeat across runs (use the start time).
    pub fn new(first_plan_id: u64, journal: Option<Sender<OrderIntent>>) -> Self {
        Self {
            next_plan: first_plan_id,
            journal,
            stats: Arc::new(DispatchStats::default()),
            timing: DispatchTiming::default(),
        }
    }
}

impl Stage for DispatchStage {
    type In = Opportunity;

    fn process(&mut self, o: Opportunity) {
        let now = self.timing.start(&o);
        let plan_id = self.next_plan;
        self.next_plan += 1;
        self.stats.plans.inc();
        for (k, leg) in o.legs().iter().enumerate() {
            let intent = OrderIntent {
                plan_id,
                client_oid: super::pairing::leg_oid(plan_id, k),
                group: o.group,
                asset: leg.asset,
                side: Side::Bid,
                price: leg.price,
                size: o.size,
                order_type: OrderType::Fok,
                recv_ns: o.recv_ns,
                created_ns: now,
            };
            self.stats.intents.inc();
            if let Some(j) = &self.journal
                && j.try_send(intent).is_err()
            {
                self.stats.journal_dropped.inc();
            }
        }
        self.timing.done(&o);
    }

    fn tick(&mut self, now_ns: u64) -> bool {
        self.timing.tick(&self.stats, now_ns);
        false
    }

    fn has_pending(&self) -> bool {
        false
    }

    fn flush(&mut self) {}

    fn histograms(&self, out: &mut Vec<LatencyHistogram>) {
        self.timing.histograms(out);
    }
}
