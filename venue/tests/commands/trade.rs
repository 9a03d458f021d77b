//! `polyarb order place|cancel|list`, run as the built binary against the local venue: a
//! `[clob]` TOML naming the key file, an SQLite journal, idempotent re-runs, local refusals.

use std::process::{Command, Output};

use polyarb::storage::load::TempDir;
use serde_json::Value;

use venue_testkit::trading::*;
use venue_testkit::wire::agent;

fn polyarb(args: &[&str]) -> Output {
    Command::new(testkit::bins::polyarb())
        .args(args)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn place_list_cancel_through_a_config_file() {
    let v = venue();
    let m = market(&v);
    set_book(&v, &m.yes, &[("0.30", "100")], &[("0.70", "100")]);
    let dir = TempDir::new("cli-trade");
    std::fs::write(dir.path().join("key.hex"), format!("0x{:064x}\n", 0x77u32)).unwrap();
    let cfg = dir.path().join("trader.toml");
    std::fs::write(
        &cfg,
        format!(
            "[clob]\nurl = \"{}\"\nkey_file = \"key.hex\"\njournal_db = \"orders.db\"\nsignature_type = 0\n",
            v.http_url()
        ),
    )
    .unwrap();
    let cfg = cfg.to_str().unwrap();
    let token = m.yes.to_string();
    let place = |price: &str, plan: &str| {
        polyarb(&[
            "order",
            "place",
            "--config",
            cfg,
            "--token-id",
            &token,
            "--side",
            "BUY",
            "--price",
            price,
            "--size",
            "10",
            "--plan-id",
            plan,
        ])
    };
    let first = place("0.20", "7");
    assert!(first.status.success(), "{first:?}");
    let j: Value = serde_json::from_str(&stdout(&first)).unwrap();
    assert_eq!(j["outcome"], "Accepted(Live)");
    let id = j["order_id"].as_str().unwrap().to_string();
    // The same plan again: the journal says it was sent; nothing goes out.
    let again: Value = serde_json::from_str(&stdout(&place("0.20", "7"))).unwrap();
    assert_eq!(
        (again["outcome"].as_str(), again["order_id"].as_str()),
        (Some("AlreadySent(Live)"), Some(id.as_str()))
    );
    // Off the tick grid: refused locally with the venue's error name, exit status 1.
    let off = place("0.205", "8");
    assert!(!off.status.success());
    assert!(
        stdout(&off).contains("breaks minimum tick size rule: 0.01"),
        "{off:?}"
    );
    let list = polyarb(&["order", "list", "--config", cfg]);
    let listed = stdout(&list);
    assert_eq!(listed.lines().count(), 1, "{listed}");
    assert!(
        listed.starts_with(&format!("{id} LIVE BUY 10 @ 0.2")),
        "{listed}"
    );
    let c: Value = serde_json::from_str(&stdout(&polyarb(&[
        "order", "cancel", "--config", cfg, "--all",
    ])))
    .unwrap();
    assert_eq!(c["canceled"], serde_json::json!([id]));
    assert!(stdout(&polyarb(&["order", "list", "--config", cfg])).is_empty());
    // The journal was told: the order row says canceled.
    let db = rusqlite::Connection::open(dir.path().join("orders.db")).unwrap();
    let status: String = db
        .query_row(
            "SELECT status FROM orders WHERE order_hash = ?1",
            [&id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(status, "canceled");
    // A config naming a missing key file says which key.
    std::fs::write(
        dir.path().join("bad.toml"),
        format!(
            "[clob]\nurl = \"{}\"\nkey_file = \"nope.hex\"\nsignature_type = 0\n",
            v.http_url()
        ),
    )
    .unwrap();
    let bad = polyarb(&[
        "order",
        "list",
        "--config",
        dir.path().join("bad.toml").to_str().unwrap(),
    ]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("clob.key_file"));
}

/// A `[clob]` deposit-wallet account (signature type 3, the default): `order place` signs with
/// maker = signer = the wallet the venue made for the key's owner (its first API key opens
/// and funds it) and the order rests on the wallet's pUSD; a type that does not fit its
/// funder is a config error naming the file, the key and what was expected.
#[test]
fn a_deposit_wallet_config_places_orders_and_misfits_are_named() {
    let v = venue();
    let m = market(&v);
    set_book(&v, &m.yes, &[("0.30", "100")], &[("0.70", "100")]);
    let dir = TempDir::new("cli-trade-1271");
    let key_hex = format!("0x{:064x}", 0x78u32);
    std::fs::write(dir.path().join("key.hex"), format!("{key_hex}\n")).unwrap();
    let key_address = polyarb::adapters::polymarket::signing::PrivateKey::from_hex(&key_hex)
        .unwrap()
        .address()
        .to_checksum();
    // The wallet's address, as a user learns it from the venue.
    let get = |path: &str| -> Value {
        let mut r = agent()
            .get(format!("{}{path}", v.http_url()))
            .call()
            .unwrap();
        serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap()
    };
    let wallet = get(&format!("/admin/deposit-wallet?owner={key_address}"))["deposit_wallet"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(wallet, key_address);
    let write = |name: &str, account: &str| {
        let p = dir.path().join(name);
        std::fs::write(
            &p,
            format!(
                "[clob]\nurl = \"{}\"\nkey_file = \"key.hex\"\n{account}",
                v.http_url()
            ),
        )
        .unwrap();
        p.to_str().unwrap().to_string()
    };
    let cfg = write("wallet.toml", &format!("funder = \"{wallet}\"\n"));
    let token = m.yes.to_string();
    let placed = polyarb(&[
        "order",
        "place",
        "--config",
        &cfg,
        "--token-id",
        &token,
        "--side",
        "BUY",
        "--price",
        "0.20",
        "--size",
        "10",
        "--plan-id",
        "1",
    ]);
    assert!(placed.status.success(), "{placed:?}");
    let j: Value = serde_json::from_str(&stdout(&placed)).unwrap();
    assert_eq!(j["outcome"], "Accepted(Live)");
    assert_eq!(level(&rest_book(&v, &m.yes), "bids", "0.2"), "10");
    // The BUY's $2 is held in the wallet's ledger, not the owner key's.
    let held = |who: &str| {
        let b = get(&format!("/admin/balances?address={who}"));
        (
            b["collateral"]["total"].as_u64(),
            b["collateral"]["reserved"].as_u64(),
        )
    };
    assert_eq!(held(&wallet), (Some(1_000_000_000), Some(2_000_000)));
    assert_eq!(held(&key_address), (Some(1_000_000_000), Some(0)));

    // (account lines, what the error must name)
    let cases = [
        (
            "",
            vec!["clob.funder", "deposit wallet", "signature_type = 0"],
        ),
        ("signature_type = 1\n", vec!["clob.funder", "proxy"]),
        ("signature_type = 2\n", vec!["clob.funder", "Safe"]),
        (
            "signature_type = 7\n",
            vec!["clob.signature_type", "POLY_1271"],
        ),
        (
            &*format!("signature_type = 0\nfunder = \"{wallet}\"\n"),
            vec!["clob.funder", key_address.as_str(), "signature_type = 0"],
        ),
    ];
    for (k, (account, named)) in cases.iter().enumerate() {
        let cfg = write(&format!("bad{k}.toml"), account);
        let out = polyarb(&["order", "list", "--config", &cfg]);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(&format!("bad{k}.toml")), "{err}");
        for n in named {
            assert!(err.contains(n), "{account:?}: {n} not in {err}");
        }
        assert!(!err.contains("panicked"), "{err}");
    }
}

/// A deposit-wallet account asks the CLOB to refresh its balance once, with signature type
/// 3, before anything else it does (production sees the wallet's pUSD only after that).
#[test]
fn a_deposit_wallet_refreshes_its_balance_first() {
    let server = std::sync::Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
    let url = format!("http://{}", server.server_addr().to_ip().unwrap());
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let t = {
        let (s, seen) = (server.clone(), seen.clone());
        std::thread::spawn(move || {
            for req in s.incoming_requests() {
                let path = req.url().to_string();
                seen.lock().unwrap().push(path.clone());
                let body = if path == "/version" {
                    r#"{"version":2}"#
                } else if path.starts_with("/data/orders") {
                    r#"{"data":[],"next_cursor":"LTE="}"#
                } else {
                    "{}"
                };
                let _ = req.respond(tiny_http::Response::from_string(body));
            }
        })
    };
    let dir = TempDir::new("cli-trade-refresh");
    std::fs::write(dir.path().join("key.hex"), format!("0x{:064x}\n", 0x79u32)).unwrap();
    std::fs::write(
        dir.path().join("creds.json"),
        r#"{"apiKey":"k","secret":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","passphrase":"p"}"#,
    )
    .unwrap();
    let cfg = dir.path().join("w.toml");
    std::fs::write(
        &cfg,
        format!(
            "[clob]\nurl = \"{url}\"\nkey_file = \"key.hex\"\ncreds_file = \"creds.json\"\n\
             signature_type = 3\nfunder = \"0x5afe5afe5afe5afe5afe5afe5afe5afe5afe5afe\"\n"
        ),
    )
    .unwrap();
    let out = polyarb(&["order", "list", "--config", cfg.to_str().unwrap()]);
    server.unblock();
    t.join().unwrap();
    assert!(out.status.success(), "{out:?}");
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        [
            "/version",
            "/balance-allowance/update?asset_type=COLLATERAL&signature_type=3",
            "/data/orders",
        ]
    );
}
