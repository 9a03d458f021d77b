//! The market channel (`/ws/market`), whole: the socket side (`feed`: the io stage on mio +
//! tungstenite, rustls for `wss://`, with sharding, keepalive, reconnect and backpressure;
//! `connection`, `subscription`), the pooled frames it hands on (`frame`), the wire vocabulary
//! (`wire`) and the frame parser with its pipeline stage (`parser`, `stage`).

pub mod connection;
pub mod feed;
pub mod frame;
pub mod parser;
pub mod stage;
pub mod subscription;
pub mod wire;

pub use feed::{FeedCommand, FeedConfig, FeedControl, FeedError, FeedStats, MarketFeed};
pub use parser::{FRAME_PADDING, MarketParser, ParseCounters};
pub use wire::{EventError, EventType};
