//! The built binaries against the venue as a user runs them: `demo`, `feed`, the commands
//! `polyarb` hands to `polyarb-venue`, `order place|cancel|list`, and operating a running
//! engine (`/metrics`, `/status`, `polyarb status`, JSON logs), and restarts after a SIGKILL.

mod crash;
mod demo;
mod feed;
mod hosted;
mod ops;
mod recording;
mod trade;

/// A venue whose 40-asset model misprices a neg-risk event now and then (so a live engine
/// trades), at 500 changes a second, taking EOA orders.
fn mispriced_venue() -> polyarb_venue::VenueHandle {
    let mut cfg = polyarb_venue::VenueConfig {
        model: polyarb_venue::ModelConfig::for_assets(40, 11),
        ..Default::default()
    };
    cfg.source.changes_per_s = 500;
    cfg.model.mispricing_every_ms = 100;
    cfg.model.mispricing_duration_ms = 700;
    cfg.model.mispricing_margin = polyarb::core::Price(80_000);
    cfg.trading.eoa_orders = polyarb_venue::trading::config::EoaOrders::Allowed;
    polyarb_venue::Venue::start(cfg).expect("venue starts")
}
