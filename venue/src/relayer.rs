//! The relayer of Polymarket's smart-contract accounts as a router service: `POST /submit`,
//! `GET /transaction`, `GET /nonce`, `GET /relay-payload`, `GET /deployed`.
//!
//! A request is checked as the real relayer checks it: authentication headers present (builder
//! or relayer key), the signature recovered for its wallet type (`polyarb::settlement::relayer`
//! verifies it), the signer owning the wallet (Safe and proxy: their CREATE2 addresses; deposit
//! wallet: the double's convention, `trading::wallet`), the nonce current and a deposit-wallet
//! deadline not passed. Refusals are 400/401 `{"error": ...}` and change nothing.
//!
//! An accepted request's calls are applied to the trading ledger at once and all together
//! (split, merge and convert through the collateral adapters, pUSD wrap and unwrap; approvals
//! are accepted and change nothing): the transaction is CONFIRMED, or FAILED with the reason
//! and nothing applied (an uncovered balance, an unknown market, an unresolved redeem). The
//! wallet's nonce advances only when it is confirmed.

use std::sync::Mutex;

use alloy_primitives::{Address, B256, U256, keccak256};
use alloy_sol_types::SolCall;
use rustc_hash::FxHashMap;
use serde_json::json;

use crate::control::VenueControl;
use crate::http::{HttpRequest, HttpResponse, HttpService};
use crate::trading::accounts::{Accounts, Holding};
use crate::trading::wallet::deposit_wallet_address;
use polyarb::adapters::polymarket::signing::Address as VenueAddress;
use polyarb::chain::Contracts;
use polyarb::settlement::calls::{
    ICollateralRamp, IConditionalTokens, IERC20, INegRiskCtfCollateralAdapter,
};
use polyarb::settlement::relayer::{
    AccountType, RelayerContracts, SubmitRequest, WalletCall, proxy_address, safe_address, verify,
};

/// The relay the double names for proxy-wallet requests.
pub const RELAY: Address = Address::new([0x4e; 20]);

/// A submitted transaction.
#[derive(Clone, Debug)]
struct RelayedTx {
    id: String,
    hash: B256,
    kind: String,
    from: Address,
    wallet: Address,
    nonce: U256,
    state: &'static str,
    error: Option<String>,
}

#[derive(Default)]
struct Ledger {
    /// Next nonce per wallet.
    nonces: FxHashMap<Address, u64>,
    txs: FxHashMap<String, RelayedTx>,
    seq: u64,
}

pub struct RelayerApi {
    ctl: VenueControl,
    contracts: Contracts,
    relayer: RelayerContracts,
    chain_id: u64,
    ledger: Mutex<Ledger>,
}

fn venue_addr(a: Address) -> VenueAddress {
    VenueAddress(a.into_array())
}

fn parse_address(s: Option<&str>) -> Option<Address> {
    s.and_then(|s| s.parse().ok())
}

impl RelayerApi {
    pub fn new(ctl: VenueControl) -> Self {
        let chain_id = ctl.trading.cfg.chain_id;
        Self {
            ctl,
            contracts: Contracts::default(),
            relayer: RelayerContracts::default(),
            chain_id,
            ledger: Mutex::new(Ledger::default()),
        }
    }

    fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The wallet `owner` holds of an account type.
    fn wallet_of(&self, owner: Address, account: AccountType) -> Option<Address> {
        match account {
            AccountType::Eoa => None,
            AccountType::Safe => Some(safe_address(self.relayer.safe_factory, owner)),
            AccountType::Proxy => Some(proxy_address(self.relayer.proxy_factory, owner)),
            AccountType::DepositWallet => Some(Address::from(
                deposit_wallet_address(VenueAddress(owner.into_array())).0,
            )),
        }
    }

