//! The live desk: an account on a CLOB, the live sender beside the pipeline, its SQLite journal
//! and the summary of what the account did. `polyarb feed` with `[trading] mode = "live"`
//! opens the account its config names ([`open_desk`]); `polyarb demo --live` (in
//! `polyarb-venue`) opens a paper account on its in-process venue double and trades through
//! the same desk and dispatch path.
//!
//! The pipeline's dispatch stage hands each Dutch book to the live sender: signed FOK orders,
//! L2 HMAC headers, journal first, the user channel for fills. What the summary prints comes
//! from the order manager and, on a venue double, from the venue's ledger of the account, and
//! says whether the two agree.
//!
//! Risk: before the sender starts, the positions are rebuilt from the journal and reconciled
//! with the venue (`OrderManager::restore_positions`). The desk watches the `[risk]` control
//! file (`polyarb risk kill|reset`) and SIGUSR1 (a kill) on a thread of its own and hands each
//! request to the sender, writing the sender's answers back beside the file; the summary
//! prints every breaker's state and the exposure guard's decisions.
//!
//! Capital recycling (`[chain.recycle] enabled`): the recycler runs on a thread of its own
//! beside the sender, its batches journaled in `[chain.recycle] journal` (else
//! `<journal>.recycle`); the summary prints what it merged, converted and freed.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;

use polyarb::adapters::polymarket::http::clob::{AssetType, ClobClient};
use polyarb::adapters::polymarket::signing::{Address, ApiCredentials, SignatureType};
use polyarb::adapters::polymarket::ws::user::{UserChannel, UserChannelConfig, UserMessage};
use polyarb::core::TokenId;
use polyarb::core::decimal::format_micros;
use polyarb::engine::DispatchMode;
use polyarb::engine::PipelineStats;
use polyarb::exec::journal_db::StorageJournal;
use polyarb::exec::live::{InstrumentUpdate, Instruments, Sender, live_dispatch_recycling};
use polyarb::exec::manager::{ExecConfig, OrderManager};
use polyarb::exec::pairing::PairingConfig;
use polyarb::exec::recycle_link::{self, RecycleHandle};
use polyarb::exec::risk_link::{AssetPlace, RiskSetup};
use polyarb::risk::control::{self, Command, Request, Watcher};
use polyarb::risk::{RiskConfig, RiskGate};
use polyarb::storage::WriterHandle;

/// How long a desk waits for one answer of the CLOB or the user channel.
pub const TIMEOUT: Duration = Duration::from_secs(5);

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
    gate: Arc<RiskGate>,
    /// The control file watched, and the thread watching it (and SIGUSR1).
    control: PathBuf,
    watch_stop: Arc<AtomicBool>,
    watcher: Option<JoinHandle<()>>,
    /// The capital recycler's thread and its journal, when recycling.
    recycle: Option<(RecycleHandle, PathBuf)>,
}

/// What the capital recycler needs: `[chain]` (its `recycle` section enabled), the key that
/// owns the account, and the relayer's authentication when not from `[chain.relayer]
/// auth_file`.
pub struct RecycleSetup {
    pub chain: polyarb::chain::ChainConfig,
    pub key: polyarb::adapters::polymarket::signing::PrivateKey,
    pub auth: Option<polyarb::settlement::RelayerAuth>,
}

/// The recycler's journal of a desk: `[chain.recycle] journal`, else `<journal>.recycle`.
pub fn recycle_journal_path(chain: &polyarb::chain::ChainConfig, journal: &Path) -> PathBuf {
    chain.recycle.journal.clone().unwrap_or_else(|| {
        let mut p = journal.as_os_str().to_owned();
        p.push(".recycle");
        PathBuf::from(p)
    })
}

/// Starts the recycler of `r` (see [`RecycleSetup`]).
fn start_recycler(
    r: RecycleSetup,
    journal: &Path,
) -> anyhow::Result<(recycle_link::RecycleLink, RecycleHandle, PathBuf)> {
    use polyarb::settlement::recycle::RecycleJournal;
    use polyarb::settlement::{Settlement, senders};
    let cfg = r.chain.recycle.clone();
    let path = recycle_journal_path(&r.chain, journal);
    let j = RecycleJournal::open(&path).context("the recycle journal")?;
    let sender = senders::batch_sender(&r.chain, r.key, r.auth, cfg.gas_per_call)
        .context("the recycler's sender ([chain])")?;
    let settlement = Settlement::new(r.chain.contracts.clone(), r.chain.route);
    let (link, handle) = recycle_link::start(cfg, settlement, Some(j), sender, 1024)
        .context("starting the recycler thread")?;
    Ok((link, handle, path))
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
    /// `[risk]`, and each asset's market and event for the exposure caps.
    pub risk: RiskConfig,
    pub places: Vec<AssetPlace>,
    /// Capital recycling, if on.
    pub recycle: Option<RecycleSetup>,
}

/// The control file of a desk: `[risk] control_file`, else `<journal>.control`.
pub fn control_path(risk: &RiskConfig, journal: &Path) -> PathBuf {
    risk.control_file.clone().unwrap_or_else(|| {
        let mut p = journal.as_os_str().to_owned();
        p.push(".control");
        PathBuf::from(p)
    })
}

