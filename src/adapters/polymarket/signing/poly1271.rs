//! POLY_1271 (signature type 3): orders from an EIP-1271 "deposit wallet" contract.
//!
//! The wallet owner's key does not sign the order digest itself but a Solady-style nested
//! `TypedDataSign` struct that binds the order (its struct hash, "contents") to the wallet
//! (name "DepositWallet", version "1", verifyingContract = wallet, salt 0), under the
//! exchange's domain. The wire signature carries everything the wallet needs to re-derive that
//! digest: `innerSig(65) || appDomainSeparator(32) || contentsHash(32) || contentsType ||
//! uint16be(len(contentsType))` (clob-client-v2 `exchangeOrderBuilderV2.ts`,
//! py-clob-client-v2 `exchange_order_builder_v2.py`).

use sha3::{Digest, Keccak256};
use thiserror::Error;

use super::eip712::signing_digest;
use super::evm::{Address, keccak256, u64_word};
use super::key::EcdsaSignature;

const DEPOSIT_WALLET_NAME: &str = "DepositWallet";
const DEPOSIT_WALLET_VERSION: &str = "1";
const TYPED_DATA_SIGN_PREFIX: &str = "TypedDataSign(Order contents,string name,string version,\
     uint256 chainId,address verifyingContract,bytes32 salt)";

/// Why a POLY_1271 signature could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum Poly1271Error {
    #[error("signature of {0} bytes is neither 65-byte ECDSA nor a POLY_1271 wrapper")]
    Length(usize),
    #[error("POLY_1271 contents type is not UTF-8")]
    NotUtf8,
}

/// A decoded POLY_1271 signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Poly1271Signature {
    /// The owner key's signature over [`typed_data_sign_digest`].
    pub inner: EcdsaSignature,
    /// The exchange domain separator.
    pub app_domain_separator: [u8; 32],
    /// The order's struct hash.
    pub contents_hash: [u8; 32],
    /// The order type string (`Order(uint256 salt,...)`).
    pub contents_type: String,
}

/// keccak256 of the `TypedDataSign` type string for an order type string.
pub fn typed_data_sign_type_hash(contents_type: &str) -> [u8; 32] {
    let mut h = Keccak256::new();
    h.update(TYPED_DATA_SIGN_PREFIX.as_bytes());
    h.update(contents_type.as_bytes());
    h.finalize().into()
}

/// The digest the wallet owner signs.
pub fn typed_data_sign_digest(
    app_domain_separator: &[u8; 32],
    contents_hash: &[u8; 32],
    type_hash: &[u8; 32],
    chain_id: u64,
    wallet: Address,
) -> [u8; 32] {
    let mut h = Keccak256::new();
    h.update(type_hash);
    h.update(contents_hash);
    h.update(keccak256(DEPOSIT_WALLET_NAME.as_bytes()));
    h.update(keccak256(DEPOSIT_WALLET_VERSION.as_bytes()));
    h.update(u64_word(chain_id));
    h.update(wallet.to_word());
    h.update([0u8; 32]);
    let struct_hash: [u8; 32] = h.finalize().into();
    signing_digest(app_domain_separator, &struct_hash)
}

const FIXED: usize = 65 + 32 + 32;

impl Poly1271Signature {
    /// The wire bytes.
    pub fn encode(&self) -> Vec<u8> {
        let t = self.contents_type.as_bytes();
        let mut out = Vec::with_capacity(FIXED + t.len() + 2);
        out.extend_from_slice(&self.inner.0);
        out.extend_from_slice(&self.app_domain_separator);
        out.extend_from_slice(&self.contents_hash);
        out.extend_from_slice(t);
        // Type strings are short; a longer one cannot come from a schema.
        out.extend_from_slice(&(t.len() as u16).to_be_bytes());
        out
    }

    /// Decodes wire bytes, checking that the trailing length matches.
    pub fn decode(b: &[u8]) -> Result<Self, Poly1271Error> {
        let bad = Poly1271Error::Length(b.len());
        if b.len() < FIXED + 2 {
            return Err(bad);
        }
        let type_len = usize::from(u16::from_be_bytes([b[b.len() - 2], b[b.len() - 1]]));
        if b.len() != FIXED + type_len + 2 {
            return Err(bad);
        }
        let mut inner = [0u8; 65];
        inner.copy_from_slice(&b[..65]);
        let mut app_domain_separator = [0u8; 32];
        app_domain_separator.copy_from_slice(&b[65..97]);
        let mut contents_hash = [0u8; 32];
        contents_hash.copy_from_slice(&b[97..129]);
        let contents_type = std::str::from_utf8(&b[FIXED..FIXED + type_len])
            .map_err(|_| Poly1271Error::NotUtf8)?
            .to_string();
        Ok(Self {
            inner: EcdsaSignature(inner),
            app_domain_separator,
            contents_hash,
            contents_type,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_round_trips_and_lengths_are_checked() {
        let s = Poly1271Signature {
            inner: EcdsaSignature([7; 65]),
            app_domain_separator: [1; 32],
            contents_hash: [2; 32],
            contents_type: "Order(uint256 salt)".into(),
        };
        let b = s.encode();
        assert_eq!(b.len(), 65 + 64 + 19 + 2);
        assert_eq!(Poly1271Signature::decode(&b), Ok(s));
        assert!(Poly1271Signature::decode(&b[..b.len() - 1]).is_err());
        assert!(Poly1271Signature::decode(&b[1..]).is_err());
        assert!(Poly1271Signature::decode(&[0u8; 10]).is_err());
    }
}
