//! Identifiers: outcome-token ids (uint256), condition ids (bytes32) and the dense asset index.
//!
//! A Polymarket token id is a 77-digit decimal uint256. It is kept exact at the edges (parsed
//! once into 256 bits, printed back canonically) and mapped once to a dense `AssetIndex` so that
//! every hot-path message carries a `u32` instead of a 77-byte string.

use std::fmt;

use hashbrown::HashTable;
use thiserror::Error;

/// Why an identifier was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum IdError {
    #[error("token id is empty")]
    Empty,
    #[error("token id has a non-digit character")]
    NotDecimal,
    #[error("token id does not fit in 256 bits")]
    Overflow,
    #[error("condition id must be 0x followed by 64 hex digits")]
    BadConditionId,
    #[error("asset registry is full (u32 indices exhausted)")]
    RegistryFull,
}

/// An outcome token id: an ERC-1155 position id, a uint256 (big-endian limbs, most significant
/// first, so the derived ordering is numeric).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct TokenId([u64; 4]);

impl TokenId {
    /// Parses a decimal uint256 exactly (leading zeros allowed; no sign, no white space).
    pub fn parse_bytes(s: &[u8]) -> Result<Self, IdError> {
        if s.is_empty() {
            return Err(IdError::Empty);
        }
        let mut limbs = [0u64; 4];
        for &b in s {
            let d = b.wrapping_sub(b'0');
            if d > 9 {
                return Err(IdError::NotDecimal);
            }
            // limbs = limbs * 10 + d, from the least significant limb up.
            let mut carry = u128::from(d);
            for limb in limbs.iter_mut().rev() {
                let v = u128::from(*limb) * 10 + carry;
                *limb = v as u64;
                carry = v >> 64;
            }
            if carry != 0 {
                return Err(IdError::Overflow);
            }
        }
        Ok(Self(limbs))
    }

    pub fn parse(s: &str) -> Result<Self, IdError> {
        Self::parse_bytes(s.as_bytes())
    }

    /// The 32-byte big-endian encoding (as in ABI `uint256`).
    pub fn to_be_bytes(self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (i, limb) in self.0.iter().enumerate() {
            out[i * 8..i * 8 + 8].copy_from_slice(&limb.to_be_bytes());
        }
        out
    }

    pub fn from_be_bytes(b: [u8; 32]) -> Self {
        let mut limbs = [0u64; 4];
        for (i, limb) in limbs.iter_mut().enumerate() {
            let mut w = [0u8; 8];
            w.copy_from_slice(&b[i * 8..i * 8 + 8]);
            *limb = u64::from_be_bytes(w);
        }
        Self(limbs)
    }

    pub fn from_u64(v: u64) -> Self {
        Self([0, 0, 0, v])
    }
}

impl fmt::Display for TokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Repeated division by 10^19 (the largest power of ten in a u64).
        const CHUNK: u128 = 10_000_000_000_000_000_000;
        let mut limbs = self.0;
        let mut chunks = [0u64; 5];
        let mut n = 0;
        loop {
            let mut rem: u128 = 0;
            for limb in limbs.iter_mut() {
                let cur = (rem << 64) | u128::from(*limb);
                *limb = (cur / CHUNK) as u64;
                rem = cur % CHUNK;
            }
            chunks[n] = rem as u64;
            n += 1;
            if limbs == [0; 4] {
                break;
            }
        }
        write!(f, "{}", chunks[n - 1])?;
        for c in chunks[..n - 1].iter().rev() {
            write!(f, "{c:019}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for TokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenId({self})")
    }
}

impl std::str::FromStr for TokenId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl serde::Serialize for TokenId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for TokenId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A market's condition id (bytes32, `0x` + 64 hex on the wire).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ConditionId(pub [u8; 32]);

impl ConditionId {
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let hex_part = s
            .strip_prefix("0x")
            .or_else(|| s.strip_prefix("0X"))
            .ok_or(IdError::BadConditionId)?;
        if hex_part.len() != 64 {
            return Err(IdError::BadConditionId);
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(hex_part, &mut out).map_err(|_| IdError::BadConditionId)?;
        Ok(Self(out))
    }
}

impl fmt::Display for ConditionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(self.0))
    }
}

impl fmt::Debug for ConditionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConditionId({self})")
    }
}

