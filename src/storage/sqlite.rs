//! `SqliteStore`: the SQLite backend of `EventStore` (bundled SQLite, WAL): opening and
//! configuring a connection, and the write path (one `BEGIN IMMEDIATE` transaction per batch,
//! cached prepared statements, per-market `seq` assigned as rows are written).
//!
//! Catalog and trading rows are written by `sqlite_trading.rs` and `sqlite_catalog.rs`; the
//! `EventStore` implementation below hands reads to `sqlite_read.rs`, retention's deletes to
//! `sqlite_prune.rs` and `db stats` to `sqlite_stats.rs`.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use rusqlite::{
    Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior, params,
};
use rustc_hash::FxHashMap;

use crate::core::{AssetIndex, TokenId};

use super::batch::{
    Batch, BatchOutcome, BookRow, ResyncRow, Row, SnapshotRow, StoredBookRow, StoredSnapshot,
    StoredTrade, TobBar, TradeBar, TradeRow, side_code,
};
use super::compact::{self, BOOK_COLS, LandedRow, PartitionTarget, StagedMirror};
use super::config::{StorageConfig, Synchronous};
use super::error::{Failure, MAX_ID_LEN, MAX_LABEL_LEN, RowError, StorageError, check_len, to_i64};
use super::event::AssetRegistration;
use super::migrations;
use super::schema::flags;
use super::snapshots::encode_levels;
use super::sqlite_trading as trading;
use super::store::{AssetRecord, EventStore, ExportRecord, MarketRef, StoreStats};
use super::time::unix_now_ns;

/// SQLite's default page-count ceiling: "no budget".
const NO_PAGE_LIMIT: u64 = 4_294_967_294;

/// Page size of a new database opened without a configuration (`[storage] page_size` chooses
/// it otherwise; an existing database keeps its own: SQLite cannot change it in WAL mode).
/// 64 KiB, SQLite's largest, measured against 4 KiB and 16 KiB on the compaction of 300k
/// book rows (100 and 500 interleaved markets, on-CPU): 2.6–2.9 µs/row against 3.3–4.1 (4 KiB)
/// and 2.9 (16 KiB). Fewer, wider B-tree levels mean fewer page visits per index insert, and a
/// compaction dirties each index leaf once however large it is. The cost is WAL bytes per small
/// commit (a journal entry rewrites a few 64 KiB pages, tens of µs), which nothing waits on.
const DEFAULT_PAGE_SIZE: u32 = 65_536;

/// The writer connection's own automatic checkpoint, a backstop behind the checkpoint thread
/// (`checkpoint.rs`): only a WAL this many pages long (256 MiB at 64 KiB) is checkpointed
/// inside a commit.
pub const WRITER_AUTOCHECKPOINT_PAGES: u32 = 4096;

/// An asset this connection has mapped to its stored keys.
#[derive(Clone, Debug)]
pub(super) struct AssetMap {
    pub asset_id: i64,
    pub market: usize,
    pub token: TokenId,
}

/// A market's stored key and the next `seq` to assign.
#[derive(Clone, Debug)]
pub(super) struct MarketSeq {
    pub market_id: i64,
    pub next_seq: u64,
    /// Receive times are kept non-decreasing per market, so `seq` order is time order and a
    /// time cut is a `seq` cut.
    pub last_recv_ns: u64,
    /// The batch that last changed this entry (for undo on rollback).
    touched_by: u64,
}

/// The SQLite store.
pub struct SqliteStore {
    pub(super) conn: Connection,
    path: PathBuf,
    assets: Vec<Option<AssetMap>>,
    markets: Vec<MarketSeq>,
    market_by_condition: FxHashMap<String, usize>,
    /// The landed rows compaction will take next (see `compact.rs`).
    mirror: StagedMirror,
    /// The current batch's book rows, landed together at its end.
    landing: Vec<LandedRow>,
    /// The partition compaction fills (see `partitions.rs`).
    target: PartitionTarget,
    page_size: u64,
    synchronous: Synchronous,
}

