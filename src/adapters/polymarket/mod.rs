//! Polymarket: market-channel wire parsing, order signing and API auth (and, as they land, the
//! WS client, CLOB REST and Gamma), one folder per concern.

pub mod market_channel;
pub mod signing;
