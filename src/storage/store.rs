//! The storage boundary: what the engine asks of a database, whatever the database is.
//!
//! The writer thread, the book rebuild, retention and `db stats` use only this trait, so a
//! PostgreSQL/TimescaleDB backend (see the mapping in `storage`'s module doc) can be added
//! beside `SqliteStore` without touching them or the pipeline. A store is owned by one thread
//! at a time (`Send`, not `Sync`): the writer owns the write connection; readers open their own.

use crate::core::TokenId;
use std::ops::ControlFlow;

use super::batch::{Batch, BatchOutcome, StoredBookRow, StoredSnapshot, StoredTrade};
use super::error::StorageError;

/// An outcome token as stored, with its market.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssetRecord {
    pub asset_id: i64,
    pub market_id: i64,
    pub token_id: String,
    pub condition_id: String,
    pub outcome: Option<String>,
}

/// A market that has raw events older than a cutoff.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MarketRef {
    pub market_id: i64,
    pub condition_id: String,
}

/// One exported file of aged-out events: a contiguous `seq` range of one market.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportRecord {
    pub market_id: i64,
    pub first_seq: u64,
    pub last_seq: u64,
    pub rows: u64,
    pub first_recv_ns: u64,
    pub last_recv_ns: u64,
    /// The file name inside the export directory.
    pub file: String,
    pub created_ns: u64,
}

/// Row counts of one table.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TableCount {
    pub table: String,
    pub rows: u64,
}

/// Event counts and rates of one market.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct MarketActivity {
    pub market_id: i64,
    pub condition_id: String,
    pub events: u64,
    pub trades: u64,
    pub first_recv_ns: u64,
    pub last_recv_ns: u64,
    /// Book events in the last hour before the newest stored event.
    pub events_last_hour: u64,
}

/// What `polyarb db stats` shows.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct StoreStats {
    pub schema_version: u32,
    pub tables: Vec<TableCount>,
    /// How many tables `orderbook_events` is split into (its row count is their sum).
    pub event_partitions: u64,
    /// The main database file plus its WAL.
    pub db_bytes: u64,
    pub wal_bytes: u64,
    pub oldest_event_ns: Option<u64>,
    pub newest_event_ns: Option<u64>,
    pub last_batch_id: u64,
    pub markets: Vec<MarketActivity>,
}

/// A database the engine can record into and read back from.
pub trait EventStore: Send {
    /// `sqlite`, `postgres`…
    fn backend(&self) -> &'static str;

    /// Writes every row of the batch in one transaction, with the batch recorded in `batches`.
    /// Rows the database refuses one by one (duplicates, bad values) are skipped and returned in
    /// the outcome; any other failure rolls the whole batch back and returns the error, leaving
    /// the store's sequence counters as they were (so the same batch can be retried).
    fn write_batch(&mut self, batch: &Batch) -> Result<BatchOutcome, StorageError>;

    /// Moves up to `max_rows` of the oldest landed book events (and the landed trades) into
    /// the indexed tables (see "Write path" in the module doc). Returns (rows moved, duplicates
    /// dropped).
    fn compact(&mut self, max_rows: usize) -> Result<(u64, u64), StorageError> {
        let done = self.compact_yielding(max_rows, &mut || ControlFlow::Continue(()))?;
        Ok(done.unwrap_or((0, 0)))
    }

    /// `compact`, calling `between` every few thousand rows while it works (never inside a
    /// database call): the writer drains its channel there. `Break` rolls the compaction back
    /// (`None`: nothing moved) so that something more urgent can be committed first.
    fn compact_yielding(
        &mut self,
        max_rows: usize,
        between: &mut dyn FnMut() -> ControlFlow<()>,
    ) -> Result<Option<(u64, u64)>, StorageError>;

    /// Book events and trades landed but not yet compacted.
    fn staged_rows(&mut self) -> Result<u64, StorageError>;

    /// The highest committed batch id (0 for none).
    fn last_batch_id(&mut self) -> Result<u64, StorageError>;

