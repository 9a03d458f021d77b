//! The venue's checks of a `POST /order` body before matching, in the real venue's order and
//! with its error strings: owner, order version, market, signature (standard or neg-risk
//! exchange, this version's domain), signer, then amounts (tick grid, minimum size, $1 for
//! marketable orders, post-only, GTD expiration).

use crate::adapters::polymarket::signing::amounts::{check_minimums, check_price};
use crate::adapters::polymarket::signing::wire::ParsedPostOrder;
use crate::adapters::polymarket::signing::{
    OrderAmounts, OrderRejection, OrderType, ProtocolVersion, SignatureType, order_hash,
    verify_order_signature,
};
use crate::core::Price;
use crate::core::decimal::MICROS_PER_UNIT;

use super::keys::ApiKey;
use super::state::{CheckedOrder, MarketFacts};

pub const OWNER_MISMATCH: &str = "the order owner has to be the owner of the API KEY";
pub const SIGNER_MISMATCH: &str = "the order signer address has to be the address of the API KEY";
pub const VERSION_MISMATCH: &str = "order_version_mismatch";
pub const INVALID_SIGNATURE: &str = "invalid signature";
pub const INVALID_PAYLOAD: &str = "Invalid order payload";
pub const UNKNOWN_MARKET: &str = "market not found";

/// What the venue needs to know beside the body.
pub struct CheckContext<'a> {
    pub key: &'a ApiKey,
    pub version: u8,
    pub chain_id: u64,
    pub now_s: u64,
    pub gtd_min_lifetime_s: u64,
}

/// Checks a parsed body against the market it trades; `facts` is `None` for an unknown token.
pub fn check_order(
    ctx: &CheckContext<'_>,
    p: ParsedPostOrder,
    facts: Option<MarketFacts>,
) -> Result<CheckedOrder, String> {
    if p.owner != ctx.key.creds.api_key {
        return Err(OWNER_MISMATCH.into());
    }
    let protocol = ProtocolVersion::known(ctx.version, ctx.chain_id)
        .map_err(|e| format!("{INVALID_PAYLOAD}: {e}"))?;
    if p.schema != protocol.schema {
        return Err(VERSION_MISMATCH.into());
    }
    let facts = facts.ok_or_else(|| UNKNOWN_MARKET.to_string())?;
    let domain = protocol.domain(facts.neg_risk);
    let order = &p.signed.order;
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
                VERSION_MISMATCH
            } else {
                INVALID_SIGNATURE
            }
            .into());
        }
    };
    // The key that signed must be the API key's: the order's signer for EOA, proxy and safe
    // orders; the deposit wallet's owner key for POLY_1271.
    let signer_ok = match order.signature_type {
        SignatureType::Poly1271 => recovered == ctx.key.address,
        _ => order.signer == ctx.key.address,
    };
    if !signer_ok {
        return Err(SIGNER_MISMATCH.into());
    }
    if order.signature_type == SignatureType::Eoa && order.maker != order.signer {
        return Err(INVALID_SIGNATURE.into());
    }
    let rej = |r: OrderRejection| r.to_string();
    let amounts = OrderAmounts {
        maker: order.maker_amount,
        taker: order.taker_amount,
    };
    let (shares, cash) = amounts.shares_and_collateral(order.side);
    if shares == 0 {
        return Err(rej(OrderRejection::ZeroQuantity));
    }
    let scaled = u128::from(cash) * u128::from(MICROS_PER_UNIT);
    let price = scaled / u128::from(shares);
    if !scaled.is_multiple_of(u128::from(shares)) || price >= u128::from(MICROS_PER_UNIT) {
        return Err(format!(
            "INVALID_ORDER_MIN_TICK_SIZE: amounts {}/{} do not make a price on the tick grid of {}",
            order.maker_amount, order.taker_amount, facts.tick
        ));
    }
    let price = Price(price as u32);
    check_price(price, facts.tick).map_err(rej)?;
    if p.post_only && p.order_type.is_marketable() {
        return Err(rej(OrderRejection::PostOnlyNotAllowed(p.order_type)));
    }
    check_minimums(order.side, amounts, p.order_type, facts.min_size).map_err(rej)?;
    if p.order_type == OrderType::Gtd {
        if order.expiration == 0 {
            return Err(rej(OrderRejection::MissingExpiration));
        }
        let earliest = ctx.now_s + ctx.gtd_min_lifetime_s;
        if order.expiration < earliest {
            return Err(format!(
                "INVALID_ORDER_EXPIRATION: expiration {} is within the security threshold (at \
                 least {earliest})",
                order.expiration
            ));
        }
    }
    let hash = order_hash(order, &domain).map_err(|e| format!("{INVALID_PAYLOAD}: {e}"))?;
    Ok(CheckedOrder {
        hash,
        owner: p.owner,
        maker: order.maker,
        signer: order.signer,
        facts,
        side: order.side,
        price,
        shares,
        pays: order.maker_amount,
        order_type: p.order_type,
        post_only: p.post_only,
        expiration: if p.order_type == OrderType::Gtd {
            order.expiration
        } else {
            0
        },
    })
}
