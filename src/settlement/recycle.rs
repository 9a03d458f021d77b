//! Capital recycling on the cold side: complete sets the engine's plans filled are turned back
//! into pUSD in batches, so the free pUSD the strategy sizes with rises again.
//!
//! The sender of the plans offers each plan's complete sets through a bounded channel
//! ([`RecycleTx::offer`], which never blocks: a full channel counts the sets as dropped and
//! they stay held as tokens). The [`Recycler`] on its own thread adds them up per condition
//! (binary sets: YES + NO, merged) or per neg-risk market and question set (NO sets,
//! converted with `convertPositions`), and sends a batch — every due merge and convert as one
//! relayer request or one transaction each — when it is worth it: at least
//! [`RecycleConfig::min_sets`] sets pending and at most [`RecycleConfig::max_gas_per_pusd`] gas
//! per pUSD freed (the gas being [`RecycleConfig::gas_per_call`] per call). The pending sets are
//! looked at every [`RecycleConfig::flush_ms`], however busy the channel.
//!
//! Every batch is journaled (SQLite: its calls, its sets with their tokens, and the sender's
//! ticket — the relayer nonce or the EOA's first transaction nonce) before it is sent, and
//! marked with its outcome after. A failed batch keeps its sets for the next look, up to
//! [`RecycleConfig::max_attempts`] tries in a row; then they are given up (counted, journaled)
//! and stay held as tokens. A batch the journal shows as still `sending` when the recycler
//! starts (a crash between the journal and the answer) is never sent blindly again: the sender
//! says from its ticket whether it executed (then it is reported done), did not (its sets are
//! pending again), or cannot tell (left `unknown`, its sets held as tokens).
//!
//! Each batch done is reported on the `done` channel ([`Recycled`]) so the plan sender can take
//! the sets out of its positions and re-read the free pUSD; [`RecycleStats`] counts sets merged
//! and converted, pUSD freed, gas spent and batches failed.
//!
//! Neg-risk YES sets (the YES of every question) cannot be merged or converted: they pay at
//! resolution and are not offered here.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use alloy_primitives::{B256, U256};
use crossbeam::channel::{Receiver, Sender, TrySendError, bounded};
use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::calls::{MarketKind, Settlement};
use crate::chain::TxCall;
use crate::core::TokenId;

pub use crate::chain::config::RecycleConfig;

/// What a plan's filled legs hold as complete sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SetKey {
    /// YES + NO of one condition (binary or one neg-risk question): merged.
    Merge { kind: MarketKind, condition: B256 },
    /// The NO of every question in `index_set` of a neg-risk market: converted. `questions`
    /// is the number of bits set (the pUSD a set frees is `questions - 1`).
    Convert {
        market: B256,
        index_set: U256,
        questions: u32,
    },
}

impl SetKey {
    /// pUSD (micro) that `sets` of these free.
    pub fn freed(&self, sets: u64) -> u64 {
        match self {
            SetKey::Merge { .. } => sets,
            SetKey::Convert { questions, .. } => {
                sets.saturating_mul(u64::from(questions.saturating_sub(1)))
            }
        }
    }
}

/// Complete sets a plan filled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilledSets {
    pub key: SetKey,
    /// Micro-shares.
    pub sets: u64,
    /// The tokens one set is made of (merge: YES then NO; convert: every NO given up), so
    /// that the plan sender can take them out of its positions once recycled.
    pub tokens: Vec<TokenId>,
}

/// A batch done: every set it recycled, and the pUSD it freed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recycled {
    /// Unique per batch and journal (`recycle-<row>`), the trade id its position changes use.
    pub id: String,
    pub items: Vec<FilledSets>,
    pub freed: u64,
}

