//! The schema, as the ordered list of migrations that build it. A migration is never edited
//! once released: a change is a new entry at the end (see `migrations.rs` for how they run).
//!
//! Conventions every table follows (and the reasons):
//! - Prices, sizes and amounts are INTEGER micro-units (`0.514` → `514000`), never REAL: the
//!   stored value is the on-chain amount, exactly.
//! - `recv_ns` is the local receive time as UNIX nanoseconds (an INTEGER fits until 2262);
//!   `venue_ts_ms` is the venue's `timestamp` as sent (UNIX milliseconds, 0 when absent).
//! - Market-data tables refer to markets and assets by small surrogate keys (`market_id`,
//!   `asset_id`) instead of 66- and 77-character strings: hundreds of millions of rows stay
//!   compact. Trading tables (orders, fills, positions) are small and keep the venue's own keys
//!   (token id, order hash) so they can be read without joins during an incident.
//! - `side` is 0 for bids (venue `BUY`) and 1 for asks (venue `SELL`).
//! - Book events land in `orderbook_ingest` (append-only, no index: a 1000-row commit writes a
//!   few pages) and are moved into the indexed `orderbook_events` in large `(market_id, seq)`-
//!   sorted chunks by compaction; readers see both (see `storage` module doc, "Write path").
//!   Trades do the same through `trades_ingest` (v6).
//! - `orderbook_events` and `trades` are partitioned (v7): compaction fills one partition at a
//!   time, a pair of tables with the same columns and indices, registered in `event_partitions`
//!   (see `partitions.rs`). Partition 0 is the `orderbook_events` and `trades` tables themselves.
//! - `orderbook_events`' time index is sampled (every 64th `seq`, v5): a time is turned into a
//!   `seq` with one probe of it plus a short primary-key range scan.

/// One step of the schema.
pub struct Migration {
    pub version: u32,
    pub description: &'static str,
    pub sql: &'static str,
}

/// Every migration, oldest first; versions are 1, 2, 3… without gaps.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        description: "market data: markets, outcomes, orderbook_events, trades, snapshots",
        sql: V1_MARKET_DATA,
    },
    Migration {
        version: 2,
        description: "trading: orders, order_journal, fills, positions",
        sql: V2_TRADING,
    },
    Migration {
        version: 3,
        description: "operations: resyncs, rule_changes, batches, exports, 1-minute bars; markets.rule_hash",
        sql: V3_OPERATIONS,
    },
    Migration {
        version: 4,
        description: "catalog: markets.status and markets.catalog_json, market_changes",
        sql: V4_CATALOG,
    },
    Migration {
        version: 5,
        description: "orderbook_events: the (market_id, recv_ns) index keeps every 64th seq",
        sql: V5_SPARSE_TIME_INDEX,
    },
    Migration {
        version: 6,
        description: "trades_ingest: trades land unindexed and are compacted with book events",
        sql: V6_TRADES_INGEST,
    },
    Migration {
        version: 7,
        description: "event_partitions: orderbook_events and trades are split into row-count partitions",
        sql: V7_EVENT_PARTITIONS,
    },
];

/// The newest schema version this build writes.
pub const LATEST_VERSION: u32 = 7;

/// `orderbook_events` rows with `seq % TIME_SAMPLE_EVERY = 0` are in the time index
/// `orderbook_events_market_ts_sampled`. Queries spell the literal `seq % 64 = 0` (SQLite uses a
/// partial index only for a query whose WHERE contains the index's own term), so this constant
/// and the SQL below and in `sqlite_read.rs` change together, in a new migration.
pub const TIME_SAMPLE_EVERY: u64 = 64;

const _: () = assert!(MIGRATIONS.len() as u32 == LATEST_VERSION);

/// `orderbook_events.kind`: what one stored book event is.
pub mod kind {
    /// A venue `book` snapshot begins (`price` holds the tick size when the venue sent one).
    pub const BOOK_START: i64 = 0;
    /// One level of the snapshot that began at the latest `BOOK_START` of the asset.
    pub const BOOK_LEVEL: i64 = 1;
    /// A `price_change` entry: the new absolute size of a level (0 removes it).
    pub const CHANGE: i64 = 2;
    /// A `tick_size_change` (`price` holds the new tick).
    pub const TICK_SIZE: i64 = 3;
    /// The end of a venue event for the asset, stored on its own only when it could not be
    /// folded into the asset's previous row (see `flags::EVENT_END`).
    pub const EVENT_END: i64 = 4;
    /// A local invalidation of the book (reconnect, ring full, stale); `price` holds the reason
    /// code. Not venue data: never exported as a frame.
    pub const INVALIDATE: i64 = 5;
}

