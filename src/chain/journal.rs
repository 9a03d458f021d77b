//! The transaction journal: one SQLite row per signed transaction, written (and committed)
//! before the transaction leaves, so that a restarted process knows every nonce it used and
//! every hash it may have broadcast. Replacements of a stuck transaction are rows of their own
//! with the same nonce; the one that is mined settles the nonce and the others become
//! `dropped`.

use std::path::Path;

use alloy_primitives::{Address, B256, Bytes};
use rusqlite::{Connection, OptionalExtension, params};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum JournalError {
    #[error("transaction journal {path}: {message}")]
    Db { path: String, message: String },
    #[error("transaction journal row has a malformed {column}: {value}")]
    Malformed { column: &'static str, value: String },
}

/// Where a journaled transaction stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxStatus {
    /// Signed and committed, not yet accepted by a node (a crash here leaves the raw bytes to
    /// rebroadcast: the same hash, so never a second transaction).
    Signed,
    /// Accepted by the node (`eth_sendRawTransaction` answered).
    Sent,
    /// Mined with status 1.
    Mined,
    /// Mined with status 0.
    Reverted,
    /// Another transaction with the same nonce was mined.
    Dropped,
}

impl TxStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TxStatus::Signed => "signed",
            TxStatus::Sent => "sent",
            TxStatus::Mined => "mined",
            TxStatus::Reverted => "reverted",
            TxStatus::Dropped => "dropped",
        }
    }

    fn parse(s: &str) -> Result<Self, JournalError> {
        Ok(match s {
            "signed" => TxStatus::Signed,
            "sent" => TxStatus::Sent,
            "mined" => TxStatus::Mined,
            "reverted" => TxStatus::Reverted,
            "dropped" => TxStatus::Dropped,
            other => {
                return Err(JournalError::Malformed {
                    column: "status",
                    value: other.to_string(),
                });
            }
        })
    }

    /// Still waiting for the chain.
    pub fn is_open(self) -> bool {
        matches!(self, TxStatus::Signed | TxStatus::Sent)
    }
}

/// One journaled transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxRow {
    pub id: i64,
    pub chain_id: u64,
    pub sender: Address,
    pub nonce: u64,
    pub hash: B256,
    /// What it does, for people (`ctf split 0x… 100000000`).
    pub label: String,
    pub to: Address,
    pub data: Bytes,
    pub gas_limit: u64,
    pub max_fee_per_gas: u128,
    pub max_priority_fee_per_gas: u128,
    pub raw: Bytes,
    pub status: TxStatus,
    pub block: Option<u64>,
    pub gas_used: Option<u64>,
    pub error: Option<String>,
}

/// The journal file.
pub struct TxJournal {
    conn: Connection,
    path: String,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS chain_tx (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    chain_id INTEGER NOT NULL,
    sender TEXT NOT NULL,
    nonce INTEGER NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    label TEXT NOT NULL,
    to_addr TEXT NOT NULL,
    data BLOB NOT NULL,
    gas_limit INTEGER NOT NULL,
    max_fee_per_gas TEXT NOT NULL,
    max_priority_fee_per_gas TEXT NOT NULL,
    raw BLOB NOT NULL,
    status TEXT NOT NULL,
    block INTEGER,
    gas_used INTEGER,
    error TEXT,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS chain_tx_nonce ON chain_tx (chain_id, sender, nonce);
";

const COLUMNS: &str = "id, chain_id, sender, nonce, hash, label, to_addr, data, gas_limit, \
                       max_fee_per_gas, max_priority_fee_per_gas, raw, status, block, gas_used, error";

/// The Unix-millisecond clock (`obs::clock::unix_ms`) in SQLite's integer type.
fn now_ms() -> i64 {
    i64::try_from(crate::obs::clock::unix_ms()).unwrap_or(i64::MAX)
}

/// A row as read, before its text columns are parsed.
type RawRow = (
    i64,
    i64,
    String,
    i64,
    String,
    String,
    String,
    Vec<u8>,
    i64,
    String,
    String,
    Vec<u8>,
    String,
    Option<i64>,
    Option<i64>,
    Option<String>,
);

fn parse_row(r: RawRow) -> Result<TxRow, JournalError> {
    fn bad(column: &'static str, value: &str) -> JournalError {
        JournalError::Malformed {
            column,
            value: value.to_string(),
        }
    }
    let u64_of =
        |column: &'static str, v: i64| u64::try_from(v).map_err(|_| bad(column, &v.to_string()));
    Ok(TxRow {
        id: r.0,
        chain_id: u64_of("chain_id", r.1)?,
        sender: r.2.parse().map_err(|_| bad("sender", &r.2))?,
        nonce: u64_of("nonce", r.3)?,
        hash: r.4.parse().map_err(|_| bad("hash", &r.4))?,
        label: r.5,
        to: r.6.parse().map_err(|_| bad("to_addr", &r.6))?,
        data: r.7.into(),
        gas_limit: u64_of("gas_limit", r.8)?,
        max_fee_per_gas: r.9.parse().map_err(|_| bad("max_fee_per_gas", &r.9))?,
        max_priority_fee_per_gas: r
            .10
            .parse()
            .map_err(|_| bad("max_priority_fee_per_gas", &r.10))?,
        raw: r.11.into(),
        status: TxStatus::parse(&r.12)?,
        block: r.13.map(|b| u64_of("block", b)).transpose()?,
        gas_used: r.14.map(|g| u64_of("gas_used", g)).transpose()?,
        error: r.15,
    })
}

fn read_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawRow> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        row.get(6)?,
        row.get(7)?,
        row.get(8)?,
        row.get(9)?,
        row.get(10)?,
        row.get(11)?,
        row.get(12)?,
        row.get(13)?,
        row.get(14)?,
        row.get(15)?,
    ))
}