/// What the recycler has done.
#[derive(Debug, Default)]
pub struct RecycleStats {
    pub offered: AtomicU64,
    /// Offers lost to a full channel (their sets stay held as tokens).
    pub dropped: AtomicU64,
    pub batches: AtomicU64,
    pub failed_batches: AtomicU64,
    /// Micro-shares given up after `max_attempts` failures in a row (held as tokens).
    pub sets_abandoned: AtomicU64,
    /// Batches a restart found `sending` and settled from the sender's ticket: done, sent
    /// again, or left unknown.
    pub recovered_done: AtomicU64,
    pub recovered_requeued: AtomicU64,
    pub recovered_unknown: AtomicU64,
    /// Micro-shares merged.
    pub sets_merged: AtomicU64,
    /// Micro-shares converted.
    pub sets_converted: AtomicU64,
    /// Micro-pUSD freed.
    pub pusd_freed: AtomicU64,
    pub gas_spent: AtomicU64,
}

impl RecycleStats {
    /// Gas per pUSD freed so far (`None` before anything was freed).
    pub fn gas_per_pusd(&self) -> Option<u64> {
        let freed = self.pusd_freed.load(Ordering::Relaxed);
        (freed > 0).then(|| {
            (u128::from(self.gas_spent.load(Ordering::Relaxed)) * 1_000_000 / u128::from(freed))
                as u64
        })
    }

    /// The summary line.
    pub fn line(&self) -> String {
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let pusd = |m: u64| crate::core::decimal::format_micros(m);
        format!(
            "recycle: sets merged {} · sets converted {} · pUSD freed {} · gas spent {} ({} per pUSD) · batches {} (failed {}) · offers {} (dropped {}) · sets given up {} · restart: done {} resent {} unknown {}",
            pusd(l(&self.sets_merged)),
            pusd(l(&self.sets_converted)),
            pusd(l(&self.pusd_freed)),
            l(&self.gas_spent),
            self.gas_per_pusd()
                .map_or("-".to_string(), |g| g.to_string()),
            l(&self.batches),
            l(&self.failed_batches),
            l(&self.offered),
            l(&self.dropped),
            pusd(l(&self.sets_abandoned)),
            l(&self.recovered_done),
            l(&self.recovered_requeued),
            l(&self.recovered_unknown),
        )
    }
}

/// The hot side's end of the channel.
#[derive(Clone)]
pub struct RecycleTx {
    tx: Sender<FilledSets>,
    stats: Arc<RecycleStats>,
}

impl RecycleTx {
    /// Offers sets without ever blocking; `false` (counted) when the channel is full.
    pub fn offer(&self, f: FilledSets) -> bool {
        self.stats.offered.fetch_add(1, Ordering::Relaxed);
        match self.tx.try_send(f) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                false
            }
        }
    }
}

/// A bounded channel of `capacity` offers and the stats both ends share.
pub fn channel(capacity: usize) -> (RecycleTx, Receiver<FilledSets>, Arc<RecycleStats>) {
    let (tx, rx) = bounded(capacity.max(1));
    let stats = Arc::new(RecycleStats::default());
    (
        RecycleTx {
            tx,
            stats: stats.clone(),
        },
        rx,
        stats,
    )
}

/// Sends a batch's calls (through the relayer or as the EOA's transactions).
pub trait BatchSender {
    /// What will identify the batch once sent (relayer: the wallet's nonce; EOA: its next
    /// transaction nonce), journaled before [`BatchSender::send`].
    fn ticket(&mut self) -> Result<String, String> {
        Ok(String::new())
    }

    /// Sends every call under `ticket`; returns the gas they used (the relayer's own: counted
    /// at the configured estimate).
    fn send(&mut self, ticket: &str, calls: &[TxCall]) -> Result<u64, String>;

    /// After a restart: whether the batch of `calls` calls journaled with `ticket` executed
    /// (`Some(true)`), certainly did not (`Some(false)`), or cannot be told (`None`).
    fn executed(&mut self, _ticket: &str, _calls: usize) -> Result<Option<bool>, String> {
        Ok(None)
    }
}

#[derive(Debug, Error)]
#[error("recycle journal {path}: {message}")]
pub struct RecycleJournalError {
    path: String,
    message: String,
}

/// One journaled item of a batch (what [`FilledSets`] holds, in text).
#[derive(Serialize, Deserialize)]
struct JournalItem {
    /// `merge` or `convert`.
    op: String,
    neg_risk: bool,
    /// The condition (merge) or the neg-risk market (convert).
    id: B256,
    index_set: U256,
    questions: u32,
    sets: u64,
    tokens: Vec<String>,
}

