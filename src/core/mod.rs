//! Domain core: exact fixed-point money, identifiers and the hot-path market messages.

pub mod decimal;
pub mod fees;
pub mod ids;
pub mod market;

pub use decimal::{Amount, DecimalError, Price, Size, TickSize};
pub use ids::{AssetIndex, AssetRegistry, ConditionId, ExtendError, RegistryExtension, TokenId};
pub use market::{ClaimedTop, MarketMsg, ResyncReason, Side, TopOfBook};
