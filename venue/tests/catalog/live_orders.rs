//! A neg-risk event the catalog lists while a live engine runs is traded: its instruments
//! reach the live sender by message before its assets are subscribed, so a complete set resting
//! on it becomes signed orders at the venue, not an `untradeable` plan.

use std::time::Duration;

use polyarb::adapters::polymarket::http::clob::{ClobClient, ClobConfig, create_or_derive_api_key};
use polyarb::adapters::polymarket::signing::PrivateKey;
use polyarb::catalog::MemoryStore;
use polyarb::engine::catalog_link::CatalogRunner;
use polyarb::engine::{DispatchMode, EngineBuilder};
use polyarb::exec::instruments::{self, Instruments};
use polyarb::exec::journal::MemoryJournal;
use polyarb::exec::live::live_dispatch;
use polyarb::exec::manager::{ExecConfig, OrderManager};
use serde_json::json;
use testkit::wait_until;
use venue_testkit::catalog::{
    catalog_config, engine_settings, event_yes_tokens, misprice_event, post,
};
use venue_testkit::wire::venue_with;

#[test]
fn a_market_listed_while_trading_live_is_sent_orders() {
    let v = venue_with(40, 17, |c| {
        // The engine here trades as a plain EOA.
        c.trading.eoa_orders = polyarb_venue::trading::config::EoaOrders::Allowed;
    });
    let k_new = v
        .markets()
        .iter()
        .position(|m| m.neg_risk)
        .expect("a neg-risk event") as u32;
    let new_yes = event_yes_tokens(&v, k_new);
    let new: Vec<_> = v
        .markets()
        .into_iter()
        .filter(|m| new_yes.contains(&m.token_ids[0]))
        .collect();
    let list = |listed: bool| {
        for m in &new {
            let (st, body) = post(
                &v,
                "/admin/gamma/market",
                &json!({"market": m.condition_id, "listed": listed}),
            );
            assert_eq!(st, 200, "{body}");
        }
    };
    list(false);

    let mut cfg = catalog_config(&v);
    cfg.refresh_interval_s = 3600;
    let (first, mut runner) =
        CatalogRunner::start(&cfg, Box::new(MemoryStore::new())).expect("catalog starts");
    let reg = first.selection.registry.clone();
    let mut table = Instruments::new();
    instruments::apply(
        &mut table,
        instruments::from_catalog(&first, &reg, reg.len()),
    );
    let known = table.len();
    let key = PrivateKey::from_hex(&format!("0x{:064x}", 0x5eed_u64)).unwrap();
    let creds = create_or_derive_api_key(&v.http_url(), &key, 137, 0, Duration::from_secs(5))
        .expect("API key");
    let client = std::sync::Arc::new(
        ClobClient::connect(ClobConfig::new(&v.http_url()), key, creds).unwrap(),
    );
    let mgr = OrderManager::new(client, MemoryJournal::new(), ExecConfig::default());
    let (stage, sender) = live_dispatch(1, mgr, table, None, 64, Default::default()).unwrap();
    let (groups, held) = first.selection.startup_groups();
    let s = engine_settings(&v, &["io+parse+book+strategy+dispatch"]);
    let mut p = EngineBuilder::new(&s, reg, groups)
        .held(&held)
        .seed(3)
        .dispatch(DispatchMode::Live(Box::new(stage)))
        .start()
        .expect("pipeline starts");
    p.instruments_tx = Some(sender.instruments.clone());

    list(true);
    runner.refresh_now();
    wait_until("the listing applied", || {
        runner.poll(&mut p);
        runner.refreshes >= 1
    });
    let n = first.selection.watched_assets.len() as u64;
    wait_until("the new event subscribed", || {
        p.stats.feed.subscribed_assets.get() == n + 8
    });
    let stats = sender.stats.clone();
    misprice_event(&v, &new_yes, 1);
    wait_until("orders for the new event", || stats.orders.get() >= 4);
    let new_tokens: Vec<String> = new.iter().flat_map(|m| m.token_ids.clone()).collect();
    // The new event's assets lie past the table the sender started with.
    for t in &new_tokens {
        let a = p.registry.lookup(t.as_bytes()).expect("registered");
        assert!(a.get() >= known, "{t} was in the start-up table");
    }
    runner.shutdown();
    p.shutdown();
    let mgr = sender.join().expect("the sender stops");
    assert!(stats.instrument_updates.get() >= 1);
    assert_eq!(stats.untradeable.get(), 0, "no plan lacked an instrument");
    let sent: Vec<_> = mgr
        .orders()
        .filter(|o| new_tokens.contains(&o.token_id.to_string()))
        .collect();
    assert!(sent.len() >= 4, "every leg of the new event was sent");
    assert!(
        sent.iter().all(|o| o.state.is_final()),
        "each answered by the venue: {sent:?}"
    );
}
