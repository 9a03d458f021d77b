//! Price and quantity → the signed `makerAmount`/`takerAmount`, with the official clients'
//! `ROUNDING_CONFIG` rules, and the venue's order-size rules checked before anything is sent.
//!
//! Everything is integer micro-units (6 decimals, like pUSD and the outcome tokens on chain).
//! The official clients compute in floats and then patch float noise ("round up at
//! amount+4 decimals, then down to amount decimals"); in exact arithmetic the same rule gives
//! the exact product, and it is kept here, in integers, so that the two agree on every input.

use thiserror::Error;

use super::order::{OrderSide, OrderType};
use crate::core::decimal::{Amount, MICROS_PER_UNIT, Price, Size, TickSize};

/// Why an order was refused locally. Each maps to the venue's own error name
/// ([`OrderRejection::venue_code`]), which also prefixes the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum OrderRejection {
    #[error(
        "INVALID_ORDER_MIN_TICK_SIZE: tick size {0} has no rounding rules \
         (known: 0.1, 0.01, 0.005, 0.0025, 0.001, 0.0001)"
    )]
    UnsupportedTickSize(TickSize),
    #[error("INVALID_ORDER_MIN_TICK_SIZE: price {price} is not a multiple of the tick size {tick}")]
    PriceOffTick { price: Price, tick: TickSize },
    #[error("INVALID_ORDER_MIN_TICK_SIZE: price {price} is outside [{tick}, 1 - {tick}]")]
    PriceOutOfRange { price: Price, tick: TickSize },
    #[error("INVALID_ORDER_MIN_SIZE: quantity is zero once cut to 2 decimals")]
    ZeroQuantity,
    #[error("INVALID_ORDER_MIN_SIZE: size {size} is below the market's minimum of {min} shares")]
    SizeBelowMinimum { size: Size, min: Size },
    #[error("INVALID_ORDER_MIN_SIZE: marketable order of ${notional} is below the $1 minimum")]
    MarketableBelowOneDollar { notional: Amount },
    #[error("INVALID_ORDER_EXPIRATION: a GTD order needs a non-zero expiration")]
    MissingExpiration,
    #[error("INVALID_ORDER_EXPIRATION: expiration {expiration} is not after the order time {now}")]
    ExpirationInPast { expiration: u64, now: u64 },
    #[error("INVALID_POST_ONLY_ORDER_TYPE: post-only is allowed with GTC and GTD only, not {0}")]
    PostOnlyNotAllowed(OrderType),
    #[error("INVALID_ORDER_ERROR: amounts do not fit in 64 bits")]
    Overflow,
}

impl OrderRejection {
    /// The venue's error name for the same refusal.
    pub const fn venue_code(&self) -> &'static str {
        match self {
            Self::UnsupportedTickSize(_)
            | Self::PriceOffTick { .. }
            | Self::PriceOutOfRange { .. } => "INVALID_ORDER_MIN_TICK_SIZE",
            Self::ZeroQuantity
            | Self::SizeBelowMinimum { .. }
            | Self::MarketableBelowOneDollar { .. } => "INVALID_ORDER_MIN_SIZE",
            Self::MissingExpiration | Self::ExpirationInPast { .. } => "INVALID_ORDER_EXPIRATION",
            Self::PostOnlyNotAllowed(_) => "INVALID_POST_ONLY_ORDER_TYPE",
            Self::Overflow => "INVALID_ORDER_ERROR",
        }
    }
}

/// Decimal places of price, size and amount for one tick size (`ROUNDING_CONFIG`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RoundingConfig {
    pub price_dp: u32,
    pub size_dp: u32,
    pub amount_dp: u32,
}

impl RoundingConfig {
    /// py-clob-client-v2 `builder.py` / clob-client-v2 `roundingConfig.ts`.
    pub fn for_tick(tick: TickSize) -> Result<Self, OrderRejection> {
        let (price_dp, size_dp, amount_dp) = match tick.micros() {
            100_000 => (1, 2, 3),
            10_000 => (2, 2, 4),
            5_000 => (3, 2, 5),
            2_500 => (4, 2, 6),
            1_000 => (3, 2, 5),
            100 => (4, 2, 6),
            _ => return Err(OrderRejection::UnsupportedTickSize(tick)),
        };
        Ok(Self {
            price_dp,
            size_dp,
            amount_dp,
        })
    }
}