/// `orderbook_events.flags` bits.
pub mod flags {
    /// This row is the asset's last in its venue event: after applying it, compare the book with
    /// the claimed top in `best_bid`/`best_ask` (NULL = not claimed; 0 = side empty).
    pub const EVENT_END: i64 = 1;
}

const V1_MARKET_DATA: &str = r#"
CREATE TABLE schema_version (
    version     INTEGER PRIMARY KEY,
    applied_ns  INTEGER NOT NULL,
    description TEXT NOT NULL
);

CREATE TABLE markets (
    market_id          INTEGER PRIMARY KEY,
    condition_id       TEXT NOT NULL UNIQUE,
    question           TEXT,
    slug               TEXT,
    neg_risk           INTEGER NOT NULL DEFAULT 0,
    neg_risk_market_id TEXT,
    tick_size          INTEGER,
    min_order_size     INTEGER,
    active             INTEGER,
    closed             INTEGER,
    accepting_orders   INTEGER,
    end_date_ms        INTEGER,
    first_seen_ns      INTEGER NOT NULL,
    updated_ns         INTEGER NOT NULL
);

CREATE TABLE outcomes (
    asset_id      INTEGER PRIMARY KEY,
    token_id      TEXT NOT NULL UNIQUE,
    market_id     INTEGER NOT NULL REFERENCES markets(market_id),
    outcome       TEXT,
    outcome_index INTEGER,
    first_seen_ns INTEGER NOT NULL
);
CREATE INDEX outcomes_market ON outcomes(market_id);

CREATE TABLE orderbook_events (
    market_id   INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    asset_id    INTEGER NOT NULL,
    kind        INTEGER NOT NULL,
    side        INTEGER,
    price       INTEGER,
    size        INTEGER,
    best_bid    INTEGER,
    best_ask    INTEGER,
    flags       INTEGER NOT NULL DEFAULT 0,
    venue_ts_ms INTEGER NOT NULL,
    recv_ns     INTEGER NOT NULL,
    PRIMARY KEY (market_id, seq)
) WITHOUT ROWID;
CREATE INDEX orderbook_events_market_ts ON orderbook_events(market_id, recv_ns);
CREATE INDEX orderbook_events_market_side_price ON orderbook_events(market_id, side, price);
CREATE INDEX orderbook_events_book_starts ON orderbook_events(asset_id, seq) WHERE kind = 0;

CREATE TABLE orderbook_ingest (
    market_id   INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    asset_id    INTEGER NOT NULL,
    kind        INTEGER NOT NULL,
    side        INTEGER,
    price       INTEGER,
    size        INTEGER,
    best_bid    INTEGER,
    best_ask    INTEGER,
    flags       INTEGER NOT NULL DEFAULT 0,
    venue_ts_ms INTEGER NOT NULL,
    recv_ns     INTEGER NOT NULL
);

CREATE TABLE trades (
    market_id    INTEGER NOT NULL,
    seq          INTEGER NOT NULL,
    asset_id     INTEGER NOT NULL,
    side         INTEGER NOT NULL,
    price        INTEGER NOT NULL,
    size         INTEGER NOT NULL,
    fee_rate_bps INTEGER,
    venue_ts_ms  INTEGER NOT NULL,
    recv_ns      INTEGER NOT NULL,
    PRIMARY KEY (market_id, seq)
) WITHOUT ROWID;
CREATE INDEX trades_market_ts ON trades(market_id, recv_ns);
CREATE INDEX trades_asset_ts ON trades(asset_id, recv_ns);

CREATE TABLE snapshots (
    asset_id    INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    market_id   INTEGER NOT NULL,
    recv_ns     INTEGER NOT NULL,
    venue_ts_ms INTEGER NOT NULL,
    tick_size   INTEGER,
    state       INTEGER NOT NULL,
    reason      INTEGER,
    bid_levels  INTEGER NOT NULL,
    ask_levels  INTEGER NOT NULL,
    levels      BLOB NOT NULL,
    PRIMARY KEY (asset_id, seq)
) WITHOUT ROWID;
CREATE INDEX snapshots_ts ON snapshots(recv_ns);
"#;

