//! The `[chain]` config section: the node, the key, the journal, gas caps and the contract
//! addresses (Polygon's by default).

use std::path::PathBuf;

use alloy_primitives::{Address, address};
use serde::Deserialize;
use serde::Serialize;

/// Polygon mainnet's chain id.
pub const POLYGON: u64 = 137;

/// `[chain]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChainConfig {
    /// JSON-RPC endpoint (`http://` or `https://`).
    pub rpc_url: String,
    /// The chain the node must serve (checked with `eth_chainId`).
    pub chain_id: u64,
    /// File holding the EOA's private key (0x + 64 hex); needed to send.
    pub key_file: Option<PathBuf>,
    /// SQLite file of the transaction journal.
    pub journal: PathBuf,
    /// `adapter`: split/merge/redeem in pUSD through the V2 collateral adapters; `direct`:
    /// ConditionalTokens itself with `contracts.usdce` as collateral.
    pub route: Route,
    pub rpc_timeout_ms: u64,
    /// `eoa` sends its own transactions; `safe`, `proxy` and `deposit-wallet` accounts go
    /// through the relayer (`[chain.relayer]`).
    pub account: AccountType,
    pub relayer: RelayerConfig,
    pub gas: GasConfig,
    pub contracts: Contracts,
    /// `[chain.recycle]`: complete sets the live engine fills merged or converted back into
    /// pUSD (through the relayer for wallet accounts, as transactions for an EOA).
    pub recycle: RecycleConfig,
}

/// `[chain.relayer]`: Polymarket's relayer, for Safe, proxy and deposit-wallet accounts.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RelayerConfig {
    pub url: String,
    /// JSON file with builder credentials `{apiKey, secret, passphrase}` or a relayer key
    /// `{relayerApiKey, relayerApiKeyAddress}`.
    pub auth_file: Option<PathBuf>,
    /// The account's address; derived from the key for Safe and proxy wallets when absent,
    /// required for a deposit wallet.
    pub wallet: Option<Address>,
    /// The gas limit a proxy-wallet request signs.
    pub proxy_gas_limit: u64,
    /// A deposit-wallet batch is void this long after it is signed.
    pub deadline_s: u64,
    pub timeout_ms: u64,
    pub poll_interval_ms: u64,
    pub max_polls: u32,
    pub contracts: RelayerContracts,
}

impl Default for RelayerConfig {
    fn default() -> Self {
        Self {
            url: "https://relayer-v2.polymarket.com".to_string(),
            auth_file: None,
            wallet: None,
            proxy_gas_limit: 10_000_000,
            deadline_s: 600,
            timeout_ms: 10_000,
            poll_interval_ms: 2_000,
            max_polls: 100,
            contracts: RelayerContracts::default(),
        }
    }
}

impl Default for ChainConfig {
    fn default() -> Self {
        Self {
            rpc_url: "https://polygon-rpc.com".to_string(),
            chain_id: POLYGON,
            key_file: None,
            journal: PathBuf::from("chain-journal.sqlite"),
            route: Route::Adapter,
            rpc_timeout_ms: 10_000,
            account: AccountType::Eoa,
            relayer: RelayerConfig::default(),
            gas: GasConfig::default(),
            contracts: Contracts::default(),
            recycle: Default::default(),
        }
    }
}

/// How binary split/merge/redeem reach ConditionalTokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Route {
    Adapter,
    Direct,
}

/// `[chain.gas]`: fees are wei, exact integers.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GasConfig {
    /// No transaction is sent with a gas limit above this.
    pub gas_limit_cap: u64,
    /// Added to `eth_estimateGas`'s answer, in percent.
    pub gas_limit_margin_pct: u32,
    /// No transaction (or replacement) offers more than this per gas.
    pub max_fee_per_gas_cap: u64,
    /// The tip never goes below this (Polygon's validators ignore lower tips).
    pub min_priority_fee: u64,
    /// Nor above this.
    pub priority_fee_cap: u64,
    /// A stuck transaction is replaced with both fees raised by this percentage (nodes require
    /// at least 10).
    pub fee_bump_pct: u32,
    /// Without a receipt for this long a transaction is stuck (0 = never replace).
    pub stuck_after_ms: u64,
    /// Give up waiting for a receipt after this long (the journal keeps the transaction).
    pub receipt_timeout_ms: u64,
    pub poll_interval_ms: u64,
}

impl Default for GasConfig {
    fn default() -> Self {
        Self {
            gas_limit_cap: 1_000_000,
            gas_limit_margin_pct: 20,
            max_fee_per_gas_cap: 1_000_000_000_000,
            min_priority_fee: 30_000_000_000,
            priority_fee_cap: 200_000_000_000,
            fee_bump_pct: 25,
            stuck_after_ms: 60_000,
            receipt_timeout_ms: 300_000,
            poll_interval_ms: 1_000,
        }
    }
}

/// `[chain.contracts]`: Polygon mainnet's addresses after the CLOB V2 cutover by default.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Contracts {
    /// ConditionalTokens (Gnosis CTF).
    pub ctf: Address,
    /// pUSD, the CLOB V2 collateral.
    pub pusd: Address,
    /// USDC.e: the collateral binary position ids are keyed to.
    pub usdce: Address,
    /// The NegRiskAdapter's WrappedCollateral: what neg-risk position ids are keyed to.
    pub wcol: Address,
    /// The NegRiskAdapter: the oracle of every neg-risk condition.
    pub neg_risk_adapter: Address,
    /// CtfCollateralAdapter: binary split/merge/redeem in pUSD.
    pub collateral_adapter: Address,
    /// NegRiskCtfCollateralAdapter: neg-risk split/merge/redeem/convert in pUSD.
    pub neg_risk_collateral_adapter: Address,
    /// CollateralOnramp: USDC.e → pUSD (`wrap`).
    pub onramp: Address,
    /// CollateralOfframp: pUSD → USDC.e (`unwrap`).
    pub offramp: Address,
    /// CTF Exchange V2.
    pub exchange: Address,
    /// NegRisk CTF Exchange V2.
    pub neg_risk_exchange: Address,
}

