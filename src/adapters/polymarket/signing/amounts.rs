//! Price and quantity → the signed `makerAmount`/`takerAmount`, with the official clients'
//! `ROUNDING_CONFIG` rules, and the venue's order-size rules checked before anything is sent.
//! Limit orders (GTC/GTD) follow the limit rule (shares to 2 decimals, pUSD to the tick's
//! amount decimals); marketable ones (FOK/FAK) production's own precision whatever the tick
//! (the amount given to 2 decimals, the amount received to at most 4).
//!
//! Everything is integer micro-units (6 decimals, like pUSD and the outcome tokens on chain).
//! The official clients compute in floats and then patch float noise ("round up at
//! amount+4 decimals, then down to amount decimals"); in exact arithmetic the same rule gives
//! the exact product, and it is kept here, in integers, so that the two agree on every input.

use thiserror::Error;

use super::terms::{OrderSide, OrderType};
use crate::core::decimal::{Amount, MICROS_PER_UNIT, Price, Size, TickSize};

/// The venue's share grid, in micro-shares: sizes are asked for in 0.01 shares (a limit
/// order's size and a SELL's shares have at most 2 decimals, `size_dp` of every tick).
pub const SHARE_LOT: u64 = 10_000;

/// The least a marketable (FOK/FAK) order may be worth, in micro-pUSD: $1 of collateral
/// spent (BUY) or received (SELL); a smaller one is refused with
/// [`OrderRejection::MarketableBelowOneDollar`].
pub const MIN_MARKETABLE_NOTIONAL: Amount = Amount(MICROS_PER_UNIT);

/// Why an order was refused locally, in production's words where production has them
/// (docs.polymarket.com/resources/error-codes); [`Self::venue_code`] names
/// the refusal's class as the API docs' `INVALID_ORDER_*` table does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum OrderRejection {
    #[error("invalid tick size ({0}): must be one of 0.1, 0.01, 0.005, 0.0025, 0.001, 0.0001")]
    UnsupportedTickSize(TickSize),
    #[error("Price ({price}) breaks minimum tick size rule: {tick}")]
    PriceOffTick { price: Price, tick: TickSize },
    #[error("invalid price ({price}), min: {tick} - max: {}", Price(1_000_000 - tick.micros()))]
    PriceOutOfRange { price: Price, tick: TickSize },
    #[error("invalid amounts, nothing is left once cut to the order's decimals")]
    ZeroQuantity,
    #[error("Size ({size}) lower than the minimum: {min}")]
    SizeBelowMinimum { size: Size, min: Size },
    #[error("invalid amount for a marketable order (${notional}), min size: $1")]
    MarketableBelowOneDollar { notional: Amount },
    #[error("invalid expiration: a GTD order needs one")]
    MissingExpiration,
    #[error("invalid expiration: {expiration} is not after the order time {now}")]
    ExpirationInPast { expiration: u64, now: u64 },
    #[error("invalid post-only order: only GTC and GTD orders can be post-only, not {0}")]
    PostOnlyNotAllowed(OrderType),
    #[error("invalid amounts, they do not fit in 64 bits")]
    Overflow,
    #[error(
        "invalid amounts, the market {} orders maker amount supports a max accuracy of 2 \
         decimals, taker amount a max of 4 decimals",
        if matches!(.0, OrderSide::Buy) { "buy" } else { "sell" }
    )]
    MarketablePrecision(OrderSide),
}

