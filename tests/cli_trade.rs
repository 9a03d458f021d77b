//! `polyarb order place|cancel|list`, run as the built binary against the local venue: a
//! `[clob]` TOML naming the key file, an SQLite journal, idempotent re-runs, local refusals.

mod trading_support;

use std::process::{Command, Output};

use polyarb::storage::tempdir::TempDir;
use serde_json::Value;

use trading_support::*;

fn polyarb(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_polyarb"))
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
            "[clob]\nurl = \"{}\"\nkey_file = \"key.hex\"\njournal_db = \"orders.db\"\n",
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
        stdout(&off).contains("INVALID_ORDER_MIN_TICK_SIZE"),
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
            "[clob]\nurl = \"{}\"\nkey_file = \"nope.hex\"\n",
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
