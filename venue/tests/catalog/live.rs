//! Markets listed and closed while the engine runs, over real loopback sockets, in the fused
//! one-thread topology and the split five-thread one: a neg-risk event hidden from the venue's
//! Gamma when the engine starts is listed; the catalog runner's next refresh extends every
//! stage's registry by message, defines the event's group and subscribes it without a restart;
//! its books equal the venue's, a complete set resting on it becomes an opportunity and
//! intents, and no frame about it was ever unresolvable. Then a question of another event is
//! closed: it is unsubscribed, its books retired (untradeable), and its event is never traded
//! while a third event still is. With storage on, the new event's books are stored under their
//! own keys: rebuilt from the database, they equal the engine's.

use std::time::Duration;

use polyarb::book::dump::BookDump;
use polyarb::catalog::MemoryStore;
use polyarb::core::TokenId;
use polyarb::engine::catalog_link::CatalogRunner;
use polyarb::engine::{EngineBuilder, Pipeline};
use polyarb_venue::{MarketSummary, VenueHandle};
use serde_json::json;
use testkit::{scratch, wait_until};
use venue_testkit::catalog::{catalog_config, engine_settings, intent_for, misprice_event, post};
use venue_testkit::wire::venue;

fn poll_updates(r: &mut CatalogRunner, p: &mut Pipeline, n: u64) {
    let want = r.refreshes + n;
    wait_until("catalog updates", || {
        r.poll(p);
        r.refreshes >= want
    });
}

fn list(v: &VenueHandle, market: &MarketSummary, listed: bool) {
    let (st, body) = post(
        v,
        "/admin/gamma/market",
        &json!({"market": market.condition_id, "listed": listed}),
    );
    assert_eq!(st, 200, "{body}");
}

/// The books of `tokens`, ours and the venue's, when ours are `ok` and equal.
fn same_books(p: &Pipeline, v: &VenueHandle, tokens: &[String]) -> Result<(), String> {
    let ours = p.dump_books(Duration::from_secs(5)).ok_or("no dump")?;
    let theirs = v.books().books;
    let pick = |d: &[BookDump]| -> Vec<BookDump> {
        tokens
            .iter()
            .filter_map(|t| d.iter().find(|b| b.asset_id == *t).cloned())
            .collect()
    };
    let (ours, theirs) = (pick(&ours), pick(&theirs));
    if ours.len() != tokens.len() || theirs.len() != tokens.len() {
        return Err(format!("{} of {} books", ours.len(), tokens.len()));
    }
    for (a, b) in ours.iter().zip(&theirs) {
        if a.state != "ok" || a.bids != b.bids || a.asks != b.asks {
            return Err(format!("{} differs ({})", a.asset_id, a.state));
        }
    }
    Ok(())
}

