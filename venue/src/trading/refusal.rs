//! The venue's refusals: production's text for the client and a reason name under which each
//! is counted (`GET /admin/stats` → `trading_rejections`), so that a test or an operator sees
//! what was refused and how often without reading logs.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// Why a request or one order of a batch was refused. The name is the counter's key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reason {
    /// A body that does not parse as an order (or a cancel, or a heartbeat).
    Payload,
    /// The order's `owner` is not the API key it is posted with.
    Owner,
    /// Signed for another order version than the venue serves.
    Version,
    /// A token the venue does not trade.
    Market,
    /// The signature, its POLY_1271 wrapper, or its signer/maker/type combination is wrong.
    Signature,
    /// An EOA, proxy or Safe maker where only deposit wallets may trade.
    MakerNotAllowed,
    /// makerAmount/takerAmount with more decimals than the order kind allows, or zero.
    Amounts,
    /// The implied price is off the tick grid or outside (0, 1).
    TickSize,
    /// A limit order under the market's minimum size.
    MinSize,
    /// A marketable order under $1.
    MarketMinimum,
    /// Post-only on a FOK/FAK.
    PostOnlyType,
    /// GTD without a valid expiration.
    Expiration,
    Duplicated,
    Balance,
    PostOnlyCrosses,
    FokNotFilled,
    FakNoMatch,
    /// More orders in one `POST /orders` than allowed.
    BatchSize,
    /// A malformed order id (cancel, lookup).
    OrderId,
    /// A heartbeat that does not echo the latest id.
    HeartbeatId,
    /// `asset_type` or `token_id` of a balance query.
    AssetType,
    /// L1 or L2 authentication failed.
    Unauthorized,
    /// A per-signer bucket is empty (429).
    RateLimited,
    /// Refused on purpose through `/admin/fault`.
    Injected,
}

impl Reason {
    pub const fn name(self) -> &'static str {
        match self {
            Self::Payload => "payload",
            Self::Owner => "owner",
            Self::Version => "order_version",
            Self::Market => "market",
            Self::Signature => "signature",
            Self::MakerNotAllowed => "maker_not_allowed",
            Self::Amounts => "amounts",
            Self::TickSize => "tick_size",
            Self::MinSize => "min_size",
            Self::MarketMinimum => "market_minimum",
            Self::PostOnlyType => "post_only_type",
            Self::Expiration => "expiration",
            Self::Duplicated => "duplicated",
            Self::Balance => "balance",
            Self::PostOnlyCrosses => "post_only_crosses",
            Self::FokNotFilled => "fok_not_filled",
            Self::FakNoMatch => "fak_no_match",
            Self::BatchSize => "batch_size",
            Self::OrderId => "order_id",
            Self::HeartbeatId => "heartbeat_id",
            Self::AssetType => "asset_type",
            Self::Unauthorized => "unauthorized",
            Self::RateLimited => "rate_limited",
            Self::Injected => "injected",
        }
    }
}

/// A refusal: its reason and the text the client reads (production's wording).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub reason: Reason,
    pub text: String,
}

impl Refusal {
    pub fn new(reason: Reason, text: impl Into<String>) -> Self {
        Self {
            reason,
            text: text.into(),
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// Refusals counted per reason since the venue started.
#[derive(Default)]
pub struct RefusalCounts(Mutex<BTreeMap<&'static str, u64>>);

impl RefusalCounts {
    pub fn count(&self, r: Reason) {
        *self
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(r.name())
            .or_default() += 1;
    }

    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect()
    }
}