/// Integers go into SQLite as i64; the chain's nonces and gas fit with room to spare.
fn i64_of(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl TxJournal {
    /// Opens (creating if needed) the journal at `path`. Every write is durable on return
    /// (WAL, `synchronous = FULL`): the row must survive a crash right after the send.
    pub fn open(path: &Path) -> Result<Self, JournalError> {
        let p = path.display().to_string();
        let db = |e: rusqlite::Error| JournalError::Db {
            path: p.clone(),
            message: e.to_string(),
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| JournalError::Db {
                path: p.clone(),
                message: e.to_string(),
            })?;
        }
        let conn = Connection::open(path).map_err(db)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(db)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(db)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(db)?;
        conn.execute_batch(SCHEMA).map_err(db)?;
        Ok(Self { conn, path: p })
    }

    fn db(&self, e: rusqlite::Error) -> JournalError {
        JournalError::Db {
            path: self.path.clone(),
            message: e.to_string(),
        }
    }

    /// Records a signed transaction (status `signed`); returns its row id.
    pub fn insert_signed(
        &mut self,
        chain_id: u64,
        sender: Address,
        label: &str,
        signed: &super::tx::SignedTx,
    ) -> Result<i64, JournalError> {
        let t = &signed.tx;
        let now = now_ms();
        self.conn
            .execute(
                "INSERT INTO chain_tx (chain_id, sender, nonce, hash, label, to_addr, data, \
                 gas_limit, max_fee_per_gas, max_priority_fee_per_gas, raw, status, created_ms, \
                 updated_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 'signed', ?12, ?12)",
                params![
                    i64_of(chain_id),
                    sender.to_string(),
                    i64_of(t.nonce),
                    signed.hash.to_string(),
                    label,
                    t.to.to_string(),
                    t.input.to_vec(),
                    i64_of(t.gas_limit),
                    t.max_fee_per_gas.to_string(),
                    t.max_priority_fee_per_gas.to_string(),
                    signed.raw.to_vec(),
                    now,
                ],
            )
            .map_err(|e| self.db(e))?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Sets a row's status (and, once mined, its block and gas used, or an error text).
    pub fn set_status(
        &mut self,
        hash: B256,
        status: TxStatus,
        block: Option<u64>,
        gas_used: Option<u64>,
        error: Option<&str>,
    ) -> Result<(), JournalError> {
        self.conn
            .execute(
                "UPDATE chain_tx SET status = ?2, block = COALESCE(?3, block), \
                 gas_used = COALESCE(?4, gas_used), error = COALESCE(?5, error), updated_ms = ?6 \
                 WHERE hash = ?1",
                params![
                    hash.to_string(),
                    status.as_str(),
                    block.map(i64_of),
                    gas_used.map(i64_of),
                    error,
                    now_ms()
                ],
            )
            .map_err(|e| self.db(e))?;
        Ok(())
    }

    fn query(
        &self,
        sql_tail: &str,
        args: &[&dyn rusqlite::ToSql],
    ) -> Result<Vec<TxRow>, JournalError> {
        let sql = format!("SELECT {COLUMNS} FROM chain_tx {sql_tail}");
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.db(e))?;
        let rows = stmt
            .query_map(args, read_row)
            .map_err(|e| self.db(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.db(e))?;
        rows.into_iter().map(parse_row).collect()
    }

    /// Rows of `sender` on `chain_id` still waiting for the chain, oldest first.
    pub fn open_rows(&self, chain_id: u64, sender: Address) -> Result<Vec<TxRow>, JournalError> {
        self.query(
            "WHERE chain_id = ?1 AND sender = ?2 AND status IN ('signed', 'sent') ORDER BY nonce, id",
            &[&i64_of(chain_id), &sender.to_string()],
        )
    }

    /// Every row with this nonce (the original and its replacements), oldest first.
    pub fn by_nonce(
        &self,
        chain_id: u64,
        sender: Address,
        nonce: u64,
    ) -> Result<Vec<TxRow>, JournalError> {
        self.query(
            "WHERE chain_id = ?1 AND sender = ?2 AND nonce = ?3 ORDER BY id",
            &[&i64_of(chain_id), &sender.to_string(), &i64_of(nonce)],
        )
    }

    pub fn by_hash(&self, hash: B256) -> Result<Option<TxRow>, JournalError> {
        Ok(self
            .query("WHERE hash = ?1", &[&hash.to_string()])?
            .into_iter()
            .next())
    }

    /// Every row, oldest first.
    pub fn all(&self) -> Result<Vec<TxRow>, JournalError> {
        self.query("ORDER BY id", &[])
    }

    /// The next nonce the journal has not used for `sender` (0 for a fresh journal).
    pub fn next_nonce(&self, chain_id: u64, sender: Address) -> Result<u64, JournalError> {
        let max: Option<i64> = self
            .conn
            .query_row(
                "SELECT MAX(nonce) FROM chain_tx WHERE chain_id = ?1 AND sender = ?2 \
                 AND status != 'dropped'",
                params![i64_of(chain_id), sender.to_string()],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.db(e))?
            .flatten();
        Ok(max.map_or(0, |m| u64::try_from(m).unwrap_or(0) + 1))
    }
}
