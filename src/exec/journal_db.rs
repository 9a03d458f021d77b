//! The order journal in the database: [`StorageJournal`] owns the mapping between the order
//! manager's journal and the storage module's `orders`, `order_journal`, `fills` and
//! `positions` tables. Rows are written through the storage writer (one writer per database)
//! and read back over the journal's own read-only SQLite connection (WAL: readers never block
//! the writer).
//!
//! Journal first: [`OrderJournal::record_intents`] enqueues each order row (status `sent`) and
//! its `send` journal row, waits until the writer has committed them (`StorageSender::flush`,
//! one durability barrier per batch), and reads each row back. Only a committed row lets the order leave; a
//! row the database refused (the same hash or the same client ids again) refuses the order.
//! Outcomes, fills and positions are enqueued without waiting: losing one in a crash only
//! means that reconciliation looks the order up again.
//!
//! The `orders` table keeps (`plan_id`, `client_oid`) unique. An order re-signed after
//! `order_version_mismatch` is a new hash for the same leg: it is stored as `client_oid.N`
//! (N-th re-signing) and [`OrderJournal::find`] returns the newest attempt of a leg.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use rustc_hash::FxHashMap;

use crate::adapters::polymarket::signing::{OrderSide, OrderType};
use crate::core::{Price, Side, Size, TokenId};
use crate::storage::batch::side_from_code;
use crate::storage::time::unix_now_ns;
use crate::storage::{
    FillRecord, JournalEntry as StoredAction, OrderRecord, OrderUpdate, PositionRecord,
    StorageConfig, StorageEvent, StorageSender, WriterHandle,
};

use super::journal::{JournalEntry, JournalError, OrderJournal};
use super::order::OrderState;

const COLUMNS: &str = "plan_id, client_oid, order_hash, token_id, side, price, size, order_type, \
                       status, size_matched, created_ns";

/// The `order_hash` of the journal rows that record a plan's outcome.
const PLAN_OUTCOME: &str = "plan";

fn storage(e: impl std::fmt::Display) -> JournalError {
    JournalError::Storage(e.to_string())
}

/// The database journal. See the module doc.
/// A position as stored, with the fees its fills paid (micro-units; PnL signed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredPosition {
    pub token_id: String,
    pub size: i64,
    pub cost: i64,
    pub realized_pnl: i64,
    pub fees: i64,
}

pub struct StorageJournal {
    tx: StorageSender,
    read: Connection,
    flush_timeout: Duration,
    /// Order hash → (plan_id, client_oid) as stored, for the journal rows of outcomes.
    ids: FxHashMap<String, (String, String)>,
}

