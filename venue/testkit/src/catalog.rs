//! The venue's Gamma and the catalog: a fast-retrying Gamma client and catalog config pointed
//! at a venue, the venue's admin endpoints as `(status, body)`, engine settings for catalog
//! runs, and neg-risk events mispriced on request.

use polyarb::adapters::polymarket::gamma::{GammaClient, GammaClientConfig};
use polyarb::catalog::CatalogConfig;
use polyarb::engine::{EngineSettings, Pipeline};
use polyarb_venue::VenueHandle;
use polyarb_venue::gamma::GammaStats;
use serde_json::Value;

use crate::engine;
use crate::wire::Http;

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

/// `(status, body)` of a GET on the venue.
pub fn get(v: &VenueHandle, path: &str) -> (u16, String) {
    let r = Http::new(v).get(path);
    (r.status, r.body)
}

/// `(status, JSON)` of a POST on the venue (`null` for a body that is not JSON).
pub fn post(v: &VenueHandle, path: &str, body: &Value) -> (u16, Value) {
    let r = Http::new(v).post(path, &body.to_string());
    (
        r.status,
        serde_json::from_str(&r.body).unwrap_or(Value::Null),
    )
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

/// `engine::settings` with no staleness limit on tops (a paused venue is silent on purpose).
pub fn engine_settings(v: &VenueHandle, threads: &[&str]) -> EngineSettings {
    let mut s = engine::settings(v, threads);
    s.strategy.max_top_age_ms = 0;
    s
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
