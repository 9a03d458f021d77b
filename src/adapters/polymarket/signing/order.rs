//! The exchange `Order`: its signature type, its EIP-712 struct hash (driven by an [`OrderSchema`]),
//! signed orders, and what a strategy asks for ([`OrderRequest`]) before amounts exist.

use std::fmt;

use sha3::{Digest, Keccak256};

use super::amounts::{self, OrderAmounts, OrderRejection};
use super::evm::{Address, Bytes32, u64_word};
use super::key::EcdsaSignature;
use super::poly1271::{Poly1271Error, Poly1271Signature};
use super::protocol::{OrderField, OrderSchema};
use super::terms::{OrderSide, OrderType};
use crate::core::decimal::{Price, Size, TickSize};
use crate::core::ids::TokenId;

/// Who signs for whose funds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum SignatureType {
    /// The key's own address holds the funds.
    Eoa = 0,
    /// A Polymarket proxy wallet (Magic/email accounts): maker = proxy, signer = key.
    PolyProxy = 1,
    /// A Gnosis Safe (browser-wallet accounts): maker = safe, signer = key.
    PolyGnosisSafe = 2,
    /// An EIP-1271 deposit wallet (V2 only): maker = signer = wallet, signed by its owner key.
    Poly1271 = 3,
}

impl SignatureType {
    pub fn from_u8(v: u8) -> Option<Self> {
        match v {
            0 => Some(Self::Eoa),
            1 => Some(Self::PolyProxy),
            2 => Some(Self::PolyGnosisSafe),
            3 => Some(Self::Poly1271),
            _ => None,
        }
    }
}

/// An exchange order with every field any version signs; a schema picks the ones that count.
/// Amounts are micro-units; `expiration` is unix seconds (0 = none), `timestamp_ms` is the
/// V2 creation time in milliseconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Order {
    pub salt: u64,
    pub maker: Address,
    pub signer: Address,
    /// V1 only: zero = anyone may fill.
    pub taker: Address,
    pub token_id: TokenId,
    pub maker_amount: u64,
    pub taker_amount: u64,
    pub expiration: u64,
    /// V1 only.
    pub nonce: u64,
    /// V1 only.
    pub fee_rate_bps: u64,
    pub side: OrderSide,
    pub signature_type: SignatureType,
    /// V2/V3 only.
    pub timestamp_ms: u64,
    /// V2/V3 only.
    pub metadata: Bytes32,
    /// V2/V3 only: builder attribution code.
    pub builder: Bytes32,
}

impl Order {
    /// The ABI word of one field.
    #[inline]
    pub fn word(&self, field: OrderField) -> [u8; 32] {
        match field {
            OrderField::Salt => u64_word(self.salt),
            OrderField::Maker => self.maker.to_word(),
            OrderField::Signer => self.signer.to_word(),
            OrderField::Taker => self.taker.to_word(),
            OrderField::TokenId => self.token_id.to_be_bytes(),
            OrderField::MakerAmount => u64_word(self.maker_amount),
            OrderField::TakerAmount => u64_word(self.taker_amount),
            OrderField::Expiration => u64_word(self.expiration),
            OrderField::Nonce => u64_word(self.nonce),
            OrderField::FeeRateBps => u64_word(self.fee_rate_bps),
            OrderField::Side => u64_word(self.side as u64),
            OrderField::SignatureType => u64_word(self.signature_type as u64),
            OrderField::Timestamp => u64_word(self.timestamp_ms),
            OrderField::Metadata => self.metadata.0,
            OrderField::Builder => self.builder.0,
        }
    }

    /// `hashStruct(Order)` under `schema`; `type_hash` is the schema's, precomputed by callers.
    pub fn struct_hash(&self, schema: &OrderSchema, type_hash: &[u8; 32]) -> [u8; 32] {
        let mut h = Keccak256::new();
        h.update(type_hash);
        for &f in schema.signed {
            h.update(self.word(f));
        }
        h.finalize().into()
    }
}

/// An order's signature: a plain 65-byte ECDSA signature (EOA, proxy, safe) or the wrapped
/// EIP-1271 form of a deposit wallet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OrderSignature {
    Ecdsa(EcdsaSignature),
    Poly1271(Box<Poly1271Signature>),
}

