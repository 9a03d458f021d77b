//! Polymarket, one folder per concern: the market channel (`market_channel`: socket, frames,
//! parser), the user channel (`ws`), Gamma (`gamma`), CLOB REST (`http`), order signing and
//! auth (`signing`).

pub mod gamma;
pub mod http;
pub mod market_channel;
pub mod signing;
pub mod ws;