const V2_TRADING: &str = r#"
CREATE TABLE orders (
    order_id     INTEGER PRIMARY KEY,
    order_hash   TEXT NOT NULL UNIQUE,
    plan_id      TEXT NOT NULL,
    client_oid   TEXT NOT NULL,
    token_id     TEXT NOT NULL,
    side         INTEGER NOT NULL,
    price        INTEGER NOT NULL,
    size         INTEGER NOT NULL,
    order_type   TEXT NOT NULL,
    status       TEXT NOT NULL,
    size_matched INTEGER NOT NULL DEFAULT 0,
    created_ns   INTEGER NOT NULL,
    updated_ns   INTEGER NOT NULL,
    UNIQUE (plan_id, client_oid)
);
CREATE INDEX orders_status ON orders(status, updated_ns);
CREATE INDEX orders_token ON orders(token_id, created_ns);

CREATE TABLE order_journal (
    journal_id INTEGER PRIMARY KEY,
    order_hash TEXT NOT NULL,
    plan_id    TEXT NOT NULL,
    client_oid TEXT NOT NULL,
    action     TEXT NOT NULL,
    detail     TEXT,
    recv_ns    INTEGER NOT NULL
);
CREATE INDEX order_journal_hash ON order_journal(order_hash, journal_id);

CREATE TABLE fills (
    fill_id       INTEGER PRIMARY KEY,
    trade_id      TEXT NOT NULL,
    order_hash    TEXT NOT NULL,
    token_id      TEXT NOT NULL,
    side          INTEGER NOT NULL,
    price         INTEGER NOT NULL,
    size          INTEGER NOT NULL,
    fee           INTEGER NOT NULL DEFAULT 0,
    trader_side   TEXT,
    status        TEXT NOT NULL,
    match_time_ms INTEGER,
    recv_ns       INTEGER NOT NULL,
    UNIQUE (trade_id, order_hash)
);
CREATE INDEX fills_order ON fills(order_hash);
CREATE INDEX fills_token_ts ON fills(token_id, recv_ns);

CREATE TABLE positions (
    token_id     TEXT PRIMARY KEY,
    size         INTEGER NOT NULL,
    cost         INTEGER NOT NULL,
    realized_pnl INTEGER NOT NULL,
    updated_ns   INTEGER NOT NULL
);
"#;

const V3_OPERATIONS: &str = r#"
ALTER TABLE markets ADD COLUMN rule_hash TEXT;

CREATE TABLE resyncs (
    resync_id INTEGER PRIMARY KEY,
    market_id INTEGER NOT NULL,
    asset_id  INTEGER NOT NULL,
    reason    TEXT NOT NULL,
    recv_ns   INTEGER NOT NULL
);
CREATE INDEX resyncs_asset_ts ON resyncs(asset_id, recv_ns);

CREATE TABLE rule_changes (
    change_id    INTEGER PRIMARY KEY,
    condition_id TEXT NOT NULL,
    old_hash     TEXT,
    new_hash     TEXT NOT NULL,
    detected_ns  INTEGER NOT NULL,
    acked_ns     INTEGER,
    detail       TEXT
);
CREATE INDEX rule_changes_market ON rule_changes(condition_id, detected_ns);

CREATE TABLE batches (
    batch_id     INTEGER PRIMARY KEY,
    rows         INTEGER NOT NULL,
    events       INTEGER NOT NULL,
    committed_ns INTEGER NOT NULL
);

CREATE TABLE exports (
    export_id     INTEGER PRIMARY KEY,
    market_id     INTEGER NOT NULL,
    first_seq     INTEGER NOT NULL,
    last_seq      INTEGER NOT NULL,
    rows          INTEGER NOT NULL,
    first_recv_ns INTEGER NOT NULL,
    last_recv_ns  INTEGER NOT NULL,
    file          TEXT NOT NULL UNIQUE,
    created_ns    INTEGER NOT NULL
);
CREATE INDEX exports_market ON exports(market_id, first_seq);

CREATE TABLE tob_bars_1m (
    asset_id  INTEGER NOT NULL,
    minute_ms INTEGER NOT NULL,
    market_id INTEGER NOT NULL,
    bid_open  INTEGER,
    bid_high  INTEGER,
    bid_low   INTEGER,
    bid_close INTEGER,
    ask_open  INTEGER,
    ask_high  INTEGER,
    ask_low   INTEGER,
    ask_close INTEGER,
    updates   INTEGER NOT NULL,
    PRIMARY KEY (asset_id, minute_ms)
) WITHOUT ROWID;

