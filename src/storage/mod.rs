//! Storage: the event-sourced record of everything the engine saw and did, on a cold thread.
//!
//! Owns the schema and its migrations, the batch writer thread and its metrics and health
//! flags, book snapshots and rebuilds, one-minute aggregates, and retention (export to zstd
//! frames files, then delete). SQLite (bundled, WAL, `synchronous=NORMAL` by default) is the
//! backend today; everything above the `EventStore` trait is backend-neutral.
//!
//! # How the pipeline uses it
//! ```text
//! let clock = WallClock::anchor(obs::clock::now_ns());          // once: monotonic -> UNIX ns
//! let (writer, tx) = WriterHandle::spawn(&storage_cfg)?;        // opens + migrates, starts the thread
//! tx.try_send(StorageEvent::RegisterAsset(..));                 // once per asset, before its events
//! if let Some(ev) = StorageEvent::from_market_msg(&msg, clock.wall_ns(recv_ns)) {
//!     tx.try_send(ev)                                           // never blocks; Err(ev) = channel
//! }                                                             //   full, counted: mark the asset
//!                                                               //   RingFull / send a Resync later
//! writer.health().trading_ok()                                  // strategies halt while false
//! writer.metrics().snapshot()                                   // queue depth, batch latency, drops
//! writer.flush(timeout)?                                        // durability barrier (also
//! tx.flush(timeout)?                                            //   from a producer: the order journal)
//! writer.shutdown()?                                            // drain, snapshot, commit, compact, join
//! ```
//!
//! # Write path
//! A batch (`batch_rows` rows or `batch_ms`, one `BEGIN IMMEDIATE` transaction, cached prepared
//! statements) appends its book events to `orderbook_ingest`, a table with no index, so a commit
//! rewrites a handful of pages. The same rows inserted straight into the indexed
//! `orderbook_events` make every commit rewrite one leaf per market in each index (SQLite's WAL
//! logs whole pages): with 100 interleaved markets and 1000-row batches that measured ~1 000
//! WAL frames (4 MB) per commit and an order of magnitude fewer rows per second. Compaction then
//! moves up to `compact_rows` landed rows at a time into `orderbook_events` sorted by
//! `(market_id, seq)`, so every index receives long runs; it runs on the writer thread between
//! batches (and at start-up and shutdown). The store keeps a copy of the rows it landed
//! (`compact.rs`, up to 262 144 rows): compaction sorts that copy in memory (a counting sort by
//! market: a market's rows are landed in `seq` order) and binds it 64 rows per statement;
//! rows it does not hold (left by a crash, or landed past its cap during a long burst) are read
//! back from the table, oldest first, and take the same path. Between insert statements the
//! compaction hands control back to the writer, which drains its channel into memory, so a
//! long compaction delays commits but never fills the hot path's channel. Readers
//! (`EventStore` reads, rebuilds, retention, stats) look at both tables; a market's landed rows
//! always follow its compacted ones. Trades land the same way, in `trades_ingest`, and each
//! compaction moves all of them into `trades` (schema v6: at flood rate they are one row in
//! ten, spread over every market, and inserted straight into `trades` they made each commit
//! rewrite nearly every leaf of it and its two indices). Snapshots and trading rows are rare
//! and go straight to their indexed tables. Each commit also records its batch id and row
//! counts in `batches`, which is what crash tests check.
//!
//! What was measured and kept. Instructions per row come from callgrind on `polyarb db bench`
//! (200k rows over 100 markets; deterministic, so they hold on the shared 2-core machine where
//! wall and even on-CPU times moved ±30% between runs); on-CPU time from the thread's own clock:
//! - Before (v4 schema, SQL compaction): ~26 000 instructions per row, of which landing ~5 300
//!   and compaction ~20 500 (SQLite's sorter ~3 000; the full `(market_id, recv_ns)` index
//!   ~4 300; `(market_id, side, price)` ~5 500; the primary key and per-statement overhead the
//!   rest). ~260k rows/s sustained, ~350k per CPU-second on a quiet core.
//! - Now: ~16 100 per row (landing ~5 100, compaction ~10 700): compaction from the in-memory
//!   copy (no sorter, no read-back: −4 000 with the sort in Rust), 64-row statements (one
//!   statement per row opened and closed a cursor on every B-tree: −2 800; landing shares
//!   them, about even there: an unindexed append has one cursor), and the sampled
//!   time index (v5: the `(market_id, recv_ns)` index holds every 64th `seq`; a time cut is two
//!   probes of it plus a primary-key range of ~64 rows: −3 700). Figures in BENCHMARKS.md.
//! - Compaction chunks of 200k rows (`compact_rows`), not 50k: a chunk dirties nearly every
//!   leaf of every index and the WAL takes each dirty 64 KiB page whole (checksummed, written,
//!   later copied back by the checkpointer), so fewer, larger chunks rewrite each leaf fewer
//!   times. `db bench` sustained 463–483k rows/s with 50k chunks and 528–534k with 200k (four
//!   runs each, minutes apart); 250k gave 532–538k. In the flood (500 markets) compaction fell
//!   from ~2.4 to ~1.75 µs/row on-CPU. With SQL compaction (sorter and read-back) larger
//!   chunks had measured no better: the per-row work then hid the per-chunk rewrite. 200k stays
//!   under the in-memory copy's 262 144 rows, so a chunk is taken from the copy.
//! - Kept from before: 64 KiB pages for new databases (`sqlite.rs`, ~25% less compaction CPU
//!   than 4 KiB); the landing table emptied with a `DELETE` without `WHERE` (SQLite's truncate
//!   path) when a chunk takes all of it (now also when a chunk takes exactly what is landed);
//!   WAL checkpoints on their own thread and connection (`checkpoint.rs`), because an automatic
//!   checkpoint inside a commit copied and synced up to 64 MB and held single 1000-row commits
//!   for 250 ms.
//! - Kept: compaction yields to the feed. A chunk runs only if the writer's channel can absorb
//!   what arrives while it runs (measured arrival rate × measured ns per compacted row, against
//!   a quarter of the free room); under a burst the rows stay landed — committed, durable and
//!   readable — and are indexed when the burst eases, unless `max_staged_rows` have piled up
//!   (readers scan the landing table, so it is bounded). A burst costs indexing latency, not
//!   events. Compaction also waits while the measured arrival rate × (landing + compaction
//!   wall ns per event) would keep the writer over 75% busy: in `polyarb flood` at 200k
//!   changes/s on 2 cores, compacting beside the burst needed ~1.3 cores for the writer and
//!   the channel overflowed whenever a chunk lost its core; landing alone keeps up.
//! - One-minute bars are merged at most every `bars_every_ms` (1 s), not with every batch: at
//!   full feed rate a merge per batch was one upsert per two book rows (~30% of the writer's
//!   rows in the flood).
//! - Tried and dropped: time partitions whose secondary indices are built by `CREATE INDEX` when
//!   sealed (measured again for `(market_id, side, price)`: 0.55–0.6 µs/row on-CPU against
//!   0.45–0.5 incremental: SQLite's `CREATE INDEX` scans, sorts and re-encodes every row, so it
//!   is no cheaper than sorted incremental inserts; partitions would bound the working set of
//!   very large tables, not the CPU per row); an explicit rowid for landed rows (+25%
//!   instructions: SQLite checks it for a conflict; the copy instead derives rowids from
//!   `last_insert_rowid()`, consecutive within a transaction); 16/32 KiB pages (same
//!   instructions); earlier: a larger page cache (256 MiB: no change, the working set fits in
//!   32 MiB at these sizes), compaction chunks of 20k (worse), a rowid table with an integer
//!   `(market_id << 40 | seq)` key (no better), `SQLITE_DEFAULT_MEMSTATUS=0` (noise).
//! - Partitions (schema v7, `partitions.rs`): the cost per compacted row grew with the indexed
//!   tables, because a chunk dirties nearly every leaf of the `(market_id, side, price)` index
//!   (one insertion point per level of every market; for trades, one per market or asset in each
//!   index) and the WAL rewrites each 64 KiB page: in `polyarb flood` at 200k changes/s,
//!   1.65 µs/row on-CPU at 2M rows, 2.4 at 8M (a C model of this compaction: 1.30 up to 1M
//!   rows, 1.71–1.91 up to 4M). Compaction now fills one partition of `partition_rows` book rows
//!   at a time, a pair of tables (`orderbook_events_p{k}`, `trades_p{k}`) with all their
//!   indices, maintained incrementally (nothing is built when a partition is sealed): 1.30 µs/row
//!   over a 120 s flood of 32.6M rows, every event stored (with one table, 40 s refused 2,444
//!   events and 60 s 37.8k). 1M book rows per partition measured better than 2M (60 s flood,
//!   book partitions only: 1.2k refused against 9.2k, compaction 1.33 against 1.64 µs/row); trades
//!   partitioned too took a 90 s flood's compaction from 42–44 s to 33 s (moving trades had grown
//!   to 15 µs per trade, rewriting the three `trades` indices each time; moving them less often,
//!   every 50k, did not help). Readers walk the partitions newest first (the last row before a
//!   time, the first partition of a range) and skip those whose receive-time bounds exclude the
//!   time; `tests/engine/storage_time_index.rs` checks them against full scans over many partitions.
//! - Left: a landed row still costs ~5 000 instructions (binding 12 values and appending a
//!   record), the primary key and `(market_id, side, price)` inserts ~9 000 between them,
//!   a third of which is B-tree rebalancing of pages in the middle of the tree (each market's
//!   rows are appended inside the tree, never at its right edge).
//!
//! # Tables
//! | table | what | kept |
//! |---|---|---|
//! | `markets`, `outcomes` | conditions and their outcome tokens, surrogate keys for market data | always |
//! | `orderbook_events` (partitions `orderbook_events_p{k}` listed in `event_partitions`, + `orderbook_ingest`, its landing table) | every book event: venue snapshots (start + levels), level changes, tick-size changes, event ends with the venue's claimed top, local invalidations; `seq` per market, venue ts (ms), receive time (ns) | `raw_event_days` (7–14), then exported |
//! | `trades` (partitions `trades_p{k}`, + `trades_ingest`, its landing table) | `last_trade_price` prints, same `seq` sequence as the book events | as raw events |
//! | `snapshots` | an asset's whole book every `snapshot_every_events` events or `snapshot_every_ms` | `snapshot_days`, newest per asset always |
//! | `tob_bars_1m`, `trade_bars_1m` | per-asset one-minute top-of-book and trade bars | always |
//! | `orders`, `order_journal`, `fills`, `positions` | our trading: orders by hash, what we did with each (journaled before sending), fills with status, inventory | always |
//! | `resyncs`, `rule_changes` | book invalidations and their reasons; resolution-rule changes and acks | always |
//! | `market_changes` | what each catalog refresh found new, changed (which fields), closed or resolved | always |
//! | `batches`, `exports`, `schema_version` | one row per committed batch (durability audit), exported files, applied migrations | events' window / always |
//!
//! # Indices, and the queries that need them
//! Each `orderbook_events` and `trades` index below exists once per partition (`partitions.rs`);
//! a query by market walks the partitions from the newest, each probe one B-tree descent.
//! - `orderbook_events` primary key `(market_id, seq)` (the plan's `(market_id, seq)`): reading a
//!   market's stream in order (rebuild, export) and resuming `seq` after a restart. The table is
//!   `WITHOUT ROWID`, so the table *is* this B-tree: no separate rowid tree to maintain.
//! - `(market_id, recv_ns) WHERE seq % 64 = 0` (the plan's `(market_id, ts)`, sampled since
//!   v5): turning a time into a `seq` cut for `db book --at`, retention's per-market cutoff,
//!   `db stats` rates. `recv_ns` is made non-decreasing per market at ingest, so the newest row at
//!   or before T lies between the newest sample at or before T and the oldest sample after it:
//!   two probes of this index and a backward primary-key range scan (~64 rows; longer only where
//!   trades took the sampled `seq` values). A time range of a market is the `seq` range between
//!   two such cuts. The oldest row of a market (retention's "anything older than the cutoff?")
//!   is the first of its primary-key range. Indexing every row cost ~17% of the write path.
//! - `(market_id, side, price)` (the plan's): the history of one price level (when did liquidity
//!   appear or vanish at 0.52) for research; no engine path reads it. It is the most expensive
//!   index to maintain (inserts land at random positions); the insert benchmark includes it.
//!   Without `ANALYZE` statistics SQLite prefers the primary key's market range to this index
//!   when the query selects columns the index lacks (`size`), so the writer refreshes the
//!   planner's statistics when it stops and after each prune (`EventStore::optimize`: SQLite's
//!   `PRAGMA optimize` over every table, sampling at most 400 rows per index: ~3 ms on 200k
//!   rows); a database never closed by the writer can run `ANALYZE` once.
//! - partial `(asset_id, seq) WHERE kind = 0`: the newest venue `book` of an asset, the rebuild
//!   base when no snapshot is newer; only snapshot-start rows are indexed (a few per thousand),
//!   so it costs almost nothing on insert.
//! - `trades`: `(market_id, seq)` as above, `(market_id, recv_ns)` for cuts and retention,
//!   `(asset_id, recv_ns)` for an asset's trade history.
//! - `snapshots` primary key `(asset_id, seq)`: the newest snapshot at or before a `seq` is one
//!   probe; `(recv_ns)` for retention.
//! - `outcomes(token_id)` unique (token → keys), `outcomes(market_id)` (a market's assets for
//!   export); `markets(condition_id)` unique.
//! - `orders`: `order_hash` unique (the venue's order id: look up after a timeout before any
//!   retry), `(plan_id, client_oid)` unique (idempotency: a second insert is refused),
//!   `(status, updated_ns)` (open orders to reconcile at start-up), `(token_id, created_ns)`.
//! - `order_journal(order_hash, journal_id)`: the story of one order in order. `fills`:
//!   `(trade_id, order_hash)` unique (one venue trade can fill several of our orders; the same fill
//!   with a new status updates it), `(order_hash)`, `(token_id, recv_ns)` (inventory rebuild).
//! - `resyncs(asset_id, recv_ns)`, `rule_changes(condition_id, detected_ns)`,
//!   `exports(market_id, first_seq)`; bars are keyed `(asset_id, minute_ms)`.
//!
//! # PostgreSQL / TimescaleDB mapping (for the production backend)
//! - Types: INTEGER → `BIGINT` (every stored integer is checked to fit `i64` before it is
//!   written); micro-unit prices/sizes/amounts stay `BIGINT` (never `NUMERIC` floats, never
//!   `REAL`); TEXT → `TEXT` (token ids could be `NUMERIC(78,0)`, but text keeps the venue's
//!   spelling); BLOB → `BYTEA`; 0/1 flags → `BOOLEAN`; `*_ns`/`*_ms` stay `BIGINT` (add a
//!   generated `timestamptz` column for humans if wanted). `INTEGER PRIMARY KEY` surrogate keys →
//!   `BIGINT GENERATED ALWAYS AS IDENTITY`.
//! - `orderbook_events`, `trades`, `snapshots`: TimescaleDB hypertables on `recv_ns` (integer time
//!   dimension, `chunk_time_interval` one day = 86 400 000 000 000 ns), optionally space-partitioned
//!   by `market_id`; a hypertable's unique keys must contain the time column, so the primary keys
//!   become `(market_id, seq, recv_ns)` / `(asset_id, seq, recv_ns)`. Native compression after a
//!   day with `segmentby = market_id`, `orderby = seq`. Retention becomes chunk-aligned: export a
//!   chunk's rows, then `drop_chunks` (instead of row `DELETE`s). On plain PostgreSQL: declarative
//!   range partitioning on `recv_ns`, one partition a day, detached and dropped after export.
//!   SQLite's row-count partitions (`event_partitions`) exist for its page-logging WAL; they are
//!   the stand-in for these time chunks, not a one-to-one map (`event_partitions` has no
//!   PostgreSQL counterpart).
//! - Bars: hypertables on `minute_ms`; TimescaleDB continuous aggregates could compute them from
//!   the raw tables instead, but the writer-side bars keep both backends identical.
//! - Trading and catalog tables stay ordinary tables with the same keys; the upserts already use
//!   the `INSERT … ON CONFLICT … DO UPDATE` and `RETURNING` syntax PostgreSQL shares.
//! - Indices carry over as written, including the partial `(asset_id, seq) WHERE kind = 0`;
//!   `WITHOUT ROWID` has no equivalent (heap + B-tree). The sampled time index is SQLite's
//!   stand-in for what PostgreSQL does natively: on a hypertable chunk ordered by `recv_ns` a
//!   BRIN index on `(market_id, recv_ns)` (or the plain B-tree, cheap there because PostgreSQL's
//!   WAL logs tuples, not pages) answers the same cut; the `seq % 64 = 0` predicate and the
//!   two-probe query stay valid SQL on PostgreSQL if kept as they are.
//! - Write path: one transaction per batch as here, rows sent with binary `COPY` rather than
//!   row-by-row inserts, straight into the hypertable: PostgreSQL's WAL logs tuples, not whole
//!   pages, so the `*_ingest` tables and compaction have no counterpart there (`compact` is a
//!   no-op, `staged_rows` is 0); `synchronous_commit = off` gives the same "a crash loses the last
//!   commits, never corrupts" durability as WAL + `synchronous=NORMAL`.
//! - `seq` stays assigned by the single writer (per market, resumed from `MAX(seq)`); several
//!   writers would take a per-market advisory lock.

