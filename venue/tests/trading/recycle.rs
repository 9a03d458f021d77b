//! Capital recycling over loopback: the live sender's plans fill into complete sets on the
//! venue's matching engine, the recycler merges them through the venue's relayer for the
//! account's deposit wallet, and the venue's ledger equals the engine's accounting to the
//! micro-pUSD — with the freed pUSD sizing the next plan. A relayer that refuses is retried,
//! journaled and counted; a crash between the journal and the relayer's answer never sends a
//! batch twice.

use std::path::{Path, PathBuf};
use std::time::Duration;

use polyarb::adapters::polymarket::http::clob::AssetType;
use polyarb::adapters::polymarket::signing::{Address, SignatureType};
use polyarb::chain::{ChainConfig, Contracts, Route, TxCall};
use polyarb::core::TokenId;
use polyarb::exec::instruments::SettleInfo;
use polyarb::exec::journal::MemoryJournal;
use polyarb::exec::live::{Instrument, LiveStats, live_dispatch_recycling};
use polyarb::exec::manager::{ExecConfig, OrderManager};
use polyarb::exec::pairing::PairingConfig;
use polyarb::exec::recycle_link::{self, RecycleHandle};
use polyarb::exec::risk_link::RiskSetup;
use polyarb::pipeline::stage::Stage;
use polyarb::settlement::recycle::{
    BatchSender, FilledSets, RecycleConfig, RecycleJournal, RecycleStats, Recycler, SetKey,
};
use polyarb::settlement::{AccountType, MarketKind, RelayerAuth, Settlement, senders};
use serde_json::Value;

