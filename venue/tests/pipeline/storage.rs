//! Storage integration tests on real database files: books rebuilt from the store equal the
//! books the engine's own replayer had (venue frames, also with the model's faults and batched
//! frames, at the end and at intermediate moments), retention exports that `polyarb replay` reads back, the
//! writer's health under a locked database and a full disk, bad data, a full channel, trading
//! rows, and the `db` commands.

use testkit::wait_until;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use polyarb::book::ResyncReason;
use polyarb::book::dump::BookDump;
use polyarb::core::{Amount, AssetIndex, Price, Side, Size, TokenId};
use polyarb::replay::Replayer;
use polyarb::storage::ingest::FrameIngestor;
use polyarb::storage::rebuild::{Base, rebuild_at};
use polyarb::storage::time::{NS_PER_MS, NS_PER_S, unix_now_ns};
use polyarb::storage::{
    EventStore, FailureKind, FillRecord, JournalEntry, MarketRecord, OrderRecord, OrderUpdate,
    OutcomeRecord, PositionRecord, PruneReport, Pruner, ResyncEvent, RetentionConfig, RuleAck,
    RuleChangeRecord, SqliteStore, StorageConfig, StorageEvent, StorageSender, WriterHandle,
};
use polyarb_venue::ModelConfig;
use polyarb_venue::storage_load::EventFlood;
use polyarb_venue::synth::{FrameOptions, START_MS, write_frames_with};
use testkit::ScratchDir;

const NS_PER_DAY: u64 = 86_400 * NS_PER_S;

fn config(dir: &Path) -> StorageConfig {
    StorageConfig {
        path: dir.join("store.db"),
        batch_rows: 200,
        batch_ms: 5,
        snapshot_every_events: 40,
        compact_rows: 1500,
        compact_idle_ms: 60_000,
        busy_timeout_ms: 50,
        retry_min_ms: 5,
        retry_max_ms: 50,
        retention: RetentionConfig {
            prune_interval_s: 0,
            ..RetentionConfig::default()
        },
        ..StorageConfig::default()
    }
}

fn send(tx: &StorageSender, ev: StorageEvent) {
    tx.send_blocking(ev).expect("writer alive");
}

