//! Polymarket order signing and API authentication: everything that turns a trading decision
//! into bytes the CLOB accepts, and everything the local venue needs to check them.
//!
//! - [`protocol`]: order versions (V1, V2, "3") as data: domain version, exchanges, fields.
//! - [`amounts`]: price/size → maker/taker amounts; local refusals with the venue's error names.
//! - [`terms`]: an order's side and time in force, as the venue names them.
//! - [`order`], [`signer`]: the order struct and its hash; [`OrderSigner`] builds and signs.
//! - [`wire`]: the `POST /order` JSON body, written and read.
//! - [`auth`]: L1 `ClobAuth` signatures and L2 HMAC headers, made and verified.
//! - [`verify`]: recover an order's signer like the exchange does.
//! - [`eip712`], [`evm`], [`key`], [`poly1271`]: the primitives underneath.
//!
//! No float is involved anywhere: prices and sizes arrive as micro-unit integers.

pub mod amounts;
pub mod auth;
pub mod eip712;
pub mod evm;
pub mod key;
pub mod order;
pub mod poly1271;
pub mod protocol;
pub mod signer;
pub mod terms;
pub mod verify;
pub mod wire;

pub use amounts::{OrderAmounts, OrderRejection};
pub use auth::{ApiCredentials, L1Headers, L2Headers, L2Signer, verify_l1, verify_l2};
pub use eip712::Domain;
pub use evm::{Address, Bytes32};
pub use key::{EcdsaSignature, PrivateKey};
pub use order::{
    MarketRules, Order, OrderRequest, OrderSignature, Quantity, SignatureType, SignedOrder,
};
pub use protocol::{OrderSchema, ProtocolVersion};
pub use signer::OrderSigner;
pub use terms::{EnumParseError, OrderSide, OrderType};
pub use verify::{order_hash, recover_order_signer, verify_order_signature};
pub use wire::{PostOrder, parse_post_order};

#[cfg(test)]
mod tests;
