//! The sending side: [`ChainClient`] turns a [`TxCall`] into a signed EIP-1559 transaction
//! (nonce, gas, fees within the configured caps), journals it, sends it, waits for its receipt
//! and replaces it with a higher fee when it is stuck.
//!
//! Journal first: a transaction is committed to the [`TxJournal`] before
//! `eth_sendRawTransaction`, so a restarted client ([`ChainClient::resume`]) finds every nonce
//! it used. For each open one it looks the hashes up and waits for their receipt; only a signed
//! transaction the node has never seen is broadcast again, with its original bytes (the same
//! hash: it can only ever execute once).

use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use alloy_primitives::{Address, B256, Bytes, U256};
use thiserror::Error;

use super::config::GasConfig;
use super::journal::{JournalError, TxJournal, TxRow, TxStatus};
use super::rpc::{CallRequest, Receipt, Rpc, RpcError};
use super::tx::{Eip1559Tx, SignedTx};
use crate::adapters::polymarket::signing::PrivateKey;

/// Why a chain operation failed.
#[derive(Debug, Error)]
pub enum ChainError {
    #[error(transparent)]
    Rpc(#[from] RpcError),
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error("the node at {url} is chain {got}, the config says chain {expected}")]
    WrongChain {
        url: String,
        expected: u64,
        got: u64,
    },
    #[error("{label}: would revert: {reason}")]
    WouldRevert { label: String, reason: String },
    #[error("{label}: transaction {hash} reverted in block {block}: {}", reason.as_deref().unwrap_or("no reason given"))]
    Reverted {
        label: String,
        hash: B256,
        block: u64,
        reason: Option<String>,
    },
    #[error("{label}: needs {needed} gas, above the cap gas.gas_limit_cap = {cap}")]
    GasAboveCap {
        label: String,
        needed: u64,
        cap: u64,
    },
    #[error("base fee {base_fee} wei is at or above the cap gas.max_fee_per_gas_cap = {cap} wei")]
    BaseFeeAboveCap { base_fee: u128, cap: u128 },
    #[error(
        "nonce {nonce}: the fee is already at the cap gas.max_fee_per_gas_cap ({cap} wei); not replaced"
    )]
    ReplacementAtCap { nonce: u64, cap: u128 },
    #[error("no journaled transaction {0}")]
    UnknownTx(B256),
    #[error("transaction {hash} (nonce {nonce}): no receipt within {waited_ms} ms")]
    Timeout {
        hash: B256,
        nonce: u64,
        waited_ms: u64,
    },
}

/// A contract call to send as a transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxCall {
    /// What it does, for people and the journal.
    pub label: String,
    pub to: Address,
    pub data: Bytes,
    /// A fixed gas limit (skips `eth_estimateGas`); `None` estimates.
    pub gas_limit: Option<u64>,
}

/// A mined transaction.
#[derive(Clone, Debug)]
pub struct Mined {
    pub label: String,
    pub nonce: u64,
    pub receipt: Receipt,
}

/// Sends the engine's transactions from one key. See the module doc.
pub struct ChainClient {
    rpc: Rpc,
    key: PrivateKey,
    journal: TxJournal,
    chain_id: u64,
    gas: GasConfig,
}

impl ChainClient {
    /// Opens the journal and checks that the node serves `chain_id`.
    pub fn open(
        mut rpc: Rpc,
        key: PrivateKey,
        journal: &Path,
        chain_id: u64,
        gas: GasConfig,
    ) -> Result<Self, ChainError> {
        let got = rpc.chain_id()?;
        if got != chain_id {
            return Err(ChainError::WrongChain {
                url: rpc.url().to_string(),
                expected: chain_id,
                got,
            });
        }
        let journal = TxJournal::open(journal)?;
        Ok(Self {
            rpc,
            key,
            journal,
            chain_id,
            gas,
        })
    }

    pub fn address(&self) -> Address {
        Address::from(self.key.address().0)
    }

    pub fn rpc(&mut self) -> &mut Rpc {
        &mut self.rpc
    }

    pub fn journal(&self) -> &TxJournal {
        &self.journal
    }

