//! The pinned pipeline over loopback against the venue, with park waits (2-core safe):
//! topologies give identical books, shutdown drains every ring, tiny rings exercise the
//! backpressure policies without losing anything silently, missing cores only warn, and
//! Dutch books injected by the venue reach dispatch as intents.

use std::time::Duration;

use testkit::wait_within;
use venue_testkit::engine::{self, converge, settings};
use venue_testkit::wire::{venue, venue_with};

use polyarb::engine::{EngineSettings, Pipeline};
use polyarb_venue::VenueHandle;
/// The engine over every asset of `v`, seeded as every test here is.
fn start_engine(v: &VenueHandle, s: &EngineSettings) -> Pipeline {
    engine::start(v, s, 3)
}

#[test]
fn five_threads_and_fused_topologies_give_the_venues_books() {
    for threads in [
        &["io", "parse", "book", "strategy", "dispatch"][..],
        &["io+parse+book+strategy+dispatch"][..],
        &["io", "parse+book+strategy+dispatch"][..],
    ] {
        let v = venue(100, 21);
        let p = start_engine(&v, &settings(&v, threads));
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
    let v = venue(200, 22);
    let p = start_engine(
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
    let v = venue(200, 23);
    let mut s = settings(&v, &["io", "parse", "book", "strategy", "dispatch"]);
    s.pipeline.rings.frames = 16;
    s.pipeline.rings.msgs = 16;
    s.pipeline.rings.tops = 16;
    s.pipeline.rings.opportunities = 16;
    let p = start_engine(&v, &s);
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
    let v = venue(20, 24);
    let mut s = settings(&v, &["io", "parse+book+strategy+dispatch"]);
    s.pipeline.stages.io.core = Some(4096);
    s.pipeline.stages.parse.core = Some(0);
    let p = start_engine(&v, &s);
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
    let v = venue_with(20, 25, |c| {
        c.model.binary_dutch_fault_margin = polyarb::core::Price(30_000);
    });
    let p = start_engine(
        &v,
        &settings(&v, &["io", "parse", "book", "strategy", "dispatch"]),
    );
    converge(&p, &v);
    let market = v
        .inject_dutch_book(None)
        .expect("a binary market takes a Dutch book");
    wait_within("an opportunity", Duration::from_secs(10), || {
        p.stats.strategy.opportunities.get() >= 1
    });
    wait_within("its intents", Duration::from_secs(10), || {
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
