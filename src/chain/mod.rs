//! An EVM client for the cold side: JSON-RPC over HTTP ([`rpc`]), EIP-1559 transactions signed
//! with the engine's key ([`tx`]), a journal that is written before anything is sent
//! ([`journal`]), nonces, gas caps, receipts, revert reasons and stuck-transaction replacement
//! ([`client`]), and its `[chain]` config ([`config`]).
//!
//! Nothing here runs on the hot path: every call blocks on the network.

pub mod client;
pub mod config;
pub mod journal;
pub mod revert;
pub mod rpc;
pub mod tx;

pub use client::{ChainClient, ChainError, Mined, TxCall};
pub use config::{ChainConfig, Contracts, GasConfig, RelayerConfig, Route};
pub use journal::{TxJournal, TxRow, TxStatus};
pub use rpc::{CallRequest, Receipt, Rpc, RpcError};
pub use tx::{Eip1559Tx, SignedTx};