    /// `eth_call` from this account against the latest block.
    pub fn call(&mut self, to: Address, data: Bytes) -> Result<Bytes, ChainError> {
        let req = CallRequest {
            from: Some(self.address()),
            to,
            data,
            gas: None,
        };
        Ok(self.rpc.eth_call(&req, "latest")?)
    }

    /// The next nonce: past both the node's pending count and every nonce journaled here.
    pub fn next_nonce(&mut self) -> Result<u64, ChainError> {
        let node = self.rpc.transaction_count(self.address(), "pending")?;
        let journaled = self.journal.next_nonce(self.chain_id, self.address())?;
        Ok(node.max(journaled))
    }

    /// Fees for a new transaction: the node's suggested tip raised to the configured minimum
    /// and capped, and a max fee of twice the next base fee plus the tip, capped.
    fn fees(&mut self) -> Result<(u128, u128), ChainError> {
        let base = self.rpc.next_base_fee()?;
        let cap = u128::from(self.gas.max_fee_per_gas_cap);
        if base >= cap {
            return Err(ChainError::BaseFeeAboveCap {
                base_fee: base,
                cap,
            });
        }
        let suggested = self.rpc.max_priority_fee()?;
        let tip = suggested
            .max(u128::from(self.gas.min_priority_fee))
            .min(u128::from(self.gas.priority_fee_cap));
        let max_fee = base.saturating_mul(2).saturating_add(tip).min(cap);
        Ok((tip.min(max_fee), max_fee))
    }

    /// The unsigned transaction for `call`: nonce, gas (estimated plus the margin, capped) and
    /// fees. Sends nothing (what `--dry-run` prints).
    pub fn prepare(&mut self, call: &TxCall) -> Result<Eip1559Tx, ChainError> {
        let gas_limit = match call.gas_limit {
            Some(g) => g,
            None => {
                let req = CallRequest {
                    from: Some(self.address()),
                    to: call.to,
                    data: call.data.clone(),
                    gas: None,
                };
                let est = self
                    .rpc
                    .estimate_gas(&req)
                    .map_err(|e| match e.revert_reason() {
                        Some(reason) => ChainError::WouldRevert {
                            label: call.label.clone(),
                            reason,
                        },
                        None => ChainError::Rpc(e),
                    })?;
                est.saturating_mul(100 + u64::from(self.gas.gas_limit_margin_pct)) / 100
            }
        };
        if gas_limit > self.gas.gas_limit_cap {
            return Err(ChainError::GasAboveCap {
                label: call.label.clone(),
                needed: gas_limit,
                cap: self.gas.gas_limit_cap,
            });
        }
        let (tip, max_fee) = self.fees()?;
        Ok(Eip1559Tx {
            chain_id: self.chain_id,
            nonce: self.next_nonce()?,
            max_priority_fee_per_gas: tip,
            max_fee_per_gas: max_fee,
            gas_limit,
            to: call.to,
            value: U256::ZERO,
            input: call.data.clone(),
        })
    }

    /// Signs `tx` and commits it to the journal (status `signed`); sends nothing.
    pub fn sign_and_journal(
        &mut self,
        label: &str,
        tx: &Eip1559Tx,
    ) -> Result<SignedTx, ChainError> {
        let signed = tx.sign(&self.key);
        self.journal
            .insert_signed(self.chain_id, self.address(), label, &signed)?;
        Ok(signed)
    }

    /// Broadcasts a journaled transaction and marks it `sent`. A node that already has it
    /// ("already known") counts as sent.
    fn broadcast(&mut self, hash: B256, raw: &[u8]) -> Result<(), ChainError> {
        match self.rpc.send_raw_transaction(raw) {
            Ok(_) => {}
            Err(RpcError::Node { message, .. })
                if message.to_ascii_lowercase().contains("already known") => {}
            Err(e) => {
                self.journal.set_status(
                    hash,
                    TxStatus::Signed,
                    None,
                    None,
                    Some(&e.to_string()),
                )?;
                return Err(e.into());
            }
        }
        self.journal
            .set_status(hash, TxStatus::Sent, None, None, None)?;
        Ok(())
    }

