//! `polyarb demo --live` as a user runs it (`polyarb-venue demo`, which `polyarb demo` runs): the built binary paper-trades the venue's injected
//! Dutch books with signed orders as the deposit wallet the venue made for its key (signature
//! type 3, under the shipped config that refuses EOA makers as production does), and what the
//! order manager says it holds is what the venue's ledger of that wallet holds, share for
//! share and micro-pUSD for micro-pUSD, taker fees and unwinds included.

use std::process::Command;

/// The number after `key` in `line` ("orders sent 24" → 24).
fn field(line: &str, key: &str) -> String {
    let rest = line
        .split(key)
        .nth(1)
        .unwrap_or_else(|| panic!("no {key:?} in {line}"));
    rest.split_whitespace().next().unwrap().to_string()
}

#[test]
fn live_demo_fills_agree_with_the_venue_ledger() {
    let dir = std::env::temp_dir().join(format!("polyarb-demo-live-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // The shipped demo config with neg-risk events mispriced often enough that 4 s always see
    // some the engine trades.
    let shipped =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../config/demo.toml"))
            .unwrap();
    let every = shipped
        .lines()
        .find(|l| l.starts_with("mispricing_every_ms"))
        .expect("demo.toml sets mispricing_every_ms");
    let config = dir.join("demo.toml");
    // And a 3% taker fee (exponent 1), so the ledger check covers fees too; the endpoint on a
    // free port (tests run side by side, one only could have the shipped one).
    let fee =
        "\n[venue.gamma]\nfee_rate = \"0.03\"\nfee_exponent = 1\n[obs]\nlisten = \"127.0.0.1:0\"\n";
    std::fs::write(
        &config,
        shipped.replace(every, "mispricing_every_ms = 150") + fee,
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_polyarb-venue"))
        .current_dir(&dir)
        .args(["demo", "--live", "--duration", "4", "--config"])
        .arg(&config)
        .arg("--journal")
        .arg(dir.join("orders.db"))
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // demo.toml lists two augmented events: refused with their reason at start and in the
    // summary, never watched.
    assert_eq!(
        stdout
            .lines()
            .filter(|l| l.trim_start().starts_with("group refused ") && l.ends_with(": augmented"))
            .count(),
        4,
        "{stdout}"
    );
    let account = stdout
        .lines()
        .find(|l| l.starts_with("paper account"))
        .unwrap_or_else(|| panic!("no paper account line:\n{stdout}"));
    // The endpoint took a free port and says which.
    let obs = stdout
        .lines()
        .find(|l| l.starts_with("obs      http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("no obs banner:\n{stdout}"));
    assert!(!obs.starts_with("obs      http://127.0.0.1:0 "), "{obs}");
    // The summary shows every breaker's state.
    for b in [
        "daily_loss",
        "unwind_residual",
        "reject_rate",
        "unknown_orders",
        "round_trip",
        "feed_health",
        "journal",
        "kill",
    ] {
        assert!(
            stdout.lines().any(|l| {
                let mut w = l.split_whitespace();
                w.next() == Some(b) && w.next() == Some("ok")
            }),
            "{b} missing from the summary:\n{stdout}"
        );
    }
    let sent: u64 = field(account, "orders sent ").parse().unwrap();
    let filled: u64 = field(account, " filled ").parse().unwrap();
    assert!(sent > 0 && filled > 0, "{account}");
    assert_eq!(field(account, " unknown "), "0", "{account}");

    // The account: the deposit wallet the venue derives for the paper key, signed for by it.
    let signer = field(account, "paper account ");
    let kind = stdout
        .lines()
        .find(|l| l.starts_with("account: "))
        .unwrap_or_else(|| panic!("no account line:\n{stdout}"));
    let wallet = field(kind, "account: deposit wallet ");
    let owner = polyarb::adapters::polymarket::signing::Address::parse(&signer).unwrap();
    assert_eq!(
        wallet,
        polyarb_venue::deposit_wallet_address(owner).to_checksum(),
        "{kind}"
    );
    assert_ne!(wallet, signer);
    assert_eq!(field(kind, "(signature type "), "3)", "{kind}");
    assert_eq!(field(kind, "· signer "), signer, "{kind}");

    // Pairing: its counters are reported, and every unwind is accounted for.
    let pairing = stdout
        .lines()
        .find(|l| l.starts_with("pairing: "))
        .unwrap_or_else(|| panic!("no pairing line:\n{stdout}"));
    let unwinds: u64 = field(pairing, "· unwinds ").parse().unwrap();
    let failed: u64 = field(pairing, "(failed ")
        .trim_end_matches(',')
        .parse()
        .unwrap();
    assert!(failed <= unwinds, "{pairing}");
    assert_eq!(field(pairing, "undecided "), "0", "{pairing}");

    // Money: what the order manager paid net of what it realized is what the venue took.
    let positions = stdout
        .lines()
        .find(|l| l.starts_with("positions "))
        .unwrap();
    let ledger = stdout
        .lines()
        .find(|l| l.starts_with("venue ledger: "))
        .unwrap();
    assert_ne!(
        field(positions, "(fees "),
        "0)",
        "takers pay fees: {positions}"
    );
    assert_eq!(
        field(positions, " net spent "),
        field(ledger, "(spent ").trim_end_matches(')'),
        "{positions}\n{ledger}"
    );
    // The venue's own ledger of the wallet (`/admin/balances`): the same pUSD spent, nothing
    // left reserved, as many tokens held as the positions count, every share equal.
    let wallet_ledger = stdout
        .lines()
        .find(|l| l.starts_with("venue ledger of "))
        .unwrap_or_else(|| panic!("no ledger line of the wallet:\n{stdout}"));
    assert_eq!(field(wallet_ledger, "venue ledger of "), wallet);
    assert_eq!(
        field(wallet_ledger, " · spent "),
        field(positions, " net spent "),
        "{positions}\n{wallet_ledger}"
    );
    assert_eq!(field(wallet_ledger, "(reserved "), "0)", "{wallet_ledger}");
    let held_tokens = wallet_ledger
        .split(" tokens held")
        .next()
        .and_then(|l| l.rsplit(' ').next())
        .unwrap();
    assert_eq!(
        held_tokens,
        field(positions, "positions "),
        "{positions}\n{wallet_ledger}"
    );
    assert!(
        wallet_ledger.ends_with("equals the positions: yes"),
        "{positions}\n{wallet_ledger}"
    );
    // The SQLite journal holds every order sent (FOK legs and FAK unwinds), none left
    // without an outcome, and the fills.
    let db = rusqlite::Connection::open(dir.join("orders.db")).unwrap();
    let count =
        |sql: &str| -> u64 { db.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap() as u64 };
    assert_eq!(
        count("SELECT COUNT(*) FROM orders WHERE order_type = 'FOK' AND side = 0"),
        sent,
        "{account}"
    );
    // Each unwind sends up to 3 FAK SELLs (one more per fresh book while bids remain above the
    // floor), none when there is nothing to sell into; each that sold everything sent one.
    let fak = count("SELECT COUNT(*) FROM orders WHERE order_type = 'FAK' AND side = 1");
    assert!(
        unwinds - failed <= fak && fak <= 3 * unwinds,
        "{fak} FAK orders · {pairing}"
    );
    assert_eq!(
        count(
            "SELECT COUNT(*) FROM orders WHERE order_type = 'FAK' AND (CAST(client_oid AS INTEGER) & 32768) = 0"
        ),
        0,
        "unwinds carry the unwind mark in their client id"
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM orders WHERE status IN ('sent', 'unknown')"),
        0
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM orders WHERE status = 'filled' AND order_type = 'FOK'"),
        filled,
        "{account}"
    );
    assert!(count("SELECT COUNT(*) FROM fills") >= filled);
    assert!(stdout.contains("journal errors 0"), "{stdout}");

    // Shares: every held token as the manager counts it and as the venue reports it.
    let held: Vec<&str> = stdout.lines().filter(|l| l.starts_with("  ")).collect();
    assert!(!held.is_empty(), "{stdout}");
    for l in held.iter().filter(|l| l.contains("(venue: ")) {
        assert_eq!(
            field(l, " · "),
            field(l, "(venue: ").trim_end_matches(')'),
            "{l}"
        );
    }
}
