//! EIP-1559 (type 2) transactions: the RLP payload (alloy-rlp's derive, not hand-written), its
//! signing hash, and the raw signed bytes `eth_sendRawTransaction` takes, signed with the
//! engine's own secp256k1 key ([`PrivateKey`]).
//!
//! Fees are wei in `u128` and the value a `U256`: exact integers, as the chain counts them.

use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use alloy_rlp::{Encodable, RlpEncodable};

use crate::adapters::polymarket::signing::PrivateKey;

/// The EIP-2718 type byte of an EIP-1559 transaction.
pub const EIP1559_TYPE: u8 = 0x02;

/// One entry of an access list (the engine's transactions send an empty list).
#[derive(Clone, Debug, PartialEq, Eq, RlpEncodable)]
struct AccessListItem {
    address: Address,
    storage_keys: Vec<B256>,
}

/// An unsigned EIP-1559 call (`to` is always set: the engine never deploys contracts).
#[derive(Clone, Debug, PartialEq, Eq, RlpEncodable)]
pub struct Eip1559Tx {
    pub chain_id: u64,
    pub nonce: u64,
    pub max_priority_fee_per_gas: u128,
    pub max_fee_per_gas: u128,
    pub gas_limit: u64,
    pub to: Address,
    pub value: U256,
    pub input: Bytes,
}

/// The signing payload's field list (EIP-1559 order).
#[derive(RlpEncodable)]
struct Payload {
    chain_id: u64,
    nonce: u64,
    max_priority_fee_per_gas: u128,
    max_fee_per_gas: u128,
    gas_limit: u64,
    to: Address,
    value: U256,
    input: Bytes,
    access_list: Vec<AccessListItem>,
}

/// The signed field list: the payload plus `y_parity, r, s`.
#[derive(RlpEncodable)]
struct SignedPayload {
    chain_id: u64,
    nonce: u64,
    max_priority_fee_per_gas: u128,
    max_fee_per_gas: u128,
    gas_limit: u64,
    to: Address,
    value: U256,
    input: Bytes,
    access_list: Vec<AccessListItem>,
    y_parity: bool,
    r: U256,
    s: U256,
}

/// A signed transaction: its raw bytes and hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedTx {
    pub tx: Eip1559Tx,
    pub raw: Bytes,
    pub hash: B256,
}

impl Eip1559Tx {
    fn payload(&self) -> Payload {
        Payload {
            chain_id: self.chain_id,
            nonce: self.nonce,
            max_priority_fee_per_gas: self.max_priority_fee_per_gas,
            max_fee_per_gas: self.max_fee_per_gas,
            gas_limit: self.gas_limit,
            to: self.to,
            value: self.value,
            input: self.input.clone(),
            access_list: Vec::new(),
        }
    }

    /// keccak256(0x02 ‖ rlp(payload)): the digest the sender signs.
    pub fn signing_hash(&self) -> B256 {
        let mut buf = vec![EIP1559_TYPE];
        self.payload().encode(&mut buf);
        keccak256(&buf)
    }

    /// Signs with the engine's key (RFC 6979, low s).
    pub fn sign(&self, key: &PrivateKey) -> SignedTx {
        let sig = key.sign_digest(&self.signing_hash().0);
        let p = self.payload();
        let signed = SignedPayload {
            chain_id: p.chain_id,
            nonce: p.nonce,
            max_priority_fee_per_gas: p.max_priority_fee_per_gas,
            max_fee_per_gas: p.max_fee_per_gas,
            gas_limit: p.gas_limit,
            to: p.to,
            value: p.value,
            input: p.input,
            access_list: p.access_list,
            // The engine's signatures carry v = 27 + recovery id.
            y_parity: sig.v() == 28,
            r: U256::from_be_slice(&sig.0[..32]),
            s: U256::from_be_slice(&sig.0[32..64]),
        };
        let mut raw = vec![EIP1559_TYPE];
        signed.encode(&mut raw);
        let hash = keccak256(&raw);
        SignedTx {
            tx: self.clone(),
            raw: raw.into(),
            hash,
        }
    }
}