    /// Broadcasts a transaction [`Self::sign_and_journal`] has journaled.
    pub fn send_signed(&mut self, signed: &SignedTx) -> Result<(), ChainError> {
        self.broadcast(signed.hash, &signed.raw)
    }

    /// Prepares, journals and sends `call`; returns its hash without waiting.
    pub fn send(&mut self, call: &TxCall) -> Result<B256, ChainError> {
        let tx = self.prepare(call)?;
        let signed = self.sign_and_journal(&call.label, &tx)?;
        self.broadcast(signed.hash, &signed.raw)?;
        Ok(signed.hash)
    }

    /// Sends `call` and waits for it to be mined; a revert is an error with its reason.
    pub fn execute(&mut self, call: &TxCall) -> Result<Mined, ChainError> {
        let hash = self.send(call)?;
        self.wait(hash)
    }

    /// Replaces the newest transaction of `nonce` with the same call at fees raised by
    /// `gas.fee_bump_pct` (capped); returns the new hash.
    pub fn replace(&mut self, nonce: u64) -> Result<B256, ChainError> {
        let rows = self
            .journal
            .by_nonce(self.chain_id, self.address(), nonce)?;
        let Some(last) = rows.last() else {
            return Err(ChainError::UnknownTx(B256::ZERO));
        };
        let cap = u128::from(self.gas.max_fee_per_gas_cap);
        if last.max_fee_per_gas >= cap {
            return Err(ChainError::ReplacementAtCap { nonce, cap });
        }
        let bump = |v: u128| {
            let pct = 100 + u128::from(self.gas.fee_bump_pct);
            // Rounded up: nodes want at least the percentage, and 1 wei short is refused.
            v.saturating_mul(pct).div_ceil(100)
        };
        let max_fee = bump(last.max_fee_per_gas).min(cap);
        let tip = bump(last.max_priority_fee_per_gas).min(max_fee);
        let tx = Eip1559Tx {
            chain_id: self.chain_id,
            nonce,
            max_priority_fee_per_gas: tip,
            max_fee_per_gas: max_fee,
            gas_limit: last.gas_limit,
            to: last.to,
            value: U256::ZERO,
            input: last.data.clone(),
        };
        let label = last.label.clone();
        let signed = self.sign_and_journal(&label, &tx)?;
        match self.broadcast(signed.hash, &signed.raw) {
            Ok(()) => Ok(signed.hash),
            // The original was mined meanwhile: the replacement can never be.
            Err(ChainError::Rpc(RpcError::Node { message, .. }))
                if message.to_ascii_lowercase().contains("nonce too low") =>
            {
                self.journal.set_status(
                    signed.hash,
                    TxStatus::Dropped,
                    None,
                    None,
                    Some("nonce already used"),
                )?;
                Ok(last_hash(&rows))
            }
            Err(e) => Err(e),
        }
    }

    /// Checks every transaction of `nonce` for a receipt; settles the journal when one is mined.
    fn poll_nonce(&mut self, nonce: u64) -> Result<Option<(TxRow, Receipt)>, ChainError> {
        let rows = self
            .journal
            .by_nonce(self.chain_id, self.address(), nonce)?;
        for row in &rows {
            if row.status == TxStatus::Dropped {
                continue;
            }
            if let Some(receipt) = self.rpc.transaction_receipt(row.hash)? {
                let block = u64::try_from(receipt.block_number).unwrap_or(u64::MAX);
                let used = u64::try_from(receipt.gas_used).unwrap_or(u64::MAX);
                let status = if receipt.succeeded() {
                    TxStatus::Mined
                } else {
                    TxStatus::Reverted
                };
                let reason = if receipt.succeeded() {
                    None
                } else {
                    self.replay_reason(row, block)
                };
                self.journal.set_status(
                    row.hash,
                    status,
                    Some(block),
                    Some(used),
                    reason.as_deref(),
                )?;
                for other in rows.iter().filter(|r| r.hash != row.hash) {
                    self.journal.set_status(
                        other.hash,
                        TxStatus::Dropped,
                        None,
                        None,
                        Some("another transaction with this nonce was mined"),
                    )?;
                }
                let mut row = row.clone();
                row.status = status;
                row.error = reason;
                return Ok(Some((row, receipt)));
            }
        }
        Ok(None)
    }

