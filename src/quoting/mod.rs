//! Spread quoting at the venue: the markets chosen ([`select`]), the quotes kept there through
//! the order manager ([`quoter`]) and the desk thread fed by the strategy stage's tap
//! ([`desk`]). The decision itself is `strategy::spread::quote`.

pub mod desk;
pub mod quoter;
pub mod select;
