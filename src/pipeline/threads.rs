//! Stage threads and the links between them: two adjacent stages either share a thread (the
//! upstream stage calls the downstream one directly) or meet at a ring whose consumer is woken
//! through the downstream thread's doorbell; a thread runs its head stage over its input ring,
//! pinned and waiting as placed.

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use super::ring::{RingRx, RingStats, RingTx, ring};
use super::stage::{Out, Stage};
use super::topology::{StageKind, StagePlacement, Topology};
use super::wait::{Doorbell, Waiter};
use crate::obs::LatencyHistogram;
use crate::obs::clock::now_ns;

/// A stage thread to spawn: its head stage and input ring.
pub struct Pending<T> {
    kind: StageKind,
    head: Box<dyn Stage<In = T>>,
    input: RingRx<T>,
}

/// A topology's threads, their doorbells, and every ring created between them.
pub struct StageWiring {
    topo: Topology,
    bells: Vec<Arc<Doorbell>>,
    ring_stats: Vec<Arc<RingStats>>,
}

impl StageWiring {
    pub fn new(topo: Topology) -> Self {
        let bells = topo.threads.iter().map(|_| Doorbell::new()).collect();
        Self {
            topo,
            bells,
            ring_stats: Vec::new(),
        }
    }

    /// The doorbell of the thread that runs `kind`.
    pub fn bell(&self, kind: StageKind) -> Arc<Doorbell> {
        self.bells[self
            .topo
            .threads
            .iter()
            .position(|t| t.contains(&kind))
            .unwrap_or(0)]
        .clone()
    }

    /// Connects `upstream`'s output to `next`: a direct call when they share a thread, else a
    /// ring whose consumer thread is returned for spawning.
    pub fn link<T: Send + 'static>(
        &mut self,
        upstream: StageKind,
        next: Box<dyn Stage<In = T>>,
        capacity: usize,
        name: &'static str,
    ) -> (Out<T>, Option<Pending<T>>) {
        if self.topo.fused_with_next(upstream) {
            return (Out::Next(next), None);
        }
        let kind = StageKind::ALL[upstream as usize + 1];
        let (tx, rx) = self.ring(name, capacity, kind);
        (
            Out::Ring(tx),
            Some(Pending {
                kind,
                head: next,
                input: rx,
            }),
        )
    }

    /// A counted ring into the thread that runs `to`, from outside the chain.
    pub fn ring<T>(
        &mut self,
        name: &'static str,
        capacity: usize,
        to: StageKind,
    ) -> (RingTx<T>, RingRx<T>) {
        let (tx, rx) = ring(name, capacity, self.bell(to));
        self.ring_stats.push(tx.stats().clone());
        (tx, rx)
    }

    /// Spawns a pending stage thread, pinned and waiting as `place` says.
    pub fn spawn<T: Send + 'static>(
        &self,
        p: Pending<T>,
        place: StagePlacement,
        warnings: Arc<Mutex<Vec<String>>>,
    ) -> std::io::Result<JoinHandle<Vec<LatencyHistogram>>> {
        let bell = self.bell(p.kind);
        let name = p.kind.name();
        std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                pin(place, name, &warnings);
                run_stage_thread(
                    p.head,
                    p.input,
                    Waiter::new(place.wait, bell, Duration::from_millis(10)),
                )
            })
    }

    /// The topology and the stats of every ring created, in creation order.
    pub fn finish(self) -> (Topology, Vec<Arc<RingStats>>) {
        (self.topo, self.ring_stats)
    }
}

/// The loop of every stage thread but io.
fn run_stage_thread<T>(
    mut head: Box<dyn Stage<In = T>>,
    mut input: RingRx<T>,
    mut waiter: Waiter,
) -> Vec<LatencyHistogram> {
    waiter.bell().bind_current();
    loop {
        let mut n = 0;
        while n < 1024 {
            let Some(v) = input.pop() else { break };
            head.process(v);
            n += 1;
        }
        if n > 0 {
            head.flush();
        }
        let ticked = head.tick(now_ns());
        if n > 0 || ticked {
            waiter.worked();
            continue;
        }
        if input.is_abandoned() && input.is_empty() {
            head.flush();
            head.finish();
            break;
        }
        let (inp, h) = (&input, &head);
        waiter.idle(|| !inp.is_empty() || h.has_pending() || inp.is_abandoned());
    }
    let mut out = Vec::new();
    head.histograms(&mut out);
    out
}

/// Pins the calling thread if asked; a core that does not exist is a warning, not an error.
pub fn pin(place: StagePlacement, thread: &str, warnings: &Mutex<Vec<String>>) {
    let Some(core) = place.core else { return };
    let ids = core_affinity::get_core_ids().unwrap_or_default();
    let msg = match ids.into_iter().find(|c| c.id == core) {
        Some(id) if core_affinity::set_for_current(id) => return,
        Some(_) => format!("thread {thread}: pinning to core {core} failed; running unpinned"),
        None => {
            format!("thread {thread}: core {core} does not exist on this machine; running unpinned")
        }
    };
    tracing::warn!("{msg}");
    if let Ok(mut w) = warnings.lock() {
        w.push(msg);
    }
}
