//! Rule hashes: a SHA-256 of what decides a market's resolution (its description, resolution
//! source and end date), and the record of a change.
//!
//! A market whose rules change under an open position is a different bet. The catalog compares
//! each refresh's hash with the stored one; a difference is a `RuleChange`, stored, logged, and
//! it halts trading in the market and its neg-risk group until an operator acknowledges it.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::core::ConditionId;

/// SHA-256 of a market's resolution rules.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct RuleHash(pub [u8; 32]);

impl RuleHash {
    /// Hashes the rules. Each part is length-prefixed, so that text moving from one field to
    /// the next changes the hash.
    pub fn of(description: &str, resolution_source: &str, end_date: &str) -> Self {
        let mut h = Sha256::new();
        for part in [description, resolution_source, end_date] {
            h.update((part.len() as u64).to_be_bytes());
            h.update(part.as_bytes());
        }
        Self(h.finalize().into())
    }

    pub fn to_hex(self) -> String {
        hex::encode(self.0)
    }

    pub fn parse_hex(s: &str) -> Option<Self> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).ok()?;
        Some(Self(out))
    }

    /// The first 12 hex digits, for tables and logs.
    pub fn short(self) -> String {
        hex::encode(&self.0[..6])
    }
}

impl fmt::Display for RuleHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for RuleHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RuleHash({})", self.short())
    }
}

impl Serialize for RuleHash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RuleHash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse_hex(&s).ok_or_else(|| serde::de::Error::custom("expected 64 hex digits"))
    }
}

/// One detected change of a market's rules (the storage layer's `rule_changes` row).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleChange {
    pub condition_id: ConditionId,
    /// `None` when the market had no stored hash (never halts: that is a first sighting).
    pub old_hash: Option<RuleHash>,
    pub new_hash: RuleHash,
    /// UNIX nanoseconds.
    pub detected_ns: u64,
    /// UNIX nanoseconds of the operator's acknowledgement; `None` while the market is halted.
    pub acked_ns: Option<u64>,
    /// Which rule fields changed, for the operator (`description, end_date`).
    pub detail: String,
}

impl RuleChange {
    pub fn is_pending(&self) -> bool {
        self.acked_ns.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_rule_field_changes_the_hash() {
        let h = RuleHash::of("d", "s", "2026-01-01T00:00:00Z");
        assert_eq!(h, RuleHash::of("d", "s", "2026-01-01T00:00:00Z"));
        assert_ne!(h, RuleHash::of("d.", "s", "2026-01-01T00:00:00Z"));
        assert_ne!(h, RuleHash::of("d", "s2", "2026-01-01T00:00:00Z"));
        assert_ne!(h, RuleHash::of("d", "s", "2026-01-02T00:00:00Z"));
        // Length prefixes: moving text between fields is a change.
        assert_ne!(RuleHash::of("ab", "", ""), RuleHash::of("a", "b", ""));
        assert_eq!(RuleHash::parse_hex(&h.to_hex()), Some(h));
        let j = serde_json::to_string(&h).unwrap();
        assert_eq!(serde_json::from_str::<RuleHash>(&j).unwrap(), h);
    }
}