/// Watches the control file and SIGUSR1 until `stop`; hands requests to the sender and
/// writes its answers back.
pub fn watch(
    path: PathBuf,
    flatten_on_kill: bool,
    usr1: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    requests: crossbeam::channel::Sender<Request>,
    answers: crossbeam::channel::Receiver<(u64, String)>,
) {
    let mut w = Watcher::new(&path);
    while !stop.load(Ordering::SeqCst) {
        for r in w.poll() {
            tracing::warn!(
                id = r.id,
                command = r.command.as_str(),
                "risk request from the control file"
            );
            let _ = requests.send(r);
        }
        if usr1.swap(false, Ordering::SeqCst) {
            let id = polyarb::obs::clock::unix_ms();
            tracing::warn!(id, "SIGUSR1: kill");
            let _ = requests.send(Request {
                id,
                command: Command::Kill {
                    flatten: flatten_on_kill,
                },
            });
        }
        while let Ok((id, text)) = answers.try_recv() {
            if let Err(e) = control::answer(&path, id, &text) {
                tracing::error!(error = %e, "cannot write the answer to {}", path.display());
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
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
    let mut mgr = OrderManager::new(client.clone(), j, ExecConfig::default());
    for inst in s.instruments.iter().flatten() {
        if let Some(f) = inst.fees {
            mgr.set_fees(inst.token_id, f);
        }
    }
    // Before any order: positions from the journal, reconciled with the venue.
    println!("{}", mgr.restore_positions().line());
    let control = control_path(&s.risk, s.journal);
    let usr1 = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGUSR1, usr1.clone())
        .context("installing the SIGUSR1 handler")?;
    let (req_tx, req_rx) = crossbeam::channel::unbounded();
    let (ans_tx, ans_rx) = crossbeam::channel::unbounded();
    let mut risk = RiskSetup::new(s.risk.clone());
    risk.places = s.places;
    risk.commands = Some(req_rx);
    risk.answers = Some(ans_tx);
    let gate = risk.gate.clone();
    let watch_stop = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (path, flatten, stop) = (control.clone(), s.risk.flatten_on_kill, watch_stop.clone());
        std::thread::Builder::new()
            .name("risk-control".into())
            .spawn(move || watch(path, flatten, usr1, stop, req_tx, ans_rx))
            .context("starting the control-file watcher")?
    };
    println!(
        "risk     control file {} (`polyarb risk kill|reset`; SIGUSR1 kills)",
        control.display()
    );
    // Plan ids never repeat across runs, so journals of several runs can be read side by side
    // and a kept journal never mistakes a new plan for one it already sent.
    let first_plan = polyarb::storage::time::unix_now_ns() / 1_000_000;
    let (link, recycle) = match s.recycle {
        Some(r) => {
            let (link, handle, path) = start_recycler(r, s.journal)?;
            println!(
                "recycle  complete sets merged/converted back into pUSD · journal {}",
                path.display()
            );
            (Some(link), Some((handle, path)))
        }
        None => (None, None),
    };
    let (stage, sender) = live_dispatch_recycling(
        first_plan,
        mgr,
        s.instruments,
        Some(user.messages.clone()),
        1024,
        s.pairing,
        risk,
        link,
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
            gate,
            control,
            watch_stop,
            watcher: Some(watcher),
            recycle,
        },
    ))
}

impl LiveDesk {
    /// The sender's instrument channel (markets listed while running).
    pub fn instruments(&self) -> crossbeam::channel::Sender<InstrumentUpdate> {
        self.sender.instruments.clone()
    }

    /// The risk gate: every breaker's state.
    pub fn gate(&self) -> &Arc<RiskGate> {
        &self.gate
    }

    /// The control file this desk watches.
    pub fn control_file(&self) -> &Path {
        &self.control
    }

    /// Feeds the feed-health breaker from the pipeline's counters (call on every refresh).
    pub fn observe(&self, s: &PipelineStats) {
        self.gate.observe_feed(
            s.book.healthy_assets.get(),
            s.book.unhealthy_assets.get(),
            s.feed.dead_connections.get(),
        );
    }

    /// Stops the sender after what it holds and prints what the account did.
    pub fn finish(mut self) -> anyhow::Result<()> {
        let stats = self.sender.stats.clone();
        let mut mgr = self.sender.join().context("the sender thread panicked")?;
        // The recycler's last look, and what it did since, taken out of the positions before
        // the journal closes.
        let recycled = self.recycle.take().map(|(h, path)| {
            let stats = h.stats.clone();
            let left = h.finish(&mut mgr);
            (stats, left, path)
        });
        self.watch_stop.store(true, Ordering::SeqCst);
        if let Some(w) = self.watcher.take() {
            let _ = w.join();
        }
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
            "pairing: plans not sent: legs unpairable {}, no free pUSD {} · cut to the free pUSD {} · unwinds {} (failed {}, residual {} shares) · undecided {} · restored after a restart {} · rules re-read {} · instrument updates {}",
            stats.unpaired_skipped.get(),
            stats.unaffordable.get(),
            stats.size_capped.get(),
            stats.unwinds.get(),
            stats.unwind_failed.get(),
            micros(i128::from(stats.unwind_residual.get())),
            stats.pairs_pending.get(),
            stats.plans_restored.get(),
            stats.rules_refreshed.get(),
            stats.instrument_updates.get()
        );
        println!(
            "risk: exposure guard {} · plans stopped by the gate {} · orders canceled by trips and kills {} · kills {} (flattening SELLs {}) · residual notional {} pUSD",
            stats.guard.line(),
            stats.halted.get(),
            stats.risk_cancels.get(),
            stats.kills.get(),
            stats.flattens.get(),
            micros(i128::from(stats.unwind_residual_notional.get()))
        );
        print!(
            "{}",
            polyarb::obs::status::breaker_table(&self.gate.report())
        );
        println!(
            "opportunities dropped while halted {}",
            self.gate
                .halted_plans
                .load(std::sync::atomic::Ordering::Relaxed)
        );
        if let Some((r, left, path)) = &recycled {
            println!(
                "{} · sets left pending {} · journal {}",
                r.line(),
                micros(i128::from(*left)),
                path.display()
            );
        }
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
pub fn fresh_file(path: &Path) -> anyhow::Result<()> {
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
