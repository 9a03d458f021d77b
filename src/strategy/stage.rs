//! The strategy stage: book tops in, opportunities out.
//!
//! Backpressure (strategy → dispatch ring): an opportunity that cannot be delivered is dropped
//! and counted, and the group's memory of it is cleared, so the next top that still shows it
//! emits it again (a missed trade, never a stale one).
//!
//! Halt: while storage reports it cannot record orders and fills, no opportunity leaves this
//! stage (counted), so nothing is traded that could not be accounted for. Groups halted by
//! the catalog (`StrategyCommand::Halt`, through the command ring drained on every tick: a
//! market whose rules changed, and its neg-risk group) emit nothing until resumed (counted).
//!
//! Groups of markets listed while running arrive on the same ring (`Define`, `KnownAssets`),
//! before the feed subscribes their assets; a top for an asset past the known ones drains the
//! ring first, so a new market's first top always finds its group.

use std::sync::Arc;

use rtrb::Consumer;
use rustc_hash::FxHashSet;

use super::dutch::DutchBook;
use super::{Opportunity, StrategyCommand};
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
    /// Of `opportunities`, NO-side sets (their NOs pay only after conversion).
    pub no_side: Counter,
    pub dropped: Counter,
    /// Opportunities not emitted because trading is halted (storage of orders/fills failing).
    pub halted: Counter,
    /// Opportunities not emitted because the catalog halted their group.
    pub held: Counter,
    /// Catalog commands applied (halts, resumes and group definitions).
    pub commands: Counter,
    /// Groups defined or redefined while running.
    pub defined: Counter,
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
    /// Groups the catalog halted (looked up only when an opportunity is found).
    held: FxHashSet<u32>,
    commands: Option<Consumer<StrategyCommand>>,
    pub stats: Arc<StrategyStats>,
    queue_wait: LatencyHistogram,
    /// Frame received → opportunity emitted.
    detect_latency: LatencyHistogram,
    next_publish_ns: u64,
    epoch: u64,
    /// Tops of the spread quoter's markets, forwarded to its desk.
    spread: Option<super::spread::tap::SpreadTap>,
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
            held: FxHashSet::default(),
            commands: None,
            stats: Arc::new(StrategyStats::default()),
            queue_wait: LatencyHistogram::new("strategy: queue wait"),
            detect_latency: LatencyHistogram::new("received → opportunity"),
            next_publish_ns: 0,
            epoch: 0,
            spread: None,
        }
    }
}

impl StrategyStage {
    /// Takes halts and resumes from this ring (see `strategy::control`).
    pub fn with_commands(mut self, rx: Consumer<StrategyCommand>) -> Self {
        self.commands = Some(rx);
        self
    }

    /// Forwards the tops of quoted assets to the spread desk.
    pub fn with_spread(mut self, tap: super::spread::tap::SpreadTap) -> Self {
        self.spread = Some(tap);
        self
    }

    /// Whether the catalog has halted this group.
    #[inline]
    pub fn is_held(&self, group: u32) -> bool {
        !self.held.is_empty() && self.held.contains(&group)
    }

    /// Applies one command (a group id the strategy does not know is remembered all the same).
    pub fn apply(&mut self, c: StrategyCommand) {
        self.stats.commands.inc();
        let g = match c {
            StrategyCommand::Halt(g) => {
                self.held.insert(g);
                g
            }
            StrategyCommand::Resume(g) => {
                self.held.remove(&g);
                g
            }
            StrategyCommand::Define(group) => {
                self.stats.defined.inc();
                // A refusal is counted and logged by the strategy; the group never trades.
                let _ = self.dutch.define(*group);
                return;
            }
            StrategyCommand::KnownAssets(n) => {
                self.dutch.grow_to(n as usize);
                return;
            }
        };
        // Either way the next top re-evaluates the group from scratch.
        self.dutch.forget(g);
    }

    fn drain_commands(&mut self) -> bool {
        let mut any = false;
        while let Some(c) = self.commands.as_mut().and_then(|rx| rx.pop().ok()) {
            self.apply(c);
            any = true;
        }
        any
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
        if let Some(tap) = &mut self.spread {
            tap.on_top(&top);
        }
        // A new asset's group was defined before the feed subscribed it: it is in the ring.
        if top.asset.get() >= self.dutch.known_assets() {
            self.drain_commands();
        }
        let Some(o) = self.dutch.on_top(top, now) else {
            return;
        };
        if self.storage.as_ref().is_some_and(|h| !h.trading_ok()) {
            self.stats.halted.inc();
            self.dutch.forget(o.group);
            return;
        }
        if self.is_held(o.group) {
            self.stats.held.inc();
            self.dutch.forget(o.group);
            return;
        }
        self.stats.opportunities.inc();
        if o.side == super::GroupSide::No {
            self.stats.no_side.inc();
        }
        self.detect_latency.record(now.saturating_sub(o.recv_ns));
        if self.out.emit(o).is_err() {
            self.stats.dropped.inc();
            self.dutch.forget(o.group);
        }
    }