fn count(store: &SqliteStore, sql: &str) -> i64 {
    store
        .connection()
        .query_row(sql, [], |r| r.get(0))
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// The book-event tables of the partitions (schema v7), oldest first.
fn event_tables(store: &SqliteStore) -> Vec<String> {
    partition_tables(store, "orderbook_events")
}

/// The tables of every partition of `base` (`orderbook_events` or `trades`), oldest first.
fn partition_tables(store: &SqliteStore, base: &str) -> Vec<String> {
    let tables = store.partition_tables().unwrap();
    let pick = |(e, t): (String, String)| if base == "trades" { t } else { e };
    tables.into_iter().map(pick).collect()
}

/// Every partition's tables have partition 0's columns (with their types and key positions) and
/// its indices (each name's suffix after the table name).
fn assert_partitions_match_partition_0(store: &SqliteStore) {
    let shape = |table: &str| {
        let columns: Vec<(String, String, i64, i64)> = store
            .connection()
            .prepare(&format!("PRAGMA table_info({table})"))
            .unwrap()
            .query_map([], |r| Ok((r.get(1)?, r.get(2)?, r.get(3)?, r.get(5)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let mut indices: Vec<String> = store
            .connection()
            .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?1")
            .unwrap()
            .query_map([table], |r| r.get::<_, String>(0))
            .unwrap()
            .map(|n| n.unwrap()[table.len()..].to_string())
            .collect();
        indices.sort();
        (columns, indices)
    };
    for base in ["orderbook_events", "trades"] {
        let want = shape(base);
        assert!(!want.0.is_empty() && !want.1.is_empty(), "{base}: {want:?}");
        for table in partition_tables(store, base).iter().skip(1) {
            assert_eq!(shape(table), want, "{table} against {base}");
        }
    }
}

/// `orderbook_events` rows matching `filter` (an SQL condition) over every partition.
fn count_events(store: &SqliteStore, filter: &str) -> i64 {
    count_partitioned(store, "orderbook_events", filter)
}

/// Rows of `base`'s partitions matching `filter`.
fn count_partitioned(store: &SqliteStore, base: &str, filter: &str) -> i64 {
    partition_tables(store, base)
        .iter()
        .map(|t| count(store, &format!("SELECT COUNT(*) FROM {t} WHERE {filter}")))
        .sum()
}

/// The books a replay had at a moment: (receive time, books).
struct Checkpoint {
    at_ns: u64,
    books: Vec<BookDump>,
}

/// Feeds frames to the writer (through the cold-path ingestor) and to a replayer, frame `k`
/// received at `recv(k)`; records the replayer's books after every `every` frames and the last.
fn ingest_and_replay(
    frames: &[String],
    tx: &StorageSender,
    recv: impl Fn(usize) -> u64,
    every: usize,
) -> (Replayer, Vec<Checkpoint>) {
    let mut ing = FrameIngestor::new();
    let mut live = Replayer::new();
    let mut checkpoints = Vec::new();
    for (k, f) in frames.iter().enumerate() {
        let at = recv(k);
        ing.frame(f.as_bytes(), at, &mut |ev| send(tx, ev));
        live.frame(f.as_bytes(), at);
        if (k + 1) % every == 0 || k + 1 == frames.len() {
            checkpoints.push(Checkpoint {
                at_ns: at,
                books: live.dump().books,
            });
        }
    }
    assert_eq!(ing.parser().counters.invalid, 0);
    (live, checkpoints)
}

/// Every book of every checkpoint rebuilt from the store equals the live one; returns how many
/// rebuilds started from a snapshot and from a venue book.
fn assert_rebuilds(store: &mut SqliteStore, checkpoints: &[Checkpoint]) -> (usize, usize) {
    let (mut from_snapshot, mut from_venue) = (0, 0);
    for cp in checkpoints {
        for live in &cp.books {
            let token = TokenId::parse(&live.asset_id).unwrap();
            let r = rebuild_at(store, &token, cp.at_ns)
                .unwrap_or_else(|e| panic!("rebuild {} at {}: {e}", live.asset_id, cp.at_ns));
            match r.base {
                Base::Snapshot(_) => from_snapshot += 1,
                Base::VenueBook(_) => from_venue += 1,
            }
            let got = r.dump().expect("a book");
            assert_eq!(&got, live, "asset {} at {}", live.asset_id, cp.at_ns);
        }
    }
    (from_snapshot, from_venue)
}

fn venue_frames(assets: u32, steps: u64, seed: u64) -> Vec<String> {
    model_frames(ModelConfig::for_assets(assets, seed), steps)
}

/// The frames `polyarb synth frames` writes for `cfg`, one per line.
fn model_frames(cfg: ModelConfig, steps: u64) -> Vec<String> {
    frames_with(cfg, FrameOptions::default(), steps)
}

fn frames_with(cfg: ModelConfig, opts: FrameOptions, steps: u64) -> Vec<String> {
    let mut out = Vec::new();
    write_frames_with(cfg, opts, steps, &mut out).unwrap();
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Frames of about `assets` assets from `start_ms` with what the store must reproduce though
/// production never sends it: a tenth of the frames batch two events, and some tick-size
/// changes leave their book waiting for a later `book`.
fn faulty_frames(assets: u32, seed: u64, steps: u64, start_ms: u64) -> Vec<String> {
    let cfg = ModelConfig {
        late_tick_book_fault_per_mille: 3,
        ..ModelConfig::for_assets(assets, seed)
    };
    let opts = FrameOptions {
        start_ms,
        batched_per_mille: 100,
    };
    frames_with(cfg, opts, steps)
}

#[test]
fn rebuilt_books_equal_the_live_books_of_venue_frames() {
    let page = rebuilt_books_equal_live_books(StorageConfig::default().partition_rows, None).1;
    assert_eq!(page, 65_536);
}

#[test]
fn rebuilt_books_equal_the_live_books_over_many_partitions() {
    let parts = rebuilt_books_equal_live_books(500, None).0;
    assert!(parts > 5, "{parts} partitions");
}

/// `[storage] page_size` (the choice for a feed's pace) builds a database that stores and
/// rebuilds the same; the size is fixed at creation, so a later default does not change it.
#[test]
fn rebuilt_books_equal_the_live_books_with_4k_pages() {
    let (parts, page) = rebuilt_books_equal_live_books(2000, Some(4096));
    assert!(parts > 1, "{parts} partitions");
    assert_eq!(page, 4096);
}

/// Rebuilds every book at every checkpoint, while rows are still landed and at rest, with a new
/// `orderbook_events` partition every `partition_rows`; returns how many partitions there were.
fn rebuilt_books_equal_live_books(partition_rows: u64, page_size: Option<u32>) -> (usize, i64) {
    let dir = ScratchDir::new("st-rebuild-venue");
    let mut cfg = config(dir.path());
    cfg.partition_rows = partition_rows;
    if let Some(p) = page_size {
        cfg.page_size = p;
    }
    // A cadence shorter than the venue's re-snapshots, so rebuilds start from both kinds of base.
    cfg.snapshot_every_events = 8;
    // The ingest below is a burst, during which the writer may defer compaction; a landing
    // table capped at one chunk makes it compact anyway, so rows are both indexed and landed
    // when the reads below run (before, the indexed tables were sometimes still empty).
    cfg.max_staged_rows = cfg.compact_rows;
    let (writer, tx) = WriterHandle::spawn(&cfg).unwrap();
    let frames = venue_frames(20, 2500, 3);
    let t0 = unix_now_ns() - NS_PER_DAY;
    let (_live, checkpoints) = ingest_and_replay(&frames, &tx, |k| t0 + k as u64 * NS_PER_MS, 400);
    writer.flush(Duration::from_secs(30)).unwrap();

    // While the writer runs, some rows are still in the ingest table: reads must see both.
    let mut store = SqliteStore::open(&cfg).unwrap();
    assert!(count(&store, "SELECT COUNT(*) FROM orderbook_ingest") > 0);
    assert!(count_events(&store, "1") > 0);
    let (snap, venue) = assert_rebuilds(&mut store, &checkpoints);
    assert!(
        snap > 0 && venue > 0,
        "bases used: {snap} snapshots, {venue} venue books"
    );

    drop(tx);
    let m = writer.shutdown().unwrap();
    assert!(m.compactions > 0 && m.snapshots_written > 0, "{m:?}");
    assert_eq!(
        m.rejected_unregistered + m.rejected_invalid + m.dropped_channel_full,
        0
    );
    // Where the platform counts a thread's writes, the writer's are reported: at least the
    // rows' pages went through it.
    if std::path::Path::new("/proc/thread-self/io").exists() {
        let pages = count(&store, "PRAGMA page_count") as u64;
        assert!(m.writer_write_bytes >= pages * 512, "{m:?}");
    }
    // At rest everything is in the indexed table, and the answers are the same.
    assert_eq!(count(&store, "SELECT COUNT(*) FROM orderbook_ingest"), 0);
    assert_rebuilds(&mut store, &checkpoints);
    let integrity: String = store
        .connection()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    assert_partitions_match_partition_0(&store);
    let parts = event_tables(&store).len();
    drop(store);
    let reopened = SqliteStore::open(&StorageConfig {
        page_size: 65_536,
        ..cfg
    })
    .unwrap();
    (parts, count(&reopened, "PRAGMA page_size"))
}

#[test]
fn rebuilt_books_keep_the_live_health_states() {
    let dir = ScratchDir::new("st-rebuild-states");
    let cfg = config(dir.path());
    let (writer, tx) = WriterHandle::spawn(&cfg).unwrap();
    // Two feeds, as a book already in doubt keeps its first reason: one with wrong claimed
    // tops, one whose tick-size changes wait for their book (both faults of the venue model).
    let mut frames = model_frames(
        ModelConfig {
            wrong_top_fault_per_mille: 20,
            ..ModelConfig::for_assets(6, 9)
        },
        1500,
    );
    frames.extend(frames_with(
        ModelConfig {
            late_tick_book_fault_per_mille: 10,
            ..ModelConfig::for_assets(6, 10)
        },
        FrameOptions {
            start_ms: START_MS + 86_400_000,
            batched_per_mille: 100,
        },
        1500,
    ));
    let t0 = unix_now_ns() - NS_PER_DAY;
    let (_live, checkpoints) = ingest_and_replay(&frames, &tx, |k| t0 + k as u64 * NS_PER_MS, 150);
    // Both resync reasons the venue's stream can cause are among the live states compared.
    let reasons: Vec<Option<String>> = checkpoints
        .iter()
        .flat_map(|c| c.books.iter().map(|b| b.reason.clone()))
        .collect();
    for want in ["best_mismatch", "tick_size_change"] {
        assert!(
            reasons.iter().any(|r| r.as_deref() == Some(want)),
            "no {want} in {reasons:?}"
        );
    }
    assert!(reasons.iter().any(Option::is_none));
    // A local invalidation (not venue data) is stored in the stream and in `resyncs`.
    let resync_at = t0 + frames.len() as u64 * NS_PER_MS;
    send(
        &tx,
        StorageEvent::Resync(ResyncEvent {
            asset: AssetIndex(0),
            reason: ResyncReason::Reconnect,
            recv_ns: resync_at,
        }),
    );
    drop(tx);
    writer.shutdown().unwrap();
    let mut store = SqliteStore::open(&cfg).unwrap();
    assert_rebuilds(&mut store, &checkpoints);
    let token = feed_token_of_asset0(&frames);
    let r = rebuild_at(&mut store, &token, resync_at).unwrap();
    let before = rebuild_at(&mut store, &token, resync_at - 1)
        .unwrap()
        .dump()
        .unwrap();
    let after = r.dump().unwrap();
    // An invalidation keeps the first reason of a book already in doubt.
    let want = match before.state.as_str() {
        "ok" => Some("reconnect"),
        _ => before.reason.as_deref(),
    };
    assert_eq!(
        (after.state.as_str(), after.reason.as_deref()),
        ("resync_needed", want)
    );
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM resyncs WHERE reason = 'reconnect'"
        ),
        1
    );
}

/// The token the ingestor registers as asset 0: the first `book` of the first frame.
fn feed_token_of_asset0(frames: &[String]) -> TokenId {
    let v: serde_json::Value = serde_json::from_str(&frames[0]).unwrap();
    let first = if v.is_array() { &v[0] } else { &v };
    TokenId::parse(first["asset_id"].as_str().unwrap()).unwrap()
}

/// Decompresses and concatenates export files into one plain frames file.
fn concat_exports(files: &[PathBuf], out: &Path) -> usize {
    let mut all = Vec::new();
    for f in files {
        let mut d = zstd::Decoder::new(std::fs::File::open(f).unwrap()).unwrap();
        d.read_to_end(&mut all).unwrap();
    }
    std::fs::write(out, &all).unwrap();
    all.iter().filter(|&&b| b == b'\n').count()
}

fn replay_dump(frames: &Path) -> Vec<BookDump> {
    let out = Command::new(testkit::bins::polyarb())
        .args(["replay", "--frames"])
        .arg(frames)
        .arg("--dump-books")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    serde_json::from_value(v["books"].clone()).unwrap()
}

#[test]
fn retention_exports_replayable_frames_then_deletes() {
    let report = retention_exports_then_deletes(StorageConfig::default().partition_rows);
    assert_eq!(report.dropped_partitions, 0);
}

#[test]
fn retention_drops_the_partitions_it_empties() {
    let report = retention_exports_then_deletes(400);
    assert!(report.dropped_partitions >= 5, "{report:?}");
}

/// Ages half of a feed out, prunes, and checks the exports replay to the books at the cutoff
/// and the store still rebuilds the current ones, with a new `orderbook_events` partition every
/// `partition_rows`.
fn retention_exports_then_deletes(partition_rows: u64) -> PruneReport {
    let dir = ScratchDir::new("st-retention");
    let mut cfg = config(dir.path());
    cfg.retention.prune_chunk_rows = 700;
    cfg.partition_rows = partition_rows;
    cfg.compact_rows = cfg.compact_rows.min(partition_rows as usize);
    let (writer, tx) = WriterHandle::spawn(&cfg).unwrap();
    let frames = faulty_frames(6, 5, 4000, START_MS);
    let now = unix_now_ns();
    let half = frames.len() / 2;
    // The first half is 20 days old (beyond the 14-day window), the rest a day old.
    let recv = |k: usize| {
        let base = if k < half {
            now - 20 * NS_PER_DAY
        } else {
            now - NS_PER_DAY
        };
        base + k as u64 * NS_PER_MS
    };
    let (live, checkpoints) = ingest_and_replay(&frames, &tx, recv, half);
    let at_cut = &checkpoints[0];
    assert_eq!(at_cut.at_ns, recv(half - 1));
    drop(tx);
    writer.shutdown().unwrap();

    let mut store = SqliteStore::open(&cfg).unwrap();
    let events_before = count_events(&store, "1");
    let parts_before = event_tables(&store).len();
    let trades_old = count_partitioned(
        &store,
        "trades",
        &format!("recv_ns < {}", now - 14 * NS_PER_DAY),
    );
    let report = Pruner::run(&cfg, &mut store, now).unwrap();
    assert!(
        report.deleted_events > 0 && report.files.len() > 3,
        "{report:?}"
    );
    let cutoff = (now - 14 * NS_PER_DAY) as i64;
    assert_eq!(count_events(&store, &format!("recv_ns < {cutoff}")), 0);
    assert_eq!(
        count_partitioned(&store, "trades", &format!("recv_ns < {cutoff}")),
        0
    );
    let tables = event_tables(&store);
    let trade_tables = partition_tables(&store, "trades");
    assert_eq!(
        tables.len() as u64,
        parts_before as u64 - report.dropped_partitions
    );
    // Every partition the prune emptied is gone (the first keeps its name, the newest is filled).
    let last = tables.len().saturating_sub(1);
    for (t, tt) in tables.iter().zip(&trade_tables).take(last).skip(1) {
        let rows = count(
            &store,
            &format!("SELECT (SELECT COUNT(*) FROM {t}) + (SELECT COUNT(*) FROM {tt})"),
        );
        assert!(rows > 0, "{t} and {tt} are empty");
    }
    for table in ["orderbook_ingest", "trades_ingest"] {
        assert_eq!(
            count(
                &store,
                &format!("SELECT COUNT(*) FROM {table} WHERE recv_ns < {cutoff}")
            ),
            0,
            "{table}"
        );
    }
    assert!(count_events(&store, "1") < events_before);
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM exports"),
        report.files.len() as i64
    );
    // Old snapshots are gone except each asset's newest; nothing is left half-written.
    assert_eq!(
        count(
            &store,
            &format!(
                "SELECT COUNT(*) FROM snapshots WHERE recv_ns < {}",
                now - 7 * NS_PER_DAY
            )
        ),
        0
    );
    let export_dir = cfg.export_dir();
    let names: Vec<String> = std::fs::read_dir(&export_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().all(|n| n.ends_with(".frames.zst")),
        "{names:?}"
    );

    // Each market's files, in order, replay to the books the engine had at the cutoff.
    let exports = store.exports().unwrap();
    let mut markets: Vec<i64> = exports.iter().map(|e| e.market_id).collect();
    markets.dedup();
    assert_eq!(markets.len(), 3);
    let mut replayed: Vec<BookDump> = Vec::new();
    let mut trade_frames = 0;
    for m in markets {
        let mut files: Vec<&polyarb::storage::store::ExportRecord> =
            exports.iter().filter(|e| e.market_id == m).collect();
        files.sort_by_key(|e| e.first_seq);
        assert!(files.windows(2).all(|w| w[0].last_seq < w[1].first_seq));
        let paths: Vec<PathBuf> = files.iter().map(|e| export_dir.join(&e.file)).collect();
        // A single file is itself a valid `.zst` frames file for `polyarb replay`.
        let one = replay_dump(&paths[0]);
        assert!(!one.is_empty());
        let plain = dir.path().join(format!("market{m}.frames"));
        concat_exports(&paths, &plain);
        trade_frames += std::fs::read_to_string(&plain)
            .unwrap()
            .lines()
            .filter(|l| l.contains("\"last_trade_price\""))
            .count() as i64;
        replayed.extend(replay_dump(&plain));
    }
    assert_eq!(trade_frames, trades_old);
    replayed.sort_by_key(|b| TokenId::parse(&b.asset_id).unwrap());
    assert_eq!(replayed, at_cut.books);

    // The store still rebuilds the current books (each asset's newest snapshot was kept).
    let last = checkpoints.last().unwrap();
    assert_rebuilds(&mut store, std::slice::from_ref(last));
    assert_eq!(last.books, live.dump().books);
    report
}

#[test]
fn interrupted_exports_are_finished_or_discarded_by_the_next_prune() {
    let dir = ScratchDir::new("st-retention-recover");
    let cfg = config(dir.path());
    let (writer, tx) = WriterHandle::spawn(&cfg).unwrap();
    let frames = faulty_frames(8, 1, 500, START_MS);
    let old = unix_now_ns() - 30 * NS_PER_DAY;
    ingest_and_replay(&frames, &tx, |k| old + k as u64 * NS_PER_MS, 10_000);
    drop(tx);
    writer.shutdown().unwrap();
    let mut store = SqliteStore::open(&cfg).unwrap();
    let first = Pruner::run(&cfg, &mut store, unix_now_ns()).unwrap();
    assert!(!first.files.is_empty());
    // A crash after the commit but before the rename leaves a recorded `.tmp`...
    let done = &first.files[0];
    let tmp = PathBuf::from(format!("{}.tmp", done.display()));
    std::fs::rename(done, &tmp).unwrap();
    // ...and a crash before the commit leaves an unrecorded one.
    let stray = cfg
        .export_dir()
        .join("m9_000000000001-000000000002.frames.zst.tmp");
    std::fs::write(&stray, b"partial").unwrap();
    let second = Pruner::run(&cfg, &mut store, unix_now_ns()).unwrap();
    assert_eq!(
        (second.recovered_files, second.removed_partial_files),
        (1, 1)
    );
    assert!(done.exists() && !tmp.exists() && !stray.exists());
    assert!(second.files.is_empty());
}

#[test]
fn the_writer_schedules_retention() {
    let dir = ScratchDir::new("st-retention-writer");
    let mut cfg = config(dir.path());
    cfg.retention.prune_interval_s = 1;
    let (writer, tx) = WriterHandle::spawn(&cfg).unwrap();
    let frames = faulty_frames(8, 1, 300, START_MS);
    let old = unix_now_ns() - 30 * NS_PER_DAY;
    ingest_and_replay(&frames, &tx, |k| old + k as u64 * NS_PER_MS, 10_000);
    let m = writer.metrics().clone();
    wait_until("a scheduled prune", || {
        m.pruned_events.load(std::sync::atomic::Ordering::Relaxed) > 0
    });
    drop(tx);
    let snap = writer.shutdown().unwrap();
    assert!(
        snap.export_files > 0 && snap.prune_failures == 0,
        "{snap:?}"
    );
    let store = SqliteStore::open(&cfg).unwrap();
    assert_eq!(count(&store, "SELECT COUNT(*) FROM orderbook_events"), 0);
    assert!(count(&store, "SELECT COUNT(*) FROM exports") > 0);
}

fn flood_into(tx: &StorageSender, flood: &mut EventFlood, changes: usize, t0: u64) {
    let mut buf = flood.registrations();
    for a in 0..flood.assets() {
        flood.book(a, 5, t0, &mut buf);
    }
    for i in 0..changes {
        flood.change(t0 + 1 + i as u64 * 1000, &mut buf);
    }
    for ev in buf {
        send(tx, ev);
    }
}

fn order(hash: &str, plan: &str, client: &str) -> OrderRecord {
    OrderRecord {
        order_hash: hash.into(),
        plan_id: plan.into(),
        client_oid: client.into(),
        token: TokenId::from_u64(7),
        side: Side::Bid,
        price: Price(480_000),
        size: Size(10_000_000),
        order_type: "GTC".into(),
        status: "new".into(),
        created_ns: 1,
    }
}

#[test]
fn a_locked_database_halts_trading_and_writes_recover_when_it_clears() {
    let dir = ScratchDir::new("st-locked");
    let cfg = config(dir.path());
    let (writer, tx) = WriterHandle::spawn(&cfg).unwrap();
    let health = writer.health().clone();
    let metrics = writer.metrics().clone();
    let mut flood = EventFlood::new(2, 1);
    flood_into(&tx, &mut flood, 100, unix_now_ns());
    writer.flush(Duration::from_secs(10)).unwrap();
    assert!(health.trading_ok());

    // Another connection takes the write lock and keeps it.
    let other = rusqlite::Connection::open(&cfg.path).unwrap();
    other
        .execute_batch("BEGIN IMMEDIATE; INSERT INTO positions VALUES ('1', 0, 0, 0, 0);")
        .unwrap();
    flood_into(&tx, &mut flood, 300, unix_now_ns());
    send(
        &tx,
        StorageEvent::Order(Box::new(order("0xaa", "p1", "c1"))),
    );
    wait_until("trading halt", || !health.trading_ok());
    assert_eq!(health.last_failure(), FailureKind::Locked);
    assert!(!health.market_data_ok());
    let err = writer.flush(Duration::from_millis(100)).unwrap_err();
    assert_eq!(err.kind(), FailureKind::Locked, "{err}");
    assert!(err.to_string().contains("refusing writes: locked"), "{err}");
    wait_until("several failed attempts", || {
        metrics.snapshot().failed_locked >= 2
    });

    other.execute_batch("ROLLBACK").unwrap();
    wait_until("recovery", || health.trading_ok());
    assert!(health.market_data_ok());
    assert_eq!(health.consecutive_failures(), 0);
    writer.flush(Duration::from_secs(10)).unwrap();
    let store = SqliteStore::open(&cfg).unwrap();
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM orders WHERE order_hash = '0xaa'"
        ),
        1
    );
    drop(tx);
    let m = writer.shutdown().unwrap();
    // Nothing was lost while the lock was held: 2 venue books of 10 levels... every change is there.
    let changes = count(
        &store,
        "SELECT COUNT(*) FROM orderbook_events WHERE kind = 2",
    );
    assert_eq!(changes, 400);
    assert_eq!(m.dropped_pending_full + m.dropped_channel_full, 0);
}

