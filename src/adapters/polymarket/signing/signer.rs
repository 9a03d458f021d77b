//! [`OrderSigner`]: builds and signs orders for one key, one wallet arrangement and one
//! protocol version. Everything that does not depend on the order (key parsing, addresses,
//! type hashes, both exchanges' domain separators) is computed once in [`OrderSigner::new`];
//! signing an order is then one struct hash, one digest and one ECDSA signature.

use rand::Rng;
use thiserror::Error;

use crate::obs::clock::unix_ms;

use super::amounts::{OrderAmounts, OrderRejection};
use super::eip712::signing_digest;
use super::evm::Address;
use super::key::PrivateKey;
use super::order::{MarketRules, Order, OrderRequest, OrderSignature, SignatureType, SignedOrder};
use super::poly1271::{Poly1271Signature, typed_data_sign_digest, typed_data_sign_type_hash};
use super::protocol::ProtocolVersion;

/// Why a signer could not be set up.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SignerSetupError {
    #[error("signature type {0:?} needs a funder address (the proxy, safe or deposit wallet)")]
    FunderRequired(SignatureType),
    #[error("an EOA signs for its own address {key}; funder {funder} differs (use type 1, 2 or 3)")]
    FunderMismatch { key: Address, funder: Address },
    #[error("POLY_1271 signatures do not exist for order version {0}")]
    Poly1271Unsupported(u8),
}

/// Orders signed by one key for one maker under one protocol version.
#[derive(Clone, Debug)]
pub struct OrderSigner {
    key: PrivateKey,
    protocol: ProtocolVersion,
    signature_type: SignatureType,
    maker: Address,
    signer: Address,
    order_type_hash: [u8; 32],
    /// `TypedDataSign` type hash, for POLY_1271.
    wrapper_type_hash: [u8; 32],
    order_type_string: String,
    /// Domain separators of the standard and the neg-risk exchange.
    domain_separators: [[u8; 32]; 2],
}

impl OrderSigner {
    /// `funder` is the address holding the funds: required for types 1–3 (maker = funder),
    /// optional for EOA (it must then be the key's own address).
    pub fn new(
        key: PrivateKey,
        protocol: ProtocolVersion,
        signature_type: SignatureType,
        funder: Option<Address>,
    ) -> Result<Self, SignerSetupError> {
        let own = key.address();
        let (maker, signer) = match (signature_type, funder) {
            (SignatureType::Eoa, None) => (own, own),
            (SignatureType::Eoa, Some(f)) if f == own => (own, own),
            (SignatureType::Eoa, Some(f)) => {
                return Err(SignerSetupError::FunderMismatch {
                    key: own,
                    funder: f,
                });
            }
            (t, None) => return Err(SignerSetupError::FunderRequired(t)),
            // The deposit wallet is both maker and signer; its owner key signs the wrapper.
            (SignatureType::Poly1271, Some(f)) => (f, f),
            (_, Some(f)) => (f, own),
        };
        if signature_type == SignatureType::Poly1271 && !protocol.schema.supports_poly_1271 {
            return Err(SignerSetupError::Poly1271Unsupported(protocol.version));
        }
        let order_type_string = protocol.schema.type_string();
        Ok(Self {
            order_type_hash: protocol.schema.type_hash(),
            wrapper_type_hash: typed_data_sign_type_hash(&order_type_string),
            order_type_string,
            domain_separators: [
                protocol.domain(false).separator(),
                protocol.domain(true).separator(),
            ],
            key,
            protocol,
            signature_type,
            maker,
            signer,
        })
    }

    pub fn protocol(&self) -> &ProtocolVersion {
        &self.protocol
    }

    /// The order `maker` (the funder).
    pub fn maker(&self) -> Address {
        self.maker
    }

    /// The order `signer` field (the key's address, or the deposit wallet for POLY_1271).
    pub fn signer(&self) -> Address {
        self.signer
    }

    /// The key's own address (what `POLY_ADDRESS` carries).
    pub fn key_address(&self) -> Address {
        self.key.address()
    }

    /// Builds the unsigned order after every local venue check.
    pub fn build(
        &self,
        req: &OrderRequest,
        rules: &MarketRules,
        salt: u64,
        timestamp_ms: u64,
    ) -> Result<Order, OrderRejection> {
        let a = req.amounts(rules, timestamp_ms / 1000)?;
        Ok(self.build_from_amounts(req, a, salt, timestamp_ms))
    }

    /// Builds an order with amounts taken as given (no rounding, no checks): for replays and
    /// cross-checks, like the TypeScript client's "order from amounts". `req.price` and
    /// `req.quantity` are ignored.
    pub fn build_from_amounts(
        &self,
        req: &OrderRequest,
        amounts: OrderAmounts,
        salt: u64,
        timestamp_ms: u64,
    ) -> Order {
        Order {
            salt,
            maker: self.maker,
            signer: self.signer,
            taker: req.taker,
            token_id: req.token_id,
            maker_amount: amounts.maker,
            taker_amount: amounts.taker,
            expiration: req.expiration,
            nonce: req.nonce,
            fee_rate_bps: req.fee_rate_bps,
            side: req.side,
            signature_type: self.signature_type,
            timestamp_ms,
            metadata: req.metadata,
            builder: req.builder,
        }
    }

    /// The order's EIP-712 digest: the venue's order id.
    #[inline]
    pub fn order_hash(&self, order: &Order, neg_risk: bool) -> [u8; 32] {
        let sh = order.struct_hash(self.protocol.schema, &self.order_type_hash);
        signing_digest(&self.domain_separators[usize::from(neg_risk)], &sh)
    }

    /// Signs a built order for the standard or the neg-risk exchange.
    pub fn sign(&self, order: Order, neg_risk: bool) -> SignedOrder {
        let ds = &self.domain_separators[usize::from(neg_risk)];
        let contents_hash = order.struct_hash(self.protocol.schema, &self.order_type_hash);
        let signature = if order.signature_type == SignatureType::Poly1271 {
            let digest = typed_data_sign_digest(
                ds,
                &contents_hash,
                &self.wrapper_type_hash,
                self.protocol.chain_id,
                order.signer,
            );
            OrderSignature::Poly1271(Box::new(Poly1271Signature {
                inner: self.key.sign_digest(&digest),
                app_domain_separator: *ds,
                contents_hash,
                contents_type: self.order_type_string.clone(),
            }))
        } else {
            OrderSignature::Ecdsa(self.key.sign_digest(&signing_digest(ds, &contents_hash)))
        };
        SignedOrder { order, signature }
    }

    /// Builds and signs with an explicit salt and time (deterministic: tests, CLI, replays).
    pub fn create_order_with(
        &self,
        req: &OrderRequest,
        rules: &MarketRules,
        salt: u64,
        timestamp_ms: u64,
    ) -> Result<SignedOrder, OrderRejection> {
        let order = self.build(req, rules, salt, timestamp_ms)?;
        Ok(self.sign(order, rules.neg_risk))
    }

    /// Builds and signs as the official clients do: a fresh random salt and the current time.
    pub fn create_order(
        &self,
        req: &OrderRequest,
        rules: &MarketRules,
    ) -> Result<SignedOrder, OrderRejection> {
        self.create_order_with(req, rules, random_salt(), unix_ms())
    }
}

/// A random order salt of 53 bits: py-clob-client-v2 draws `secrets.randbits(53)` because the
/// salt travels as a JSON number and must survive parsers that read numbers as doubles.
pub fn random_salt() -> u64 {
    rand::rng().random::<u64>() >> 11
}
