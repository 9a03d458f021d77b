//! The CLOB's refusals as typed errors: production's plain error sentences
//! (docs.polymarket.com/resources/error-codes) are recognised once, here, so callers match on
//! variants instead of parsing text. `INVALID_ORDER_*` names, which production's answers do
//! not carry, are still read as a fallback (some venues and the API docs' batch table use
//! them).

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
    /// 400 `Invalid Heartbeat ID`: the beat did not echo the venue's last id.
    #[error("Invalid Heartbeat ID")]
    InvalidHeartbeatId,
    /// `invalid amounts, the ... orders maker amount supports a max accuracy of ...`: the
    /// signed amounts have more decimals than the order type allows.
    #[error("{0}")]
    InvalidAmounts(String),
    /// `order 0x… is invalid. Price (0.315) breaks minimum tick size rule: 0.01`.
    #[error("{0}")]
    TickSize(String),
    /// `order 0x… is invalid. Size (2) lower than the minimum: 5`.
    #[error("{0}")]
    SizeBelowMinimum(String),
    /// `invalid expiration`.
    #[error("{0}")]
    InvalidExpiration(String),
    /// `Too many orders in payload: 16, max allowed: 15`.
    #[error("{0}")]
    TooManyOrders(String),
    /// `Invalid asset type`.
    #[error("{0}")]
    InvalidAssetType(String),
    /// 400 `Invalid orderID`: a malformed order id (cancel, look-up).
    #[error("{0}")]
    InvalidOrderId(String),
    /// `maker address not allowed, please use the deposit wallet flow`: the account must
    /// trade as a deposit wallet (signature type 3).
    #[error("{0}")]
    MakerNotAllowed(String),
    /// Another refusal naming an `INVALID_*`/`*_ERROR` code, with that code.
    #[error("{code}: {message}")]
    Rejected { code: String, message: String },
    #[error("market not ready: {0}")]
    MarketNotReady(String),
    #[error("not found: {0}")]
    NotFound(String),
    /// Refused locally before anything was sent, in production's words.
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
        } else if has("maker address not allowed") {
            Self::MakerNotAllowed(m)
        } else if has("Invalid Heartbeat ID") {
            Self::InvalidHeartbeatId
        } else if has("not enough balance") {
            Self::NotEnoughBalance
        } else if has("FOK orders are fully filled or killed") || has("FOK_ORDER_NOT_FILLED") {
            Self::FokNotFilled(m)
        } else if has("no orders found to match with FAK order") {
            Self::FakNoMatch(m)
        } else if has("post-only") || has("POST_ONLY") {
            Self::PostOnlyCrosses(m)
        } else if has("invalid amounts") {
            Self::InvalidAmounts(m)
        } else if has("breaks minimum tick size rule")
            || has("invalid price (")
            || has("invalid tick size")
            || has("INVALID_ORDER_MIN_TICK_SIZE")
        {
            Self::TickSize(m)
        } else if has("lower than the minimum")
            || has("min size: $1")
            || has("INVALID_ORDER_MIN_SIZE")
        {
            Self::SizeBelowMinimum(m)
        } else if has("is invalid. Duplicated") || has("INVALID_ORDER_DUPLICATED") {
            Self::Duplicated(m)
        } else if has("invalid expiration") || has("INVALID_ORDER_EXPIRATION") {
            Self::InvalidExpiration(m)
        } else if has("Too many orders in payload") {
            Self::TooManyOrders(m)
        } else if has("Invalid asset type") {
            Self::InvalidAssetType(m)
        } else if has("Invalid orderID") {
            Self::InvalidOrderId(m)
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
        assert!(matches!(
            e(
                400,
                "INVALID_ORDER_MIN_TICK_SIZE: price 0.515 is not a multiple"
            ),
            ClobError::TickSize(_)
        ));
        assert!(matches!(
            e(400, "INVALID_ORDER_DUPLICATED: order 0x1 is already known"),
            ClobError::Duplicated(_)
        ));
        match e(400, "INVALID_ORDER_ERROR: something new") {
            ClobError::Rejected { code, .. } => assert_eq!(code, "INVALID_ORDER_ERROR"),
            other => panic!("{other:?}"),
        }
        assert!(e(503, "busy").outcome_unknown());
        assert!(!e(400, "invalid signature").outcome_unknown());
        assert!(ClobError::Timeout.outcome_unknown());
    }

    /// Production's own sentences (Polymarket's docs), word for word, each to its variant.
    #[test]
    fn productions_texts_map_to_variants() {
        use ClobError as E;
        let hash = "0x8e1f0bd2a4c7f3e6a9d1b2c3d4e5f60718293a4b5c6d7e8f9012a3b4c5d6e7f8";
        type Case = (u16, String, fn(&ClobError) -> bool);
        let cases: Vec<Case> = vec![
            (
                400,
                "invalid amounts, the market buy orders maker amount supports a max accuracy \
                 of 2 decimals, taker amount a max of 4 decimals"
                    .into(),
                |e| matches!(e, E::InvalidAmounts(_)),
            ),
            (
                400,
                "invalid amounts, the buy orders maker amount supports a max accuracy of 4 \
                 decimals, taker amount a max of 2 decimals"
                    .into(),
                |e| matches!(e, E::InvalidAmounts(_)),
            ),
            (
                400,
                format!(
                    "order {hash} is invalid. Price (0.315) breaks minimum tick size rule: 0.01"
                ),
                |e| matches!(e, E::TickSize(_)),
            ),
            (
                400,
                format!("order {hash} is invalid. Size (2) lower than the minimum: 5"),
                |e| matches!(e, E::SizeBelowMinimum(_)),
            ),
            (400, format!("order {hash} is invalid. Duplicated."), |e| {
                matches!(e, E::Duplicated(_))
            }),
            (400, "invalid expiration".into(), |e| {
                matches!(e, E::InvalidExpiration(_))
            }),
            (
                400,
                "Too many orders in payload: 16, max allowed: 15".into(),
                |e| matches!(e, E::TooManyOrders(_)),
            ),
            (400, "Invalid asset type".into(), |e| {
                matches!(e, E::InvalidAssetType(_))
            }),
            (400, "Invalid orderID".into(), |e| {
                matches!(e, E::InvalidOrderId(_))
            }),
            (
                400,
                "invalid post-only order: order crosses book".into(),
                |e| matches!(e, E::PostOnlyCrosses(_)),
            ),
            (400, "not enough balance / allowance".into(), |e| {
                *e == E::NotEnoughBalance
            }),
            (
                400,
                "order couldn't be fully filled. FOK orders are fully filled or killed.".into(),
                |e| matches!(e, E::FokNotFilled(_)),
            ),
            (
                400,
                "maker address not allowed, please use the deposit wallet flow".into(),
                |e| matches!(e, E::MakerNotAllowed(_)),
            ),
            (400, "Invalid Heartbeat ID".into(), |e| {
                *e == E::InvalidHeartbeatId
            }),
        ];
        for (status, text, want) in cases {
            let got = ClobError::from_venue(status, &text);
            assert!(want(&got), "{text:?} → {got:?}");
            assert!(
                !got.outcome_unknown(),
                "{text:?} is a refusal, not an unknown"
            );
            if !matches!(got, E::NotEnoughBalance | E::InvalidHeartbeatId) {
                assert!(
                    got.to_string().contains(&text),
                    "the venue's text is kept: {got}"
                );
            }
        }
    }
}