impl StorageJournal {
    /// A journal writing through `tx` into the database at `path` (the storage writer has
    /// opened and migrated it) and reading it over a read-only connection.
    pub fn open(
        tx: StorageSender,
        path: &Path,
        flush_timeout: Duration,
    ) -> Result<Self, JournalError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let read = Connection::open_with_flags(path, flags).map_err(storage)?;
        read.busy_timeout(Duration::from_secs(5)).map_err(storage)?;
        // Fails now (not at the first order) if the trading tables are missing.
        read.query_row("SELECT COUNT(*) FROM orders", [], |r| r.get::<_, i64>(0))
            .map_err(storage)?;
        Ok(Self {
            tx,
            read,
            flush_timeout,
            ids: FxHashMap::default(),
        })
    }

    /// A journal in its own database file at `path` (created and migrated if needed), with the
    /// storage writer it writes through; keep the writer until the journal is done, then shut
    /// it down so that the last outcomes are committed.
    pub fn open_file(
        path: &Path,
        flush_timeout: Duration,
    ) -> Result<(WriterHandle, Self), JournalError> {
        let cfg = StorageConfig {
            path: path.to_path_buf(),
            ..StorageConfig::default()
        };
        let (writer, tx) = WriterHandle::spawn(&cfg)
            .map_err(|e| JournalError::Storage(format!("{}: {e}", path.display())))?;
        let journal = Self::open(tx, path, flush_timeout)
            .map_err(|e| JournalError::Storage(format!("{}: {e}", path.display())))?;
        Ok((writer, journal))
    }

    /// The stored positions with the fees paid per token (fills not FAILED), by token id.
    pub fn positions(&self) -> Result<Vec<StoredPosition>, JournalError> {
        let mut st = self
            .read
            .prepare(
                "SELECT p.token_id, p.size, p.cost, p.realized_pnl,
                    COALESCE((SELECT SUM(f.fee) FROM fills f
                        WHERE f.token_id = p.token_id AND f.status != 'FAILED'), 0)
                 FROM positions p ORDER BY p.token_id",
            )
            .map_err(storage)?;
        let rows = st
            .query_map([], |r| {
                Ok(StoredPosition {
                    token_id: r.get(0)?,
                    size: r.get(1)?,
                    cost: r.get(2)?,
                    realized_pnl: r.get(3)?,
                    fees: r.get(4)?,
                })
            })
            .map_err(storage)?;
        rows.collect::<Result<_, _>>().map_err(storage)
    }

    fn send(&self, ev: StorageEvent) -> Result<(), JournalError> {
        self.tx
            .try_send(ev)
            .map_err(|_| JournalError::Storage("the storage channel is full or closed".into()))
    }

    /// The stored client ids of an order (remembered, else read: after a restart); an order
    /// never journaled here is an error, as in the memory journal.
    fn ids_of(&mut self, hash: &str) -> Result<(String, String), JournalError> {
        if let Some(ids) = self.ids.get(hash) {
            return Ok(ids.clone());
        }
        let found: Option<(String, String)> = self
            .read
            .query_row(
                "SELECT plan_id, client_oid FROM orders WHERE order_hash = ?1",
                params![hash],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(storage)?;
        let ids = found.ok_or_else(|| {
            JournalError::Storage(format!("outcome for an order never journaled: {hash}"))
        })?;
        self.ids.insert(hash.to_string(), ids.clone());
        Ok(ids)
    }

    fn action(
        &mut self,
        hash: &str,
        action: &str,
        detail: Option<String>,
    ) -> Result<StorageEvent, JournalError> {
        let (plan_id, client_oid) = self.ids_of(hash)?;
        Ok(StorageEvent::Journal(Box::new(StoredAction {
            order_hash: hash.to_string(),
            plan_id,
            client_oid,
            action: action.to_string(),
            detail,
            recv_ns: unix_now_ns(),
        })))
    }

    /// The stored client id of a new attempt at a leg: `oid`, then `oid.1`, `oid.2`...
    fn next_client_oid(&self, plan: &str, oid: &str) -> Result<String, JournalError> {
        let n: i64 = self
            .read
            .query_row(
                "SELECT COUNT(*) FROM orders WHERE plan_id = ?1
                 AND (client_oid = ?2 OR client_oid LIKE ?2 || '.%')",
                params![plan, oid],
                |r| r.get(0),
            )
            .map_err(storage)?;
        Ok(if n == 0 {
            oid.to_string()
        } else {
            format!("{oid}.{n}")
        })
    }

    /// Enqueues an order row and its `send` journal row; returns the stored client ids.
    fn stage_intent(&mut self, e: &JournalEntry) -> Result<(String, String), JournalError> {
        let plan = e.plan_id.to_string();
        let oid = self.next_client_oid(&plan, &e.client_oid.to_string())?;
        let token = TokenId::parse(&e.token_id).map_err(storage)?;
        self.ids
            .insert(e.order_id.clone(), (plan.clone(), oid.clone()));
        self.send(StorageEvent::Order(Box::new(OrderRecord {
            order_hash: e.order_id.clone(),
            plan_id: plan.clone(),
            client_oid: oid.clone(),
            token,
            side: e.side.book_side(),
            price: e.price,
            size: e.size,
            order_type: e.order_type.as_str().to_string(),
            status: e.state.as_str().to_string(),
            created_ns: e.created_ms.saturating_mul(1_000_000),
        })))?;
        let detail = format!(
            "{} {} x {} {}",
            e.side.as_str(),
            e.price,
            e.size,
            e.order_type.as_str()
        );
        let ev = self.action(&e.order_id, "send", Some(detail))?;
        self.send(ev)?;
        Ok((plan, oid))
    }

    /// After the barrier: the row must be there, under these client ids.
    fn check_stored(&self, hash: &str, plan: &str, oid: &str) -> Result<(), JournalError> {
        let stored: Option<String> = self
            .read
            .query_row(
                "SELECT status FROM orders WHERE order_hash = ?1 AND plan_id = ?2 AND client_oid = ?3",
                params![hash, plan, oid],
                |r| r.get(0),
            )
            .optional()
            .map_err(storage)?;
        match stored {
            Some(_) => Ok(()),
            None => Err(JournalError::Storage(format!(
                "the database refused order {hash} (plan {plan}, client {oid}): not sent"
            ))),
        }
    }

    fn query(
        &self,
        sql: &str,
        args: impl rusqlite::Params,
    ) -> Result<Vec<JournalEntry>, JournalError> {
        let mut stmt = self.read.prepare_cached(sql).map_err(storage)?;
        let rows = stmt
            .query_map(args, |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, i64>(5)?,
                    r.get::<_, i64>(6)?,
                    r.get::<_, String>(7)?,
                    r.get::<_, String>(8)?,
                    r.get::<_, i64>(9)?,
                    r.get::<_, i64>(10)?,
                ))
            })
            .map_err(storage)?;
        let mut out = Vec::new();
        for row in rows {
            let (plan, oid, hash, token, side, price, size, otype, status, matched, created) =
                row.map_err(storage)?;
            let bad = |what: &str| JournalError::Storage(format!("order {hash}: bad {what}"));
            let oid = oid.split('.').next().unwrap_or_default();
            out.push(JournalEntry {
                plan_id: plan.parse().map_err(|_| bad("plan_id"))?,
                client_oid: oid.parse().map_err(|_| bad("client_oid"))?,
                token_id: token,
                side: match side_from_code(side) {
                    Some(Side::Bid) => OrderSide::Buy,
                    Some(Side::Ask) => OrderSide::Sell,
                    None => return Err(bad("side")),
                },
                price: Price(u32::try_from(price).map_err(|_| bad("price"))?),
                size: Size(u64::try_from(size).map_err(|_| bad("size"))?),
                order_type: OrderType::from_str(&otype).map_err(|_| bad("order_type"))?,
                state: OrderState::parse(&status).ok_or_else(|| bad("status"))?,
                filled: Size(u64::try_from(matched).map_err(|_| bad("size_matched"))?),
                created_ms: u64::try_from(created).map_err(|_| bad("created_ns"))? / 1_000_000,
                order_id: hash,
            });
        }
        Ok(out)
    }
}