impl JournalItem {
    fn of(f: &FilledSets) -> Self {
        let (op, neg_risk, id, index_set, questions) = match f.key {
            SetKey::Merge { kind, condition } => (
                "merge",
                kind == MarketKind::NegRisk,
                condition,
                U256::ZERO,
                2,
            ),
            SetKey::Convert {
                market,
                index_set,
                questions,
            } => ("convert", true, market, index_set, questions),
        };
        Self {
            op: op.into(),
            neg_risk,
            id,
            index_set,
            questions,
            sets: f.sets,
            tokens: f.tokens.iter().map(|t| t.to_string()).collect(),
        }
    }

    fn sets(&self) -> Option<FilledSets> {
        let key = match self.op.as_str() {
            "merge" => SetKey::Merge {
                kind: if self.neg_risk {
                    MarketKind::NegRisk
                } else {
                    MarketKind::Binary
                },
                condition: self.id,
            },
            "convert" => SetKey::Convert {
                market: self.id,
                index_set: self.index_set,
                questions: self.questions,
            },
            _ => return None,
        };
        let tokens = self
            .tokens
            .iter()
            .map(|t| TokenId::parse(t).ok())
            .collect::<Option<Vec<_>>>()?;
        Some(FilledSets {
            key,
            sets: self.sets,
            tokens,
        })
    }
}

/// A batch the journal left `sending`.
#[derive(Debug)]
pub struct OpenBatch {
    pub id: i64,
    pub ticket: String,
    pub calls: usize,
    pub items: Vec<FilledSets>,
    pub freed: u64,
}

/// One SQLite row per batch, written before the batch is sent.
pub struct RecycleJournal {
    conn: Connection,
    path: String,
}

impl RecycleJournal {
    pub fn open(path: &Path) -> Result<Self, RecycleJournalError> {
        let p = path.display().to_string();
        let err = |e: rusqlite::Error| RecycleJournalError {
            path: p.clone(),
            message: e.to_string(),
        };
        let conn = Connection::open(path).map_err(err)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS recycle_batch (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                calls TEXT NOT NULL,
                n_calls INTEGER NOT NULL,
                items TEXT NOT NULL,
                ticket TEXT NOT NULL,
                sets INTEGER NOT NULL,
                pusd_freed INTEGER NOT NULL,
                status TEXT NOT NULL,
                gas INTEGER,
                error TEXT
            );",
        )
        .map_err(err)?;
        Ok(Self { conn, path: p })
    }

    fn err(&self, e: impl std::fmt::Display) -> RecycleJournalError {
        RecycleJournalError {
            path: self.path.clone(),
            message: e.to_string(),
        }
    }

    fn begin(
        &self,
        calls: &[TxCall],
        items: &[FilledSets],
        ticket: &str,
        freed: u64,
    ) -> Result<i64, RecycleJournalError> {
        let labels: Vec<&str> = calls.iter().map(|c| c.label.as_str()).collect();
        let rows: Vec<JournalItem> = items.iter().map(JournalItem::of).collect();
        let text = serde_json::to_string(&rows).map_err(|e| self.err(e))?;
        let sets: u64 = items.iter().map(|f| f.sets).sum();
        self.conn
            .execute(
                "INSERT INTO recycle_batch (calls, n_calls, items, ticket, sets, pusd_freed, status) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'sending')",
                params![
                    labels.join("; "),
                    calls.len() as i64,
                    text,
                    ticket,
                    sets as i64,
                    freed as i64
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok(self.conn.last_insert_rowid())
    }

    fn finish(&self, id: i64, r: &Result<u64, String>) -> Result<(), RecycleJournalError> {
        let (status, gas, error) = match r {
            Ok(g) => ("done", Some(*g as i64), None),
            Err(e) => ("failed", None, Some(e.as_str())),
        };
        self.mark(id, status, gas, error)
    }

    fn mark(
        &self,
        id: i64,
        status: &str,
        gas: Option<i64>,
        error: Option<&str>,
    ) -> Result<(), RecycleJournalError> {
        self.conn
            .execute(
                "UPDATE recycle_batch SET status = ?1, gas = ?2, error = ?3 WHERE id = ?4",
                params![status, gas, error, id],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Batches still `sending`: sent or not, nobody knows yet.
    pub fn open_batches(&self) -> Result<Vec<OpenBatch>, RecycleJournalError> {
        let mut st = self
            .conn
            .prepare(
                "SELECT id, ticket, n_calls, items, pusd_freed FROM recycle_batch \
                 WHERE status = 'sending' ORDER BY id",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, i64>(4)?,
                ))
            })
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        let mut out = Vec::with_capacity(rows.len());
        for (id, ticket, calls, text, freed) in rows {
            let items: Vec<JournalItem> = serde_json::from_str(&text).map_err(|e| self.err(e))?;
            let items = items
                .iter()
                .map(JournalItem::sets)
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| self.err(format!("batch {id}: unreadable items {text}")))?;
            out.push(OpenBatch {
                id,
                ticket,
                calls: calls as usize,
                items,
                freed: freed as u64,
            });
        }
        Ok(out)
    }

    /// `(status, sets, pusd_freed)` of every batch, oldest first.
    pub fn rows(&self) -> Result<Vec<(String, u64, u64)>, RecycleJournalError> {
        let mut st = self
            .conn
            .prepare("SELECT status, sets, pusd_freed FROM recycle_batch ORDER BY id")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)? as u64,
                    r.get::<_, i64>(2)? as u64,
                ))
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }
}