    fn nonce(&self, req: &HttpRequest<'_>, relay: bool) -> HttpResponse {
        let Some(owner) = parse_address(req.query("address")) else {
            return HttpResponse::error(400, "address required: 0x + 40 hex");
        };
        let account = req
            .query("type")
            .and_then(AccountType::from_relayer_type)
            .filter(|a| !relay || *a == AccountType::Proxy);
        let Some(wallet) = account.and_then(|a| self.wallet_of(owner, a)) else {
            return HttpResponse::error(400, "type must be SAFE, PROXY or WALLET");
        };
        let n = self.ledger().nonces.get(&wallet).copied().unwrap_or(0);
        if relay {
            HttpResponse::json(200, &json!({ "address": RELAY, "nonce": n.to_string() }))
        } else {
            HttpResponse::json(200, &json!({ "nonce": n.to_string() }))
        }
    }

    fn deployed(&self, req: &HttpRequest<'_>) -> HttpResponse {
        let Some(wallet) = parse_address(req.query("address")) else {
            return HttpResponse::error(400, "address required: 0x + 40 hex");
        };
        // The relayer deploys a wallet with its first transaction.
        let used = self.ledger().nonces.get(&wallet).is_some_and(|&n| n > 0);
        HttpResponse::json(200, &json!({ "deployed": used }))
    }

    fn transaction(&self, req: &HttpRequest<'_>) -> HttpResponse {
        let Some(id) = req.query("id") else {
            return HttpResponse::error(400, "id required");
        };
        let Some(t) = self.ledger().txs.get(id).cloned() else {
            return HttpResponse::error(404, "transaction not found");
        };
        let mut v = json!({
            "transactionID": t.id,
            "transactionHash": t.hash,
            "state": t.state,
            "type": t.kind,
            "from": t.from,
            "proxyAddress": t.wallet,
            "nonce": t.nonce.to_string(),
        });
        if let Some(e) = t.error {
            v["errorMsg"] = json!(e);
        }
        HttpResponse::json(200, &json!([v]))
    }

    fn authenticated(req: &HttpRequest<'_>) -> bool {
        let has = |h: &str| req.header(h).is_some_and(|v| !v.is_empty());
        let builder = [
            "POLY_BUILDER_API_KEY",
            "POLY_BUILDER_TIMESTAMP",
            "POLY_BUILDER_PASSPHRASE",
            "POLY_BUILDER_SIGNATURE",
        ]
        .iter()
        .all(|h| has(h));
        builder || (has("RELAYER_API_KEY") && has("RELAYER_API_KEY_ADDRESS"))
    }

    fn submit(&self, req: &mut HttpRequest<'_>) -> HttpResponse {
        if !Self::authenticated(req) {
            return HttpResponse::error(401, "invalid authorization");
        }
        let body = match req.body() {
            Ok(b) => b,
            Err(r) => return r,
        };
        let sub: SubmitRequest = match serde_json::from_slice(&body) {
            Ok(s) => s,
            Err(e) => return HttpResponse::error(400, &format!("invalid request: {e}")),
        };
        let v = match verify(&sub, self.chain_id, &self.relayer) {
            Ok(v) => v,
            Err(e) => return HttpResponse::error(400, &format!("invalid signature: {e}")),
        };
        if self.wallet_of(v.signer, v.account) != Some(v.wallet) {
            return HttpResponse::error(
                400,
                &format!("wallet {} is not owned by {}", v.wallet, v.signer),
            );
        }
        if let Some(d) = v.deadline
            && d <= crate::trading::state::Now::current().s()
        {
            return HttpResponse::error(400, "deadline passed");
        }
        let mut ledger = self.ledger();
        let expected = ledger.nonces.get(&v.wallet).copied().unwrap_or(0);
        if v.nonce != U256::from(expected) {
            return HttpResponse::error(
                400,
                &format!("invalid nonce: {} (expected {expected})", v.nonce),
            );
        }
        let outcome = self.apply(v.wallet, &v.calls);
        ledger.seq += 1;
        let id = format!("relay-{:08}", ledger.seq);
        let hash = keccak256(&body);
        let (state, error) = match outcome {
            Ok(()) => {
                ledger.nonces.insert(v.wallet, expected + 1);
                ("STATE_CONFIRMED", None)
            }
            Err(e) => ("STATE_FAILED", Some(e)),
        };
        ledger.txs.insert(
            id.clone(),
            RelayedTx {
                id: id.clone(),
                hash,
                kind: sub.kind.clone(),
                from: v.signer,
                wallet: v.wallet,
                nonce: v.nonce,
                state,
                error,
            },
        );
        HttpResponse::json(
            200,
            &json!({ "transactionID": id, "state": "STATE_NEW", "transactionHash": hash }),
        )
    }

