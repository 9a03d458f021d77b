//! Risk over loopback against the venue double: positions rebuilt from the journal and
//! reconciled with the venue at start (a fill the journal missed is recorded, a new fill adds
//! to the stored row instead of replacing it); circuit breakers tripped by the venue's faults
//! and by real unwinds (refused orders, slow answers, a residual, a day's loss), each stopping
//! new plans and cancelling what rests, until a reset; the kill switch through the control
//! file the engine watches (and SIGUSR1), which leaves no order resting and, asked to,
//! flattens the positions; and plans cut by the exposure caps so that the venue's ledger never
//! holds more than they allow.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use polyarb::adapters::polymarket::http::clob::Filter;
use polyarb::adapters::polymarket::signing::{OrderSide, OrderType};
use polyarb::adapters::polymarket::ws::user::UserMessage;
use polyarb::adapters::polymarket::ws::user_events::{TradeStatus, UserEvent};
use polyarb::core::{Amount, Size};
use polyarb::exec::journal::{MemoryJournal, OrderJournal};
use polyarb::exec::journal_db::StorageJournal;
use polyarb::exec::live::{Instrument, LiveDispatchStage, Sender, live_dispatch_with_risk};
use polyarb::exec::manager::{ExecConfig, OrderManager, SubmitOutcome};
use polyarb::exec::pairing::PairingConfig;
use polyarb::exec::risk_link::{AssetPlace, RiskSetup};
use polyarb::pipeline::stage::Stage;
use polyarb::risk::control::{self, Command, Request};
use polyarb::risk::{Breaker, RiskConfig};
use polyarb::storage::{StorageConfig, WriterHandle};
use polyarb::strategy::Opportunity;
use testkit::ScratchDir;

use testkit::wait_within;
use venue_testkit::trading::*;

fn open(path: &std::path::Path) -> (WriterHandle, StorageJournal) {
    let cfg = StorageConfig {
        path: path.to_path_buf(),
        ..StorageConfig::default()
    };
    let (writer, tx) = WriterHandle::spawn(&cfg).expect("storage");
    let j = StorageJournal::open(tx, path, Duration::from_secs(5)).expect("journal");
    (writer, j)
}

/// Feeds user-channel messages to the manager until a CONFIRMED trade of `order` (10 s).
fn confirm<J: OrderJournal>(mgr: &mut OrderManager<J>, l: &Listener, order: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let msg =
            l.ch.messages
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no confirmed trade of {order}"));
        mgr.on_user(&msg);
        if let UserMessage::Event(e) = &msg
            && let UserEvent::Trade(t) = e.as_ref()
            && t.status == TradeStatus::Confirmed
            && t.taker_order_id == order
        {
            return;
        }
    }
}

fn buy_now<J: OrderJournal>(
    mgr: &mut OrderManager<J>,
    m: &Market,
    plan: u64,
    size: &str,
) -> String {
    let r = mgr.submit(&[leg(plan, 1, m, "0.40", size, OrderType::Fok)]);
    assert!(
        matches!(r[0].outcome, SubmitOutcome::Accepted(_)),
        "{:?}",
        r[0].outcome
    );
    r[0].order_id.clone().unwrap()
}

