//! The live desk: an account on a CLOB, the live sender beside the pipeline, its SQLite journal
//! and the summary of what the account did. `polyarb demo --live` opens a paper account on
//! the in-process venue ([`open`]); `polyarb feed` with `[trading] mode = "live"` opens the
//! account its config names ([`open_desk`]); both trade through the same dispatch path.
//!
//! `polyarb demo --live`: paper trading on the in-process venue with the real order path.
//!
//! A fresh key gets its API key from the venue, which opens and funds the key's deposit
//! wallet; the paper account trades as that wallet (signature type 3, production's account
//! for new API users). Each asset of the demo becomes an instrument with the rules the venue
//! publishes on `GET /book`, and the pipeline's dispatch stage hands each Dutch book to the
//! live sender: signed FOK orders, L2 HMAC headers, journal first, the user channel for fills.
//! Nothing here is simulated on our side: what the summary prints comes from the order
//! manager and from the venue's ledger of the wallet, and says whether the two agree.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;

use polyarb::adapters::polymarket::http::clob::{
    AssetType, ClobClient, ClobConfig, create_or_derive_api_key,
};
use polyarb::adapters::polymarket::signing::{Address, ApiCredentials, PrivateKey, SignatureType};
use polyarb::adapters::polymarket::ws::user::{UserChannel, UserChannelConfig, UserMessage};
use polyarb::core::decimal::format_micros;
use polyarb::core::fees::FeeSchedule;
use polyarb::core::{AssetRegistry, TokenId};
use polyarb::engine::DispatchMode;
use polyarb::exec::journal_db::StorageJournal;
use polyarb::exec::live::{Instrument, InstrumentUpdate, Instruments, Sender, live_dispatch};
use polyarb::exec::manager::{ExecConfig, OrderManager};
use polyarb::exec::pairing::PairingConfig;
use polyarb::storage::WriterHandle;
use polyarb::venue::VenueHandle;

use super::trade;

const TIMEOUT: Duration = Duration::from_secs(5);
/// Polygon's chain id: the venue checks the L1 signature's domain like the real server.
const CHAIN_ID: u64 = 137;

/// An account and the live sender beside the pipeline.
pub struct LiveDesk {
    /// How the summary names the account ("paper account", "account").
    label: &'static str,
    client: Arc<ClobClient>,
    sender: Sender<StorageJournal>,
    /// The journal's storage writer, shut down after the sender so the last rows land.
    writer: WriterHandle,
    journal: PathBuf,
    /// Kept open for the sender: dropping it closes the user channel.
    _user: UserChannel,
    start_collateral: u64,
    /// The venue whose `/admin/balances` ledger the summary checks the positions against.
    ledger_url: Option<String>,
}

/// Opens a paper account on `venue` and makes the live dispatch for `registry`'s assets;
/// `fees` is the taker fee schedule the venue charges on its synthetic markets; orders are
/// journaled in a fresh SQLite file at `journal`.
pub fn open(
    venue: &VenueHandle,
    registry: &AssetRegistry,
    fees: Option<FeeSchedule>,
    journal: &Path,
) -> anyhow::Result<(DispatchMode, LiveDesk)> {
    let key = PrivateKey::from_hex(&format!("0x{}", hex::encode(rand::random::<[u8; 32]>())))
        .context("paper key")?;
    let url = venue.http_url();
    let creds = create_or_derive_api_key(&url, &key, CHAIN_ID, 0, TIMEOUT)
        .context("creating the paper account's API key")?;
    // The first API key made the owner's deposit wallet and funded it: the account trades as
    // the wallet, with the key signing for it, as production wants of a new API user.
    let mut cc = ClobConfig::new(&url);
    cc.chain_id = CHAIN_ID;
    cc.signature_type = SignatureType::Poly1271;
    cc.funder = Some(polyarb::venue::deposit_wallet_address(key.address()));
    let client = Arc::new(
        ClobClient::connect(cc, key, creds.clone()).context("connecting the CLOB client")?,
    );
    let mut instruments = Vec::with_capacity(registry.len());
    for (_, info) in registry.iter() {
        let rules = trade::rules(&url, &info.token, TIMEOUT)
            .with_context(|| format!("rules of {}", info.token_str))?;
        instruments.push(Some(Instrument {
            token_id: info.token,
            rules,
            fees,
        }));
    }
    fresh_file(journal)?;
    open_desk(DeskSetup {
        label: "paper account",
        client,
        creds,
        user_ws_url: &venue.user_ws_url(),
        instruments,
        journal,
        pairing: PairingConfig::default(),
        no_side: true,
        ledger_url: Some(url),
    })
}

