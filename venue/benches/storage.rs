//! Storage: batched inserts of `orderbook_events` rows (1000-row batches, one transaction each,
//! WAL, the table's indices maintained by compaction) and the time to rebuild a busy asset's
//! book from its nearest snapshot plus the events after it.
//! Run: `cargo bench -p polyarb-venue --bench storage`. `polyarb db bench` prints the same
//! figures without criterion; both measure with `polyarb_venue::storage_load`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use polyarb::storage::batch::Batch;
use polyarb::storage::checkpoint::Checkpointer;
use polyarb::storage::rebuild::rebuild_at;
use polyarb::storage::{EventStore, SqliteStore, StorageConfig, Synchronous};
use polyarb_venue::storage_load::measure::{
    busy_asset_db, change_rows, open_checkpointed, registration_batch,
};
use testkit::ScratchDir;

const BATCH: usize = 1000;
const MARKETS: usize = 100;

/// A fresh store with its markets registered, and its WAL checkpointer (on its own thread, as
/// in the writer: no checkpoint inside a measured commit).
fn store(dir: &ScratchDir, name: &str) -> (SqliteStore, Checkpointer) {
    let (mut s, c) = open_checkpointed(&dir.path().join(name), Synchronous::Normal)
        .expect("open the store and its checkpointer");
    s.write_batch(&registration_batch(MARKETS, 7).0)
        .expect("register");
    (s, c)
}

/// `n` batches of 1000 change rows over 200 assets, ids from `first_id`, times from `t0`.
fn batches(n: u64, first_id: u64, t0: u64) -> Vec<Batch> {
    let rows = change_rows(MARKETS * 2, n as usize * BATCH, first_id, t0);
    let mut it = rows.into_iter();
    (0..n)
        .map(|i| Batch {
            id: first_id + i,
            rows: it.by_ref().take(BATCH).collect(),
        })
        .collect()
}

fn inserts(c: &mut Criterion) {
    let mut g = c.benchmark_group("storage_insert");
    g.sample_size(20)
        .measurement_time(Duration::from_secs(8))
        .throughput(Throughput::Elements(BATCH as u64));
    let compact_rows = StorageConfig::default().compact_rows;

    let dir = ScratchDir::new("bench-land");
    let (mut s, _checkpointer) = store(&dir, "land.db");
    let mut next_id = 2u64;
    // One 1000-row commit into the landing table (what the writer's batch latency is).
    g.bench_function("orderbook_events_batch_1000_landed", |b| {
        b.iter_custom(|iters| {
            let bs = batches(iters, next_id, next_id * 1_000_000_000);
            next_id += iters;
            let t0 = Instant::now();
            for batch in &bs {
                black_box(s.write_batch(batch).expect("write"));
            }
            let el = t0.elapsed();
            // Keep the landing table at its steady-state size, off the clock.
            while s.compact(compact_rows).expect("compact").0 > 0 {}
            el
        })
    });

    let dir = ScratchDir::new("bench-sustained");
    let (mut s, _checkpointer) = store(&dir, "sustained.db");
    let mut next_id = 2u64;
    let mut staged = 0usize;
    // The same commits plus their share of compaction into the indexed table.
    g.bench_function("orderbook_events_batch_1000_sustained", |b| {
        b.iter_custom(|iters| {
            let bs = batches(iters, next_id, next_id * 1_000_000_000);
            next_id += iters;
            let t0 = Instant::now();
            for batch in &bs {
                black_box(s.write_batch(batch).expect("write"));
                staged += BATCH;
                if staged >= compact_rows {
                    let (moved, _) = s.compact(compact_rows).expect("compact");
                    staged -= (moved as usize).min(staged);
                }
            }
            t0.elapsed()
        })
    });
    g.finish();
}

fn rebuild(c: &mut Criterion) {
    let dir = ScratchDir::new("bench-rebuild");
    let path = dir.path().join("busy.db");
    // One hour of a busy binary market: both outcomes change 20 times a second, 50+50 levels.
    let (token, from, to) = busy_asset_db(&path, 20, 3600, 50).expect("build the busy asset");
    let mut s = SqliteStore::open_with(&path, Synchronous::Normal, 5000).expect("open");
    let moments: Vec<u64> = (1..=64).map(|k| from + (to - from) / 64 * k).collect();
    let mut k = 0;
    let mut g = c.benchmark_group("storage_rebuild");
    g.sample_size(30).measurement_time(Duration::from_secs(5));
    g.bench_function("busy_asset_one_hour_snapshot_plus_events", |b| {
        b.iter(|| {
            k = (k + 1) % moments.len();
            black_box(
                rebuild_at(&mut s, &token, moments[k])
                    .expect("rebuild")
                    .applied,
            )
        })
    });
    g.finish();
}

criterion_group!(benches, inserts, rebuild);
criterion_main!(benches);