#[test]
fn positions_accumulate_across_restarts_and_a_missed_fill_is_taken_from_the_venue() {
    let v = venue();
    let m = market(&v);
    set_book(&v, &m.yes, &[("0.38", "100")], &[("0.40", "100")]);
    let a = trader(&v, 61);
    let dir = ScratchDir::new("risk-restore");
    let db = dir.path().join("orders.db");

    // Run 1: 10 YES bought and recorded; then 5 more bought whose fill the engine never
    // hears of (it stops before the user channel delivers it).
    let l = listen(&v, &a);
    let (writer, j) = open(&db);
    let mut mgr = OrderManager::new(a.client.clone(), j, ExecConfig::default());
    assert!(
        mgr.restore_positions().agreed(),
        "a fresh journal and account agree"
    );
    let first = buy_now(&mut mgr, &m, 1, "10");
    confirm(&mut mgr, &l, &first);
    stored_row_becomes(&db, &m, (10_000_000, 4_000_000));
    buy_now(&mut mgr, &m, 2, "5");
    drop(mgr);
    writer.shutdown().unwrap();
    drop(l);
    wait_within(
        "the second buy at the venue",
        Duration::from_secs(5),
        || tokens(&v, &a, &m.yes) == 15_000_000,
    );

    // Run 2: the journal holds 10; the venue lists the missed trade: 15, row corrected.
    let (writer, j) = open(&db);
    let mut mgr = OrderManager::new(a.client.clone(), j, ExecConfig::default());
    let rep = mgr.restore_positions();
    assert_eq!(rep.journal_fills, 1, "{}", rep.line());
    assert_eq!(rep.fills_added, 1, "{}", rep.line());
    assert_eq!(rep.rows_corrected.len(), 1, "{}", rep.line());
    assert!(rep.balance_differences.is_empty(), "{}", rep.line());
    assert_eq!(mgr.positions.get(&m.yes).shares, 15_000_000);
    assert_eq!(mgr.positions.get(&m.yes).cost, 6_000_000);
    stored_row_becomes(&db, &m, (15_000_000, 6_000_000));
    let missed: Vec<_> = mgr.journal().stored_fills().unwrap();
    assert_eq!(missed.len(), 2, "the missed fill is journaled now");

    // A new fill on the token held adds to the row: 20, never 5.
    let l = listen(&v, &a);
    let third = buy_now(&mut mgr, &m, 3, "5");
    confirm(&mut mgr, &l, &third);
    stored_row_becomes(&db, &m, (20_000_000, 8_000_000));
    drop(mgr);
    writer.shutdown().unwrap();

    // Run 3: nothing to add or correct (a status the venue moved on since is recorded).
    let (writer, j) = open(&db);
    let mut mgr = OrderManager::new(a.client.clone(), j, ExecConfig::default());
    let rep = mgr.restore_positions();
    assert_eq!(rep.fills_added, 0, "{}", rep.line());
    assert!(rep.rows_corrected.is_empty(), "{}", rep.line());
    assert!(rep.balance_differences.is_empty(), "{}", rep.line());
    assert!(rep.errors.is_empty(), "{}", rep.line());
    assert_eq!(mgr.positions.get(&m.yes).shares, 20_000_000);
    drop(mgr);
    writer.shutdown().unwrap();
}

/// Waits until the writer has committed the row `want` of YES of `m` (5 s).
fn stored_row_becomes(db: &std::path::Path, m: &Market, want: (i64, i64)) {
    let mut last = None;
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        let c = rusqlite::Connection::open(db).unwrap();
        last = c
            .query_row(
                "SELECT size, cost FROM positions WHERE token_id = ?1",
                [m.yes.to_string()],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
            )
            .ok();
        if last == Some(want) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("the stored position of YES is {last:?}, not {want:?}");
}

/// A binary Dutch book (YES asset 0, NO asset 1) making `edge` 0.10 pUSD.
fn with_edge(yes: &str, no: &str, size: &str) -> Opportunity {
    Opportunity {
        edge: Amount(100_000),
        ..two_legs(yes, no, size)
    }
}

struct Desk {
    stage: LiveDispatchStage,
    sender: Sender<MemoryJournal>,
    requests: crossbeam::channel::Sender<Request>,
    answers: crossbeam::channel::Receiver<(u64, String)>,
}

