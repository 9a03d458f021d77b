//! What an account holds and has allowed, read on chain: ERC-20 balances, ERC-1155 balances
//! (`balanceOfBatch`), and the approvals a fresh account needs before it can trade and settle
//! on CLOB V2 (checked first, so granting them twice sends nothing).

use alloy_primitives::{Address, Bytes, U256};
use alloy_sol_types::SolCall;

use crate::chain::{CallRequest, ChainError, Route, Rpc, RpcError, TxCall};

use super::calls::{IConditionalTokens, IERC20, Settlement, ctf_approve_all, erc20_approve};

/// An allowance at or above this counts as unlimited: tokens that spend from a `MAX` allowance
/// leave it a little lower.
const UNLIMITED: U256 = U256::from_limbs([0, 0, 0, 1 << 63]);

fn read(rpc: &mut Rpc, to: Address, data: Vec<u8>) -> Result<Bytes, ChainError> {
    let req = CallRequest {
        from: None,
        to,
        data: data.into(),
        gas: None,
    };
    Ok(rpc.eth_call(&req, "latest")?)
}

fn undecodable(method: &str, e: impl std::fmt::Display) -> ChainError {
    ChainError::Rpc(RpcError::Malformed {
        method: format!("eth_call {method}"),
        message: e.to_string(),
    })
}

/// An ERC-20 balance in the token's base units.
pub fn erc20_balance(rpc: &mut Rpc, token: Address, owner: Address) -> Result<U256, ChainError> {
    let out = read(rpc, token, IERC20::balanceOfCall { owner }.abi_encode())?;
    IERC20::balanceOfCall::abi_decode_returns(&out).map_err(|e| undecodable("balanceOf", e))
}

/// ERC-1155 balances of `owner` for each id, in one `balanceOfBatch` call.
pub fn balance_of_batch(
    rpc: &mut Rpc,
    ctf: Address,
    owner: Address,
    ids: &[U256],
) -> Result<Vec<U256>, ChainError> {
    let data = IConditionalTokens::balanceOfBatchCall {
        owners: vec![owner; ids.len()],
        ids: ids.to_vec(),
    }
    .abi_encode();
    let out = read(rpc, ctf, data)?;
    IConditionalTokens::balanceOfBatchCall::abi_decode_returns(&out)
        .map_err(|e| undecodable("balanceOfBatch", e))
}

/// `payoutDenominator(conditionId)`: zero until the condition is resolved.
pub fn payout_denominator(
    rpc: &mut Rpc,
    ctf: Address,
    condition_id: alloy_primitives::B256,
) -> Result<U256, ChainError> {
    let out = read(
        rpc,
        ctf,
        IConditionalTokens::payoutDenominatorCall {
            conditionId: condition_id,
        }
        .abi_encode(),
    )?;
    IConditionalTokens::payoutDenominatorCall::abi_decode_returns(&out)
        .map_err(|e| undecodable("payoutDenominator", e))
}

/// One approval an account needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Approval {
    /// The ERC-20 token or the ERC-1155 (ConditionalTokens) contract.
    pub token: Address,
    pub spender: Address,
    /// `setApprovalForAll` on an ERC-1155 rather than an ERC-20 `approve`.
    pub erc1155: bool,
    /// What the spender is, for people.
    pub what: &'static str,
}

impl Approval {
    pub fn call(&self) -> TxCall {
        let mut c = if self.erc1155 {
            ctf_approve_all(self.token, self.spender)
        } else {
            erc20_approve(self.token, self.spender)
        };
        c.label = format!("{} ({})", c.label, self.what);
        c
    }

    /// Whether `owner` has already granted it.
    pub fn granted(&self, rpc: &mut Rpc, owner: Address) -> Result<bool, ChainError> {
        if self.erc1155 {
            let data = IConditionalTokens::isApprovedForAllCall {
                owner,
                operator: self.spender,
            }
            .abi_encode();
            let out = read(rpc, self.token, data)?;
            IConditionalTokens::isApprovedForAllCall::abi_decode_returns(&out)
                .map_err(|e| undecodable("isApprovedForAll", e))
        } else {
            let data = IERC20::allowanceCall {
                owner,
                spender: self.spender,
            }
            .abi_encode();
            let out = read(rpc, self.token, data)?;
            let allowance = IERC20::allowanceCall::abi_decode_returns(&out)
                .map_err(|e| undecodable("allowance", e))?;
            Ok(allowance >= UNLIMITED)
        }
    }
}

/// The approvals of a fresh account: pUSD `approve` and ConditionalTokens `setApprovalForAll`
/// for both V2 exchanges and both collateral adapters, USDC.e `approve` for the onramp and pUSD
/// `approve` for the offramp (wrap, unwrap); on the direct route, USDC.e `approve` for
/// ConditionalTokens too (it pulls the collateral of a split itself).
pub fn required_approvals(s: &Settlement) -> Vec<Approval> {
    let c = &s.contracts;
    let spenders = [
        (c.exchange, "CTF Exchange V2"),
        (c.neg_risk_exchange, "NegRisk CTF Exchange V2"),
        (c.collateral_adapter, "CtfCollateralAdapter"),
        (c.neg_risk_collateral_adapter, "NegRiskCtfCollateralAdapter"),
    ];
    let mut out: Vec<Approval> = spenders
        .iter()
        .map(|&(spender, what)| Approval {
            token: c.pusd,
            spender,
            erc1155: false,
            what,
        })
        .collect();
    out.extend(spenders.iter().map(|&(spender, what)| Approval {
        token: c.ctf,
        spender,
        erc1155: true,
        what,
    }));
    out.push(Approval {
        token: c.usdce,
        spender: c.onramp,
        erc1155: false,
        what: "CollateralOnramp (wrap)",
    });
    out.push(Approval {
        token: c.pusd,
        spender: c.offramp,
        erc1155: false,
        what: "CollateralOfframp (unwrap)",
    });
    if s.route == Route::Direct {
        out.push(Approval {
            token: c.usdce,
            spender: c.ctf,
            erc1155: false,
            what: "ConditionalTokens (direct route)",
        });
    }
    out
}
