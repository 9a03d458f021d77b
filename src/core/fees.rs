//! Polymarket V2 taker fees, in exact integer arithmetic.
//!
//! V2 charges takers only: `fee = C × rate × (p(1−p))^exponent` pUSD for `C` shares at price
//! `p`, with `rate` and `exponent` per market (Gamma `feeSchedule`). The venue rounds to 5
//! decimals; a strategy must never under-estimate a cost, so this rounds UP to the next
//! 0.00001 pUSD. The `fixed` crate would make the curve binary-fractional (0.03 is not exact
//! in binary); a fee is money, so it is computed on integers like every other amount.

use super::decimal::{Amount, MICROS_PER_UNIT, Price, Size};

/// A market's fee schedule.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FeeSchedule {
    /// The rate in millionths (0.03 → 30_000): decimal rates are exact in this unit.
    pub rate_ppm: u32,
    pub exponent: u8,
    pub taker_only: bool,
}

/// The venue's fee granularity: 0.00001 pUSD = 10 micro-pUSD.
const FEE_QUANTUM: u128 = 10;

impl FeeSchedule {
    pub const FREE: Self = Self {
        rate_ppm: 0,
        exponent: 1,
        taker_only: true,
    };

    /// The taker fee for `size` shares at `price`, rounded up to the venue's 0.00001 pUSD.
    pub fn taker_fee(&self, price: Price, size: Size) -> Amount {
        if self.rate_ppm == 0 || size.is_zero() {
            return Amount::ZERO;
        }
        let m = u128::from(MICROS_PER_UNIT);
        let p = u128::from(price.0).min(m);
        // p(1-p) in 1e-12 units, raised to the exponent, scaled back step by step (ceil) so
        // the intermediate stays within u128.
        let base = p * (m - p); // ≤ 2.5e11
        let mut curve = m * m; // 1.0 in 1e-12 units
        for _ in 0..self.exponent {
            curve = (curve * base).div_ceil(m * m);
        }
        // fee_micro = size_micro × rate_ppm × curve / (1e6 × 1e12)
        let num = u128::from(size.0) * u128::from(self.rate_ppm) * curve;
        let micro = num.div_ceil(m * m * m);
        let rounded = micro.div_ceil(FEE_QUANTUM) * FEE_QUANTUM;
        Amount(u64::try_from(rounded).unwrap_or(u64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_sdk_vector() {
        // py-clob-client-v2 test_fee_calculations: r=0.25, e=2, 100 shares @0.5 → 1.5625.
        let f = FeeSchedule {
            rate_ppm: 250_000,
            exponent: 2,
            taker_only: true,
        };
        assert_eq!(
            f.taker_fee(Price(500_000), Size(100_000_000)),
            Amount(1_562_500)
        );
    }

    #[test]
    fn rounds_up_to_the_venue_quantum() {
        let f = FeeSchedule {
            rate_ppm: 30_000,
            exponent: 1,
            taker_only: true,
        };
        // 1 share @0.5: 0.03 × 0.25 = 0.0075 exactly.
        assert_eq!(f.taker_fee(Price(500_000), Size(1_000_000)), Amount(7_500));
        // 0.01 shares @0.37: 0.01 × 0.03 × 0.2331 = 0.00006993 → 0.00007.
        assert_eq!(f.taker_fee(Price(370_000), Size(10_000)), Amount(70));
        assert_eq!(
            FeeSchedule::FREE.taker_fee(Price(500_000), Size(1_000_000)),
            Amount::ZERO
        );
    }
}
