//! The market-channel WebSocket client: the io stage of the pipeline (mio + tungstenite,
//! rustls for `wss://`), with sharding, keepalive, reconnect and backpressure.

pub mod backoff;
pub mod connection;
pub mod feed;
pub mod subscription;

pub use feed::{FeedCommand, FeedConfig, FeedControl, FeedError, FeedStats, MarketFeed};
