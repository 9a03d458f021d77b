//! Versioned migrations: bring any database this project ever wrote up to `LATEST_VERSION`.
//!
//! The version is the highest row of `schema_version` (0 for an empty file). Each migration runs
//! in its own `BEGIN IMMEDIATE` transaction together with the row that records it, so a crash
//! mid-upgrade leaves the previous version intact and the next open simply retries. A database
//! newer than this build is refused rather than written with an older idea of the schema.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use super::error::StorageError;
use super::schema::{LATEST_VERSION, MIGRATIONS};
use super::time::unix_now_ns;

/// What an upgrade did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MigrationReport {
    pub from: u32,
    pub to: u32,
}

/// The schema version of an open database (0 when it has no schema yet).
pub fn current_version(conn: &Connection) -> Result<u32, StorageError> {
    let has_table: Option<String> = conn
        .query_row(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    if has_table.is_none() {
        return Ok(0);
    }
    let v: Option<i64> =
        conn.query_row("SELECT MAX(version) FROM schema_version", [], |r| r.get(0))?;
    let v = v.unwrap_or(0);
    u32::try_from(v).map_err(|_| StorageError::BadStoredData(format!("schema version {v}")))
}

/// Upgrades to the newest version.
pub fn migrate(conn: &mut Connection) -> Result<MigrationReport, StorageError> {
    migrate_to(conn, LATEST_VERSION)
}

/// Upgrades to `target` (older targets exist for the upgrade tests).
pub fn migrate_to(conn: &mut Connection, target: u32) -> Result<MigrationReport, StorageError> {
    let from = current_version(conn)?;
    if from > LATEST_VERSION {
        return Err(StorageError::SchemaTooNew {
            found: from,
            known: LATEST_VERSION,
        });
    }
    for m in MIGRATIONS
        .iter()
        .filter(|m| m.version > from && m.version <= target)
    {
        let fail = |e: rusqlite::Error| match StorageError::from(e) {
            // A lock or a full disk is reported as such: the operator's fix is not a code fix.
            e @ (StorageError::Locked(_) | StorageError::Full(_) | StorageError::Io(_)) => e,
            e => StorageError::Migration {
                version: m.version,
                message: e.to_string(),
            },
        };
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fail)?;
        tx.execute_batch(m.sql).map_err(fail)?;
        tx.execute(
            "INSERT INTO schema_version (version, applied_ns, description) VALUES (?1, ?2, ?3)",
            rusqlite::params![m.version, unix_now_ns() as i64, m.description],
        )
        .map_err(fail)?;
        tx.commit().map_err(fail)?;
    }
    Ok(MigrationReport {
        from,
        to: current_version(conn)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use testkit::ScratchDir;

    /// The schema as SQLite stores it, for comparing two databases.
    fn schema_of(conn: &Connection) -> Vec<(String, String, Option<String>)> {
        let mut st = conn
            .prepare(
                "SELECT type, name, sql FROM sqlite_master \
                 WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name",
            )
            .unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    /// Rows that each version's tables can hold, written while the database is at that version.
    fn seed(conn: &Connection, version: u32) {
        if version >= 1 {
            conn.execute_batch(
                "INSERT INTO markets (market_id, condition_id, first_seen_ns, updated_ns) VALUES (1, '0xabc', 1, 1);
                 INSERT INTO outcomes (asset_id, token_id, market_id, first_seen_ns) VALUES (1, '42', 1, 1);
                 INSERT INTO orderbook_events (market_id, seq, asset_id, kind, side, price, size, venue_ts_ms, recv_ns)
                   VALUES (1, 1, 1, 2, 0, 500000, 1000000, 5, 6);",
            )
            .unwrap();
        }
        if version >= 2 {
            conn.execute_batch(
                "INSERT INTO orders (order_hash, plan_id, client_oid, token_id, side, price, size,
                   order_type, status, created_ns, updated_ns)
                 VALUES ('0x01', 'p', 'c', '42', 0, 500000, 5000000, 'GTC', 'LIVE', 1, 1);",
            )
            .unwrap();
        }
    }

    #[test]
    fn empty_and_every_older_version_upgrade_to_the_newest() {
        let dir = ScratchDir::new("migrations");
        let fresh_path = dir.path().join("fresh.db");
        let mut fresh = Connection::open(&fresh_path).unwrap();
        let r = migrate(&mut fresh).unwrap();
        assert_eq!(
            r,
            MigrationReport {
                from: 0,
                to: LATEST_VERSION
            }
        );
        let want = schema_of(&fresh);
        assert!(want.iter().any(|(_, n, _)| n == "orderbook_events"));

        for start in 0..LATEST_VERSION {
            let path = dir.path().join(format!("v{start}.db"));
            let mut conn = Connection::open(&path).unwrap();
            migrate_to(&mut conn, start).unwrap();
            assert_eq!(current_version(&conn).unwrap(), start);
            seed(&conn, start);
            drop(conn);

            let mut conn = Connection::open(&path).unwrap();
            let r = migrate(&mut conn).unwrap();
            assert_eq!(
                r,
                MigrationReport {
                    from: start,
                    to: LATEST_VERSION
                },
                "from v{start}"
            );
            assert_eq!(
                schema_of(&conn),
                want,
                "schema after upgrading from v{start}"
            );
            let versions: Vec<i64> = conn
                .prepare("SELECT version FROM schema_version ORDER BY version")
                .unwrap()
                .query_map([], |r| r.get(0))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            assert_eq!(
                versions,
                (1..=i64::from(LATEST_VERSION)).collect::<Vec<_>>()
            );
            // Data written under the old version survives, and new columns read as NULL.
            if start >= 1 {
                let (cid, hash): (String, Option<String>) = conn
                    .query_row("SELECT condition_id, rule_hash FROM markets", [], |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    })
                    .unwrap();
                assert_eq!((cid.as_str(), hash), ("0xabc", None));
                let n: i64 = conn
                    .query_row("SELECT COUNT(*) FROM orderbook_events", [], |r| r.get(0))
                    .unwrap();
                assert_eq!(n, 1);
            }
            if start >= 2 {
                let n: i64 = conn
                    .query_row("SELECT COUNT(*) FROM orders", [], |r| r.get(0))
                    .unwrap();
                assert_eq!(n, 1);
            }
            // v7: what was there is partition 0, counted, with its receive-time bounds.
            let part0: (i64, i64, Option<i64>, Option<i64>) = conn
                .query_row(
                    "SELECT part, rows, min_recv_ns, max_recv_ns FROM event_partitions",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                .unwrap();
            let want = if start >= 1 {
                (0, 1, Some(6), Some(6))
            } else {
                (0, 0, None, None)
            };
            assert_eq!(part0, want, "from v{start}");
            // v5: the full time index is gone, the sampled one holds the rows whose seq is a
            // multiple of 64 (the seeded row, seq 1, is not one of them).
            let indices: Vec<String> = conn
                .prepare("SELECT name FROM pragma_index_list('orderbook_events') ORDER BY name")
                .unwrap()
                .query_map([], |r| r.get(0))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            assert!(
                indices
                    .iter()
                    .any(|n| n == "orderbook_events_market_ts_sampled")
                    && !indices.iter().any(|n| n == "orderbook_events_market_ts"),
                "from v{start}: {indices:?}"
            );
            if start >= 1 {
                conn.execute_batch(
                    "INSERT INTO orderbook_events (market_id, seq, asset_id, kind, venue_ts_ms, recv_ns)
                       VALUES (1, 64, 1, 5, 7, 8);",
                )
                .unwrap();
                let sampled: Vec<i64> = conn
                    .prepare(
                        "SELECT seq FROM orderbook_events INDEXED BY orderbook_events_market_ts_sampled
                         WHERE market_id = 1 AND seq % 64 = 0 AND recv_ns >= 0",
                    )
                    .unwrap()
                    .query_map([], |r| r.get(0))
                    .unwrap()
                    .map(Result::unwrap)
                    .collect();
                assert_eq!(sampled, vec![64], "from v{start}");
                conn.execute_batch("DELETE FROM orderbook_events WHERE seq = 64")
                    .unwrap();
            }
            // Upgrading again is a no-op.
            assert_eq!(
                migrate(&mut conn).unwrap(),
                MigrationReport {
                    from: LATEST_VERSION,
                    to: LATEST_VERSION
                }
            );
        }
    }

    #[test]
    fn newer_database_is_refused() {
        let dir = ScratchDir::new("migrations-newer");
        let mut conn = Connection::open(dir.path().join("x.db")).unwrap();
        migrate(&mut conn).unwrap();
        conn.execute(
            "INSERT INTO schema_version VALUES (?1, 0, 'from the future')",
            [LATEST_VERSION + 1],
        )
        .unwrap();
        match migrate(&mut conn) {
            Err(StorageError::SchemaTooNew { found, known }) => {
                assert_eq!((found, known), (LATEST_VERSION + 1, LATEST_VERSION));
            }
            other => panic!("expected SchemaTooNew, got {other:?}"),
        }
    }

    #[test]
    fn a_failed_migration_leaves_the_previous_version() {
        let dir = ScratchDir::new("migrations-fail");
        let mut conn = Connection::open(dir.path().join("x.db")).unwrap();
        migrate_to(&mut conn, 2).unwrap();
        // A table v3 wants to create already exists: v3 fails as a whole.
        conn.execute_batch("CREATE TABLE resyncs (x INTEGER)")
            .unwrap();
        let e = migrate(&mut conn).unwrap_err();
        assert!(
            matches!(e, StorageError::Migration { version: 3, .. }),
            "{e}"
        );
        assert_eq!(current_version(&conn).unwrap(), 2);
        // markets.rule_hash (also part of v3) was rolled back with it.
        let cols: Vec<String> = conn
            .prepare("SELECT name FROM pragma_table_info('markets')")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert!(!cols.iter().any(|c| c == "rule_hash"));
    }
}
