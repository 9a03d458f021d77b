//! EIP-712 typed-data hashing: domains, their separators and the final signing digest
//! `keccak256(0x19 0x01 || domainSeparator || structHash)`.
//!
//! Struct hashes of the messages themselves live with their types (`order.rs`, `auth.rs`);
//! this module only knows the domain and how the two halves are joined.

use std::borrow::Cow;

use sha3::{Digest, Keccak256};

use super::evm::{Address, keccak256, u64_word};

/// An EIP-712 domain. Polymarket's exchanges use all four fields; the L1 auth domain
/// (`ClobAuthDomain`) has no verifying contract, which changes the domain type string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Domain {
    pub name: Cow<'static, str>,
    pub version: Cow<'static, str>,
    pub chain_id: u64,
    pub verifying_contract: Option<Address>,
}

const DOMAIN_TYPE_WITH_CONTRACT: &str =
    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)";
const DOMAIN_TYPE_WITHOUT_CONTRACT: &str =
    "EIP712Domain(string name,string version,uint256 chainId)";

impl Domain {
    /// `hashStruct(EIP712Domain)`. Computed once per domain by the signers and kept.
    pub fn separator(&self) -> [u8; 32] {
        let mut h = Keccak256::new();
        match self.verifying_contract {
            Some(contract) => {
                h.update(keccak256(DOMAIN_TYPE_WITH_CONTRACT.as_bytes()));
                h.update(keccak256(self.name.as_bytes()));
                h.update(keccak256(self.version.as_bytes()));
                h.update(u64_word(self.chain_id));
                h.update(contract.to_word());
            }
            None => {
                h.update(keccak256(DOMAIN_TYPE_WITHOUT_CONTRACT.as_bytes()));
                h.update(keccak256(self.name.as_bytes()));
                h.update(keccak256(self.version.as_bytes()));
                h.update(u64_word(self.chain_id));
            }
        }
        h.finalize().into()
    }
}

/// The digest that is actually signed: `keccak256(0x1901 || domainSeparator || structHash)`.
#[inline]
pub fn signing_digest(domain_separator: &[u8; 32], struct_hash: &[u8; 32]) -> [u8; 32] {
    let mut h = Keccak256::new();
    h.update([0x19, 0x01]);
    h.update(domain_separator);
    h.update(struct_hash);
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separator_depends_on_every_field() {
        let base = Domain {
            name: "Polymarket CTF Exchange".into(),
            version: "2".into(),
            chain_id: 137,
            verifying_contract: Some(Address([1; 20])),
        };
        let s = base.separator();
        let mut d = base.clone();
        d.version = "3".into();
        assert_ne!(d.separator(), s);
        let mut d = base.clone();
        d.chain_id = 80002;
        assert_ne!(d.separator(), s);
        let mut d = base.clone();
        d.verifying_contract = None;
        assert_ne!(d.separator(), s);
    }
}