#[test]
fn a_full_disk_is_reported_and_writes_recover_when_space_returns() {
    let dir = ScratchDir::new("st-full");
    let mut cfg = config(dir.path());
    cfg.compact_rows = 100_000;
    let (writer, tx) = WriterHandle::spawn(&cfg).unwrap();
    let health = writer.health().clone();
    let mut flood = EventFlood::new(4, 2);
    flood_into(&tx, &mut flood, 50, unix_now_ns());
    writer.flush(Duration::from_secs(10)).unwrap();
    let size = std::fs::metadata(&cfg.path).unwrap().len()
        + std::fs::metadata(format!("{}-wal", cfg.path.display())).map_or(0, |m| m.len());
    // A budget just above today's size: the flood below cannot fit.
    writer.set_size_limit(size + 64 * 1024);
    let mut sent = 0;
    while health.trading_ok() {
        flood_into_more(&tx, &mut flood, 2_000);
        sent += 2_000;
        assert!(sent < 400_000, "the size budget was never hit");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(health.last_failure(), FailureKind::Full);
    wait_until("counted failures", || {
        writer.metrics().snapshot().failed_full >= 1
    });
    writer.set_size_limit(0);
    wait_until("recovery", || health.trading_ok());
    writer.flush(Duration::from_secs(30)).unwrap();
    let store = SqliteStore::open(&cfg).unwrap();
    let changes = count(
        &store,
        "SELECT COUNT(*) FROM orderbook_events WHERE kind = 2",
    ) + count(
        &store,
        "SELECT COUNT(*) FROM orderbook_ingest WHERE kind = 2",
    );
    assert_eq!(changes, 50 + sent);
    drop(tx);
    let m = writer.shutdown().unwrap();
    assert_eq!(m.dropped_pending_full, 0);
}

fn flood_into_more(tx: &StorageSender, flood: &mut EventFlood, changes: usize) {
    let mut buf = Vec::new();
    let t = unix_now_ns();
    for i in 0..changes {
        flood.change(t + i as u64, &mut buf);
    }
    for ev in buf {
        send(tx, ev);
    }
}

#[test]
fn bad_data_is_refused_one_row_at_a_time_and_counted() {
    let dir = ScratchDir::new("st-bad");
    let cfg = config(dir.path());
    let (writer, tx) = WriterHandle::spawn(&cfg).unwrap();
    let mut flood = EventFlood::new(1, 3);
    flood_into(&tx, &mut flood, 10, unix_now_ns());
    let long = "x".repeat(10_000);
    // Oversized strings.
    send(
        &tx,
        StorageEvent::RegisterAsset(Box::new(polyarb::storage::AssetRegistration {
            asset: AssetIndex(50),
            token: TokenId::from_u64(50),
            condition_id: long.clone(),
            outcome: None,
            outcome_index: None,
        })),
    );
    send(
        &tx,
        StorageEvent::Order(Box::new(order("0xbb", &long, "c"))),
    );
    send(
        &tx,
        StorageEvent::Market(Box::new(MarketRecord {
            condition_id: "0xm".into(),
            question: Some("y".repeat(100_000)),
            ..MarketRecord::default()
        })),
    );
    // Duplicate keys: the same order hash, the same plan + client id, the same fill twice.
    send(&tx, StorageEvent::Order(Box::new(order("0x01", "p", "c1"))));
    send(&tx, StorageEvent::Order(Box::new(order("0x01", "p", "c2"))));
    send(&tx, StorageEvent::Order(Box::new(order("0x02", "p", "c1"))));
    let fill = FillRecord {
        trade_id: "t1".into(),
        order_hash: "0x01".into(),
        token: TokenId::from_u64(7),
        side: Side::Bid,
        price: Price(480_000),
        size: Size(5_000_000),
        fee: Amount(0),
        trader_side: Some("TAKER".into()),
        status: "MATCHED".into(),
        match_time_ms: Some(1),
        recv_ns: 1,
    };
    send(&tx, StorageEvent::Fill(Box::new(fill.clone())));
    send(&tx, StorageEvent::Fill(Box::new(fill.clone())));
    // Events for an asset nobody registered, a size SQLite cannot hold, an unknown order.
    send(
        &tx,
        StorageEvent::Book(polyarb::storage::BookEvent {
            asset: AssetIndex(77),
            venue_ts_ms: 0,
            recv_ns: 1,
            change: polyarb::storage::BookChange::Level {
                side: Side::Bid,
                price: Price(1),
                size: Size(1),
            },
        }),
    );
    send(
        &tx,
        StorageEvent::Position(Box::new(PositionRecord {
            token: TokenId::from_u64(7),
            size: Size(u64::MAX),
            cost: Amount(0),
            realized_pnl: 0,
            updated_ns: 1,
        })),
    );
    send(
        &tx,
        StorageEvent::OrderUpdate(Box::new(OrderUpdate {
            order_hash: "0xnope".into(),
            status: "live".into(),
            size_matched: Size(0),
            updated_ns: 2,
        })),
    );
    // Good rows after the bad ones are stored.
    send(&tx, StorageEvent::Order(Box::new(order("0x03", "p", "c3"))));
    writer.flush(Duration::from_secs(10)).unwrap();
    let m = writer.metrics().snapshot();
    assert_eq!(m.rejected_oversized, 3, "{m:?}");
    assert_eq!(m.rejected_duplicate, 3, "{m:?}");
    assert_eq!(m.rejected_unregistered, 1, "{m:?}");
    assert_eq!(m.rejected_invalid, 2, "{m:?}");
    assert!(writer.health().trading_ok());
    let store = SqliteStore::open(&cfg).unwrap();
    assert_eq!(count(&store, "SELECT COUNT(*) FROM orders"), 2);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM fills"), 1);
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM markets WHERE condition_id = '0xm'"
        ),
        0
    );
    drop(tx);
    writer.shutdown().unwrap();
}

