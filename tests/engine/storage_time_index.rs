//! Time cuts on `orderbook_events`' sampled time index (schema v5) and compaction from the
//! landing table's in-memory copy, checked against full scans of a real database file: ties and
//! gaps in receive times, receive times that went backwards (clamped at ingest), `seq` gaps left
//! by trades, rows still in the landing table, a store reopened with landed rows (read back
//! into the copy), landed rows deleted by another connection, trades landed beside book rows,
//! a compaction that hands control back while it works (and rolls back when told to stop),
//! `orderbook_events` split over many partitions (schema v7), and query plans that really use
//! the indices.

use std::ops::ControlFlow;

use polyarb::core::{AssetIndex, Price, Side, Size, TokenId};
use polyarb::storage::batch::{Batch, BookRow, BookRowKind, Row, TradeRow};
use polyarb::storage::event::AssetRegistration;
use polyarb::storage::schema::TIME_SAMPLE_EVERY;
use polyarb::storage::{EventStore, SqliteStore, StorageConfig, Synchronous};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use testkit::ScratchDir;

const MARKETS: usize = 3;
const T0: u64 = 1_764_000_000_000_000_000;

/// Batch 1: the registrations of `MARKETS` binary markets, assets `2m` and `2m + 1` (the
/// tokens' ids are arbitrary; the cuts only need the asset indices registered).
fn registration_batch() -> Batch {
    let rows = (0..MARKETS * 2)
        .map(|i| {
            Row::Asset(Box::new(AssetRegistration {
                asset: AssetIndex(i as u32),
                token: TokenId::from_u64(1_000 + i as u64),
                condition_id: format!("0x{:064x}", i / 2 + 1),
                outcome: None,
                outcome_index: Some((i % 2) as u32),
            }))
        })
        .collect();
    Batch { id: 1, rows }
}

/// `n` rows over the markets' assets: level changes with receive times that repeat, jump and
/// sometimes go backwards, and a trade every so often (trades take `seq` values too).
fn rows(rng: &mut StdRng, n: usize, t: &mut u64) -> Vec<Row> {
    (0..n)
        .map(|_| {
            *t = match rng.random_range(0..10) {
                0..=3 => *t,
                4 => t.saturating_sub(rng.random_range(1..5_000)),
                5 => *t + rng.random_range(1_000_000..50_000_000),
                _ => *t + rng.random_range(1..2_000),
            };
            let asset = AssetIndex(rng.random_range(0..MARKETS as u32 * 2));
            if rng.random_range(0..9) == 0 {
                Row::Trade(TradeRow {
                    asset,
                    side: Side::Bid,
                    price: Price(500_000),
                    size: Size(1_000_000),
                    fee_rate_bps: None,
                    venue_ts_ms: *t / 1_000_000,
                    recv_ns: *t,
                })
            } else {
                Row::Book(BookRow {
                    asset,
                    kind: BookRowKind::Change {
                        side: if rng.random_bool(0.5) {
                            Side::Bid
                        } else {
                            Side::Ask
                        },
                        price: Price(rng.random_range(30..=70) * 10_000),
                        size: Size(rng.random_range(0..100) * 10_000),
                    },
                    end: None,
                    venue_ts_ms: *t / 1_000_000,
                    recv_ns: *t,
                })
            }
        })
        .collect()
}

/// A store at `path` whose compaction starts a new `orderbook_events` partition every
/// `partition_rows` rows.
fn open_store(path: &std::path::Path, partition_rows: u64) -> SqliteStore {
    SqliteStore::open(&StorageConfig {
        path: path.to_path_buf(),
        busy_timeout_ms: 5000,
        partition_rows,
        ..StorageConfig::default()
    })
    .unwrap()
}

/// A store at `path` with the markets' assets registered (batch 1).
fn registered_store(path: &std::path::Path) -> SqliteStore {
    registered_store_in(path, StorageConfig::default().partition_rows)
}

fn registered_store_in(path: &std::path::Path, partition_rows: u64) -> SqliteStore {
    let mut store = open_store(path, partition_rows);
    store.write_batch(&registration_batch()).unwrap();
    store
}