/// Sets waiting for a batch, per key.
#[derive(Clone, Debug, Default)]
struct Pending {
    sets: u64,
    tokens: Vec<TokenId>,
}

/// Adds up offered sets and sends them back as pUSD when a batch is worth it.
pub struct Recycler {
    cfg: RecycleConfig,
    settlement: Settlement,
    pending: BTreeMap<SetKey, Pending>,
    stats: Arc<RecycleStats>,
    journal: Option<RecycleJournal>,
    /// Where batches done are reported (the plan sender).
    done: Option<Sender<Recycled>>,
    /// Failed sends in a row of what is pending.
    failures: u32,
    /// Names batches when there is no journal to number them.
    seq: u64,
    run_id: u64,
}

impl Recycler {
    pub fn new(
        cfg: RecycleConfig,
        settlement: Settlement,
        stats: Arc<RecycleStats>,
        journal: Option<RecycleJournal>,
    ) -> Self {
        Self {
            cfg,
            settlement,
            pending: BTreeMap::new(),
            stats,
            journal,
            done: None,
            failures: 0,
            seq: 0,
            run_id: crate::obs::clock::unix_ms(),
        }
    }

    /// Reports each batch done on `done`.
    pub fn reporting(mut self, done: Sender<Recycled>) -> Self {
        self.done = Some(done);
        self
    }

    pub fn add(&mut self, f: FilledSets) {
        let e = self.pending.entry(f.key).or_default();
        e.sets = e.sets.saturating_add(f.sets);
        if e.tokens.is_empty() {
            e.tokens = f.tokens;
        }
    }

    /// Micro-shares waiting.
    pub fn pending_sets(&self) -> u64 {
        self.pending.values().map(|p| p.sets).sum()
    }

    fn call(&self, key: &SetKey, sets: u64) -> TxCall {
        let amount = U256::from(sets);
        match *key {
            SetKey::Merge { kind, condition } => self.settlement.merge(kind, condition, amount),
            SetKey::Convert {
                market, index_set, ..
            } => self.settlement.convert(market, index_set, amount),
        }
    }

    /// The batch due now, if it is worth its gas: its calls, sets and pUSD freed.
    pub fn due(&self) -> Option<(Vec<TxCall>, u64, u64)> {
        let sets = self.pending_sets();
        if sets == 0 || sets < self.cfg.min_sets {
            return None;
        }
        let freed: u64 = self.pending.iter().map(|(k, p)| k.freed(p.sets)).sum();
        let gas = self
            .cfg
            .gas_per_call
            .saturating_mul(self.pending.len() as u64);
        // gas / (freed / 1e6) ≤ max, in integers.
        let worth = freed > 0
            && u128::from(gas) * 1_000_000
                <= u128::from(self.cfg.max_gas_per_pusd) * u128::from(freed);
        if !worth {
            return None;
        }
        let calls = self
            .pending
            .iter()
            .map(|(k, p)| self.call(k, p.sets))
            .collect();
        Some((calls, sets, freed))
    }

