//! Settlement on chain: ConditionalTokens position ids ([`ids`]), the calldata of split, merge,
//! redeem and neg-risk convert through Polymarket's V2 collateral adapters or ConditionalTokens
//! itself ([`calls`]), an account's balances and approvals read on chain ([`account`]), and the
//! relayer's signed requests for Safe, proxy and deposit-wallet accounts ([`relayer`]) with its
//! HTTP client ([`relayer_client`]), and complete sets recycled into pUSD in batches on the
//! cold side ([`recycle`]), sent through the relayer or the chain client ([`senders`]).
//!
//! Amounts are 6-decimal base units (1 share = 1 pUSD = 1_000_000) held in `U256`.

pub mod account;
pub mod calls;
pub mod ids;
pub mod recycle;
pub mod relayer;
pub mod relayer_client;
pub mod senders;

pub use calls::{MarketKind, Settlement};
pub use relayer::{AccountType, RelayerContracts, SubmitRequest};
pub use relayer_client::{RelayerAuth, RelayerClient, RelayerError};