fn one(store: &SqliteStore, sql: &str, p: impl rusqlite::Params) -> Option<i64> {
    store
        .connection()
        .query_row(sql, p, |r| r.get::<_, Option<i64>>(0))
        .expect(sql)
}

/// (Re)defines `temp.all_events` and `temp.all_trades`: every partition of `orderbook_events`
/// and of `trades`, read by full scans (`NOT INDEXED`); returns how many partitions there are.
fn all_events_view(store: &SqliteStore) -> usize {
    let parts = store.partition_tables().unwrap();
    let views = [("all_events", 0), ("all_trades", 1)];
    for (view, which) in views {
        let arms: Vec<String> = parts
            .iter()
            .map(|(e, t)| format!("SELECT * FROM {} NOT INDEXED", [e, t][which]))
            .collect();
        store
            .connection()
            .execute_batch(&format!(
                "DROP VIEW IF EXISTS temp.{view}; CREATE TEMP VIEW {view} AS {};",
                arms.join(" UNION ALL ")
            ))
            .unwrap();
    }
    parts.len()
}

/// The answers by full scans, independent of the sampled index and of the partitions' bounds
/// (`all_events_view` first).
fn scan_seq_at(store: &SqliteStore, market: i64, at: i64) -> Option<i64> {
    one(
        store,
        "SELECT MAX(seq) FROM (
            SELECT seq, recv_ns FROM all_events WHERE market_id = ?1
            UNION ALL SELECT seq, recv_ns FROM orderbook_ingest WHERE market_id = ?1)
         WHERE recv_ns <= ?2",
        (market, at),
    )
}

fn scan_seq_before(store: &SqliteStore, market: i64, cut: i64) -> Option<i64> {
    one(
        store,
        "SELECT MAX(seq) FROM (
            SELECT seq, recv_ns FROM all_events WHERE market_id = ?1
            UNION ALL SELECT seq, recv_ns FROM orderbook_ingest WHERE market_id = ?1
            UNION ALL SELECT seq, recv_ns FROM all_trades WHERE market_id = ?1
            UNION ALL SELECT seq, recv_ns FROM trades_ingest WHERE market_id = ?1)
         WHERE recv_ns < ?2",
        (market, cut),
    )
}