impl OrderSignature {
    /// The bytes sent as `signature` (hex-encoded on the wire).
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Self::Ecdsa(s) => s.0.to_vec(),
            Self::Poly1271(s) => s.encode(),
        }
    }

    /// Decodes wire bytes: 65 bytes are ECDSA, anything longer must be a POLY_1271 wrapper.
    pub fn from_bytes(b: &[u8]) -> Result<Self, Poly1271Error> {
        match EcdsaSignature::from_slice(b) {
            Ok(sig) => Ok(Self::Ecdsa(sig)),
            Err(_) => Poly1271Signature::decode(b).map(|s| Self::Poly1271(Box::new(s))),
        }
    }
}

impl fmt::Display for OrderSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ecdsa(s) => s.fmt(f),
            Self::Poly1271(s) => write!(f, "0x{}", hex::encode(s.encode())),
        }
    }
}

/// An order and its signature: what goes into the `order` object of `POST /order`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedOrder {
    pub order: Order,
    pub signature: OrderSignature,
}

/// How much to trade.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quantity {
    /// A number of shares at a limit price (the clients' `create_order`). On a FOK/FAK BUY it
    /// becomes the pUSD `shares × price` cut to cents, the price being the worst accepted.
    Shares(Size),
    /// A market order amount (the clients' `create_market_order`): BUY spends this much
    /// collateral (micro-pUSD), SELL sells this many micro-shares; the price is the worst
    /// acceptable one.
    MarketAmount(u64),
}

/// The market facts an order must respect: tick size, minimum size and which exchange.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MarketRules {
    pub tick_size: TickSize,
    /// Minimum shares of a resting order (`minimum_order_size`; 0 = not checked).
    pub min_order_size: Size,
    pub neg_risk: bool,
}

/// What to trade, before amounts, salt and time exist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderRequest {
    pub token_id: TokenId,
    pub side: OrderSide,
    pub price: Price,
    pub quantity: Quantity,
    pub order_type: OrderType,
    /// Unix seconds; required for GTD, 0 otherwise.
    pub expiration: u64,
    pub post_only: bool,
    pub metadata: Bytes32,
    pub builder: Bytes32,
    /// V1 only.
    pub fee_rate_bps: u64,
    /// V1 only.
    pub nonce: u64,
    /// V1 only: zero = public order.
    pub taker: Address,
}

impl OrderRequest {
    /// A GTC limit order with every optional field at its default.
    pub fn limit(token_id: TokenId, side: OrderSide, price: Price, size: Size) -> Self {
        Self {
            token_id,
            side,
            price,
            quantity: Quantity::Shares(size),
            order_type: OrderType::Gtc,
            expiration: 0,
            post_only: false,
            metadata: Bytes32::ZERO,
            builder: Bytes32::ZERO,
            fee_rate_bps: 0,
            nonce: 0,
            taker: Address::ZERO,
        }
    }

    /// The signed amounts, after every local venue check (tick, size, $1, post-only, GTD).
    /// `now_s` is the order time in unix seconds, for the expiration check.
    pub fn amounts(&self, rules: &MarketRules, now_s: u64) -> Result<OrderAmounts, OrderRejection> {
        if self.post_only && self.order_type.is_marketable() {
            return Err(OrderRejection::PostOnlyNotAllowed(self.order_type));
        }
        if self.order_type == OrderType::Gtd {
            if self.expiration == 0 {
                return Err(OrderRejection::MissingExpiration);
            }
            if self.expiration <= now_s {
                return Err(OrderRejection::ExpirationInPast {
                    expiration: self.expiration,
                    now: now_s,
                });
            }
        }
        let marketable = self.order_type.is_marketable();
        let a = match self.quantity {
            // FOK/FAK have production's marketable precision however they are asked for.
            Quantity::Shares(size) if marketable => {
                amounts::marketable_shares_amounts(self.side, self.price, size, rules.tick_size)?
            }
            Quantity::Shares(size) => {
                amounts::limit_amounts(self.side, self.price, size, rules.tick_size)?
            }
            Quantity::MarketAmount(amount) => {
                amounts::market_amounts(self.side, self.price, amount, rules.tick_size)?
            }
        };
        if marketable {
            amounts::check_marketable_precision(self.side, a)?;
        }
        amounts::check_minimums(self.side, a, self.order_type, rules.min_order_size)?;
        Ok(a)
    }
}
