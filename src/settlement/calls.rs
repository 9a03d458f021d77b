//! Calldata for ConditionalTokens, the V2 collateral adapters and ERC-20 (the `sol!` macro
//! encodes it; nothing is hand-packed), and the [`TxCall`]s the settlement commands send.
//!
//! The adapters keep ConditionalTokens' `splitPosition`/`mergePositions`/`redeemPositions`
//! ABI but read only the condition id and the amount: they always use the binary partition
//! `[1, 2]` and take pUSD. Like Polymarket's SDK, the engine passes
//! `(pUSD, 0x0, conditionId, [1, 2], amount)` to them. Going direct to ConditionalTokens, the
//! collateral is USDC.e: pUSD there would split into (or redeem) positions nobody holds.

use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_sol_types::{SolCall, sol};

use crate::chain::{Contracts, Route, TxCall};

use super::ids;

sol! {
    /// Gnosis ConditionalTokens (and the collateral adapters, which share this ABI).
    interface IConditionalTokens {
        function prepareCondition(address oracle, bytes32 questionId, uint256 outcomeSlotCount) external;
        function reportPayouts(bytes32 questionId, uint256[] payouts) external;
        function splitPosition(address collateralToken, bytes32 parentCollectionId, bytes32 conditionId, uint256[] partition, uint256 amount) external;
        function mergePositions(address collateralToken, bytes32 parentCollectionId, bytes32 conditionId, uint256[] partition, uint256 amount) external;
        function redeemPositions(address collateralToken, bytes32 parentCollectionId, bytes32 conditionId, uint256[] indexSets) external;
        function getConditionId(address oracle, bytes32 questionId, uint256 outcomeSlotCount) external pure returns (bytes32);
        function getCollectionId(bytes32 parentCollectionId, bytes32 conditionId, uint256 indexSet) external view returns (bytes32);
        function getPositionId(address collateralToken, bytes32 collectionId) external pure returns (uint256);
        function getOutcomeSlotCount(bytes32 conditionId) external view returns (uint256);
        function payoutDenominator(bytes32 conditionId) external view returns (uint256);
        function balanceOf(address owner, uint256 id) external view returns (uint256);
        function balanceOfBatch(address[] owners, uint256[] ids) external view returns (uint256[]);
        function setApprovalForAll(address operator, bool approved) external;
        function isApprovedForAll(address owner, address operator) external view returns (bool);
    }

    /// NegRiskCtfCollateralAdapter's own entry point.
    interface INegRiskCtfCollateralAdapter {
        function convertPositions(bytes32 marketId, uint256 indexSet, uint256 amount) external;
    }

    /// CollateralOnramp (`wrap`) and CollateralOfframp (`unwrap`).
    interface ICollateralRamp {
        function wrap(address asset, address to, uint256 amount) external;
        function unwrap(address asset, address to, uint256 amount) external;
    }

    /// ERC-20 (pUSD, USDC.e).
    interface IERC20 {
        function approve(address spender, uint256 amount) external returns (bool);
        function allowance(address owner, address spender) external view returns (uint256);
        function balanceOf(address owner) external view returns (uint256);
        function decimals() external view returns (uint8);
    }
}

/// Which kind of market a condition belongs to (Gamma's `negRisk` flag).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MarketKind {
    Binary,
    NegRisk,
}

/// The binary partition / index sets `[1, 2]` (YES, NO).
fn binary_partition() -> Vec<U256> {
    vec![U256::from(ids::YES), U256::from(ids::NO)]
}

/// Builds settlement transactions for one deployment (`contracts`) and route.
#[derive(Clone, Debug)]
pub struct Settlement {
    pub contracts: Contracts,
    pub route: Route,
}

impl Settlement {
    pub fn new(contracts: Contracts, route: Route) -> Self {
        Self { contracts, route }
    }

    /// The contract a split/merge/redeem goes to and the collateral argument it takes. Neg-risk
    /// conditions always go through their adapter (its NegRiskAdapter wraps the collateral).
    fn target(&self, kind: MarketKind) -> (Address, Address) {
        let c = &self.contracts;
        match (kind, self.route) {
            (MarketKind::Binary, Route::Direct) => (c.ctf, c.usdce),
            (MarketKind::Binary, Route::Adapter) => (c.collateral_adapter, c.pusd),
            (MarketKind::NegRisk, _) => (c.neg_risk_collateral_adapter, c.pusd),
        }
    }

