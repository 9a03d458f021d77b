//! Exact fixed-point money: prices, sizes and collateral amounts as integer micro-units.
//!
//! Polymarket sends every number as a decimal string ("0.514", ".48", "120.50"). Both pUSD and
//! the CTF outcome tokens have 6 decimals on chain, so one micro-unit is the smallest amount that
//! exists anywhere in the system: parsing into micro-units is exact, and anything finer than that
//! (a 7th decimal, an exponent) cannot be a real amount and is refused rather than rounded.

use std::fmt;

use thiserror::Error;

/// Micro-units in one whole unit (one pUSD, one share).
pub const MICROS_PER_UNIT: u64 = 1_000_000;
/// Fraction digits carried by every amount.
pub const DECIMALS: u32 = 6;

/// Why a decimal string was refused. Never a rounding: the input is either exact or an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum DecimalError {
    #[error("empty decimal")]
    Empty,
    #[error("invalid character {0:?} in decimal")]
    InvalidChar(char),
    #[error("more than {DECIMALS} fraction digits")]
    TooPrecise,
    #[error("decimal out of range")]
    Overflow,
    #[error("decimal has no digits")]
    NoDigits,
}

/// Parses an unsigned decimal string into micro-units, exactly.
///
/// Accepts `digits`, `digits.digits`, `.digits` and `digits.`; refuses signs, exponents,
/// white space, more than six fraction digits and values that do not fit in `u64` micro-units.
///
/// Every venue number on the hot path has a short integer part, and up to 13 integer digits
/// cannot overflow (10^13 units = 10^19 micro-units < 2^64), so the common path does no
/// overflow checks and scales by table; longer integer parts take the checked path.
#[inline]
pub fn parse_micros(s: &[u8]) -> Result<u64, DecimalError> {
    /// 10^(6 - k) for k fraction digits.
    const FRAC_SCALE: [u64; DECIMALS as usize + 1] =
        [1_000_000, 100_000, 10_000, 1_000, 100, 10, 1];
    const SAFE_INT_DIGITS: usize = 13;
    if s.is_empty() {
        return Err(DecimalError::Empty);
    }
    let mut int: u64 = 0;
    let mut i = 0;
    while i < s.len() {
        let d = s[i].wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        if i == SAFE_INT_DIGITS {
            return parse_micros_checked(s);
        }
        int = int * 10 + u64::from(d);
        i += 1;
    }
    let int_digits = i;
    let mut frac: u64 = 0;
    let mut frac_digits = 0usize;
    if i < s.len() {
        if s[i] != b'.' {
            return Err(DecimalError::InvalidChar(s[i] as char));
        }
        i += 1;
        while i < s.len() {
            let d = s[i].wrapping_sub(b'0');
            if d > 9 {
                return Err(DecimalError::InvalidChar(s[i] as char));
            }
            if frac_digits == DECIMALS as usize {
                return Err(DecimalError::TooPrecise);
            }
            frac = frac * 10 + u64::from(d);
            frac_digits += 1;
            i += 1;
        }
    }
    if int_digits + frac_digits == 0 {
        return Err(DecimalError::NoDigits);
    }
    Ok(int * MICROS_PER_UNIT + frac * FRAC_SCALE[frac_digits])
}

/// [`parse_micros`] for integer parts long enough to overflow: every step checked.
#[cold]
fn parse_micros_checked(s: &[u8]) -> Result<u64, DecimalError> {
    let mut int: u64 = 0;
    let mut i = 0;
    while i < s.len() && s[i] != b'.' {
        let d = s[i].wrapping_sub(b'0');
        if d > 9 {
            return Err(DecimalError::InvalidChar(s[i] as char));
        }
        int = int
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(d)))
            .ok_or(DecimalError::Overflow)?;
        i += 1;
    }
    let mut frac: u64 = 0;
    let mut frac_digits = 0u32;
    if i < s.len() {
        i += 1;
        while i < s.len() {
            let d = s[i].wrapping_sub(b'0');
            if d > 9 {
                return Err(DecimalError::InvalidChar(s[i] as char));
            }
            if frac_digits == DECIMALS {
                return Err(DecimalError::TooPrecise);
            }
            frac = frac * 10 + u64::from(d);
            frac_digits += 1;
            i += 1;
        }
    }
    let scale = 10u64.pow(DECIMALS - frac_digits);
    int.checked_mul(MICROS_PER_UNIT)
        .and_then(|v| v.checked_add(frac * scale))
        .ok_or(DecimalError::Overflow)
}

