//! The venue double itself over real sockets: the market channel, REST, public and API-key
//! endpoints, production's answers, every injected fault, and `synth frames`.

#[path = "../common/mod.rs"]
mod common;
#[path = "../trading_support/mod.rs"]
mod trading_support;

mod faults;
mod production;
mod public;
mod rest;
mod synth;
mod ws;