impl Default for Contracts {
    fn default() -> Self {
        Self {
            ctf: address!("0x4D97DCd97eC945f40cF65F87097ACe5EA0476045"),
            pusd: address!("0xC011a7E12a19f7B1f670d46F03B03f3342E82DFB"),
            usdce: address!("0x2791Bca1f2de4661ED88A30C99A7a9449Aa84174"),
            wcol: address!("0x3A3BD7bb9528E159577F7C2e685CC81A765002E2"),
            neg_risk_adapter: address!("0xd91E80cF2E7be2e162c6513ceD06f1dD0dA35296"),
            collateral_adapter: address!("0xAdA100Db00Ca00073811820692005400218FcE1f"),
            neg_risk_collateral_adapter: address!("0xadA2005600Dec949baf300f4C6120000bDB6eAab"),
            onramp: address!("0x93070a847efEf7F70739046A929D47a521F5B8ee"),
            offramp: address!("0x2957922Eb93258b93368531d39fAcCA3B4dC5854"),
            exchange: address!("0xE111180000d2663C0091e4f400237545B87B996B"),
            neg_risk_exchange: address!("0xe2222d279d744050d28e00520010520000310F59"),
        }
    }
}

/// A file holding a `[chain]` section (other sections are left to the commands that own them).
#[derive(Debug, Deserialize)]
pub struct ChainFile {
    #[serde(default)]
    pub chain: ChainConfig,
}

/// Polymarket's Safe factory ("Polymarket Contract Proxy Factory").
pub const SAFE_FACTORY: Address = address!("0xaacFeEa03eb1561C4e67d661e40682Bd20E3541b");
/// Safe's MultiSend.
pub const SAFE_MULTISEND: Address = address!("0xA238CBeb142c10Ef7Ad8442C6D1f9E89e07e7761");
/// The proxy-wallet factory: every proxy request goes to it.
pub const PROXY_FACTORY: Address = address!("0xaB45c5A4B0c941a2F231C04C3f49182e1A254052");
/// The GSN RelayHub of proxy wallets.
pub const RELAY_HUB: Address = address!("0xD216153c06E857cD7f72665E0aF1d7D82172F494");
/// The deposit-wallet factory: every deposit-wallet request goes to it.
pub const DEPOSIT_WALLET_FACTORY: Address = address!("0x00000000000Fb5C9ADea0298D729A0CB3823Cc07");

/// Which kind of account holds the funds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AccountType {
    /// The key's own address sends its transactions and pays gas.
    #[default]
    Eoa,
    /// A Gnosis Safe owned by the key, through the relayer.
    Safe,
    /// A Polymarket proxy wallet owned by the key, through the relayer.
    Proxy,
    /// A deposit wallet owned by the key, through the relayer.
    DepositWallet,
}

impl AccountType {
    /// The relayer's `type` for this account (`None`: an EOA does not use the relayer).
    pub fn relayer_type(self) -> Option<&'static str> {
        match self {
            AccountType::Eoa => None,
            AccountType::Safe => Some("SAFE"),
            AccountType::Proxy => Some("PROXY"),
            AccountType::DepositWallet => Some("WALLET"),
        }
    }

    pub fn from_relayer_type(s: &str) -> Option<Self> {
        match s {
            "SAFE" => Some(AccountType::Safe),
            "PROXY" => Some(AccountType::Proxy),
            "WALLET" => Some(AccountType::DepositWallet),
            _ => None,
        }
    }
}

/// The relayer's contracts (Polygon's by default).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RelayerContracts {
    pub safe_factory: Address,
    pub safe_multisend: Address,
    pub proxy_factory: Address,
    pub relay_hub: Address,
    pub deposit_wallet_factory: Address,
}

impl Default for RelayerContracts {
    fn default() -> Self {
        Self {
            safe_factory: SAFE_FACTORY,
            safe_multisend: SAFE_MULTISEND,
            proxy_factory: PROXY_FACTORY,
            relay_hub: RELAY_HUB,
            deposit_wallet_factory: DEPOSIT_WALLET_FACTORY,
        }
    }
}

/// `[chain.recycle]`: whether and when complete sets are turned back into pUSD.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct RecycleConfig {
    /// Recycle at all (live trading only).
    pub enabled: bool,
    /// Fewest sets (micro-shares) of one batch.
    pub min_sets: u64,
    /// Most gas a batch may spend per pUSD it frees.
    pub max_gas_per_pusd: u64,
    /// The gas one merge or convert is counted at.
    pub gas_per_call: u64,
    /// How often the recycler looks at what is pending.
    pub flush_ms: u64,
    /// Failed sends of a batch in a row before its sets are given up (held as tokens).
    pub max_attempts: u32,
    /// SQLite file of the batches (relative to the config file); absent: beside the order
    /// journal as `<journal>.recycle`.
    pub journal: Option<std::path::PathBuf>,
}

impl Default for RecycleConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            min_sets: 5_000_000,
            max_gas_per_pusd: 50_000,
            gas_per_call: 150_000,
            flush_ms: 500,
            max_attempts: 5,
            journal: None,
        }
    }
}