impl serde::Serialize for ConditionId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for ConditionId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Dense index of an outcome token inside this process: what hot-path messages carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct AssetIndex(pub u32);

impl AssetIndex {
    #[inline]
    pub const fn get(self) -> usize {
        self.0 as usize
    }
}

/// What the registry knows about one asset.
#[derive(Clone, Debug)]
pub struct AssetInfo {
    pub token: TokenId,
    /// The canonical decimal spelling, as the venue sends it.
    pub token_str: Box<str>,
    /// The market (condition id) as last seen on the wire, kept verbatim.
    pub market: Option<Box<str>>,
}

/// Token id → dense index, assigned once and never reused.
///
/// Lookups take the raw bytes from the wire so the hot path never parses 77 digits; the key is
/// the canonical spelling, and a spelling with leading zeros is canonicalised before it misses.
/// The table hashes only a token's length and last 16 digits (see `token_hash`) and compares
/// the whole spelling on every hit.
#[derive(Default, Clone)]
pub struct AssetRegistry {
    by_str: HashTable<(TokenKey, AssetIndex)>,
    assets: Vec<AssetInfo>,
}

impl AssetRegistry {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_capacity(n: usize) -> Self {
        Self {
            by_str: HashTable::with_capacity(n),
            assets: Vec::with_capacity(n),
        }
    }

    /// The index of a token id given as wire bytes, if registered.
    #[inline]
    pub fn lookup(&self, token: &[u8]) -> Option<AssetIndex> {
        if let Some(i) = self.find(token) {
            return Some(i);
        }
        if token.len() > 1 && token[0] == b'0' {
            let canon = TokenId::parse_bytes(token).ok()?.to_string();
            return self.find(canon.as_bytes());
        }
        None
    }

    #[inline]
    fn find(&self, token: &[u8]) -> Option<AssetIndex> {
        self.by_str
            .find(token_hash(token), |(k, _)| k.as_bytes() == token)
            .map(|&(_, i)| i)
    }

    /// Registers a token id (or returns its existing index).
    pub fn register(&mut self, token: &[u8]) -> Result<AssetIndex, IdError> {
        if let Some(i) = self.lookup(token) {
            return Ok(i);
        }
        let id = TokenId::parse_bytes(token)?;
        let canon = id.to_string();
        let idx = u32::try_from(self.assets.len()).map_err(|_| IdError::RegistryFull)?;
        let idx = AssetIndex(idx);
        let key = TokenKey::new(canon.as_bytes()).ok_or(IdError::Overflow)?;
        self.by_str
            .insert_unique(token_hash(key.as_bytes()), (key, idx), |(k, _)| {
                token_hash(k.as_bytes())
            });
        self.assets.push(AssetInfo {
            token: id,
            token_str: canon.into_boxed_str(),
            market: None,
        });
        Ok(idx)
    }

    /// Records the market an asset belongs to (replacing any earlier value).
    pub fn set_market(&mut self, asset: AssetIndex, market: &str) {
        if let Some(info) = self.assets.get_mut(asset.get())
            && info.market.as_deref() != Some(market)
        {
            info.market = Some(market.into());
        }
    }

    pub fn info(&self, asset: AssetIndex) -> Option<&AssetInfo> {
        self.assets.get(asset.get())
    }

