//! `polyarb chain balances|approve|resume` and `polyarb ctf split|merge|redeem|convert`: the
//! account's on-chain state and settlement transactions, from a TOML file's `[chain]` section.
//! Every command prints each transaction it sends (or, with `--dry-run`, would send). With
//! `[chain] account` a Safe, proxy or deposit wallet, the calls of a command go to the relayer
//! as one signed request instead, which is printed the same way.

use std::path::{Path, PathBuf};
use std::time::Duration;

use alloy_primitives::{Address, B256, U256};
use anyhow::{Context, bail};
use clap::{Args, Subcommand};

use polyarb::adapters::polymarket::signing::PrivateKey;
use polyarb::chain::config::ChainFile;
use polyarb::chain::{ChainClient, ChainConfig, Eip1559Tx, Rpc, TxCall};
use polyarb::config::{load_toml, resolve_relative};
use polyarb::core::decimal::{format_micros, parse_micros};
use polyarb::settlement::account::{
    balance_of_batch, erc20_balance, payout_denominator, required_approvals,
};
use polyarb::settlement::relayer::{self, AccountType, RequestContext, WalletCall};
use polyarb::settlement::{MarketKind, Settlement};
use polyarb::settlement::{RelayerAuth, RelayerClient};

#[derive(Args, Debug, Clone)]
pub struct ChainOpts {
    /// TOML file with a `[chain]` section (rpc_url, chain_id, key_file, journal, gas, contracts).
    #[arg(long)]
    config: PathBuf,
}

#[derive(Subcommand, Debug)]
pub enum ChainCommand {
    /// pUSD, USDC.e and POL of the account, and YES/NO balances of --condition (balanceOfBatch).
    Balances(BalancesArgs),
    /// Grant the approvals a fresh account needs (only those not granted yet).
    Approve(SendArgs),
    /// Look up every journaled transaction still open and wait for it (after a restart).
    Resume(ChainOpts),
    /// USDC.e → pUSD through the CollateralOnramp.
    Wrap(RampArgs),
    /// pUSD → USDC.e through the CollateralOfframp.
    Unwrap(RampArgs),
}

#[derive(Args, Debug)]
pub struct RampArgs {
    #[command(flatten)]
    send: SendArgs,
    /// Units of 1 USDC.e / 1 pUSD, e.g. 100 or 12.5; up to 6 decimals.
    #[arg(long)]
    amount: String,
}

#[derive(Args, Debug)]
pub struct BalancesArgs {
    #[command(flatten)]
    opts: ChainOpts,
    /// Whose balances (default: the address of `key_file`).
    #[arg(long)]
    address: Option<String>,
    /// A condition id (0x + 64 hex) whose YES and NO balances to read; repeatable.
    #[arg(long)]
    condition: Vec<String>,
    /// The conditions are neg-risk (ids keyed to the wrapped collateral).
    #[arg(long)]
    neg_risk: bool,
}

#[derive(Args, Debug)]
pub struct SendArgs {
    #[command(flatten)]
    opts: ChainOpts,
    /// Print the transactions without sending them.
    #[arg(long)]
    dry_run: bool,
}

#[derive(Subcommand, Debug)]
pub enum CtfCommand {
    /// pUSD (USDC.e on the direct route) → --amount YES + --amount NO.
    Split(CtfArgs),
    /// --amount YES + --amount NO → pUSD (USDC.e on the direct route).
    Merge(CtfArgs),
    /// The whole YES and NO balance of a resolved condition → collateral (no --amount).
    Redeem(CtfArgs),
    /// Neg-risk: --amount NO of each question in --index-set → YES of the others + pUSD.
    Convert(ConvertArgs),
}

#[derive(Args, Debug)]
pub struct CtfArgs {
    #[command(flatten)]
    send: SendArgs,
    /// The condition id, 0x + 64 hex.
    #[arg(long)]
    condition: String,
    /// Shares (= pUSD), e.g. 100 or 12.5; up to 6 decimals.
    #[arg(long)]
    amount: Option<String>,
    /// The market is neg-risk: go through NegRiskCtfCollateralAdapter.
    #[arg(long)]
    neg_risk: bool,
}

#[derive(Args, Debug)]
pub struct ConvertArgs {
    #[command(flatten)]
    send: SendArgs,
    /// The neg-risk market id (Gamma's negRiskMarketID), 0x + 64 hex.
    #[arg(long)]
    market: String,
    /// Bit i set = give up the NO of question i (decimal or 0x hex).
    #[arg(long)]
    index_set: String,
    /// Shares of each NO given up.
    #[arg(long)]
    amount: String,
}

