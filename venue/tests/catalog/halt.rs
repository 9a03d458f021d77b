//! A rule change stops trading end to end, over real loopback sockets: the venue serves Gamma
//! and the market channel; the catalog (stored in SQLite) refreshes from Gamma and starts the
//! pipeline on its selection; a rule change made through the venue's admin endpoint, seen by
//! the next refresh, halts the group of the market's neg-risk event in the strategy stage
//! through its command ring (its complete sets are held, other events still trade); `polyarb catalog ack` (the real binary,
//! another process) clears the halt in the database and the next refresh resumes the group.
//! And the engine's catalog runner unsubscribes a market the venue closes, and subscribes it
//! again when it reopens, while the pipeline runs. And `polyarb catalog refresh/show/list/ack`,
//! each its own process, share changes and halts through the database. A halt pending when the
//! pipeline starts is held from the first top and resumed by an ack without a restart.

use std::path::Path;
use std::time::Duration;

use polyarb::catalog::{
    CatalogState, CatalogUpdate, GammaSource, GroupKey, MemoryStore, SqliteCatalogStore,
};
use polyarb::core::ConditionId;
use polyarb::engine::catalog_link::CatalogRunner;
use polyarb::engine::{EngineBuilder, Pipeline};
use polyarb::strategy::StrategyCommand;
use serde_json::json;
use testkit::{scratch, wait_until};
use venue_testkit::catalog::{
    catalog_config, engine_settings, event_yes_tokens, intent_for, misprice_event, post,
};
use venue_testkit::wire::venue;

/// Every book of the pipeline is `ok` (snapshots received).
fn books_ready(p: &Pipeline, n: usize) -> bool {
    p.dump_books(Duration::from_secs(5))
        .is_some_and(|b| b.len() == n && b.iter().all(|d| d.state == "ok"))
}

fn refresh(s: &mut CatalogState, cfg: &polyarb::catalog::CatalogConfig) -> CatalogUpdate {
    let u = s.refresh(&mut GammaSource::new(cfg)).expect("refresh");
    s.commit(&u);
    u
}