fn listed_then_closed(threads: &[&str], seed: u64, stored: bool) {
    // Three neg-risk events of four questions.
    let v = venue(120, seed);
    let mut events: Vec<Vec<MarketSummary>> = Vec::new();
    for m in v.markets().into_iter().filter(|m| m.neg_risk) {
        match events
            .iter_mut()
            .find(|e| e[0].neg_risk_market_id == m.neg_risk_market_id)
        {
            Some(e) => e.push(m),
            None => events.push(vec![m]),
        }
    }
    assert_eq!(events.len(), 3);
    let yes =
        |e: &[MarketSummary]| -> Vec<String> { e.iter().map(|m| m.token_ids[0].clone()).collect() };
    let (new, closed_event, other) = (&events[0], &events[1], &events[2]);
    let closed = &closed_event[0];
    let (new_yes, other_yes) = (yes(new), yes(other));
    // The questions of the closed one's event that stay open.
    let closed_yes: Vec<String> = yes(closed_event);
    let tokens: Vec<String> = new.iter().flat_map(|m| m.token_ids.clone()).collect();
    // Hidden from Gamma when the engine starts: first seen while it runs.
    for m in new {
        list(&v, m, false);
    }

    let mut cfg = catalog_config(&v);
    cfg.refresh_interval_s = 3600; // refreshes on demand only
    let (first, mut runner) =
        CatalogRunner::start(&cfg, Box::new(MemoryStore::new())).expect("catalog starts");
    let (groups, held) = first.selection.startup_groups();
    let mut s = engine_settings(&v, threads);
    let db = scratch(&format!("catalog-live-{seed}")).join("events.db");
    if stored {
        s.storage = Some(polyarb::storage::StorageConfig {
            path: db.clone(),
            batch_ms: 5,
            ..Default::default()
        });
    }
    let mut p = EngineBuilder::new(&s, first.selection.registry.clone(), groups)
        .held(&held)
        .seed(3)
        .start()
        .expect("pipeline starts");
    let n = first.selection.watched_assets.len() as u64;
    assert!(
        tokens
            .iter()
            .all(|t| p.registry.lookup(t.as_bytes()).is_none())
    );
    wait_until("every asset subscribed", || {
        p.stats.feed.subscribed_assets.get() == n
    });

    // Listed at run time: the next refresh extends the registry and subscribes it.
    for m in new {
        list(&v, m, true);
    }
    runner.refresh_now();
    poll_updates(&mut runner, &mut p, 1);
    let t = runner.totals.clone();
    assert_eq!(
        (t.added_assets, t.subscribed, t.refused_assets, t.deferred),
        (8, 8, 0, false),
        "{t:?}"
    );
    assert_eq!(t.defined_groups, 1, "the new event's group");
    let mut indices: Vec<u32> = tokens
        .iter()
        .map(|t| p.registry.lookup(t.as_bytes()).expect("registered").0)
        .collect();
    indices.sort_unstable();
    assert_eq!(
        indices,
        (n as u32..n as u32 + 8).collect::<Vec<_>>(),
        "indices continue the registry"
    );
    wait_until("the new event subscribed", || {
        p.stats.feed.subscribed_assets.get() == n + 8
    });
    wait_until("the new market's books equal the venue's", || {
        same_books(&p, &v, &tokens).is_ok()
    });
    v.step(2_000);
    wait_until("its books follow the venue's changes", || {
        same_books(&p, &v, &tokens).is_ok()
    });
    let opportunities = p.stats.strategy.opportunities.get();
    misprice_event(&v, &new_yes, 1);
    wait_until("an intent for the new event", || intent_for(&p, &tokens));
    assert!(p.stats.strategy.opportunities.get() > opportunities);
    let s = &p.stats;
    assert_eq!(s.parse.extended_assets.get(), 8);
    assert_eq!(s.book.extended_assets.get(), 8);
    assert_eq!(s.strategy.defined.get(), 1);
    assert_eq!(
        (s.parse.orphan.get(), s.book.ignored.get()),
        (0, 0),
        "no frame named a token a stage did not know"
    );

    // Closed at run time: unsubscribed, its books retired, never traded again.
    let (st, body) = post(
        &v,
        "/admin/gamma/market",
        &json!({"market": closed.condition_id, "set": {"closed": true, "acceptingOrders": false}}),
    );
    assert_eq!(st, 200, "{body}");
    runner.refresh_now();
    poll_updates(&mut runner, &mut p, 1);
    assert_eq!(runner.totals.unsubscribed, 2);
    assert_eq!(runner.totals.halted_groups, 1);
    wait_until("the closed market unsubscribed", || {
        p.stats.feed.subscribed_assets.get() == n + 6
    });
    wait_until("its books retired", || {
        p.stats.book.retired_assets.get() == 2
    });
    let dump = p.dump_books(Duration::from_secs(5)).expect("dump");
    assert!(
        closed
            .token_ids
            .iter()
            .all(|t| !dump.iter().any(|b| b.asset_id == *t)),
        "a retired book is gone from the dump"
    );
    misprice_event(&v, &closed_yes[1..], 2);
    misprice_event(&v, &other_yes, 2);
    // Everything before the other event's intent has been through the pipeline.
    wait_until("an intent for an open event", || intent_for(&p, &other_yes));
    misprice_event(&v, &closed_yes[1..], 3);
    misprice_event(&v, &new_yes, 3);
    wait_until("an intent for the new event again", || {
        intent_for(&p, &tokens)
    });
    assert!(
        !intent_for(&p, &closed_yes),
        "an event with a closed question is never traded"
    );
    wait_until("the new market's final books", || {
        same_books(&p, &v, &tokens).is_ok()
    });
    let last = p.dump_books(Duration::from_secs(5)).expect("dump");
    runner.shutdown();
    let rep = p.shutdown();
    if !stored {
        return;
    }
    let m = rep
        .storage
        .expect("storage on")
        .expect("writer stops cleanly");
    assert_eq!(
        m.rejected_unregistered, 0,
        "no event of an unregistered asset: {m:?}"
    );
    let mut store = polyarb::storage::SqliteStore::open(&polyarb::storage::StorageConfig {
        path: db,
        ..Default::default()
    })
    .unwrap();
    let now = polyarb::storage::time::unix_now_ns();
    for t in &tokens {
        let ours = last.iter().find(|b| b.asset_id == *t).expect("our book");
        let r = polyarb::storage::rebuild_at(&mut store, &TokenId::parse(t).unwrap(), now)
            .expect("the new asset is stored under its token");
        let book = r.dump().expect("rebuilt book");
        assert_eq!(book.bids, ours.bids, "stored bids of {t}");
        assert_eq!(book.asks, ours.asks, "stored asks of {t}");
    }
}

#[test]
fn a_market_listed_while_running_is_traded_and_a_closed_one_never_is_fused() {
    listed_then_closed(&["io+parse+book+strategy+dispatch"], 41, false);
}

#[test]
fn a_market_listed_while_running_is_traded_and_a_closed_one_never_is_split() {
    listed_then_closed(&["io", "parse", "book", "strategy", "dispatch"], 43, true);
}
