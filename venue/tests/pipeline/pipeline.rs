//! The pinned pipeline over loopback against the venue, with park waits (2-core safe):
//! topologies give identical books, shutdown drains every ring, tiny rings exercise the
//! backpressure policies without losing anything silently, missing cores only warn, and
//! Dutch books injected by the venue reach dispatch as intents.

use std::time::{Duration, Instant};

use polyarb::core::{AssetRegistry, Size};
use polyarb::engine::{EngineSettings, Pipeline};
use polyarb::pipeline::wait::WaitStrategy;
use polyarb::strategy::OutcomeGroup;
use polyarb_venue::{ModelConfig, Venue, VenueConfig, VenueHandle};

fn venue(model: ModelConfig) -> VenueHandle {
    let mut cfg = VenueConfig {
        model,
        ..Default::default()
    };
    cfg.source.paused = true;
    Venue::start(cfg).expect("venue starts")
}

fn settings(v: &VenueHandle, threads: &[&str]) -> EngineSettings {
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

fn start(v: &VenueHandle, s: &EngineSettings) -> Pipeline {
    let mut r = AssetRegistry::new();
    let mut groups = Vec::new();
    for m in v.markets() {
        let assets: Vec<_> = m
            .token_ids
            .iter()
            .map(|t| r.register(t.as_bytes()).unwrap())
            .collect();
        // The venue double's binary Dutch books are the mispricing it can inject on request:
        // YES and NO of one market pay exactly 1 together, a one-question YES-side set.
        if assets.len() == 2 {
            groups.push(OutcomeGroup::new(
                groups.len() as u32,
                assets,
                vec![],
                Default::default(),
                Size(5_000_000),
            ));
        }
    }
    Pipeline::start(s, r, groups, 3).expect("pipeline starts")
}

fn wait_until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn books_match(p: &Pipeline, v: &VenueHandle) -> Result<(), String> {
    let ours = p.dump_books(Duration::from_secs(5)).ok_or("no dump")?;
    let theirs = v.books().books;
    if ours.len() != theirs.len() {
        return Err(format!("{} vs {} books", ours.len(), theirs.len()));
    }
    for (a, b) in ours.iter().zip(&theirs) {
        if a.asset_id != b.asset_id || a.state != "ok" || a.bids != b.bids || a.asks != b.asks {
            return Err(format!("{} differs ({})", a.asset_id, a.state));
        }
    }
    Ok(())
}

fn converge(p: &Pipeline, v: &VenueHandle) {
    let t = Instant::now();
    loop {
        let Err(e) = books_match(p, v) else { return };
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "books never matched: {e}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn five_threads_and_fused_topologies_give_the_venues_books() {
    for threads in [
        &["io", "parse", "book", "strategy", "dispatch"][..],
        &["io+parse+book+strategy+dispatch"][..],
        &["io", "parse+book+strategy+dispatch"][..],
    ] {
        let v = venue(ModelConfig::for_assets(100, 21));
        let p = start(&v, &settings(&v, threads));
        converge(&p, &v);
        for _ in 0..6 {
            v.step(5_000);
        }
        converge(&p, &v);
        let b = &p.stats.book;
        assert_eq!(
            (
                b.mismatch.get(),
                b.crossed.get(),
                p.stats.parse.lost_messages.get()
            ),
            (0, 0, 0),
            "{threads:?}"
        );
        let rep = p.shutdown();
        assert!(
            rep.histograms
                .iter()
                .any(|h| h.name() == "received → book applied" && !h.is_empty())
        );
    }
}

#[test]
fn shutdown_drains_every_ring() {
    let v = venue(ModelConfig::for_assets(200, 22));
    let p = start(
        &v,
        &settings(&v, &["io", "parse", "book", "strategy", "dispatch"]),
    );
    converge(&p, &v);
    v.set_rate(0);
    v.resume();
    std::thread::sleep(Duration::from_millis(300));
    // Stop while the flood is in flight: whatever the io stage read must be applied.
    let s = p.stats.clone();
    let rep = p.shutdown();
    v.pause();
    let read = s.feed.frames.get();
    assert!(read > 100, "the flood was running ({read} frames)");
    assert_eq!(s.parse.frames.get(), read, "every frame read was parsed");
    assert_eq!(
        s.book.frames.get(),
        read,
        "every parsed frame reached the books"
    );
    assert_eq!(s.parse.lost_messages.get() + s.feed.frames_dropped.get(), 0);
    let applied = rep
        .histograms
        .iter()
        .find(|h| h.name() == "received → book applied")
        .unwrap();
    assert_eq!(applied.len(), read);
}

#[test]
fn tiny_rings_stall_and_count_but_lose_nothing() {
    let v = venue(ModelConfig::for_assets(200, 23));
    let mut s = settings(&v, &["io", "parse", "book", "strategy", "dispatch"]);
    s.pipeline.rings.frames = 16;
    s.pipeline.rings.msgs = 16;
    s.pipeline.rings.tops = 16;
    s.pipeline.rings.opportunities = 16;
    let p = start(&v, &s);
    converge(&p, &v);
    for _ in 0..10 {
        v.step(5_000);
    }
    converge(&p, &v);
    let st = &p.stats;
    let full: u64 = st.rings().iter().map(|r| r.full).sum();
    assert!(full > 0, "the rings never filled: {:?}", st.rings());
    assert!(st.parse.stalls.get() + st.feed.stalls.get() > 0);
    // Stalls within the budget are lossless; any loss would have been invalidated and healed,
    // and the books above matched the venue exactly.
    p.shutdown();
}

#[test]
fn pinning_to_a_missing_core_only_warns() {
    let v = venue(ModelConfig::for_assets(20, 24));
    let mut s = settings(&v, &["io", "parse+book+strategy+dispatch"]);
    s.pipeline.stages.io.core = Some(4096);
    s.pipeline.stages.parse.core = Some(0);
    let p = start(&v, &s);
    converge(&p, &v);
    let w = p.warnings();
    assert!(
        w.iter().any(|w| w.contains("core 4096 does not exist")),
        "{w:?}"
    );
    assert_eq!(w.len(), 1, "core 0 exists and pins: {w:?}");
    p.shutdown();
}

#[test]
fn injected_dutch_books_become_dry_run_intents() {
    let v = venue(ModelConfig {
        binary_dutch_fault_margin: polyarb::core::Price(30_000),
        ..ModelConfig::for_assets(20, 25)
    });
    let p = start(
        &v,
        &settings(&v, &["io", "parse", "book", "strategy", "dispatch"]),
    );
    converge(&p, &v);
    let market = v
        .inject_dutch_book(None)
        .expect("a binary market takes a Dutch book");
    wait_until("an opportunity", Duration::from_secs(10), || {
        p.stats.strategy.opportunities.get() >= 1
    });
    wait_until("its intents", Duration::from_secs(10), || {
        p.stats.dispatch.intents.get() >= 2
    });
    let intents = p.drain_intents(100);
    let m = &v.markets()[market as usize];
    let legs: Vec<String> = intents
        .iter()
        .take(2)
        .map(|i| p.registry.info(i.asset).unwrap().token_str.to_string())
        .collect();
    assert_eq!(intents[0].plan_id, intents[1].plan_id);
    assert_eq!(
        legs, m.token_ids,
        "both legs of the injected market, YES then NO"
    );
    let sum = intents[0].price.0 + intents[1].price.0;
    assert!(sum < 980_000, "asks sum {sum} leaves the minimum edge");
    p.shutdown();
}
