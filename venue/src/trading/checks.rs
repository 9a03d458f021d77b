//! The venue's checks of a `POST /order` body before matching, in the real venue's order and
//! with production's texts (Polymarket's docs): owner, order version, market, signature and the
//! account it trades for (deposit wallet, proxy/Safe funder or EOA), then amounts.
//!
//! Amounts are checked by decimal accuracy, as production does, not by "maker/taker is a tick
//! price":
//! - marketable (FOK/FAK): BUY maker (pUSD) ≤ 2 decimals and taker (shares) ≤ 4; SELL maker
//!   (shares) ≤ 2 and taker (pUSD) ≤ 4, whatever the tick. makerAmount is what the order
//!   spends (pUSD of a BUY, shares of a SELL); the ratio of the two only sets the worst price.
//! - limit (GTC/GTD): shares ≤ 2 decimals, pUSD ≤ the tick's amount decimals (the clients'
//!   rounding table: tick 0.1 → 3, 0.01 → 4, 0.005 and 0.001 → 5, 0.0025 and 0.0001 → 6, i.e.
//!   the tick's decimals + 2), and the implied price exactly on the tick grid.

use polyarb::adapters::polymarket::signing::amounts::{
    MARKETABLE_MAKER_DP, MARKETABLE_TAKER_DP, MIN_MARKETABLE_NOTIONAL,
};
use polyarb::adapters::polymarket::signing::wire::ParsedPostOrder;
use polyarb::adapters::polymarket::signing::{
    Address, OrderSide, OrderType, ProtocolVersion, SignatureType, order_hash,
    verify_order_signature,
};
use polyarb::core::decimal::MICROS_PER_UNIT;
use polyarb::core::{Price, Size, TickSize};

use super::keys::ApiKey;
use super::orders::hash_hex;
use super::refusal::{Reason, Refusal};
use super::state::{CheckedOrder, MarketFacts};
use super::wallet::deposit_wallet_address;

pub const OWNER_MISMATCH: &str = "the order owner has to be the owner of the API KEY";
pub const SIGNER_MISMATCH: &str = "the order signer address has to be the address of the API KEY";
pub const VERSION_MISMATCH: &str = "order_version_mismatch";
pub const INVALID_SIGNATURE: &str = "invalid signature";
pub const INVALID_PAYLOAD: &str = "Invalid order payload";
pub const UNKNOWN_MARKET: &str = "market not found";
pub const MAKER_NOT_ALLOWED: &str = "maker address not allowed, please use the deposit wallet flow";
pub const INVALID_EXPIRATION: &str = "invalid expiration";

/// What the venue needs to know beside the body.
pub struct CheckContext<'a> {
    pub key: &'a ApiKey,
    pub version: u8,
    pub chain_id: u64,
    pub now_s: u64,
    pub gtd_min_lifetime_s: u64,
    /// `[trading] eoa_orders = "allowed"`: EOA, proxy and Safe makers may trade.
    pub eoa_allowed: bool,
}

/// Whether micro-units `v` have at most `dp` decimals.
fn fits(v: u64, dp: u32) -> bool {
    v.is_multiple_of(10u64.pow(6 - dp.min(6)))
}

/// Decimals of a limit order's pUSD amount at `tick`: the tick's own decimals + 2 (the
/// official clients' `ROUNDING_CONFIG` amount column).
pub fn limit_amount_decimals(tick: TickSize) -> u32 {
    let mut m = tick.micros();
    let mut zeros = 0;
    while m > 0 && m.is_multiple_of(10) {
        m /= 10;
        zeros += 1;
    }
    (6 - zeros + 2).min(6)
}

/// The decimal-accuracy rule for the order's kind; `Err` carries production's text.
fn check_accuracy(
    side: OrderSide,
    marketable: bool,
    maker: u64,
    taker: u64,
    tick: TickSize,
) -> Result<(), Refusal> {
    let (maker_dp, taker_dp) = match (marketable, side) {
        (true, _) => (MARKETABLE_MAKER_DP, MARKETABLE_TAKER_DP),
        (false, OrderSide::Buy) => (limit_amount_decimals(tick), 2),
        (false, OrderSide::Sell) => (2, limit_amount_decimals(tick)),
    };
    if fits(maker, maker_dp) && fits(taker, taker_dp) {
        return Ok(());
    }
    let kind = match (marketable, side) {
        (true, OrderSide::Buy) => "market buy",
        (true, OrderSide::Sell) => "market sell",
        (false, OrderSide::Buy) => "buy",
        (false, OrderSide::Sell) => "sell",
    };
    Err(Refusal::new(
        Reason::Amounts,
        format!(
            "invalid amounts, the {kind} orders maker amount supports a max accuracy of \
             {maker_dp} decimals, taker amount a max of {taker_dp} decimals"
        ),
    ))
}

