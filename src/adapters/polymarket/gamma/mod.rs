//! Gamma (`https://gamma-api.polymarket.com`): Polymarket's market metadata API, read by the
//! catalog. `client` speaks HTTP (paging, retries, limits), `query` spells the parameters,
//! `wire` holds the tolerant serde shapes and `number` reads money sent as JSON numbers exactly.
//! Turning these into domain markets is the catalog's job (`crate::catalog`).

pub mod client;
pub mod number;
pub mod query;
pub mod wire;

pub use client::{
    GammaClient, GammaClientConfig, GammaCounters, GammaError, Listing, MAX_LIMIT, MAX_OFFSET,
    Paging, Truncation,
};
pub use query::{EventsQuery, MarketsQuery};
pub use wire::{GammaEvent, GammaFeeSchedule, GammaMarket, GammaTag};