impl OrderJournal for StorageJournal {
    fn record_intent(&mut self, e: &JournalEntry) -> Result<(), JournalError> {
        self.record_intents(std::slice::from_ref(e))
            .pop()
            .unwrap_or_else(|| Err(JournalError::Storage("nothing journaled".into())))
    }

    fn record_intents(&mut self, entries: &[JournalEntry]) -> Vec<Result<(), JournalError>> {
        let staged: Vec<Result<(String, String), JournalError>> =
            entries.iter().map(|e| self.stage_intent(e)).collect();
        // One durability barrier for all of them.
        if let Err(err) = self.tx.flush(self.flush_timeout) {
            let msg = err.to_string();
            return entries
                .iter()
                .map(|_| Err(JournalError::Storage(msg.clone())))
                .collect();
        }
        entries
            .iter()
            .zip(staged)
            .map(|(e, ids)| {
                let (plan, oid) = ids?;
                self.check_stored(&e.order_id, &plan, &oid)
            })
            .collect()
    }

    fn record_outcome(
        &mut self,
        order_id: &str,
        state: OrderState,
        filled: Size,
    ) -> Result<(), JournalError> {
        let ev = self.action(order_id, state.as_str(), Some(format!("matched {filled}")))?;
        self.send(StorageEvent::OrderUpdate(Box::new(OrderUpdate {
            order_hash: order_id.to_string(),
            status: state.as_str().to_string(),
            size_matched: filled,
            updated_ns: unix_now_ns(),
        })))?;
        self.send(ev)
    }

    fn unknown(&self) -> Result<Vec<JournalEntry>, JournalError> {
        // Outcomes are enqueued without waiting: let them land before reading.
        self.tx.flush(self.flush_timeout).map_err(storage)?;
        self.query(
            &format!(
                "SELECT {COLUMNS} FROM orders WHERE status IN ('sent', 'unknown') ORDER BY order_id"
            ),
            [],
        )
    }