CREATE TABLE trade_bars_1m (
    asset_id    INTEGER NOT NULL,
    minute_ms   INTEGER NOT NULL,
    market_id   INTEGER NOT NULL,
    open        INTEGER NOT NULL,
    high        INTEGER NOT NULL,
    low         INTEGER NOT NULL,
    close       INTEGER NOT NULL,
    volume      INTEGER NOT NULL,
    notional    INTEGER NOT NULL,
    buy_volume  INTEGER NOT NULL,
    sell_volume INTEGER NOT NULL,
    trades      INTEGER NOT NULL,
    PRIMARY KEY (asset_id, minute_ms)
) WITHOUT ROWID;
"#;

/// The catalog's view of a market (`status`: open/closed/resolved; `catalog_json`: the whole
/// normalized market, so a restart diffs against what was stored) and the log of what each
/// refresh found changed (`kind`: new, changed, closed, resolved; `fields`: comma-separated).
const V4_CATALOG: &str = r#"
ALTER TABLE markets ADD COLUMN status TEXT;
ALTER TABLE markets ADD COLUMN catalog_json TEXT;

CREATE TABLE market_changes (
    change_id    INTEGER PRIMARY KEY,
    condition_id TEXT NOT NULL,
    kind         TEXT NOT NULL,
    fields       TEXT,
    detected_ns  INTEGER NOT NULL
);
CREATE INDEX market_changes_market ON market_changes(condition_id, detected_ns);
"#;

/// The time index of `orderbook_events` becomes sampled: every 64th `seq` of a market instead of
/// every row. `recv_ns` is non-decreasing in `seq` per market (enforced at ingest), so "the last
/// row at or before T" is one probe of the sampled index (the newest sample at or before T and
/// the oldest after it) and a primary-key range scan between the two: at most 63 rows more in
/// the usual case, bounded by the gap between samples in any case. Maintaining it costs a 64th of
/// the full index (measured ~4 300 of ~24 000 instructions per compacted row for the full one).
/// The same idea as a BRIN index in PostgreSQL.
const V5_SPARSE_TIME_INDEX: &str = r#"
DROP INDEX orderbook_events_market_ts;
CREATE INDEX orderbook_events_market_ts_sampled ON orderbook_events(market_id, recv_ns) WHERE seq % 64 = 0;
"#;

/// Trades land like book events: in a table with no key or index, moved into `trades` (sorted by
/// `(market_id, seq)`) by each compaction. Inserted straight into `trades`, a batch's trades (one
/// row in ten at flood rate, spread over every market) dirtied nearly every leaf of `trades` and
/// of both its indices, and the WAL takes each dirty page whole: measured in `polyarb flood` at
/// 200k changes/s, a 4000-row commit grew from 1.7 MB of WAL to 15 MB as the table reached 200k
/// trades, most of the writer's I/O.
const V6_TRADES_INGEST: &str = r#"
CREATE TABLE trades_ingest (
    market_id    INTEGER NOT NULL,
    seq          INTEGER NOT NULL,
    asset_id     INTEGER NOT NULL,
    side         INTEGER NOT NULL,
    price        INTEGER NOT NULL,
    size         INTEGER NOT NULL,
    fee_rate_bps INTEGER,
    venue_ts_ms  INTEGER NOT NULL,
    recv_ns      INTEGER NOT NULL
);
"#;

/// `orderbook_events` and `trades` become the first of a series of partitions: compaction fills
/// the newest one until it holds `partition_rows` book rows, then creates the next
/// (`orderbook_events_p1` and `trades_p1`, …, same columns and indices; `partitions.rs` holds
/// that DDL). Each compaction rewrites nearly every leaf of the indices it inserts into (one
/// insertion point per price level of every market in `(market_id, side, price)`, one per
/// market or asset in the others), so its cost grew with the whole table; now it grows only
/// with one partition. Retention drops a partition once every row in it has been exported,
/// instead of deleting it row by row. `rows` (book rows), `min_recv_ns` and `max_recv_ns` are
/// kept by the writer (`rows` also by retention); the receive-time bounds let readers skip
/// partitions.
const V7_EVENT_PARTITIONS: &str = r#"
CREATE TABLE event_partitions (
    part        INTEGER PRIMARY KEY,
    created_ns  INTEGER NOT NULL,
    rows        INTEGER NOT NULL,
    min_recv_ns INTEGER,
    max_recv_ns INTEGER
);
INSERT INTO event_partitions (part, created_ns, rows, min_recv_ns, max_recv_ns)
    SELECT 0, 0, (SELECT COUNT(*) FROM orderbook_events), MIN(recv_ns), MAX(recv_ns)
    FROM (SELECT recv_ns FROM orderbook_events UNION ALL SELECT recv_ns FROM trades);
"#;
