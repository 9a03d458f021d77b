//! The shipped config files load and validate; broken ones name the file, the key and what
//! was expected. The `[venue]` section of an engine file is the venue double's to check
//! (`venue/src/config.rs` tests it).

use std::path::Path;

use polyarb::config::ConfigError;
use polyarb::engine::EngineSettings;

fn load(name: &str) -> Result<EngineSettings, ConfigError> {
    EngineSettings::load(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("config")
            .join(name),
    )
}

#[test]
fn shipped_engine_configs_load() {
    for f in [
        "demo.toml",
        "demo-catalog.toml",
        "flood.toml",
        "tuned.toml",
        "feed.toml",
    ] {
        let s = load(f).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert!(!s.pipeline.threads.is_empty());
    }
    let tuned = load("tuned.toml").unwrap();
    assert_eq!(tuned.pipeline.threads.len(), 5);
    assert_eq!(tuned.pipeline.stages.book.core, Some(4));
    let cat = load("demo-catalog.toml").unwrap();
    assert_eq!(cat.catalog.map(|c| c.refresh_interval_s), Some(5));
    // `demo --live` recycles its deposit wallet's sets through the venue's relayer.
    let chain = load("demo.toml")
        .unwrap()
        .chain
        .expect("demo.toml has [chain]");
    assert!(chain.recycle.enabled);
    assert_eq!(chain.recycle.min_sets, 5_000_000);
    assert_eq!(
        chain.account,
        polyarb::settlement::AccountType::DepositWallet
    );
}

fn broken(text: &str) -> String {
    let dir =
        std::env::temp_dir().join(format!("polyarb-cfg-{}-{}", std::process::id(), text.len()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("broken.toml");
    std::fs::write(&f, text).unwrap();
    let e = EngineSettings::load(&f)
        .expect_err("must be refused")
        .to_string();
    assert!(e.contains("broken.toml"), "names the file: {e}");
    e
}

#[test]
fn broken_configs_name_file_key_and_expectation() {
    let e = broken("[pipeline]\nthreads = [\"io\", \"book+parse\", \"strategy\", \"dispatch\"]\n");
    assert!(
        e.contains("pipeline.threads") && e.contains("in order"),
        "{e}"
    );
    let e = broken("[feed]\nmax_assets_per_connection = 900\n");
    assert!(
        e.contains("feed.max_assets_per_connection") && e.contains("500"),
        "{e}"
    );
    let e = broken("[feed]\nws_url = \"http://x\"\n");
    assert!(e.contains("feed.ws_url") && e.contains("ws://"), "{e}");
    let e = broken("[strategy]\nmin_profit = 0.02\n");
    assert!(
        e.contains("min_profit"),
        "a float is refused for money: {e}"
    );
    let e = broken("[strategy]\nmin_profit = \"0.0000001\"\n");
    assert!(
        e.contains("min_profit") || e.contains("fraction digits"),
        "{e}"
    );
    let e = broken("[pipeline.stages.io]\nwait = \"snooze\"\n");
    assert!(e.contains("wait") && e.contains("park"), "{e}");
    let e = broken("[catalog]\nrefresh_interval_s = 0\n");
    assert!(
        e.contains("catalog.refresh_interval_s") && e.contains("at least 1"),
        "{e}"
    );
    let e = broken("[trading]\nmode = \"live\"\njournal = \"j.db\"\n");
    assert!(
        e.contains("trading.key_file") && e.contains("private key"),
        "{e}"
    );
    let e = broken("[trading]\nkey = \"0x01\"\n");
    assert!(e.contains("key"), "secrets are never inline: {e}");
    let e = broken("[catalog.filters]\nmin_liquidty = 1.0\n");
    assert!(e.contains("min_liquidty"), "{e}");
    let e = broken("[chain.recycle]\nmin_set = 1\n");
    assert!(e.contains("min_set"), "{e}");
    let e = broken("[feed]\nmystery = 1\n");
    assert!(e.contains("mystery"), "{e}");
    let e = broken("[feed\n");
    assert!(e.contains("broken.toml"), "{e}");
}

#[test]
fn the_documented_trading_section_of_feed_toml_is_valid_when_uncommented() {
    let shipped =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/feed.toml")).unwrap();
    let (head, block) = shipped
        .split_once("# [trading]")
        .expect("a documented [trading]");
    let block: String = block
        .lines()
        .map(|l| l.strip_prefix("# ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n");
    let text = format!("{head}[trading]{block}\n");
    let f = std::env::temp_dir().join(format!("polyarb-feed-trading-{}.toml", std::process::id()));
    std::fs::write(&f, text).unwrap();
    let s = EngineSettings::load(&f).unwrap_or_else(|e| panic!("{e}"));
    let t = s.trading.expect("[trading]");
    assert!(t.is_live());
    assert_eq!(t.unwind_max_slippage_ticks, 2);
    assert!(t.key_file.is_some() && t.creds_file.is_some() && t.journal.is_some());
    // The documented [risk] block below it parses too.
    assert_eq!(s.risk.max_unknown_orders, Some(3));
    assert!(s.risk.max_gross_cost.is_some());
}
