//! `[trading]` in venue.toml: which order version the venue wants, how accounts start, how
//! fast trades settle, and the per-signer limits (Polymarket's published trading limits).

use serde::Deserialize;

use polyarb::core::Amount;
use polyarb::core::fees::FeeSchedule;

/// `[trading] eoa_orders`: whether the pre-deposit-wallet account types may trade.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum EoaOrders {
    /// Only deposit-wallet (POLY_1271) orders, as production demands of new API users.
    #[default]
    Refused,
    /// EOA, proxy and Safe orders too (an account older than the deposit-wallet flow).
    Allowed,
}

/// The venue's `[trading]` section: the exchange's rules for its accounts and orders. The
/// engine's own `[trading]` (how polyarb trades, `polyarb::exec::settings::TradingConfig`) is
/// another thing.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct VenueTradingConfig {
    /// Chain whose EIP-712 domains orders and L1 headers are signed for.
    pub chain_id: u64,
    /// The order version served at `GET /version` (1, 2 or 3); orders signed for another
    /// version are refused with `order_version_mismatch`.
    pub order_version: u8,
    /// pUSD credited to an address, and to its deposit wallet, when its first API key is
    /// created.
    pub initial_collateral: Amount,
    /// Whether orders whose maker is the key's own EOA (signature type 0) or a proxy/Safe
    /// funder (types 1, 2) are taken. Production refuses them for new API users
    /// (`maker address not allowed, please use the deposit wallet flow`); so does the venue
    /// unless this says `"allowed"`.
    pub eoa_orders: EoaOrders,
    /// L1 and L2 timestamps further than this from the venue's clock are refused.
    pub auth_max_skew_s: u64,
    /// After a heartbeat, the next must come within this, or the owner's orders are canceled.
    pub heartbeat_timeout_ms: u64,
    /// A trade goes MATCHED → MINED after this, and → CONFIRMED after `confirmed_after_ms`.
    pub mined_after_ms: u64,
    pub confirmed_after_ms: u64,
    /// Largest `POST /orders` batch.
    pub max_batch: usize,
    /// GTD orders must expire at least this long after they are placed (the venue's security
    /// threshold of one minute).
    pub gtd_min_lifetime_s: u64,
    /// Window of the per-signer token buckets below.
    pub rate_window_ms: u64,
    /// Orders per window per signer (`POST /order` costs 1, `POST /orders` one per order).
    pub signer_order_limit: u32,
    /// Cancels per window per signer (`DELETE /order` 1, others 1 + orders canceled).
    pub signer_cancel_limit: u32,
    /// Above this share of a bucket used (percent), answers carry `Poly-RateLimit-Warning`.
    pub rate_warning_pct: u32,
    /// The taker fee schedule of the synthetic markets, taken from `[gamma]` (`fee_rate`,
    /// `fee_exponent`) at start so that the fees charged agree with the `feeSchedule` Gamma
    /// serves; `None`: no fees.
    #[serde(skip)]
    pub fees: Option<FeeSchedule>,
}

impl Default for VenueTradingConfig {
    fn default() -> Self {
        Self {
            chain_id: 137,
            order_version: 2,
            initial_collateral: Amount(1_000_000_000),
            eoa_orders: EoaOrders::Refused,
            auth_max_skew_s: 60,
            heartbeat_timeout_ms: 10_000,
            mined_after_ms: 200,
            confirmed_after_ms: 600,
            max_batch: 15,
            gtd_min_lifetime_s: 60,
            rate_window_ms: 10_000,
            signer_order_limit: 3_500,
            signer_cancel_limit: 3_000,
            rate_warning_pct: 80,
            fees: None,
        }
    }
}