/// What to undo in the caches when a batch rolls back.
#[derive(Default)]
struct Undo {
    batch: u64,
    markets_len: usize,
    seqs: Vec<(usize, u64, u64)>,
    new_assets: Vec<AssetIndex>,
}

impl SqliteStore {
    /// Opens (creating if needed) and migrates the database of a configuration, and applies
    /// its durability, lock-wait and size settings.
    pub fn open(cfg: &StorageConfig) -> Result<Self, StorageError> {
        let mut s = Self::open_paged(
            &cfg.path,
            cfg.synchronous,
            cfg.busy_timeout_ms,
            cfg.page_size,
        )?;
        s.target.rows_each = cfg.partition_rows;
        if cfg.max_db_bytes > 0 {
            use super::store::EventStore;
            s.set_size_limit(cfg.max_db_bytes)?;
        }
        Ok(s)
    }

    /// Opens with explicit settings (tools and tests); a new database gets 64 KiB pages.
    pub fn open_with(
        path: &Path,
        synchronous: Synchronous,
        busy_timeout_ms: u64,
    ) -> Result<Self, StorageError> {
        Self::open_paged(path, synchronous, busy_timeout_ms, DEFAULT_PAGE_SIZE)
    }

    /// Opens with explicit settings; `page_size` applies only if the database is new.
    pub fn open_paged(
        path: &Path,
        synchronous: Synchronous,
        busy_timeout_ms: u64,
        page_size: u32,
    ) -> Result<Self, StorageError> {
        let open_err = |message: String| StorageError::Open {
            path: path.to_path_buf(),
            message,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| open_err(e.to_string()))?;
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn =
            Connection::open_with_flags(path, flags).map_err(|e| open_err(e.to_string()))?;
        conn.busy_timeout(std::time::Duration::from_millis(busy_timeout_ms))?;
        // Must precede the first write (the switch to WAL writes the header); a no-op later.
        conn.execute_batch(&format!("PRAGMA page_size = {page_size};"))?;
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(open_err(format!(
                "cannot switch to WAL (journal_mode is {mode})"
            )));
        }
        conn.execute_batch(&format!(
            "PRAGMA synchronous = {};
             PRAGMA foreign_keys = ON;
             PRAGMA temp_store = MEMORY;
             PRAGMA cache_size = -32768;
             PRAGMA wal_autocheckpoint = {WRITER_AUTOCHECKPOINT_PAGES};",
            synchronous.pragma_value()
        ))?;
        // Readers prepare a few statements per `orderbook_events` partition.
        conn.set_prepared_statement_cache_capacity(256);
        migrations::migrate(&mut conn)?;
        let page_size: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
        let mirror = StagedMirror::open(&conn)?;
        let target = PartitionTarget {
            newest: super::partitions::newest(&conn)?,
            rows_each: StorageConfig::default().partition_rows,
        };
        Ok(Self {
            mirror,
            target,
            landing: Vec::new(),
            conn,
            path: path.to_path_buf(),
            assets: Vec::new(),
            markets: Vec::new(),
            market_by_condition: FxHashMap::default(),
            page_size: page_size.max(512) as u64,
            synchronous,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The book-event and trade tables of every `orderbook_events` partition, oldest first
    /// (tools and checks that read them with their own SQL).
    pub fn partition_tables(&self) -> Result<Vec<(String, String)>, StorageError> {
        Ok(super::partitions::list(&self.conn)?
            .iter()
            .map(|p| (p.events(), p.trades()))
            .collect())
    }

    /// The underlying connection (checks and tools: `PRAGMA integrity_check`, ad-hoc reads).
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    pub(super) fn page_size(&self) -> u64 {
        self.page_size
    }

    pub(super) fn synchronous(&self) -> Synchronous {
        self.synchronous
    }

    /// Moves up to `max_rows` of the oldest landed book events into `orderbook_events`, sorted
    /// by `(market_id, seq)` so each index receives long runs, in one transaction (see
    /// `compact.rs`). Rows whose `(market_id, seq)` is already there are dropped and counted (a
    /// duplicate can only come from outside this writer).
    pub(super) fn compact_impl(
        &mut self,
        max_rows: usize,
        between: &mut dyn FnMut() -> ControlFlow<()>,
    ) -> Result<Option<(u64, u64)>, StorageError> {
        compact::compact(
            &mut self.conn,
            &mut self.mirror,
            &mut self.target,
            max_rows,
            between,
        )
    }

    /// Drops a committed retention delete's rows from the landing table's mirror.
    pub(super) fn staged_deleted_through(&mut self, market_id: i64, through_seq: i64) {
        self.mirror.deleted_through(market_id, through_seq);
    }

    pub(super) fn write_batch_impl(&mut self, batch: &Batch) -> Result<BatchOutcome, StorageError> {
        let Self {
            conn,
            assets,
            markets,
            market_by_condition,
            mirror,
            landing,
            ..
        } = self;
        let mut undo = Undo {
            batch: batch.id,
            markets_len: markets.len(),
            ..Undo::default()
        };
        let mut caches = Caches {
            assets,
            markets,
            market_by_condition,
        };
        landing.clear();
        let result = write_rows(conn, batch, &mut caches, &mut undo, landing);
        match &result {
            Ok(_) => mirror.landed(landing),
            Err(_) => caches.undo(&undo),
        }
        result
    }
}

/// The connection's mappings, borrowed apart from the connection.
struct Caches<'a> {
    assets: &'a mut Vec<Option<AssetMap>>,
    markets: &'a mut Vec<MarketSeq>,
    market_by_condition: &'a mut FxHashMap<String, usize>,
}

impl Caches<'_> {
    fn undo(&mut self, u: &Undo) {
        for &(i, next, last) in u.seqs.iter().rev() {
            if let Some(m) = self.markets.get_mut(i) {
                m.next_seq = next;
                m.last_recv_ns = last;
                m.touched_by = 0;
            }
        }
        self.markets.truncate(u.markets_len);
        let n = u.markets_len;
        self.market_by_condition.retain(|_, &mut i| i < n);
        for a in &u.new_assets {
            if let Some(slot) = self.assets.get_mut(a.get()) {
                *slot = None;
            }
        }
    }

