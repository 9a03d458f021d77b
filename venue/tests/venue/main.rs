//! The venue double itself over real sockets: the market channel, REST, public and API-key
//! endpoints, production's answers, every injected fault, `synth frames`, and what a spread
//! quoter meets (synthetic takers, post-only, heartbeats).

mod faults;
mod production;
mod public;
mod rest;
mod spread;
mod synth;
mod ws;