    /// The database file a second connection can checkpoint, if the backend has a WAL to
    /// checkpoint (see `checkpoint.rs`).
    fn wal_database(&self) -> Option<(std::path::PathBuf, super::config::Synchronous)> {
        None
    }

    /// Refreshes the query planner's statistics where the backend keeps them (SQLite:
    /// `PRAGMA optimize`; PostgreSQL's autovacuum does it on its own). Cheap: sampled.
    fn optimize(&mut self) -> Result<(), StorageError> {
        Ok(())
    }

    /// Caps the database size (0 = no cap); writes beyond it fail as `Full`.
    fn set_size_limit(&mut self, bytes: u64) -> Result<(), StorageError>;

    /// The stored asset of a token id.
    fn asset(&mut self, token: &TokenId) -> Result<Option<AssetRecord>, StorageError>;

    /// The stored assets of a market.
    fn market_assets(&mut self, market_id: i64) -> Result<Vec<AssetRecord>, StorageError>;

    /// The last book-event `seq` of a market received at or before `at_ns`.
    fn seq_at(&mut self, market_id: i64, at_ns: u64) -> Result<Option<u64>, StorageError>;

    /// The newest snapshot of an asset with `seq <= max_seq`.
    fn latest_snapshot(
        &mut self,
        asset_id: i64,
        max_seq: u64,
    ) -> Result<Option<StoredSnapshot>, StorageError>;

    /// The `seq` of the newest venue `book` of an asset with `seq <= max_seq`.
    fn latest_book_start(
        &mut self,
        asset_id: i64,
        max_seq: u64,
    ) -> Result<Option<u64>, StorageError>;

    /// Book events of a market with `from_seq <= seq <= to_seq`, in `seq` order, optionally of
    /// one asset only, at most `limit`.
    fn book_rows(
        &mut self,
        market_id: i64,
        asset_id: Option<i64>,
        from_seq: u64,
        to_seq: u64,
        limit: usize,
    ) -> Result<Vec<StoredBookRow>, StorageError>;

    /// Trades of a market with `from_seq <= seq <= to_seq`, in `seq` order, at most `limit`.
    fn trades(
        &mut self,
        market_id: i64,
        from_seq: u64,
        to_seq: u64,
        limit: usize,
    ) -> Result<Vec<StoredTrade>, StorageError>;

    /// Markets with book events or trades received before `cutoff_ns`.
    fn markets_with_events_before(
        &mut self,
        cutoff_ns: u64,
    ) -> Result<Vec<MarketRef>, StorageError>;

    /// The highest `seq` (book events and trades) of a market received before `cutoff_ns`.
    fn last_seq_before(
        &mut self,
        market_id: i64,
        cutoff_ns: u64,
    ) -> Result<Option<u64>, StorageError>;

    /// Deletes a market's book events and trades with `seq <= through_seq` and records the
    /// export that holds them, atomically; the export's `last_recv_ns` is the latest receive
    /// time among them (a backend may skip storage holding only later rows). Returns the rows
    /// deleted.
    fn delete_events_through(
        &mut self,
        market_id: i64,
        through_seq: u64,
        export: &ExportRecord,
    ) -> Result<u64, StorageError>;

    /// Drops the storage a retention delete emptied (whole time partitions, where the backend
    /// has them); returns how many partitions went.
    fn drop_emptied_partitions(&mut self) -> Result<u64, StorageError> {
        Ok(0)
    }

    /// Deletes snapshots older than `cutoff_ns`, except each asset's newest (the base of its
    /// current book). Returns the rows deleted.
    fn delete_snapshots_before(&mut self, cutoff_ns: u64) -> Result<u64, StorageError>;

    /// Deletes `batches` bookkeeping rows committed before `cutoff_ns`.
    fn delete_batches_before(&mut self, cutoff_ns: u64) -> Result<u64, StorageError>;

    /// Every recorded export.
    fn exports(&mut self) -> Result<Vec<ExportRecord>, StorageError>;

    fn stats(&mut self) -> Result<StoreStats, StorageError>;
}