fn check_cuts(store: &mut SqliteStore, rng: &mut StdRng, t_end: u64) -> usize {
    let mut checked = 0;
    all_events_view(store);
    for market in 1..=MARKETS as i64 {
        let times: Vec<i64> = store
            .connection()
            .prepare("SELECT recv_ns FROM all_events WHERE market_id = ?1 ORDER BY seq")
            .unwrap()
            .query_map([market], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let mut probes: Vec<i64> = vec![0, T0 as i64 - 1, t_end as i64 + 1, i64::MAX];
        for _ in 0..150 {
            if times.is_empty() {
                break;
            }
            let t = times[rng.random_range(0..times.len())];
            probes.extend([t - 1, t, t + 1]);
        }
        for at in probes {
            let at_u = at.max(0) as u64;
            let got = store.seq_at(market, at_u).unwrap().map(|s| s as i64);
            assert_eq!(
                got,
                scan_seq_at(store, market, at),
                "seq_at({market}, {at})"
            );
            let got = store
                .last_seq_before(market, at_u)
                .unwrap()
                .map(|s| s as i64);
            assert_eq!(
                got,
                scan_seq_before(store, market, at),
                "last_seq_before({market}, {at})"
            );
            checked += 1;
        }
    }
    checked
}

#[test]
fn time_cuts_on_the_sampled_index_equal_full_scans() {
    let parts = time_cuts_equal_full_scans(StorageConfig::default().partition_rows);
    assert_eq!(parts, 1);
}

#[test]
fn time_cuts_and_book_rows_span_many_partitions() {
    let parts = time_cuts_equal_full_scans(1_000);
    assert!(parts >= 8, "{parts} partitions");
}

/// Writes, compacts unevenly, reopens and compacts the rest, checking every time cut and every
/// market's rows against full scans; returns how many `orderbook_events` partitions there were.
fn time_cuts_equal_full_scans(partition_rows: u64) -> usize {
    let dir = ScratchDir::new("time-index");
    let path = dir.path().join("t.db");
    let mut store = registered_store_in(&path, partition_rows);
    let mut rng = StdRng::seed_from_u64(17);
    let mut t = T0;
    let mut id = 2;
    for round in 0..24 {
        let batch = Batch {
            id,
            rows: rows(&mut rng, 400, &mut t),
        };
        id += 1;
        store.write_batch(&batch).unwrap();
        // Compact in uneven chunks, and not after the last batches: some rows stay landed.
        if round < 22 {
            let n = rng.random_range(1..1_500);
            store.compact(n).unwrap();
        }
    }
    let staged = store.staged_rows().unwrap();
    all_events_view(&store);
    let indexed = one(&store, "SELECT COUNT(*) FROM all_events", []).unwrap();
    assert!(
        staged > 0 && indexed > 5_000,
        "{staged} landed, {indexed} indexed"
    );
    assert!(check_cuts(&mut store, &mut rng, t) > 1_000);

    // Reopened with rows still landed: they are read back and compacted, and cuts still agree.
    check_book_rows(&mut store);
    drop(store);
    let mut store = open_store(&path, partition_rows);
    let mut reg = registration_batch();
    reg.id = id;
    id += 1;
    store.write_batch(&reg).unwrap();
    let batch = Batch {
        id,
        rows: rows(&mut rng, 700, &mut t),
    };
    store.write_batch(&batch).unwrap();
    let before = store.staged_rows().unwrap();
    let mut taken = 0;
    loop {
        let (n, dups) = store.compact(1_000).unwrap();
        assert_eq!(dups, 0);
        if n == 0 {
            break;
        }
        taken += n;
    }
    assert_eq!(taken, before, "every landed row compacted once");
    assert_eq!(store.staged_rows().unwrap(), 0);
    check_cuts(&mut store, &mut rng, t);
    check_book_rows(&mut store);

    // Book events are dense per market between trades: every row written is there once, and
    // `seq` went on after the reopen from the newest partition holding each market.
    let parts = all_events_view(&store);
    let total = one(
        &store,
        "SELECT (SELECT COUNT(*) FROM all_events) + (SELECT COUNT(*) FROM all_trades)",
        [],
    )
    .unwrap();
    let max_seqs = one(
        &store,
        "SELECT SUM(m) FROM (SELECT MAX(seq) AS m FROM (
             SELECT market_id, seq FROM all_events UNION ALL SELECT market_id, seq FROM all_trades)
           GROUP BY market_id)",
        [],
    )
    .unwrap();
    assert_eq!(total, max_seqs, "no seq lost or duplicated");
    let ok: String = store
        .connection()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
    parts
}

/// Every market's book rows read whole and from several starting points equal a full scan.
fn check_book_rows(store: &mut SqliteStore) {
    all_events_view(store);
    for market in 1..=MARKETS as i64 {
        let all: Vec<u64> = store
            .connection()
            .prepare(
                "SELECT seq FROM (SELECT market_id, seq FROM all_events
                     UNION ALL SELECT market_id, seq FROM orderbook_ingest)
                 WHERE market_id = ?1 ORDER BY seq",
            )
            .unwrap()
            .query_map([market], |r| r.get::<_, i64>(0))
            .unwrap()
            .map(|s| s.unwrap() as u64)
            .collect();
        assert!(!all.is_empty());
        for start in [0, 1, all.len() / 3, all.len() / 2, all.len() - 1] {
            let from = all[start];
            // Open-ended, and ending inside the stored rows (not at a stored seq: a gap).
            let mid = (start + all.len()) / 2;
            for (to, end) in [
                (u64::MAX, all.len()),
                (all[mid], mid + 1),
                (all[mid] - 1, mid),
            ] {
                for limit in [usize::MAX, 250] {
                    let got: Vec<u64> = store
                        .book_rows(market, None, from, to, limit)
                        .unwrap()
                        .iter()
                        .map(|r| r.seq)
                        .collect();
                    let want: Vec<u64> = all[start..end.max(start)]
                        .iter()
                        .copied()
                        .take(limit)
                        .collect();
                    assert_eq!(
                        got, want,
                        "market {market} from {from} to {to} limit {limit}"
                    );
                }
            }
        }
    }
}

