//! The live desk: an account on a CLOB, the live sender beside the pipeline, its SQLite journal
//! and the summary of what the account did. `polyarb demo --live` opens a paper account on
//! the in-process venue ([`open`]); `polyarb feed` with `[trading] mode = "live"` opens the
//! account its config names ([`open_desk`]); both trade through the same dispatch path.
//!
//! `polyarb demo --live`: paper trading on the in-process venue with the real order path.
//!
//! A fresh key gets its API key from the venue (which funds every new account), each asset of
//! the demo becomes an instrument with the rules the venue publishes on `GET /book`, and the
//! pipeline's dispatch stage hands each Dutch book to the live sender: signed FOK orders, L2
//! HMAC headers, journal first, the user channel for fills. Nothing here is simulated on our
//! side: what the summary prints comes from the order manager and from the venue's ledger.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use polyarb::adapters::polymarket::http::clob::{
    AssetType, ClobClient, ClobConfig, create_or_derive_api_key,
};
use polyarb::adapters::polymarket::signing::{ApiCredentials, PrivateKey, SignatureType};
use polyarb::adapters::polymarket::ws::user::{UserChannel, UserChannelConfig, UserMessage};
use polyarb::core::decimal::format_micros;
use polyarb::core::fees::FeeSchedule;
use polyarb::core::{AssetRegistry, TokenId};
use polyarb::exec::journal_db::StorageJournal;
use polyarb::exec::live::{Instrument, InstrumentUpdate, Instruments, Sender, live_dispatch};
use polyarb::exec::manager::{ExecConfig, OrderManager};
use polyarb::exec::pairing::PairingConfig;
use polyarb::pipeline::engine::DispatchMode;
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
    let client = Arc::new(
        ClobClient::connect(ClobConfig::new(&url), key, creds.clone())
            .context("connecting the CLOB client")?,
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
    if client.config().signature_type == SignatureType::Poly1271 {
        // Production sees a deposit wallet's pUSD only once asked to refresh it, before the
        // first balance read and the first order.
        client
            .update_balance_allowance(&AssetType::Collateral)
            .context("GET /balance-allowance/update for the deposit wallet")?;
    }
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
            "{} {} · plans {} · orders sent {} filled {} rejected {} unknown {} · plans dropped {} untradeable {}",
            self.label,
            self.client.address(),
            stats.plans.get(),
            stats.orders.get(),
            stats.filled.get(),
            stats.rejected.get(),
            stats.unknown.get(),
            stats.dropped.get(),
            stats.untradeable.get()
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
