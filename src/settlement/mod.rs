//! Settlement on chain: ConditionalTokens position ids ([`ids`]), the calldata of split, merge,
//! redeem and neg-risk convert through Polymarket's V2 collateral adapters or ConditionalTokens
//! itself ([`calls`]), and an account's balances and approvals read on chain ([`account`]).
//!
//! Amounts are 6-decimal base units (1 share = 1 pUSD = 1_000_000) held in `U256`.

pub mod account;
pub mod calls;
pub mod ids;

pub use calls::{MarketKind, Settlement};