#[test]
fn landed_rows_deleted_by_another_connection_are_not_compacted() {
    let dir = ScratchDir::new("time-index-prune");
    let path = dir.path().join("x.db");
    let mut writer = registered_store(&path);
    let mut rng = StdRng::seed_from_u64(5);
    let mut t = T0;
    let batch = Batch {
        id: 2,
        rows: rows(&mut rng, 600, &mut t),
    };
    writer.write_batch(&batch).unwrap();
    // `db prune` beside the running writer: another connection deletes some landed rows.
    let other = SqliteStore::open_with(&path, Synchronous::Normal, 5000).unwrap();
    let gone = other
        .connection()
        .execute(
            "DELETE FROM orderbook_ingest WHERE market_id = 1 AND seq <= 40",
            [],
        )
        .unwrap();
    assert!(gone > 0);
    let left = writer.staged_rows().unwrap();
    let mut taken = 0;
    loop {
        let (n, _) = writer.compact(250).unwrap();
        if n == 0 {
            break;
        }
        taken += n;
    }
    assert_eq!(taken, left);
    assert_eq!(
        one(
            &writer,
            "SELECT COUNT(*) FROM orderbook_events WHERE market_id = 1 AND seq <= 40",
            []
        ),
        Some(0),
        "deleted rows came back"
    );
    // Staged rows are book rows and trades; compaction moved every one of them.
    assert_eq!(
        one(
            &writer,
            "SELECT (SELECT COUNT(*) FROM orderbook_events) + (SELECT COUNT(*) FROM trades)",
            []
        ),
        Some(left as i64)
    );
}

#[test]
fn time_and_level_queries_use_their_indices() {
    let dir = ScratchDir::new("time-index-plan");
    let store =
        SqliteStore::open_with(&dir.path().join("p.db"), Synchronous::Normal, 5000).unwrap();
    let plan = |sql: &str| -> String {
        let mut st = store
            .connection()
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .unwrap();
        let rows: Vec<String> = st
            .query_map([], |r| r.get::<_, String>(3))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        rows.join(" | ")
    };
    // The probes `SqliteStore` runs for a time cut (sqlite_read.rs), spelled with the schema's
    // sampling constant (a constant changed without a migration fails here), and the other
    // queries the module doc promises an index for.
    let every = TIME_SAMPLE_EVERY;
    let probe_le = format!(
        "SELECT seq FROM orderbook_events WHERE market_id = 1 AND seq % {every} = 0 AND recv_ns <= 5 ORDER BY recv_ns DESC, seq DESC LIMIT 1"
    );
    let probe_gt = format!(
        "SELECT seq FROM orderbook_events WHERE market_id = 1 AND seq % {every} = 0 AND recv_ns > 5 ORDER BY recv_ns, seq LIMIT 1"
    );
    for (sql, index) in [
        (probe_le.as_str(), "orderbook_events_market_ts_sampled"),
        (probe_gt.as_str(), "orderbook_events_market_ts_sampled"),
        (
            "SELECT seq FROM orderbook_events WHERE market_id = 1 AND seq >= 5 AND seq < 70 AND recv_ns <= 9 ORDER BY seq DESC LIMIT 1",
            "PRIMARY KEY",
        ),
        // (Covered: without `ANALYZE` statistics SQLite prefers the primary key's market range
        // to this index plus a key lookup per row when other columns are selected.)
        (
            "SELECT seq FROM orderbook_events WHERE market_id = 1 AND side = 0 AND price = 500000",
            "orderbook_events_market_side_price",
        ),
        (
            "SELECT seq FROM orderbook_events WHERE asset_id = 1 AND kind = 0 AND seq <= 9 ORDER BY seq DESC LIMIT 1",
            "orderbook_events_book_starts",
        ),
    ] {
        let p = plan(sql);
        assert!(p.contains(index), "{sql}\n  plan: {p}");
        assert!(!p.contains("SCAN orderbook_events"), "{sql}\n  plan: {p}");
    }
}

