//! Exchange protocol versions as data: which EIP-712 domain version, which exchange contracts
//! (standard and neg-risk) and which order fields are signed and sent.
//!
//! V1 (legacy), V2 (production since 2026-04-28) and "3" (ExchangeV3, rolling out) differ only
//! in these values, so there is one order type, one hashing loop and one serializer, each driven
//! by an [`OrderSchema`]; a new version is a new constant, not new code.

use std::borrow::Cow;

use thiserror::Error;

use super::eip712::Domain;
use super::evm::{Address, keccak256};

/// The EIP-712 domain name of every Polymarket CTF exchange.
pub const EXCHANGE_DOMAIN_NAME: &str = "Polymarket CTF Exchange";
/// Polygon mainnet.
pub const POLYGON: u64 = 137;
/// Polygon Amoy testnet.
pub const AMOY: u64 = 80002;

/// One field of the on-chain `Order` struct (or of its JSON form).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderField {
    Salt,
    Maker,
    Signer,
    Taker,
    TokenId,
    MakerAmount,
    TakerAmount,
    Expiration,
    Nonce,
    FeeRateBps,
    Side,
    SignatureType,
    Timestamp,
    Metadata,
    Builder,
}

impl OrderField {
    /// The field name, in the type string and in the JSON body.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Salt => "salt",
            Self::Maker => "maker",
            Self::Signer => "signer",
            Self::Taker => "taker",
            Self::TokenId => "tokenId",
            Self::MakerAmount => "makerAmount",
            Self::TakerAmount => "takerAmount",
            Self::Expiration => "expiration",
            Self::Nonce => "nonce",
            Self::FeeRateBps => "feeRateBps",
            Self::Side => "side",
            Self::SignatureType => "signatureType",
            Self::Timestamp => "timestamp",
            Self::Metadata => "metadata",
            Self::Builder => "builder",
        }
    }

    /// The Solidity type in `OrderStructs.sol`.
    pub const fn sol_type(self) -> &'static str {
        match self {
            Self::Maker | Self::Signer | Self::Taker => "address",
            Self::Side | Self::SignatureType => "uint8",
            Self::Metadata | Self::Builder => "bytes32",
            _ => "uint256",
        }
    }
}

/// The order struct of one exchange generation.
#[derive(Debug, PartialEq, Eq)]
pub struct OrderSchema {
    /// Signed fields, in struct order (the EIP-712 type string is built from this list).
    pub signed: &'static [OrderField],
    /// Fields of the JSON `order` object before `signature`, in the official clients' order.
    /// V2 sends `expiration` although it is not signed (the venue uses it for GTD).
    pub json: &'static [OrderField],
    /// Whether EIP-1271 deposit-wallet signatures (`POLY_1271`) exist for this struct.
    pub supports_poly_1271: bool,
}

use OrderField as F;

#[rustfmt::skip]
/// V1 `Order` (`ctf-exchange/src/exchange/libraries/OrderStructs.sol`).
pub static SCHEMA_V1: OrderSchema = OrderSchema {
    signed: &[
        F::Salt, F::Maker, F::Signer, F::Taker, F::TokenId, F::MakerAmount, F::TakerAmount,
        F::Expiration, F::Nonce, F::FeeRateBps, F::Side, F::SignatureType,
    ],
    json: &[
        F::Salt, F::Maker, F::Signer, F::Taker, F::TokenId, F::MakerAmount, F::TakerAmount,
        F::Expiration, F::Nonce, F::FeeRateBps, F::Side, F::SignatureType,
    ],
    supports_poly_1271: false,
};

#[rustfmt::skip]
/// V2/V3 `Order` (py-clob-client-v2 `exchange_order_builder_v2.py`, `order_to_json_v2`).
pub static SCHEMA_V2: OrderSchema = OrderSchema {
    signed: &[
        F::Salt, F::Maker, F::Signer, F::TokenId, F::MakerAmount, F::TakerAmount, F::Side,
        F::SignatureType, F::Timestamp, F::Metadata, F::Builder,
    ],
    json: &[
        F::Salt, F::Maker, F::Signer, F::TokenId, F::MakerAmount, F::TakerAmount, F::Side,
        F::Expiration, F::SignatureType, F::Timestamp, F::Metadata, F::Builder,
    ],
    supports_poly_1271: true,
};

impl OrderSchema {
    /// `Order(uint256 salt,address maker,...)`.
    pub fn type_string(&self) -> String {
        let mut s = String::from("Order(");
        for (i, f) in self.signed.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            s.push_str(f.sol_type());
            s.push(' ');
            s.push_str(f.name());
        }
        s.push(')');
        s
    }

    /// keccak256 of the type string.
    pub fn type_hash(&self) -> [u8; 32] {
        keccak256(self.type_string().as_bytes())
    }

    /// The schema signed under an exchange domain version ("1" → V1; "2", "3" → V2 struct).
    pub fn for_domain_version(version: &str) -> Result<&'static Self, ProtocolError> {
        match version {
            "1" => Ok(&SCHEMA_V1),
            "2" | "3" => Ok(&SCHEMA_V2),
            other => Err(ProtocolError::UnknownDomainVersion(other.to_string())),
        }
    }

    pub fn has(&self, field: OrderField) -> bool {
        self.signed.contains(&field)
    }
}

