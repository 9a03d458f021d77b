//! Condition, collection and position (ERC-1155 token) ids as ConditionalTokens derives them,
//! for binary markets (keyed to USDC.e) and neg-risk markets (conditions prepared by the
//! NegRiskAdapter, ids keyed to its wrapped collateral).
//!
//! Exact: 256-bit integers modulo the alt_bn128 field prime, no floats and no approximations.

use alloy_primitives::{Address, B256, Bytes, U256, keccak256, uint};
use alloy_sol_types::SolValue;

/// The alt_bn128 base field prime that ConditionalTokens hashes collection ids onto.
const P: U256 =
    uint!(21888242871839275222246405745257275088696311157297823662689037894645226208583_U256);

/// `keccak256(abi.encodePacked(oracle, questionId, outcomeSlotCount))`.
pub fn condition_id(oracle: Address, question_id: B256, outcome_slot_count: u32) -> B256 {
    keccak256((oracle, question_id, U256::from(outcome_slot_count)).abi_encode_packed())
}

/// `getCollectionId(0x0, conditionId, indexSet)`: the x-coordinate of the first curve point
/// (y² = x³ + 3) at or after `keccak(conditionId ‖ indexSet) + 1`, with the hash's top bit
/// choosing the y root and y's parity stored in bit 254. Only a zero parent collection, the
/// only kind Polymarket uses, is supported.
pub fn collection_id(condition_id: B256, index_set: U256) -> B256 {
    let h = keccak256((condition_id, index_set).abi_encode_packed());
    let mut x = U256::from_be_bytes(h.0);
    let odd = x.bit(255);
    // P ≡ 3 (mod 4), so yy^((P+1)/4) is a square root whenever one exists.
    let exp = (P + U256::from(1)) >> 2;
    let three = U256::from(3);
    let mut y;
    loop {
        x = x.add_mod(U256::from(1), P);
        let yy = x.mul_mod(x, P).mul_mod(x, P).add_mod(three, P);
        y = yy.pow_mod(exp, P);
        if y.mul_mod(y, P) == yy {
            break;
        }
    }
    if odd != y.bit(0) {
        y = P - y;
    }
    if y.bit(0) {
        x ^= U256::from(1) << 254;
    }
    B256::from(x.to_be_bytes::<32>())
}

/// `uint256(keccak256(abi.encodePacked(collateral, collectionId)))`.
pub fn position_id(collateral: Address, collection_id: B256) -> U256 {
    U256::from_be_bytes(keccak256((collateral, collection_id).abi_encode_packed()).0)
}

/// The index sets of a binary condition: YES (outcome 0) is 1, NO (outcome 1) is 2.
pub const YES: u8 = 1;
pub const NO: u8 = 2;

/// YES and NO position ids of a binary condition keyed to `collateral`.
pub fn binary_positions(collateral: Address, condition_id: B256) -> [U256; 2] {
    [YES, NO].map(|i| position_id(collateral, collection_id(condition_id, U256::from(i))))
}

/// A neg-risk market id: `keccak256(abi.encode(oracle, feeBips, metadata))` with its low byte
/// cleared (question ids count up from it).
pub fn neg_risk_market_id(oracle: Address, fee_bips: U256, metadata: &[u8]) -> B256 {
    let mut id =
        keccak256((oracle, fee_bips, Bytes::copy_from_slice(metadata)).abi_encode_params());
    id.0[31] = 0;
    id
}

/// The id of question `index` of a neg-risk market: the market id with `index` in its low byte.
pub fn neg_risk_question_id(market_id: B256, index: u8) -> B256 {
    let mut q = market_id;
    q.0[31] = index;
    q
}

/// The condition the NegRiskAdapter (its oracle) prepared for a neg-risk question.
pub fn neg_risk_condition_id(neg_risk_adapter: Address, question_id: B256) -> B256 {
    condition_id(neg_risk_adapter, question_id, 2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::{address, b256};

    #[test]
    fn neg_risk_market_ids_clear_the_low_byte() {
        let m = neg_risk_market_id(Address::ZERO, U256::from(0), b"data");
        assert_eq!(m.0[31], 0);
        assert_eq!(neg_risk_question_id(m, 7).0[31], 7);
        assert_eq!(neg_risk_question_id(m, 7).0[..31], m.0[..31]);
    }

    #[test]
    fn collection_ids_differ_per_index_set_and_positions_per_collateral() {
        let cid = b256!("0x41771a29f1fa3b5ac743ddcf224017f802bd69152c1a65230ec666abfc22b708");
        let [y, n] = binary_positions(address!("0x2791Bca1f2de4661ED88A30C99A7a9449Aa84174"), cid);
        assert_ne!(y, n);
        let [y2, _] = binary_positions(address!("0xC011a7E12a19f7B1f670d46F03B03f3342E82DFB"), cid);
        assert_ne!(y, y2);
    }
}
