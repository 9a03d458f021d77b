//! The engine's settings: its TOML file's sections, loaded and validated (errors name the file
//! and the key).

use crate::adapters::polymarket::market_channel::FeedConfig;
use crate::book_stage::BookStageConfig;
use crate::book_stage::resync::ResyncConfig;
use crate::config::source::{ConfigKind, ConfigSource};
use crate::pipeline::topology::{PipelineConfig, Topology};
use crate::strategy::StrategyConfig;

/// The engine's TOML file: market data, pipeline and strategy sections, and the in-process
/// venue that `demo` and `flood` start, which `polyarb-venue` reads (`feed` connects to
/// `[feed] ws_url` instead).
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineSettings {
    pub feed: FeedConfig,
    pub book: BookStageConfig,
    pub resync: ResyncConfig,
    pub pipeline: PipelineConfig,
    pub strategy: StrategyConfig,
    /// How often the read-only view is published (ms; 0 = never).
    pub view_interval_ms: u64,
    /// `[venue]`: the in-process venue double's section, read and checked by `polyarb-venue`
    /// (`demo`, `flood`); the engine carries it without reading it.
    pub venue: Option<toml::Table>,
    /// `[storage]`: present = every book event is stored (cold thread); absent = off.
    pub storage: Option<crate::storage::StorageConfig>,
    /// `[catalog]`: present = the markets come from Gamma through the catalog, refreshed on a
    /// cold thread (`engine::catalog_link`); absent = the in-process venue's market list.
    pub catalog: Option<crate::catalog::CatalogConfig>,
    /// `[trading]`: absent or `mode = "dry_run"` = intents only; `"live"` = orders are sent
    /// (`polyarb feed`).
    pub trading: Option<crate::exec::settings::TradingConfig>,
    /// `[risk]`: exposure caps, circuit breakers and the operator's control file (live
    /// trading only; absent = no cap, no breaker but the journal's).
    pub risk: crate::risk::RiskConfig,
    /// `[obs]`: the status and metrics endpoint (on by default, loopback) and JSON log files.
    pub obs: crate::obs::ObsConfig,
    /// `[chain]`: the account on chain; its `[chain.recycle]` turns the complete sets live
    /// trading fills back into pUSD (absent: nothing is recycled).
    pub chain: Option<crate::chain::ChainConfig>,
    /// `[recording]`: present = every frame and decision is recorded (cold thread); absent =
    /// off (`--record DIR` turns it on).
    pub recording: Option<crate::recording::RecordingConfig>,
}

impl EngineSettings {
    /// Loads and validates an engine config file; errors name the file and the key. Relative
    /// paths inside it resolve against its directory.
    pub fn load(path: &std::path::Path) -> Result<Self, crate::config::ConfigError> {
        Self::from_source(&ConfigSource::File(path.to_path_buf()))
    }

    /// Loads and validates a built-in config or a file (see `config::source`).
    pub fn from_source(src: &ConfigSource) -> Result<Self, crate::config::ConfigError> {
        let s: Self = src.load(ConfigKind::Engine)?;
        s.validate(&src.label())?;
        Ok(s)
    }

    pub fn validate(&self, file: &std::path::Path) -> Result<(), crate::config::ConfigError> {
        let invalid =
            |key: &str, expected: &str, found: String| crate::config::ConfigError::Invalid {
                file: file.to_path_buf(),
                key: key.to_string(),
                expected: expected.to_string(),
                found,
            };
        if let Err(e) = Topology::parse(&self.pipeline.threads) {
            return Err(invalid(
                "pipeline.threads",
                "io, parse, book, strategy, dispatch once each, in order, as '+'-joined runs",
                format!("{:?} ({e})", self.pipeline.threads),
            ));
        }
        let url = &self.feed.ws_url;
        if !(url.starts_with("ws://") || url.starts_with("wss://")) {
            return Err(invalid(
                "feed.ws_url",
                "a ws:// or wss:// URL",
                format!("{url:?}"),
            ));
        }
        let rest = &self.resync.clob_url;
        if !(rest.starts_with("http://") || rest.starts_with("https://")) {
            return Err(invalid(
                "resync.clob_url",
                "an http:// or https:// URL",
                format!("{rest:?}"),
            ));
        }
        if self.feed.max_assets_per_connection == 0 || self.feed.max_assets_per_connection > 500 {
            return Err(invalid(
                "feed.max_assets_per_connection",
                "1 to 500 (the venue sends no snapshots past 500)",
                self.feed.max_assets_per_connection.to_string(),
            ));
        }
        for (key, v) in [
            ("pipeline.rings.frames", self.pipeline.rings.frames),
            ("pipeline.rings.msgs", self.pipeline.rings.msgs),
            ("pipeline.rings.tops", self.pipeline.rings.tops),
            (
                "pipeline.rings.opportunities",
                self.pipeline.rings.opportunities,
            ),
            ("pipeline.rings.snapshots", self.pipeline.rings.snapshots),
        ] {
            if v < 16 {
                return Err(invalid(key, "at least 16 slots", v.to_string()));
            }
        }
        if self.strategy.min_profit >= crate::core::Price::ONE {
            return Err(invalid(
                "strategy.min_profit",
                "a decimal below 1",
                self.strategy.min_profit.to_string(),
            ));
        }
        if let Some((key, expected, found)) = self.strategy.spread.problem() {
            return Err(invalid(&format!("strategy.spread.{key}"), expected, found));
        }
        if let Some(c) = &self.catalog {
            c.validate(file)?;
        }
        if let Some(t) = &self.trading {
            t.validate(file)?;
        }
        self.risk.validate(file)?;
        self.obs.validate(file)?;
        if let Some(r) = &self.recording
            && let Err((key, expected, found)) = r.validate()
        {
            return Err(invalid(key, expected, found));
        }
        Ok(())
    }
}
