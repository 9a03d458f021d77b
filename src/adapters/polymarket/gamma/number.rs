//! Exact reading of the numbers Gamma sends as JSON numbers (`orderPriceMinTickSize: 0.001`,
//! `orderMinSize: 5`, `feeSchedule.rate: 0.03`).
//!
//! A JSON number read through `f64` is already rounded (0.03 is not exact in binary), and these
//! numbers are money: tick sizes, order minimums and fee rates. The wire types keep such
//! fields as `serde_json::value::RawValue` (the number's text, untouched) and this module turns
//! that text into exact micro-units. A numeric string (`"0.001"`) is accepted too, since the
//! CLOB spells the same quantities as strings and Gamma has changed representations before.

use thiserror::Error;

use crate::core::DecimalError;
use crate::core::decimal::parse_micros;

/// Why a number could not be read exactly.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NumberError {
    #[error("not a number: {0}")]
    NotANumber(String),
    #[error("negative number {0}")]
    Negative(String),
    #[error("exponent out of range in {0}")]
    Exponent(String),
    #[error("{text}: {source}")]
    Decimal {
        text: String,
        #[source]
        source: DecimalError,
    },
    #[error("{0} is not a whole number")]
    NotInteger(String),
}

/// Longest plain-decimal expansion of an exponent we accept (1e-30 … 1e30 and beyond is not a
/// plausible tick, size or rate, and must not make us allocate).
const MAX_EXPONENT: i64 = 30;

/// The canonical plain decimal text of a JSON number or numeric string, exactly:
/// `0.001` → `0.001`, `1e-3` → `0.001`, `5` → `5`, `"0.030"` → `0.03`, `2.5E+1` → `25`.
pub fn plain_decimal(raw: &str) -> Result<String, NumberError> {
    let raw = raw.trim();
    let text: String = if raw.starts_with('"') {
        serde_json::from_str::<String>(raw).map_err(|_| NumberError::NotANumber(raw.into()))?
    } else {
        raw.to_string()
    };
    let t = text.trim();
    if t.starts_with('-') {
        return Err(NumberError::Negative(t.into()));
    }
    let (mantissa, exp) = match t.find(['e', 'E']) {
        Some(i) => {
            let e: i64 = t[i + 1..]
                .parse()
                .map_err(|_| NumberError::NotANumber(t.into()))?;
            (&t[..i], e)
        }
        None => (t, 0),
    };
    if exp.abs() > MAX_EXPONENT {
        return Err(NumberError::Exponent(t.into()));
    }
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits_ok = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !digits_ok(int) || !digits_ok(frac) {
        return Err(NumberError::NotANumber(t.into()));
    }
    // All digits, and where the decimal point falls among them once the exponent is applied.
    let digits: String = format!("{int}{frac}");
    let point = int.len() as i64 + exp;
    let (mut whole, mut fraction) = if point <= 0 {
        (
            String::new(),
            format!("{}{digits}", "0".repeat((-point) as usize)),
        )
    } else if point as usize >= digits.len() {
        (
            format!("{digits}{}", "0".repeat(point as usize - digits.len())),
            String::new(),
        )
    } else {
        (
            digits[..point as usize].to_string(),
            digits[point as usize..].to_string(),
        )
    };
    let trimmed = whole.trim_start_matches('0').len();
    whole.drain(..whole.len() - trimmed);
    if whole.is_empty() {
        whole.push('0');
    }
    while fraction.ends_with('0') {
        fraction.pop();
    }
    Ok(if fraction.is_empty() {
        whole
    } else {
        format!("{whole}.{fraction}")
    })
}

/// The number in micro-units (6 decimals), exactly; more precision is an error, not a rounding.
pub fn exact_micros(raw: &str) -> Result<u64, NumberError> {
    let text = plain_decimal(raw)?;
    parse_micros(text.as_bytes()).map_err(|source| NumberError::Decimal { text, source })
}

/// The number as a small whole number (a fee exponent): `1`, `2`, `1.0` are accepted.
pub fn exact_integer(raw: &str) -> Result<u64, NumberError> {
    let text = plain_decimal(raw)?;
    if text.contains('.') {
        return Err(NumberError::NotInteger(text));
    }
    text.parse()
        .map_err(|_| NumberError::NotANumber(text.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_exponent_forms_are_exact() {
        let cases = [
            ("0.001", "0.001"),
            ("0.01", "0.01"),
            ("5", "5"),
            ("1e-3", "0.001"),
            ("1E-4", "0.0001"),
            ("2.5E+1", "25"),
            ("\"0.030\"", "0.03"),
            ("0.030000000000", "0.03"),
            ("007.50", "7.5"),
            ("15e2", "1500"),
            ("0", "0"),
            ("0.0", "0"),
        ];
        for (raw, want) in cases {
            assert_eq!(plain_decimal(raw).unwrap(), want, "{raw}");
        }
    }

    #[test]
    fn money_is_never_rounded() {
        assert_eq!(exact_micros("0.03"), Ok(30_000));
        assert_eq!(exact_micros("0.072"), Ok(72_000));
        assert_eq!(exact_micros("0.001"), Ok(1_000));
        assert_eq!(exact_micros("5"), Ok(5_000_000));
        assert!(matches!(
            exact_micros("0.0000001"),
            Err(NumberError::Decimal { .. })
        ));
        // A float artefact is refused, not rounded to 0.01.
        assert!(exact_micros("0.010000000000000002").is_err());
        assert!(matches!(exact_micros("-1"), Err(NumberError::Negative(_))));
        assert!(matches!(
            exact_micros("1e400"),
            Err(NumberError::Exponent(_))
        ));
        for bad in [
            "", "\"\"", "true", "null", "[1]", "1.2.3", ".", "e5", "0x10", "\"abc\"",
        ] {
            assert!(exact_micros(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn integers() {
        assert_eq!(exact_integer("1"), Ok(1));
        assert_eq!(exact_integer("2.0"), Ok(2));
        assert!(exact_integer("1.5").is_err());
    }
}
