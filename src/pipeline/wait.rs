//! How a stage waits when its input is empty: spin, spin then yield, or park.
//!
//! Spinning on a pinned, isolated core gives ~0.25 µs ring hops; on a 2-core machine with more
//! stages than cores it starves the producer, so `park` is the default there (a wake costs
//! ~20 µs). A parked consumer is woken through its `Doorbell`, which producers ring after a
//! push; the doorbell only makes a syscall when the consumer is actually asleep.

use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::Thread;
use std::time::Duration;

/// Per-stage wait strategy (config: `spin`, `spin_then_yield`, `park`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WaitStrategy {
    Spin,
    SpinThenYield,
    Park,
}

/// Wakes a parked consumer thread.
#[derive(Debug, Default)]
pub struct Doorbell {
    sleeping: AtomicBool,
    thread: OnceLock<Thread>,
    /// For a consumer that sleeps in a mio poll (the io thread) rather than in `park`.
    poll_waker: OnceLock<Arc<mio::Waker>>,
}

impl Doorbell {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Binds the doorbell to the calling (consumer) thread.
    pub fn bind_current(&self) {
        let _ = self.thread.set(std::thread::current());
    }

    /// Binds the doorbell to a mio poll's waker instead of a parked thread.
    pub fn bind_poll(&self, waker: Arc<mio::Waker>) {
        let _ = self.poll_waker.set(waker);
    }

    /// Called by a producer after it published work.
    #[inline]
    pub fn ring(&self) {
        // SeqCst pairs with the consumer's store-then-recheck: either it sees our item, or we
        // see it asleep. Only then is the (syscall) wake paid.
        if self.sleeping.load(Ordering::SeqCst) && self.sleeping.swap(false, Ordering::SeqCst) {
            if let Some(w) = self.poll_waker.get() {
                let _ = w.wake();
            } else if let Some(t) = self.thread.get() {
                t.unpark();
            }
        }
    }

    /// A poll-based consumer is about to block: producers must wake it.
    pub fn will_sleep(&self) {
        self.sleeping.store(true, Ordering::SeqCst);
    }

    /// A poll-based consumer woke up.
    pub fn awake(&self) {
        self.sleeping.store(false, Ordering::SeqCst);
    }
}

/// The consumer side of a wait strategy.
pub struct Waiter {
    strategy: WaitStrategy,
    bell: Arc<Doorbell>,
    idle_rounds: u32,
    /// Upper bound on one park, so that periodic work (timers, shutdown checks) still runs.
    max_park: Duration,
}

const SPIN_ROUNDS: u32 = 1 << 10;
const YIELD_ROUNDS: u32 = 1 << 12;

impl Waiter {
    pub fn new(strategy: WaitStrategy, bell: Arc<Doorbell>, max_park: Duration) -> Self {
        Self {
            strategy,
            bell,
            idle_rounds: 0,
            max_park,
        }
    }

    pub fn bell(&self) -> &Arc<Doorbell> {
        &self.bell
    }

    /// The stage did some work: reset the back-off.
    #[inline]
    pub fn worked(&mut self) {
        self.idle_rounds = 0;
    }

    /// The stage found nothing to do; `has_work` re-checks its inputs before sleeping.
    #[inline]
    pub fn idle(&mut self, has_work: impl Fn() -> bool) {
        self.idle_rounds = self.idle_rounds.saturating_add(1);
        match self.strategy {
            WaitStrategy::Spin => std::hint::spin_loop(),
            WaitStrategy::SpinThenYield => {
                if self.idle_rounds < SPIN_ROUNDS {
                    std::hint::spin_loop();
                } else {
                    std::thread::yield_now();
                }
            }
            WaitStrategy::Park => {
                if self.idle_rounds < 64 {
                    std::hint::spin_loop();
                } else if self.idle_rounds < 64 + YIELD_ROUNDS / 64 {
                    std::thread::yield_now();
                } else {
                    self.bell.sleeping.store(true, Ordering::SeqCst);
                    if has_work() {
                        self.bell.sleeping.store(false, Ordering::SeqCst);
                        return;
                    }
                    std::thread::park_timeout(self.max_park);
                    self.bell.sleeping.store(false, Ordering::SeqCst);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;

    #[test]
    fn parked_consumer_is_woken_by_the_bell() {
        let bell = Doorbell::new();
        let flag = Arc::new(AtomicU64::new(0));
        let (b2, f2) = (bell.clone(), flag.clone());
        let h = std::thread::spawn(move || {
            b2.bind_current();
            let mut w = Waiter::new(WaitStrategy::Park, b2, Duration::from_secs(30));
            while f2.load(Ordering::SeqCst) == 0 {
                let f3 = f2.clone();
                w.idle(move || f3.load(Ordering::SeqCst) != 0);
            }
        });
        std::thread::sleep(Duration::from_millis(50));
        flag.store(1, Ordering::SeqCst);
        bell.ring();
        // Would take 30 s (the park bound) if the bell failed.
        let t = std::time::Instant::now();
        h.join().unwrap();
        assert!(t.elapsed() < Duration::from_secs(20));
    }
}