/// The two signed amounts, in micro-units of what each side gives and gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderAmounts {
    pub maker: u64,
    pub taker: u64,
}

impl OrderAmounts {
    /// (shares, collateral) of the order, whichever side gives which.
    pub const fn shares_and_collateral(self, side: OrderSide) -> (u64, u64) {
        match side {
            OrderSide::Buy => (self.taker, self.maker),
            OrderSide::Sell => (self.maker, self.taker),
        }
    }
}

/// A price the venue accepts: on the tick grid and within `[tick, 1 - tick]`.
pub fn check_price(price: Price, tick: TickSize) -> Result<(), OrderRejection> {
    if !tick.is_on_grid(price) {
        return Err(OrderRejection::PriceOffTick { price, tick });
    }
    let t = tick.micros();
    if price.micros() < t || price.micros() > MICROS_PER_UNIT as u32 - t {
        return Err(OrderRejection::PriceOutOfRange { price, tick });
    }
    Ok(())
}

/// Cuts micro-units down to `dp` decimals (the clients' `round_down(x, dp)`).
#[inline]
fn round_down_micros(v: u64, dp: u32) -> u64 {
    let unit = 10u64.pow(6 - dp);
    v - v % unit
}

/// The clients' fix-up of a product with too many decimals, on a value in 1e-12 units:
/// round up at `amount_dp + 4` decimals; if that still has more than `amount_dp`, round down.
fn fit_amount_e12(v: u128, amount_dp: u32) -> u128 {
    let keep = 10u128.pow(12 - amount_dp);
    if v.is_multiple_of(keep) {
        return v;
    }
    let fine = 10u128.pow(12 - amount_dp - 4);
    let up = v.div_ceil(fine) * fine;
    if up.is_multiple_of(keep) {
        up
    } else {
        up / keep * keep
    }
}

/// Limit order (`create_order`): `size` shares at `price`. Size is cut to 2 decimals, the
/// collateral side is `shares × price` fitted to the tick's amount precision.
pub fn limit_amounts(
    side: OrderSide,
    price: Price,
    size: Size,
    tick: TickSize,
) -> Result<OrderAmounts, OrderRejection> {
    let cfg = RoundingConfig::for_tick(tick)?;
    check_price(price, tick)?;
    // On the grid, the price has at most `price_dp` decimals: the clients' price rounding is a
    // no-op here (every tick in the table has no more decimals than its price_dp).
    let shares = round_down_micros(size.micros(), cfg.size_dp);
    if shares == 0 {
        return Err(OrderRejection::ZeroQuantity);
    }
    let product = u128::from(shares) * u128::from(price.micros());
    let collateral = fit_amount_e12(product, cfg.amount_dp) / u128::from(MICROS_PER_UNIT);
    let collateral = u64::try_from(collateral).map_err(|_| OrderRejection::Overflow)?;
    Ok(match side {
        OrderSide::Buy => OrderAmounts {
            maker: collateral,
            taker: shares,
        },
        OrderSide::Sell => OrderAmounts {
            maker: shares,
            taker: collateral,
        },
    })
}

