//! Identifiers of the synthetic markets, derived from the seed the way the chain derives them.
//!
//! On Polymarket a condition id is a keccak256 digest and an outcome token id is the keccak of
//! the collateral and collection, read as a uint256 (hence ~77 decimal digits); a neg-risk
//! market id is a keccak with its low byte cleared, and its questions are `market_id + index`.
//! Deriving ours the same way gives ids with the real shapes and spread of values, so parsers
//! and registries are exercised on realistic input, and the same seed always gives the same ids.

use sha3::{Digest, Keccak256};

use polyarb::core::{ConditionId, TokenId};

fn keccak(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Keccak256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// The condition id of the `index`-th synthetic market of a seed.
pub fn condition_id(seed: u64, index: u32) -> ConditionId {
    ConditionId(keccak(&[
        b"polyarb/synth/condition",
        &seed.to_be_bytes(),
        &index.to_be_bytes(),
    ]))
}

/// The outcome token id of `outcome` (0 = YES, 1 = NO) of a condition.
pub fn token_id(condition: &ConditionId, outcome: u8) -> TokenId {
    // The index set is 1 << outcome, as in the CTF's partition [1, 2].
    let index_set = [1u8 << outcome];
    TokenId::from_be_bytes(keccak(&[
        b"polyarb/synth/position",
        &condition.0,
        &index_set,
    ]))
}

/// The neg-risk market id of the `group`-th group: a keccak with the low byte cleared, so that
/// question ids (`market_id + question index`) share every byte but the last.
pub fn neg_risk_market_id(seed: u64, group: u32) -> ConditionId {
    let mut id = keccak(&[
        b"polyarb/synth/neg-risk-market",
        &seed.to_be_bytes(),
        &group.to_be_bytes(),
    ]);
    id[31] = 0;
    ConditionId(id)
}

/// The question id of the `index`-th question of a neg-risk market.
pub fn neg_risk_question_id(market: &ConditionId, index: u8) -> ConditionId {
    let mut id = market.0;
    id[31] = index;
    ConditionId(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_realistic_and_distinct() {
        let c = condition_id(42, 0);
        assert_eq!(c, condition_id(42, 0));
        assert_ne!(c, condition_id(42, 1));
        assert_ne!(c, condition_id(43, 0));
        assert_eq!(c.to_string().len(), 66);
        let (yes, no) = (token_id(&c, 0), token_id(&c, 1));
        assert_ne!(yes, no);
        // A uint256 read from a hash has 77 or 78 digits almost always (the real ids do too).
        let mut lens = Vec::new();
        for i in 0..200 {
            let t = token_id(&condition_id(1, i), 0).to_string();
            assert_eq!(
                TokenId::parse(&t).unwrap(),
                token_id(&condition_id(1, i), 0)
            );
            lens.push(t.len());
        }
        assert!(lens.iter().filter(|&&l| l == 77).count() > 100, "{lens:?}");
        let m = neg_risk_market_id(1, 0);
        assert_eq!(m.0[31], 0);
        assert_eq!(neg_risk_question_id(&m, 3).0[..31], m.0[..31]);
    }
}
