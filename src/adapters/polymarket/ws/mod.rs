//! The WebSocket clients: the market channel (the io stage of the pipeline: mio +
//! tungstenite, rustls for `wss://`, with sharding, keepalive, reconnect and backpressure) and
//! the authenticated user channel (`user`, `user_events`: the account's orders and trades).

pub mod backoff;
pub mod connection;
pub mod feed;
pub mod subscription;
pub mod user;
pub mod user_events;

pub use feed::{FeedCommand, FeedConfig, FeedControl, FeedError, FeedStats, MarketFeed};