use testkit::wait_within;
use venue_testkit::trading::*;
use venue_testkit::wire::agent;

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("polyarb-recycle-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A trader whose account is its key's deposit wallet (the venue funds it with 1000 pUSD).
fn wallet_trader(v: &polyarb_venue::VenueHandle, n: u64) -> (Trader, Address) {
    let wallet = polyarb_venue::deposit_wallet_address(key(n).address());
    let a = trader_with(v, n, |c| {
        c.signature_type = SignatureType::Poly1271;
        c.funder = Some(wallet);
    });
    a.client
        .update_balance_allowance(&AssetType::Collateral)
        .unwrap();
    (a, wallet)
}

/// The venue's ledger of `who`: (pUSD total, tokens).
fn ledger(v: &polyarb_venue::VenueHandle, who: Address) -> (u64, Value) {
    let mut r = agent()
        .get(format!(
            "{}/admin/balances?address={}",
            v.http_url(),
            who.to_checksum()
        ))
        .call()
        .unwrap();
    let j: Value = serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
    (
        j["collateral"]["total"].as_u64().unwrap(),
        j["tokens"].clone(),
    )
}

fn held(tokens: &Value, t: &TokenId) -> u64 {
    tokens[t.to_string()]["total"].as_u64().unwrap_or(0)
}

/// `[chain]` of a deposit-wallet account on the venue's relayer, recycling every set at once.
fn chain(v: &polyarb_venue::VenueHandle, wallet: Address, journal: &Path) -> ChainConfig {
    let mut c = ChainConfig {
        account: AccountType::DepositWallet,
        ..ChainConfig::default()
    };
    c.relayer.url = v.http_url();
    c.relayer.wallet = Some(alloy_primitives::Address::from(wallet.0));
    c.relayer.poll_interval_ms = 20;
    c.recycle = RecycleConfig {
        enabled: true,
        min_sets: 1,
        max_gas_per_pusd: 1_000_000,
        gas_per_call: 150_000,
        flush_ms: 20,
        max_attempts: 3,
        journal: Some(journal.to_path_buf()),
    };
    c
}

fn auth(a: &Trader) -> RelayerAuth {
    RelayerAuth::RelayerKey {
        key: "test-relayer-key".into(),
        address: alloy_primitives::Address::from(a.key.address().0),
    }
}

/// The binary market's YES (asset 0) and NO (asset 1) with their place on chain.
fn instruments(m: &Market) -> Vec<Option<Instrument>> {
    [m.yes, m.no]
        .iter()
        .enumerate()
        .map(|(k, t)| {
            Some(Instrument {
                token_id: *t,
                rules: m.rules,
                fees: m.fees,
                settle: Some(SettleInfo::from_gamma(&m.condition_id, k, None).unwrap()),
            })
        })
        .collect()
}

struct Engine {
    stage: polyarb::exec::live::LiveDispatchStage,
    sender: polyarb::exec::live::Sender<MemoryJournal>,
    recycler: RecycleHandle,
    stats: std::sync::Arc<LiveStats>,
    recycled: std::sync::Arc<RecycleStats>,
    _listener: Listener,
}

/// The live sender for `a` on `m`, recycling through the relayer with `auth`.
fn engine(
    v: &polyarb_venue::VenueHandle,
    a: &Trader,
    m: &Market,
    wallet: Address,
    journal: &Path,
    auth: Option<RelayerAuth>,
    attempts: u32,
) -> Engine {
    let l = listen(v, a);
    let mut c = chain(v, wallet, journal);
    c.recycle.max_attempts = attempts;
    let sender = senders::batch_sender(&c, a.key.clone(), auth, c.recycle.gas_per_call).unwrap();
    let (link, recycler) = recycle_link::start(
        c.recycle.clone(),
        Settlement::new(c.contracts.clone(), c.route),
        Some(RecycleJournal::open(journal).unwrap()),
        sender,
        64,
    )
    .unwrap();
    let mgr = OrderManager::new(
        a.client.clone(),
        MemoryJournal::new(),
        ExecConfig::default(),
    );
    let (stage, sender) = live_dispatch_recycling(
        7,
        mgr,
        instruments(m),
        Some(l.ch.messages.clone()),
        16,
        PairingConfig::default(),
        RiskSetup::default(),
        Some(link),
    )
    .unwrap();
    Engine {
        stats: sender.stats.clone(),
        recycled: recycler.stats.clone(),
        stage,
        sender,
        recycler,
        _listener: l,
    }
}

fn load(a: &std::sync::atomic::AtomicU64) -> u64 {
    a.load(std::sync::atomic::Ordering::Relaxed)
}

/// Σ (cost − realized) of the positions: every pUSD the engine counts as spent, net of what
/// came back.
fn net_spent(mgr: &OrderManager<MemoryJournal>) -> i128 {
    mgr.positions
        .all()
        .values()
        .map(|p| p.cost - p.realized)
        .sum()
}

/// 1000 pUSD buy one plan of 900 sets at 1.02 (918 pUSD; a binary book cannot offer a set
/// under 1 without crossing, and the sender sends what it is given) and not a second one: only
/// the 900 pUSD its merge frees let the second plan go out whole.
#[test]
fn filled_sets_are_merged_through_the_relayer_and_size_the_next_plan() {
    let v = venue();
    let m = market(&v);
    // YES asks 0.40; YES bids 0.38 mirror as NO asks 0.62: 1.02 a set.
    set_book(&v, &m.yes, &[("0.38", "3000")], &[("0.40", "3000")]);
    let (a, wallet) = wallet_trader(&v, 81);
    let dir = scratch("merge");
    let journal = dir.join("recycle.sqlite");
    let (start, _) = ledger(&v, wallet);
    assert_eq!(start, 1_000_000_000);
    let mut e = engine(&v, &a, &m, wallet, &journal, Some(auth(&a)), 50);

    e.stage.process(two_legs("0.40", "0.62", "900"));
    let (stats, recycled) = (e.stats.clone(), e.recycled.clone());
    wait_within("the first merge applied", Duration::from_secs(20), || {
        stats.recycled.get() >= 1
    });
    assert_eq!(load(&recycled.sets_merged), 900_000_000);
    let (mid, tokens) = ledger(&v, wallet);
    assert_eq!(mid, 1_000_000_000 - 918_000_000 + 900_000_000);
    assert_eq!((held(&tokens, &m.yes), held(&tokens, &m.no)), (0, 0));

    e.stage.process(two_legs("0.40", "0.62", "900"));
    wait_within("the second merge applied", Duration::from_secs(20), || {
        stats.recycled.get() >= 2
    });
    let mut mgr = e.sender.join().expect("the sender stops");
    assert_eq!(e.recycler.finish(&mut mgr), 0, "nothing left pending");
    assert_eq!(stats.filled.get(), 4, "both plans filled whole");
    assert_eq!(
        stats.size_capped.get(),
        0,
        "the freed pUSD sized the second plan"
    );
    assert_eq!(stats.unaffordable.get(), 0);
    assert_eq!(load(&recycled.sets_merged), 1_800_000_000);
    assert_eq!(load(&recycled.pusd_freed), 1_800_000_000);
    assert_eq!(load(&recycled.failed_batches), 0);
    assert_eq!(load(&recycled.gas_spent), 300_000);

    // The venue's ledger equals the engine's accounting, to the micro-pUSD.
    let (end, tokens) = ledger(&v, wallet);
    assert_eq!(i128::from(start) - i128::from(end), net_spent(&mgr));
    assert_eq!(end, 1_000_000_000 + 1_800_000_000 - 2 * 918_000_000);
    for t in [m.yes, m.no] {
        assert_eq!(held(&tokens, &t), 0);
        assert_eq!(mgr.positions.get(&t).shares, 0);
    }
    // As GET /balance-allowance reports it to the account.
    a.client
        .update_balance_allowance(&AssetType::Collateral)
        .unwrap();
    let bal = a.client.balance_allowance(&AssetType::Collateral).unwrap();
    assert_eq!(bal.balance_micros(), Some(end));
    // Two batches journaled, both done.
    let rows = RecycleJournal::open(&journal).unwrap().rows().unwrap();
    assert_eq!(
        rows,
        vec![
            ("done".to_string(), 900_000_000, 900_000_000),
            ("done".to_string(), 900_000_000, 900_000_000)
        ]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A relayer that refuses every request (no authentication): each try is a failed batch,
/// journaled with the relayer's answer; after `max_attempts` the sets are given up and stay
/// held, and the positions still equal the ledger.
#[test]
fn a_refusing_relayer_is_retried_journaled_and_counted() {
    let v = venue();
    let m = market(&v);
    set_book(&v, &m.yes, &[("0.38", "100")], &[("0.40", "100")]);
    let (a, wallet) = wallet_trader(&v, 82);
    let dir = scratch("refused");
    let journal = dir.join("recycle.sqlite");
    let (start, _) = ledger(&v, wallet);
    let mut e = engine(&v, &a, &m, wallet, &journal, None, 3);
    e.stage.process(two_legs("0.40", "0.62", "10"));
    let recycled = e.recycled.clone();
    wait_within("three failed tries", Duration::from_secs(20), || {
        load(&recycled.sets_abandoned) == 10_000_000
    });
    let mut mgr = e.sender.join().expect("the sender stops");
    assert_eq!(e.recycler.finish(&mut mgr), 0);
    assert_eq!(load(&recycled.failed_batches), 3);
    assert_eq!(load(&recycled.batches), 3);
    assert_eq!(load(&recycled.pusd_freed), 0);
    assert_eq!(e.stats.recycled.get(), 0);
    let rows = RecycleJournal::open(&journal).unwrap().rows().unwrap();
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| r.0 == "failed"), "{rows:?}");
    let (end, tokens) = ledger(&v, wallet);
    assert_eq!(i128::from(start) - i128::from(end), net_spent(&mgr));
    for t in [m.yes, m.no] {
        assert_eq!(held(&tokens, &t), 10_000_000);
        assert_eq!(mgr.positions.get(&t).shares, 10_000_000);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Dies inside `send`: after sending (`send_first`) or before.
struct Crash {
    inner: Box<dyn BatchSender + Send>,
    send_first: bool,
}

impl BatchSender for Crash {
    fn ticket(&mut self) -> Result<String, String> {
        self.inner.ticket()
    }
    fn send(&mut self, ticket: &str, calls: &[TxCall]) -> Result<u64, String> {
        if self.send_first {
            self.inner
                .send(ticket, calls)
                .expect("the relayer executes it");
        }
        panic!("the process dies before the answer is journaled");
    }
}

/// A batch journaled `sending` by a process that died: the next start asks the relayer (the
/// wallet's nonce against the batch's ticket) and sends it again only if it never executed.
#[test]
fn a_crash_between_journal_and_answer_never_sends_twice() {
    for send_first in [true, false] {
        let v = venue();
        let m = market(&v);
        let (a, wallet) = wallet_trader(&v, 83);
        fund_address(&v, wallet, "0", &[(&m.yes, "7"), (&m.no, "7")]);
        let dir = scratch(&format!("crash-{send_first}"));
        let path = dir.join("recycle.sqlite");
        let c = chain(&v, wallet, &path);
        let sender = || senders::batch_sender(&c, a.key.clone(), Some(auth(&a)), 150_000).unwrap();
        let settlement = Settlement::new(Contracts::default(), Route::Adapter);
        let sets = FilledSets {
            key: SetKey::Merge {
                kind: MarketKind::Binary,
                condition: m.condition_id.parse().unwrap(),
            },
            sets: 7_000_000,
            tokens: vec![m.yes, m.no],
        };
        let (start, _) = ledger(&v, wallet);
        {
            let stats = std::sync::Arc::new(RecycleStats::default());
            let mut r = Recycler::new(
                c.recycle.clone(),
                settlement.clone(),
                stats,
                Some(RecycleJournal::open(&path).unwrap()),
            );
            r.add(sets.clone());
            let mut crash = Crash {
                inner: sender(),
                send_first,
            };
            let died = std::thread::spawn(move || {
                r.flush(&mut crash);
            })
            .join();
            assert!(died.is_err(), "the recycler died mid-batch");
        }
        let rows = RecycleJournal::open(&path).unwrap().rows().unwrap();
        assert_eq!(rows, vec![("sending".to_string(), 7_000_000, 7_000_000)]);

        // The restart.
        let stats = std::sync::Arc::new(RecycleStats::default());
        let (done_tx, done_rx) = crossbeam::channel::unbounded();
        let mut r = Recycler::new(
            c.recycle.clone(),
            settlement,
            stats.clone(),
            Some(RecycleJournal::open(&path).unwrap()),
        )
        .reporting(done_tx);
        let mut s = sender();
        r.recover(s.as_mut());
        if send_first {
            assert_eq!(r.pending_sets(), 0, "executed: not sent again");
            assert_eq!(load(&stats.recovered_done), 1);
            assert_eq!(r.flush(s.as_mut()), None);
        } else {
            assert_eq!(r.pending_sets(), 7_000_000, "never executed: pending again");
            assert_eq!(load(&stats.recovered_requeued), 1);
            assert_eq!(r.flush(s.as_mut()), Some(true));
        }
        // Either way the batch was reported done once, and merged once on the ledger.
        let done: Vec<_> = done_rx.try_iter().collect();
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].items, vec![sets.clone()]);
        let (end, tokens) = ledger(&v, wallet);
        assert_eq!(end, start + 7_000_000, "merged exactly once");
        assert_eq!((held(&tokens, &m.yes), held(&tokens, &m.no)), (0, 0));
        let statuses: Vec<String> = RecycleJournal::open(&path)
            .unwrap()
            .rows()
            .unwrap()
            .into_iter()
            .map(|r| r.0)
            .collect();
        let want: &[&str] = if send_first {
            &["done"]
        } else {
            &["unsent", "done"]
        };
        assert_eq!(statuses, want);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