/// A price for an error text: exact micro-units, trimmed (`0.315`).
fn price_text(cash: u64, shares: u64) -> String {
    let p = u128::from(cash) * u128::from(MICROS_PER_UNIT) / u128::from(shares.max(1));
    match u32::try_from(p) {
        Ok(p) => Price(p).to_string(),
        Err(_) => "1".into(),
    }
}

/// Checks a parsed body against the market it trades; `facts` is `None` for an unknown token.
pub fn check_order(
    ctx: &CheckContext<'_>,
    p: ParsedPostOrder,
    facts: Option<MarketFacts>,
) -> Result<CheckedOrder, Refusal> {
    if p.owner != ctx.key.creds.api_key {
        return Err(Refusal::new(Reason::Owner, OWNER_MISMATCH));
    }
    let protocol = ProtocolVersion::known(ctx.version, ctx.chain_id)
        .map_err(|e| Refusal::new(Reason::Payload, format!("{INVALID_PAYLOAD}: {e}")))?;
    if p.schema != protocol.schema {
        return Err(Refusal::new(Reason::Version, VERSION_MISMATCH));
    }
    let facts = facts.ok_or_else(|| Refusal::new(Reason::Market, UNKNOWN_MARKET))?;
    let domain = protocol.domain(facts.neg_risk);
    let order = &p.signed.order;
    let bad_sig = || Refusal::new(Reason::Signature, INVALID_SIGNATURE);
    let recovered = match verify_order_signature(&p.signed, &domain) {
        Ok(a) => a,
        Err(_) => {
            // Signed for another version's exchange: the client must re-read `GET /version`.
            let other_version = (1..=3u8).filter(|&v| v != ctx.version).any(|v| {
                ProtocolVersion::known(v, ctx.chain_id).is_ok_and(|pv| {
                    pv.schema == p.schema
                        && verify_order_signature(&p.signed, &pv.domain(facts.neg_risk)).is_ok()
                })
            });
            return Err(if other_version {
                Refusal::new(Reason::Version, VERSION_MISMATCH)
            } else {
                bad_sig()
            });
        }
    };
    let owner = ctx.key.address;
    match order.signature_type {
        // The deposit wallet is both maker and signer; its owner's key signed the ERC-7739
        // wrapper. Anything else fails the wallet's ERC-1271 check on chain.
        SignatureType::Poly1271 => {
            let wallet = deposit_wallet_address(owner);
            if recovered != owner || order.maker != wallet || order.signer != wallet {
                return Err(bad_sig());
            }
        }
        t => {
            if order.signer != owner {
                return Err(Refusal::new(Reason::Signature, SIGNER_MISMATCH));
            }
            // An EOA order funds itself; a proxy or Safe order names a funder that is not the
            // signer.
            let funder_fits = match t {
                SignatureType::Eoa => order.maker == order.signer,
                _ => order.maker != order.signer && order.maker != Address::ZERO,
            };
            if !funder_fits {
                return Err(bad_sig());
            }
            if !ctx.eoa_allowed {
                return Err(Refusal::new(Reason::MakerNotAllowed, MAKER_NOT_ALLOWED));
            }
        }
    }
    let hash = order_hash(order, &domain)
        .map_err(|e| Refusal::new(Reason::Payload, format!("{INVALID_PAYLOAD}: {e}")))?;
    let id = hash_hex(&hash);
    let (maker, taker) = (order.maker_amount, order.taker_amount);
    let marketable = p.order_type.is_marketable();
    if maker == 0 || taker == 0 {
        return Err(Refusal::new(
            Reason::Amounts,
            format!(
                "order {id} is invalid. Size (0) lower than the minimum: {}",
                facts.min_size
            ),
        ));
    }
    check_accuracy(order.side, marketable, maker, taker, facts.tick)?;
    let (shares, cash) = match order.side {
        OrderSide::Buy => (taker, maker),
        OrderSide::Sell => (maker, taker),
    };
    let scaled = u128::from(cash) * u128::from(MICROS_PER_UNIT);
    let off_tick = || {
        Refusal::new(
            Reason::TickSize,
            format!(
                "order {id} is invalid. Price ({}) breaks minimum tick size rule: {}",
                price_text(cash, shares),
                facts.tick
            ),
        )
    };
    // The worst price the order accepts, in micro-pUSD per share: a BUY takes levels at or
    // under floor(cash/shares), a SELL levels at or over ceil(cash/shares), so the integer
    // comparison is the exact rational one.
    let price = match order.side {
        OrderSide::Buy => scaled / u128::from(shares),
        OrderSide::Sell => scaled.div_ceil(u128::from(shares)),
    };
    let t = u128::from(facts.tick.micros());
    // A marketable order's amounts carry its price only to their decimal accuracy: the official
    // clients floor a market BUY's share amount, so 7.77 pUSD at 0.99 names 0.990014. Its range
    // is checked on the price rounded half to the tick, the price the client was asked for.
    let ranged = if marketable {
        (price + t / 2) / t * t
    } else {
        price
    };
    if ranged < t || ranged > u128::from(MICROS_PER_UNIT) - t {
        return Err(off_tick());
    }
    let price = Price(price as u32);
    if !marketable && (!scaled.is_multiple_of(u128::from(shares)) || !facts.tick.is_on_grid(price))
    {
        return Err(off_tick());
    }
    if p.post_only && marketable {
        return Err(Refusal::new(
            Reason::PostOnlyType,
            format!(
                "invalid post-only order: {} orders cannot be post-only",
                p.order_type.as_str()
            ),
        ));
    }
    if marketable {
        if cash < MIN_MARKETABLE_NOTIONAL.micros() {
            return Err(Refusal::new(
                Reason::MarketMinimum,
                format!(
                    "invalid amount for a marketable {} order (${}), min size: $1",
                    order.side.as_str(),
                    Size(cash)
                ),
            ));
        }
    } else if shares < facts.min_size.micros() {
        return Err(Refusal::new(
            Reason::MinSize,
            format!(
                "order {id} is invalid. Size ({}) lower than the minimum: {}",
                Size(shares),
                facts.min_size
            ),
        ));
    }
    if p.order_type == OrderType::Gtd
        && (order.expiration == 0 || order.expiration < ctx.now_s + ctx.gtd_min_lifetime_s)
    {
        return Err(Refusal::new(Reason::Expiration, INVALID_EXPIRATION));
    }
    // A market BUY spends its pUSD; every other order trades its shares.
    let budget = (marketable && order.side == OrderSide::Buy).then_some(maker);
    Ok(CheckedOrder {
        hash,
        owner: p.owner,
        key_owner: owner,
        maker: order.maker,
        signer: order.signer,
        facts,
        side: order.side,
        price,
        shares,
        budget,
        pays: maker,
        order_type: p.order_type,
        post_only: p.post_only,
        expiration: if p.order_type == OrderType::Gtd {
            order.expiration
        } else {
            0
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_decimals_follow_the_rounding_table() {
        for (tick, dp) in [
            ("0.1", 3),
            ("0.01", 4),
            ("0.005", 5),
            ("0.0025", 6),
            ("0.001", 5),
            ("0.0001", 6),
        ] {
            assert_eq!(
                limit_amount_decimals(TickSize::parse(tick).unwrap()),
                dp,
                "{tick}"
            );
        }
    }

    #[test]
    fn accuracy_texts_are_productions() {
        let t = TickSize::CENT;
        assert!(check_accuracy(OrderSide::Buy, true, 10_000_000, 21_276_500, t).is_ok());
        let e = check_accuracy(OrderSide::Buy, true, 9_999_955, 21_276_500, t).unwrap_err();
        assert_eq!(
            e.text,
            "invalid amounts, the market buy orders maker amount supports a max accuracy of 2 \
             decimals, taker amount a max of 4 decimals"
        );
        // The Dutch-book leg of the issue: fine as a limit order, refused as a FOK.
        assert!(check_accuracy(OrderSide::Buy, false, 170_856_000, 237_300_000, t).is_ok());
        let e = check_accuracy(OrderSide::Buy, true, 170_856_000, 237_300_000, t).unwrap_err();
        assert!(
            e.text.starts_with("invalid amounts, the market buy orders"),
            "{}",
            e.text
        );
        let e = check_accuracy(OrderSide::Buy, false, 170_856_110, 237_300_000, t).unwrap_err();
        assert_eq!(
            e.text,
            "invalid amounts, the buy orders maker amount supports a max accuracy of 4 \
             decimals, taker amount a max of 2 decimals"
        );
        assert!(check_accuracy(OrderSide::Buy, false, 170_850_000, 237_305_000, t).is_err());
        let e = check_accuracy(OrderSide::Sell, false, 10_000_000, 3_000_001, t).unwrap_err();
        assert_eq!(
            e.text,
            "invalid amounts, the sell orders maker amount supports a max accuracy of 2 \
             decimals, taker amount a max of 4 decimals"
        );
    }
}
