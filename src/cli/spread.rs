//! The spread desk of `polyarb demo --strategy spread|both` and of `polyarb feed` with
//! `[strategy.spread] enabled = true`: an account quoting the selected markets
//! (`strategy::spread`), its user channel, the selection kept in step with the catalog, its
//! lines in the live view and its summary.
//!
//! The desk's orders go through an order manager of their own, journaled in memory: quotes are
//! canceled at shutdown and the venue's own records (open orders, trades) are what a restart
//! would reconcile with.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;

use polyarb::adapters::polymarket::http::clob::{AssetType, ClobClient};
use polyarb::adapters::polymarket::signing::{ApiCredentials, MarketRules};
use polyarb::adapters::polymarket::ws::user::{UserChannel, UserChannelConfig, UserMessage};
use polyarb::catalog::CatalogUpdate;
use polyarb::core::AssetRegistry;
use polyarb::exec::journal::MemoryJournal;
use polyarb::exec::manager::{ExecConfig, OrderManager};
use polyarb::quoting::desk::{self, DeskCommand, DeskMarket, SpreadDesk, SpreadTap};
use polyarb::quoting::quoter::QuotedMarket;
use polyarb::quoting::select;
use polyarb::risk::RiskGate;
use polyarb::strategy::spread::SpreadConfig;
use polyarb::strategy::spread::report;

use super::paper::TIMEOUT;

/// A running spread desk.
pub struct SpreadRun {
    desk: SpreadDesk<MemoryJournal>,
    client: Arc<ClobClient>,
    _user: UserChannel,
    start_collateral: Option<u64>,
    started: Instant,
}

/// Starts the desk for `client`'s account on `markets`; returns the tap the engine's strategy
/// stage feeds.
pub fn open(
    cfg: &SpreadConfig,
    client: Arc<ClobClient>,
    creds: ApiCredentials,
    user_ws_url: &str,
    markets: Vec<DeskMarket>,
    capacity: usize,
    gate: Option<Arc<RiskGate>>,
) -> anyhow::Result<(SpreadTap, SpreadRun)> {
    let user = UserChannel::start(UserChannelConfig::new(user_ws_url, creds))
        .context("starting the spread desk's user channel")?;
    match user.messages.recv_timeout(TIMEOUT) {
        Ok(UserMessage::Connected) => {}
        other => anyhow::bail!("the user channel at {user_ws_url} did not connect: {other:?}"),
    }
    client
        .prepare_account()
        .context("GET /balance-allowance/update for the quoting account")?;
    let start_collateral = client
        .balance_allowance(&AssetType::Collateral)
        .ok()
        .and_then(|b| b.balance_micros());
    let manager = OrderManager::new(client.clone(), MemoryJournal::new(), ExecConfig::default());
    // Plan ids of their own: far from the arbitrage sender's (unix ms) and from a kill's.
    let first_plan_id = (1u64 << 62) + polyarb::storage::time::unix_now_ns() / 1_000;
    let (tap, desk) = desk::start(desk::DeskSetup {
        cfg: cfg.clone(),
        manager,
        user: Some(user.messages.clone()),
        gate,
        capacity,
        markets,
        first_plan_id,
        merge: None,
    })
    .context("starting the spread desk")?;
    Ok((
        tap,
        SpreadRun {
            desk,
            client,
            _user: user,
            start_collateral,
            started: Instant::now(),
        },
    ))
}

/// A quoted market from its parts.
pub fn desk_market(
    registry: &AssetRegistry,
    label: String,
    condition_id: String,
    tokens: (&str, &str),
    rules: MarketRules,
    extra: (Option<polyarb::core::fees::FeeSchedule>, Option<i64>),
) -> Option<DeskMarket> {
    let yes_asset = registry.lookup(tokens.0.as_bytes())?;
    let no_asset = registry.lookup(tokens.1.as_bytes())?;
    Some(DeskMarket {
        yes_asset,
        no_asset,
        market: QuotedMarket {
            label,
            condition_id,
            yes: polyarb::core::TokenId::parse(tokens.0).ok()?,
            no: polyarb::core::TokenId::parse(tokens.1).ok()?,
            rules,
            fees: extra.0,
            end_unix_s: extra.1,
            rewards_min_size: None,
            rewards_max_spread: None,
        },
    })
}