/// The live sender for YES (asset 0) and NO (asset 1) of `m` under `cfg`, with a command line.
fn desk(a: &Trader, m: &Market, l: &Listener, cfg: RiskConfig, pairing: PairingConfig) -> Desk {
    let mgr = OrderManager::new(
        a.client.clone(),
        MemoryJournal::new(),
        ExecConfig::default(),
    );
    let inst = |token| {
        Some(Instrument {
            token_id: token,
            rules: m.rules,
            fees: m.fees,
            settle: None,
        })
    };
    let (req_tx, req_rx) = crossbeam::channel::unbounded();
    let (ans_tx, ans_rx) = crossbeam::channel::unbounded();
    let mut risk = RiskSetup::new(cfg);
    risk.places = vec![
        AssetPlace {
            asset: 0,
            market: 0,
            event: None,
        },
        AssetPlace {
            asset: 1,
            market: 0,
            event: None,
        },
    ];
    risk.commands = Some(req_rx);
    risk.answers = Some(ans_tx);
    let (stage, sender) = live_dispatch_with_risk(
        7,
        mgr,
        vec![inst(m.yes), inst(m.no)],
        Some(l.ch.messages.clone()),
        16,
        pairing,
        risk,
    )
    .unwrap();
    Desk {
        stage,
        sender,
        requests: req_tx,
        answers: ans_rx,
    }
}

impl Desk {
    fn ask(&self, id: u64, command: Command) -> String {
        self.requests.send(Request { id, command }).unwrap();
        let (got, text) = self
            .answers
            .recv_timeout(Duration::from_secs(10))
            .expect("the sender answers");
        assert_eq!(got, id);
        text
    }
}

/// A GTC BUY of YES far under the asks, resting at the venue.
fn rest(a: &Trader, m: &Market) -> String {
    let p = a.signed(m, m.yes, OrderSide::Buy, "0.05", "20", OrderType::Gtc);
    a.client.post_order(&p).unwrap().order_id
}

fn resting(a: &Trader) -> usize {
    a.client.open_orders(&Filter::default()).unwrap().len()
}