/// Runs `polyarb catalog ARGS... --db DB`; its stdout.
fn cli(db: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new(testkit::bins::polyarb())
        .arg("catalog")
        .args(args)
        .arg("--db")
        .arg(db)
        .output()
        .expect("polyarb runs");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn cli_ack(db: &Path, market: &str) -> String {
    cli(db, &["ack", market])
}

#[test]
fn a_rule_change_stops_the_markets_opportunities_and_an_ack_resumes_them() {
    let v = venue(80, 23);
    let cfg = catalog_config(&v);
    let db = scratch("catalog-halt").join("catalog.db");
    let mut state = CatalogState::new(
        cfg.filters.clone(),
        Box::new(SqliteCatalogStore::open_path(&db).expect("db opens")),
    );
    let first = refresh(&mut state, &cfg);
    let markets = v.markets();
    let (k, target) = markets
        .iter()
        .enumerate()
        .find(|(_, m)| m.neg_risk)
        .map(|(k, m)| (k as u32, m.clone()))
        .expect("a neg-risk market");
    let (j, other) = markets
        .iter()
        .enumerate()
        .find(|(_, m)| m.neg_risk && m.neg_risk_market_id != target.neg_risk_market_id)
        .map(|(j, m)| (j as u32, m.clone()))
        .expect("a question of another neg-risk event");
    let (target_yes, other_yes) = (event_yes_tokens(&v, k), event_yes_tokens(&v, j));
    let cid = ConditionId::parse(&target.condition_id).unwrap();
    let group = first
        .selection
        .groups_of(&cid)
        .into_iter()
        .find(|(_, i)| matches!(i.key, GroupKey::NegRisk(_)))
        .map(|(g, _)| g.id)
        .expect("the target market's event has a group");
    let mut sets = 0;
    let mut inject = |yes: &[String]| {
        sets += 1;
        misprice_event(&v, yes, sets);
    };

    let mut p = Pipeline::start(
        &engine_settings(&v, &["io", "parse+book+strategy+dispatch"]),
        first.selection.registry.clone(),
        first.selection.groups.clone(),
        3,
    )
    .expect("pipeline starts");
    let n_books = first.selection.watched_assets.len();
    wait_until("every book", || books_ready(&p, n_books));

    // Trading: a complete set of the target's event becomes intents.
    inject(&target_yes);
    wait_until("an intent for the target's event", || {
        intent_for(&p, &target_yes)
    });

    // The venue rewrites the market's rules; the next refresh halts its group.
    let (st, body) = post(
        &v,
        "/admin/rules",
        &json!({"market": target.condition_id, "description": "Rewritten at run time."}),
    );
    assert_eq!(st, 200, "{body}");
    let u = refresh(&mut state, &cfg);
    assert_eq!(u.report.rule_changes.len(), 1);
    assert_eq!(u.halt_groups, vec![group]);
    assert!(
        u.strategy_commands()
            .contains(&StrategyCommand::Halt(group))
    );
    let applied = p.apply_catalog(&u);
    assert_eq!(applied.halted_groups, 1);
    assert!(!applied.deferred);
    wait_until("the halt to reach the strategy", || {
        p.stats.strategy.commands.get() >= 1
    });

    // Its sets are held; another event still trades.
    let held = p.stats.strategy.held.get();
    inject(&target_yes);
    wait_until("the target's opportunity to be held", || {
        p.stats.strategy.held.get() > held
    });
    inject(&other_yes);
    wait_until("an intent for another event", || intent_for(&p, &other_yes));
    let _ = other;
    inject(&target_yes);
    wait_until("the target's opportunity to be held again", || {
        p.stats.strategy.held.get() > held + 1
    });
    assert!(!intent_for(&p, &target_yes), "no intent for a halted event");
    // Halts survive refreshes (and restarts: they are in the database).
    let u = refresh(&mut state, &cfg);
    assert!(u.halt_groups.is_empty() && u.resume_groups.is_empty());
    assert!(u.selection.halted.contains(&cid));

    // The operator acknowledges from another process; the next refresh resumes the group.
    let out = cli_ack(&db, &target.condition_id);
    assert!(out.contains("1 change(s) acknowledged"), "{out}");
    let u = refresh(&mut state, &cfg);
    assert_eq!(u.resume_groups, vec![group]);
    assert!(u.selection.halted.is_empty());
    let applied = p.apply_catalog(&u);
    assert_eq!(applied.resumed_groups, 1);
    wait_until("the resume to reach the strategy", || {
        p.stats.strategy.commands.get() >= 2
    });
    inject(&target_yes);
    wait_until("an intent for the target's event again", || {
        intent_for(&p, &target_yes)
    });
    p.shutdown();
}

/// Polls the runner until `n` more updates were applied.
fn poll_updates(r: &mut CatalogRunner, p: &mut Pipeline, n: u64) {
    let want = r.refreshes + n;
    wait_until("catalog updates", || {
        r.poll(p);
        r.refreshes >= want
    });
}

#[test]
fn the_scheduler_unsubscribes_closed_markets_and_resubscribes_reopened_ones_at_run_time() {
    let v = venue(40, 29);
    let mut cfg = catalog_config(&v);
    cfg.refresh_interval_s = 3600; // refreshes on demand only
    let (first, mut runner) =
        CatalogRunner::start(&cfg, Box::new(MemoryStore::new())).expect("catalog starts");
    let mut p = Pipeline::start(
        &engine_settings(&v, &["io", "parse+book+strategy+dispatch"]),
        first.selection.registry.clone(),
        first.selection.groups.clone(),
        3,
    )
    .expect("pipeline starts");
    let n = first.selection.watched_assets.len() as u64;
    wait_until("every asset subscribed", || {
        p.stats.feed.subscribed_assets.get() == n
    });
    // A question of a neg-risk event: closing it leaves the event incomplete.
    let target = v
        .markets()
        .into_iter()
        .find(|m| m.neg_risk)
        .expect("a neg-risk market");

    let (st, body) = post(
        &v,
        "/admin/gamma/market",
        &json!({"market": target.condition_id, "set": {"closed": true, "acceptingOrders": false}}),
    );
    assert_eq!(st, 200, "{body}");
    runner.refresh_now();
    poll_updates(&mut runner, &mut p, 1);
    assert_eq!(runner.totals.unsubscribed, 2);
    assert_eq!(runner.totals.halted_groups, 1, "its group stops trading");
    wait_until("the closed market's assets unsubscribed", || {
        p.stats.feed.subscribed_assets.get() == n - 2
    });

    let (st, body) = post(
        &v,
        "/admin/gamma/market",
        &json!({"market": target.condition_id, "set": {"closed": false, "acceptingOrders": true}}),
    );
    assert_eq!(st, 200, "{body}");
    runner.refresh_now();
    poll_updates(&mut runner, &mut p, 1);
    assert_eq!(runner.totals.subscribed, 2);
    assert_eq!(runner.totals.resumed_groups, 1);
    assert_eq!(runner.totals.refused_assets, 0);
    assert_eq!(
        runner.totals.added_assets, 0,
        "known assets are revived, not added"
    );
    wait_until("the reopened market subscribed again", || {
        p.stats.feed.subscribed_assets.get() == n
    });
    runner.shutdown();
    p.shutdown();
}

#[test]
fn the_cli_stores_refreshes_and_clears_halts_across_processes() {
    let v = venue(40, 31);
    let db = scratch("catalog-cli").join("catalog.db");
    let url = v.gamma_url();
    let refresh = || cli(&db, &["refresh", "--gamma-url", &url]);
    let out = refresh();
    assert!(
        out.contains("stored in") && out.contains("0 changed"),
        "{out}"
    );
    let target = v
        .markets()
        .into_iter()
        .find(|m| m.neg_risk)
        .expect("a neg-risk market");
    let (st, body) = post(
        &v,
        "/admin/rules",
        &json!({"market": target.condition_id, "resolution_source": "https://elsewhere.invalid"}),
    );
    assert_eq!(st, 200, "{body}");
    let out = refresh();
    assert!(out.contains("0 new, 1 changed"), "{out}");
    assert!(
        out.contains("RULES CHANGED") && out.contains("(resolution_source)"),
        "{out}"
    );
    assert!(out.contains("halted: 4 markets"), "{out}");
    // Still halted in the next process, and visible in the stored view.
    let out = refresh();
    assert!(
        !out.contains("RULES CHANGED") && out.contains("halted: 4 markets"),
        "{out}"
    );
    let out = cli(&db, &["show", &target.condition_id, "--stored"]);
    assert!(out.contains("HALTED") && out.contains("PENDING"), "{out}");
    let out = cli(&db, &["list", "--stored"]);
    assert_eq!(out.matches("HALTED").count(), 4, "{out}");
    // Unknown markets are errors; a second ack is a no-op.
    let bad = std::process::Command::new(testkit::bins::polyarb())
        .args(["catalog", "ack", "no-such-market", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no market"));
    assert!(cli_ack(&db, &target.condition_id).contains("1 change(s) acknowledged"));
    assert!(cli_ack(&db, &target.condition_id).contains("nothing to acknowledge"));
    let out = refresh();
    assert!(!out.contains("halted"), "{out}");
}

#[test]
fn a_halt_pending_at_start_up_is_held_and_an_ack_resumes_it_without_a_restart() {
    let v = venue(40, 37);
    let cfg = catalog_config(&v);
    let db = scratch("catalog-held").join("catalog.db");
    let open = || -> CatalogState {
        CatalogState::new(
            cfg.filters.clone(),
            Box::new(SqliteCatalogStore::open_path(&db).expect("db opens")),
        )
    };
    let (k, target) = v
        .markets()
        .into_iter()
        .enumerate()
        .find(|(_, m)| m.neg_risk)
        .map(|(k, m)| (k as u32, m))
        .expect("a neg-risk market");
    let target_yes = event_yes_tokens(&v, k);
    // A previous run stored the markets, then saw the target's rules change.
    {
        let mut s = open();
        refresh(&mut s, &cfg);
        let (st, body) = post(
            &v,
            "/admin/rules",
            &json!({"market": target.condition_id, "end_date": "2032-01-01T00:00:00Z"}),
        );
        assert_eq!(st, 200, "{body}");
        assert_eq!(refresh(&mut s, &cfg).report.rule_changes.len(), 1);
    }

    // This run starts with the halt pending: the target's group is built, and held.
    let mut state = open();
    let first = refresh(&mut state, &cfg);
    let (groups, held) = first.selection.startup_groups();
    assert_eq!(held.len(), 1, "the group of the target's event");
    assert_eq!(groups.len(), first.selection.groups.len() + 1);
    let settings = engine_settings(&v, &["io", "parse+book+strategy+dispatch"]);
    let mut p = EngineBuilder::new(&settings, first.selection.registry.clone(), groups)
        .held(&held)
        .seed(3)
        .start()
        .expect("pipeline starts");
    let n_books = first.selection.watched_assets.len();
    wait_until("every book", || books_ready(&p, n_books));
    let before = p.stats.strategy.held.get();
    misprice_event(&v, &target_yes, 1);
    wait_until("the held group's opportunity", || {
        p.stats.strategy.held.get() > before
    });
    assert!(!intent_for(&p, &target_yes));

    assert!(cli_ack(&db, &target.condition_id).contains("1 change(s) acknowledged"));
    let u = refresh(&mut state, &cfg);
    assert_eq!(u.resume_groups, held);
    assert_eq!(p.apply_catalog(&u).resumed_groups, 1);
    wait_until("the resume to reach the strategy", || {
        p.stats.strategy.commands.get() >= 2
    });
    misprice_event(&v, &target_yes, 2);
    wait_until("an intent for the resumed event", || {
        intent_for(&p, &target_yes)
    });
    p.shutdown();
}
