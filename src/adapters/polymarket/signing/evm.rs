//! EVM value types used by signing: 20-byte addresses (printed with the EIP-55 checksum) and
//! 32-byte words, plus keccak256, and the ABI encodings of both as 32-byte words.
//!
//! Parsing is strict about shape (`0x` + exact hex length) and lenient about case: the venue
//! compares addresses case-insensitively, and the Rust and Python SDKs disagree on case.

use std::fmt;

use sha3::{Digest, Keccak256};
use thiserror::Error;

/// keccak256 of `bytes` (Ethereum's hash, not NIST SHA3-256).
#[inline]
pub fn keccak256(bytes: &[u8]) -> [u8; 32] {
    Keccak256::digest(bytes).into()
}

/// Why a hex value was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum HexError {
    #[error("expected 0x followed by {expected} hex digits, got {got} characters")]
    Length { expected: usize, got: usize },
    #[error("missing 0x prefix")]
    NoPrefix,
    #[error("invalid hex digit")]
    NotHex,
}

/// Decodes `0x` + exactly `2*N` hex digits.
pub fn parse_fixed_hex<const N: usize>(s: &str) -> Result<[u8; N], HexError> {
    let digits = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .ok_or(HexError::NoPrefix)?;
    if digits.len() != 2 * N {
        return Err(HexError::Length {
            expected: 2 * N,
            got: digits.len(),
        });
    }
    let mut out = [0u8; N];
    hex::decode_to_slice(digits, &mut out).map_err(|_| HexError::NotHex)?;
    Ok(out)
}

/// An account or contract address.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Address(pub [u8; 20]);

impl Address {
    pub const ZERO: Self = Self([0; 20]);

    /// Parses `0x` + 40 hex digits, any case (the checksum is not enforced: see module doc).
    pub fn parse(s: &str) -> Result<Self, HexError> {
        parse_fixed_hex::<20>(s).map(Self)
    }

    /// The address as an ABI word (left-padded with zeros).
    #[inline]
    pub fn to_word(self) -> [u8; 32] {
        let mut w = [0u8; 32];
        w[12..].copy_from_slice(&self.0);
        w
    }

    /// The address of an uncompressed secp256k1 public key `x || y` (64 bytes).
    pub fn from_public_key_xy(xy: &[u8; 64]) -> Self {
        let h = keccak256(xy);
        let mut a = [0u8; 20];
        a.copy_from_slice(&h[12..]);
        Self(a)
    }

    /// EIP-55 mixed-case spelling, as the official Python client sends it.
    pub fn to_checksum(self) -> String {
        self.checksummed().as_str().to_owned()
    }

    /// The EIP-55 spelling on the stack (the order JSON writer must not allocate).
    pub fn checksummed(self) -> HexStr<42> {
        let mut out = hex0x::<42>(&self.0);
        let digits = &mut out.0[2..];
        // Case only matters for the letters a–f: an all-digit address (the zero taker) needs no
        // hash.
        if digits.iter().any(u8::is_ascii_alphabetic) {
            let hash = keccak256(digits);
            for (i, c) in digits.iter_mut().enumerate() {
                let nibble = (hash[i / 2] >> if i % 2 == 0 { 4 } else { 0 }) & 0x0f;
                if nibble >= 8 {
                    c.make_ascii_uppercase();
                }
            }
        }
        out
    }
}

/// `0x` + hex held on the stack; `L` is the whole length, `2 + 2 * bytes`.
#[derive(Clone, Copy)]
pub struct HexStr<const L: usize>([u8; L]);

impl<const L: usize> HexStr<L> {
    pub fn as_str(&self) -> &str {
        // Only ASCII is ever written (`0x` and hex digits).
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl<const L: usize> serde::Serialize for HexStr<L> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// `0x` + lower-case hex of `bytes`, which must be `(L - 2) / 2` long.
pub fn hex0x<const L: usize>(bytes: &[u8]) -> HexStr<L> {
    let mut out = [b'0'; L];
    out[1] = b'x';
    // Length mismatches are programming errors; the zero-filled buffer is left as is.
    let _ = hex::encode_to_slice(bytes, &mut out[2..]);
    debug_assert_eq!(2 + 2 * bytes.len(), L);
    HexStr(out)
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_checksum())
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Address({})", self.to_checksum())
    }
}

impl std::str::FromStr for Address {
    type Err = HexError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// A `bytes32` value (order `metadata` and `builder` fields, hashes).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Bytes32(pub [u8; 32]);

impl Bytes32 {
    pub const ZERO: Self = Self([0; 32]);

    /// Parses `0x` + 64 hex digits.
    pub fn parse(s: &str) -> Result<Self, HexError> {
        parse_fixed_hex::<32>(s).map(Self)
    }
}

impl Bytes32 {
    /// `0x` + 64 hex digits on the stack.
    pub fn to_hex(&self) -> HexStr<66> {
        hex0x(&self.0)
    }
}

impl fmt::Display for Bytes32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.to_hex().as_str())
    }
}

impl fmt::Debug for Bytes32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Bytes32({self})")
    }
}

impl std::str::FromStr for Bytes32 {
    type Err = HexError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// A `uint256` ABI word holding a `u64`.
#[inline]
pub fn u64_word(v: u64) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[24..].copy_from_slice(&v.to_be_bytes());
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keccak_of_empty_input() {
        assert_eq!(
            hex::encode(keccak256(b"")),
            "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
        );
    }

    #[test]
    fn eip55_checksums() {
        // The four examples from EIP-55 itself.
        for s in [
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
            "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
            "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
        ] {
            let a = Address::parse(&s.to_lowercase()).unwrap();
            assert_eq!(a.to_checksum(), s);
        }
        assert_eq!(
            Address::ZERO.checksummed().as_str(),
            "0x0000000000000000000000000000000000000000"
        );
    }

    #[test]
    fn hex_shapes_are_strict() {
        assert_eq!(
            Address::parse("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266"),
            Err(HexError::NoPrefix)
        );
        assert!(matches!(
            Address::parse("0x1234"),
            Err(HexError::Length { .. })
        ));
        assert_eq!(
            Address::parse("0xz39Fd6e51aad88F6F4ce6aB8827279cffFb92266"),
            Err(HexError::NotHex)
        );
        let b =
            Bytes32::parse("0x0000000000000000000000000000000000000000000000000000000000000001")
                .unwrap();
        assert_eq!(b.0[31], 1);
        assert_eq!(
            b.to_string(),
            "0x0000000000000000000000000000000000000000000000000000000000000001"
        );
    }

    #[test]
    fn abi_words() {
        let a = Address([0xab; 20]);
        assert_eq!(&a.to_word()[..12], &[0u8; 12]);
        assert_eq!(u64_word(258)[30..], [1, 2]);
    }
}
