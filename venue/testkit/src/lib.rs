//! The venue double's integration-test helpers, written once for every test binary of
//! `polyarb-venue`: a paused venue and clients of it over real loopback sockets (`wire`),
//! traders with real API keys (`trading`), the venue's Gamma and the catalog (`catalog`), and
//! the engine's pipeline against the venue (`engine`). What does not need a venue is in
//! `testkit`.

pub mod catalog;
pub mod engine;
pub mod trading;
pub mod wire;