    fn asset(&self, a: AssetIndex) -> Result<&AssetMap, RowError> {
        self.assets
            .get(a.get())
            .and_then(Option::as_ref)
            .ok_or(RowError::Unregistered(a.0))
    }

    /// Assigns the next `seq` of the asset's market and the row's (non-decreasing) time.
    fn next_seq(
        &mut self,
        a: AssetIndex,
        recv_ns: u64,
        undo: &mut Undo,
    ) -> Result<(i64, i64, u64, u64), RowError> {
        let map = self.asset(a)?;
        let (asset_id, mi) = (map.asset_id, map.market);
        let m = &mut self.markets[mi];
        if m.touched_by != undo.batch || undo.batch == 0 {
            undo.seqs.push((mi, m.next_seq, m.last_recv_ns));
            m.touched_by = undo.batch;
        }
        let seq = m.next_seq;
        m.next_seq += 1;
        m.last_recv_ns = m.last_recv_ns.max(recv_ns);
        Ok((m.market_id, asset_id, seq, m.last_recv_ns))
    }
}

const INSERT_TRADE: &str = "INSERT INTO trades_ingest \
    (market_id, seq, asset_id, side, price, size, fee_rate_bps, venue_ts_ms, recv_ns) \
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";

fn write_rows(
    conn: &mut Connection,
    batch: &Batch,
    caches: &mut Caches<'_>,
    undo: &mut Undo,
    land: &mut Vec<LandedRow>,
) -> Result<BatchOutcome, StorageError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut out = BatchOutcome::default();
    let mut events = 0u64;
    {
        let mut trade = tx.prepare_cached(INSERT_TRADE)?;
        for row in &batch.rows {
            let r = match row {
                Row::Book(b) => write_book(land, b, caches, undo),
                Row::Trade(t) => write_trade(&mut trade, t, caches, undo),
                other => write_other(&tx, other, caches, undo),
            };
            match r {
                Ok(()) => {
                    out.written += 1;
                    if row.is_market_data() {
                        events += 1;
                    }
                }
                Err(Failure::Row(e)) => out.rejected.push(e),
                Err(Failure::Batch(e)) => return Err(e),
            }
        }
    }
    // Book rows land together at the end, in their order, with multi-row statements. The ingest
    // table has no key or constraint a valid row can break: any error here is the database's
    // (lock, full disk, I/O) and fails the batch.
    compact::land_rows(&tx, land)?;
    tx.prepare_cached(
        "INSERT INTO batches (batch_id, rows, events, committed_ns) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![
        to_i64("batch_id", batch.id).map_err(|e| StorageError::Sqlite(e.to_string()))?,
        out.written as i64,
        events as i64,
        unix_now_ns() as i64
    ])?;
    tx.commit()?;
    Ok(out)
}

