//! Orders against the venue's matching engine over loopback: round trips, uneven Dutch-book
//! legs and their unwinding, the order journal in SQLite, and the risk controls (positions
//! restored at start, circuit breakers, kill switch, exposure caps).

#[path = "../common/mod.rs"]
mod common;
#[path = "../../../tests/polymarket_fixtures/mod.rs"]
mod polymarket_fixtures;
#[path = "../trading_support/mod.rs"]
mod trading_support;

mod order_journal;
mod orders;
mod pairing;
mod risk;
