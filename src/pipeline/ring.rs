//! Bounded SPSC rings between stages (`rtrb`), with counters and the consumer's doorbell.
//!
//! A full ring is never silent: `push` hands the value back (as rtrb does) and counts the
//! event, and the producer applies its stage's backpressure policy (see `pipeline` docs).
//! Counters are single-writer atomics so a report thread can read them without locks.

use std::sync::Arc;

use super::wait::Doorbell;

pub use crate::obs::Counter;

/// What one ring has seen.
#[derive(Debug, Default)]
pub struct RingStats {
    pub name: &'static str,
    pub capacity: usize,
    /// Values accepted.
    pub pushed: Counter,
    /// Pushes refused because the ring was full.
    pub full: Counter,
    /// Values taken by the consumer (its own counter: each side writes only its own).
    pub popped: Counter,
}

impl RingStats {
    /// Values waiting now, as far as another thread can tell (the two counters are read
    /// one after the other).
    pub fn depth(&self) -> u64 {
        self.pushed.get().saturating_sub(self.popped.get())
    }

    pub fn snapshot(&self) -> RingSnapshot {
        RingSnapshot {
            name: self.name,
            capacity: self.capacity,
            pushed: self.pushed.get(),
            full: self.full.get(),
        }
    }
}

#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct RingSnapshot {
    pub name: &'static str,
    pub capacity: usize,
    pub pushed: u64,
    pub full: u64,
}

/// Producer end.
pub struct RingTx<T> {
    inner: rtrb::Producer<T>,
    bell: Arc<Doorbell>,
    stats: Arc<RingStats>,
}

/// Consumer end.
pub struct RingRx<T> {
    inner: rtrb::Consumer<T>,
    stats: Arc<RingStats>,
}

/// A ring of `capacity` slots whose consumer is woken through `bell`.
pub fn ring<T>(name: &'static str, capacity: usize, bell: Arc<Doorbell>) -> (RingTx<T>, RingRx<T>) {
    let (p, c) = rtrb::RingBuffer::new(capacity.max(1));
    let stats = Arc::new(RingStats {
        name,
        capacity: capacity.max(1),
        ..Default::default()
    });
    (
        RingTx {
            inner: p,
            bell,
            stats: stats.clone(),
        },
        RingRx { inner: c, stats },
    )
}

impl<T> RingTx<T> {
    /// Pushes and rings the consumer; a full ring hands the value back and is counted.
    #[inline]
    pub fn push(&mut self, v: T) -> Result<(), T> {
        match self.inner.push(v) {
            Ok(()) => {
                self.stats.pushed.inc();
                self.bell.ring();
                Ok(())
            }
            Err(rtrb::PushError::Full(v)) => {
                self.stats.full.inc();
                Err(v)
            }
        }
    }

    /// Pushes without ringing (batching: call `notify` once after a burst).
    #[inline]
    pub fn push_quiet(&mut self, v: T) -> Result<(), T> {
        match self.inner.push(v) {
            Ok(()) => {
                self.stats.pushed.inc();
                Ok(())
            }
            Err(rtrb::PushError::Full(v)) => {
                self.stats.full.inc();
                Err(v)
            }
        }
    }

    #[inline]
    pub fn notify(&self) {
        self.bell.ring();
    }

    #[inline]
    pub fn slots(&self) -> usize {
        self.inner.slots()
    }

    pub fn stats(&self) -> &Arc<RingStats> {
        &self.stats
    }

    /// Whether the consumer has gone away.
    pub fn is_abandoned(&self) -> bool {
        self.inner.is_abandoned()
    }
}

impl<T> RingRx<T> {
    #[inline]
    pub fn pop(&mut self) -> Option<T> {
        let v = self.inner.pop().ok();
        if v.is_some() {
            self.stats.popped.inc();
        }
        v
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    pub fn len(&self) -> usize {
        self.inner.slots()
    }

    pub fn stats(&self) -> &Arc<RingStats> {
        &self.stats
    }

    pub fn is_abandoned(&self) -> bool {
        self.inner.is_abandoned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_ring_hands_the_value_back_and_counts() {
        let (mut tx, mut rx) = ring::<u32>("t", 2, Doorbell::new());
        assert!(tx.push(1).is_ok());
        assert!(tx.push(2).is_ok());
        assert_eq!(tx.push(3), Err(3));
        assert_eq!(tx.stats().full.get(), 1);
        assert_eq!(rx.pop(), Some(1));
        assert!(tx.push(3).is_ok());
        assert_eq!((rx.pop(), rx.pop(), rx.pop()), (Some(2), Some(3), None));
        assert_eq!(rx.stats().pushed.get(), 3);
        assert_eq!((rx.stats().popped.get(), tx.stats().depth()), (3, 0));
    }
}