#[test]
fn trades_are_read_while_landed_and_move_with_compaction() {
    let dir = ScratchDir::new("time-index-trades");
    let mut store = registered_store(&dir.path().join("t.db"));
    let mut rng = StdRng::seed_from_u64(9);
    let mut t = T0;
    let batch = Batch {
        id: 2,
        rows: rows(&mut rng, 900, &mut t),
    };
    let written: usize = batch
        .rows
        .iter()
        .filter(|r| matches!(r, Row::Trade(_)))
        .count();
    store.write_batch(&batch).unwrap();
    let count = |store: &SqliteStore, table: &str| {
        one(store, &format!("SELECT COUNT(*) FROM {table}"), []).unwrap() as usize
    };
    let read = |store: &mut SqliteStore| -> usize {
        (1..=MARKETS as i64)
            .map(|m| store.trades(m, 0, u64::MAX, usize::MAX).unwrap().len())
            .sum()
    };
    assert!(written > 50, "{written} trades");
    assert_eq!(
        (count(&store, "trades_ingest"), count(&store, "trades")),
        (written, 0)
    );
    assert_eq!(read(&mut store), written, "landed trades are read");

    // One small book chunk still moves every landed trade.
    let (taken, dups) = store.compact(10).unwrap();
    assert_eq!((taken as usize, dups), (10 + written, 0));
    assert_eq!(
        (count(&store, "trades_ingest"), count(&store, "trades")),
        (0, written)
    );
    assert_eq!(read(&mut store), written, "compacted trades are read");
    // Their seqs interleave with the book rows' without a gap or a repeat.
    while store.compact(1_000).unwrap().0 > 0 {}
    assert_eq!(
        one(
            &store,
            "SELECT COUNT(*) FROM (SELECT market_id, seq FROM orderbook_events
                                   UNION SELECT market_id, seq FROM trades)",
            []
        ),
        Some(900)
    );
}

#[test]
fn a_compaction_hands_control_back_while_it_works_and_can_be_stopped() {
    let dir = ScratchDir::new("time-index-yield");
    let mut store = registered_store(&dir.path().join("y.db"));
    let mut rng = StdRng::seed_from_u64(11);
    let mut t = T0;
    for id in 2..12 {
        let batch = Batch {
            id,
            rows: rows(&mut rng, 2_000, &mut t),
        };
        store.write_batch(&batch).unwrap();
    }
    let staged = store.staged_rows().unwrap();
    let indexed = |store: &SqliteStore| {
        one(
            store,
            "SELECT (SELECT COUNT(*) FROM orderbook_events) + (SELECT COUNT(*) FROM trades)",
            [],
        )
        .unwrap()
    };

    // Stopped at the fifth call: rolled back, nothing moved, nothing lost.
    let mut calls = 0;
    let stopped = store
        .compact_yielding(usize::MAX, &mut || {
            calls += 1;
            if calls == 5 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .unwrap();
    assert_eq!((stopped, calls), (None, 5));
    assert_eq!((store.staged_rows().unwrap(), indexed(&store)), (staged, 0));

    let mut calls = 0;
    let (taken, _) = store
        .compact_yielding(usize::MAX, &mut || {
            calls += 1;
            ControlFlow::Continue(())
        })
        .unwrap()
        .unwrap();
    assert_eq!(taken, staged);
    assert_eq!(
        (store.staged_rows().unwrap(), indexed(&store)),
        (0, staged as i64)
    );
    // ~17 800 book rows in 64-row statements, a call every 16 of them.
    assert!((15..=20).contains(&calls), "{calls} calls");
}