/// The catalog's watched markets that pass `[strategy.spread]`'s filters, now.
pub fn from_catalog(cfg: &SpreadConfig, u: &CatalogUpdate) -> Vec<DeskMarket> {
    let sel = &u.selection;
    let now_s = (polyarb::storage::time::unix_now_ns() / 1_000_000_000) as i64;
    let watched =
        u.catalog.markets.values().filter(|m| {
            sel.watched.contains(&m.condition_id) && !sel.halted.contains(&m.condition_id)
        });
    let (chosen, _refused) = select::choose(cfg, watched, now_s);
    chosen
        .into_iter()
        .filter_map(|m| {
            let yes = m.outcomes[0].token.to_string();
            let no = m.outcomes[1].token.to_string();
            let mut d = desk_market(
                &sel.registry,
                m.question.chars().take(40).collect(),
                m.condition_id.to_string(),
                (&yes, &no),
                MarketRules {
                    tick_size: m.tick,
                    min_order_size: m.min_order_size,
                    neg_risk: m.neg_risk.is_some(),
                },
                (m.fees, m.end_unix_s),
            )?;
            d.market.rewards_min_size = m.rewards_min_size;
            d.market.rewards_max_spread = m.rewards_max_spread;
            Some(d)
        })
        .collect()
}

impl SpreadRun {
    /// A catalog refresh: the selection again, and the rule-hash halts and resumes.
    pub fn on_catalog(&self, cfg: &SpreadConfig, u: &CatalogUpdate) {
        for c in &u.newly_halted {
            let _ = self.desk.commands.send(DeskCommand::Halt(c.to_string()));
        }
        for c in &u.resumed {
            let _ = self.desk.commands.send(DeskCommand::Resume(c.to_string()));
        }
        let _ = self
            .desk
            .commands
            .send(DeskCommand::Select(from_catalog(cfg, u)));
    }

    /// The live view's lines.
    pub fn live_lines(&self) -> Vec<String> {
        report::live_lines(&self.desk.reports())
    }

    /// Pulls every quote, stops the desk and prints its summary.
    pub fn finish(self) -> anyhow::Result<()> {
        let secs = self.started.elapsed().as_secs_f64();
        let dropped = self.desk.dropped.get();
        let Some((mgr, reports, stats)) = self.desk.join() else {
            anyhow::bail!("the spread desk's thread panicked");
        };
        println!("\n── spread quoting ({secs:.1} s) ──");
        print!("{}", report::summary(&reports));
        let resting = mgr.orders().filter(|o| !o.state.is_final()).count();
        println!(
            "tops {} · decisions {} · cancel batches {} · place batches {} · crossing refusals {} \
             · heartbeat chains lost {} · breaker pulls {} · tops dropped {dropped} · still open {resting}",
            stats.tops,
            stats.decisions,
            stats.cancel_batches,
            stats.place_batches,
            stats.crossing_rejects,
            stats.heartbeat_losses,
            stats.breaker_pulls,
        );
        if let (Some(start), Ok(now)) = (
            self.start_collateral,
            self.client.balance_allowance(&AssetType::Collateral),
        ) && let Some(now) = now.balance_micros()
        {
            println!(
                "collateral {} → {} pUSD (the venue's balance of the quoting account)",
                polyarb::core::decimal::format_micros(start),
                polyarb::core::decimal::format_micros(now)
            );
        }
        Ok(())
    }

    /// The desk's gate-free command channel (markets listed while running).
    pub fn commands(&self) -> &crossbeam::channel::Sender<DeskCommand> {
        &self.desk.commands
    }
}