    fn tick(&mut self, now_ns: u64) -> bool {
        let commanded = self.drain_commands();
        if self.stats.epoch.get() != self.epoch {
            self.epoch = self.stats.epoch.get();
            self.queue_wait.reset();
            self.detect_latency.reset();
        }
        if now_ns >= self.next_publish_ns {
            self.next_publish_ns = now_ns + 1_000_000_000;
            self.stats.detect_live.publish(&self.detect_latency);
        }
        self.out.tick(now_ns) | commanded
    }

    fn has_pending(&self) -> bool {
        self.out.has_pending() || self.commands.as_ref().is_some_and(|rx| !rx.is_empty())
    }

    fn flush(&mut self) {
        self.out.flush();
    }

    fn finish(&mut self) {
        self.out.finish();
    }

    fn histograms(&self, out: &mut Vec<LatencyHistogram>) {
        out.push(self.queue_wait.clone());
        out.push(self.detect_latency.clone());
        self.out.histograms(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::wait::Doorbell;
    use crate::strategy::StrategyConfig;
    use crate::strategy::control::StrategyControl;

    #[test]
    fn the_command_ring_halts_and_resumes_groups_by_id() {
        let (ctl, rx) = StrategyControl::channel(2, Doorbell::new());
        let mut s = StrategyStage::new(
            DutchBook::new(StrategyConfig::default(), Vec::new()),
            Out::End,
            None,
        )
        .with_commands(rx);
        assert!(!s.has_pending());
        ctl.send(StrategyCommand::Halt(u32::MAX)).unwrap();
        ctl.send(StrategyCommand::Resume(3)).unwrap();
        // Full: handed back and counted, never blocking.
        assert_eq!(
            ctl.send(StrategyCommand::Halt(1)),
            Err(StrategyCommand::Halt(1))
        );
        assert_eq!(ctl.refused(), 1);
        assert!(s.has_pending());
        assert!(s.tick(0));
        assert!(s.is_held(u32::MAX) && !s.is_held(3) && !s.is_held(1));
        ctl.send(StrategyCommand::Resume(u32::MAX)).unwrap();
        assert!(s.tick(0));
        assert!(!s.is_held(u32::MAX));
        assert!(!s.tick(0), "nothing left to do");
        assert_eq!(s.stats.commands.get(), 3);
    }

    #[test]
    fn a_new_assets_first_top_finds_the_group_defined_before_its_subscribe() {
        use crate::core::{AssetIndex, Price, Size};
        use crate::strategy::OutcomeGroup;
        let (ctl, rx) = StrategyControl::channel(8, Doorbell::new());
        let mut dutch = DutchBook::new(StrategyConfig::default(), Vec::new());
        dutch.reserve(8);
        let mut s = StrategyStage::new(dutch, Out::End, None).with_commands(rx);
        let (yes, no) = (AssetIndex(2), AssetIndex(3));
        ctl.send_batch(vec![
            StrategyCommand::Define(Box::new(OutcomeGroup::new(
                4,
                vec![yes, no],
                vec![],
                Default::default(),
                Size(5_000_000),
            ))),
            StrategyCommand::KnownAssets(4),
        ])
        .unwrap();
        let top = |asset, ask| TopOfBook {
            asset,
            bid: Price(100_000),
            bid_size: Size(10_000_000),
            ask: Price(ask),
            ask_size: Size(10_000_000),
            tradeable: true,
            asks: crate::core::AskDepth::from_levels([(Price(ask), Size(10_000_000))]),
            recv_ns: 1,
            sent_ns: 0,
        };
        // No tick in between: the unknown asset drains the ring itself.
        s.process(top(yes, 400_000));
        s.process(top(no, 400_000));
        assert_eq!(s.stats.defined.get(), 1);
        assert_eq!(s.stats.opportunities.get(), 1);
        // All or nothing: a batch that does not fit is refused whole and counted.
        let many = vec![StrategyCommand::Halt(1); 9];
        assert_eq!(ctl.send_batch(many).unwrap_err().len(), 9);
        assert_eq!(ctl.refused(), 9);
        assert!(!s.is_held(1));
    }
}
