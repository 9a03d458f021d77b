//! The relayer's HTTP API (blocking, ureq): `GET /nonce` and `GET /relay-payload` (the nonce,
//! and for proxy wallets the relay), `GET /deployed`, `POST /submit`, and `GET /transaction`
//! polled until the transaction is mined or has failed. Requests carry builder or relayer-key
//! authentication read from a file ([`RelayerAuth`]).

use std::path::Path;
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use alloy_primitives::{Address, U256};
use serde::Deserialize;
use serde_json::Value;
use thiserror::Error;

use super::relayer::{AccountType, SubmitRequest};
use crate::adapters::polymarket::signing::auth::{ApiCredentials, L2Signer};

/// Why a relayer call failed.
#[derive(Debug, Error)]
pub enum RelayerError {
    #[error("relayer {path}: transport: {message}")]
    Transport { path: String, message: String },
    #[error("relayer {path}: HTTP status {status}: {body}")]
    Status {
        path: String,
        status: u16,
        body: String,
    },
    #[error("relayer {path}: malformed answer: {message}")]
    Malformed { path: String, message: String },
    #[error("relayer auth file {path}: {message}")]
    Auth { path: String, message: String },
    #[error("relayer transaction {id}: {state}{}", .message.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
    Failed {
        id: String,
        state: String,
        message: Option<String>,
    },
    #[error("relayer transaction {id}: still {state} after {polls} polls")]
    Timeout {
        id: String,
        state: String,
        polls: u32,
    },
    #[error("account type {0:?} does not use the relayer")]
    NotRelayed(AccountType),
}

/// How requests are authenticated.
#[derive(Clone, Debug)]
pub enum RelayerAuth {
    /// Builder API credentials: `POLY_BUILDER_*` headers with an HMAC of each request.
    Builder { creds: ApiCredentials },
    /// A relayer API key and the address that owns it.
    RelayerKey { key: String, address: Address },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RelayerKeyFile {
    #[serde(rename = "relayerApiKey")]
    key: String,
    #[serde(rename = "relayerApiKeyAddress")]
    address: Address,
}

impl RelayerAuth {
    /// Reads a JSON file: builder credentials `{"apiKey", "secret", "passphrase"}` or a
    /// relayer key `{"relayerApiKey", "relayerApiKeyAddress"}`.
    pub fn from_file(path: &Path) -> Result<Self, RelayerError> {
        let err = |message: String| RelayerError::Auth {
            path: path.display().to_string(),
            message,
        };
        let text = std::fs::read(path).map_err(|e| err(e.to_string()))?;
        let v: Value = serde_json::from_slice(&text).map_err(|e| err(e.to_string()))?;
        if v.get("relayerApiKey").is_some() {
            let f: RelayerKeyFile = serde_json::from_value(v).map_err(|e| err(e.to_string()))?;
            return Ok(RelayerAuth::RelayerKey {
                key: f.key,
                address: f.address,
            });
        }
        let creds: ApiCredentials = serde_json::from_value(v).map_err(|e| {
            err(format!(
                "{e} (builder credentials {{apiKey, secret, passphrase}} or a relayer key {{relayerApiKey, relayerApiKeyAddress}})"
            ))
        })?;
        creds.secret_bytes().map_err(|e| err(e.to_string()))?;
        Ok(RelayerAuth::Builder { creds })
    }

    /// The headers of one request (`path` without the query; `body` exactly as sent).
    pub fn headers(
        &self,
        timestamp: u64,
        method: &str,
        path: &str,
        body: &[u8],
    ) -> Vec<(&'static str, String)> {
        match self {
            RelayerAuth::RelayerKey { key, address } => vec![
                ("RELAYER_API_KEY", key.clone()),
                ("RELAYER_API_KEY_ADDRESS", address.to_checksum(None)),
            ],
            RelayerAuth::Builder { creds } => {
                // The builder HMAC is the CLOB's L2 HMAC; the address it would carry is unused.
                let signature = match L2Signer::new(
                    creds,
                    crate::adapters::polymarket::signing::Address([0; 20]),
                ) {
                    Ok(s) => s.signature(&timestamp.to_string(), method, path, body),
                    // `from_file` checked the secret: unreachable for a loaded file.
                    Err(_) => String::new(),
                };
                vec![
                    ("POLY_BUILDER_API_KEY", creds.api_key.clone()),
                    ("POLY_BUILDER_TIMESTAMP", timestamp.to_string()),
                    ("POLY_BUILDER_PASSPHRASE", creds.passphrase.clone()),
                    ("POLY_BUILDER_SIGNATURE", signature),
                ]
            }
        }
    }
}

/// The nonce (and relay) of an account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NonceInfo {
    pub nonce: U256,
    /// The relay address (proxy wallets).
    pub relay: Option<Address>,
}

/// A relayer transaction's state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelayedTx {
    pub id: String,
    pub state: String,
    pub hash: Option<String>,
    pub error: Option<String>,
}