    /// A mined revert's reason: the same call replayed against the state before its block.
    fn replay_reason(&mut self, row: &TxRow, block: u64) -> Option<String> {
        let req = CallRequest {
            from: Some(row.sender),
            to: row.to,
            data: row.data.clone(),
            gas: Some(row.gas_limit),
        };
        let at = format!("{:#x}", block.saturating_sub(1));
        match self.rpc.eth_call(&req, &at) {
            Err(e) => e.revert_reason(),
            // The replay passed: the revert depended on its place in the block (or on gas).
            Ok(_) => None,
        }
    }

    /// Waits for the transaction `hash` (or a replacement of it) to be mined, replacing it
    /// after `gas.stuck_after_ms` without a receipt.
    pub fn wait(&mut self, hash: B256) -> Result<Mined, ChainError> {
        let row = self
            .journal
            .by_hash(hash)?
            .ok_or(ChainError::UnknownTx(hash))?;
        let start = Instant::now();
        let mut last_send = Instant::now();
        let timeout = Duration::from_millis(self.gas.receipt_timeout_ms);
        let stuck = Duration::from_millis(self.gas.stuck_after_ms);
        loop {
            if let Some((mined, receipt)) = self.poll_nonce(row.nonce)? {
                if mined.status == TxStatus::Reverted {
                    return Err(ChainError::Reverted {
                        label: mined.label,
                        hash: mined.hash,
                        block: mined.block.unwrap_or(0),
                        reason: mined.error,
                    });
                }
                return Ok(Mined {
                    label: mined.label,
                    nonce: mined.nonce,
                    receipt,
                });
            }
            if start.elapsed() >= timeout {
                return Err(ChainError::Timeout {
                    hash,
                    nonce: row.nonce,
                    waited_ms: u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX),
                });
            }
            if self.gas.stuck_after_ms > 0 && last_send.elapsed() >= stuck {
                match self.replace(row.nonce) {
                    Ok(new) => {
                        tracing::warn!(nonce = row.nonce, %new, "stuck transaction replaced")
                    }
                    Err(e @ ChainError::ReplacementAtCap { .. }) => {
                        tracing::warn!(error = %e, "stuck transaction left as is")
                    }
                    Err(e) => return Err(e),
                }
                last_send = Instant::now();
            }
            thread::sleep(Duration::from_millis(self.gas.poll_interval_ms));
        }
    }

    /// After a restart: every journaled transaction still open is looked up; one the node has
    /// never seen is broadcast again with its original bytes; then each nonce is waited for.
    /// Reverts are reported in the results, not as errors.
    pub fn resume(&mut self) -> Result<Vec<Result<Mined, ChainError>>, ChainError> {
        let open = self.journal.open_rows(self.chain_id, self.address())?;
        let mut nonces: Vec<u64> = open.iter().map(|r| r.nonce).collect();
        nonces.dedup();
        for row in &open {
            if self.rpc.transaction_receipt(row.hash)?.is_some() {
                continue;
            }
            if !self.rpc.transaction_known(row.hash)? {
                tracing::warn!(hash = %row.hash, nonce = row.nonce, "journaled transaction unknown to the node: broadcasting its signed bytes again");
                if let Err(e) = self.broadcast(row.hash, &row.raw) {
                    tracing::warn!(hash = %row.hash, error = %e, "rebroadcast refused");
                }
            } else if row.status == TxStatus::Signed {
                self.journal
                    .set_status(row.hash, TxStatus::Sent, None, None, None)?;
            }
        }
        let mut out = Vec::new();
        for nonce in nonces {
            let rows = self
                .journal
                .by_nonce(self.chain_id, self.address(), nonce)?;
            out.push(self.wait(last_hash(&rows)));
        }
        Ok(out)
    }
}

fn last_hash(rows: &[TxRow]) -> B256 {
    rows.last().map_or(B256::ZERO, |r| r.hash)
}