impl OrderRejection {
    /// The refusal's class, as the API docs' `INVALID_ORDER_*` table names it.
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
            Self::Overflow | Self::MarketablePrecision(_) => "INVALID_ORDER_ERROR",
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

/// Decimals production accepts on a marketable order, whatever the tick: the amount given
/// (pUSD of a BUY, shares of a SELL) 2, the amount received 4.
pub const MARKETABLE_MAKER_DP: u32 = 2;
/// See [`MARKETABLE_MAKER_DP`].
pub const MARKETABLE_TAKER_DP: u32 = 4;

/// Market order (`create_market_order`, py-clob-client-v2 `get_market_order_amounts`): BUY
/// spends `amount` micro-pUSD, SELL sells `amount` micro-shares, `price` being the worst
/// acceptable. The amount given is cut to 2 decimals; the amount received is `amount / price`
/// (BUY) or `amount × price` (SELL) with the clients' fix-up at the tick's amount decimals,
/// capped at the 4 production accepts on a marketable order (at tick 0.01 the two agree, so
/// the result is the official client's to the micro-unit).
pub fn market_amounts(
    side: OrderSide,
    price: Price,
    amount: u64,
    tick: TickSize,
) -> Result<OrderAmounts, OrderRejection> {
    let cfg = RoundingConfig::for_tick(tick)?;
    check_price(price, tick)?;
    let dp = cfg.amount_dp.min(MARKETABLE_TAKER_DP);
    let maker = round_down_micros(amount, MARKETABLE_MAKER_DP);
    if maker == 0 {
        return Err(OrderRejection::ZeroQuantity);
    }
    let taker_e12 = match side {
        // Exact `maker / price` would need a rational; the fix-up only looks at 8 decimals of
        // it, so `ceil(maker / price)` at 1e-8 carries everything the rule reads.
        OrderSide::Buy => {
            let up8 = (u128::from(maker) * 100_000_000).div_ceil(u128::from(price.micros()));
            fit_from_up8(up8, dp) * 10_000
        }
        OrderSide::Sell => fit_amount_e12(u128::from(maker) * u128::from(price.micros()), dp),
    };
    let taker = u64::try_from(taker_e12 / u128::from(MICROS_PER_UNIT))
        .map_err(|_| OrderRejection::Overflow)?;
    if taker == 0 {
        return Err(OrderRejection::ZeroQuantity);
    }
    Ok(OrderAmounts { maker, taker })
}

/// The fix-up of a quotient already rounded up at 8 decimals (`up8`, in 1e-8 units): kept if
/// it has at most `dp` decimals, else cut down to `dp`. Returns 1e-8 units.
fn fit_from_up8(up8: u128, dp: u32) -> u128 {
    let keep = 10u128.pow(8 - dp);
    if up8.is_multiple_of(keep) {
        up8
    } else {
        up8 / keep * keep
    }
}

/// Whether signed amounts meet production's precision for a marketable order (see
/// [`MARKETABLE_MAKER_DP`]); the venue's refusal text otherwise.
pub fn check_marketable_precision(side: OrderSide, a: OrderAmounts) -> Result<(), OrderRejection> {
    let maker_unit = 10u64.pow(6 - MARKETABLE_MAKER_DP);
    let taker_unit = 10u64.pow(6 - MARKETABLE_TAKER_DP);
    if !a.maker.is_multiple_of(maker_unit) || !a.taker.is_multiple_of(taker_unit) {
        return Err(OrderRejection::MarketablePrecision(side));
    }
    Ok(())
}

/// A marketable order asked for in shares (`size` at worst price `price`), with production's
/// marketable precision: a BUY spends `size × price` cut to 2 decimals, a SELL sells `size`.
pub fn marketable_shares_amounts(
    side: OrderSide,
    price: Price,
    size: Size,
    tick: TickSize,
) -> Result<OrderAmounts, OrderRejection> {
    let amount = match side {
        OrderSide::Buy => {
            let cost = u128::from(size.micros()) * u128::from(price.micros())
                / u128::from(MICROS_PER_UNIT);
            u64::try_from(cost).map_err(|_| OrderRejection::Overflow)?
        }
        OrderSide::Sell => size.micros(),
    };
    market_amounts(side, price, amount, tick)
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
        if collateral < MIN_MARKETABLE_NOTIONAL.micros() {
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
    fn market_amounts_hand_computed() {
        use OrderSide::*;
        // (side, price, amount, tick) → (maker, taker), worked out by hand.
        let cases = [
            // $10 / 0.47 = 21.27659574…: up at 8 → 21.27659575, more than 4 → down to 21.2765.
            (Buy, "0.47", 10_000_000, "0.01", 10_000_000, 21_276_500),
            // $3 at 0.7: 4.28571428… → 4.2857 (tick 0.1 would allow 3 decimals: 4.285).
            (Buy, "0.7", 3_000_000, "0.1", 3_000_000, 4_285_000),
            // 2 / 0.936 = 2.13675213…: the client's 5 decimals at tick 0.001 are cut to 4.
            (Buy, "0.936", 2_000_000, "0.001", 2_000_000, 2_136_700),
            // 1.01 / 0.64 = 1.578125 exactly, still 6 decimals → 1.5781.
            (Buy, "0.64", 1_010_000, "0.01", 1_010_000, 1_578_100),
            // The pUSD is cut to 2 decimals first.
            (Buy, "0.5", 1_239_999, "0.01", 1_230_000, 2_460_000),
            // SELL 10.509 shares at 0.25: cut to 10.50, for 2.625.
            (Sell, "0.25", 10_509_000, "0.01", 10_500_000, 2_625_000),
            // SELL 3.33 at 0.1234 (tick 0.0001): 0.410922 → 0.4109.
            (Sell, "0.1234", 3_330_000, "0.0001", 3_330_000, 410_900),
            // $1 at 0.0025: 400 shares exactly.
            (Buy, "0.0025", 1_000_000, "0.0025", 1_000_000, 400_000_000),
        ];
        for (side, price, amount, tick, maker, taker) in cases {
            assert_eq!(
                market_amounts(side, p(price), amount, t(tick)),
                Ok(OrderAmounts { maker, taker }),
                "{side:?} {amount} @ {price} tick {tick}"
            );
        }
        // Nothing left once cut: refused, not signed for zero.
        assert_eq!(
            market_amounts(Buy, p("0.5"), 9_999, t("0.01")),
            Err(OrderRejection::ZeroQuantity)
        );
        assert_eq!(
            market_amounts(Sell, p("0.0001"), 10_000, t("0.0001")),
            Err(OrderRejection::ZeroQuantity)
        );
        // A pUSD amount near u64::MAX buys more shares than fit in 64 bits.
        assert_eq!(
            market_amounts(Buy, p("0.01"), u64::MAX, t("0.01")),
            Err(OrderRejection::Overflow)
        );
    }

    #[test]
    fn marketable_orders_in_shares() {
        use OrderSide::*;
        // 237.3 shares at 0.72: $170.856 cut to $170.85, for 237.2916 shares.
        assert_eq!(
            marketable_shares_amounts(Buy, p("0.72"), sz("237.3"), t("0.01")),
            Ok(OrderAmounts {
                maker: 170_850_000,
                taker: 237_291_600
            })
        );
        // Whole shares at a cent price cost whole cents: exactly the shares asked for.
        assert_eq!(
            marketable_shares_amounts(Buy, p("0.47"), sz("12"), t("0.01")),
            Ok(OrderAmounts {
                maker: 5_640_000,
                taker: 12_000_000
            })
        );
        assert_eq!(
            marketable_shares_amounts(Sell, p("0.47"), sz("12.345"), t("0.01")),
            Ok(OrderAmounts {
                maker: 12_340_000,
                taker: 5_799_800
            })
        );
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
        assert_eq!(
            e.to_string(),
            "Price (0.515) breaks minimum tick size rule: 0.01"
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
        assert_eq!(e.to_string(), "Size (4.99) lower than the minimum: 5");
        assert_eq!(
            OrderRejection::PriceOutOfRange {
                price: p("0.995"),
                tick: t("0.01")
            }
            .to_string(),
            "invalid price (0.995), min: 0.01 - max: 0.99"
        );
        assert_eq!(
            OrderRejection::MarketablePrecision(Sell).to_string(),
            "invalid amounts, the market sell orders maker amount supports a max accuracy of \
             2 decimals, taker amount a max of 4 decimals"
        );
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

        /// At every tick size the signed amounts meet production's marketable precision, the
        /// pUSD of a BUY is never more than offered, and the implied price is never worse than
        /// the worst price given.
        #[test]
        fn market_amounts_meet_productions_precision(
            tick_i in 0usize..6,
            steps in 1u32..10_000,
            amount in 0u64..1_000_000_000_000,
            buy in any::<bool>(),
        ) {
            let tick = t(["0.1", "0.01", "0.005", "0.0025", "0.001", "0.0001"][tick_i]);
            let n = 1_000_000 / tick.micros();
            let price = Price(tick.micros() * (1 + steps % (n - 1)));
            let side = if buy { OrderSide::Buy } else { OrderSide::Sell };
            match market_amounts(side, price, amount, tick) {
                Ok(a) => {
                    prop_assert_eq!(check_marketable_precision(side, a), Ok(()));
                    prop_assert!(a.maker <= amount && amount - a.maker < 10_000);
                    let (shares, collateral) = a.shares_and_collateral(side);
                    let at_price = u128::from(shares) * u128::from(price.micros());
                    let paid = u128::from(collateral) * 1_000_000;
                    // The amount received is the exact one cut to the tick's amount decimals,
                    // at most 4 (`unit` micro-units), or rounded up by less than 1e-8.
                    let dp = RoundingConfig::for_tick(tick).unwrap().amount_dp.min(4);
                    let unit = 10u128.pow(6 - dp);
                    let p = u128::from(price.micros());
                    if buy {
                        prop_assert!(at_price <= paid + p && paid < at_price + unit * p);
                    } else {
                        prop_assert!(paid <= at_price + 1_000_000 && at_price < paid + unit * 1_000_000);
                    }
                }
                Err(e) => prop_assert!(
                    matches!(e, OrderRejection::ZeroQuantity | OrderRejection::Overflow),
                    "{e}"
                ),
            }
        }

        /// The same for a marketable order asked for in shares (the Dutch-book legs).
        #[test]
        fn marketable_shares_meet_productions_precision(
            tick_i in 0usize..6,
            steps in 1u32..10_000,
            size in 0u64..1_000_000_000_000,
            buy in any::<bool>(),
        ) {
            let tick = t(["0.1", "0.01", "0.005", "0.0025", "0.001", "0.0001"][tick_i]);
            let n = 1_000_000 / tick.micros();
            let price = Price(tick.micros() * (1 + steps % (n - 1)));
            let side = if buy { OrderSide::Buy } else { OrderSide::Sell };
            if let Ok(a) = marketable_shares_amounts(side, price, Size(size), tick) {
                prop_assert_eq!(check_marketable_precision(side, a), Ok(()));
                prop_assert!(a.shares_and_collateral(side).0 <= size);
            }
        }
    }
}
