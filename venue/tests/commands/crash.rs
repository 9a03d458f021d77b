//! Crash restore: `polyarb feed` trading live against the venue, whose answers to order
//! requests come late (after matching), is killed with SIGKILL while orders are in flight,
//! again and again; each restart must settle from the journal and the venue what the killed
//! run left (unknown orders looked up, positions rebuilt, undecided plans paired or unwound)
//! without sending any journaled order again. At the end the venue's ledger of the account
//! equals the engine's positions to the micro-unit, every plan has an outcome, and no order
//! reached the venue twice.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use polyarb::adapters::polymarket::http::clob::Filter;
use polyarb_venue::Fault;
use testkit::bins;
use venue_testkit::trading::{balances, fund, trader};

/// Orders journaled without a known outcome (in flight), read beside the running engine.
fn in_flight(db: &Path) -> u64 {
    let Ok(c) =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
    else {
        return 0;
    };
    c.query_row(
        "SELECT COUNT(*) FROM orders WHERE status IN ('sent', 'unknown')",
        [],
        |r| r.get::<_, i64>(0),
    )
    .map_or(0, |n| n as u64)
}

fn feed(config: &Path, duration: &str) -> Command {
    let mut c = Command::new(bins::polyarb());
    c.args([
        "feed",
        "--duration",
        duration,
        "--refresh-ms",
        "500",
        "--config",
    ])
    .arg(config)
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    c
}

#[test]
fn an_engine_killed_mid_plan_again_and_again_restarts_to_the_venues_ledger() {
    let venue = super::mispriced_venue();
    // The test's client and the engine are one account: the testkit's key `0x1000 + n`.
    let t = trader(&venue, 0xc4a5);
    // Enough pUSD that every round still finds plans it can afford.
    fund(&venue, &t, "100000", &[]);
    let dir = testkit::scratch("crash-restore");
    std::fs::write(
        dir.join("key.hex"),
        format!("0x{:064x}", 0x1000 + 0xc4a5_u64),
    )
    .unwrap();
    std::fs::write(
        dir.join("creds.json"),
        serde_json::to_string(&t.creds).unwrap(),
    )
    .unwrap();
    let config = dir.join("feed.toml");
    std::fs::write(
        &config,
        format!(
            "[feed]\nws_url = \"{}\"\n[resync]\nclob_url = \"{}\"\n[pipeline]\nthreads = [\"io\", \"parse+book+strategy+dispatch\"]\n\
             [catalog]\ngamma_url = \"{}\"\n[strategy]\nno_side = true\n\
             [trading]\nmode = \"live\"\nkey_file = \"key.hex\"\ncreds_file = \"creds.json\"\nclob_url = \"{}\"\nuser_ws_url = \"{}\"\njournal = \"orders.db\"\nsignature_type = 0\n\
             [obs]\nserve = false\n",
            venue.ws_url(),
            venue.http_url(),
            venue.gamma_url(),
            venue.http_url(),
            venue.user_ws_url(),
        ),
    )
    .unwrap();
    let db = dir.join("orders.db");
    // Every answer to an order request comes 600 ms after its orders were matched.
    venue
        .fault(&Fault::OrderDelay {
            delay_ms: 600,
            count: 1_000_000,
        })
        .unwrap();
    let mut kills = 0;
    for round in 0..4u64 {
        let mut child = feed(&config, "60").spawn().expect("runs");
        let deadline = Instant::now() + Duration::from_secs(60);
        // Killed while orders are in flight: sent, their answers not yet in. Each round waits
        // a little longer after seeing them, so the kills land at different moments of a plan
        // (its answers due, in, or its unwind on the way).
        loop {
            if in_flight(&db) > 0 {
                std::thread::sleep(Duration::from_millis(100 * round));
                break;
            }
            if let Ok(Some(s)) = child.try_wait() {
                let mut out = String::new();
                std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut out).ok();
                let mut err = String::new();
                std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).ok();
                panic!("round {round}: the engine exited ({s}) before any order:\n{out}\n{err}");
            }
            assert!(
                Instant::now() < deadline,
                "round {round}: no order in flight within 60 s"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        child.kill().expect("SIGKILL");
        child.wait().unwrap();
        kills += 1;
    }
    assert_eq!(kills, 4);
    // The last run answers promptly and ends by itself: it restores what the last kill left,
    // trades a little, and prints its summary.
    venue.fault(&Fault::Clear).unwrap();
    let mut child = feed(&config, "5").spawn().expect("runs");
    let stdout = child.stdout.take().unwrap();
    let lines: Vec<String> = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .collect();
    let code = child.wait().unwrap();
    let out = lines.join("\n");
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).ok();
    assert!(code.success(), "{out}\n{err}");
    let pairing = lines
        .iter()
        .find(|l| l.starts_with("pairing: "))
        .unwrap_or_else(|| panic!("no pairing line:\n{out}"));
    let restored: u64 = pairing
        .split("restored after a restart ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{pairing}"));
    assert!(
        restored >= 1,
        "the last kill left a plan in flight: {pairing}"
    );
    assert!(pairing.contains("undecided 0"), "{pairing}");
    // The journal against the venue, read directly.
    let c = rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap();
    let mut held: BTreeMap<String, i64> = BTreeMap::new();
    let mut st = c.prepare("SELECT token_id, size FROM positions").unwrap();
    for r in st
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
        .unwrap()
    {
        let (token, size) = r.unwrap();
        if size != 0 {
            held.insert(token, size);
        }
    }
    let b = balances(&venue, &t);
    let theirs: BTreeMap<String, i64> = b["tokens"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v["total"].as_i64().unwrap()))
                .filter(|(_, v)| *v != 0)
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(held, theirs, "stored positions vs the venue's ledger");
    assert!(!held.is_empty(), "the runs traded nothing");
    // Every plan that sent an order has an outcome (paired or unwound).
    let open: i64 = c
        .query_row(
            "SELECT COUNT(DISTINCT plan_id) FROM orders WHERE plan_id NOT IN
             (SELECT plan_id FROM order_journal WHERE order_hash = 'plan')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(open, 0, "plans left without an outcome");
    // No order twice: the venue never saw a hash again, and no leg has two orders that traded.
    let stats = venue.stats();
    assert_eq!(
        stats
            .trading_rejections
            .get("duplicated")
            .copied()
            .unwrap_or(0),
        0,
        "{:?}",
        stats.trading_rejections
    );
    let mut leg_of: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut st = c
        .prepare("SELECT order_hash, plan_id, client_oid FROM orders")
        .unwrap();
    for r in st
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })
        .unwrap()
    {
        let (hash, plan, oid) = r.unwrap();
        let base = oid.split('.').next().unwrap().to_string();
        leg_of.insert(hash, (plan, base));
    }
    let trades = t
        .client
        .trades(&Filter::default())
        .expect("GET /data/trades");
    assert!(!trades.is_empty());
    let mut orders_of_leg: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for tr in &trades {
        let leg = leg_of
            .get(&tr.taker_order_id)
            .unwrap_or_else(|| panic!("order {} traded but never journaled", tr.taker_order_id));
        orders_of_leg
            .entry(leg.clone())
            .or_default()
            .insert(tr.taker_order_id.clone());
    }
    for (leg, orders) in &orders_of_leg {
        assert_eq!(orders.len(), 1, "leg {leg:?} traded as {orders:?}");
    }
}
