//! Orders against the venue's matching engine over loopback: round trips, uneven Dutch-book
//! legs and their unwinding, the order journal in SQLite, and the relayer settling wallet accounts
//! on the ledger.

mod order_journal;
mod orders;
mod pairing;
mod relayer;
