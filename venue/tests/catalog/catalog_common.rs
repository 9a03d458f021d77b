//! Helpers of the catalog integration tests: a paused venue serving Gamma, a fast-retrying
//! Gamma client and catalog config pointed at it, and the venue's Gamma admin endpoints.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use polyarb::adapters::polymarket::gamma::{GammaClient, GammaClientConfig};
use polyarb::catalog::CatalogConfig;
use polyarb::engine::{EngineSettings, Pipeline};
use polyarb::pipeline::wait::WaitStrategy;
use polyarb_venue::gamma::GammaStats;
use polyarb_venue::{ModelConfig, Venue, VenueConfig, VenueHandle};
use serde_json::Value;

/// A paused synthetic venue of about `assets` assets, tweaked.
pub fn venue(assets: u32, seed: u64, tweak: impl FnOnce(&mut VenueConfig)) -> VenueHandle {
    let mut cfg = VenueConfig {
        model: ModelConfig::for_assets(assets, seed),
        ..VenueConfig::default()
    };
    cfg.source.paused = true;
    tweak(&mut cfg);
    Venue::start(cfg).expect("venue starts")
}

/// Client settings that retry fast (tests never wait on a real backoff).
pub fn fast_http() -> GammaClientConfig {
    GammaClientConfig {
        timeout_ms: 20_000,
        max_retries: 3,
        backoff_base_ms: 5,
        backoff_max_ms: 40,
        max_retry_after_s: 2,
        min_request_interval_ms: 0,
        ..GammaClientConfig::default()
    }
}

pub fn client(v: &VenueHandle) -> GammaClient {
    GammaClient::new(&v.gamma_url(), fast_http())
}

pub fn catalog_config(v: &VenueHandle) -> CatalogConfig {
    CatalogConfig {
        gamma_url: v.gamma_url(),
        http: fast_http(),
        ..CatalogConfig::default()
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .into()
}

/// `(status, body)` of a GET on the venue.
pub fn get(v: &VenueHandle, path: &str) -> (u16, String) {
    let mut r = agent()
        .get(format!("{}{path}", v.http_url()))
        .call()
        .expect("request completes");
    let status = r.status().as_u16();
    let body = r
        .body_mut()
        .with_config()
        .limit(64 << 20)
        .read_to_string()
        .expect("body");
    (status, body)
}

/// `(status, JSON)` of a POST on the venue.
pub fn post(v: &VenueHandle, path: &str, body: &Value) -> (u16, Value) {
    let mut r = agent()
        .post(format!("{}{path}", v.http_url()))
        .header("Content-Type", "application/json")
        .send(body.to_string())
        .expect("request completes");
    let status = r.status().as_u16();
    let text = r.body_mut().read_to_string().expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

pub fn fault(v: &VenueHandle, f: Value) {
    let (s, b) = post(v, "/admin/gamma/fault", &f);
    assert_eq!(s, 200, "{b}");
}

pub fn stats(v: &VenueHandle) -> GammaStats {
    let (s, b) = get(v, "/admin/gamma/stats");
    assert_eq!(s, 200, "{b}");
    serde_json::from_str(&b).expect("stats")
}

/// A scratch directory under the target dir, emptied.
pub fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("polyarb-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch dir");
    d
}

/// Engine settings against the venue: the given thread layout, every stage parked (2 cores),
/// no staleness limits (a paused venue is silent on purpose).
pub fn engine_settings(v: &VenueHandle, threads: &[&str]) -> EngineSettings {
    let mut s = EngineSettings::default();
    s.feed.ws_url = v.ws_url();
    s.resync.clob_url = v.http_url();
    s.pipeline.threads = threads.iter().map(|t| t.to_string()).collect();
    s.pipeline.stages.set_wait(WaitStrategy::Park);
    s.book.audit_after_ms = 0;
    s.strategy.max_top_age_ms = 0;
    s
}

/// Polls `f` every 20 ms; fails the test after 20 s.
pub fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The YES tokens of every question of the neg-risk event market `k` belongs to.
pub fn event_yes_tokens(v: &VenueHandle, k: u32) -> Vec<String> {
    let markets = v.markets();
    let nr = markets[k as usize]
        .neg_risk_market_id
        .clone()
        .expect("a neg-risk market");
    markets
        .iter()
        .filter(|m| m.neg_risk_market_id.as_ref() == Some(&nr))
        .map(|m| m.token_ids[0].clone())
        .collect()
}

/// Rests a YES-side complete set on the neg-risk event of `yes_tokens` through the venue's
/// admin book: every question's YES asks at 0.20 (bids 0.18), `n` shares more than 100 so that
/// each call is a new opportunity.
pub fn misprice_event(v: &VenueHandle, yes_tokens: &[String], n: u32) {
    for t in yes_tokens {
        let (st, body) = post(
            v,
            "/admin/book",
            &serde_json::json!({"asset_id": t, "bids": [["0.18", "100"]],
                                "asks": [["0.2", (100 + n).to_string()]]}),
        );
        assert_eq!(st, 200, "{body}");
    }
}

/// Whether an intent for one of `tokens` has arrived (intents drained on the way).
pub fn intent_for(p: &Pipeline, tokens: &[String]) -> bool {
    p.drain_intents(1000).iter().any(|i| {
        p.registry
            .info(i.asset)
            .is_some_and(|t| tokens.iter().any(|x| **x == *t.token_str))
    })
}