/// Market order (`create_market_order`, py-clob-client-v2): BUY spends `amount` collateral,
/// SELL sells `amount` shares, `price` being the worst acceptable. Amounts are whole "lots" of
/// the reduced price fraction num/den, so maker/taker is exactly the price.
pub fn market_amounts(
    side: OrderSide,
    price: Price,
    amount: u64,
    tick: TickSize,
) -> Result<OrderAmounts, OrderRejection> {
    let cfg = RoundingConfig::for_tick(tick)?;
    check_price(price, tick)?;
    let scale = 10u64.pow(cfg.price_dp);
    let units = u64::from(price.micros()) / 10u64.pow(6 - cfg.price_dp);
    let g = gcd(units, scale);
    let (num, den) = (units / g, scale / g);
    let amount = round_down_micros(amount, cfg.size_dp);
    let (lot_in, lot_out) = match side {
        OrderSide::Buy => (num, den),
        OrderSide::Sell => (den, num),
    };
    let lots = amount / lot_in;
    if lots == 0 {
        return Err(OrderRejection::ZeroQuantity);
    }
    let maker = lots * lot_in;
    let taker = lots.checked_mul(lot_out).ok_or(OrderRejection::Overflow)?;
    Ok(OrderAmounts { maker, taker })
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// The venue's size rules: resting orders (GTC/GTD) need the market's minimum number of
/// shares; marketable ones (FOK/FAK) need at least $1 of collateral.
pub fn check_minimums(
    side: OrderSide,
    amounts: OrderAmounts,
    order_type: OrderType,
    min_order_size: Size,
) -> Result<(), OrderRejection> {
    let (shares, collateral) = amounts.shares_and_collateral(side);
    if order_type.is_marketable() {
        if collateral < MICROS_PER_UNIT {
            return Err(OrderRejection::MarketableBelowOneDollar {
                notional: Amount(collateral),
            });
        }
    } else if shares < min_order_size.micros() {
        return Err(OrderRejection::SizeBelowMinimum {
            size: Size(shares),
            min: min_order_size,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(s: &str) -> Price {
        Price::parse(s).unwrap()
    }
    fn sz(s: &str) -> Size {
        Size::parse(s).unwrap()
    }
    fn t(s: &str) -> TickSize {
        TickSize::parse(s).unwrap()
    }

    #[test]
    fn limit_amounts_hand_computed() {
        use OrderSide::*;
        // (side, price, size, tick) → (maker, taker), worked out by hand.
        let cases = [
            (Buy, "0.5", "10", "0.01", 5_000_000, 10_000_000),
            (Sell, "0.5", "10", "0.01", 10_000_000, 5_000_000),
            (Buy, "0.123", "7.777", "0.001", 955_710, 7_770_000),
            (Sell, "0.0001", "1.01", "0.0001", 1_010_000, 101),
            (Buy, "0.9975", "3.5", "0.0025", 3_491_250, 3_500_000),
            (Buy, "0.995", "100", "0.005", 99_500_000, 100_000_000),
            (Sell, "0.9", "0.019", "0.1", 10_000, 9_000),
        ];
        for (side, price, size, tick, maker, taker) in cases {
            assert_eq!(
                limit_amounts(side, p(price), sz(size), t(tick)),
                Ok(OrderAmounts { maker, taker }),
                "{side:?} {size} @ {price} tick {tick}"
            );
        }
    }

    #[test]
    fn market_amounts_keep_the_exact_price_ratio() {
        use OrderSide::*;
        // BUY $3 at 0.7 (7/10): 428571 lots of 7 micro-pUSD for 10 micro-shares.
        assert_eq!(
            market_amounts(Buy, p("0.7"), 3_000_000, t("0.1")),
            Ok(OrderAmounts {
                maker: 2_999_997,
                taker: 4_285_710
            })
        );
        // SELL 10.509 shares at 0.25 (1/4): cut to 10.50, 2625000 lots of 4 micro-shares.
        assert_eq!(
            market_amounts(Sell, p("0.25"), 10_509_000, t("0.01")),
            Ok(OrderAmounts {
                maker: 10_500_000,
                taker: 2_625_000
            })
        );
    }

    #[test]
    fn market_amounts_match_py_clob_client_v2() {
        // tests/test_order_builder_precision.py at py-clob-client-v2 0b586bd.
        use OrderSide::*;
        let cases = [
            (Buy, "0.936", 2_000_000, "0.001", 1_999_998, 2_136_750),
            (Buy, "0.51", 1_060_000, "0.01", 1_059_984, 2_078_400),
            (Sell, "0.936", 2_000_000, "0.001", 2_000_000, 1_872_000),
        ];
        for (side, price, amount, tick, maker, taker) in cases {
            assert_eq!(
                market_amounts(side, p(price), amount, t(tick)),
                Ok(OrderAmounts { maker, taker })
            );
        }
    }

    #[test]
    fn the_float_fix_up_rule_in_integers() {
        // Exact values pass through.
        assert_eq!(fit_amount_e12(9_999_600_000_000, 4), 9_999_600_000_000);
        // Just below a representable value (within the amount+4 decimals): rounds up to it.
        assert_eq!(fit_amount_e12(123_499_999_999, 4), 123_500_000_000);
        // Otherwise: rounds down.
        assert_eq!(fit_amount_e12(123_456_789_000, 4), 123_400_000_000);
    }

    #[test]
    fn refusals_carry_the_venue_names() {
        use OrderSide::*;
        let e = limit_amounts(Buy, p("0.515"), sz("10"), t("0.01")).unwrap_err();
        assert_eq!(e.venue_code(), "INVALID_ORDER_MIN_TICK_SIZE");
        assert!(
            e.to_string().starts_with("INVALID_ORDER_MIN_TICK_SIZE"),
            "{e}"
        );
        for price in ["0", "1", "0.995"] {
            assert!(matches!(
                limit_amounts(Buy, p(price), sz("10"), t("0.01")),
                Err(OrderRejection::PriceOffTick { .. } | OrderRejection::PriceOutOfRange { .. })
            ));
        }
        assert_eq!(
            limit_amounts(Buy, p("0.5"), sz("0.009"), t("0.01")),
            Err(OrderRejection::ZeroQuantity)
        );
        assert_eq!(
            limit_amounts(
                Buy,
                p("0.5"),
                sz("1"),
                TickSize::new(Price(20_000)).unwrap()
            ),
            Err(OrderRejection::UnsupportedTickSize(t("0.02")))
        );
        let a = limit_amounts(Buy, p("0.5"), sz("4.99"), t("0.01")).unwrap();
        let e = check_minimums(Buy, a, OrderType::Gtc, sz("5")).unwrap_err();
        assert_eq!(e.venue_code(), "INVALID_ORDER_MIN_SIZE");
        assert_eq!(check_minimums(Buy, a, OrderType::Fok, sz("5")), Ok(()));
        let a = limit_amounts(Sell, p("0.19"), sz("5.26"), t("0.01")).unwrap();
        assert_eq!(
            check_minimums(Sell, a, OrderType::Fak, sz("5")),
            Err(OrderRejection::MarketableBelowOneDollar {
                notional: Amount(999_400)
            })
        );
        assert_eq!(check_minimums(Sell, a, OrderType::Gtd, sz("5")), Ok(()));
    }

    proptest! {
        #[test]
        fn limit_amounts_are_exact_products(ticks in 1u32..100, cents in 1u64..10_000_000, side in any::<bool>()) {
            let tick = t("0.01");
            let price = Price(ticks * 10_000);
            let size = Size(cents * 10_000);
            let side = if side { OrderSide::Buy } else { OrderSide::Sell };
            let a = limit_amounts(side, price, size, tick).unwrap();
            let (shares, collateral) = a.shares_and_collateral(side);
            prop_assert_eq!(shares, size.micros());
            prop_assert_eq!(u128::from(collateral) * 1_000_000, u128::from(shares) * u128::from(price.micros()));
        }

        #[test]
        fn market_amounts_never_exceed_the_budget(units in 1u32..1000, amount in 0u64..10_000_000_000, buy in any::<bool>()) {
            let tick = t("0.001");
            let price = Price(units * 1_000);
            let side = if buy { OrderSide::Buy } else { OrderSide::Sell };
            match market_amounts(side, price, amount, tick) {
                Ok(a) => {
                    prop_assert!(a.maker <= amount);
                    // maker/taker is the price exactly, in the direction of the side.
                    let (shares, collateral) = a.shares_and_collateral(side);
                    prop_assert_eq!(u128::from(collateral) * 1_000_000, u128::from(shares) * u128::from(price.micros()));
                }
                Err(e) => prop_assert_eq!(e, OrderRejection::ZeroQuantity),
            }
        }
    }
}
