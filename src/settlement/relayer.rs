//! Requests for Polymarket's relayer, which executes calls for smart-contract accounts (Safe,
//! proxy wallet, deposit wallet) and pays their gas: each wallet type's request, signed as the
//! relayer checks it ([`build`]), and checked back the same way ([`verify`], which the venue
//! double's relayer runs).
//!
//! - Safe (`SAFE`): one call as it is, several through MultiSend by DELEGATECALL; the SafeTx's
//!   EIP-712 digest (domain: chain id and the Safe only) is signed with EIP-191 personal-sign
//!   and `v` raised by 4, which Safe reads as an `eth_sign` signature (v 31/32).
//! - Proxy wallet (`PROXY`): `ProxyWalletFactory.proxy(calls)` sent to the factory;
//!   `keccak("rlx:" ‖ from ‖ to ‖ data ‖ relayerFee ‖ gasPrice ‖ gasLimit ‖ nonce ‖ relayHub ‖
//!   relay)` signed with personal-sign (v 27/28).
//! - Deposit wallet (`WALLET`): the `Batch(wallet, nonce, deadline, Call[] calls)` typed data
//!   under the domain `DepositWallet` version 1 of the wallet, signed as it is.
//!
//! Safe and proxy wallets sit at CREATE2 addresses of their owner ([`safe_address`],
//! [`proxy_address`]); a deposit wallet's address comes from the config.

use alloy_primitives::{Address, B256, Bytes, U256, b256, keccak256};
use alloy_sol_types::{Eip712Domain, SolCall, SolStruct, sol};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::adapters::polymarket::signing::{EcdsaSignature, PrivateKey};
use crate::chain::TxCall;
pub use crate::chain::config::{
    AccountType, DEPOSIT_WALLET_FACTORY, PROXY_FACTORY, RELAY_HUB, RelayerContracts, SAFE_FACTORY,
    SAFE_MULTISEND,
};

sol! {
    /// Gnosis Safe's transaction, as its EIP-712 type.
    struct SafeTx {
        address to;
        uint256 value;
        bytes data;
        uint8 operation;
        uint256 safeTxGas;
        uint256 baseGas;
        uint256 gasPrice;
        address gasToken;
        address refundReceiver;
        uint256 nonce;
    }

    /// One call of a deposit wallet's batch.
    struct Call {
        address target;
        uint256 value;
        bytes data;
    }

    /// What a deposit wallet's owner signs.
    struct Batch {
        address wallet;
        uint256 nonce;
        uint256 deadline;
        Call[] calls;
    }

    /// One call of a proxy wallet (`typeCode` 1 = CALL).
    struct ProxyCall {
        uint8 typeCode;
        address to;
        uint256 value;
        bytes data;
    }

    /// Safe's MultiSend: packed `(uint8 operation, address to, uint256 value, uint256 length,
    /// bytes data)` entries.
    function multiSend(bytes transactions);

    /// ProxyWalletFactory: runs the calls from the caller's proxy wallet.
    function proxy(ProxyCall[] calls);
}

/// CREATE2 init-code hash of Polymarket's Safe proxies.
pub const SAFE_INIT_CODE_HASH: B256 =
    b256!("0x2bce2127ff07fb632d16c8347c4ebf501f4841168bed00d9e6ef715ddb6fcecf");
/// CREATE2 init-code hash of Polymarket's proxy wallets.
pub const PROXY_INIT_CODE_HASH: B256 =
    b256!("0xd21df8dc65880a8606f09fe0ce3df9b8869287ab0b058be05aa9e8af6330a00b");
/// The Safe `owner` deploys through `factory`: CREATE2 with salt `keccak(abi.encode(owner))`.
pub fn safe_address(factory: Address, owner: Address) -> Address {
    let salt = keccak256(owner.into_word());
    factory.create2(salt, SAFE_INIT_CODE_HASH)
}

/// The proxy wallet of `owner`: CREATE2 with salt `keccak(abi.encodePacked(owner))`.
pub fn proxy_address(factory: Address, owner: Address) -> Address {
    let salt = keccak256(owner);
    factory.create2(salt, PROXY_INIT_CODE_HASH)
}

