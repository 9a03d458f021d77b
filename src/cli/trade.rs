//! `polyarb order place|cancel|list`: an operator's hand on a CLOB (the local venue or a live
//! endpoint) through the same client, signer and order manager the engine uses.
//!
//! A TOML file names the endpoint and the files holding the secrets (never the secrets):
//! ```toml
//! [clob]
//! url = "http://127.0.0.1:8080"
//! key_file = "key.hex"        # 0x + 64 hex; relative paths are relative to this file
//! creds_file = "creds.json"   # optional: absent = create or derive the API key (L1)
//! journal_db = "orders.db"    # optional: journal orders, fills, positions in SQLite first
//! chain_id = 137
//! signature_type = 3          # 3 POLY_1271 deposit wallet (default), 0 EOA, 1 POLY_PROXY, 2 POLY_GNOSIS_SAFE
//! funder = "0x..."            # the deposit wallet (type 3), proxy (1) or Safe (2); type 0: none
//! timeout_ms = 5000
//! ```
//! `place` reads the token's tick size, minimum size and neg-risk flag from `GET /book`, signs,
//! journals and sends through the order manager, and prints what became of the order.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use serde::Deserialize;

use polyarb::adapters::polymarket::http::clob::{
    ClobClient, ClobConfig, Filter, create_or_derive_api_key,
};
use polyarb::adapters::polymarket::signing::{
    ApiCredentials, MarketRules, OrderRequest, OrderSide, OrderType, PrivateKey,
};
use polyarb::config::{load_toml, resolve_relative};
use polyarb::core::{Price, Size, TickSize, TokenId};
use polyarb::exec::journal::{MemoryJournal, OrderJournal};
use polyarb::exec::journal_db::StorageJournal;
use polyarb::exec::manager::{ExecConfig, NewOrder, OrderManager, SubmitOutcome};
use polyarb::exec::order::OrderState;
use polyarb::exec::settings::AccountSettings;
use polyarb::storage::{StorageConfig, WriterHandle};

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct TradeFile {
    clob: ClobSection,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct ClobSection {
    url: String,
    key_file: PathBuf,
    #[serde(default)]
    creds_file: Option<PathBuf>,
    #[serde(default)]
    journal_db: Option<PathBuf>,
    #[serde(default = "chain")]
    chain_id: u64,
    #[serde(default = "signature_type")]
    signature_type: u8,
    #[serde(default)]
    funder: Option<String>,
    #[serde(default = "timeout")]
    timeout_ms: u64,
}

fn chain() -> u64 {
    137
}

fn timeout() -> u64 {
    5_000
}

fn signature_type() -> u8 {
    polyarb::exec::settings::DEFAULT_SIGNATURE_TYPE
}

#[derive(Args, Debug)]
pub struct ConfigArg {
    /// TOML file with a `[clob]` section (url, key_file, creds_file, ...).
    #[arg(long)]
    config: PathBuf,
}

#[derive(Args, Debug)]
pub struct PlaceArgs {
    #[command(flatten)]
    cfg: ConfigArg,
    /// Outcome token id (decimal uint256).
    #[arg(long)]
    token_id: String,
    /// BUY or SELL.
    #[arg(long)]
    side: OrderSide,
    /// Limit price, e.g. 0.52.
    #[arg(long)]
    price: String,
    /// Shares, e.g. 10 or 12.5.
    #[arg(long)]
    size: String,
    /// GTC, GTD, FOK or FAK.
    #[arg(long, default_value = "GTC")]
    order_type: OrderType,
    /// Idempotency: the same plan id and client id are never sent twice (with a journal).
    #[arg(long)]
    plan_id: Option<u64>,
    #[arg(long, default_value_t = 1)]
    client_oid: u64,
}

#[derive(Args, Debug)]
pub struct CancelArgs {
    #[command(flatten)]
    cfg: ConfigArg,
    /// The order id (0x + 64 hex) to cancel.
    #[arg(long, required_unless_present = "all")]
    order_id: Option<String>,
    /// Cancel every open order of the key.
    #[arg(long)]
    all: bool,
}

#[derive(Args, Debug)]
pub struct ListArgs {
    #[command(flatten)]
    cfg: ConfigArg,
    /// List the key's trades instead of its open orders.
    #[arg(long)]
    trades: bool,
    /// List the positions journaled in `clob.journal_db` (shares, cost basis, realized PnL
    /// net of fees, fees paid) instead of the venue's open orders.
    #[arg(long, conflicts_with = "trades")]
    positions: bool,
}

/// Micro-units as a signed decimal with 6 places.
fn micros(v: i64) -> String {
    let sign = if v < 0 { "-" } else { "" };
    let a = v.unsigned_abs();
    format!("{sign}{}.{:06}", a / 1_000_000, a % 1_000_000)
}

/// The client and, if configured, the database journal (with its writer, kept alive).
struct Session {
    client: Arc<ClobClient>,
    journal: Option<(WriterHandle, StorageJournal)>,
}

fn connect(config: &Path) -> anyhow::Result<Session> {
    let f: TradeFile = load_toml(config)?;
    let c = f.clob;
    let account = AccountSettings::parse(config, "clob", c.signature_type, c.funder.as_deref())?;
    let key_path = resolve_relative(config, &c.key_file);
    let key = PrivateKey::from_file(&key_path)
        .with_context(|| format!("clob.key_file {}", key_path.display()))?;
    account.check_key(config, "clob", key.address())?;
    let timeout = Duration::from_millis(c.timeout_ms);
    let creds = match &c.creds_file {
        Some(p) => {
            let p = resolve_relative(config, p);
            ApiCredentials::from_file(&p)
                .with_context(|| format!("clob.creds_file {}", p.display()))?
        }
        None => create_or_derive_api_key(&c.url, &key, c.chain_id, 0, timeout)
            .context("creating or deriving the API key (L1)")?,
    };
    let mut cc = ClobConfig::new(&c.url);
    cc.chain_id = c.chain_id;
    cc.timeout = timeout;
    cc.signature_type = account.signature_type;
    cc.funder = account.funder;
    let client = Arc::new(ClobClient::connect(cc, key, creds).context("CLOB client")?);
    client
        .prepare_account()
        .context("GET /balance-allowance/update for the deposit wallet")?;
    let journal = match &c.journal_db {
        Some(p) => {
            let sc = StorageConfig {
                path: resolve_relative(config, p),
                ..StorageConfig::default()
            };
            let (writer, tx) = WriterHandle::spawn(&sc).context("clob.journal_db")?;
            let j = StorageJournal::open(tx, &sc.path, Duration::from_secs(5))
                .context("clob.journal_db")?;
            Some((writer, j))
        }
        None => None,
    };
    Ok(Session { client, journal })
}

/// The token's trading rules as the venue publishes them on `GET /book`.
pub fn rules(url: &str, token: &TokenId, timeout: Duration) -> anyhow::Result<MarketRules> {
    #[derive(Deserialize)]
    struct Book {
        tick_size: String,
        min_order_size: String,
        #[serde(default)]
        neg_risk: bool,
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .build()
        .into();
    let b: Book = agent
        .get(format!(
            "{}/book?token_id={token}",
            url.trim_end_matches('/')
        ))
        .call()
        .context("GET /book")?
        .body_mut()
        .read_json()
        .context("GET /book answer")?;
    Ok(MarketRules {
        tick_size: TickSize::parse(&b.tick_size)
            .map_err(|e| anyhow::anyhow!("tick_size {:?}: {e}", b.tick_size))?,
        min_order_size: Size::parse(&b.min_order_size)
            .map_err(|e| anyhow::anyhow!("min_order_size {:?}: {e}", b.min_order_size))?,
        neg_risk: b.neg_risk,
    })
}

fn place_with<J: OrderJournal>(
    client: Arc<ClobClient>,
    journal: J,
    order: NewOrder,
) -> anyhow::Result<()> {
    let mut mgr = OrderManager::new(client, journal, ExecConfig::default());
    let r = mgr.submit(std::slice::from_ref(&order));
    let Some(r) = r.into_iter().next() else {
        bail!("nothing submitted");
    };
    let tracked = r.order_id.as_deref().and_then(|id| mgr.order(id));
    let out = serde_json::json!({
        "plan_id": order.plan_id,
        "client_oid": order.client_oid,
        "order_id": r.order_id,
        "outcome": match &r.outcome {
            SubmitOutcome::Rejected(e) => format!("Rejected: {e}"),
            other => format!("{other:?}"),
        },
        "matched": tracked.map(|t| t.filled.to_string()),
        "size": tracked.map(|t| t.size.to_string()),
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    match r.outcome {
        SubmitOutcome::Rejected(_) => bail!("the order was refused"),
        SubmitOutcome::Unknown => bail!("the order's outcome is unknown: list or reconcile"),
        _ => Ok(()),
    }
}

pub fn place(a: PlaceArgs) -> anyhow::Result<()> {
    let s = connect(&a.cfg.config)?;
    let token = TokenId::parse(&a.token_id).map_err(|e| anyhow::anyhow!("--token-id: {e}"))?;
    let price = Price::parse(&a.price).map_err(|e| anyhow::anyhow!("--price: {e}"))?;
    let size = Size::parse(&a.size).map_err(|e| anyhow::anyhow!("--size: {e}"))?;
    let rules = rules(
        &s.client.config().base_url,
        &token,
        s.client.config().timeout,
    )?;
    let mut request = OrderRequest::limit(token, a.side, price, size);
    request.order_type = a.order_type;
    let order = NewOrder {
        plan_id: a.plan_id.unwrap_or_else(polyarb::obs::clock::unix_ms),
        client_oid: a.client_oid,
        request,
        rules,
        // `GET /book` carries no fee schedule: taker fills of a one-off order are stored with
        // fee 0 and counted in `fees_unknown`.
        fees: None,
    };
    match s.journal {
        Some((writer, j)) => {
            place_with(s.client, j, order)?;
            writer.flush(Duration::from_secs(5))?;
            writer.shutdown()?;
            Ok(())
        }
        None => place_with(s.client, MemoryJournal::new(), order),
    }
}

pub fn cancel(a: CancelArgs) -> anyhow::Result<()> {
    let s = connect(&a.cfg.config)?;
    let r = if a.all {
        s.client.cancel_all()?
    } else {
        s.client.cancel(a.order_id.as_deref().unwrap_or_default())?
    };
    let out = serde_json::json!({ "canceled": r.canceled, "not_canceled": r.not_canceled });
    println!("{}", serde_json::to_string_pretty(&out)?);
    // With a journal, canceled orders it knows are recorded as such (with what had matched).
    if let Some((writer, mut j)) = s.journal {
        for id in &r.canceled {
            let matched = s
                .client
                .order(id)
                .ok()
                .flatten()
                .and_then(|o| o.matched_micros())
                .unwrap_or(0);
            // An order placed without this journal is not in it: nothing to record.
            let _ = j.record_outcome(id, OrderState::Canceled, Size(matched));
        }
        writer.flush(Duration::from_secs(5))?;
        writer.shutdown()?;
    }
    Ok(())
}

pub fn list(a: ListArgs) -> anyhow::Result<()> {
    let s = connect(&a.cfg.config)?;
    if a.positions {
        let Some((_, j)) = &s.journal else {
            anyhow::bail!("--positions needs `clob.journal_db` in the config");
        };
        println!("token_id shares cost realized_pnl fees");
        for p in j.positions()? {
            println!(
                "{} {} {} {} {}",
                p.token_id,
                micros(p.size),
                micros(p.cost),
                micros(p.realized_pnl),
                micros(p.fees)
            );
        }
        return Ok(());
    }
    if a.trades {
        for t in s.client.trades(&Filter::default())? {
            println!(
                "{} {} {} {} @ {} {} ({})",
                t.id, t.trader_side, t.side, t.size, t.price, t.outcome, t.status
            );
        }
    } else {
        for o in s.client.open_orders(&Filter::default())? {
            println!(
                "{} {} {} {} @ {} matched {} {}",
                o.id, o.status, o.side, o.original_size, o.price, o.size_matched, o.order_type
            );
        }
    }
    Ok(())
}