/// What a live desk trades with.
pub struct DeskSetup<'a> {
    pub label: &'static str,
    pub client: Arc<ClobClient>,
    /// The account's L2 credentials (the user channel authenticates with them).
    pub creds: ApiCredentials,
    pub user_ws_url: &'a str,
    /// By the pipeline's asset index.
    pub instruments: Instruments,
    /// The SQLite journal (created if missing, else reconciled from).
    pub journal: &'a Path,
    pub pairing: PairingConfig,
    /// Send NO-side plans (`[strategy] no_side`; always on a paper desk).
    pub no_side: bool,
    /// A venue double's base URL: the summary reads the account's ledger from its
    /// `GET /admin/balances` and checks the positions against it (`None` for a real CLOB).
    pub ledger_url: Option<String>,
}

/// Connects the user channel, opens the journal and starts the sender.
pub fn open_desk(s: DeskSetup<'_>) -> anyhow::Result<(DispatchMode, LiveDesk)> {
    let user = UserChannel::start(UserChannelConfig::new(s.user_ws_url, s.creds))
        .context("starting the user channel")?;
    match user.messages.recv_timeout(TIMEOUT) {
        Ok(UserMessage::Connected) => {}
        other => anyhow::bail!(
            "the user channel at {} did not connect: {other:?}",
            s.user_ws_url
        ),
    }
    let client = s.client;
    client
        .prepare_account()
        .context("GET /balance-allowance/update for the deposit wallet")?;
    let start_collateral = collateral(&client)?;
    let (writer, j) = StorageJournal::open_file(s.journal, TIMEOUT).context("the order journal")?;
    let mgr = OrderManager::new(client.clone(), j, ExecConfig::default());
    // Plan ids never repeat across runs, so journals of several runs can be read side by side
    // and a kept journal never mistakes a new plan for one it already sent.
    let first_plan = polyarb::storage::time::unix_now_ns() / 1_000_000;
    let (stage, sender) = live_dispatch(
        first_plan,
        mgr,
        s.instruments,
        Some(user.messages.clone()),
        1024,
        s.pairing,
    )
    .context("starting the sender thread")?;
    let stage = stage.with_no_side(s.no_side);
    Ok((
        DispatchMode::Live(Box::new(stage)),
        LiveDesk {
            label: s.label,
            client,
            sender,
            writer,
            journal: s.journal.to_path_buf(),
            _user: user,
            start_collateral,
            ledger_url: s.ledger_url,
        },
    ))
}

impl LiveDesk {
    /// The sender's instrument channel (markets listed while running).
    pub fn instruments(&self) -> crossbeam::channel::Sender<InstrumentUpdate> {
        self.sender.instruments.clone()
    }

    /// Stops the sender after what it holds and prints what the account did.
    pub fn finish(self) -> anyhow::Result<()> {
        let stats = self.sender.stats.clone();
        let mgr = self.sender.join().context("the sender thread panicked")?;
        let journal_errors = mgr.stats.journal_errors;
        // The sender has stopped: nothing more is enqueued, the writer commits the rest.
        self.writer
            .shutdown()
            .context("closing the order journal")?;
        println!(
            "journal {} (SQLite: orders, order_journal, fills, positions) · journal errors {journal_errors}",
            self.journal.display()
        );
        let end = collateral(&self.client)?;
        println!(
            "{} {} · plans {} · orders sent {} filled {} rejected {} unknown {} · plans dropped {} untradeable {} · NO side held {}",
            self.label,
            self.client.address(),
            stats.plans.get(),
            stats.orders.get(),
            stats.filled.get(),
            stats.rejected.get(),
            stats.unknown.get(),
            stats.dropped.get(),
            stats.untradeable.get(),
            stats.no_side_held.get()
        );
        let cfg = self.client.config();
        let st = cfg.signature_type;
        let account = account_address(st, cfg.funder, self.client.address());
        println!(
            "account: {} {account} (signature type {}) · signer {}",
            account_kind(st),
            st as u8,
            self.client.address()
        );
        println!(
            "pairing: plans not sent: legs unpairable {}, no free pUSD {} · cut to the free pUSD {} · unwinds {} (failed {}, residual {} shares) · undecided {} · rules re-read {} · instrument updates {}",
            stats.unpaired_skipped.get(),
            stats.unaffordable.get(),
            stats.size_capped.get(),
            stats.unwinds.get(),
            stats.unwind_failed.get(),
            micros(i128::from(stats.unwind_residual.get())),
            stats.pairs_pending.get(),
            stats.rules_refreshed.get(),
            stats.instrument_updates.get()
        );
        let positions = mgr.positions.all();
        let shares: i128 = positions.values().map(|p| p.shares).sum();
        let cost: i128 = positions.values().map(|p| p.cost).sum();
        let fees: i128 = positions.values().map(|p| p.fees).sum();
        let realized: i128 = positions.values().map(|p| p.realized).sum();
        println!(
            "positions {} tokens · {} shares · cost {} pUSD (fees {}) · realized {} · net spent {} (order manager)",
            positions.values().filter(|p| p.shares != 0).count(),
            micros(shares),
            micros(cost),
            micros(fees),
            micros(realized),
            micros(cost - realized)
        );
        println!(
            "venue ledger: collateral {} → {} pUSD (spent {})",
            micros(i128::from(self.start_collateral)),
            micros(i128::from(end)),
            micros(i128::from(self.start_collateral) - i128::from(end))
        );
        if let Some(url) = &self.ledger_url {
            let ledger = ledger_of(url, account)?;
            let spent = i128::from(self.start_collateral) - i128::from(ledger.collateral.total);
            let mut differ = Vec::new();
            if spent != cost - realized {
                differ.push(format!(
                    "pUSD spent {} vs net spent {}",
                    micros(spent),
                    micros(cost - realized)
                ));
            }
            let mut tokens: Vec<&String> = ledger.tokens.keys().collect();
            for (token, p) in positions.iter() {
                let id = token.to_string();
                if p.shares != 0 && !ledger.tokens.contains_key(&id) {
                    differ.push(format!(
                        "{}: {} shares in the positions, none held",
                        short(token),
                        micros(p.shares)
                    ));
                }
            }
            tokens.retain(|id| {
                let ours = TokenId::parse(id)
                    .ok()
                    .map_or(0, |t| positions.get(&t).map_or(0, |p| p.shares));
                let theirs = i128::from(ledger.tokens[*id].total);
                if ours != theirs {
                    differ.push(format!(
                        "{id}: {} shares held vs {} in the positions",
                        micros(theirs),
                        micros(ours)
                    ));
                }
                theirs != 0
            });
            println!(
                "venue ledger of {account} (/admin/balances): pUSD {} (reserved {}) · spent {} · {} tokens held · equals the positions: {}",
                micros(i128::from(ledger.collateral.total)),
                micros(i128::from(ledger.collateral.reserved)),
                micros(spent),
                tokens.len(),
                if differ.is_empty() {
                    "yes".to_string()
                } else {
                    format!("NO ({})", differ.join("; "))
                }
            );
        }
        for (token, p) in positions.iter().filter(|(_, p)| p.shares != 0) {
            let held = self
                .client
                .balance_allowance(&AssetType::Conditional(token.to_string()))
                .ok()
                .and_then(|b| b.balance_micros());
            println!(
                "  {} · {} shares (venue: {}) · cost {}",
                short(token),
                micros(p.shares),
                held.map_or("?".to_string(), |h| micros(i128::from(h))),
                micros(p.cost)
            );
        }
        Ok(())
    }
}