    pub fn len(&self) -> usize {
        self.assets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.assets.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (AssetIndex, &AssetInfo)> {
        self.assets
            .iter()
            .enumerate()
            .map(|(i, a)| (AssetIndex(i as u32), a))
    }

    /// Room for `total` assets without reallocating (a clone keeps no spare capacity, so each
    /// hot stage reserves its own at start).
    pub fn reserve_total(&mut self, total: usize) {
        let more = total.saturating_sub(self.assets.len());
        self.assets.reserve_exact(more);
        self.by_str.reserve(more, |(k, _)| token_hash(k.as_bytes()));
    }

    /// Assets this registry can hold without reallocating.
    pub fn capacity(&self) -> usize {
        self.assets.capacity().min(self.by_str.capacity())
    }

    /// Assets `from..to` as an extension for another copy of this registry (keys and names
    /// are allocated here, on the cold side).
    pub fn cut(&self, from: usize, to: usize) -> RegistryExtension {
        let to = to.min(self.assets.len());
        let from = from.min(to);
        RegistryExtension {
            first: from as u32,
            entries: self.assets[from..to]
                .iter()
                .filter_map(|a| Some((TokenKey::new(a.token_str.as_bytes())?, a.clone())))
                .collect(),
        }
    }

    /// Moves an extension's new assets in (those already known are skipped, so applying one
    /// twice is harmless); returns how many were added. Within `reserve_total` this does not
    /// allocate. An extension that starts past the end would leave a hole: refused.
    pub fn extend_with(&mut self, ext: RegistryExtension) -> Result<usize, ExtendError> {
        let have = self.assets.len();
        if ext.first as usize > have {
            return Err(ExtendError::Gap {
                have,
                first: ext.first as usize,
            });
        }
        let skip = have - ext.first as usize;
        let mut added = 0;
        for (key, info) in ext.entries.into_iter().skip(skip) {
            let idx = AssetIndex(u32::try_from(self.assets.len()).map_err(|_| ExtendError::Full)?);
            self.by_str
                .insert_unique(token_hash(key.as_bytes()), (key, idx), |(k, _)| {
                    token_hash(k.as_bytes())
                });
            self.assets.push(info);
            added += 1;
        }
        Ok(added)
    }
}

/// Assets `first..` of a registry, cut on the cold side for a hot stage's copy
/// (`AssetRegistry::cut`, `AssetRegistry::extend_with`).
#[derive(Clone, Debug, Default)]
pub struct RegistryExtension {
    pub first: u32,
    entries: Vec<(TokenKey, AssetInfo)>,
}

impl RegistryExtension {
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// One past the last asset it carries.
    pub fn end(&self) -> usize {
        self.first as usize + self.entries.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = (AssetIndex, &AssetInfo)> {
        self.entries
            .iter()
            .enumerate()
            .map(|(i, (_, a))| (AssetIndex(self.first + i as u32), a))
    }
}

/// Why a registry extension was not applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum ExtendError {
    #[error("extension starts at asset {first} but the registry has {have}: a hole")]
    Gap { have: usize, first: usize },
    #[error("asset registry is full (u32 indices exhausted)")]
    Full,
}

/// Digits in the largest uint256 (2^256 − 1 has 78).
const MAX_TOKEN_DIGITS: usize = 78;

/// A canonical token spelling stored inline in the registry's table, so a lookup compares
/// against the table entry itself instead of following a pointer to a heap key.
#[derive(Clone, Copy, Debug)]
struct TokenKey {
    len: u8,
    bytes: [u8; MAX_TOKEN_DIGITS],
}

impl TokenKey {
    fn new(s: &[u8]) -> Option<Self> {
        if s.len() > MAX_TOKEN_DIGITS {
            return None;
        }
        let mut bytes = [0u8; MAX_TOKEN_DIGITS];
        bytes[..s.len()].copy_from_slice(s);
        Some(Self {
            len: s.len() as u8,
            bytes,
        })
    }

    #[inline]
    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

/// The registry's hash of a token spelling: its length and last 16 bytes, mixed. The low digits
/// of a uint256 are uniformly spread, so they separate tokens as well as all 77 would, for two
/// loads and two multiplies per lookup; the whole spelling is still compared on every hit.
#[inline]
fn token_hash(token: &[u8]) -> u64 {
    const K1: u64 = 0x9E37_79B9_7F4A_7C15;
    const K2: u64 = 0xC2B2_AE3D_27D4_EB4F;
    let n = token.len();
    let (a, b) = if n >= 16 {
        let word = |i: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&token[i..i + 8]);
            u64::from_le_bytes(w)
        };
        (word(n - 16), word(n - 8))
    } else {
        let mut w = [0u8; 16];
        w[..n].copy_from_slice(token);
        let (lo, hi) = w.split_at(8);
        (
            u64::from_le_bytes(lo.try_into().unwrap_or_default()),
            u64::from_le_bytes(hi.try_into().unwrap_or_default()),
        )
    };
    let h = (a ^ n as u64).wrapping_mul(K1) ^ b.wrapping_mul(K2);
    h ^ (h >> 29)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn an_extension_continues_the_indices_and_applies_once() {
        let mut cold = AssetRegistry::new();
        cold.register(b"11").unwrap();
        let mut hot = cold.clone();
        hot.reserve_total(8);
        assert!(hot.capacity() >= 8);
        cold.register(b"22").unwrap();
        cold.register(b"33").unwrap();
        cold.set_market(AssetIndex(2), "0xm");
        let ext = cold.cut(hot.len(), cold.len());
        assert_eq!((ext.first, ext.len(), ext.end()), (1, 2, 3));
        let (ptr, cap) = (hot.assets.as_ptr(), hot.capacity());
        assert_eq!(hot.extend_with(ext.clone()), Ok(2));
        assert_eq!(hot.extend_with(ext), Ok(0), "applying twice adds nothing");
        assert_eq!(
            (hot.assets.as_ptr(), hot.capacity()),
            (ptr, cap),
            "no reallocation"
        );
        assert_eq!(hot.lookup(b"33"), Some(AssetIndex(2)));
        assert_eq!(hot.lookup(b"033"), Some(AssetIndex(2)));
        assert_eq!(
            hot.info(AssetIndex(2)).unwrap().market.as_deref(),
            Some("0xm")
        );
        cold.register(b"44").unwrap();
        cold.register(b"55").unwrap();
        assert_eq!(
            hot.extend_with(cold.cut(4, 5)),
            Err(ExtendError::Gap { have: 3, first: 4 })
        );
        assert_eq!(hot.extend_with(cold.cut(2, 5)), Ok(2), "overlap is skipped");
        assert_eq!(hot.lookup(b"55"), Some(AssetIndex(4)));
    }

