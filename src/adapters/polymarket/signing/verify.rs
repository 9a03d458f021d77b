//! Order verification as the exchange does it: recompute the EIP-712 digest of a signed order
//! under a domain and recover who signed it. The local venue uses this to accept or refuse
//! orders exactly where the real one would (wrong exchange, wrong version, tampered field).

use thiserror::Error;

use super::eip712::{Domain, signing_digest};
use super::evm::Address;
use super::key::SignatureError;
use super::order::{Order, OrderSignature, SignatureType, SignedOrder};
use super::poly1271::{typed_data_sign_digest, typed_data_sign_type_hash};
use super::protocol::{OrderSchema, ProtocolError};

/// Why an order's signature does not hold.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum VerifyError {
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    #[error("bad signature: {0}")]
    Signature(#[from] SignatureError),
    #[error("order signer is {claimed} but the signature recovers to {recovered}")]
    SignerMismatch {
        claimed: Address,
        recovered: Address,
    },
    #[error("signature type {signature_type:?} does not match the signature's form")]
    FormMismatch { signature_type: SignatureType },
    #[error("POLY_1271 wrapper does not match the order: {0}")]
    Poly1271Mismatch(&'static str),
}

/// The order's EIP-712 digest under `domain`: the venue's order id.
pub fn order_hash(order: &Order, domain: &Domain) -> Result<[u8; 32], VerifyError> {
    let schema = OrderSchema::for_domain_version(&domain.version)?;
    let sh = order.struct_hash(schema, &schema.type_hash());
    Ok(signing_digest(&domain.separator(), &sh))
}

/// The address whose key produced the order's signature under `domain`.
///
/// For EOA, proxy and safe orders this must equal `order.signer` (see
/// [`verify_order_signature`]). For POLY_1271 it is the deposit wallet's owner key: whether
/// that key owns the wallet is an on-chain fact the caller must know; the wrapper's order hash,
/// domain and type string are checked here.
pub fn recover_order_signer(signed: &SignedOrder, domain: &Domain) -> Result<Address, VerifyError> {
    let schema = OrderSchema::for_domain_version(&domain.version)?;
    let order = &signed.order;
    let type_string = schema.type_string();
    let contents_hash = order.struct_hash(schema, &schema.type_hash());
    let separator = domain.separator();
    match (&signed.signature, order.signature_type) {
        (OrderSignature::Ecdsa(sig), t) if t != SignatureType::Poly1271 => {
            Ok(sig.recover(&signing_digest(&separator, &contents_hash))?)
        }
        (OrderSignature::Poly1271(w), SignatureType::Poly1271) => {
            if w.contents_hash != contents_hash {
                return Err(VerifyError::Poly1271Mismatch(
                    "contents hash is not this order's",
                ));
            }
            if w.app_domain_separator != separator {
                return Err(VerifyError::Poly1271Mismatch(
                    "domain separator is not this exchange's",
                ));
            }
            if w.contents_type != type_string {
                return Err(VerifyError::Poly1271Mismatch(
                    "contents type is not the order type",
                ));
            }
            let digest = typed_data_sign_digest(
                &separator,
                &contents_hash,
                &typed_data_sign_type_hash(&type_string),
                domain.chain_id,
                order.signer,
            );
            Ok(w.inner.recover(&digest)?)
        }
        (_, signature_type) => Err(VerifyError::FormMismatch { signature_type }),
    }
}

/// Recovers the signer and, for the ECDSA types, checks it is the order's `signer`.
/// Returns the recovered key address (for POLY_1271: the wallet owner, unchecked).
pub fn verify_order_signature(
    signed: &SignedOrder,
    domain: &Domain,
) -> Result<Address, VerifyError> {
    let recovered = recover_order_signer(signed, domain)?;
    let claimed = signed.order.signer;
    if signed.order.signature_type != SignatureType::Poly1271 && recovered != claimed {
        return Err(VerifyError::SignerMismatch { claimed, recovered });
    }
    Ok(recovered)
}