    /// Applies every call to the ledger, or none of them.
    fn apply(&self, wallet: Address, calls: &[WalletCall]) -> Result<(), String> {
        let mut hub = self.ctl.hub();
        let mut plans = Vec::with_capacity(calls.len());
        {
            let books = hub.books();
            for c in calls {
                plans.push(self.plan(books, wallet, c)?);
            }
        }
        let mut accounts: Accounts = hub.trading.accounts.clone();
        for p in plans {
            for (who, debits, credits) in p {
                accounts
                    .settle(venue_addr(who), &debits, &credits)
                    .map_err(|e| e.to_string())?;
            }
        }
        hub.trading.accounts = accounts;
        Ok(())
    }

    /// What one call moves: per account, debits and credits.
    #[allow(clippy::type_complexity)]
    fn plan(
        &self,
        books: &crate::book::VenueBooks,
        wallet: Address,
        call: &WalletCall,
    ) -> Result<Vec<(Address, Vec<(Holding, u64)>, Vec<(Holding, u64)>)>, String> {
        let c = &self.contracts;
        let data = &call.data;
        let sel: [u8; 4] = data
            .get(..4)
            .and_then(|s| s.try_into().ok())
            .ok_or("calldata shorter than a selector")?;
        let amount = |a: U256| u64::try_from(a).map_err(|_| format!("amount {a} out of range"));
        let bad = |e: alloy_sol_types::Error| format!("undecodable call: {e}");
        let market = |cid: B256, neg_risk: bool| -> Result<(u32, u32), String> {
            let m = books
                .market_by_condition(&format!("{cid:#x}"))
                .map(|m| &books.markets[m as usize])
                .filter(|m| m.neg_risk() == neg_risk && m.assets.len() == 2)
                .ok_or_else(|| format!("unknown condition {cid:#x}"))?;
            Ok((m.assets[0], m.assets[1]))
        };
        let adapter = if call.to == c.collateral_adapter {
            Some(false)
        } else if call.to == c.neg_risk_collateral_adapter {
            Some(true)
        } else {
            None
        };
        let none = Vec::new;
        if let Some(neg_risk) = adapter {
            if sel == IConditionalTokens::splitPositionCall::SELECTOR {
                let a = IConditionalTokens::splitPositionCall::abi_decode(data).map_err(bad)?;
                let (yes, no) = market(a.conditionId, neg_risk)?;
                let n = amount(a.amount)?;
                return Ok(vec![(
                    wallet,
                    vec![(Holding::Collateral, n)],
                    vec![(Holding::Token(yes), n), (Holding::Token(no), n)],
                )]);
            }
            if sel == IConditionalTokens::mergePositionsCall::SELECTOR {
                let a = IConditionalTokens::mergePositionsCall::abi_decode(data).map_err(bad)?;
                let (yes, no) = market(a.conditionId, neg_risk)?;
                let n = amount(a.amount)?;
                return Ok(vec![(
                    wallet,
                    vec![(Holding::Token(yes), n), (Holding::Token(no), n)],
                    vec![(Holding::Collateral, n)],
                )]);
            }
            if sel == IConditionalTokens::redeemPositionsCall::SELECTOR {
                let a = IConditionalTokens::redeemPositionsCall::abi_decode(data).map_err(bad)?;
                market(a.conditionId, neg_risk)?;
                return Err(format!(
                    "condition {:#x} is not resolved: nothing to redeem",
                    a.conditionId
                ));
            }
            if neg_risk && sel == INegRiskCtfCollateralAdapter::convertPositionsCall::SELECTOR {
                let a = INegRiskCtfCollateralAdapter::convertPositionsCall::abi_decode(data)
                    .map_err(bad)?;
                return self.convert(books, wallet, a.marketId, a.indexSet, amount(a.amount)?);
            }
            return Err(format!(
                "unsupported call {} to the adapter",
                hex::encode(sel)
            ));
        }
        if (call.to == c.pusd || call.to == c.usdce) && sel == IERC20::approveCall::SELECTOR {
            return Ok(none());
        }
        if call.to == c.ctf && sel == IConditionalTokens::setApprovalForAllCall::SELECTOR {
            return Ok(none());
        }
        if call.to == c.onramp && sel == ICollateralRamp::wrapCall::SELECTOR {
            let a = ICollateralRamp::wrapCall::abi_decode(data).map_err(bad)?;
            let n = amount(a.amount)?;
            return Ok(vec![
                (wallet, vec![(Holding::Usdce, n)], vec![]),
                (a.to, vec![], vec![(Holding::Collateral, n)]),
            ]);
        }
        if call.to == c.offramp && sel == ICollateralRamp::unwrapCall::SELECTOR {
            let a = ICollateralRamp::unwrapCall::abi_decode(data).map_err(bad)?;
            let n = amount(a.amount)?;
            return Ok(vec![
                (wallet, vec![(Holding::Collateral, n)], vec![]),
                (a.to, vec![], vec![(Holding::Usdce, n)]),
            ]);
        }
        Err(format!(
            "unsupported call {} to {}",
            hex::encode(sel),
            call.to
        ))
    }

