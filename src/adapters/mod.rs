//! Venue adapters: everything that speaks a venue's wire protocol.

pub mod polymarket;
