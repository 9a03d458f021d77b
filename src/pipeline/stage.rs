//! Stages and how they connect: through a ring to another thread, or by a direct call on the
//! same thread. The stage code is the same either way; the topology decides.
//!
//! A stage owns its downstream (`Out`). `Out::emit` hands a value back when a ring is full, and
//! each stage applies its own backpressure policy (see `pipeline` module docs).

use super::ring::RingTx;
use crate::obs::LatencyHistogram;

/// One stage of the hot path.
pub trait Stage: Send {
    type In;
    /// Handles one input.
    fn process(&mut self, input: Self::In);
    /// Periodic work and auxiliary inputs (timers, snapshot rings, control requests); returns
    /// whether it did anything. Called on every loop of the thread that hosts the stage.
    fn tick(&mut self, now_ns: u64) -> bool;
    /// Whether an auxiliary input is waiting (checked before a thread parks).
    fn has_pending(&self) -> bool;
    /// The end of a burst: wake downstream consumers once.
    fn flush(&mut self);
    /// The input has ended for good: last work before the thread exits (it may wait briefly,
    /// e.g. for room in the storage channel; this is never on the hot path). Forwarded to a
    /// fused downstream stage.
    fn finish(&mut self) {}
    /// This stage's and its fused downstream's latency histograms.
    fn histograms(&self, out: &mut Vec<LatencyHistogram>);
}

/// Where a stage's output goes.
pub enum Out<T> {
    /// To another thread.
    Ring(RingTx<T>),
    /// To the next stage, on this thread.
    Next(Box<dyn Stage<In = T>>),
    /// Nowhere: the end of the pipeline.
    End,
}

impl<T> Out<T> {
    /// Delivers a value; a full ring hands it back.
    #[inline]
    pub fn emit(&mut self, v: T) -> Result<(), T> {
        match self {
            Self::Ring(r) => r.push_quiet(v),
            Self::Next(s) => {
                s.process(v);
                Ok(())
            }
            Self::End => Ok(()),
        }
    }

    #[inline]
    pub fn flush(&mut self) {
        match self {
            Self::Ring(r) => r.notify(),
            Self::Next(s) => s.flush(),
            Self::End => {}
        }
    }

    /// Forwards the end of input to a fused downstream stage.
    pub fn finish(&mut self) {
        if let Self::Next(s) = self {
            s.finish();
        }
    }

    #[inline]
    pub fn tick(&mut self, now_ns: u64) -> bool {
        match self {
            Self::Next(s) => s.tick(now_ns),
            _ => false,
        }
    }

    #[inline]
    pub fn has_pending(&self) -> bool {
        match self {
            Self::Next(s) => s.has_pending(),
            _ => false,
        }
    }

    pub fn histograms(&self, out: &mut Vec<LatencyHistogram>) {
        if let Self::Next(s) = self {
            s.histograms(out);
        }
    }

    /// Whether a ring's consumer has gone away.
    pub fn is_abandoned(&self) -> bool {
        matches!(self, Self::Ring(r) if r.is_abandoned())
    }

    /// Free slots downstream (unbounded for a direct call).
    #[inline]
    pub fn slots(&self) -> usize {
        match self {
            Self::Ring(r) => r.slots(),
            _ => usize::MAX,
        }
    }
}