    /// The YES and NO token ids of a condition.
    pub fn position_ids(&self, kind: MarketKind, condition_id: B256) -> [U256; 2] {
        let key = match kind {
            MarketKind::Binary => self.contracts.usdce,
            MarketKind::NegRisk => self.contracts.wcol,
        };
        ids::binary_positions(key, condition_id)
    }

    /// Collateral → `amount` YES + `amount` NO (6-decimal units).
    pub fn split(&self, kind: MarketKind, condition_id: B256, amount: U256) -> TxCall {
        let (to, collateral) = self.target(kind);
        let data = IConditionalTokens::splitPositionCall {
            collateralToken: collateral,
            parentCollectionId: B256::ZERO,
            conditionId: condition_id,
            partition: binary_partition(),
            amount,
        }
        .abi_encode();
        call(format!("split {condition_id} {amount}"), to, data)
    }

    /// `amount` YES + `amount` NO → collateral.
    pub fn merge(&self, kind: MarketKind, condition_id: B256, amount: U256) -> TxCall {
        let (to, collateral) = self.target(kind);
        let data = IConditionalTokens::mergePositionsCall {
            collateralToken: collateral,
            parentCollectionId: B256::ZERO,
            conditionId: condition_id,
            partition: binary_partition(),
            amount,
        }
        .abi_encode();
        call(format!("merge {condition_id} {amount}"), to, data)
    }

    /// Redeems the whole YES and NO balance of a resolved condition.
    pub fn redeem(&self, kind: MarketKind, condition_id: B256) -> TxCall {
        let (to, collateral) = self.target(kind);
        let data = IConditionalTokens::redeemPositionsCall {
            collateralToken: collateral,
            parentCollectionId: B256::ZERO,
            conditionId: condition_id,
            indexSets: binary_partition(),
        }
        .abi_encode();
        call(format!("redeem {condition_id}"), to, data)
    }

    /// Neg-risk convert: `amount` NO of each question in `index_set` (bit i = question i) →
    /// `amount` YES of every other question plus collateral, less the market's fee.
    pub fn convert(&self, market_id: B256, index_set: U256, amount: U256) -> TxCall {
        let data = INegRiskCtfCollateralAdapter::convertPositionsCall {
            marketId: market_id,
            indexSet: index_set,
            amount,
        }
        .abi_encode();
        call(
            format!("convert {market_id} {index_set:#x} {amount}"),
            self.contracts.neg_risk_collateral_adapter,
            data,
        )
    }
}

impl Settlement {
    /// `amount` USDC.e → `amount` pUSD for `to`, through the onramp (which pulls the USDC.e).
    pub fn wrap(&self, to: Address, amount: U256) -> TxCall {
        let data = ICollateralRamp::wrapCall {
            asset: self.contracts.usdce,
            to,
            amount,
        }
        .abi_encode();
        call(format!("wrap {amount} → {to}"), self.contracts.onramp, data)
    }

    /// `amount` pUSD → `amount` USDC.e for `to`, through the offramp (which pulls the pUSD).
    pub fn unwrap(&self, to: Address, amount: U256) -> TxCall {
        let data = ICollateralRamp::unwrapCall {
            asset: self.contracts.usdce,
            to,
            amount,
        }
        .abi_encode();
        call(
            format!("unwrap {amount} → {to}"),
            self.contracts.offramp,
            data,
        )
    }
}

fn call(label: String, to: Address, data: Vec<u8>) -> TxCall {
    TxCall {
        label,
        to,
        data: Bytes::from(data),
        gas_limit: None,
    }
}

/// `approve(spender, MAX)` on an ERC-20.
pub fn erc20_approve(token: Address, spender: Address) -> TxCall {
    let data = IERC20::approveCall {
        spender,
        amount: U256::MAX,
    }
    .abi_encode();
    call(format!("approve {token} → {spender}"), token, data)
}

/// `setApprovalForAll(operator, true)` on ConditionalTokens.
pub fn ctf_approve_all(ctf: Address, operator: Address) -> TxCall {
    let data = IConditionalTokens::setApprovalForAllCall {
        operator,
        approved: true,
    }
    .abi_encode();
    call(format!("setApprovalForAll {ctf} → {operator}"), ctf, data)
}