/// Writes micro-units in canonical form: no trailing zeros, no trailing point, "0" before the
/// point ("0.5", "120.5", "100", "0").
pub fn write_micros(f: &mut impl fmt::Write, micros: u64) -> fmt::Result {
    let int = micros / MICROS_PER_UNIT;
    let mut frac = micros % MICROS_PER_UNIT;
    write!(f, "{int}")?;
    if frac == 0 {
        return Ok(());
    }
    let mut width = DECIMALS as usize;
    while frac.is_multiple_of(10) {
        frac /= 10;
        width -= 1;
    }
    write!(f, ".{frac:0width$}")
}

/// Canonical string of micro-units (allocates; for edges, not the hot path).
pub fn format_micros(micros: u64) -> String {
    let mut s = String::with_capacity(24);
    // Writing into a String cannot fail.
    let _ = write_micros(&mut s, micros);
    s
}

macro_rules! micro_newtype {
    ($(#[$doc:meta])* $name:ident($inner:ty)) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub $inner);

        impl $name {
            pub const ZERO: Self = Self(0);

            /// Parses a venue decimal string exactly.
            #[inline]
            pub fn parse(s: &str) -> Result<Self, DecimalError> {
                Self::parse_bytes(s.as_bytes())
            }

            /// Parses a venue decimal string given as bytes exactly.
            #[inline]
            pub fn parse_bytes(s: &[u8]) -> Result<Self, DecimalError> {
                let v = parse_micros(s)?;
                <$inner>::try_from(v).map(Self).map_err(|_| DecimalError::Overflow)
            }

            #[inline]
            pub const fn micros(self) -> $inner {
                self.0
            }

            #[inline]
            pub const fn is_zero(self) -> bool {
                self.0 == 0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write_micros(f, u64::from(self.0))
            }
        }

        impl std::str::FromStr for $name {
            type Err = DecimalError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

micro_newtype!(
    /// A price in micro-units of collateral per share (`0.514` is `Price(514_000)`).
    Price(u32)
);
micro_newtype!(
    /// A quantity of outcome tokens in micro-shares (the on-chain ERC-1155 amount).
    Size(u64)
);
micro_newtype!(
    /// An amount of collateral in micro-pUSD (the on-chain ERC-20 amount).
    Amount(u64)
);

impl Price {
    /// One whole unit of collateral per share: the payout of a winning outcome token.
    pub const ONE: Self = Self(MICROS_PER_UNIT as u32);

    /// Whether a book level may sit at this price: strictly between 0 and 1.
    #[inline]
    pub const fn is_level_price(self) -> bool {
        self.0 > 0 && self.0 < MICROS_PER_UNIT as u32
    }

    /// The complementary price `1 - p` (the mirrored level on the other outcome's book).
    #[inline]
    pub const fn complement(self) -> Option<Self> {
        if self.0 <= MICROS_PER_UNIT as u32 {
            Some(Self(MICROS_PER_UNIT as u32 - self.0))
        } else {
            None
        }
    }
}

impl Amount {
    /// Collateral for `size` shares at `price`, rounded down to a micro-pUSD (what a seller
    /// is sure to receive).
    #[inline]
    pub fn notional_floor(price: Price, size: Size) -> Option<Self> {
        let v = u128::from(price.0) * u128::from(size.0) / u128::from(MICROS_PER_UNIT);
        u64::try_from(v).ok().map(Self)
    }

    /// Collateral for `size` shares at `price`, rounded up to a micro-pUSD (what a buyer may
    /// have to pay).
    #[inline]
    pub fn notional_ceil(price: Price, size: Size) -> Option<Self> {
        let v = (u128::from(price.0) * u128::from(size.0)).div_ceil(u128::from(MICROS_PER_UNIT));
        u64::try_from(v).ok().map(Self)
    }
}

/// The minimum price increment of an outcome token's book.
///
/// Polymarket uses 0.1, 0.01, 0.001 and 0.0001, plus 0.005 and 0.0025 in the V2 clients; any tick
/// that divides one whole unit exactly is accepted so that a new venue tick needs no code change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TickSize(Price);

/// Why a tick size was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum TickSizeError {
    #[error(transparent)]
    Decimal(#[from] DecimalError),
    #[error("tick size must be strictly between 0 and 1 and divide 1 exactly")]
    NotAGrid,
}

impl TickSize {
    pub const CENT: Self = Self(Price(10_000));
    pub const MILLI: Self = Self(Price(1_000));

    pub fn new(price: Price) -> Result<Self, TickSizeError> {
        if price.is_level_price() && MICROS_PER_UNIT.is_multiple_of(u64::from(price.0)) {
            Ok(Self(price))
        } else {
            Err(TickSizeError::NotAGrid)
        }
    }

    pub fn parse_bytes(s: &[u8]) -> Result<Self, TickSizeError> {
        Self::new(Price::parse_bytes(s)?)
    }

    pub fn parse(s: &str) -> Result<Self, TickSizeError> {
        Self::parse_bytes(s.as_bytes())
    }

    #[inline]
    pub const fn price(self) -> Price {
        self.0
    }

    #[inline]
    pub const fn micros(self) -> u32 {
        self.0.0
    }

    /// Whether `price` lies on this tick grid.
    #[inline]
    pub const fn is_on_grid(self, price: Price) -> bool {
        price.0.is_multiple_of(self.0.0)
    }
}

impl fmt::Display for TickSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::str::FromStr for TickSize {
    type Err = TickSizeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl serde::Serialize for TickSize {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for TickSize {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_venue_shapes_exactly() {
        let cases: &[(&str, u64)] = &[
            ("0.5", 500_000),
            (".48", 480_000),
            ("120.50", 120_500_000),
            ("0", 0),
            ("10500100", 10_500_100_000_000),
            ("0.000001", 1),
            ("1.", 1_000_000),
            ("007", 7_000_000),
            ("18446744073709.551615", u64::MAX),
        ];
        for &(s, want) in cases {
            assert_eq!(parse_micros(s.as_bytes()), Ok(want), "{s}");
        }
    }

    #[test]
    fn refuses_instead_of_rounding() {
        let cases: &[(&str, DecimalError)] = &[
            ("", DecimalError::Empty),
            (".", DecimalError::NoDigits),
            ("0.0000001", DecimalError::TooPrecise),
            ("0.5000000", DecimalError::TooPrecise),
            ("-1", DecimalError::InvalidChar('-')),
            ("+1", DecimalError::InvalidChar('+')),
            ("1e3", DecimalError::InvalidChar('e')),
            (" 1", DecimalError::InvalidChar(' ')),
            ("1.2.3", DecimalError::InvalidChar('.')),
            ("18446744073709.551616", DecimalError::Overflow),
            ("99999999999999999999", DecimalError::Overflow),
        ];
        for &(s, want) in cases {
            assert_eq!(parse_micros(s.as_bytes()), Err(want), "{s:?}");
        }
        assert_eq!(Price::parse("4294.967296"), Err(DecimalError::Overflow));
    }

    #[test]
    fn formats_canonically() {
        for (m, want) in [
            (500_000, "0.5"),
            (120_500_000, "120.5"),
            (100_000_000, "100"),
            (0, "0"),
            (1, "0.000001"),
            (10_000, "0.01"),
            (1_234_567, "1.234567"),
        ] {
            assert_eq!(format_micros(m), want);
        }
    }

    #[test]
    fn tick_sizes() {
        for t in ["0.1", "0.01", "0.001", "0.0001", "0.005", "0.0025"] {
            assert_eq!(TickSize::parse(t).unwrap().to_string(), t);
        }
        for t in ["0", "1", "0.003", "2", "0.0000007"] {
            assert!(TickSize::parse(t).is_err(), "{t}");
        }
        assert!(TickSize::CENT.is_on_grid(Price(510_000)));
        assert!(!TickSize::CENT.is_on_grid(Price(514_000)));
    }

    #[test]
    fn notional_rounds_in_the_stated_direction() {
        let p = Price(333_333);
        let s = Size(3_000_001);
        assert_eq!(Amount::notional_floor(p, s), Some(Amount(999_999)));
        assert_eq!(Amount::notional_ceil(p, s), Some(Amount(1_000_000)));
    }

    proptest! {
        #[test]
        fn format_then_parse_is_identity(m in any::<u64>()) {
            prop_assert_eq!(parse_micros(format_micros(m).as_bytes()), Ok(m));
        }

        #[test]
        fn parse_then_format_is_canonical(int in 0u64..1_000_000_000, frac in 0u64..1_000_000, pad in 0usize..3) {
            // Any exact spelling (extra trailing zeros within 6 decimals, leading zeros)
            // parses to the same value and formats to the one canonical spelling.
            let digits = format!("{frac:06}");
            let trimmed = digits.trim_end_matches('0');
            let spelled = if trimmed.is_empty() {
                format!("{}{int}", "0".repeat(pad))
            } else {
                format!("{}{int}.{trimmed}", "0".repeat(pad))
            };
            let v = parse_micros(spelled.as_bytes()).unwrap();
            prop_assert_eq!(v, int * MICROS_PER_UNIT + frac);
            let canon = format_micros(v);
            let trailing_zero = canon.contains('.') && canon.ends_with('0');
            prop_assert!(!canon.ends_with('.'));
            prop_assert!(!trailing_zero);
            prop_assert_eq!(parse_micros(canon.as_bytes()), Ok(v));
        }

        #[test]
        fn more_than_six_decimals_is_refused(int in 0u64..1000, frac in "[0-9]{7,12}") {
            let s = format!("{int}.{frac}");
            prop_assert_eq!(parse_micros(s.as_bytes()), Err(DecimalError::TooPrecise));
        }

        #[test]
        fn signs_and_exponents_are_refused(v in "[0-9]{1,5}(\\.[0-9]{1,3})?", pre in "[-+ eE]") {
            let s1 = format!("{pre}{v}");
            let s2 = format!("{v}{pre}1");
            prop_assert!(parse_micros(s1.as_bytes()).is_err());
            prop_assert!(parse_micros(s2.as_bytes()).is_err());
        }

        #[test]
        fn fast_path_agrees_with_exact_arithmetic(s in "[0-9]{0,22}(\\.[0-9]{0,8})?") {
            // Reference: u128 arithmetic, no shortcuts.
            let (int, frac) = s.split_once('.').unwrap_or((s.as_str(), ""));
            let expected = if (int.is_empty() && frac.is_empty()) || frac.len() > 6 {
                None
            } else {
                let i: u128 = if int.is_empty() { 0 } else { int.parse().unwrap() };
                let f: u128 = if frac.is_empty() { 0 } else { frac.parse::<u128>().unwrap() * 10u128.pow(6 - frac.len() as u32) };
                u64::try_from(i * 1_000_000 + f).ok()
            };
            prop_assert_eq!(parse_micros(s.as_bytes()).ok(), expected);
        }

        #[test]
        fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = parse_micros(&b);
        }
    }
}