pub mod bars;
pub mod batch;
pub mod checkpoint;
mod compact;
pub mod config;
pub mod error;
pub mod event;
pub mod export;
pub mod handle;
pub mod ingest;
pub mod metrics;
pub mod migrations;
mod partitions;
pub mod rebuild;
mod recorder;
pub mod retention;
pub mod schema;
pub mod snapshots;
pub mod sqlite;
mod sqlite_catalog;
mod sqlite_prune;
mod sqlite_read;
mod sqlite_stats;
mod sqlite_trading;
pub mod store;
pub mod time;
mod writer;

pub use config::{RetentionConfig, StorageConfig, Synchronous};
pub use error::{FailureKind, RowError, StorageError};
pub use event::{
    AssetRegistration, BookChange, BookEvent, FillRecord, JournalEntry, MarketRecord, OrderRecord,
    OrderUpdate, OutcomeRecord, PositionRecord, ResyncEvent, RuleAck, RuleChangeRecord,
    StorageEvent, TradeEvent,
};
pub use handle::{StorageSender, WriterHandle};
pub use metrics::{CommitNotice, MetricsSnapshot, StorageHealth, WriterMetrics};
pub use rebuild::{RebuildError, RebuiltBook, rebuild_at};
pub use retention::{PruneReport, Pruner};
pub use sqlite::SqliteStore;
pub use sqlite_catalog::{CatalogRow, MarketChangeRow, StoredCatalogMarket, StoredRuleChange};
pub use sqlite_stats::TABLES;
pub use store::{EventStore, StoreStats};
