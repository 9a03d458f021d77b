//! Domain core: exact fixed-point money, identifiers, sets of them and the hot-path market
//! messages.

pub mod asset_set;
pub mod decimal;
pub mod fees;
pub mod ids;
pub mod market;

pub use asset_set::AssetSet;
pub use decimal::{Amount, DecimalError, Price, Size, TickSize};
pub use ids::{AssetIndex, AssetRegistry, ConditionId, ExtendError, RegistryExtension, TokenId};
pub use market::{AskDepth, ClaimedTop, MAX_DEPTH, MarketMsg, ResyncReason, Side, TopOfBook};
