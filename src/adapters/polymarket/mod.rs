//! Polymarket: market-channel wire parsing (and, as they land, the WS client, CLOB REST,
//! signing and Gamma), one folder per concern.

pub mod gamma;
pub mod http;
pub mod market_channel;
pub mod ws;