fn write_book(
    land: &mut Vec<LandedRow>,
    b: &BookRow,
    caches: &mut Caches<'_>,
    undo: &mut Undo,
) -> Result<(), Failure> {
    let (side, price, size) = b.kind.columns();
    let size = size.map(|s| to_i64("size", s)).transpose()?;
    let venue_ts = to_i64("venue_ts_ms", b.venue_ts_ms)?;
    to_i64("recv_ns", b.recv_ns)?;
    let (market_id, asset_id, seq, recv_ns) = caches.next_seq(b.asset, b.recv_ns, undo)?;
    let (flags, best_bid, best_ask) = match b.end {
        Some(c) => (
            flags::EVENT_END,
            c.bid.map(|p| i64::from(p.0)),
            c.ask.map(|p| i64::from(p.0)),
        ),
        None => (0, None, None),
    };
    let cols: [Option<i64>; BOOK_COLS] = [
        Some(market_id),
        Some(seq as i64),
        Some(asset_id),
        Some(b.kind.code()),
        side,
        price,
        size,
        best_bid,
        best_ask,
        Some(flags),
        Some(venue_ts),
        Some(recv_ns as i64),
    ];
    land.push(LandedRow::new(0, cols)); // the rowid is known once landed
    Ok(())
}

fn write_trade(
    st: &mut rusqlite::CachedStatement<'_>,
    t: &TradeRow,
    caches: &mut Caches<'_>,
    undo: &mut Undo,
) -> Result<(), Failure> {
    let size = to_i64("size", t.size.0)?;
    let venue_ts = to_i64("venue_ts_ms", t.venue_ts_ms)?;
    to_i64("recv_ns", t.recv_ns)?;
    let (market_id, asset_id, seq, recv_ns) = caches.next_seq(t.asset, t.recv_ns, undo)?;
    st.execute(params![
        market_id,
        seq as i64,
        asset_id,
        side_code(t.side),
        i64::from(t.price.0),
        size,
        t.fee_rate_bps.map(i64::from),
        venue_ts,
        recv_ns as i64
    ])?;
    Ok(())
}

fn write_other(
    tx: &Transaction<'_>,
    row: &Row,
    caches: &mut Caches<'_>,
    undo: &mut Undo,
) -> Result<(), Failure> {
    match row {
        Row::Asset(r) => register(tx, r, caches, undo),
        Row::Snapshot(s) => write_snapshot(tx, s, caches),
        Row::Resync(r) => write_resync(tx, r, caches),
        Row::Market(m) => trading::upsert_market(tx, m),
        Row::Order(o) => trading::insert_order(tx, o),
        Row::OrderUpdate(u) => trading::update_order(tx, u),
        Row::Journal(j) => trading::insert_journal(tx, j),
        Row::Fill(f) => trading::upsert_fill(tx, f),
        Row::Position(p) => trading::upsert_position(tx, p),
        Row::RuleChange(r) => trading::insert_rule_change(tx, r),
        Row::RuleAck(a) => trading::ack_rule_change(tx, a),
        Row::TobBar(b) => upsert_tob_bar(tx, b, caches),
        Row::TradeBar(b) => upsert_trade_bar(tx, b, caches),
        Row::Book(_) | Row::Trade(_) => Err(Failure::Row(RowError::Invalid(
            "market-data row on the generic path".into(),
        ))),
    }
}

