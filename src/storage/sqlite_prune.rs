//! `SqliteStore`'s deletes, run by retention: raw events once exported (dropping partitions
//! left empty), snapshots and batch records past their retention.

use rusqlite::{TransactionBehavior, params};

use super::error::StorageError;
use super::partitions;
use super::sqlite::SqliteStore;
use super::store::ExportRecord;

impl SqliteStore {
    pub(super) fn delete_events_through(
        &mut self,
        market_id: i64,
        through_seq: u64,
        export: &ExportRecord,
    ) -> Result<u64, StorageError> {
        let through = i64::try_from(through_seq).unwrap_or(i64::MAX);
        let big = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut n = 0;
        // Every row through `through_seq` was received by `last_recv_ns` (receive times are
        // non-decreasing in `seq` per market), so newer partitions are left alone.
        let newest_gone = big(export.last_recv_ns);
        for p in partitions::list(&tx)? {
            if !p.may_hold_before(newest_gone, false) {
                continue;
            }
            let gone = tx
                .prepare_cached(&format!(
                    "DELETE FROM {} WHERE market_id = ?1 AND seq <= ?2",
                    p.events()
                ))?
                .execute(params![market_id, through])?;
            if gone > 0 {
                partitions::record_deleted(&tx, p.part, gone as i64)?;
            }
            n += gone;
            n += tx
                .prepare_cached(&format!(
                    "DELETE FROM {} WHERE market_id = ?1 AND seq <= ?2",
                    p.trades()
                ))?
                .execute(params![market_id, through])?;
        }
        n += tx
            .prepare_cached("DELETE FROM orderbook_ingest WHERE market_id = ?1 AND seq <= ?2")?
            .execute(params![market_id, through])?;
        n += tx
            .prepare_cached("DELETE FROM trades_ingest WHERE market_id = ?1 AND seq <= ?2")?
            .execute(params![market_id, through])?;
        tx.prepare_cached(
            "INSERT INTO exports (market_id, first_seq, last_seq, rows, first_recv_ns, last_recv_ns, file, created_ns)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?
        .execute(params![
            export.market_id,
            big(export.first_seq),
            big(export.last_seq),
            big(export.rows),
            big(export.first_recv_ns),
            big(export.last_recv_ns),
            export.file,
            big(export.created_ns)
        ])?;
        tx.commit()?;
        self.staged_deleted_through(market_id, through);
        Ok(n as u64)
    }

    pub(super) fn drop_emptied_partitions(&mut self) -> Result<u64, StorageError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let n = partitions::drop_emptied(&tx)?;
        tx.commit()?;
        Ok(n)
    }

    pub(super) fn delete_snapshots_before(&mut self, cutoff_ns: u64) -> Result<u64, StorageError> {
        let cut = i64::try_from(cutoff_ns).unwrap_or(i64::MAX);
        let n = self.conn.execute(
            "DELETE FROM snapshots WHERE recv_ns < ?1
               AND seq < (SELECT MAX(s2.seq) FROM snapshots s2 WHERE s2.asset_id = snapshots.asset_id)",
            [cut],
        )?;
        Ok(n as u64)
    }

    pub(super) fn delete_batches_before(&mut self, cutoff_ns: u64) -> Result<u64, StorageError> {
        let cut = i64::try_from(cutoff_ns).unwrap_or(i64::MAX);
        let n = self.conn.execute(
            "DELETE FROM batches WHERE committed_ns < ?1 AND batch_id < (SELECT MAX(batch_id) FROM batches)",
            [cut],
        )?;
        Ok(n as u64)
    }
}
