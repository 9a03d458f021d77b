//! Orders against the venue's matching engine over loopback: round trips, uneven Dutch-book
//! legs and their unwinding, and the order journal in SQLite.

#[path = "../common/mod.rs"]
mod common;
#[path = "../../../tests/polymarket_fixtures/mod.rs"]
mod polymarket_fixtures;
#[path = "../trading_support/mod.rs"]
mod trading_support;

mod order_journal;
mod orders;
mod pairing;