#[test]
fn refused_orders_trip_the_breaker_which_stops_plans_and_cancels_until_a_reset() {
    let v = venue();
    let m = market(&v);
    set_book(&v, &m.yes, &[("0.38", "100")], &[("0.40", "100")]);
    let a = trader(&v, 62);
    let l = listen(&v, &a);
    let cfg = RiskConfig {
        max_reject_rate_pct: Some(50),
        reject_window: 2,
        ..RiskConfig::default()
    };
    let mut d = desk(&a, &m, &l, cfg, PairingConfig::default());
    let stats = d.sender.stats.clone();
    let gate = d.sender.gate.clone();
    rest(&a, &m);
    assert_eq!(resting(&a), 1);
    // The venue refuses the next order request (both legs of a plan travel in one).
    v.fault(&polyarb_venue::Fault::OrderFail {
        count: 1,
        status: 400,
        retry_after_s: 1,
    })
    .unwrap();
    d.stage.process(with_edge("0.40", "0.62", "10"));
    wait_within("the reject-rate breaker", Duration::from_secs(10), || {
        gate.is_tripped(Breaker::RejectRate)
    });
    assert_eq!(stats.rejected.get(), 2);
    wait_within("resting orders canceled", Duration::from_secs(10), || {
        resting(&a) == 0
    });
    // Stopped: the next opportunity makes no plan.
    let orders = stats.orders.get();
    d.stage.process(with_edge("0.40", "0.62", "10"));
    assert_eq!(
        gate.halted_plans.load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(stats.orders.get(), orders);
    assert!(
        gate.line()
            .contains("reject_rate TRIPPED ×1 (2 of the last 2 orders refused")
    );
    // Reset: plans flow again and fill.
    let answer = d.ask(41, Command::Reset);
    assert!(answer.starts_with("reset: every breaker ok"), "{answer}");
    assert!(!gate.is_halted());
    d.stage.process(with_edge("0.40", "0.62", "10"));
    wait_within("the plan after the reset", Duration::from_secs(10), || {
        stats.filled.get() == 2
    });
    let mgr = d.sender.join().unwrap();
    let events: Vec<String> = mgr.journal().events().into_iter().map(|e| e.0).collect();
    assert_eq!(events, vec!["risk_trip", "risk_reset"]);
}

#[test]
fn slow_answers_trip_the_round_trip_breaker() {
    let v = venue();
    let m = market(&v);
    set_book(&v, &m.yes, &[("0.38", "100")], &[("0.40", "100")]);
    let a = trader(&v, 63);
    let l = listen(&v, &a);
    let cfg = RiskConfig {
        max_round_trip_p99_ms: Some(100),
        round_trip_window: 1,
        ..RiskConfig::default()
    };
    let mut d = desk(&a, &m, &l, cfg, PairingConfig::default());
    let gate = d.sender.gate.clone();
    d.stage.process(with_edge("0.40", "0.62", "5"));
    std::thread::sleep(Duration::from_millis(300));
    assert!(!gate.is_halted(), "{}", gate.line());
    v.fault(&polyarb_venue::Fault::OrderDelay {
        delay_ms: 400,
        count: 1,
    })
    .unwrap();
    d.stage.process(with_edge("0.40", "0.62", "5"));
    wait_within("the round-trip breaker", Duration::from_secs(10), || {
        gate.is_tripped(Breaker::RoundTrip)
    });
    drop(d.sender.join());
}

#[test]
fn an_unwind_residual_and_its_loss_trip_their_breakers() {
    // The NO leg is killed (3 NO shares offered at 0.62) and no slippage is allowed: the YES
    // leg's unwind sells 3 of 10 at 0.38 and leaves 7 (2.80 pUSD at 0.40), losing 0.06.
    let v = venue();
    let m = market(&v);
    set_book(
        &v,
        &m.yes,
        &[("0.38", "3"), ("0.37", "100")],
        &[("0.40", "100")],
    );
    let a = trader(&v, 64);
    let l = listen(&v, &a);
    let cfg = RiskConfig {
        max_unwind_residual: Some(Amount(2_000_000)),
        max_daily_loss: Some(Amount(50_000)),
        ..RiskConfig::default()
    };
    let mut d = desk(
        &a,
        &m,
        &l,
        cfg,
        PairingConfig {
            unwind_max_slippage_ticks: 0,
            ..PairingConfig::default()
        },
    );
    let gate = d.sender.gate.clone();
    d.stage.process(with_edge("0.40", "0.62", "10"));
    wait_within("both breakers", Duration::from_secs(10), || {
        gate.is_tripped(Breaker::UnwindResidual) && gate.is_tripped(Breaker::DailyLoss)
    });
    assert_eq!(d.sender.stats.unwind_residual_notional.get(), 2_800_000);
    assert!(
        gate.line()
            .contains("unwinds left 2.8 pUSD unsold (limit 2)"),
        "{}",
        gate.line()
    );
    assert!(
        gate.line()
            .contains("realized loss 0.06 pUSD today (limit 0.05)"),
        "{}",
        gate.line()
    );
    d.ask(1, Command::Reset);
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        !gate.is_halted(),
        "a reset counts from there: {}",
        gate.line()
    );
    drop(d.sender.join());
}

