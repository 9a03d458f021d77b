//! The pipeline with storage on its cold thread: a stalled writer never slows the book stage
//! (its channel fills, the refusals are counted), and once it recovers the stored stream is
//! repaired so that rebuilding from the database gives exactly the books the engine had.

use std::time::Duration;

use polyarb::core::{AssetRegistry, TokenId};
use polyarb::engine::{EngineSettings, Pipeline};
use polyarb::storage::{SqliteStore, StorageConfig, rebuild_at};
use testkit::{scratch, wait_within};
use venue_testkit::engine::books_match;
use venue_testkit::wire::venue;

#[test]
fn a_stalled_writer_never_slows_the_books_and_the_store_is_repaired() {
    let v = venue(40, 31);
    let db = scratch("ps-stall").join("events.db");
    let mut s = EngineSettings::default();
    s.feed.ws_url = v.ws_url();
    s.resync.clob_url = v.http_url();
    s.pipeline.threads = vec![
        "io".into(),
        "parse".into(),
        "book".into(),
        "strategy".into(),
        "dispatch".into(),
    ];
    s.book.audit_after_ms = 0;
    // No endpoint: tests run side by side, and only one could have the shipped port.
    s.obs.serve = false;
    s.storage = Some(StorageConfig {
        path: db.clone(),
        channel_capacity: 256,
        busy_timeout_ms: 3_000,
        batch_ms: 5,
        ..Default::default()
    });
    let mut reg = AssetRegistry::new();
    for m in v.markets() {
        for t in &m.token_ids {
            let a = reg.register(t.as_bytes()).unwrap();
            reg.set_market(a, &m.condition_id);
        }
    }
    let p = Pipeline::start(&s, reg, Vec::new(), 5).expect("pipeline starts");
    wait_within("books", Duration::from_secs(20), || {
        books_match(&p, &v).is_ok()
    });

    // Another connection takes the write lock: the writer blocks in SQLite for seconds.
    let locker = rusqlite::Connection::open(&db).unwrap();
    locker.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let frames_before = p.stats.book.frames.get();
    for _ in 0..8 {
        v.step(2_000);
    }
    // The hot path keeps up while storage is stuck.
    wait_within(
        "books while storage is stalled",
        Duration::from_secs(20),
        || books_match(&p, &v).is_ok(),
    );
    assert!(p.stats.book.frames.get() > frames_before);
    assert!(
        p.stats.book.storage_dropped.get() > 0,
        "the small channel filled and was counted"
    );
    locker.execute_batch("COMMIT").unwrap();
    drop(locker);

    wait_within(
        "the stored stream repaired",
        Duration::from_secs(30),
        || p.stats.book.storage_repairs.get() > 0,
    );
    v.step(2_000);
    wait_within("books after", Duration::from_secs(20), || {
        books_match(&p, &v).is_ok()
    });
    let final_books = p.dump_books(Duration::from_secs(5)).unwrap();
    let stats = p.stats.clone();
    let rep = p.shutdown();
    // Shutdown repaired every hole, including those of assets with no event since.
    assert!(stats.book.storage_holes.get() > 0);
    assert_eq!(
        stats.book.storage_repairs.get(),
        stats.book.storage_holes.get()
    );
    let m = rep
        .storage
        .expect("storage was on")
        .expect("writer shut down cleanly");
    // Events of assets with a hole were skipped until their repair snapshot; nothing else was.
    assert!(m.rows_written > 0 && m.dropped_pending_full == 0, "{m:?}");

    // Every asset rebuilt from the database equals the engine's final book.
    let mut store = SqliteStore::open(&StorageConfig {
        path: db.clone(),
        ..Default::default()
    })
    .unwrap();
    let now = polyarb::storage::time::unix_now_ns();
    for b in &final_books {
        let token = TokenId::parse(&b.asset_id).unwrap();
        let r = rebuild_at(&mut store, &token, now).unwrap();
        let book = r.dump().expect("rebuilt book");
        assert_eq!(book.bids, b.bids, "bids of {}", b.asset_id);
        assert_eq!(book.asks, b.asks, "asks of {}", b.asset_id);
    }
}
