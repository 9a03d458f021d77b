//! The venue's trading side: accounts, API keys, signed orders, matching, trades and the
//! authenticated user channel, so that paper trading against the local double is real.
//!
//! - [`config`]: `[trading]` in venue.toml (order version, chain, timings, per-signer limits).
//! - [`keys`]: API credentials made and checked (L1 to create/derive, L2 on every request).
//! - [`accounts`]: pUSD and outcome-token balances, with what resting orders hold back.
//! - [`orders`]: the venue's orders and the queues they rest in (price-time priority).
//! - [`matching`]: taker orders against house liquidity and resting orders, settlement.
//! - [`state`]: [`TradingState`], everything that lives under the hub lock (balances, orders,
//!   trades), plus trade status progression, heartbeats and expiries; [`timer`] drives those.
//! - [`checks`]: an order's signature, account and amounts as production checks them;
//!   [`refusal`]: production's refusal texts and their per-reason counters.
//! - [`wallet`]: deposit-wallet addresses (the double's convention).
//! - [`shared`]: what lives outside the hub lock (keys, limits, version, REST faults).
//! - [`api`]: the REST endpoints (a router service); [`wire`]: their JSON and the user
//!   channel's `order`/`trade` events in the real shapes.
//!
//! One price space: a binary market's orders all rest in "YES space" (a YES bid at p, a NO
//! ask at 1 − p and a NO bid at q as a YES ask at 1 − q are the same liquidity), so a taker on
//! one outcome meets makers on the other (mint and merge matches) exactly as on Polymarket.
//! Resting orders are published on both tokens' books (`AssetBook::user`) and therefore on the
//! market channel. Trading needs the synthetic source; a replayed recording is read-only.

pub mod accounts;
pub mod api;
pub mod api_data;
pub mod checks;
pub mod config;
pub mod keys;
pub mod matching;
pub mod orders;
pub mod rate;
pub mod refusal;
pub mod render;
pub mod shared;
pub mod state;
pub mod timer;
pub mod trades;
pub mod wallet;
pub mod wire;

pub use config::{EoaOrders, VenueTradingConfig};
pub use keys::ApiKeys;
pub use shared::{TradingFaults, TradingShared};
pub use state::TradingState;
pub use wallet::deposit_wallet_address;
