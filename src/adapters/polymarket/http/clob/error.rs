//! The CLOB's refusals as typed errors: the venue's error strings (of the order endpoints) are
//! recognised once, here, so callers match on variants instead of parsing text.

use std::time::Duration;

use thiserror::Error;

use crate::adapters::polymarket::signing::OrderRejection;

/// Why a CLOB call failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ClobError {
    /// 429 from the venue, or the local per-signer budget says it would be (`local`).
    #[error("rate limited; retry after {retry_after:?}{}", if *local { " (local budget)" } else { "" })]
    RateLimited { retry_after: Duration, local: bool },
    /// 401: unknown key, bad HMAC or passphrase, stale timestamp.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    #[error("invalid signature")]
    InvalidSignature,
    /// Signed for another order version: re-read `GET /version`, re-sign, retry once.
    #[error("order_version_mismatch")]
    VersionMismatch,
    #[error("{0}")]
    SignerMismatch(String),
    #[error("not enough balance / allowance")]
    NotEnoughBalance,
    #[error("FOK order not filled: {0}")]
    FokNotFilled(String),
    #[error("FAK order found nothing to match: {0}")]
    FakNoMatch(String),
    #[error("post-only order would cross: {0}")]
    PostOnlyCrosses(String),
    #[error("duplicated order: {0}")]
    Duplicated(String),
    /// Another `INVALID_ORDER_*` refusal (tick, size, expiration, ...), with the venue's code.
    #[error("{code}: {message}")]
    Rejected { code: String, message: String },
    #[error("market not ready: {0}")]
    MarketNotReady(String),
    #[error("not found: {0}")]
    NotFound(String),
    /// Refused locally before anything was sent (the venue's code is in the message).
    #[error("refused locally: {0}")]
    Local(OrderRejection),
    /// No answer in time: the request may or may not have been processed.
    #[error("timed out: the outcome is unknown")]
    Timeout,
    /// The connection failed: the request may or may not have been processed.
    #[error("transport: {0}")]
    Transport(String),
    /// Any other HTTP status.
    #[error("HTTP {status}: {message}")]
    Status { status: u16, message: String },
    #[error("bad response body: {0}")]
    Body(String),
}

impl ClobError {
    /// Whether the venue may have acted on the request although no answer says so: the
    /// caller must look the order up (by hash) before sending anything again.
    pub fn outcome_unknown(&self) -> bool {
        match self {
            Self::Timeout | Self::Transport(_) | Self::Body(_) => true,
            Self::Status { status, .. } => *status >= 500,
            _ => false,
        }
    }

    /// Maps a venue error (`{"error": message}` with `status`, or a batch leg's `errorMsg`).
    pub fn from_venue(status: u16, message: &str) -> Self {
        let m = message.to_string();
        let has = |s: &str| message.contains(s);
        if has("order_version_mismatch") {
            Self::VersionMismatch
        } else if status == 401 || has("Unauthorized") || has("Invalid api key") {
            Self::Unauthorized(m)
        } else if has("invalid signature") {
            Self::InvalidSignature
        } else if has("has to be the address of the API KEY")
            || has("has to be the owner of the API KEY")
        {
            Self::SignerMismatch(m)
        } else if has("not enough balance") {
            Self::NotEnoughBalance
        } else if has("FOK orders are fully filled or killed") || has("FOK_ORDER_NOT_FILLED") {
            Self::FokNotFilled(m)
        } else if has("no orders found to match with FAK order") {
            Self::FakNoMatch(m)
        } else if has("post-only") || has("POST_ONLY") {
            Self::PostOnlyCrosses(m)
        } else if has("INVALID_ORDER_DUPLICATED") {
            Self::Duplicated(m)
        } else if let Some(code) = message
            .split(|c: char| !(c.is_ascii_uppercase() || c == '_'))
            .find(|w| w.starts_with("INVALID_") || w.ends_with("_ERROR"))
        {
            Self::Rejected {
                code: code.to_string(),
                message: m,
            }
        } else if has("MARKET_NOT_READY") {
            Self::MarketNotReady(m)
        } else if status == 404 {
            Self::NotFound(m)
        } else {
            Self::Status { status, message: m }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn venue_strings_map_to_variants() {
        let e = |s, m| ClobError::from_venue(s, m);
        assert_eq!(e(400, "order_version_mismatch"), ClobError::VersionMismatch);
        assert_eq!(e(400, "invalid signature"), ClobError::InvalidSignature);
        assert_eq!(
            e(400, "not enough balance / allowance"),
            ClobError::NotEnoughBalance
        );
        assert!(matches!(
            e(401, "Unauthorized/Invalid api key"),
            ClobError::Unauthorized(_)
        ));
        assert!(matches!(
            e(
                400,
                "order couldn't be fully filled. FOK orders are fully filled or killed."
            ),
            ClobError::FokNotFilled(_)
        ));
        match e(
            400,
            "INVALID_ORDER_MIN_TICK_SIZE: price 0.515 is not a multiple",
        ) {
            ClobError::Rejected { code, .. } => assert_eq!(code, "INVALID_ORDER_MIN_TICK_SIZE"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            e(400, "INVALID_ORDER_DUPLICATED: order 0x1 is already known"),
            ClobError::Duplicated(_)
        ));
        assert!(e(503, "busy").outcome_unknown());
        assert!(!e(400, "invalid signature").outcome_unknown());
        assert!(ClobError::Timeout.outcome_unknown());
    }
}