    fn find(&self, plan_id: u64, client_oid: u64) -> Result<Option<JournalEntry>, JournalError> {
        Ok(self
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM orders WHERE plan_id = ?1
                     AND (client_oid = ?2 OR client_oid LIKE ?2 || '.%')
                     ORDER BY order_id DESC LIMIT 1"
                ),
                params![plan_id.to_string(), client_oid.to_string()],
            )?
            .pop())
    }

    fn record_fill(&mut self, fill: &FillRecord) -> Result<(), JournalError> {
        self.send(StorageEvent::Fill(Box::new(fill.clone())))
    }

    fn record_position(&mut self, position: &PositionRecord) -> Result<(), JournalError> {
        self.send(StorageEvent::Position(Box::new(position.clone())))
    }

    fn stored_fills(&self) -> Result<Vec<FillRecord>, JournalError> {
        self.tx.flush(self.flush_timeout).map_err(storage)?;
        let mut st = self
            .read
            .prepare(
                "SELECT trade_id, order_hash, token_id, side, price, size, fee, trader_side, status,
                    match_time_ms, recv_ns FROM fills ORDER BY fill_id",
            )
            .map_err(storage)?;
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, i64>(5)?,
                    r.get::<_, i64>(6)?,
                    r.get::<_, Option<String>>(7)?,
                    r.get::<_, String>(8)?,
                    r.get::<_, Option<i64>>(9)?,
                    r.get::<_, i64>(10)?,
                ))
            })
            .map_err(storage)?;
        let mut out = Vec::new();
        for row in rows {
            let (trade, hash, token, side, price, size, fee, trader, status, matched, recv) =
                row.map_err(storage)?;
            let bad = |what: &str| JournalError::Storage(format!("fill {trade}: bad {what}"));
            out.push(FillRecord {
                token: TokenId::parse(&token).map_err(|_| bad("token_id"))?,
                side: side_from_code(side).ok_or_else(|| bad("side"))?,
                price: Price(u32::try_from(price).map_err(|_| bad("price"))?),
                size: Size(u64::try_from(size).map_err(|_| bad("size"))?),
                fee: crate::core::Amount(u64::try_from(fee).map_err(|_| bad("fee"))?),
                trader_side: trader,
                status,
                match_time_ms: matched.and_then(|m| u64::try_from(m).ok()),
                recv_ns: u64::try_from(recv).unwrap_or(0),
                trade_id: trade,
                order_hash: hash,
            });
        }
        Ok(out)
    }

    fn stored_positions(&self) -> Result<Vec<PositionRecord>, JournalError> {
        self.tx.flush(self.flush_timeout).map_err(storage)?;
        let mut st = self
            .read
            .prepare(
                "SELECT token_id, size, cost, realized_pnl, updated_ns FROM positions ORDER BY token_id",
            )
            .map_err(storage)?;
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, i64>(4)?,
                ))
            })
            .map_err(storage)?;
        let mut out = Vec::new();
        for row in rows {
            let (token, size, cost, realized, updated) = row.map_err(storage)?;
            out.push(PositionRecord {
                token: TokenId::parse(&token)
                    .map_err(|_| JournalError::Storage(format!("position {token}: bad token")))?,
                size: Size(u64::try_from(size).unwrap_or(0)),
                cost: crate::core::Amount(u64::try_from(cost).unwrap_or(0)),
                realized_pnl: realized,
                updated_ns: u64::try_from(updated).unwrap_or(0),
            });
        }
        Ok(out)
    }

    fn order_ids(&self) -> Result<Vec<String>, JournalError> {
        self.tx.flush(self.flush_timeout).map_err(storage)?;
        let mut st = self
            .read
            .prepare("SELECT order_hash FROM orders ORDER BY order_id")
            .map_err(storage)?;
        let rows = st.query_map([], |r| r.get(0)).map_err(storage)?;
        rows.collect::<Result<_, _>>().map_err(storage)
    }

    /// A journal row of its own: order hash `plan`, the plan's id, client id `0`.
    fn record_plan_outcome(&mut self, plan_id: u64, outcome: &str) -> Result<(), JournalError> {
        self.send(StorageEvent::Journal(Box::new(StoredAction {
            order_hash: PLAN_OUTCOME.into(),
            plan_id: plan_id.to_string(),
            client_oid: "0".into(),
            action: "plan_outcome".into(),
            detail: Some(outcome.to_string()),
            recv_ns: unix_now_ns(),
        })))
    }

    fn open_plans(&self) -> Result<Vec<JournalEntry>, JournalError> {
        self.tx.flush(self.flush_timeout).map_err(storage)?;
        self.query(
            &format!(
                "SELECT {COLUMNS} FROM orders WHERE plan_id NOT IN (
                     SELECT plan_id FROM order_journal WHERE order_hash = '{PLAN_OUTCOME}')
                 ORDER BY order_id"
            ),
            [],
        )
    }

    /// A journal row of its own: order hash `risk`, plan and client id `0`.
    fn record_event(&mut self, action: &str, detail: &str) -> Result<(), JournalError> {
        self.send(StorageEvent::Journal(Box::new(StoredAction {
            order_hash: "risk".into(),
            plan_id: "0".into(),
            client_oid: "0".into(),
            action: action.to_string(),
            detail: Some(detail.to_string()),
            recv_ns: unix_now_ns(),
        })))
    }
}
