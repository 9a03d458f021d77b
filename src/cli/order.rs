//! `polyarb order sign` and `polyarb order headers`: print exactly what would be sent to the
//! CLOB (the `POST /order` body, the L2 headers), for operators and for cross-checking against
//! the official Python client. Nothing is sent.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};

use polyarb::adapters::polymarket::signing::signer::random_salt;
use polyarb::adapters::polymarket::signing::{
    Address, ApiCredentials, Bytes32, L2Signer, MarketRules, OrderAmounts, OrderRequest, OrderSide,
    OrderSigner, OrderType, PostOrder, PrivateKey, ProtocolVersion, Quantity, SignatureType,
};
use polyarb::core::decimal::parse_micros;
use polyarb::core::{Price, Size, TickSize, TokenId};
use polyarb::obs::clock::unix_ms;

#[derive(Subcommand, Debug)]
pub enum OrderCommand {
    /// Build and sign an order; print the JSON body of `POST /order`.
    // `--version` here is the order version, not the program's.
    #[command(disable_version_flag = true)]
    Sign(Box<SignArgs>),
    /// Print the L2 HMAC headers of a request as JSON.
    Headers(HeadersArgs),
    /// Sign, journal and send an order to the CLOB of a `[clob]` config; print its outcome.
    Place(Box<super::trade::PlaceArgs>),
    /// Cancel one order (--order-id) or every open order of the key (--all).
    Cancel(super::trade::CancelArgs),
    /// List the key's open orders (or its trades with --trades).
    List(super::trade::ListArgs),
}

#[derive(Args, Debug)]
pub struct SignArgs {
    /// File holding the signing key as 0x + 64 hex digits.
    #[arg(long)]
    key_file: PathBuf,
    /// Outcome token id (decimal uint256).
    #[arg(long)]
    token_id: String,
    /// BUY or SELL.
    #[arg(long)]
    side: OrderSide,
    /// Limit price (worst price for --amount), e.g. 0.52.
    #[arg(long, required_unless_present = "maker_amount")]
    price: Option<String>,
    /// Shares, e.g. 100 or 12.5 (cut to 2 decimals like the official clients).
    #[arg(long, conflicts_with_all = ["amount", "maker_amount"], required_unless_present_any = ["amount", "maker_amount"])]
    size: Option<String>,
    /// Market-order amount instead of --size: pUSD to spend (BUY) or shares to sell (SELL).
    #[arg(long, conflicts_with = "maker_amount")]
    amount: Option<String>,
    /// The market's tick size: 0.1, 0.01, 0.005, 0.0025, 0.001 or 0.0001.
    #[arg(long, required_unless_present = "maker_amount")]
    tick_size: Option<String>,
    /// The market's minimum order size in shares (checked for GTC/GTD; default: not checked).
    #[arg(long)]
    min_size: Option<String>,
    /// Raw signed makerAmount (micro-units), bypassing rounding and every local check.
    #[arg(long, requires = "taker_amount", conflicts_with_all = ["price", "tick_size"])]
    maker_amount: Option<u64>,
    /// Raw signed takerAmount (micro-units), with --maker-amount.
    #[arg(long, requires = "maker_amount")]
    taker_amount: Option<u64>,
    /// The market is neg-risk: sign for the neg-risk exchange.
    #[arg(long)]
    neg_risk: bool,
    #[arg(long, default_value = "GTC")]
    order_type: OrderType,
    /// 0 EOA, 1 POLY_PROXY, 2 POLY_GNOSIS_SAFE, 3 POLY_1271 (V2/V3 only).
    #[arg(long, default_value_t = 0)]
    signature_type: u8,
    /// Address holding the funds (proxy, safe or deposit wallet); required for types 1-3.
    #[arg(long)]
    funder: Option<String>,
    /// Order salt (default: 53 random bits, as the official clients).
    #[arg(long)]
    salt: Option<u64>,
    /// V2 order timestamp in ms (default: now).
    #[arg(long)]
    timestamp_ms: Option<u64>,
    /// Expiration, unix seconds (GTD only; 0 = none).
    #[arg(long, default_value_t = 0)]
    expiration: u64,
    /// The API key the order is posted under (`owner`).
    #[arg(long, default_value = "")]
    owner: String,
    #[arg(long, default_value_t = 137)]
    chain_id: u64,
    /// Order version: 2 (production), 1 (legacy) or 3 (ExchangeV3).
    #[arg(long, default_value_t = 2)]
    version: u8,
    #[arg(long)]
    post_only: bool,
    #[arg(long)]
    defer_exec: bool,
    /// V2 metadata (0x + 64 hex).
    #[arg(long)]
    metadata: Option<String>,
    /// V2 builder code (0x + 64 hex).
    #[arg(long)]
    builder: Option<String>,
    /// V1 only: fee rate in basis points.
    #[arg(long, default_value_t = 0)]
    fee_rate_bps: u64,
    /// V1 only: nonce.
    #[arg(long, default_value_t = 0)]
    nonce: u64,
    /// Print the order hash (the venue's order id) to stderr.
    #[arg(long)]
    print_hash: bool,
    /// Indent the JSON (the compact form is the one sent and HMAC'ed).
    #[arg(long)]
    pretty: bool,
}

#[derive(Args, Debug)]
pub struct HeadersArgs {
    /// JSON file {"apiKey": "...", "secret": "...", "passphrase": "..."} (the venue's
    /// `POST /auth/api-key` response).
    #[arg(long)]
    creds_file: PathBuf,
    /// File holding the signing key (for POLY_ADDRESS).
    #[arg(long)]
    key_file: PathBuf,
    /// HTTP method, used verbatim (GET, POST, DELETE).
    #[arg(long)]
    method: String,
    /// Request path; a query string is not signed.
    #[arg(long)]
    path: String,
    /// File with the exact body bytes (default: no body).
    #[arg(long)]
    body_file: Option<PathBuf>,
    /// Unix seconds (default: now).
    #[arg(long)]
    timestamp: Option<u64>,
}

