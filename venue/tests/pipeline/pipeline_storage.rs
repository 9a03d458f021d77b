//! The pipeline with storage on its cold thread: a stalled writer never slows the book stage
//! (its channel fills, the refusals are counted), and once it recovers the stored stream is
//! repaired so that rebuilding from the database gives exactly the books the engine had.

use std::time::{Duration, Instant};

use polyarb::core::{AssetRegistry, TokenId};
use polyarb::engine::{EngineSettings, Pipeline};
use polyarb::storage::{SqliteStore, StorageConfig, rebuild_at};
use polyarb_venue::{ModelConfig, Venue, VenueConfig, VenueHandle};

fn venue() -> VenueHandle {
    let mut cfg = VenueConfig {
        model: ModelConfig::for_assets(40, 31),
        ..Default::default()
    };
    cfg.source.paused = true;
    Venue::start(cfg).expect("venue starts")
}

fn temp_db(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("polyarb-ps-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("events.db")
}

fn wait_until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn matches_venue(p: &Pipeline, v: &VenueHandle) -> bool {
    let Some(ours) = p.dump_books(Duration::from_secs(5)) else {
        return false;
    };
    let theirs = v.books().books;
    ours.len() == theirs.len()
        && ours
            .iter()
            .zip(&theirs)
            .all(|(a, b)| a.state == "ok" && a.bids == b.bids && a.asks == b.asks)
}

#[test]
fn a_stalled_writer_never_slows_the_books_and_the_store_is_repaired() {
    let v = venue();
    let db = temp_db("stall");
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
    wait_until("books", Duration::from_secs(20), || matches_venue(&p, &v));

    // Another connection takes the write lock: the writer blocks in SQLite for seconds.
    let locker = rusqlite::Connection::open(&db).unwrap();
    locker.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let frames_before = p.stats.book.frames.get();
    for _ in 0..8 {
        v.step(2_000);
    }
    // The hot path keeps up while storage is stuck.
    wait_until(
        "books while storage is stalled",
        Duration::from_secs(20),
        || matches_venue(&p, &v),
    );
    assert!(p.stats.book.frames.get() > frames_before);
    assert!(
        p.stats.book.storage_dropped.get() > 0,
        "the small channel filled and was counted"
    );
    locker.execute_batch("COMMIT").unwrap();
    drop(locker);

    wait_until(
        "the stored stream repaired",
        Duration::from_secs(30),
        || p.stats.book.storage_repairs.get() > 0,
    );
    v.step(2_000);
    wait_until("books after", Duration::from_secs(20), || {
        matches_venue(&p, &v)
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
