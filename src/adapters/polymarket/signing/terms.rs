//! The terms an order is asked for in, as the venue names them: its side ([`OrderSide`]) and
//! time in force ([`OrderType`]), and the error for a name that is neither. Both the amount
//! rules ([`super::amounts`]) and the signed order ([`super::order`]) are written in them.

use std::fmt;
use std::str::FromStr;

use crate::core::market::Side;

/// Why an enum value from the command line or the wire was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} {got:?}: expected {expected}")]
pub struct EnumParseError {
    pub what: &'static str,
    pub got: String,
    pub expected: &'static str,
}

/// BUY = 0, SELL = 1 in the signed struct; "BUY"/"SELL" in JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum OrderSide {
    Buy = 0,
    Sell = 1,
}

impl OrderSide {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Buy => "BUY",
            Self::Sell => "SELL",
        }
    }

    pub fn from_u8(v: u8) -> Option<Self> {
        match v {
            0 => Some(Self::Buy),
            1 => Some(Self::Sell),
            _ => None,
        }
    }

    /// The book side an order of this side rests on.
    pub const fn book_side(self) -> Side {
        match self {
            Self::Buy => Side::Bid,
            Self::Sell => Side::Ask,
        }
    }
}

impl FromStr for OrderSide {
    type Err = EnumParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "BUY" | "buy" => Ok(Self::Buy),
            "SELL" | "sell" => Ok(Self::Sell),
            _ => Err(EnumParseError {
                what: "side",
                got: s.into(),
                expected: "BUY or SELL",
            }),
        }
    }
}

/// Time in force, as the venue names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OrderType {
    /// Good till cancelled (rests).
    Gtc,
    /// Good till date: rests until `expiration` (unix seconds).
    Gtd,
    /// Fill or kill (marketable).
    Fok,
    /// Fill and kill, i.e. immediate or cancel (marketable).
    Fak,
}

impl OrderType {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Gtc => "GTC",
            Self::Gtd => "GTD",
            Self::Fok => "FOK",
            Self::Fak => "FAK",
        }
    }

    /// FOK and FAK are the venue's "market" types: they never rest.
    pub const fn is_marketable(self) -> bool {
        matches!(self, Self::Fok | Self::Fak)
    }
}

impl fmt::Display for OrderType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OrderType {
    type Err = EnumParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().as_str() {
            "GTC" => Ok(Self::Gtc),
            "GTD" => Ok(Self::Gtd),
            "FOK" => Ok(Self::Fok),
            "FAK" => Ok(Self::Fak),
            _ => Err(EnumParseError {
                what: "order type",
                got: s.into(),
                expected: "GTC, GTD, FOK or FAK",
            }),
        }
    }
}