/// The `[chain]` section with its relative paths resolved against the file.
fn load(path: &Path) -> anyhow::Result<ChainConfig> {
    let mut cfg = load_toml::<ChainFile>(path)?.chain;
    cfg.journal = resolve_relative(path, &cfg.journal);
    cfg.key_file = cfg.key_file.map(|k| resolve_relative(path, &k));
    cfg.relayer.auth_file = cfg.relayer.auth_file.map(|a| resolve_relative(path, &a));
    Ok(cfg)
}

fn rpc(cfg: &ChainConfig) -> Rpc {
    Rpc::new(&cfg.rpc_url, Duration::from_millis(cfg.rpc_timeout_ms))
}

/// The sending client; transactions a previous run left open in the journal are finished
/// first, so a new one never queues behind a nonce nobody will fill.
fn client(cfg: &ChainConfig) -> anyhow::Result<ChainClient> {
    let mut c = open_client(cfg)?;
    for r in c.resume()? {
        print_resumed(r);
    }
    Ok(c)
}

fn open_client(cfg: &ChainConfig) -> anyhow::Result<ChainClient> {
    let key = key_of(cfg)?;
    let c = ChainClient::open(rpc(cfg), key, &cfg.journal, cfg.chain_id, cfg.gas.clone())?;
    Ok(c)
}

fn print_resumed(r: Result<polyarb::chain::Mined, polyarb::chain::ChainError>) {
    match r {
        Ok(m) => println!(
            "journaled {}: nonce {} mined in block {} ({})",
            m.receipt.transaction_hash, m.nonce, m.receipt.block_number, m.label
        ),
        Err(e) => println!("journaled transaction: {e}"),
    }
}

fn amount(s: &str) -> anyhow::Result<U256> {
    let micros = parse_micros(s.as_bytes())
        .map_err(|e| anyhow::anyhow!("--amount {s}: {e:?} (shares with up to 6 decimals)"))?;
    if micros == 0 {
        bail!("--amount must be above 0");
    }
    Ok(U256::from(micros))
}

fn shares(v: U256) -> String {
    match u64::try_from(v) {
        Ok(m) => format_micros(m),
        Err(_) => format!("{v} (base units)"),
    }
}

fn print_tx(from: Address, label: &str, tx: &Eip1559Tx) {
    println!("transaction: {label}");
    println!("  from      {from}");
    println!("  to        {}", tx.to);
    println!("  chain     {}  nonce {}", tx.chain_id, tx.nonce);
    println!(
        "  gas       limit {}  max fee {} wei  tip {} wei",
        tx.gas_limit, tx.max_fee_per_gas, tx.max_priority_fee_per_gas
    );
    println!("  data      {}", tx.input);
}

/// Who sends a command's calls: the EOA itself, or the relayer for the key's wallet.
enum Sender {
    Eoa(Box<ChainClient>),
    Relayed(Box<Relayed>),
}

struct Relayed {
    key: PrivateKey,
    owner: Address,
    wallet: Address,
    cfg: ChainConfig,
    client: RelayerClient,
}

/// The wallet an account's calls run from: configured, or derived from its owner.
fn wallet_of(cfg: &ChainConfig, owner: Address) -> anyhow::Result<Address> {
    if let Some(w) = cfg.relayer.wallet {
        return Ok(w);
    }
    let c = &cfg.relayer.contracts;
    match cfg.account {
        AccountType::Eoa => Ok(owner),
        AccountType::Safe => Ok(relayer::safe_address(c.safe_factory, owner)),
        AccountType::Proxy => Ok(relayer::proxy_address(c.proxy_factory, owner)),
        AccountType::DepositWallet => {
            bail!("[chain.relayer] wallet is needed for a deposit-wallet account")
        }
    }
}

fn key_of(cfg: &ChainConfig) -> anyhow::Result<PrivateKey> {
    let key_file = cfg
        .key_file
        .as_deref()
        .context("[chain] key_file is needed to send transactions")?;
    Ok(PrivateKey::from_file(key_file)?)
}

fn sender(cfg: &ChainConfig) -> anyhow::Result<Sender> {
    if cfg.account == AccountType::Eoa {
        return Ok(Sender::Eoa(Box::new(client(cfg)?)));
    }
    let key = key_of(cfg)?;
    let owner = Address::from(key.address().0);
    let wallet = wallet_of(cfg, owner)?;
    let auth = match &cfg.relayer.auth_file {
        Some(p) => Some(RelayerAuth::from_file(p)?),
        None => None,
    };
    let r = &cfg.relayer;
    let client = RelayerClient::new(
        &r.url,
        auth,
        Duration::from_millis(r.timeout_ms),
        Duration::from_millis(r.poll_interval_ms),
        r.max_polls,
    );
    Ok(Sender::Relayed(Box::new(Relayed {
        key,
        owner,
        wallet,
        cfg: cfg.clone(),
        client,
    })))
}

