//! The live feed against the local venue over real loopback sockets: books equal the venue's
//! after long runs, and the feed heals itself from dropped connections, gaps, stalls and
//! malformed frames. Every wait is bounded; nothing asserts on speed.

use std::time::Duration;

use polyarb::engine::{EngineSettings, Pipeline};
use polyarb_venue::{Fault, VenueHandle};
use testkit::wait_within;
use venue_testkit::engine::{self, converge};
use venue_testkit::wire::venue;

fn settings(v: &VenueHandle) -> EngineSettings {
    let mut s = EngineSettings::default();
    s.feed.ws_url = v.ws_url();
    s.feed.reconnect_base_ms = 20;
    s.feed.reconnect_max_ms = 200;
    s.resync.clob_url = v.http_url();
    s.book.watchdog_interval_ms = 20;
    s.book.reconnect_grace_ms = 500;
    s.book.resync_timeout_ms = 1_000;
    s.book.audit_after_ms = 0;
    // No endpoint: tests run side by side, and only one could have the shipped port.
    s.obs.serve = false;
    s
}

/// Injects `fault`, runs the venue at 2,000 changes/s until each `(what, reached)` holds in
/// turn (10 s each), then clears the fault and waits for every book to match the venue's.
fn through_fault(
    v: &VenueHandle,
    p: &Pipeline,
    fault: &Fault,
    steps: &[(&str, &dyn Fn() -> bool)],
) {
    v.fault(fault).unwrap();
    v.set_rate(2_000);
    v.resume();
    for (what, reached) in steps {
        wait_within(what, Duration::from_secs(10), reached);
    }
    v.fault(&Fault::Clear).unwrap();
    v.pause();
    converge(p, v);
}

fn all_healthy(p: &Pipeline, n: u64) -> bool {
    p.stats.book.healthy_assets.get() == n
}

#[test]
fn books_equal_the_venue_after_100k_events() {
    let v = venue(200, 11);
    let p = engine::start(&v, &settings(&v), 7);
    converge(&p, &v);
    let mut stepped = 0;
    while stepped < 100_000 {
        v.step(5_000);
        stepped += 5_000;
        // Let the stream drain now and then, as a live venue paces itself.
        if stepped % 20_000 == 0 {
            converge(&p, &v);
        }
    }
    converge(&p, &v);
    assert!(v.stats().hub.events >= 100_000, "{:?}", v.stats().hub);
    let b = &p.stats.book;
    assert_eq!((b.mismatch.get(), b.crossed.get()), (0, 0));
    assert_eq!(p.stats.parse.invalid.get(), 0);
    assert!(b.deltas.get() >= 100_000, "{} deltas", b.deltas.get());
    p.shutdown();
}

#[test]
fn reconnects_after_a_dropped_connection_and_heals_every_book() {
    let v = venue(40, 12);
    let p = engine::start(&v, &settings(&v), 7);
    converge(&p, &v);
    v.fault(&Fault::Close {
        conn: None,
        abrupt: true,
    })
    .unwrap();
    // The venue keeps trading while we are away.
    v.step(2_000);
    wait_within("a reconnect", Duration::from_secs(10), || {
        p.stats.feed.connects.get() >= 2
    });
    v.step(2_000);
    converge(&p, &v);
    assert!(p.stats.feed.reconnects.get() >= 1);
    assert!(
        p.stats.book.invalidations.get() >= 40,
        "every asset of the dropped connection was invalidated"
    );
    p.shutdown();
}

#[test]
fn a_gap_is_detected_and_healed_from_rest() {
    let v = venue(20, 13);
    let p = engine::start(&v, &settings(&v), 7);
    converge(&p, &v);
    v.fault(&Fault::Gap { asset_id: None }).unwrap();
    wait_within("the mismatch", Duration::from_secs(10), || {
        p.stats.book.mismatch.get() >= 1
    });
    wait_within("the resync", Duration::from_secs(10), || {
        p.stats.book.resyncs_completed.get() >= 1
    });
    v.step(1_000);
    converge(&p, &v);
    assert!(p.stats.resync.snapshots.get() >= 1);
    let report = p.shutdown();
    let resync = report
        .histograms
        .iter()
        .find(|h| h.name().starts_with("resync"))
        .unwrap();
    assert!(!resync.is_empty());
}

