//! Orders against the venue's matching engine over loopback: round trips, uneven Dutch-book
//! legs and their unwinding, the order journal in SQLite, and the risk controls (positions
//! restored at start, circuit breakers, kill switch, exposure caps).

mod order_journal;
mod orders;
mod pairing;
mod risk;
