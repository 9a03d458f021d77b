//! The venue double itself over real sockets: the market channel, REST, public and API-key
//! endpoints, production's answers, every injected fault, and `synth frames`.

mod faults;
mod production;
mod public;
mod rest;
mod synth;
mod ws;