#[test]
fn an_audit_finds_a_silently_changed_book_and_resyncs_it() {
    let v = venue(10, 14);
    let mut s = settings(&v);
    s.book.audit_after_ms = 300;
    let p = engine::start(&v, &s, 7);
    converge(&p, &v);
    let b = &p.stats.book;
    // Quiet books are audited and found equal: nothing is marked.
    wait_within("audits of the quiet books", Duration::from_secs(10), || {
        b.audits.get() >= 10
    });
    assert_eq!(b.audit_mismatches.get(), 0);
    assert_eq!(b.resyncs_completed.get(), 0);
    // The venue changes a book and sends nothing: only an audit can see it.
    let target = v.asset_ids()[3].clone();
    v.fault(&Fault::SilentChange {
        asset_id: Some(target),
    })
    .unwrap();
    wait_within("an audit mismatch", Duration::from_secs(10), || {
        b.audit_mismatches.get() >= 1
    });
    wait_within("its resync", Duration::from_secs(10), || {
        b.resyncs_completed.get() >= 1 && b.rest_snapshots_applied.get() >= 1
    });
    converge(&p, &v);
    assert!(p.stats.resync.audit_calls.get() >= 1);
    p.shutdown();
}

#[test]
fn a_quiet_market_is_audited_without_a_resync_storm() {
    // 400 assets with heavy-tailed activity at 20 changes/s: most books stay silent far
    // longer than the audit threshold. Audits re-read them, find them equal, mark nothing.
    let v = venue(400, 17);
    let mut s = settings(&v);
    s.book.audit_after_ms = 500;
    s.resync.audit_per_10s = 40;
    let p = engine::start(&v, &s, 7);
    converge(&p, &v);
    let (b, r) = (&p.stats.book, &p.stats.resync);
    let (resyncs0, calls0) = (b.resyncs_completed.get(), r.calls.get());
    v.set_rate(20);
    v.resume();
    std::thread::sleep(Duration::from_secs(10));
    v.pause();
    let audits = b.audits.get();
    let audit_calls = r.audit_calls.get();
    assert!(audits >= 400, "every quiet book audited: {audits}");
    assert_eq!(b.audit_mismatches.get(), 0, "no faults, no differences");
    assert_eq!(
        b.resyncs_completed.get(),
        resyncs0,
        "no resync without a fault"
    );
    // Within the audit budget: 40 calls per 10 s (plus the bucket's initial 40).
    assert!(audit_calls <= 80 + 1, "{audit_calls} audit calls");
    assert_eq!(
        r.calls.get() - calls0,
        audit_calls,
        "every REST call was an audit"
    );
    converge(&p, &v);
    p.shutdown();
}

#[test]
fn a_stalled_connection_is_reconnected() {
    let v = venue(10, 15);
    let mut s = settings(&v);
    s.feed.silent_after_ms = 600;
    let p = engine::start(&v, &s, 7);
    converge(&p, &v);
    let fault = Fault::Stall {
        conn: None,
        duration_ms: None,
    };
    let f = &p.stats.feed;
    // PONGs keep coming, data does not: the io stage gives up on the connection.
    through_fault(
        &v,
        &p,
        &fault,
        &[
            ("a silent connection", &|| f.silent_connections.get() >= 1),
            ("a fresh connection", &|| f.connects.get() >= 2),
        ],
    );
    p.shutdown();
}

#[test]
fn malformed_frames_are_counted_and_survived() {
    let v = venue(10, 16);
    let p = engine::start(&v, &settings(&v), 7);
    converge(&p, &v);
    let before = p.stats.parse.invalid.get() + p.stats.parse.ignored.get();
    v.fault(&Fault::Malformed {
        conn: None,
        count: 25,
        shape: Default::default(),
    })
    .unwrap();
    wait_within("25 counted frames", Duration::from_secs(10), || {
        p.stats.parse.invalid.get() + p.stats.parse.ignored.get() >= before + 25
    });
    v.step(1_000);
    converge(&p, &v);
    p.shutdown();
}

#[test]
fn twelve_hundred_assets_over_several_connections_all_healthy() {
    let v = venue(1_200, 17);
    let p = engine::start(&v, &settings(&v), 7);
    wait_within("1200 healthy books", Duration::from_secs(30), || {
        all_healthy(&p, 1_200)
    });
    assert_eq!(
        p.stats.feed.open_connections.get(),
        6,
        "200 assets per connection"
    );
    v.step(5_000);
    converge(&p, &v);
    p.shutdown();
}

#[test]
fn rest_failures_fall_back_to_resubscribing() {
    let v = venue(10, 18);
    let p = engine::start(&v, &settings(&v), 7);
    converge(&p, &v);
    v.fault(&Fault::RestFail {
        count: 1_000,
        status: 500,
    })
    .unwrap();
    v.fault(&Fault::Gap { asset_id: None }).unwrap();
    wait_within("a resubscribe", Duration::from_secs(15), || {
        p.stats.resync.resubscribes.get() >= 1
    });
    wait_within("healthy again", Duration::from_secs(15), || {
        all_healthy(&p, 10)
    });
    v.fault(&Fault::Clear).unwrap();
    v.step(500);
    converge(&p, &v);
    p.shutdown();
}