/// `keccak("\x19Ethereum Signed Message:\n32" ‖ digest)`: what personal-sign signs.
pub fn personal_hash(digest: &B256) -> B256 {
    let mut m = Vec::with_capacity(28 + 32);
    m.extend_from_slice(b"\x19Ethereum Signed Message:\n32");
    m.extend_from_slice(digest.as_slice());
    keccak256(m)
}

/// The SafeTx domain: chain id and the Safe, no name or version.
fn safe_domain(chain_id: u64, safe: Address) -> Eip712Domain {
    Eip712Domain::new(None, None, Some(U256::from(chain_id)), Some(safe), None)
}

fn wallet_domain(chain_id: u64, wallet: Address) -> Eip712Domain {
    Eip712Domain::new(
        Some("DepositWallet".into()),
        Some("1".into()),
        Some(U256::from(chain_id)),
        Some(wallet),
        None,
    )
}

/// One call a wallet makes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalletCall {
    pub to: Address,
    pub value: U256,
    pub data: Bytes,
}

impl From<&TxCall> for WalletCall {
    fn from(c: &TxCall) -> Self {
        Self {
            to: c.to,
            value: U256::ZERO,
            data: c.data.clone(),
        }
    }
}

/// MultiSend's packed entries (operation 0 = CALL each).
pub fn multisend_data(calls: &[WalletCall]) -> Bytes {
    let mut packed = Vec::new();
    for c in calls {
        packed.push(0u8);
        packed.extend_from_slice(c.to.as_slice());
        packed.extend_from_slice(&c.value.to_be_bytes::<32>());
        packed.extend_from_slice(&U256::from(c.data.len()).to_be_bytes::<32>());
        packed.extend_from_slice(&c.data);
    }
    multiSendCall {
        transactions: packed.into(),
    }
    .abi_encode()
    .into()
}

/// Splits MultiSend's packed entries back into calls (only CALLs are accepted).
pub fn multisend_calls(data: &[u8]) -> Result<Vec<WalletCall>, RequestError> {
    let bad = |m: &str| RequestError::Malformed(format!("multiSend: {m}"));
    let packed = multiSendCall::abi_decode(data).map_err(|e| bad(&e.to_string()))?;
    let mut b: &[u8] = &packed.transactions;
    let mut out = Vec::new();
    while !b.is_empty() {
        if b.len() < 85 {
            return Err(bad("truncated entry"));
        }
        if b[0] != 0 {
            return Err(bad("only CALL entries are accepted"));
        }
        let to = Address::from_slice(&b[1..21]);
        let value = U256::from_be_slice(&b[21..53]);
        let len = U256::from_be_slice(&b[53..85]);
        let len = usize::try_from(len).map_err(|_| bad("length out of range"))?;
        let end = 85usize
            .checked_add(len)
            .ok_or_else(|| bad("length out of range"))?;
        if b.len() < end {
            return Err(bad("data shorter than its length"));
        }
        out.push(WalletCall {
            to,
            value,
            data: Bytes::copy_from_slice(&b[85..end]),
        });
        b = &b[end..];
    }
    Ok(out)
}

/// `ProxyWalletFactory.proxy(calls)` calldata (type code 1 = CALL each).
pub fn proxy_data(calls: &[WalletCall]) -> Bytes {
    proxyCall {
        calls: calls
            .iter()
            .map(|c| ProxyCall {
                typeCode: 1,
                to: c.to,
                value: c.value,
                data: c.data.clone(),
            })
            .collect(),
    }
    .abi_encode()
    .into()
}