pub fn run(cmd: OrderCommand) -> anyhow::Result<()> {
    match cmd {
        OrderCommand::Sign(a) => sign(*a),
        OrderCommand::Headers(a) => headers(a),
        OrderCommand::Place(a) => super::trade::place(*a),
        OrderCommand::Cancel(a) => super::trade::cancel(a),
        OrderCommand::List(a) => super::trade::list(a),
    }
}

fn parse<T, E: std::error::Error + Send + Sync + 'static>(
    what: &str,
    s: &str,
    f: impl Fn(&str) -> Result<T, E>,
) -> anyhow::Result<T> {
    f(s).with_context(|| format!("--{what} {s:?}"))
}

fn sign(a: SignArgs) -> anyhow::Result<()> {
    let key = PrivateKey::from_file(&a.key_file)?;
    let protocol = ProtocolVersion::known(a.version, a.chain_id)?;
    if a.version != 1 && (a.fee_rate_bps != 0 || a.nonce != 0) {
        bail!("--fee-rate-bps and --nonce exist only in version 1 orders");
    }
    let signature_type = SignatureType::from_u8(a.signature_type).with_context(|| {
        format!(
            "--signature-type {}: expected 0, 1, 2 or 3",
            a.signature_type
        )
    })?;
    let funder = a
        .funder
        .as_deref()
        .map(|f| parse("funder", f, Address::parse))
        .transpose()?;
    let signer = OrderSigner::new(key, protocol, signature_type, funder)?;
    let word = |what, v: &Option<String>| {
        v.as_deref()
            .map_or(Ok(Bytes32::ZERO), |s| parse(what, s, Bytes32::parse))
    };
    let token_id = parse("token-id", &a.token_id, TokenId::parse)?;
    let salt = a.salt.unwrap_or_else(random_salt);
    let timestamp_ms = a.timestamp_ms.unwrap_or_else(unix_ms);
    let order = if let (Some(maker_amount), Some(taker_amount)) = (a.maker_amount, a.taker_amount) {
        // Raw amounts: exactly what the caller gave (the TS client's "order from amounts").
        let mut req = OrderRequest::limit(token_id, a.side, Price(1), Size(0));
        req.expiration = a.expiration;
        req.metadata = word("metadata", &a.metadata)?;
        req.builder = word("builder", &a.builder)?;
        req.fee_rate_bps = a.fee_rate_bps;
        req.nonce = a.nonce;
        signer.build_from_amounts(
            &req,
            OrderAmounts {
                maker: maker_amount,
                taker: taker_amount,
            },
            salt,
            timestamp_ms,
        )
    } else {
        let price = parse(
            "price",
            a.price.as_deref().unwrap_or_default(),
            Price::parse,
        )?;
        let tick_size = parse(
            "tick-size",
            a.tick_size.as_deref().unwrap_or_default(),
            TickSize::parse,
        )?;
        let quantity = match (&a.size, &a.amount) {
            (Some(s), _) => Quantity::Shares(parse("size", s, Size::parse)?),
            (None, Some(x)) => {
                Quantity::MarketAmount(parse("amount", x, |s| parse_micros(s.as_bytes()))?)
            }
            (None, None) => bail!("one of --size, --amount or --maker-amount is required"),
        };
        let min_order_size = a
            .min_size
            .as_deref()
            .map_or(Ok(Size::ZERO), |s| parse("min-size", s, Size::parse))?;
        let req = OrderRequest {
            token_id,
            side: a.side,
            price,
            quantity,
            order_type: a.order_type,
            expiration: a.expiration,
            post_only: a.post_only,
            metadata: word("metadata", &a.metadata)?,
            builder: word("builder", &a.builder)?,
            fee_rate_bps: a.fee_rate_bps,
            nonce: a.nonce,
            taker: Address::ZERO,
        };
        let rules = MarketRules {
            tick_size,
            min_order_size,
            neg_risk: a.neg_risk,
        };
        signer
            .build(&req, &rules, salt, timestamp_ms)
            .context("order refused locally")?
    };
    if a.print_hash {
        eprintln!(
            "order hash 0x{}",
            hex::encode(signer.order_hash(&order, a.neg_risk))
        );
    }
    let signed = signer.sign(order, a.neg_risk);
    let body = PostOrder {
        signed: &signed,
        schema: signer.protocol().schema,
        owner: &a.owner,
        order_type: a.order_type,
        post_only: a.post_only,
        defer_exec: a.defer_exec,
    };
    if a.pretty {
        println!("{}", serde_json::to_string_pretty(&body)?);
    } else {
        println!("{}", body.to_json());
    }
    Ok(())
}

fn headers(a: HeadersArgs) -> anyhow::Result<()> {
    let creds = ApiCredentials::from_file(&a.creds_file)?;
    let key = PrivateKey::from_file(&a.key_file)?;
    let body = match &a.body_file {
        Some(p) => {
            std::fs::read(p).with_context(|| format!("cannot read body file {}", p.display()))?
        }
        None => Vec::new(),
    };
    let timestamp = a.timestamp.unwrap_or_else(|| unix_ms() / 1000);
    let l2 = L2Signer::new(&creds, key.address())
        .with_context(|| format!("credentials {}", a.creds_file.display()))?;
    let h = l2.headers(timestamp, &a.method, &a.path, &body);
    println!("{}", serde_json::to_string_pretty(&h)?);
    Ok(())
}
