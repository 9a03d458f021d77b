//! The strategy stage's command ring: how the cold side (the catalog) halts, resumes and
//! defines outcome groups on the hot path without a lock there.
//!
//! A bounded SPSC `rtrb` ring: the stage drains it on every tick (lock-free pops); the
//! producer side sits behind a mutex only so that any cold thread holding a `&Pipeline` can
//! send. A full ring hands the command back (`send` fails, counted): the caller retries.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rtrb::{Consumer, Producer, RingBuffer};

use super::StrategyCommand;
use crate::pipeline::wait::Doorbell;

/// Commands in flight before `send` refuses (halts are rare: one per rule change).
pub const COMMAND_CAPACITY: usize = 1024;

/// The sending end, held by the pipeline.
pub struct StrategyControl {
    tx: Mutex<Producer<StrategyCommand>>,
    bell: Arc<Doorbell>,
    refused: AtomicU64,
}

impl StrategyControl {
    /// A ring of `capacity` commands; `bell` wakes the strategy stage's thread.
    pub fn channel(capacity: usize, bell: Arc<Doorbell>) -> (Self, Consumer<StrategyCommand>) {
        let (tx, rx) = RingBuffer::new(capacity.max(1));
        (
            Self {
                tx: Mutex::new(tx),
                bell,
                refused: AtomicU64::new(0),
            },
            rx,
        )
    }

    /// Sends one command; a full ring (or a poisoned sender) hands it back.
    pub fn send(&self, c: StrategyCommand) -> Result<(), StrategyCommand> {
        let pushed = match self.tx.lock() {
            Ok(mut tx) => tx.push(c).map_err(|rtrb::PushError::Full(c)| c),
            Err(_) => Err(c),
        };
        match pushed {
            Ok(()) => {
                self.bell.ring();
                Ok(())
            }
            Err(c) => {
                self.refused.fetch_add(1, Ordering::Relaxed);
                Err(c)
            }
        }
    }

    /// Sends every command in order; returns those that did not fit (to retry).
    pub fn send_all(&self, cs: &[StrategyCommand]) -> Vec<StrategyCommand> {
        cs.iter()
            .filter_map(|c| self.send(c.clone()).err())
            .collect()
    }

    /// Sends every command, in order, or none of them if the ring lacks room for all (a
    /// definition must never be split from the halts that follow it); refusals are counted.
    pub fn send_batch(&self, cs: Vec<StrategyCommand>) -> Result<(), Vec<StrategyCommand>> {
        if cs.is_empty() {
            return Ok(());
        }
        let mut tx = match self.tx.lock() {
            Ok(tx) if tx.slots() >= cs.len() => tx,
            _ => {
                self.refused.fetch_add(cs.len() as u64, Ordering::Relaxed);
                return Err(cs);
            }
        };
        for c in cs {
            // Room was checked under the lock: the only producer cannot be overtaken.
            let _ = tx.push(c);
        }
        drop(tx);
        self.bell.ring();
        Ok(())
    }

    /// Commands refused so far.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }
}