/// The `rlx:` hash a proxy-wallet request signs.
#[allow(clippy::too_many_arguments)]
pub fn proxy_hash(
    from: Address,
    to: Address,
    data: &[u8],
    relayer_fee: U256,
    gas_price: U256,
    gas_limit: U256,
    nonce: U256,
    relay_hub: Address,
    relay: Address,
) -> B256 {
    let mut m = Vec::with_capacity(4 + 40 + data.len() + 128 + 40);
    m.extend_from_slice(b"rlx:");
    m.extend_from_slice(from.as_slice());
    m.extend_from_slice(to.as_slice());
    m.extend_from_slice(data);
    for v in [relayer_fee, gas_price, gas_limit, nonce] {
        m.extend_from_slice(&v.to_be_bytes::<32>());
    }
    m.extend_from_slice(relay_hub.as_slice());
    m.extend_from_slice(relay.as_slice());
    keccak256(m)
}

/// The SafeTx digest `keccak(0x1901 ‖ domainSeparator ‖ structHash)`.
pub fn safe_digest(
    chain_id: u64,
    safe: Address,
    to: Address,
    data: Bytes,
    operation: u8,
    nonce: U256,
) -> B256 {
    let tx = SafeTx {
        to,
        value: U256::ZERO,
        data,
        operation,
        safeTxGas: U256::ZERO,
        baseGas: U256::ZERO,
        gasPrice: U256::ZERO,
        gasToken: Address::ZERO,
        refundReceiver: Address::ZERO,
        nonce,
    };
    tx.eip712_signing_hash(&safe_domain(chain_id, safe))
}

/// The deposit wallet's `Batch` digest.
pub fn batch_digest(
    chain_id: u64,
    wallet: Address,
    nonce: U256,
    deadline: U256,
    calls: &[WalletCall],
) -> B256 {
    let batch = Batch {
        wallet,
        nonce,
        deadline,
        calls: calls
            .iter()
            .map(|c| Call {
                target: c.to,
                value: c.value,
                data: c.data.clone(),
            })
            .collect(),
    };
    batch.eip712_signing_hash(&wallet_domain(chain_id, wallet))
}

/// `signatureParams` of a Safe or proxy request (the fields of the other type are absent).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignatureParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gas_price: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safe_txn_gas: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_gas: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gas_token: Option<Address>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_receiver: Option<Address>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gas_limit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relayer_fee: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relay_hub: Option<Address>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relay: Option<Address>,
}

/// One call of `depositWalletParams.calls`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepositCall {
    pub target: Address,
    pub value: String,
    pub data: Bytes,
}

/// `depositWalletParams` of a deposit-wallet request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DepositWalletParams {
    pub deposit_wallet: Address,
    pub deadline: String,
    pub calls: Vec<DepositCall>,
}

/// The body of `POST /submit`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubmitRequest {
    #[serde(rename = "type")]
    pub kind: String,
    pub from: Address,
    pub to: Address,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_wallet: Option<Address>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Bytes>,
    pub nonce: String,
    pub signature: Bytes,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature_params: Option<SignatureParams>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deposit_wallet_params: Option<DepositWalletParams>,
    #[serde(default)]
    pub metadata: String,
}

/// What a request needs besides its calls.
#[derive(Clone, Debug)]
pub struct RequestContext {
    pub account: AccountType,
    pub chain_id: u64,
    /// The account holding the funds (Safe, proxy or deposit wallet).
    pub wallet: Address,
    pub contracts: RelayerContracts,
    /// The relayer's nonce for this account.
    pub nonce: U256,
    /// The relay address the relayer named (proxy requests).
    pub relay: Option<Address>,
    /// Gas limit a proxy request signs.
    pub proxy_gas_limit: u64,
    /// Unix seconds after which a deposit-wallet batch is void.
    pub deadline: u64,
    pub metadata: String,
}

/// Why a relayer request is refused.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum RequestError {
    #[error("the account type {0:?} does not use the relayer")]
    NotRelayed(AccountType),
    #[error("a relayer request needs at least one call")]
    NoCalls,
    #[error("unknown request type {0:?}")]
    UnknownType(String),
    #[error("a proxy request needs the relay address from the relayer")]
    NoRelay,
    #[error("malformed request: {0}")]
    Malformed(String),
    #[error("bad signature: {0}")]
    BadSignature(String),
    #[error("the signature recovers to {recovered}, not `from` {from}")]
    WrongSigner { from: Address, recovered: Address },
}

