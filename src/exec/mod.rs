//! Execution: turning opportunities into orders. `OrderIntent` is what the dispatch stage
//! decides to send; idempotency rests on (`plan_id`, `client_oid`): one plan per opportunity,
//! one client order id per leg, never reused.
//!
//! - [`dispatch`]: the dry-run dispatch stage (intents journaled, nothing sent).
//! - [`live`]: the live dispatch stage and its sender thread; [`instruments`]: what it trades.
//! - [`manager`]: the order manager (journal first, unknown outcomes looked up by hash,
//!   version mismatch re-signed once, cancel/replace policy).
//! - [`pairing`]: Dutch-book legs sized to each other, and the unwind of uneven fills.
//! - [`recycle_link`]: complete sets of decided plans offered to the capital recycler, and
//!   the batches it recycled taken out of the positions.
//! - [`risk_link`]: the sender's exposure book and risk setup (caps, breakers, kill switch).
//! - [`settings`]: the `[trading]` section (dry run or live, secrets files, journal).
//! - [`order`]: the order state machine; [`positions`]: fills and inventory per outcome.
//! - [`journal`]: the [`journal::OrderJournal`] trait and its in-memory implementation;
//!   [`journal_db`]: the same journal in the database (orders, journal rows, fills, positions).

pub mod dispatch;
pub mod instruments;
pub mod journal;
pub mod journal_db;
pub mod live;
pub mod manager;
pub mod order;
pub mod pairing;
pub mod positions;
pub mod recycle_link;
pub mod risk_link;
pub mod settings;

use crate::adapters::polymarket::signing::OrderType;
use crate::core::{AssetIndex, Price, Side, Size};

/// One order the engine intends to place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderIntent {
    pub plan_id: u64,
    /// Unique per leg: `plan_id << 8 | leg`.
    pub client_oid: u64,
    pub group: u32,
    pub asset: AssetIndex,
    pub side: Side,
    pub price: Price,
    pub size: Size,
    pub order_type: OrderType,
    /// Receive time of the frame that led to it, and when the intent was made.
    pub recv_ns: u64,
    pub created_ns: u64,
}