/// Maps an asset index to stored market and outcome keys, creating them if new.
fn register(
    tx: &Transaction<'_>,
    r: &AssetRegistration,
    caches: &mut Caches<'_>,
    undo: &mut Undo,
) -> Result<(), Failure> {
    check_len("condition_id", &r.condition_id, MAX_ID_LEN)?;
    if r.condition_id.is_empty() {
        return Err(RowError::Invalid("empty condition_id".into()).into());
    }
    if let Some(o) = &r.outcome {
        check_len("outcome", o, MAX_LABEL_LEN)?;
    }
    if let Some(Some(existing)) = caches.assets.get(r.asset.get()) {
        return if existing.token == r.token {
            Ok(())
        } else {
            Err(RowError::Invalid(format!(
                "asset index {} already registered as another token",
                r.asset.0
            ))
            .into())
        };
    }
    let market = ensure_market(tx, &r.condition_id, caches)?;
    let market_id = caches.markets[market].market_id;
    let token = r.token.to_string();
    let now = unix_now_ns() as i64;
    let found: Option<(i64, i64)> = tx
        .prepare_cached("SELECT asset_id, market_id FROM outcomes WHERE token_id = ?1")?
        .query_row([&token], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    let asset_id = match found {
        Some((_, m)) if m != market_id => {
            return Err(
                RowError::Invalid(format!("token {token} is stored under another market")).into(),
            );
        }
        Some((id, _)) => {
            if r.outcome.is_some() {
                tx.prepare_cached(
                    "UPDATE outcomes SET outcome = ?2, outcome_index = COALESCE(?3, outcome_index) WHERE asset_id = ?1",
                )?
                .execute(params![id, r.outcome, r.outcome_index])?;
            }
            id
        }
        None => {
            tx.prepare_cached(
                "INSERT INTO outcomes (token_id, market_id, outcome, outcome_index, first_seen_ns) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![token, market_id, r.outcome, r.outcome_index, now])?;
            tx.last_insert_rowid()
        }
    };
    let i = r.asset.get();
    if caches.assets.len() <= i {
        caches.assets.resize(i + 1, None);
    }
    caches.assets[i] = Some(AssetMap {
        asset_id,
        market,
        token: r.token,
    });
    undo.new_assets.push(r.asset);
    Ok(())
}

/// The cache slot of a market, creating its row and reading its last `seq` on first use.
fn ensure_market(
    tx: &Transaction<'_>,
    condition_id: &str,
    caches: &mut Caches<'_>,
) -> Result<usize, Failure> {
    if let Some(&i) = caches.market_by_condition.get(condition_id) {
        return Ok(i);
    }
    let now = unix_now_ns() as i64;
    let existing: Option<i64> = tx
        .prepare_cached("SELECT market_id FROM markets WHERE condition_id = ?1")?
        .query_row([condition_id], |r| r.get(0))
        .optional()?;
    let market_id = match existing {
        Some(id) => id,
        None => {
            tx.prepare_cached(
                "INSERT INTO markets (condition_id, first_seen_ns, updated_ns) VALUES (?1, ?2, ?2)",
            )?
            .execute(params![condition_id, now])?;
            tx.last_insert_rowid()
        }
    };
    // Once per market per connection; the ingest table is small (compaction keeps it so).
    let (mut seq, mut recv): (i64, i64) = tx
        .prepare_cached(
            "SELECT MAX(COALESCE((SELECT MAX(seq) FROM orderbook_ingest WHERE market_id = ?1), 0),
                        COALESCE((SELECT MAX(seq) FROM trades_ingest WHERE market_id = ?1), 0)),
                    MAX(COALESCE((SELECT MAX(recv_ns) FROM orderbook_ingest WHERE market_id = ?1), 0),
                        COALESCE((SELECT MAX(recv_ns) FROM trades_ingest WHERE market_id = ?1), 0))",
        )?
        .query_row([market_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    // The market's newest book row (and trade) is in the newest partition that has any of its
    // rows, and holds its latest receive time (non-decreasing in `seq`).
    let parts = super::partitions::list(tx)?;
    for table in [
        super::partitions::Partition::events,
        super::partitions::Partition::trades,
    ] {
        for p in parts.iter().rev() {
            let last: Option<(i64, i64)> = tx
                .prepare_cached(&format!(
                    "SELECT seq, recv_ns FROM {} WHERE market_id = ?1 ORDER BY seq DESC LIMIT 1",
                    table(p)
                ))?
                .query_row([market_id], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            if let Some((s, r)) = last {
                seq = seq.max(s);
                recv = recv.max(r);
                break;
            }
        }
    }
    // Retention may have deleted a market's newest events only if they aged out together with
    // the exported range; the exports remember the highest seq ever assigned.
    let exported: i64 = tx
        .prepare_cached("SELECT COALESCE(MAX(last_seq), 0) FROM exports WHERE market_id = ?1")?
        .query_row([market_id], |r| r.get(0))?;
    let i = caches.markets.len();
    caches.markets.push(MarketSeq {
        market_id,
        next_seq: seq.max(exported).max(0) as u64 + 1,
        last_recv_ns: recv.max(0) as u64,
        touched_by: 0,
    });
    caches
        .market_by_condition
        .insert(condition_id.to_string(), i);
    Ok(i)
}

fn write_snapshot(
    tx: &Transaction<'_>,
    s: &SnapshotRow,
    caches: &mut Caches<'_>,
) -> Result<(), Failure> {
    let map = caches.asset(s.asset)?;
    let m = &caches.markets[map.market];
    // The snapshot covers every row of its market written so far, and is as old as the last.
    let seq = m.next_seq.saturating_sub(1);
    let recv_ns = m.last_recv_ns;
    let (state, reason) = s.book.state.columns();
    tx.prepare_cached(
        "INSERT OR REPLACE INTO snapshots \
         (asset_id, seq, market_id, recv_ns, venue_ts_ms, tick_size, state, reason, bid_levels, ask_levels, levels) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        map.asset_id,
        seq as i64,
        m.market_id,
        to_i64("recv_ns", recv_ns)?,
        to_i64("venue_ts_ms", s.venue_ts_ms)?,
        s.book.tick.map(|t| i64::from(t.micros())),
        state,
        reason,
        s.book.bids.len() as i64,
        s.book.asks.len() as i64,
        encode_levels(&s.book)
    ])?;
    Ok(())
}

fn write_resync(
    tx: &Transaction<'_>,
    r: &ResyncRow,
    caches: &mut Caches<'_>,
) -> Result<(), Failure> {
    let map = caches.asset(r.asset)?;
    let market_id = caches.markets[map.market].market_id;
    tx.prepare_cached(
        "INSERT INTO resyncs (market_id, asset_id, reason, recv_ns) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![
        market_id,
        map.asset_id,
        r.reason.as_str(),
        to_i64("recv_ns", r.recv_ns)?
    ])?;
    Ok(())
}

fn upsert_tob_bar(
    tx: &Transaction<'_>,
    b: &TobBar,
    caches: &mut Caches<'_>,
) -> Result<(), Failure> {
    let map = caches.asset(b.asset)?;
    let market_id = caches.markets[map.market].market_id;
    let p = |o: Option<super::batch::Ohlc>, f: fn(&super::batch::Ohlc) -> u32| {
        o.map(|o| i64::from(f(&o)))
    };
    tx.prepare_cached(
        "INSERT INTO tob_bars_1m (asset_id, minute_ms, market_id, bid_open, bid_high, bid_low, bid_close,
             ask_open, ask_high, ask_low, ask_close, updates)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
         ON CONFLICT(asset_id, minute_ms) DO UPDATE SET
             bid_open = COALESCE(tob_bars_1m.bid_open, excluded.bid_open),
             bid_high = MAX(COALESCE(tob_bars_1m.bid_high, excluded.bid_high), COALESCE(excluded.bid_high, tob_bars_1m.bid_high)),
             bid_low = MIN(COALESCE(tob_bars_1m.bid_low, excluded.bid_low), COALESCE(excluded.bid_low, tob_bars_1m.bid_low)),
             bid_close = COALESCE(excluded.bid_close, tob_bars_1m.bid_close),
             ask_open = COALESCE(tob_bars_1m.ask_open, excluded.ask_open),
             ask_high = MAX(COALESCE(tob_bars_1m.ask_high, excluded.ask_high), COALESCE(excluded.ask_high, tob_bars_1m.ask_high)),
             ask_low = MIN(COALESCE(tob_bars_1m.ask_low, excluded.ask_low), COALESCE(excluded.ask_low, tob_bars_1m.ask_low)),
             ask_close = COALESCE(excluded.ask_close, tob_bars_1m.ask_close),
             updates = tob_bars_1m.updates + excluded.updates",
    )?
    .execute(params![
        map.asset_id,
        to_i64("minute_ms", b.minute_ms)?,
        market_id,
        p(b.bid, |o| o.open.0),
        p(b.bid, |o| o.high.0),
        p(b.bid, |o| o.low.0),
        p(b.bid, |o| o.close.0),
        p(b.ask, |o| o.open.0),
        p(b.ask, |o| o.high.0),
        p(b.ask, |o| o.low.0),
        p(b.ask, |o| o.close.0),
        to_i64("updates", b.updates)?
    ])?;
    Ok(())
}

fn upsert_trade_bar(
    tx: &Transaction<'_>,
    b: &TradeBar,
    caches: &mut Caches<'_>,
) -> Result<(), Failure> {
    let map = caches.asset(b.asset)?;
    let market_id = caches.markets[map.market].market_id;
    tx.prepare_cached(
        "INSERT INTO trade_bars_1m (asset_id, minute_ms, market_id, open, high, low, close, volume,
             notional, buy_volume, sell_volume, trades)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
         ON CONFLICT(asset_id, minute_ms) DO UPDATE SET
             high = MAX(trade_bars_1m.high, excluded.high),
             low = MIN(trade_bars_1m.low, excluded.low),
             close = excluded.close,
             volume = trade_bars_1m.volume + excluded.volume,
             notional = trade_bars_1m.notional + excluded.notional,
             buy_volume = trade_bars_1m.buy_volume + excluded.buy_volume,
             sell_volume = trade_bars_1m.sell_volume + excluded.sell_volume,
             trades = trade_bars_1m.trades + excluded.trades",
    )?
    .execute(params![
        map.asset_id,
        to_i64("minute_ms", b.minute_ms)?,
        market_id,
        i64::from(b.price.open.0),
        i64::from(b.price.high.0),
        i64::from(b.price.low.0),
        i64::from(b.price.close.0),
        to_i64("volume", b.volume.0)?,
        to_i64("notional", b.notional)?,
        to_i64("buy_volume", b.buy_volume.0)?,
        to_i64("sell_volume", b.sell_volume.0)?,
        to_i64("trades", b.trades)?
    ])?;
    Ok(())
}

