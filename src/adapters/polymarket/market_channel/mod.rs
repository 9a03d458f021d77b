//! The market channel (`/ws/market`): wire vocabulary and the frame parser.

pub mod parser;
pub mod stage;
pub mod wire;

pub use parser::{FRAME_PADDING, MarketParser, ParseCounters};
pub use wire::{EventError, EventType};