#[test]
fn a_full_channel_hands_the_event_back_and_counts_it() {
    let dir = ScratchDir::new("st-channel");
    let mut cfg = config(dir.path());
    cfg.channel_capacity = 8;
    // The writer will sit in SQLite's busy wait for 2 s while another connection holds the lock.
    cfg.busy_timeout_ms = 2000;
    let (writer, tx) = WriterHandle::spawn(&cfg).unwrap();
    let other = rusqlite::Connection::open(&cfg.path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let mut flood = EventFlood::new(1, 4);
    for ev in flood.registrations() {
        tx.try_send(ev).unwrap();
    }
    // Give the writer time to start committing (and block on the lock).
    std::thread::sleep(Duration::from_millis(200));
    let mut buf = Vec::new();
    for i in 0..20 {
        flood.change(i, &mut buf);
    }
    let mut refused = 0;
    for ev in buf {
        if let Err(back) = tx.try_send(ev) {
            assert!(matches!(back, StorageEvent::Book(_)));
            refused += 1;
        }
    }
    assert!(refused >= 40 - 8 - 1, "only {refused} of 40 refused");
    assert!(
        writer.health().trading_ok(),
        "market data drops do not halt trading"
    );
    let critical = StorageEvent::Journal(Box::new(JournalEntry {
        order_hash: "0x01".into(),
        plan_id: "p".into(),
        client_oid: "c".into(),
        action: "send".into(),
        detail: None,
        recv_ns: 1,
    }));
    assert!(tx.try_send(critical).is_err());
    assert!(
        !writer.health().trading_ok(),
        "a lost journal entry halts trading"
    );
    let m = writer.metrics().snapshot();
    assert_eq!(m.dropped_channel_full, refused + 1);
    assert_eq!(m.dropped_critical, 1);
    assert!(tx.queue_depth() <= 8);
    other.execute_batch("ROLLBACK").unwrap();
    drop(tx);
    writer.shutdown().unwrap();
}

#[test]
fn trading_rows_are_journaled_updated_and_flushed() {
    let dir = ScratchDir::new("st-trading");
    let cfg = config(dir.path());
    let (writer, tx) = WriterHandle::spawn(&cfg).unwrap();
    let yes = TokenId::from_u64(11);
    let no = TokenId::from_u64(12);
    send(
        &tx,
        StorageEvent::Market(Box::new(MarketRecord {
            condition_id: "0xc0".into(),
            question: Some("Will it?".into()),
            neg_risk: true,
            tick_size: Some(polyarb::core::TickSize::CENT),
            min_order_size: Some(Size(5_000_000)),
            rule_hash: Some("h1".into()),
            outcomes: vec![
                OutcomeRecord {
                    token: yes,
                    outcome: Some("Yes".into()),
                },
                OutcomeRecord {
                    token: no,
                    outcome: Some("No".into()),
                },
            ],
            updated_ns: 5,
            ..MarketRecord::default()
        })),
    );
    // Journal before sending, and wait until it is durable.
    send(
        &tx,
        StorageEvent::Journal(Box::new(JournalEntry {
            order_hash: "0xo1".into(),
            plan_id: "plan".into(),
            client_oid: "c1".into(),
            action: "send".into(),
            detail: Some("GTC 10 @ 0.48".into()),
            recv_ns: 10,
        })),
    );
    let notice = writer.flush(Duration::from_secs(10)).unwrap();
    assert!(notice.batch_id > 0);
    let store = SqliteStore::open(&cfg).unwrap();
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM order_journal WHERE order_hash = '0xo1'"
        ),
        1
    );

    send(
        &tx,
        StorageEvent::Order(Box::new(OrderRecord {
            token: yes,
            ..order("0xo1", "plan", "c1")
        })),
    );
    send(
        &tx,
        StorageEvent::OrderUpdate(Box::new(OrderUpdate {
            order_hash: "0xo1".into(),
            status: "partially_filled".into(),
            size_matched: Size(4_000_000),
            updated_ns: 20,
        })),
    );
    let fill = FillRecord {
        trade_id: "t-1".into(),
        order_hash: "0xo1".into(),
        token: yes,
        side: Side::Bid,
        price: Price(480_000),
        size: Size(4_000_000),
        fee: Amount(12_345),
        trader_side: Some("MAKER".into()),
        status: "MATCHED".into(),
        match_time_ms: Some(1_000),
        recv_ns: 21,
    };
    send(&tx, StorageEvent::Fill(Box::new(fill.clone())));
    send(
        &tx,
        StorageEvent::Fill(Box::new(FillRecord {
            status: "CONFIRMED".into(),
            ..fill
        })),
    );
    send(
        &tx,
        StorageEvent::Position(Box::new(PositionRecord {
            token: yes,
            size: Size(4_000_000),
            cost: Amount(1_920_000),
            realized_pnl: -12_345,
            updated_ns: 22,
        })),
    );
    send(
        &tx,
        StorageEvent::RuleChange(Box::new(RuleChangeRecord {
            condition_id: "0xc0".into(),
            old_hash: Some("h1".into()),
            new_hash: "h2".into(),
            detected_ns: 30,
            detail: Some("resolution source changed".into()),
        })),
    );
    send(
        &tx,
        StorageEvent::RuleAck(Box::new(RuleAck {
            condition_id: "0xc0".into(),
            acked_ns: 40,
        })),
    );
    writer.flush(Duration::from_secs(10)).unwrap();
    let q = |sql: &str| -> String {
        store
            .connection()
            .query_row(sql, [], |r| r.get::<_, String>(0))
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    };
    assert_eq!(
        q("SELECT status || ':' || size_matched FROM orders WHERE order_hash = '0xo1'"),
        "partially_filled:4000000"
    );
    assert_eq!(
        q("SELECT status || ':' || fee FROM fills WHERE trade_id = 't-1'"),
        "CONFIRMED:12345"
    );
    assert_eq!(
        q("SELECT size || ':' || cost || ':' || realized_pnl FROM positions WHERE token_id = '11'"),
        "4000000:1920000:-12345"
    );
    assert_eq!(
        q("SELECT rule_hash FROM markets WHERE condition_id = '0xc0'"),
        "h2"
    );
    assert_eq!(
        q("SELECT group_concat(outcome_index || outcome) FROM outcomes"),
        "0Yes,1No"
    );
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM rule_changes WHERE acked_ns = 40"
        ),
        1
    );
    assert_eq!(
        count(
            &store,
            "SELECT typeof(price) = 'integer' AND typeof(size) = 'integer' FROM orders"
        ),
        1
    );
    drop(tx);
    writer.shutdown().unwrap();
}