/// Why a protocol version could not be set up.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProtocolError {
    #[error("unknown order version {0} (known: 1, 2, 3)")]
    UnknownVersion(u8),
    #[error("no exchange addresses known for order version {version} on chain {chain_id}")]
    UnknownChain { version: u8, chain_id: u64 },
    #[error("unknown exchange domain version {0:?}")]
    UnknownDomainVersion(String),
}

/// Everything version-specific about signing an order for one chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProtocolVersion {
    /// The number the venue reports at `GET /version`.
    pub version: u8,
    /// EIP-712 domain `version`.
    pub domain_version: &'static str,
    pub chain_id: u64,
    /// `verifyingContract` for markets with `neg_risk = false`.
    pub exchange: Address,
    /// `verifyingContract` for markets with `neg_risk = true`.
    pub neg_risk_exchange: Address,
    pub schema: &'static OrderSchema,
}

/// (version, chain) → (exchange, neg-risk exchange), from py-clob-client-v2 `config.py`.
/// The V2 SDK lists a single V3 exchange per chain, used here for both kinds of market.
#[rustfmt::skip]
const EXCHANGES: &[(u8, u64, &str, &str)] = &[
    (1, POLYGON, "0x4bFb41d5B3570DeFd03C39a9A4D8dE6Bd8B8982E", "0xC5d563A36AE78145C45a50134d48A1215220f80a"),
    (1, AMOY, "0xdFE02Eb6733538f8Ea35D585af8DE5958AD99E40", "0xC5d563A36AE78145C45a50134d48A1215220f80a"),
    (2, POLYGON, "0xE111180000d2663C0091e4f400237545B87B996B", "0xe2222d279d744050d28e00520010520000310F59"),
    (2, AMOY, "0xE111180000d2663C0091e4f400237545B87B996B", "0xe2222d279d744050d28e00520010520000310F59"),
    (3, POLYGON, "0xe3333700cA9d93003F00f0F71f8515005F6c00Aa", "0xe3333700cA9d93003F00f0F71f8515005F6c00Aa"),
    (3, AMOY, "0x9fE6e61422AdB6F610d8597F9684b16912D50C3D", "0x9fE6e61422AdB6F610d8597F9684b16912D50C3D"),
];

impl ProtocolVersion {
    /// The production V2 protocol on Polygon.
    pub fn v2() -> Self {
        // The table has this entry; see the test below.
        Self::known(2, POLYGON).unwrap_or_else(|_| unreachable!("V2 Polygon is in the table"))
    }

    /// A version from the built-in table of official deployments.
    pub fn known(version: u8, chain_id: u64) -> Result<Self, ProtocolError> {
        let (domain_version, schema) = match version {
            1 => ("1", &SCHEMA_V1),
            2 => ("2", &SCHEMA_V2),
            3 => ("3", &SCHEMA_V2),
            v => return Err(ProtocolError::UnknownVersion(v)),
        };
        let &(_, _, exchange, neg_risk) = EXCHANGES
            .iter()
            .find(|e| e.0 == version && e.1 == chain_id)
            .ok_or(ProtocolError::UnknownChain { version, chain_id })?;
        let parse = |s: &str| {
            Address::parse(s).unwrap_or_else(|_| unreachable!("table addresses are valid hex"))
        };
        Ok(Self {
            version,
            domain_version,
            chain_id,
            exchange: parse(exchange),
            neg_risk_exchange: parse(neg_risk),
            schema,
        })
    }

    /// The exchange that settles a market's orders.
    #[inline]
    pub fn exchange_for(&self, neg_risk: bool) -> Address {
        if neg_risk {
            self.neg_risk_exchange
        } else {
            self.exchange
        }
    }

    /// The EIP-712 domain orders for this kind of market are signed under.
    pub fn domain(&self, neg_risk: bool) -> Domain {
        Domain {
            name: Cow::Borrowed(EXCHANGE_DOMAIN_NAME),
            version: Cow::Borrowed(self.domain_version),
            chain_id: self.chain_id,
            verifying_contract: Some(self.exchange_for(neg_risk)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_strings_match_the_contracts() {
        assert_eq!(
            SCHEMA_V1.type_string(),
            "Order(uint256 salt,address maker,address signer,address taker,uint256 tokenId,\
             uint256 makerAmount,uint256 takerAmount,uint256 expiration,uint256 nonce,\
             uint256 feeRateBps,uint8 side,uint8 signatureType)"
        );
        assert_eq!(
            SCHEMA_V2.type_string(),
            "Order(uint256 salt,address maker,address signer,uint256 tokenId,uint256 makerAmount,\
             uint256 takerAmount,uint8 side,uint8 signatureType,uint256 timestamp,\
             bytes32 metadata,bytes32 builder)"
        );
    }

    #[test]
    fn every_table_entry_parses() {
        for &(v, chain, _, _) in EXCHANGES {
            let p = ProtocolVersion::known(v, chain).unwrap();
            assert_eq!(p.domain(false).verifying_contract, Some(p.exchange));
            assert_eq!(p.domain(true).verifying_contract, Some(p.neg_risk_exchange));
        }
        assert_eq!(ProtocolVersion::v2().domain_version, "2");
        assert_eq!(
            ProtocolVersion::known(4, POLYGON),
            Err(ProtocolError::UnknownVersion(4))
        );
        assert!(ProtocolVersion::known(2, 1).is_err());
    }
}
