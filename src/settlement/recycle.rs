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
//! per pUSD freed (the gas being [`RecycleConfig::gas_per_call`] per call). Every batch is
//! journaled (SQLite) before it is sent and marked with its outcome after; [`RecycleStats`]
//! counts sets merged and converted, pUSD freed and gas spent.
//!
//! Neg-risk YES sets (the YES of every question) cannot be merged or converted: they pay at
//! resolution and are not offered here.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use alloy_primitives::{B256, U256};
use crossbeam::channel::{Receiver, Sender, TrySendError, bounded};
use rusqlite::{Connection, params};
use serde::Deserialize;
use thiserror::Error;

use super::calls::{MarketKind, Settlement};
use crate::chain::TxCall;

/// When a batch is worth sending.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct RecycleConfig {
    /// Fewest sets (micro-shares) of one batch.
    pub min_sets: u64,
    /// Most gas a batch may spend per pUSD it frees.
    pub max_gas_per_pusd: u64,
    /// The gas one merge or convert is counted at.
    pub gas_per_call: u64,
    /// How long the recycler waits for more sets before it looks at what is pending.
    pub flush_ms: u64,
}

impl Default for RecycleConfig {
    fn default() -> Self {
        Self {
            min_sets: 5_000_000,
            max_gas_per_pusd: 50_000,
            gas_per_call: 150_000,
            flush_ms: 500,
        }
    }
}

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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FilledSets {
    pub key: SetKey,
    /// Micro-shares.
    pub sets: u64,
}

/// What the recycler has done.
#[derive(Debug, Default)]
pub struct RecycleStats {
    pub offered: AtomicU64,
    /// Offers lost to a full channel (their sets stay held as tokens).
    pub dropped: AtomicU64,
    pub batches: AtomicU64,
    pub failed_batches: AtomicU64,
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
    /// Sends every call; returns the gas they used (the relayer's own: counted at the
    /// configured estimate).
    fn send(&mut self, calls: &[TxCall]) -> Result<u64, String>;
}

#[derive(Debug, Error)]
#[error("recycle journal {path}: {message}")]
pub struct RecycleJournalError {
    path: String,
    message: String,
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

    fn err(&self, e: rusqlite::Error) -> RecycleJournalError {
        RecycleJournalError {
            path: self.path.clone(),
            message: e.to_string(),
        }
    }

    fn begin(&self, calls: &[TxCall], sets: u64, freed: u64) -> Result<i64, RecycleJournalError> {
        let labels: Vec<&str> = calls.iter().map(|c| c.label.as_str()).collect();
        self.conn
            .execute(
                "INSERT INTO recycle_batch (calls, sets, pusd_freed, status) VALUES (?1, ?2, ?3, 'sending')",
                params![labels.join("; "), sets as i64, freed as i64],
            )
            .map_err(|e| self.err(e))?;
        Ok(self.conn.last_insert_rowid())
    }

    fn finish(&self, id: i64, r: &Result<u64, String>) -> Result<(), RecycleJournalError> {
        let (status, gas, error) = match r {
            Ok(g) => ("done", Some(*g as i64), None),
            Err(e) => ("failed", None, Some(e.as_str())),
        };
        self.conn
            .execute(
                "UPDATE recycle_batch SET status = ?1, gas = ?2, error = ?3 WHERE id = ?4",
                params![status, gas, error, id],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
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

/// Adds up offered sets and sends them back as pUSD when a batch is worth it.
pub struct Recycler {
    cfg: RecycleConfig,
    settlement: Settlement,
    pending: BTreeMap<SetKey, u64>,
    stats: Arc<RecycleStats>,
    journal: Option<RecycleJournal>,
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
        }
    }

    pub fn add(&mut self, f: FilledSets) {
        let e = self.pending.entry(f.key).or_default();
        *e = e.saturating_add(f.sets);
    }

    /// Micro-shares waiting.
    pub fn pending_sets(&self) -> u64 {
        self.pending.values().sum()
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
        let freed: u64 = self.pending.iter().map(|(k, s)| k.freed(*s)).sum();
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
        let calls = self.pending.iter().map(|(k, s)| self.call(k, *s)).collect();
        Some((calls, sets, freed))
    }

    /// Sends the due batch, if any: `Some(true)` sent, `Some(false)` failed (the sets stay
    /// pending for the next try), `None` nothing due.
    pub fn flush(&mut self, sender: &mut dyn BatchSender) -> Option<bool> {
        let (calls, sets, freed) = self.due()?;
        let row = match &self.journal {
            Some(j) => match j.begin(&calls, sets, freed) {
                Ok(id) => Some(id),
                Err(e) => {
                    tracing::warn!(error = %e, "recycle batch not sent: cannot journal it");
                    return Some(false);
                }
            },
            None => None,
        };
        let r = sender.send(&calls);
        if let (Some(j), Some(id)) = (&self.journal, row)
            && let Err(e) = j.finish(id, &r)
        {
            tracing::warn!(error = %e, "cannot journal a recycle batch's outcome");
        }
        self.stats.batches.fetch_add(1, Ordering::Relaxed);
        match r {
            Ok(gas) => {
                for (k, s) in std::mem::take(&mut self.pending) {
                    let c = match k {
                        SetKey::Merge { .. } => &self.stats.sets_merged,
                        SetKey::Convert { .. } => &self.stats.sets_converted,
                    };
                    c.fetch_add(s, Ordering::Relaxed);
                }
                self.stats.pusd_freed.fetch_add(freed, Ordering::Relaxed);
                self.stats.gas_spent.fetch_add(gas, Ordering::Relaxed);
                Some(true)
            }
            Err(e) => {
                tracing::warn!(error = %e, "recycle batch failed");
                self.stats.failed_batches.fetch_add(1, Ordering::Relaxed);
                Some(false)
            }
        }
    }

    /// The recycler's thread body: takes offers until `stop` and the channel is drained,
    /// flushing whenever the channel has been quiet for `flush_ms`, and once more at the end.
    pub fn run(
        mut self,
        rx: Receiver<FilledSets>,
        sender: &mut dyn BatchSender,
        stop: Arc<AtomicBool>,
    ) -> Self {
        let quiet = Duration::from_millis(self.cfg.flush_ms.max(1));
        loop {
            match rx.recv_timeout(quiet) {
                Ok(f) => {
                    self.add(f);
                    continue;
                }
                Err(crossbeam::channel::RecvTimeoutError::Timeout) => {}
                Err(crossbeam::channel::RecvTimeoutError::Disconnected) => {
                    self.flush(sender);
                    return self;
                }
            }
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

    impl BatchSender for Fake {
        fn send(&mut self, calls: &[TxCall]) -> Result<u64, String> {
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
}
