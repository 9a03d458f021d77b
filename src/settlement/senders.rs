//! The recycler's [`BatchSender`]s as `[chain]` configures them: an EOA account sends each
//! call as its own transaction through the chain client (journaled there too, so its own
//! restart never sends twice); a Safe, proxy or deposit-wallet account sends each batch as one
//! relayer request (`relayer_client::RelayerBatchSender`).

use std::time::Duration;

use alloy_primitives::Address;
use thiserror::Error;

use super::recycle::BatchSender;
use super::relayer::{self, AccountType, RequestContext};
use super::relayer_client::{RelayerAuth, RelayerBatchSender, RelayerClient, RelayerError};
use crate::adapters::polymarket::signing::PrivateKey;
use crate::chain::{ChainClient, ChainConfig, ChainError, Rpc, TxCall};

/// Why no sender could be made.
#[derive(Debug, Error)]
pub enum SenderError {
    #[error("[chain.relayer] wallet is needed for a deposit-wallet account")]
    NoWallet,
    #[error(transparent)]
    Relayer(#[from] RelayerError),
    #[error(transparent)]
    Chain(#[from] ChainError),
}

/// The wallet an account's calls run from: `[chain.relayer] wallet`, else derived from the
/// owner (Safe, proxy); an EOA is its own.
pub fn wallet_of(cfg: &ChainConfig, owner: Address) -> Result<Address, SenderError> {
    if let Some(w) = cfg.relayer.wallet {
        return Ok(w);
    }
    let c = &cfg.relayer.contracts;
    match cfg.account {
        AccountType::Eoa => Ok(owner),
        AccountType::Safe => Ok(relayer::safe_address(c.safe_factory, owner)),
        AccountType::Proxy => Ok(relayer::proxy_address(c.proxy_factory, owner)),
        AccountType::DepositWallet => Err(SenderError::NoWallet),
    }
}

/// The sender of `cfg`'s account, owned by `key`. `auth` overrides `[chain.relayer]
/// auth_file`; the relayer calls count `gas_per_call` each.
pub fn batch_sender(
    cfg: &ChainConfig,
    key: PrivateKey,
    auth: Option<RelayerAuth>,
    gas_per_call: u64,
) -> Result<Box<dyn BatchSender + Send>, SenderError> {
    if cfg.account == AccountType::Eoa {
        let rpc = Rpc::new(&cfg.rpc_url, Duration::from_millis(cfg.rpc_timeout_ms));
        let client = ChainClient::open(rpc, key, &cfg.journal, cfg.chain_id, cfg.gas.clone())?;
        return Ok(Box::new(ChainBatchSender {
            client,
            chain_id: cfg.chain_id,
        }));
    }
    let owner = Address::from(key.address().0);
    let wallet = wallet_of(cfg, owner)?;
    let r = &cfg.relayer;
    let auth = match (auth, &r.auth_file) {
        (Some(a), _) => Some(a),
        (None, Some(p)) => Some(RelayerAuth::from_file(p)?),
        (None, None) => None,
    };
    let client = RelayerClient::new(
        &r.url,
        auth,
        Duration::from_millis(r.timeout_ms),
        Duration::from_millis(r.poll_interval_ms),
        r.max_polls,
    );
    Ok(Box::new(RelayerBatchSender {
        client,
        key,
        ctx: RequestContext {
            account: cfg.account,
            chain_id: cfg.chain_id,
            wallet,
            contracts: r.contracts.clone(),
            nonce: alloy_primitives::U256::ZERO,
            relay: None,
            proxy_gas_limit: r.proxy_gas_limit,
            deadline: 0,
            metadata: String::new(),
        },
        gas_per_call,
        deadline_s: r.deadline_s,
    }))
}

/// An EOA's batches: one transaction per call, each waited for; the gas is the receipts'.
/// The ticket is the first call's nonce.
pub struct ChainBatchSender {
    pub client: ChainClient,
    pub chain_id: u64,
}

impl BatchSender for ChainBatchSender {
    fn ticket(&mut self) -> Result<String, String> {
        self.client
            .next_nonce()
            .map(|n| n.to_string())
            .map_err(|e| e.to_string())
    }

    fn send(&mut self, _ticket: &str, calls: &[TxCall]) -> Result<u64, String> {
        let mut gas = 0u64;
        for c in calls {
            let m = self.client.execute(c).map_err(|e| e.to_string())?;
            gas = gas.saturating_add(u64::try_from(m.receipt.gas_used).unwrap_or(u64::MAX));
        }
        Ok(gas)
    }

    /// Mined past every call's nonce: executed. Nothing mined or journaled at the first
    /// nonce: not sent. Anything between (some calls out): unknown, left to the chain
    /// journal's own resume.
    fn executed(&mut self, ticket: &str, calls: usize) -> Result<Option<bool>, String> {
        let first: u64 = ticket
            .parse()
            .map_err(|e| format!("ticket {ticket:?}: {e}"))?;
        let me = self.client.address();
        let mined = self
            .client
            .rpc()
            .transaction_count(me, "latest")
            .map_err(|e| e.to_string())?;
        if mined >= first.saturating_add(calls as u64) {
            return Ok(Some(true));
        }
        let journaled = self
            .client
            .journal()
            .next_nonce(self.chain_id, me)
            .map_err(|e| e.to_string())?;
        Ok((mined <= first && journaled <= first).then_some(false))
    }
}