impl RelayedTx {
    /// Mined or confirmed on chain.
    pub fn succeeded(&self) -> bool {
        matches!(self.state.as_str(), "STATE_MINED" | "STATE_CONFIRMED")
    }

    /// Will not change any more without having executed.
    pub fn failed(&self) -> bool {
        matches!(self.state.as_str(), "STATE_FAILED" | "STATE_INVALID")
    }
}

/// A blocking client of one relayer.
pub struct RelayerClient {
    base: String,
    agent: ureq::Agent,
    auth: Option<RelayerAuth>,
    poll: Duration,
    max_polls: u32,
}

fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A JSON number or a decimal string.
fn u256_of(v: &Value) -> Option<U256> {
    match v {
        Value::String(s) => U256::from_str_radix(s, 10).ok(),
        Value::Number(n) => n.as_u64().map(U256::from),
        _ => None,
    }
}

fn str_of(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(Value::as_str).map(str::to_string)
}

impl RelayerClient {
    pub fn new(
        base: &str,
        auth: Option<RelayerAuth>,
        timeout: Duration,
        poll: Duration,
        max_polls: u32,
    ) -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .build()
            .into();
        Self {
            base: base.trim_end_matches('/').to_string(),
            agent,
            auth,
            poll,
            max_polls: max_polls.max(1),
        }
    }

    fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
    ) -> Result<Value, RelayerError> {
        let signed_path = path.split('?').next().unwrap_or(path);
        let url = format!("{}{}", self.base, path);
        let transport = |e: ureq::Error| RelayerError::Transport {
            path: signed_path.to_string(),
            message: e.to_string(),
        };
        let headers = self
            .auth
            .as_ref()
            .map(|a| a.headers(now_s(), method, signed_path, body.unwrap_or(b"")))
            .unwrap_or_default();
        let mut resp = match body {
            Some(b) => {
                let mut r = self
                    .agent
                    .post(&url)
                    .header("Content-Type", "application/json");
                for (k, v) in &headers {
                    r = r.header(*k, v);
                }
                r.send(b).map_err(transport)?
            }
            None => {
                let mut r = self.agent.get(&url);
                for (k, v) in &headers {
                    r = r.header(*k, v);
                }
                r.call().map_err(transport)?
            }
        };
        let status = resp.status().as_u16();
        let text = resp
            .body_mut()
            .read_to_string()
            .map_err(|e| RelayerError::Transport {
                path: signed_path.to_string(),
                message: e.to_string(),
            })?;
        if !(200..300).contains(&status) {
            return Err(RelayerError::Status {
                path: signed_path.to_string(),
                status,
                body: text,
            });
        }
        serde_json::from_str(&text).map_err(|e| RelayerError::Malformed {
            path: signed_path.to_string(),
            message: format!("{e}: {text}"),
        })
    }

    fn malformed(path: &str, v: &Value, what: &str) -> RelayerError {
        RelayerError::Malformed {
            path: path.to_string(),
            message: format!("no {what} in {v}"),
        }
    }

    /// The account's relayer nonce: `GET /nonce` (Safe, deposit wallet) or
    /// `GET /relay-payload` (proxy wallet, which also names the relay).
    pub fn nonce(&self, owner: Address, account: AccountType) -> Result<NonceInfo, RelayerError> {
        let kind = account
            .relayer_type()
            .ok_or(RelayerError::NotRelayed(account))?;
        let endpoint = if account == AccountType::Proxy {
            "/relay-payload"
        } else {
            "/nonce"
        };
        let v = self.request(
            "GET",
            &format!("{endpoint}?address={owner}&type={kind}"),
            None,
        )?;
        let nonce = v
            .get("nonce")
            .and_then(u256_of)
            .ok_or_else(|| Self::malformed(endpoint, &v, "nonce"))?;
        let relay = if account == AccountType::Proxy {
            Some(
                v.get("address")
                    .and_then(Value::as_str)
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| Self::malformed(endpoint, &v, "relay address"))?,
            )
        } else {
            None
        };
        Ok(NonceInfo { nonce, relay })
    }

    /// `GET /deployed`: whether the wallet's contract exists yet.
    pub fn deployed(&self, wallet: Address, account: AccountType) -> Result<bool, RelayerError> {
        let mut path = format!("/deployed?address={wallet}");
        if account == AccountType::DepositWallet {
            path.push_str("&type=WALLET");
        }
        let v = self.request("GET", &path, None)?;
        v.get("deployed")
            .and_then(Value::as_bool)
            .ok_or_else(|| Self::malformed("/deployed", &v, "deployed"))
    }

    /// `POST /submit`: the relayer's transaction id and first state.
    pub fn submit(&self, req: &SubmitRequest) -> Result<RelayedTx, RelayerError> {
        let body = serde_json::to_vec(req).map_err(|e| RelayerError::Malformed {
            path: "/submit".into(),
            message: e.to_string(),
        })?;
        let v = self.request("POST", "/submit", Some(&body))?;
        Self::parse_tx("/submit", &v)
    }

    fn parse_tx(path: &str, v: &Value) -> Result<RelayedTx, RelayerError> {
        let id =
            str_of(v, "transactionID").ok_or_else(|| Self::malformed(path, v, "transactionID"))?;
        let state = str_of(v, "state").ok_or_else(|| Self::malformed(path, v, "state"))?;
        Ok(RelayedTx {
            id,
            state,
            hash: str_of(v, "transactionHash").or_else(|| str_of(v, "hash")),
            error: str_of(v, "errorMsg").or_else(|| str_of(v, "error_msg")),
        })
    }

    /// `GET /transaction?id=`: the transaction's current state.
    pub fn transaction(&self, id: &str) -> Result<RelayedTx, RelayerError> {
        let v = self.request("GET", &format!("/transaction?id={id}"), None)?;
        // The relayer answers a list with one entry.
        let entry = match &v {
            Value::Array(a) => a
                .first()
                .ok_or_else(|| Self::malformed("/transaction", &v, "transaction"))?,
            other => other,
        };
        Self::parse_tx("/transaction", entry)
    }

    /// Polls until the transaction is mined or confirmed (Ok) or has failed (Err).
    pub fn wait(&self, id: &str) -> Result<RelayedTx, RelayerError> {
        let mut last = String::from("unknown");
        for i in 0..self.max_polls {
            if i > 0 {
                thread::sleep(self.poll);
            }
            let tx = self.transaction(id)?;
            if tx.succeeded() {
                return Ok(tx);
            }
            if tx.failed() {
                return Err(RelayerError::Failed {
                    id: tx.id,
                    state: tx.state,
                    message: tx.error,
                });
            }
            last = tx.state;
        }
        Err(RelayerError::Timeout {
            id: id.to_string(),
            state: last,
            polls: self.max_polls,
        })
    }
}

