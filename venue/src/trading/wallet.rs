//! Deposit wallets: the account a POLY_1271 (signature type 3) API user trades for.
//!
//! Production deploys each user's deposit wallet (an ERC-1967 proxy owned by the user's EOA)
//! through its relayer, at an address the venue learns from the chain. The double has no chain,
//! so it fixes its own convention: the wallet's address is CREATE2-shaped, the last 20 bytes of
//! `keccak256(0xff ++ factory ++ owner left-padded to 32 bytes ++ keccak256("polyarb-venue
//! deposit wallet"))`, with [`DEPOSIT_WALLET_FACTORY`] as the factory. That is this double's
//! rule, not production's derivation: a client must read the address from the venue
//! (`GET /admin/deposit-wallet?owner=`) or from [`deposit_wallet_address`], never compute
//! production's wallet with it.

use polyarb::adapters::polymarket::signing::Address;
use polyarb::adapters::polymarket::signing::evm::keccak256;

/// The deposit-wallet factory whose CREATE2 shape the double's wallet addresses follow.
pub const DEPOSIT_WALLET_FACTORY: Address = Address([
    0x00, 0x00, 0x00, 0x00, 0x00, 0x0f, 0xb5, 0xc9, 0xad, 0xea, 0x02, 0x98, 0xd7, 0x29, 0xa0, 0xcb,
    0x38, 0x23, 0xcc, 0x07,
]);

/// The init-code hash stand-in of the CREATE2 shape: the hash of a label, not of bytecode.
const WALLET_LABEL: &[u8] = b"polyarb-venue deposit wallet";

/// The deposit wallet the venue assigns to `owner` (the double's convention, see the module
/// documentation).
pub fn deposit_wallet_address(owner: Address) -> Address {
    let mut pre = Vec::with_capacity(1 + 20 + 32 + 32);
    pre.push(0xff);
    pre.extend_from_slice(&DEPOSIT_WALLET_FACTORY.0);
    pre.extend_from_slice(&owner.to_word());
    pre.extend_from_slice(&keccak256(WALLET_LABEL));
    let h = keccak256(&pre);
    let mut a = [0u8; 20];
    a.copy_from_slice(&h[12..]);
    Address(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wallet_is_fixed_per_owner_and_differs_between_owners() {
        assert_eq!(
            DEPOSIT_WALLET_FACTORY.to_checksum(),
            "0x00000000000Fb5C9ADea0298D729A0CB3823Cc07"
        );
        let a = Address([1; 20]);
        let b = Address([2; 20]);
        assert_eq!(deposit_wallet_address(a), deposit_wallet_address(a));
        assert_ne!(deposit_wallet_address(a), deposit_wallet_address(b));
        assert_ne!(deposit_wallet_address(a), a);
        // Recomputed by hand from the documented preimage.
        let mut pre = vec![0xffu8];
        pre.extend_from_slice(&DEPOSIT_WALLET_FACTORY.0);
        pre.extend_from_slice(&[0u8; 12]);
        pre.extend_from_slice(&a.0);
        pre.extend_from_slice(&keccak256(b"polyarb-venue deposit wallet"));
        assert_eq!(deposit_wallet_address(a).0[..], keccak256(&pre)[12..]);
    }
}