    const REAL: &str =
        "71321045679252212594626385532706912750332728571942532289631379312455583992563";

    #[test]
    fn token_id_round_trips_real_ids() {
        let id = TokenId::parse(REAL).unwrap();
        assert_eq!(id.to_string(), REAL);
        assert_eq!(TokenId::from_be_bytes(id.to_be_bytes()), id);
        assert_eq!(TokenId::parse("0").unwrap().to_string(), "0");
        assert_eq!(TokenId::parse("000123").unwrap().to_string(), "123");
    }

    #[test]
    fn token_id_bounds() {
        let max = "115792089237316195423570985008687907853269984665640564039457584007913129639935";
        assert_eq!(TokenId::parse(max).unwrap().to_string(), max);
        let over = "115792089237316195423570985008687907853269984665640564039457584007913129639936";
        assert_eq!(TokenId::parse(over), Err(IdError::Overflow));
        assert_eq!(TokenId::parse(""), Err(IdError::Empty));
        assert_eq!(TokenId::parse("12a"), Err(IdError::NotDecimal));
        assert_eq!(TokenId::parse("-1"), Err(IdError::NotDecimal));
    }

    #[test]
    fn token_ids_order_numerically() {
        let a = TokenId::parse("99").unwrap();
        let b = TokenId::parse("100").unwrap();
        assert!(a < b);
    }

    #[test]
    fn condition_id() {
        let s = "0xdd22472e552920b8438158ea7238bfadfa4f736aa4cee91a6b86c39ead110917";
        assert_eq!(ConditionId::parse(s).unwrap().to_string(), s);
        assert!(ConditionId::parse("dd22").is_err());
        assert!(
            ConditionId::parse(
                "0xzz22472e552920b8438158ea7238bfadfa4f736aa4cee91a6b86c39ead110917"
            )
            .is_err()
        );
    }

    #[test]
    fn registry_assigns_dense_stable_indices() {
        let mut r = AssetRegistry::new();
        let a = r.register(REAL.as_bytes()).unwrap();
        let b = r.register(b"42").unwrap();
        assert_eq!((a, b), (AssetIndex(0), AssetIndex(1)));
        assert_eq!(r.register(REAL.as_bytes()).unwrap(), a);
        assert_eq!(r.lookup(b"0042"), Some(b));
        assert_eq!(r.lookup(b"43"), None);
        assert!(r.register(b"x").is_err());
        assert_eq!(r.len(), 2);
    }

    proptest! {
        #[test]
        fn token_id_decimal_round_trip(limbs in any::<[u64; 4]>()) {
            let id = TokenId(limbs);
            prop_assert_eq!(TokenId::parse(&id.to_string()), Ok(id));
        }

        #[test]
        fn token_id_matches_u128_for_small_values(v in any::<u128>()) {
            let id = TokenId::parse(&v.to_string()).unwrap();
            prop_assert_eq!(id.to_string(), v.to_string());
        }
    }
}