/// Asset 0's venue book at `t0`, then 1000 level changes 100 ms apart: 100 s, two minute
/// buckets, 1001 top-of-book updates.
fn one_asset_over_two_minutes(tx: &StorageSender, flood: &mut EventFlood, t0: u64) {
    let mut buf = flood.registrations();
    flood.book(0, 5, t0, &mut buf);
    for i in 0..1000u64 {
        flood.change_of(0, t0 + (i + 1) * 100 * NS_PER_MS, &mut buf);
    }
    for ev in buf {
        send(tx, ev);
    }
}

#[test]
fn snapshots_follow_the_cadence_and_bars_aggregate_minutes() {
    let dir = ScratchDir::new("st-cadence");
    let mut cfg = config(dir.path());
    cfg.snapshot_every_events = 100;
    cfg.snapshot_every_ms = 3_600_000;
    let (writer, tx) = WriterHandle::spawn(&cfg).unwrap();
    let mut flood = EventFlood::new(1, 6);
    let t0 = 1_800_000_000 * NS_PER_S;
    one_asset_over_two_minutes(&tx, &mut flood, t0);
    for (i, price) in [(0u64, 450_000u32), (1, 470_000), (2, 460_000)] {
        send(
            &tx,
            StorageEvent::Trade(polyarb::storage::TradeEvent {
                asset: AssetIndex(0),
                side: if i == 1 { Side::Ask } else { Side::Bid },
                price: Price(price),
                size: Size(2_000_000),
                fee_rate_bps: Some(0),
                venue_ts_ms: 1,
                recv_ns: t0 + 100 * NS_PER_S + i,
            }),
        );
    }
    drop(tx);
    writer.shutdown().unwrap();
    let store = SqliteStore::open(&cfg).unwrap();
    // One every 100 events (the time cadence is an hour), none inside an event.
    assert_eq!(count(&store, "SELECT COUNT(*) FROM snapshots"), 10);
    let seqs: Vec<i64> = store
        .connection()
        .prepare("SELECT seq FROM snapshots ORDER BY seq")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    // Each snapshot follows the 100th level change since the previous base (the venue book is
    // the first); an event end cut off by a batch boundary takes a `seq` of its own.
    for (i, seq) in seqs.iter().enumerate() {
        let changes = count(
            &store,
            &format!("SELECT COUNT(*) FROM orderbook_events WHERE kind = 2 AND seq <= {seq}"),
        );
        assert_eq!(changes, 100 * (i as i64 + 1), "snapshot {i} at seq {seq}");
        let ended: i64 = count(
            &store,
            &format!("SELECT flags FROM orderbook_events WHERE seq = {seq}"),
        );
        assert_eq!(ended, 1, "snapshot {i} is at an event end");
    }
    let minutes = count(&store, "SELECT COUNT(*) FROM tob_bars_1m");
    assert_eq!(minutes, 2);
    let updates = count(&store, "SELECT SUM(updates) FROM tob_bars_1m");
    assert_eq!(updates, 1001);
    let (open, high, low, close, volume, notional, buys, trades): (i64, i64, i64, i64, i64, i64, i64, i64) = store
        .connection()
        .query_row(
            "SELECT open, high, low, close, volume, notional, buy_volume, trades FROM trade_bars_1m",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?)),
        )
        .unwrap();
    assert_eq!(
        (open, high, low, close),
        (450_000, 470_000, 450_000, 460_000)
    );
    assert_eq!(
        (volume, notional, buys, trades),
        (6_000_000, 2_760_000, 4_000_000, 3)
    );
    // The newest snapshot's book equals the book rebuilt at the end of the stream.
    let mut store = store;
    let token = flood.token(0);
    let end = rebuild_at(&mut store, &token, t0 + 1001 * 100 * NS_PER_MS).unwrap();
    assert_eq!(end.applied, 0, "the final snapshot covers every event");
}

