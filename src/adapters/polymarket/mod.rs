//! Polymarket, one folder per concern: market-channel wire parsing (`market_channel`), the
//! market WebSocket client (`ws`), CLOB REST (`http`), order signing and auth (`signing`).

pub mod gamma;
pub mod http;
pub mod market_channel;
pub mod signing;
pub mod ws;
