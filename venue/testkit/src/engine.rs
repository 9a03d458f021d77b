//! The engine's pipeline against a venue: settings pointed at it, a pipeline over every asset
//! it lists with its binary markets as Dutch-book groups, and the check that the pipeline's
//! books equal the venue's.

use std::time::{Duration, Instant};

use polyarb::core::{AssetRegistry, Size};
use polyarb::engine::{EngineSettings, Pipeline};
use polyarb::pipeline::wait::WaitStrategy;
use polyarb::strategy::OutcomeGroup;
use polyarb_venue::VenueHandle;

/// Engine settings against the venue: the given thread layout, every stage parked (2 cores),
/// no periodic audit.
pub fn settings(v: &VenueHandle, threads: &[&str]) -> EngineSettings {
    let mut s = EngineSettings::default();
    s.feed.ws_url = v.ws_url();
    s.resync.clob_url = v.http_url();
    s.pipeline.threads = threads.iter().map(|t| t.to_string()).collect();
    s.pipeline.stages.set_wait(WaitStrategy::Park);
    s.book.audit_after_ms = 0;
    // Tests run side by side in one process: no endpoint on the default port, whose bind
    // would fail (a warning) for all but one of them.
    s.obs.serve = false;
    s
}

/// Every asset the venue lists, registered in its order.
pub fn registry(v: &VenueHandle) -> AssetRegistry {
    let mut r = AssetRegistry::new();
    for id in v.asset_ids() {
        r.register(id.as_bytes()).expect("a valid token id");
    }
    r
}

/// The venue's binary markets as Dutch-book groups: YES and NO of one market pay exactly 1
/// together, the mispricing the venue double injects on request. Group ids are market indices.
pub fn binary_groups(v: &VenueHandle, r: &AssetRegistry) -> Vec<OutcomeGroup> {
    v.markets()
        .iter()
        .enumerate()
        .filter(|(_, m)| m.token_ids.len() == 2)
        .map(|(i, m)| {
            OutcomeGroup::new(
                i as u32,
                m.token_ids
                    .iter()
                    .map(|t| r.lookup(t.as_bytes()).expect("a listed token"))
                    .collect(),
                vec![],
                Default::default(),
                Size(5_000_000),
            )
        })
        .collect()
}

/// A pipeline over every asset of the venue with its binary groups; `seed` seeds the engine.
pub fn start(v: &VenueHandle, s: &EngineSettings, seed: u64) -> Pipeline {
    let r = registry(v);
    let g = binary_groups(v, &r);
    Pipeline::start(s, r, g, seed).expect("pipeline starts")
}

/// Every venue book is present in ours, `ok`, with identical levels.
pub fn books_match(p: &Pipeline, v: &VenueHandle) -> Result<(), String> {
    let ours = p.dump_books(Duration::from_secs(5)).ok_or("no dump")?;
    let theirs = v.books().books;
    if ours.len() != theirs.len() {
        return Err(format!(
            "{} books here, {} at the venue",
            ours.len(),
            theirs.len()
        ));
    }
    for (a, b) in ours.iter().zip(theirs.iter()) {
        if a.asset_id != b.asset_id {
            return Err(format!("asset {} vs {}", a.asset_id, b.asset_id));
        }
        if a.state != "ok" {
            return Err(format!("{} is {} ({:?})", a.asset_id, a.state, a.reason));
        }
        if a.bids != b.bids || a.asks != b.asks {
            return Err(format!(
                "{} differs: ours {:?}/{:?} venue {:?}/{:?}",
                a.asset_id, a.bids, a.asks, b.bids, b.asks
            ));
        }
    }
    Ok(())
}

/// Waits (30 s at most) until our books equal the venue's: the stream is asynchronous.
pub fn converge(p: &Pipeline, v: &VenueHandle) {
    let t = Instant::now();
    loop {
        let Err(last) = books_match(p, v) else { return };
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "books never matched the venue: {last}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