    fn items(&self) -> Vec<FilledSets> {
        self.pending
            .iter()
            .map(|(k, p)| FilledSets {
                key: *k,
                sets: p.sets,
                tokens: p.tokens.clone(),
            })
            .collect()
    }

    fn count_done(&self, id: String, items: Vec<FilledSets>, freed: u64, gas: u64) {
        for f in &items {
            let c = match f.key {
                SetKey::Merge { .. } => &self.stats.sets_merged,
                SetKey::Convert { .. } => &self.stats.sets_converted,
            };
            c.fetch_add(f.sets, Ordering::Relaxed);
        }
        self.stats.pusd_freed.fetch_add(freed, Ordering::Relaxed);
        self.stats.gas_spent.fetch_add(gas, Ordering::Relaxed);
        if let Some(d) = &self.done {
            // The plan sender may have stopped (shutdown): the counts above still hold.
            let _ = d.send(Recycled { id, items, freed });
        }
    }

    /// Settles the batches a previous run left `sending` (see the module doc): asks `sender`
    /// whether each executed. Call once, before the first offer.
    pub fn recover(&mut self, sender: &mut dyn BatchSender) {
        let Some(j) = &self.journal else { return };
        let open = match j.open_batches() {
            Ok(o) => o,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the recycle journal's open batches");
                return;
            }
        };
        for b in open {
            let verdict = sender.executed(&b.ticket, b.calls);
            let j = self.journal.as_ref().expect("checked above");
            let mark = match verdict {
                Ok(Some(true)) => {
                    tracing::warn!(batch = b.id, "recycle batch of a previous run executed");
                    self.stats.recovered_done.fetch_add(1, Ordering::Relaxed);
                    j.mark(b.id, "done", None, Some("executed before a restart"))
                }
                Ok(Some(false)) => {
                    tracing::warn!(
                        batch = b.id,
                        "recycle batch of a previous run never executed: its sets are pending again"
                    );
                    self.stats
                        .recovered_requeued
                        .fetch_add(1, Ordering::Relaxed);
                    j.mark(b.id, "unsent", None, Some("not executed before a restart"))
                }
                Ok(None) | Err(_) => {
                    let why = match &verdict {
                        Err(e) => e.clone(),
                        _ => "the sender cannot tell".to_string(),
                    };
                    tracing::error!(batch = b.id, %why, "recycle batch of a previous run left unknown: not sent again");
                    self.stats.recovered_unknown.fetch_add(1, Ordering::Relaxed);
                    j.mark(b.id, "unknown", None, Some(&why))
                }
            };
            if let Err(e) = mark {
                tracing::error!(error = %e, "cannot journal a recovered recycle batch");
            }
            match verdict {
                Ok(Some(true)) => self.count_done(format!("recycle-{}", b.id), b.items, b.freed, 0),
                Ok(Some(false)) => {
                    for f in b.items {
                        self.add(f);
                    }
                }
                _ => {}
            }
        }
    }

    /// Sends the due batch, if any: `Some(true)` sent, `Some(false)` failed (the sets stay
    /// pending for the next try, up to `max_attempts` in a row), `None` nothing due.
    pub fn flush(&mut self, sender: &mut dyn BatchSender) -> Option<bool> {
        let (calls, _sets, freed) = self.due()?;
        let items = self.items();
        self.stats.batches.fetch_add(1, Ordering::Relaxed);
        let r = sender.ticket().and_then(|ticket| {
            let row = match &self.journal {
                Some(j) => Some(
                    j.begin(&calls, &items, &ticket, freed)
                        .map_err(|e| format!("not sent: cannot journal it: {e}"))?,
                ),
                None => None,
            };
            let r = sender.send(&ticket, &calls);
            if let (Some(j), Some(id)) = (&self.journal, row)
                && let Err(e) = j.finish(id, &r)
            {
                tracing::error!(error = %e, "cannot journal a recycle batch's outcome");
            }
            r.map(|gas| (gas, row))
        });
        match r {
            Ok((gas, row)) => {
                self.pending.clear();
                self.failures = 0;
                let id = match row {
                    Some(id) => format!("recycle-{id}"),
                    None => {
                        self.seq += 1;
                        format!("recycle-{}-{}", self.run_id, self.seq)
                    }
                };
                self.count_done(id, items, freed, gas);
                Some(true)
            }
            Err(e) => {
                self.failures += 1;
                self.stats.failed_batches.fetch_add(1, Ordering::Relaxed);
                if self.failures >= self.cfg.max_attempts.max(1) {
                    let sets = self.pending_sets();
                    tracing::error!(error = %e, attempts = self.failures, %sets, "recycle batch failed: its sets are given up and stay held as tokens");
                    self.stats.sets_abandoned.fetch_add(sets, Ordering::Relaxed);
                    self.pending.clear();
                    self.failures = 0;
                } else {
                    tracing::warn!(error = %e, attempt = self.failures, "recycle batch failed: retried at the next look");
                }
                Some(false)
            }
        }
    }

    /// The recycler's thread body: takes offers until `stop` and the channel is drained (or
    /// every offering end is gone), looking at what is pending every `flush_ms`, and once more
    /// at the end.
    pub fn run(
        mut self,
        rx: Receiver<FilledSets>,
        sender: &mut dyn BatchSender,
        stop: Arc<AtomicBool>,
    ) -> Self {
        let every = Duration::from_millis(self.cfg.flush_ms.max(1));
        let mut next = Instant::now() + every;
        loop {
            let wait = next.saturating_duration_since(Instant::now());
            match rx.recv_timeout(wait) {
                Ok(f) => {
                    self.add(f);
                    if Instant::now() < next {
                        continue;
                    }
                }
                Err(crossbeam::channel::RecvTimeoutError::Timeout) => {}
                Err(crossbeam::channel::RecvTimeoutError::Disconnected) => {
                    self.flush(sender);
                    return self;
                }
            }
            next = Instant::now() + every;
            self.flush(sender);
            if stop.load(Ordering::SeqCst) && rx.is_empty() {
                return self;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::{Contracts, Route};

    struct Fake {
        sent: Vec<Vec<TxCall>>,
        fail: bool,
    }

    /// Answers a restart's question about a ticket, and counts what it is asked to send.
    struct Restarted {
        executed: Option<bool>,
        asked: Vec<(String, usize)>,
        sent: usize,
    }

    impl BatchSender for Restarted {
        fn ticket(&mut self) -> Result<String, String> {
            Ok("nonce 8".into())
        }
        fn send(&mut self, ticket: &str, _calls: &[TxCall]) -> Result<u64, String> {
            assert_eq!(ticket, "nonce 8");
            self.sent += 1;
            Ok(1)
        }
        fn executed(&mut self, ticket: &str, calls: usize) -> Result<Option<bool>, String> {
            self.asked.push((ticket.to_string(), calls));
            Ok(self.executed)
        }
    }

    impl BatchSender for Fake {
        fn send(&mut self, _ticket: &str, calls: &[TxCall]) -> Result<u64, String> {
            if self.fail {
                return Err("relayer said no".into());
            }
            self.sent.push(calls.to_vec());
            Ok(100_000 * calls.len() as u64)
        }
    }

    fn recycler(
        cfg: RecycleConfig,
        journal: Option<RecycleJournal>,
    ) -> (Recycler, Arc<RecycleStats>) {
        let stats = Arc::new(RecycleStats::default());
        let s = Settlement::new(Contracts::default(), Route::Adapter);
        (Recycler::new(cfg, s, stats.clone(), journal), stats)
    }

    fn merge(c: u8, sets: u64) -> FilledSets {
        FilledSets {
            key: SetKey::Merge {
                kind: MarketKind::Binary,
                condition: B256::repeat_byte(c),
            },
            sets,
            tokens: vec![],
        }
    }

    #[test]
    fn batches_wait_for_min_sets_and_gas_then_merge_and_convert_together() {
        let dir = std::env::temp_dir().join(format!("polyarb-recycle-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("recycle.sqlite");
        let _ = std::fs::remove_file(&path);
        let cfg = RecycleConfig {
            min_sets: 5_000_000,
            max_gas_per_pusd: 60_000,
            gas_per_call: 150_000,
            flush_ms: 1,
            ..RecycleConfig::default()
        };
        let (mut r, stats) = recycler(cfg, Some(RecycleJournal::open(&path).unwrap()));
        let mut f = Fake {
            sent: vec![],
            fail: false,
        };
        r.add(merge(1, 2_000_000));
        assert_eq!(r.flush(&mut f), None, "below min_sets");
        r.add(merge(1, 2_000_000));
        r.add(merge(2, 1_500_000));
        // 5.5 sets in two calls: 300k gas for 5.5 pUSD = 54.5k per pUSD ≤ 60k.
        let convert = FilledSets {
            key: SetKey::Convert {
                market: B256::repeat_byte(9),
                index_set: U256::from(0b111),
                questions: 3,
            },
            sets: 1_000_000,
            tokens: vec![],
        };
        r.add(convert);
        // Three calls (450k gas) for 7.5 pUSD = 60k per pUSD: still worth it.
        assert_eq!(r.flush(&mut f), Some(true));
        assert_eq!(f.sent.len(), 1);
        let labels: Vec<&str> = f.sent[0].iter().map(|c| c.label.as_str()).collect();
        assert_eq!(labels.len(), 3);
        assert!(labels[0].starts_with("merge") && labels[0].ends_with(" 4000000"));
        assert!(labels[2].starts_with("convert"));
        assert_eq!(stats.sets_merged.load(Ordering::Relaxed), 5_500_000);
        assert_eq!(stats.sets_converted.load(Ordering::Relaxed), 1_000_000);
        assert_eq!(stats.pusd_freed.load(Ordering::Relaxed), 7_500_000);
        assert_eq!(stats.gas_per_pusd(), Some(40_000));
        assert_eq!(r.pending_sets(), 0);
        // Too dear: one merge per tiny condition.
        for c in 10..20 {
            r.add(merge(c, 600_000));
        }
        assert!(
            r.due().is_none(),
            "10 calls for 6 pUSD exceed the gas per pUSD"
        );
        let j = RecycleJournal::open(&path).unwrap();
        assert_eq!(
            j.rows().unwrap(),
            vec![("done".to_string(), 6_500_000, 7_500_000)]
        );
    }

    #[test]
    fn a_failed_batch_keeps_its_sets_and_offers_never_block() {
        let (mut r, stats) = recycler(
            RecycleConfig {
                min_sets: 1,
                ..RecycleConfig::default()
            },
            None,
        );
        r.add(merge(1, 5_000_000));
        let mut f = Fake {
            sent: vec![],
            fail: true,
        };
        assert_eq!(r.flush(&mut f), Some(false));
        assert_eq!(r.pending_sets(), 5_000_000);
        assert_eq!(stats.failed_batches.load(Ordering::Relaxed), 1);
        f.fail = false;
        assert_eq!(r.flush(&mut f), Some(true));

        let (tx, rx, stats) = channel(2);
        assert!(tx.offer(merge(1, 1)));
        assert!(tx.offer(merge(1, 1)));
        assert!(!tx.offer(merge(1, 1)), "a full channel refuses at once");
        assert_eq!(stats.dropped.load(Ordering::Relaxed), 1);
        drop(tx);
        let cfg = RecycleConfig {
            min_sets: 1,
            flush_ms: 1,
            max_gas_per_pusd: u64::MAX,
            ..RecycleConfig::default()
        };
        let (r, _) = recycler(cfg, None);
        let mut f = Fake {
            sent: vec![],
            fail: false,
        };
        let r = r.run(rx, &mut f, Arc::new(AtomicBool::new(true)));
        assert_eq!(r.pending_sets(), 0);
        assert_eq!(f.sent.len(), 1);
        assert_eq!(
            f.sent[0][0].label,
            format!("merge {} 2", B256::repeat_byte(1))
        );
    }

    #[test]
    fn a_batch_left_sending_by_a_crash_is_never_sent_blindly() {
        let dir =
            std::env::temp_dir().join(format!("polyarb-recycle-crash-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cfg = RecycleConfig {
            min_sets: 1,
            max_gas_per_pusd: u64::MAX,
            ..RecycleConfig::default()
        };
        let token = |n: u32| TokenId::parse(&n.to_string()).unwrap();
        let item = FilledSets {
            key: SetKey::Merge {
                kind: MarketKind::Binary,
                condition: B256::repeat_byte(3),
            },
            sets: 2_000_000,
            tokens: vec![token(11), token(12)],
        };
        // (what the sender says about the ticket) → (status, sends, pending, reported).
        for (executed, status, pending, reported) in [
            (Some(true), "done", 0, 1),
            (Some(false), "unsent", 2_000_000, 0),
            (None, "unknown", 0, 0),
        ] {
            let path = dir.join(format!("{executed:?}.sqlite"));
            let _ = std::fs::remove_file(&path);
            {
                // The journal row of a batch whose process died before the answer.
                let j = RecycleJournal::open(&path).unwrap();
                let (r, _) = recycler(cfg.clone(), None);
                let calls = vec![r.call(&item.key, item.sets)];
                j.begin(&calls, std::slice::from_ref(&item), "nonce 7", 2_000_000)
                    .unwrap();
            }
            let (done_tx, done_rx) = crossbeam::channel::unbounded();
            let (r, stats) = recycler(cfg.clone(), Some(RecycleJournal::open(&path).unwrap()));
            let mut r = r.reporting(done_tx);
            let mut s = Restarted {
                executed,
                asked: vec![],
                sent: 0,
            };
            r.recover(&mut s);
            assert_eq!(s.asked, vec![("nonce 7".to_string(), 1)]);
            assert_eq!(s.sent, 0, "recovery itself sends nothing");
            assert_eq!(r.pending_sets(), pending, "{executed:?}");
            let got: Vec<Recycled> = done_rx.try_iter().collect();
            assert_eq!(got.len(), reported, "{executed:?}");
            if let Some(d) = got.first() {
                assert_eq!(d.id, "recycle-1");
                assert_eq!(d.items, vec![item.clone()]);
                assert_eq!(stats.pusd_freed.load(Ordering::Relaxed), 2_000_000);
            }
            let rows = RecycleJournal::open(&path).unwrap().rows().unwrap();
            assert_eq!(rows[0].0, status);
            // A second start finds nothing open: nothing is asked or sent twice.
            let (r2, _) = recycler(cfg.clone(), Some(RecycleJournal::open(&path).unwrap()));
            let mut r2 = r2;
            let mut s2 = Restarted {
                executed,
                asked: vec![],
                sent: 0,
            };
            r2.recover(&mut s2);
            assert!(s2.asked.is_empty());
            // Only sets known not to have executed go out again, under a new ticket.
            assert_eq!(r.flush(&mut s).is_some(), pending > 0);
            assert_eq!(s.sent, usize::from(pending > 0));
        }
    }

    #[test]
    fn a_batch_failing_max_attempts_in_a_row_is_given_up_and_counted() {
        let (mut r, stats) = recycler(
            RecycleConfig {
                min_sets: 1,
                max_attempts: 3,
                ..RecycleConfig::default()
            },
            None,
        );
        r.add(merge(1, 5_000_000));
        let mut f = Fake {
            sent: vec![],
            fail: true,
        };
        assert_eq!(r.flush(&mut f), Some(false));
        assert_eq!(r.flush(&mut f), Some(false));
        assert_eq!(r.pending_sets(), 5_000_000);
        assert_eq!(r.flush(&mut f), Some(false));
        assert_eq!(r.pending_sets(), 0, "given up after the third failure");
        assert_eq!(stats.failed_batches.load(Ordering::Relaxed), 3);
        assert_eq!(stats.sets_abandoned.load(Ordering::Relaxed), 5_000_000);
        assert!(stats.line().contains("(failed 3)"), "{}", stats.line());
    }
}