#[test]
fn the_kill_switch_through_the_control_file_leaves_nothing_resting_and_flattens() {
    let v = venue();
    let m = market(&v);
    set_book(&v, &m.yes, &[("0.38", "100")], &[("0.40", "100")]);
    let a = trader(&v, 65);
    let l = listen(&v, &a);
    let dir = ScratchDir::new("risk-kill");
    let control_file = dir.path().join("engine.control");
    let cfg = RiskConfig {
        control_file: Some(control_file.clone()),
        ..RiskConfig::default()
    };
    let mut d = desk(&a, &m, &l, cfg, PairingConfig::default());
    let stats = d.sender.stats.clone();
    let gate = d.sender.gate.clone();
    // The desk's watcher, as `polyarb feed` and `demo --live` run it.
    let (usr1, stop) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    let (req, ans) = (d.requests.clone(), d.answers.clone());
    let watcher = {
        let (p, u, s) = (control_file.clone(), usr1.clone(), stop.clone());
        std::thread::spawn(move || polyarb::cli::paper::watch(p, false, u, s, req, ans))
    };
    // A complete set bought, and two orders resting.
    d.stage.process(with_edge("0.40", "0.62", "10"));
    wait_within("the set", Duration::from_secs(10), || {
        stats.filled.get() == 2
    });
    rest(&a, &m);
    rest(&a, &m);
    assert_eq!(resting(&a), 2);
    wait_within(
        "the fills in the positions",
        Duration::from_secs(10),
        || tokens(&v, &a, &m.yes) == 10_000_000,
    );
    std::thread::sleep(Duration::from_millis(300));

    // `polyarb risk kill --flatten`: what the command does.
    let id = control::send(&control_file, Command::Kill { flatten: true }).unwrap();
    let answer = control::wait_answer(&control_file, id, Duration::from_secs(10))
        .unwrap()
        .expect("the engine answers");
    assert!(
        answer.starts_with("killed: 2 orders canceled at the venue"),
        "{answer}"
    );
    assert!(
        answer.contains("flattened: 20 shares sold, 0 left"),
        "{answer}"
    );
    assert_eq!(resting(&a), 0, "no order rests after the kill");
    assert_eq!(tokens(&v, &a, &m.yes), 0);
    assert_eq!(tokens(&v, &a, &m.no), 0);
    assert!(gate.is_tripped(Breaker::Kill));
    // Halted: nothing new is planned.
    d.stage.process(with_edge("0.40", "0.62", "10"));
    assert_eq!(
        gate.halted_plans.load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    // A reset through the file, then SIGUSR1's kill (the flag the signal sets).
    let id = control::send(&control_file, Command::Reset).unwrap();
    let answer = control::wait_answer(&control_file, id, Duration::from_secs(10))
        .unwrap()
        .expect("reset answered");
    assert!(answer.starts_with("reset"), "{answer}");
    assert!(!gate.is_halted());
    rest(&a, &m);
    usr1.store(true, std::sync::atomic::Ordering::SeqCst);
    wait_within("the signal's kill", Duration::from_secs(10), || {
        gate.is_tripped(Breaker::Kill) && resting(&a) == 0
    });
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    watcher.join().unwrap();
    let mgr = d.sender.join().unwrap();
    let events: Vec<String> = mgr.journal().events().into_iter().map(|e| e.0).collect();
    assert_eq!(events, vec!["risk_kill", "risk_reset", "risk_kill"]);
    assert_eq!(stats.kills.get(), 2);
}

#[test]
fn plans_cut_by_the_caps_never_let_the_ledger_hold_more() {
    let v = venue();
    let m = market(&v);
    set_book(&v, &m.yes, &[("0.38", "1000")], &[("0.40", "1000")]);
    let a = trader(&v, 66);
    let l = listen(&v, &a);
    // At most 25 shares of a token, 30 pUSD of the market.
    let cfg = RiskConfig {
        max_token_shares: Some(Size::parse("25").unwrap()),
        max_market_cost: Some(Amount(30_000_000)),
        ..RiskConfig::default()
    };
    let mut d = desk(&a, &m, &l, cfg, PairingConfig::default());
    let stats = d.sender.stats.clone();
    for size in ["10", "10", "10", "10", "7"] {
        d.stage.process(two_legs("0.40", "0.62", size));
        std::thread::sleep(Duration::from_millis(50));
    }
    wait_within("every plan decided", Duration::from_secs(10), || {
        stats.plans.get() == 5
    });
    let mgr = d.sender.join().unwrap();
    let (yes, no) = (tokens(&v, &a, &m.yes), tokens(&v, &a, &m.no));
    assert!(yes <= 25_000_000 && no <= 25_000_000, "{yes} {no}");
    // 25 sets at 1.02 = 25.5 pUSD fits the market's 30; 10 + 10 + 5 (cut) then nothing.
    assert_eq!((yes, no), (25_000_000, 25_000_000));
    assert_eq!(stats.guard.cut.get(), 1);
    assert_eq!(stats.guard.dropped.get(), 2);
    assert!(
        stats.guard.line().contains("token shares 3"),
        "{}",
        stats.guard.line()
    );
    assert_eq!(mgr.positions.get(&m.yes).shares, 25_000_000);
}
