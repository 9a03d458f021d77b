//! Orders against the venue's matching engine over loopback: round trips, uneven Dutch-book
//! legs and their unwinding, and the order journal in SQLite.

mod order_journal;
mod orders;
mod pairing;