/// Removes a previous run's journal (and its WAL files) and makes its directory.
fn fresh_file(path: &Path) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("removing {}", path.display())),
        }
    }
    Ok(())
}

/// The address that holds the account's funds: the funder (proxy, Safe or deposit wallet) of
/// signature types 1-3, else the key's own.
fn account_address(st: SignatureType, funder: Option<Address>, key: Address) -> Address {
    match (st, funder) {
        (SignatureType::Eoa, _) | (_, None) => key,
        (_, Some(f)) => f,
    }
}

/// How the summary names an account of signature type `st`.
fn account_kind(st: SignatureType) -> &'static str {
    match st {
        SignatureType::Eoa => "EOA",
        SignatureType::PolyProxy => "proxy wallet",
        SignatureType::PolyGnosisSafe => "Safe",
        SignatureType::Poly1271 => "deposit wallet",
    }
}

/// One holding in a venue double's `/admin/balances` answer, in micro-units.
#[derive(Deserialize)]
struct Held {
    total: u64,
    reserved: u64,
}

/// A venue double's ledger of one address.
#[derive(Deserialize)]
struct Ledger {
    collateral: Held,
    /// By token id; only tokens with something held or reserved.
    #[serde(default)]
    tokens: std::collections::BTreeMap<String, Held>,
}

fn ledger_of(url: &str, who: Address) -> anyhow::Result<Ledger> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(TIMEOUT))
        .build()
        .into();
    agent
        .get(format!(
            "{}/admin/balances?address={}",
            url.trim_end_matches('/'),
            who.to_checksum()
        ))
        .call()
        .context("GET /admin/balances")?
        .body_mut()
        .read_json()
        .context("GET /admin/balances answer")
}

fn collateral(client: &ClobClient) -> anyhow::Result<u64> {
    client
        .balance_allowance(&AssetType::Collateral)
        .context("GET /balance-allowance")?
        .balance_micros()
        .context("balance is not an integer amount")
}

/// Signed micro-units in canonical decimal form ("-1.5"), through the project's formatter.
fn micros(v: i128) -> String {
    let sign = if v < 0 { "-" } else { "" };
    match u64::try_from(v.unsigned_abs()) {
        Ok(m) => format!("{sign}{}", format_micros(m)),
        // Beyond any balance the venue can hold: whole micro-units rather than a wrong figure.
        Err(_) => format!("{v} micro"),
    }
}

fn short(t: &TokenId) -> String {
    let s = t.to_string();
    if s.len() > 16 {
        format!("{}…{}", &s[..8], &s[s.len() - 6..])
    } else {
        s
    }
}
