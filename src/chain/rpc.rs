//! Ethereum JSON-RPC over HTTP (blocking, ureq): the handful of methods the cold side needs,
//! with quantities parsed into exact integers and node errors kept with their `data` (a revert's
//! ABI-encoded reason travels there).

use std::time::Duration;

use alloy_primitives::{Address, B256, Bytes, U256};
use serde::Deserialize;
use serde_json::{Value, json};
use thiserror::Error;

use super::revert;

/// Why an RPC call failed.
#[derive(Debug, Error)]
pub enum RpcError {
    #[error("RPC {method}: transport: {message}")]
    Transport { method: String, message: String },
    #[error("RPC {method}: HTTP status {status}")]
    Status { method: String, status: u16 },
    /// The node answered with a JSON-RPC error; `data` holds revert data when it is a revert.
    #[error("RPC {method}: node error {code}: {message}{}", revert_suffix(.data))]
    Node {
        method: String,
        code: i64,
        message: String,
        data: Option<Bytes>,
    },
    #[error("RPC {method}: malformed answer: {message}")]
    Malformed { method: String, message: String },
}

fn revert_suffix(data: &Option<Bytes>) -> String {
    match data.as_ref().and_then(|d| revert::decode(d)) {
        Some(reason) => format!(" (revert reason: {reason})"),
        None => String::new(),
    }
}

impl RpcError {
    /// The revert reason carried by a node error, decoded, when there is one.
    pub fn revert_reason(&self) -> Option<String> {
        match self {
            RpcError::Node { data, message, .. } => {
                data.as_ref().and_then(|d| revert::decode(d)).or_else(|| {
                    // Some nodes put the reason only in the message ("execution reverted: ...").
                    message
                        .strip_prefix("execution reverted: ")
                        .map(str::to_string)
                })
            }
            _ => None,
        }
    }
}

/// The fields of a transaction receipt the settlement code reads.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Receipt {
    pub transaction_hash: B256,
    pub block_number: U256,
    pub status: U256,
    pub gas_used: U256,
    pub effective_gas_price: U256,
    #[serde(default)]
    pub logs: Vec<Log>,
}

impl Receipt {
    pub fn succeeded(&self) -> bool {
        self.status == U256::from(1)
    }
}

/// An event log.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Log {
    pub address: Address,
    pub topics: Vec<B256>,
    pub data: Bytes,
    #[serde(default)]
    pub transaction_hash: Option<B256>,
}

/// A call or transaction as `eth_call` and `eth_estimateGas` take it.
#[derive(Clone, Debug)]
pub struct CallRequest {
    pub from: Option<Address>,
    pub to: Address,
    pub data: Bytes,
    pub gas: Option<u64>,
}

impl CallRequest {
    fn to_json(&self) -> Value {
        let mut v = json!({ "to": self.to, "data": self.data });
        if let Some(from) = self.from {
            v["from"] = json!(from);
        }
        if let Some(gas) = self.gas {
            v["gas"] = json!(format!("{gas:#x}"));
        }
        v
    }
}

/// A blocking JSON-RPC client for one node.
pub struct Rpc {
    url: String,
    agent: ureq::Agent,
    next_id: u64,
}