fn owner_of(key: &PrivateKey) -> Address {
    Address::from(key.address().0)
}

/// Builds and signs the request that makes `ctx.wallet` run `calls`.
pub fn build(
    key: &PrivateKey,
    ctx: &RequestContext,
    calls: &[WalletCall],
) -> Result<SubmitRequest, RequestError> {
    if calls.is_empty() {
        return Err(RequestError::NoCalls);
    }
    let from = owner_of(key);
    let kind = ctx
        .account
        .relayer_type()
        .ok_or(RequestError::NotRelayed(ctx.account))?
        .to_string();
    match ctx.account {
        AccountType::Eoa => Err(RequestError::NotRelayed(ctx.account)),
        AccountType::Safe => {
            let (to, data, operation) = if calls.len() == 1 {
                (calls[0].to, calls[0].data.clone(), 0u8)
            } else {
                (ctx.contracts.safe_multisend, multisend_data(calls), 1u8)
            };
            let digest = safe_digest(
                ctx.chain_id,
                ctx.wallet,
                to,
                data.clone(),
                operation,
                ctx.nonce,
            );
            let mut sig = key.sign_digest(&personal_hash(&digest).0).0;
            // Safe reads v 31/32 as "eth_sign of the digest".
            sig[64] += 4;
            Ok(SubmitRequest {
                kind,
                from,
                to,
                proxy_wallet: Some(ctx.wallet),
                data: Some(data),
                nonce: ctx.nonce.to_string(),
                signature: Bytes::copy_from_slice(&sig),
                signature_params: Some(SignatureParams {
                    gas_price: Some("0".into()),
                    operation: Some(operation.to_string()),
                    safe_txn_gas: Some("0".into()),
                    base_gas: Some("0".into()),
                    gas_token: Some(Address::ZERO),
                    refund_receiver: Some(Address::ZERO),
                    ..SignatureParams::default()
                }),
                deposit_wallet_params: None,
                metadata: ctx.metadata.clone(),
            })
        }
        AccountType::Proxy => {
            let relay = ctx.relay.ok_or(RequestError::NoRelay)?;
            let to = ctx.contracts.proxy_factory;
            let data = proxy_data(calls);
            let hash = proxy_hash(
                from,
                to,
                &data,
                U256::ZERO,
                U256::ZERO,
                U256::from(ctx.proxy_gas_limit),
                ctx.nonce,
                ctx.contracts.relay_hub,
                relay,
            );
            let sig = key.sign_digest(&personal_hash(&hash).0);
            Ok(SubmitRequest {
                kind,
                from,
                to,
                proxy_wallet: Some(ctx.wallet),
                data: Some(data),
                nonce: ctx.nonce.to_string(),
                signature: Bytes::copy_from_slice(&sig.0),
                signature_params: Some(SignatureParams {
                    gas_price: Some("0".into()),
                    gas_limit: Some(ctx.proxy_gas_limit.to_string()),
                    relayer_fee: Some("0".into()),
                    relay_hub: Some(ctx.contracts.relay_hub),
                    relay: Some(relay),
                    ..SignatureParams::default()
                }),
                deposit_wallet_params: None,
                metadata: ctx.metadata.clone(),
            })
        }
        AccountType::DepositWallet => {
            let deadline = U256::from(ctx.deadline);
            let digest = batch_digest(ctx.chain_id, ctx.wallet, ctx.nonce, deadline, calls);
            let sig = key.sign_digest(&digest.0);
            Ok(SubmitRequest {
                kind,
                from,
                to: ctx.contracts.deposit_wallet_factory,
                proxy_wallet: None,
                data: None,
                nonce: ctx.nonce.to_string(),
                signature: Bytes::copy_from_slice(&sig.0),
                signature_params: None,
                deposit_wallet_params: Some(DepositWalletParams {
                    deposit_wallet: ctx.wallet,
                    deadline: ctx.deadline.to_string(),
                    calls: calls
                        .iter()
                        .map(|c| DepositCall {
                            target: c.to,
                            value: c.value.to_string(),
                            data: c.data.clone(),
                        })
                        .collect(),
                }),
                metadata: ctx.metadata.clone(),
            })
        }
    }
}

