//! Orders against the venue's matching engine over loopback: round trips, uneven Dutch-book
//! legs and their unwinding, the order journal in SQLite, the relayer settling wallet accounts on
//! the ledger, and the risk controls (positions restored at start, circuit breakers, kill switch,
//! exposure caps).

mod order_journal;
mod orders;
mod pairing;
mod recycle;
mod relayer;
mod risk;
mod spread;
