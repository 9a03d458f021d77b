//! The authenticated user channel (`/ws/user`: the account's orders and trades; `user`,
//! `user_events`) and the reconnect backoff it shares with the market feed (`backoff`).

pub mod backoff;
pub mod user;
pub mod user_events;