/// A request whose signature checked out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    pub account: AccountType,
    /// The key that signed (equal to `from`).
    pub signer: Address,
    /// The account the calls run from, as the request names it.
    pub wallet: Address,
    pub nonce: U256,
    /// Deposit wallets only: unix seconds.
    pub deadline: Option<u64>,
    pub calls: Vec<WalletCall>,
}

fn number(field: &str, s: &str) -> Result<U256, RequestError> {
    U256::from_str_radix(s, 10)
        .map_err(|_| RequestError::Malformed(format!("{field} is not a decimal integer: {s:?}")))
}

fn recover(sig: &[u8], digest: &B256, v_offset: u8) -> Result<Address, RequestError> {
    let mut s = <[u8; 65]>::try_from(sig)
        .map_err(|_| RequestError::BadSignature(format!("{} bytes, not 65", sig.len())))?;
    s[64] = s[64]
        .checked_sub(v_offset)
        .ok_or_else(|| RequestError::BadSignature(format!("v = {}", sig[64])))?;
    EcdsaSignature(s)
        .recover(&digest.0)
        .map(|a| Address::from(a.0))
        .map_err(|e| RequestError::BadSignature(e.to_string()))
}

/// Checks a request's signature as the relayer does and returns what it asks for. Whether the
/// wallet belongs to the signer and the nonce is current are the caller's to check.
pub fn verify(
    req: &SubmitRequest,
    chain_id: u64,
    contracts: &RelayerContracts,
) -> Result<Verified, RequestError> {
    let account = AccountType::from_relayer_type(&req.kind)
        .ok_or_else(|| RequestError::UnknownType(req.kind.clone()))?;
    let nonce = number("nonce", &req.nonce)?;
    let missing = |f: &str| RequestError::Malformed(format!("{f} is missing"));
    let (wallet, deadline, calls, recovered) = match account {
        AccountType::Eoa => return Err(RequestError::NotRelayed(account)),
        AccountType::Safe => {
            let wallet = req.proxy_wallet.ok_or_else(|| missing("proxyWallet"))?;
            let data = req.data.clone().ok_or_else(|| missing("data"))?;
            let p = req
                .signature_params
                .as_ref()
                .ok_or_else(|| missing("signatureParams"))?;
            let operation: u8 = match p.operation.as_deref() {
                Some("0") => 0,
                Some("1") => 1,
                other => {
                    return Err(RequestError::Malformed(format!(
                        "operation must be 0 or 1, not {other:?}"
                    )));
                }
            };
            for (f, v) in [
                ("gasPrice", &p.gas_price),
                ("safeTxnGas", &p.safe_txn_gas),
                ("baseGas", &p.base_gas),
            ] {
                if v.as_deref().unwrap_or("0") != "0" {
                    return Err(RequestError::Malformed(format!("{f} must be 0")));
                }
            }
            let calls = if operation == 1 {
                if req.to != contracts.safe_multisend {
                    return Err(RequestError::Malformed(
                        "a DELEGATECALL must go to MultiSend".into(),
                    ));
                }
                multisend_calls(&data)?
            } else {
                vec![WalletCall {
                    to: req.to,
                    value: U256::ZERO,
                    data: data.clone(),
                }]
            };
            let digest = safe_digest(chain_id, wallet, req.to, data, operation, nonce);
            let v = req.signature.get(64).copied().unwrap_or(0);
            if v != 31 && v != 32 {
                return Err(RequestError::BadSignature(format!(
                    "a Safe signature has v 31 or 32, not {v}"
                )));
            }
            let signer = recover(&req.signature, &personal_hash(&digest), 4)?;
            (wallet, None, calls, signer)
        }
        AccountType::Proxy => {
            let wallet = req.proxy_wallet.ok_or_else(|| missing("proxyWallet"))?;
            let data = req.data.clone().ok_or_else(|| missing("data"))?;
            if req.to != contracts.proxy_factory {
                return Err(RequestError::Malformed(
                    "a proxy request goes to the proxy factory".into(),
                ));
            }
            let p = req
                .signature_params
                .as_ref()
                .ok_or_else(|| missing("signatureParams"))?;
            let decoded =
                proxyCall::abi_decode(&data).map_err(|e| RequestError::Malformed(e.to_string()))?;
            if decoded.calls.iter().any(|c| c.typeCode != 1) {
                return Err(RequestError::Malformed("only CALLs are accepted".into()));
            }
            let calls = decoded
                .calls
                .into_iter()
                .map(|c| WalletCall {
                    to: c.to,
                    value: c.value,
                    data: c.data,
                })
                .collect();
            let field = |f: &str, v: &Option<String>| -> Result<U256, RequestError> {
                number(f, v.as_deref().ok_or_else(|| missing(f))?)
            };
            let hash = proxy_hash(
                req.from,
                req.to,
                &data,
                field("relayerFee", &p.relayer_fee)?,
                field("gasPrice", &p.gas_price)?,
                field("gasLimit", &p.gas_limit)?,
                nonce,
                p.relay_hub.ok_or_else(|| missing("relayHub"))?,
                p.relay.ok_or_else(|| missing("relay"))?,
            );
            let signer = recover(&req.signature, &personal_hash(&hash), 0)?;
            (wallet, None, calls, signer)
        }
        AccountType::DepositWallet => {
            if req.to != contracts.deposit_wallet_factory {
                return Err(RequestError::Malformed(
                    "a deposit-wallet request goes to the deposit-wallet factory".into(),
                ));
            }
            let p = req
                .deposit_wallet_params
                .as_ref()
                .ok_or_else(|| missing("depositWalletParams"))?;
            let deadline = number("deadline", &p.deadline)?;
            let calls = p
                .calls
                .iter()
                .map(|c| {
                    Ok(WalletCall {
                        to: c.target,
                        value: number("value", &c.value)?,
                        data: c.data.clone(),
                    })
                })
                .collect::<Result<Vec<_>, RequestError>>()?;
            let digest = batch_digest(chain_id, p.deposit_wallet, nonce, deadline, &calls);
            let signer = recover(&req.signature, &digest, 0)?;
            let deadline = u64::try_from(deadline)
                .map_err(|_| RequestError::Malformed("deadline out of range".into()))?;
            (p.deposit_wallet, Some(deadline), calls, signer)
        }
    };
    if recovered != req.from {
        return Err(RequestError::WrongSigner {
            from: req.from,
            recovered,
        });
    }
    if calls.is_empty() {
        return Err(RequestError::NoCalls);
    }
    Ok(Verified {
        account,
        signer: recovered,
        wallet,
        nonce,
        deadline,
        calls,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hardhat/Anvil account #0: a public test key.
    const KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

    fn key() -> PrivateKey {
        PrivateKey::from_hex(KEY).unwrap()
    }

    #[test]
    fn a_tampered_request_is_refused() {
        let k = key();
        let owner = owner_of(&k);
        let ctx = RequestContext {
            account: AccountType::Safe,
            chain_id: 137,
            wallet: safe_address(SAFE_FACTORY, owner),
            contracts: RelayerContracts::default(),
            nonce: U256::from(3),
            relay: None,
            proxy_gas_limit: 10_000_000,
            deadline: 0,
            metadata: String::new(),
        };
        let calls = [WalletCall {
            to: Address::repeat_byte(7),
            value: U256::ZERO,
            data: Bytes::from_static(&[1, 2, 3, 4]),
        }];
        let req = build(&k, &ctx, &calls).unwrap();
        let v = verify(&req, 137, &ctx.contracts).unwrap();
        assert_eq!(v.signer, owner);
        assert_eq!(v.calls, calls);
        let mut bad = req.clone();
        bad.nonce = "4".into();
        assert!(matches!(
            verify(&bad, 137, &ctx.contracts),
            Err(RequestError::WrongSigner { .. }) | Err(RequestError::BadSignature(_))
        ));
        assert!(verify(&req, 80002, &ctx.contracts).is_err());
    }
}
