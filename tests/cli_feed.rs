//! `polyarb feed` as a user runs it: the built binary against a venue it did not start, its
//! markets from the venue's Gamma, until `--duration`; every book healthy, nothing invalid,
//! and a config without a catalog refused with the key named.

use std::process::Command;

use polyarb::venue::{ModelConfig, Venue, VenueConfig};

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("polyarb-cf-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn feed_keeps_every_catalog_market_healthy_against_an_outside_venue() {
    let mut cfg = VenueConfig {
        model: ModelConfig::for_assets(24, 5),
        ..Default::default()
    };
    cfg.source.changes_per_s = 500;
    let venue = Venue::start(cfg).expect("venue starts");
    let dir = temp_dir("ok");
    let config = dir.join("feed.toml");
    std::fs::write(
        &config,
        format!(
            "[feed]\nws_url = \"{}\"\n[resync]\nclob_url = \"{}\"\n[pipeline]\nthreads = [\"io+parse+book+strategy+dispatch\"]\n[catalog]\ngamma_url = \"{}\"\n",
            venue.ws_url(),
            venue.http_url(),
            venue.gamma_url()
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_polyarb"))
        .args(["feed", "--duration", "3", "--refresh-ms", "500", "--config"])
        .arg(&config)
        .arg("--hgrm-dir")
        .arg(dir.join("hgrm"))
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
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
    let out = Command::new(env!("CARGO_BIN_EXE_polyarb"))
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