impl Rpc {
    pub fn new(url: &str, timeout: Duration) -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .build()
            .into();
        Self {
            url: url.to_string(),
            agent,
            next_id: 1,
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// One JSON-RPC request; returns the `result` member.
    pub fn call(&mut self, method: &str, params: Value) -> Result<Value, RpcError> {
        let id = self.next_id;
        self.next_id += 1;
        let body = json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params });
        let transport = |e: ureq::Error| RpcError::Transport {
            method: method.to_string(),
            message: e.to_string(),
        };
        let mut resp = self
            .agent
            .post(&self.url)
            .header("content-type", "application/json")
            .send_json(&body)
            .map_err(transport)?;
        let status = resp.status().as_u16();
        let answer: Value = resp.body_mut().read_json().map_err(|e| {
            if status != 200 {
                RpcError::Status {
                    method: method.to_string(),
                    status,
                }
            } else {
                transport(e)
            }
        })?;
        if let Some(err) = answer.get("error") {
            return Err(RpcError::Node {
                method: method.to_string(),
                code: err.get("code").and_then(Value::as_i64).unwrap_or(0),
                message: err
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                data: err
                    .get("data")
                    .and_then(Value::as_str)
                    .and_then(|s| s.parse::<Bytes>().ok()),
            });
        }
        match answer.get("result") {
            Some(r) => Ok(r.clone()),
            None if status != 200 => Err(RpcError::Status {
                method: method.to_string(),
                status,
            }),
            None => Err(self.malformed(method, "no result member")),
        }
    }

    fn malformed(&self, method: &str, message: impl Into<String>) -> RpcError {
        RpcError::Malformed {
            method: method.to_string(),
            message: message.into(),
        }
    }

    fn typed<T: serde::de::DeserializeOwned>(
        &mut self,
        method: &str,
        params: Value,
    ) -> Result<T, RpcError> {
        let v = self.call(method, params)?;
        serde_json::from_value(v).map_err(|e| self.malformed(method, e.to_string()))
    }

    fn quantity_u64(&mut self, method: &str, params: Value) -> Result<u64, RpcError> {
        let q: U256 = self.typed(method, params)?;
        u64::try_from(q).map_err(|_| self.malformed(method, format!("{q} does not fit u64")))
    }

    fn quantity_u128(&mut self, method: &str, params: Value) -> Result<u128, RpcError> {
        let q: U256 = self.typed(method, params)?;
        u128::try_from(q).map_err(|_| self.malformed(method, format!("{q} does not fit u128")))
    }

    pub fn chain_id(&mut self) -> Result<u64, RpcError> {
        self.quantity_u64("eth_chainId", json!([]))
    }

    /// The next nonce of `who`, counting transactions in the node's pool (`pending`) or only
    /// mined ones (`latest`).
    pub fn transaction_count(&mut self, who: Address, block: &str) -> Result<u64, RpcError> {
        self.quantity_u64("eth_getTransactionCount", json!([who, block]))
    }

    pub fn estimate_gas(&mut self, req: &CallRequest) -> Result<u64, RpcError> {
        self.quantity_u64("eth_estimateGas", json!([req.to_json()]))
    }

    pub fn max_priority_fee(&mut self) -> Result<u128, RpcError> {
        self.quantity_u128("eth_maxPriorityFeePerGas", json!([]))
    }

    /// The base fee of the next block (the last entry `eth_feeHistory` returns).
    pub fn next_base_fee(&mut self) -> Result<u128, RpcError> {
        let v = self.call("eth_feeHistory", json!(["0x1", "latest", []]))?;
        let fees: Vec<U256> = v
            .get("baseFeePerGas")
            .cloned()
            .map(serde_json::from_value)
            .transpose()
            .map_err(|e| self.malformed("eth_feeHistory", e.to_string()))?
            .unwrap_or_default();
        let last = fees
            .last()
            .ok_or_else(|| self.malformed("eth_feeHistory", "no baseFeePerGas"))?;
        u128::try_from(*last).map_err(|_| self.malformed("eth_feeHistory", "base fee too large"))
    }

    pub fn send_raw_transaction(&mut self, raw: &[u8]) -> Result<B256, RpcError> {
        self.typed(
            "eth_sendRawTransaction",
            json!([Bytes::copy_from_slice(raw)]),
        )
    }

    /// The receipt, or `None` while the transaction is not mined.
    pub fn transaction_receipt(&mut self, hash: B256) -> Result<Option<Receipt>, RpcError> {
        self.typed("eth_getTransactionReceipt", json!([hash]))
    }

    /// Whether the node knows the transaction (in its pool or mined).
    pub fn transaction_known(&mut self, hash: B256) -> Result<bool, RpcError> {
        let v = self.call("eth_getTransactionByHash", json!([hash]))?;
        Ok(!v.is_null())
    }

    /// `eth_call` at `block` (`latest`, or a hex block number).
    pub fn eth_call(&mut self, req: &CallRequest, block: &str) -> Result<Bytes, RpcError> {
        self.typed("eth_call", json!([req.to_json(), block]))
    }

    /// Logs of `address` with `topic0` between two blocks (inclusive).
    pub fn logs(
        &mut self,
        address: Address,
        topic0: B256,
        from_block: u64,
        to_block: Option<u64>,
    ) -> Result<Vec<Log>, RpcError> {
        let to = to_block.map_or_else(|| "latest".to_string(), |b| format!("{b:#x}"));
        self.typed(
            "eth_getLogs",
            json!([{ "address": address, "topics": [topic0],
                     "fromBlock": format!("{from_block:#x}"), "toBlock": to }]),
        )
    }

    pub fn block_number(&mut self) -> Result<u64, RpcError> {
        self.quantity_u64("eth_blockNumber", json!([]))
    }

    pub fn balance(&mut self, who: Address) -> Result<U256, RpcError> {
        self.typed("eth_getBalance", json!([who, "latest"]))
    }

    pub fn code(&mut self, who: Address) -> Result<Bytes, RpcError> {
        self.typed("eth_getCode", json!([who, "latest"]))
    }
}