/// The page-count budget for a byte budget (0 = none).
pub(super) fn page_limit(bytes: u64, page_size: u64) -> u64 {
    if bytes == 0 {
        NO_PAGE_LIMIT
    } else {
        bytes.div_ceil(page_size).clamp(1, NO_PAGE_LIMIT)
    }
}

impl EventStore for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn write_batch(&mut self, batch: &Batch) -> Result<BatchOutcome, StorageError> {
        self.write_batch_impl(batch)
    }

    fn compact_yielding(
        &mut self,
        max_rows: usize,
        between: &mut dyn FnMut() -> ControlFlow<()>,
    ) -> Result<Option<(u64, u64)>, StorageError> {
        self.compact_impl(max_rows, between)
    }

    fn staged_rows(&mut self) -> Result<u64, StorageError> {
        SqliteStore::staged_rows(self)
    }

    fn last_batch_id(&mut self) -> Result<u64, StorageError> {
        SqliteStore::last_batch_id(self)
    }

    fn wal_database(&self) -> Option<(std::path::PathBuf, super::config::Synchronous)> {
        Some((self.path().to_path_buf(), self.synchronous()))
    }

    fn optimize(&mut self) -> Result<(), StorageError> {
        // 0x10002: analyze every table whose statistics are missing or stale, not only those
        // this connection queried (the writer only inserts).
        self.conn
            .execute_batch("PRAGMA analysis_limit = 400; PRAGMA optimize = 0x10002;")?;
        Ok(())
    }

    fn set_size_limit(&mut self, bytes: u64) -> Result<(), StorageError> {
        let pages = page_limit(bytes, self.page_size());
        // SQLite never lowers the ceiling below the current size; the returned value says so.
        let _: i64 = self
            .conn
            .query_row(&format!("PRAGMA max_page_count = {pages}"), [], |r| {
                r.get(0)
            })?;
        Ok(())
    }

    fn asset(&mut self, token: &TokenId) -> Result<Option<AssetRecord>, StorageError> {
        SqliteStore::asset(self, token)
    }

    fn market_assets(&mut self, market_id: i64) -> Result<Vec<AssetRecord>, StorageError> {
        SqliteStore::market_assets(self, market_id)
    }

    fn seq_at(&mut self, market_id: i64, at_ns: u64) -> Result<Option<u64>, StorageError> {
        SqliteStore::seq_at(self, market_id, at_ns)
    }

    fn latest_snapshot(
        &mut self,
        asset_id: i64,
        max_seq: u64,
    ) -> Result<Option<StoredSnapshot>, StorageError> {
        SqliteStore::latest_snapshot(self, asset_id, max_seq)
    }

    fn latest_book_start(
        &mut self,
        asset_id: i64,
        max_seq: u64,
    ) -> Result<Option<u64>, StorageError> {
        SqliteStore::latest_book_start(self, asset_id, max_seq)
    }

    fn book_rows(
        &mut self,
        market_id: i64,
        asset_id: Option<i64>,
        from_seq: u64,
        to_seq: u64,
        limit: usize,
    ) -> Result<Vec<StoredBookRow>, StorageError> {
        SqliteStore::book_rows(self, market_id, asset_id, from_seq, to_seq, limit)
    }

    fn trades(
        &mut self,
        market_id: i64,
        from_seq: u64,
        to_seq: u64,
        limit: usize,
    ) -> Result<Vec<StoredTrade>, StorageError> {
        SqliteStore::trades(self, market_id, from_seq, to_seq, limit)
    }

    fn markets_with_events_before(
        &mut self,
        cutoff_ns: u64,
    ) -> Result<Vec<MarketRef>, StorageError> {
        SqliteStore::markets_with_events_before(self, cutoff_ns)
    }

    fn last_seq_before(
        &mut self,
        market_id: i64,
        cutoff_ns: u64,
    ) -> Result<Option<u64>, StorageError> {
        SqliteStore::last_seq_before(self, market_id, cutoff_ns)
    }

    fn delete_events_through(
        &mut self,
        market_id: i64,
        through_seq: u64,
        export: &ExportRecord,
    ) -> Result<u64, StorageError> {
        SqliteStore::delete_events_through(self, market_id, through_seq, export)
    }

    fn drop_emptied_partitions(&mut self) -> Result<u64, StorageError> {
        SqliteStore::drop_emptied_partitions(self)
    }

    fn delete_snapshots_before(&mut self, cutoff_ns: u64) -> Result<u64, StorageError> {
        SqliteStore::delete_snapshots_before(self, cutoff_ns)
    }

    fn delete_batches_before(&mut self, cutoff_ns: u64) -> Result<u64, StorageError> {
        SqliteStore::delete_batches_before(self, cutoff_ns)
    }

    fn exports(&mut self) -> Result<Vec<ExportRecord>, StorageError> {
        SqliteStore::exports(self)
    }

    fn stats(&mut self) -> Result<StoreStats, StorageError> {
        SqliteStore::stats(self)
    }
}