/// Sends recycle batches as one relayer request each for a wallet account: the nonce read
/// from the relayer (the batch's ticket, journaled before the request is sent), the request
/// signed with the owner's key, submitted and polled until mined. The relayer pays the gas; a
/// batch is counted at `gas_per_call` per call.
pub struct RelayerBatchSender {
    pub client: RelayerClient,
    pub key: crate::adapters::polymarket::signing::PrivateKey,
    /// The request's fixed parts (its nonce and relay are read anew for each batch).
    pub ctx: super::relayer::RequestContext,
    pub gas_per_call: u64,
    /// How long a signed deposit-wallet batch stays valid.
    pub deadline_s: u64,
}

impl RelayerBatchSender {
    fn owner(&self) -> Address {
        Address::from(self.key.address().0)
    }
}

/// A ticket is the wallet's relayer nonce, in decimal.
fn ticket_nonce(ticket: &str) -> Result<U256, String> {
    U256::from_str_radix(ticket, 10).map_err(|e| format!("ticket {ticket:?}: {e}"))
}

impl super::recycle::BatchSender for RelayerBatchSender {
    fn ticket(&mut self) -> Result<String, String> {
        let n = self
            .client
            .nonce(self.owner(), self.ctx.account)
            .map_err(|e| e.to_string())?;
        Ok(n.nonce.to_string())
    }

    fn send(&mut self, ticket: &str, calls: &[crate::chain::TxCall]) -> Result<u64, String> {
        let mut ctx = self.ctx.clone();
        ctx.nonce = ticket_nonce(ticket)?;
        if self.ctx.account == AccountType::Proxy {
            // The relay is named with the nonce; a proxy request signs it.
            ctx.relay = self
                .client
                .nonce(self.owner(), self.ctx.account)
                .map_err(|e| e.to_string())?
                .relay;
        }
        ctx.deadline = now_s() + self.deadline_s.max(1);
        let wcalls: Vec<_> = calls.iter().map(super::relayer::WalletCall::from).collect();
        let req = super::relayer::build(&self.key, &ctx, &wcalls).map_err(|e| e.to_string())?;
        let sub = self.client.submit(&req).map_err(|e| e.to_string())?;
        self.client.wait(&sub.id).map_err(|e| e.to_string())?;
        Ok(self.gas_per_call.saturating_mul(calls.len() as u64))
    }

    /// The wallet's nonce moves past a request's only when the request executed: past the
    /// ticket, it did; still at it, it did not. A request still queued at the relayer shares
    /// its nonce with the next one sent, so at most one of the two can ever execute.
    fn executed(&mut self, ticket: &str, _calls: usize) -> Result<Option<bool>, String> {
        let was = ticket_nonce(ticket)?;
        let now = self
            .client
            .nonce(self.owner(), self.ctx.account)
            .map_err(|e| e.to_string())?
            .nonce;
        Ok(Some(now > was))
    }
}
