//! One hop over the pipeline's ring (`pipeline::ring`, rtrb underneath) with each wait strategy.
//!
//! Criterion times a ping-pong (two hops: there and back) with the consumer waiting by
//! `spin`, `spin_then_yield` or `park`; its figure is the mean round trip. Percentiles matter
//! more for a trading pipeline than a mean, so after criterion each strategy is run again for
//! 200k one-way hops timed against the shared monotonic clock into an hdrhistogram, and p50,
//! p99, p99.9 and max per hop are printed. Two threads on the two cores of this machine: spin
//! is fair here; with more spinning threads than cores it is not (BENCHMARKS.md, "Pipeline").

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use hdrhistogram::Histogram;
use polyarb::obs::clock::now_ns;
use polyarb::pipeline::ring::{RingRx, RingTx, ring};
use polyarb::pipeline::wait::{Doorbell, WaitStrategy, Waiter};

const STRATEGIES: [(&str, WaitStrategy); 3] = [
    ("spin", WaitStrategy::Spin),
    ("spin_then_yield", WaitStrategy::SpinThenYield),
    ("park", WaitStrategy::Park),
];

/// Pops one value, waiting with `w`.
fn recv(rx: &mut RingRx<u64>, w: &mut Waiter) -> u64 {
    loop {
        if let Some(v) = rx.pop() {
            w.worked();
            return v;
        }
        w.idle(|| !rx.is_empty());
    }
}

fn send(tx: &mut RingTx<u64>, v: u64) {
    let mut v = v;
    while let Err(back) = tx.push(v) {
        v = back;
        std::hint::spin_loop();
    }
}

/// An echo thread: whatever arrives on `rx` goes back on `tx`; `u64::MAX` stops it.
struct Echo {
    to: RingTx<u64>,
    from: RingRx<u64>,
    from_waiter: Waiter,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Echo {
    fn start(strategy: WaitStrategy) -> Self {
        let there_bell = Doorbell::new();
        let back_bell = Doorbell::new();
        let (to, mut there_rx) = ring::<u64>("bench_there", 1024, there_bell.clone());
        let (mut back_tx, from) = ring::<u64>("bench_back", 1024, back_bell.clone());
        let ready = Arc::new(AtomicBool::new(false));
        let r = ready.clone();
        let thread = std::thread::spawn(move || {
            there_bell.bind_current();
            r.store(true, Ordering::Release);
            let mut w = Waiter::new(strategy, there_bell, Duration::from_millis(50));
            loop {
                let v = recv(&mut there_rx, &mut w);
                if v == u64::MAX {
                    return;
                }
                send(&mut back_tx, v);
            }
        });
        back_bell.bind_current();
        while !ready.load(Ordering::Acquire) {
            std::thread::yield_now();
        }
        let from_waiter = Waiter::new(strategy, back_bell, Duration::from_millis(50));
        Self {
            to,
            from,
            from_waiter,
            thread: Some(thread),
        }
    }

    fn round_trip(&mut self, v: u64) -> u64 {
        send(&mut self.to, v);
        recv(&mut self.from, &mut self.from_waiter)
    }
}

impl Drop for Echo {
    fn drop(&mut self) {
        send(&mut self.to, u64::MAX);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn bench_round_trip(c: &mut Criterion) {
    let mut g = c.benchmark_group("ring_round_trip");
    for (name, strategy) in STRATEGIES {
        let mut echo = Echo::start(strategy);
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let t0 = Instant::now();
                for i in 0..iters {
                    std::hint::black_box(echo.round_trip(i));
                }
                t0.elapsed()
            })
        });
    }
    g.finish();
    one_way_percentiles();
}

/// One-way hops: the sender stamps `now_ns`, the receiver records the difference. Hops are
/// spaced by a round trip so each one finds the receiver idle (waiting as configured).
fn one_way_percentiles() {
    println!("\nring hop, one way (ns), 2 threads");
    println!(
        "{:<16} {:>9} {:>9} {:>9} {:>9}",
        "wait", "p50", "p99", "p99.9", "max"
    );
    for (name, strategy) in STRATEGIES {
        one_way(name, strategy, 200_000, None);
    }
    // A receiver that has gone to sleep: what a parked stage pays when work arrives after a
    // quiet spell (the wake-up syscall and the scheduler), 2000 hops 1 ms apart.
    one_way(
        "park, asleep",
        WaitStrategy::Park,
        2_000,
        Some(Duration::from_millis(1)),
    );
}

fn one_way(name: &str, strategy: WaitStrategy, hops: u64, gap: Option<Duration>) {
    let there_bell = Doorbell::new();
    let back_bell = Doorbell::new();
    let (mut to, mut there_rx) = ring::<u64>("bench_there", 1024, there_bell.clone());
    let (mut back_tx, mut from) = ring::<u64>("bench_back", 1024, back_bell.clone());
    let receiver = std::thread::spawn(move || {
        there_bell.bind_current();
        let mut w = Waiter::new(strategy, there_bell, Duration::from_millis(50));
        let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).expect("bounds");
        for _ in 0..hops {
            let sent = recv(&mut there_rx, &mut w);
            let _ = h.record(now_ns().saturating_sub(sent).max(1));
            send(&mut back_tx, 0);
        }
        h
    });
    back_bell.bind_current();
    let mut w = Waiter::new(strategy, back_bell, Duration::from_millis(50));
    for _ in 0..hops {
        if let Some(g) = gap {
            std::thread::sleep(g);
        }
        send(&mut to, now_ns());
        recv(&mut from, &mut w);
    }
    let h = receiver.join().expect("receiver thread");
    println!(
        "{:<16} {:>9} {:>9} {:>9} {:>9}",
        name,
        h.value_at_quantile(0.50),
        h.value_at_quantile(0.99),
        h.value_at_quantile(0.999),
        h.max()
    );
}

criterion_group!(benches, bench_round_trip);
criterion_main!(benches);