    /// Neg-risk convert: `amount` NO of each question in `index_set` → `amount` YES of every
    /// other question and `(count - 1) * amount` pUSD (the double charges no convert fee).
    #[allow(clippy::type_complexity)]
    fn convert(
        &self,
        books: &crate::book::VenueBooks,
        wallet: Address,
        market_id: B256,
        index_set: U256,
        n: u64,
    ) -> Result<Vec<(Address, Vec<(Holding, u64)>, Vec<(Holding, u64)>)>, String> {
        let id = format!("{market_id:#x}");
        let mut questions: Vec<(u8, u32, u32)> = books
            .markets
            .iter()
            .filter(|m| {
                m.neg_risk_market_id
                    .as_deref()
                    .is_some_and(|x| x.eq_ignore_ascii_case(&id))
                    && m.assets.len() == 2
            })
            .filter_map(|m| {
                let q = m.question_id.as_deref()?;
                let idx = u8::from_str_radix(q.get(q.len().checked_sub(2)?..)?, 16).ok()?;
                Some((idx, m.assets[0], m.assets[1]))
            })
            .collect();
        questions.sort_unstable();
        let count = questions.len();
        if count < 2 {
            return Err(format!(
                "market {id} has {count} questions: nothing to convert"
            ));
        }
        if index_set.is_zero() || index_set >> count != U256::ZERO {
            return Err(format!(
                "index set {index_set:#x} is not within {count} questions"
            ));
        }
        let mut debits = Vec::new();
        let mut credits = Vec::new();
        for &(idx, yes, no) in &questions {
            if index_set.bit(idx as usize) {
                debits.push((Holding::Token(no), n));
            } else {
                credits.push((Holding::Token(yes), n));
            }
        }
        let given = debits.len() as u64;
        if given > 1 {
            let pusd = n
                .checked_mul(given - 1)
                .ok_or_else(|| format!("amount {n} out of range"))?;
            credits.push((Holding::Collateral, pusd));
        }
        Ok(vec![(wallet, debits, credits)])
    }
}

impl HttpService for RelayerApi {
    fn handle(&self, req: &mut HttpRequest<'_>) -> Option<HttpResponse> {
        let r = match (req.method.as_str(), req.path.as_str()) {
            ("POST", "/submit") => self.submit(req),
            ("GET", "/transaction") => self.transaction(req),
            ("GET", "/nonce") => self.nonce(req, false),
            ("GET", "/relay-payload") => self.nonce(req, true),
            ("GET", "/deployed") => self.deployed(req),
            _ => return None,
        };
        Some(r)
    }
}
