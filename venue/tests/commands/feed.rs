//! `polyarb feed` as a user runs it: the built binary against a venue it did not start, its
//! markets from the venue's Gamma, until `--duration`; every book healthy, nothing invalid,
//! and a config without a catalog refused with the key named.

use std::process::Command;

use polyarb_venue::{ModelConfig, Venue, VenueConfig, VenueHandle};

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("polyarb-cf-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A venue of `assets` synthetic outcome tokens changing 500 levels a second.
fn venue_config(assets: u32, seed: u64) -> VenueConfig {
    let mut cfg = VenueConfig {
        model: ModelConfig::for_assets(assets, seed),
        ..Default::default()
    };
    cfg.source.changes_per_s = 500;
    cfg
}

/// Writes `dir/feed.toml`: the venue's market WebSocket, REST and Gamma, the fused topology,
/// no status endpoint (tests run side by side: one on the shipped port would leave the
/// others warning that it is taken), then `extra` sections.
fn write_feed_config(
    venue: &VenueHandle,
    dir: &std::path::Path,
    extra: &str,
) -> std::path::PathBuf {
    let config = dir.join("feed.toml");
    std::fs::write(
        &config,
        format!(
            "[feed]\nws_url = \"{}\"\n[resync]\nclob_url = \"{}\"\n[pipeline]\nthreads = [\"io+parse+book+strategy+dispatch\"]\n[catalog]\ngamma_url = \"{}\"\n[obs]\nserve = false\n{extra}",
            venue.ws_url(),
            venue.http_url(),
            venue.gamma_url()
        ),
    )
    .unwrap();
    config
}

/// `polyarb feed --duration 3` with `config`, histograms under `dir`; its stdout, once it
/// has exited successfully.
fn run_feed(config: &std::path::Path, dir: &std::path::Path) -> String {
    let out = Command::new(testkit::bins::polyarb())
        .args(["feed", "--duration", "3", "--refresh-ms", "500", "--config"])
        .arg(config)
        .arg("--hgrm-dir")
        .arg(dir.join("hgrm"))
        .output()
        .expect("runs");
    testkit::stdout_of_success("polyarb feed", &out)
}

#[test]
fn feed_keeps_every_catalog_market_healthy_against_an_outside_venue() {
    let venue = Venue::start(venue_config(24, 5)).expect("venue starts");
    let dir = temp_dir("ok");
    let config = write_feed_config(&venue, &dir, "");
    let stdout = run_feed(&config, &dir);
    assert!(stdout.contains("markets  12 from"), "{stdout}");
    // The last live line: all 24 books healthy, nothing refused.
    let last = stdout
        .lines()
        .rfind(|l| l.starts_with('[') && l.contains("healthy"))
        .expect("a live line");
    assert!(last.contains("healthy 24/24"), "{last}");
    assert!(
        last.contains("invalid 0") && last.contains("mismatch 0"),
        "{last}"
    );
    let applied = stdout
        .lines()
        .find(|l| l.starts_with("frames "))
        .expect("summary");
    assert!(!applied.contains("applied 0 deltas"), "{applied}");
    assert!(dir.join("hgrm").read_dir().unwrap().next().is_some());
}

#[test]
fn feed_without_a_catalog_names_the_key() {
    let dir = temp_dir("bad");
    let config = dir.join("feed.toml");
    std::fs::write(&config, "[feed]\nws_url = \"ws://127.0.0.1:9/ws/market\"\n").unwrap();
    let out = Command::new(testkit::bins::polyarb())
        .args(["feed", "--duration", "1", "--config"])
        .arg(&config)
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("feed.toml") && err.contains("catalog"),
        "{err}"
    );
}

#[test]
fn live_feed_sends_paired_orders_to_the_venue_and_journals_them() {
    use polyarb::adapters::polymarket::http::clob::{ClobClient, ClobConfig, Filter};
    use polyarb::adapters::polymarket::signing::PrivateKey;

    // A neg-risk event of four questions among the markets, mispriced now and then in either
    // direction: YES asks summing under 1, or YES bids over 1 (NO asks under N − 1, which
    // `[strategy] no_side` lets the engine send).
    let mut cfg = venue_config(40, 11);
    cfg.model.mispricing_every_ms = 100;
    cfg.model.mispricing_duration_ms = 700;
    cfg.model.mispricing_margin = polyarb::core::Price(80_000);
    // The engine here trades as a plain EOA.
    cfg.trading.eoa_orders = polyarb_venue::trading::config::EoaOrders::Allowed;
    let venue = Venue::start(cfg).expect("venue starts");
    let dir = temp_dir("live");
    // The secrets are files the TOML points to (relative to it): the key, and credentials made
    // beforehand with L1 auth, as an operator would.
    let key_hex = format!("0x{:064x}", 0xfeed_u64);
    std::fs::write(dir.join("key.hex"), &key_hex).unwrap();
    let key = PrivateKey::from_hex(&key_hex).unwrap();
    let creds = polyarb::adapters::polymarket::http::clob::create_or_derive_api_key(
        &venue.http_url(),
        &key,
        137,
        0,
        std::time::Duration::from_secs(5),
    )
    .unwrap();
    std::fs::write(
        dir.join("creds.json"),
        serde_json::to_string(&creds).unwrap(),
    )
    .unwrap();
    let trading = format!(
        "[strategy]\nno_side = true\n[trading]\nmode = \"live\"\nkey_file = \"key.hex\"\ncreds_file = \"creds.json\"\nclob_url = \"{}\"\nuser_ws_url = \"{}\"\njournal = \"orders.db\"\nsignature_type = 0\n",
        venue.http_url(),
        venue.user_ws_url(),
    );
    let config = write_feed_config(&venue, &dir, &trading);
    let stdout = run_feed(&config, &dir);
    assert!(stdout.contains("trading  live"), "{stdout}");
    let account = stdout
        .lines()
        .find(|l| l.starts_with("account "))
        .unwrap_or_else(|| panic!("no account line:\n{stdout}"));
    assert!(account.contains(&key.address().to_checksum()), "{account}");
    let sent: u64 = account
        .split("orders sent ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{account}"));
    assert!(sent > 0, "{account}");
    // The venue saw them: this key's trades, as the venue reports them.
    let client = ClobClient::connect(ClobConfig::new(&venue.http_url()), key, creds).unwrap();
    let trades = client.trades(&Filter::default()).unwrap();
    assert!(!trades.is_empty(), "no trade at the venue; {account}");
    // And the journal (relative to the TOML) holds every order sent, each with an outcome.
    let db = rusqlite::Connection::open(dir.join("orders.db")).unwrap();
    let count = |sql: &str| db.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap() as u64;
    assert_eq!(
        count("SELECT COUNT(*) FROM orders WHERE order_type = 'FOK'"),
        sent
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM orders WHERE status IN ('sent', 'unknown')"),
        0
    );
}

#[test]
fn live_trading_without_a_key_file_names_the_key() {
    let dir = temp_dir("nokey");
    let config = dir.join("feed.toml");
    std::fs::write(
        &config,
        "[catalog]\ngamma_url = \"http://127.0.0.1:9/gamma\"\n[trading]\nmode = \"live\"\njournal = \"j.db\"\n",
    )
    .unwrap();
    let out = Command::new(testkit::bins::polyarb())
        .args(["feed", "--duration", "1", "--config"])
        .arg(&config)
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("feed.toml")
            && err.contains("trading.key_file")
            && err.contains("private key"),
        "{err}"
    );
}