#[test]
fn bars_merge_at_their_own_cadence_and_at_every_flush() {
    let dir = ScratchDir::new("st-bar-cadence");
    let mut cfg = config(dir.path());
    cfg.bars_every_ms = 3_600_000;
    let (writer, tx) = WriterHandle::spawn(&cfg).unwrap();
    let mut flood = EventFlood::new(1, 7);
    one_asset_over_two_minutes(&tx, &mut flood, 1_800_000_000 * NS_PER_S);
    // Batches of 200 rows commit on their own; the bars wait for their cadence.
    wait_until("1000 rows committed", || {
        writer.metrics().snapshot().rows_written >= 1000
    });
    let other = rusqlite::Connection::open(&cfg.path).unwrap();
    let bars = |c: &rusqlite::Connection| -> (i64, i64) {
        c.query_row(
            "SELECT COUNT(*), COALESCE(SUM(updates), 0) FROM tob_bars_1m",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
    };
    assert_eq!(bars(&other), (0, 0), "no bar merged before its cadence");
    // A flush is a durability barrier for the bars too: every event so far is in them.
    writer.flush(Duration::from_secs(10)).unwrap();
    assert_eq!(bars(&other), (2, 1001));
    drop(tx);
    writer.shutdown().unwrap();
}

#[test]
fn a_level_history_query_uses_its_index_after_the_writer_stops() {
    let dir = ScratchDir::new("st-planner");
    let cfg = config(dir.path());
    let (writer, tx) = WriterHandle::spawn(&cfg).unwrap();
    let mut flood = EventFlood::new(4, 9);
    flood_into(&tx, &mut flood, 6000, 1_800_000_000 * NS_PER_S);
    drop(tx);
    writer.shutdown().unwrap();
    let store = SqliteStore::open(&cfg).unwrap();
    let plan: Vec<String> = store
        .connection()
        .prepare(
            "EXPLAIN QUERY PLAN SELECT seq, size FROM orderbook_events
             WHERE market_id = 1 AND side = 1 AND price = 520000",
        )
        .unwrap()
        .query_map([], |r| r.get::<_, String>(3))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(
        plan.iter()
            .any(|l| l.contains("orderbook_events_market_side_price")),
        "{plan:?}"
    );
}

#[test]
fn db_commands_rebuild_report_and_prune() {
    let dir = ScratchDir::new("st-cli");
    let frames_path = dir.path().join("feed.frames");
    let start_ms = (unix_now_ns() - 20 * NS_PER_DAY) / NS_PER_MS;
    let frames = faulty_frames(4, 8, 1500, start_ms);
    std::fs::write(&frames_path, frames.join("\n")).unwrap();
    let db = dir.path().join("cli.db");
    let run = |args: &[&str]| {
        let out = Command::new(testkit::bins::polyarb())
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let dbs = db.to_str().unwrap();
    let text = run(&[
        "db",
        "import",
        "--db",
        dbs,
        "--frames",
        frames_path.to_str().unwrap(),
    ]);
    assert!(text.contains(&format!("{} frames", frames.len())), "{text}");

    let mut live = Replayer::new();
    for f in &frames {
        live.frame(f.as_bytes(), 0);
    }
    for b in live.dump().books {
        let out = run(&[
            "db",
            "book",
            "--db",
            dbs,
            "--asset",
            &b.asset_id,
            "--at",
            "now",
        ]);
        let got: BookDump = serde_json::from_str(&out).unwrap();
        assert_eq!(got, b);
    }
    let stats: serde_json::Value =
        serde_json::from_str(&run(&["db", "stats", "--db", dbs, "--json"])).unwrap();
    assert_eq!(
        stats["schema_version"],
        polyarb::storage::schema::LATEST_VERSION
    );
    assert_eq!(stats["markets"].as_array().unwrap().len(), 2);
    assert!(
        stats["oldest_event_ns"].as_u64().unwrap() < stats["newest_event_ns"].as_u64().unwrap()
    );
    let text = run(&["db", "stats", "--db", dbs]);
    assert!(
        text.contains("orderbook_events") && text.contains("size on disk"),
        "{text}"
    );

    let prune: serde_json::Value =
        serde_json::from_str(&run(&["db", "prune", "--db", dbs, "--json"])).unwrap();
    let files = prune["files"].as_array().unwrap();
    assert_eq!(files.len(), 2, "{prune}");
    let exported = PathBuf::from(files[0].as_str().unwrap());
    assert!(exported.starts_with(dir.path().join("archive")));
    let replayed = run(&["replay", "--frames", exported.to_str().unwrap()]);
    assert!(replayed.contains("\"invalid\": 0"), "{replayed}");

    let out = Command::new(testkit::bins::polyarb())
        .args(["db", "book", "--db", dbs, "--asset", "12345", "--at", "now"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not in this database"));
    let mut f = std::fs::File::create(dir.path().join("bad.toml")).unwrap();
    writeln!(f, "[storage.retention]\nraw_event_days = 3").unwrap();
    let out = Command::new(testkit::bins::polyarb())
        .args(["db", "prune", "--db", dbs, "--config"])
        .arg(dir.path().join("bad.toml"))
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("storage.retention.raw_event_days"));
}

/// Reads `committed <batch_id> <rows> <total_rows>` lines from a crash-writer child.
fn committed_lines(stdout: std::process::ChildStdout) -> std::sync::mpsc::Receiver<u64> {
    use std::io::BufRead;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            let mut it = line.split_whitespace();
            if it.next() == Some("committed")
                && let Some(Ok(id)) = it.next().map(str::parse::<u64>)
                && tx.send(id).is_err()
            {
                return;
            }
        }
    });
    rx
}