impl Sender {
    /// The account that holds the funds and receives what the calls pay.
    fn account(&self) -> Address {
        match self {
            Sender::Eoa(c) => c.address(),
            Sender::Relayed(r) => r.wallet,
        }
    }

    fn send(&mut self, calls: &[TxCall], dry_run: bool) -> anyhow::Result<()> {
        match self {
            Sender::Eoa(c) => send_all(c, calls, dry_run),
            Sender::Relayed(r) => r.send(calls, dry_run),
        }
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Relayed {
    /// Prints the signed request for all `calls` and (unless `dry_run`) submits it and waits
    /// until the relayer reports it mined or failed.
    fn send(&mut self, calls: &[TxCall], dry_run: bool) -> anyhow::Result<()> {
        let account = self.cfg.account;
        let n = self.client.nonce(self.owner, account)?;
        let ctx = RequestContext {
            account,
            chain_id: self.cfg.chain_id,
            wallet: self.wallet,
            contracts: self.cfg.relayer.contracts.clone(),
            nonce: n.nonce,
            relay: n.relay,
            proxy_gas_limit: self.cfg.relayer.proxy_gas_limit,
            deadline: unix_now() + self.cfg.relayer.deadline_s,
            metadata: String::new(),
        };
        let wcalls: Vec<WalletCall> = calls.iter().map(WalletCall::from).collect();
        let req = relayer::build(&self.key, &ctx, &wcalls)?;
        println!(
            "relayer request ({}) from {} for wallet {}:",
            req.kind, self.owner, self.wallet
        );
        for c in calls {
            println!("  call      {}  to {}", c.label, c.to);
        }
        println!("{}", serde_json::to_string_pretty(&req)?);
        if dry_run {
            println!("  (dry run: not sent)");
            return Ok(());
        }
        let sub = self.client.submit(&req)?;
        println!("  submitted transaction {} ({})", sub.id, sub.state);
        let done = self.client.wait(&sub.id)?;
        println!(
            "  {}  transaction hash {}",
            done.state,
            done.hash.as_deref().unwrap_or("none")
        );
        Ok(())
    }
}

/// Prints and (unless `dry_run`) sends each call in turn, waiting for each receipt.
fn send_all(c: &mut ChainClient, calls: &[TxCall], dry_run: bool) -> anyhow::Result<()> {
    for call in calls {
        let tx = c.prepare(call)?;
        print_tx(c.address(), &call.label, &tx);
        if dry_run {
            println!("  (dry run: not sent)");
            continue;
        }
        let signed = c.sign_and_journal(&call.label, &tx)?;
        println!("  hash      {}", signed.hash);
        c.send_signed(&signed)?;
        let mined = c.wait(signed.hash)?;
        println!(
            "  mined     block {}  gas used {}",
            mined.receipt.block_number, mined.receipt.gas_used
        );
    }
    Ok(())
}

pub fn run_chain(cmd: ChainCommand) -> anyhow::Result<()> {
    match cmd {
        ChainCommand::Balances(a) => balances(a),
        ChainCommand::Approve(a) => approve(a),
        ChainCommand::Resume(o) => {
            let cfg = load(&o.config)?;
            let mut c = open_client(&cfg)?;
            let results = c.resume()?;
            if results.is_empty() {
                println!("no open transaction in {}", cfg.journal.display());
            }
            results.into_iter().for_each(print_resumed);
            Ok(())
        }
        ChainCommand::Wrap(a) => ramp(a, true),
        ChainCommand::Unwrap(a) => ramp(a, false),
    }
}

fn balances(a: BalancesArgs) -> anyhow::Result<()> {
    let cfg = load(&a.opts.config)?;
    let owner: Address = match &a.address {
        Some(s) => s.parse().with_context(|| format!("--address {s}"))?,
        None => {
            let key_file = cfg
                .key_file
                .as_deref()
                .context("give --address or set [chain] key_file")?;
            let owner = Address::from(PrivateKey::from_file(key_file)?.address().0);
            wallet_of(&cfg, owner)?
        }
    };
    let mut rpc = rpc(&cfg);
    let got = rpc.chain_id()?;
    if got != cfg.chain_id {
        bail!(
            "the node at {} is chain {got}, the config says {}",
            cfg.rpc_url,
            cfg.chain_id
        );
    }
    let k = &cfg.contracts;
    println!("account {owner} on chain {got}");
    println!("  POL     {} wei", rpc.balance(owner)?);
    println!(
        "  pUSD    {}",
        shares(erc20_balance(&mut rpc, k.pusd, owner)?)
    );
    println!(
        "  USDC.e  {}",
        shares(erc20_balance(&mut rpc, k.usdce, owner)?)
    );
    let s = Settlement::new(cfg.contracts.clone(), cfg.route);
    let kind = if a.neg_risk {
        MarketKind::NegRisk
    } else {
        MarketKind::Binary
    };
    for c in &a.condition {
        let cid: B256 = c.parse().with_context(|| format!("--condition {c}"))?;
        let ids = s.position_ids(kind, cid);
        let bal = balance_of_batch(&mut rpc, k.ctf, owner, &ids)?;
        let resolved = !payout_denominator(&mut rpc, k.ctf, cid)?.is_zero();
        println!(
            "  condition {cid}{}",
            if resolved { " (resolved)" } else { "" }
        );
        for ((side, id), b) in ["YES", "NO"].iter().zip(ids).zip(bal) {
            println!("    {side:<3} {}  token {id}", shares(b));
        }
    }
    Ok(())
}

fn ramp(a: RampArgs, wrap: bool) -> anyhow::Result<()> {
    let cfg = load(&a.send.opts.config)?;
    let mut c = sender(&cfg)?;
    let s = Settlement::new(cfg.contracts.clone(), cfg.route);
    let me = c.account();
    let amt = amount(&a.amount)?;
    let call = if wrap {
        s.wrap(me, amt)
    } else {
        s.unwrap(me, amt)
    };
    c.send(&[call], a.send.dry_run)
}

fn approve(a: SendArgs) -> anyhow::Result<()> {
    let cfg = load(&a.opts.config)?;
    let mut c = sender(&cfg)?;
    let s = Settlement::new(cfg.contracts.clone(), cfg.route);
    let owner = c.account();
    let mut reads = rpc(&cfg);
    let mut missing = Vec::new();
    for ap in required_approvals(&s) {
        let granted = ap.granted(&mut reads, owner)?;
        println!(
            "{:<9} {} {} → {} ({})",
            if granted { "granted" } else { "missing" },
            if ap.erc1155 {
                "setApprovalForAll"
            } else {
                "approve"
            },
            ap.token,
            ap.spender,
            ap.what
        );
        if !granted {
            missing.push(ap.call());
        }
    }
    if missing.is_empty() {
        println!("every approval is granted: nothing to send");
        return Ok(());
    }
    c.send(&missing, a.dry_run)
}

pub fn run_ctf(cmd: CtfCommand) -> anyhow::Result<()> {
    let (send, call) = match cmd {
        CtfCommand::Convert(a) => {
            let cfg = load(&a.send.opts.config)?;
            let market: B256 = a
                .market
                .parse()
                .with_context(|| format!("--market {}", a.market))?;
            let index_set = parse_u256(&a.index_set).context("--index-set")?;
            let s = Settlement::new(cfg.contracts.clone(), cfg.route);
            (a.send, s.convert(market, index_set, amount(&a.amount)?))
        }
        CtfCommand::Split(a) => ctf_call(a, Op::Split)?,
        CtfCommand::Merge(a) => ctf_call(a, Op::Merge)?,
        CtfCommand::Redeem(a) => ctf_call(a, Op::Redeem)?,
    };
    let cfg = load(&send.opts.config)?;
    let mut c = sender(&cfg)?;
    c.send(&[call], send.dry_run)
}

enum Op {
    Split,
    Merge,
    Redeem,
}

fn ctf_call(a: CtfArgs, op: Op) -> anyhow::Result<(SendArgs, TxCall)> {
    let cfg = load(&a.send.opts.config)?;
    let cid: B256 = a
        .condition
        .parse()
        .with_context(|| format!("--condition {}", a.condition))?;
    let kind = if a.neg_risk {
        MarketKind::NegRisk
    } else {
        MarketKind::Binary
    };
    let s = Settlement::new(cfg.contracts.clone(), cfg.route);
    let call = match op {
        Op::Redeem => {
            if a.amount.is_some() {
                bail!("redeem takes the whole balance: no --amount");
            }
            s.redeem(kind, cid)
        }
        Op::Split | Op::Merge => {
            let amt = amount(a.amount.as_deref().context("--amount is required")?)?;
            if matches!(op, Op::Split) {
                s.split(kind, cid, amt)
            } else {
                s.merge(kind, cid, amt)
            }
        }
    };
    Ok((a.send, call))
}

fn parse_u256(s: &str) -> anyhow::Result<U256> {
    let v = match s.strip_prefix("0x") {
        Some(h) => U256::from_str_radix(h, 16)?,
        None => U256::from_str_radix(s, 10)?,
    };
    Ok(v)
}