#[test]
fn sigkill_at_random_moments_loses_no_reported_batch() {
    use rand::{Rng, SeedableRng};
    let dir = ScratchDir::new("st-crash");
    let db = dir.path().join("crash.db");
    let seed = unix_now_ns();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut reported_total = 0;
    // `polyarb db crash-writer` runs in polyarb-venue: it must be built and fresh.
    testkit::bins::polyarb_venue();
    for round in 0..4 {
        let mut child = Command::new(testkit::bins::polyarb())
            .args(["db", "crash-writer", "--db"])
            .arg(&db)
            .args(["--markets", "6", "--seed", "1"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let lines = committed_lines(child.stdout.take().unwrap());
        let mut reported = Vec::new();
        while reported.len() < 3 {
            match lines.recv_timeout(Duration::from_secs(30)) {
                Ok(id) => reported.push(id),
                Err(e) => {
                    let _ = child.kill();
                    panic!("round {round}: no commits from the child ({e})");
                }
            }
        }
        std::thread::sleep(Duration::from_millis(rng.random_range(20..400)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        reported.extend(lines.iter());
        reported_total += reported.len();

        let conn = rusqlite::Connection::open(&db).unwrap();
        let ok: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(ok, "ok", "round {round} (seed {seed})");
        let ids: Vec<u64> = conn
            .prepare("SELECT batch_id FROM batches ORDER BY batch_id")
            .unwrap()
            .query_map([], |r| r.get::<_, i64>(0))
            .unwrap()
            .map(|v| v.unwrap() as u64)
            .collect();
        // Every reported batch is there and the ids have no hole: what is missing can only be
        // the tail that was not committed when the child died. (Batches beyond the last
        // reported one were committed while their notice was on its way to stdout.)
        for id in &reported {
            assert!(
                ids.binary_search(id).is_ok(),
                "round {round}: batch {id} lost (seed {seed})"
            );
        }
        assert_eq!(
            ids,
            (1..=ids.len() as u64).collect::<Vec<_>>(),
            "round {round}"
        );
        // Every market's sequence is gapless across restarts: nothing is missing in the middle.
        let gaps: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM (
                   SELECT market_id, COUNT(*) AS n, MIN(seq) AS lo, MAX(seq) AS hi FROM (
                     SELECT market_id, seq FROM orderbook_events
                     UNION ALL SELECT market_id, seq FROM orderbook_ingest
                     UNION ALL SELECT market_id, seq FROM trades
                     UNION ALL SELECT market_id, seq FROM trades_ingest)
                   GROUP BY market_id) WHERE n <> hi - lo + 1 OR lo <> 1",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(gaps, 0, "round {round} (seed {seed})");
        // What the batches say they wrote is exactly what is there.
        let (said, there): (i64, i64) = conn
            .query_row(
                "SELECT (SELECT SUM(events) FROM batches),
                        (SELECT COUNT(*) FROM orderbook_events) + (SELECT COUNT(*) FROM orderbook_ingest)
                        + (SELECT COUNT(*) FROM trades) + (SELECT COUNT(*) FROM trades_ingest)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(said, there, "round {round}");
    }
    assert!(reported_total >= 12);
}
