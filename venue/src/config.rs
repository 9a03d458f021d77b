//! The venue's configuration (`config/venue.toml`): one `deny_unknown_fields` struct per
//! section, every field defaulted, checked after loading so that errors name the file, the key
//! and what was expected.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use polyarb::config::source::{ConfigKind, ConfigSource};
use polyarb::config::{ConfigError, load_toml, resolve_relative};
use polyarb::engine::EngineSettings;

use super::model::ModelConfig;
use super::trading::VenueTradingConfig;

/// Everything `polyarb venue` and `Venue::start` need.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct VenueConfig {
    pub server: ServerConfig,
    pub source: SourceConfig,
    pub model: ModelConfig,
    pub rest: RestConfig,
    pub faults: FaultConfig,
    pub gamma: super::gamma::GammaVenueConfig,
    pub trading: VenueTradingConfig,
}

/// Sockets and per-connection limits.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address to bind; must be a loopback address (the venue never leaves the machine).
    pub host: String,
    /// WebSocket port (`/ws/market`); 0 picks a free port.
    pub ws_port: u16,
    /// HTTP port (REST and `/admin`); 0 picks a free port.
    pub http_port: u16,
    /// Threads answering HTTP requests.
    pub http_workers: usize,
    /// Assets per connection that get a snapshot on subscribe (the real venue: about 500).
    pub max_assets_per_connection: usize,
    /// A WebSocket handshake not finished within this is dropped.
    pub handshake_timeout_ms: u64,
    /// A connection whose unsent frames exceed this many bytes is closed as a slow consumer.
    pub max_pending_bytes: usize,
    /// Largest client message accepted on the WebSocket.
    pub max_message_bytes: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            ws_port: 0,
            http_port: 0,
            http_workers: 2,
            max_assets_per_connection: 500,
            handshake_timeout_ms: 5_000,
            max_pending_bytes: 256 << 20,
            max_message_bytes: 4 << 20,
        }
    }
}

/// Where market events come from.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// The seeded synthetic model (`[model]`).
    #[default]
    Synthetic,
    /// The frames of `replay_file`, in order.
    Replay,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct SourceConfig {
    pub kind: SourceKind,
    /// Synthetic: price-level changes per second across all assets. 0 = flood: as fast as the
    /// connections drain (for load tests).
    pub changes_per_s: u64,
    /// Start paused (tests step the source explicitly).
    pub paused: bool,
    /// Replay: the frames file (relative to the config file).
    pub replay_file: Option<PathBuf>,
    /// Replay: frames per second; 0 = as fast as the connections drain.
    pub replay_frames_per_s: u64,
}

impl Default for SourceConfig {
    fn default() -> Self {
        Self {
            kind: SourceKind::Synthetic,
            changes_per_s: 1_000,
            paused: false,
            replay_file: None,
            replay_frames_per_s: 1_000,
        }
    }
}

/// REST limits; rates follow the real venue's published windows.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct RestConfig {
    /// Window of the rate limits below, in milliseconds.
    pub rate_window_ms: u64,
    /// `GET /book` requests per window (venue: 1,500 per 10 s).
    pub book_limit: u32,
    /// `POST /books` requests per window (venue: 500 per 10 s).
    pub books_limit: u32,
    /// Largest request body read; beyond it: 413.
    pub max_body_bytes: usize,
    /// Most token ids in one `POST /books`.
    pub max_books_per_request: usize,
}

impl Default for RestConfig {
    fn default() -> Self {
        Self {
            rate_window_ms: 10_000,
            book_limit: 1_500,
            books_limit: 500,
            max_body_bytes: 1 << 20,
            max_books_per_request: 500,
        }
    }
}

/// Faults active from the start (more can be injected at run time through `/admin/fault`).
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct FaultConfig {
    /// Delay every REST book answer by this much.
    pub rest_delay_ms: u64,
    /// Fail every Nth REST book request with a 500 (0 = never).
    pub rest_fail_every: u64,
    /// Drop every WebSocket connection this often (0 = never).
    pub close_every_ms: u64,
    /// Send a malformed frame to every connection this often (0 = never).
    pub malformed_every_ms: u64,
    /// Simulate a gap on a random market this often (0 = never; synthetic source only).
    pub gap_every_ms: u64,
}

impl VenueConfig {
    /// Loads and checks a venue config file; relative paths inside it are resolved against it.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let mut cfg: Self = load_toml(path)?;
        if let Some(f) = &cfg.source.replay_file {
            cfg.source.replay_file = Some(resolve_relative(path, f));
        }
        for f in &mut cfg.gamma.files {
            *f = resolve_relative(path, f);
        }
        cfg.validate(path)?;
        Ok(cfg)
    }

    /// A stand-alone venue config (`polyarb venue --config`): built in or a file, relative
    /// paths resolved, checked.
    pub fn from_source(src: &ConfigSource) -> Result<Self, ConfigError> {
        let cfg: Self = src.load(ConfigKind::Venue)?;
        cfg.validate(&src.label())?;
        Ok(cfg)
    }

    /// An engine config with an in-process venue (`demo`, `flood`): the engine's settings,
    /// checked by the engine, and its `[venue]` section, checked here with keys named
    /// `venue.<key>`. The engine carries that section without reading it.
    pub fn with_engine(src: &ConfigSource) -> Result<(EngineSettings, Self), ConfigError> {
        /// The `[venue]` section alone; the engine's sections are the engine's to check.
        #[derive(Deserialize)]
        struct Section {
            #[serde(default)]
            venue: VenueConfig,
        }
        let engine = EngineSettings::from_source(src)?;
        let Section { venue } = src.load(ConfigKind::Engine)?;
        venue.validate(&src.label()).map_err(|e| match e {
            ConfigError::Invalid {
                file,
                key,
                expected,
                found,
            } => ConfigError::Invalid {
                file,
                key: format!("venue.{key}"),
                expected,
                found,
            },
            other => other,
        })?;
        Ok((engine, venue))
    }

    /// Checks what serde cannot: addresses, ranges and cross-field requirements.
    pub fn validate(&self, file: &Path) -> Result<(), ConfigError> {
        let bad = |key: &str, expected: &str, found: String| ConfigError::Invalid {
            file: file.to_path_buf(),
            key: key.into(),
            expected: expected.into(),
            found,
        };
        match self.server.host.parse::<IpAddr>() {
            Ok(ip) if ip.is_loopback() => {}
            _ => {
                return Err(bad(
                    "server.host",
                    "a loopback IP address such as 127.0.0.1",
                    format!("{:?}", self.server.host),
                ));
            }
        }
        if self.server.http_workers == 0 {
            return Err(bad("server.http_workers", "at least 1", "0".into()));
        }
        if self.source.kind == SourceKind::Replay && self.source.replay_file.is_none() {
            return Err(bad(
                "source.replay_file",
                "a frames file when source.kind = \"replay\"",
                "nothing".into(),
            ));
        }
        let m = &self.model;
        if m.binary_markets == 0 && m.neg_risk_groups == 0 {
            return Err(bad(
                "model.binary_markets",
                "at least one market in total",
                "0".into(),
            ));
        }
        if m.depth == 0 {
            return Err(bad("model.depth", "at least 1", "0".into()));
        }
        for (key, p) in [
            (
                "model.binary_dutch_fault_margin",
                m.binary_dutch_fault_margin,
            ),
            ("model.mispricing_margin", m.mispricing_margin),
        ] {
            if !p.is_level_price() {
                return Err(bad(key, "a price strictly between 0 and 1", p.to_string()));
            }
        }
        if m.neg_risk_overround.0 >= 500_000 {
            return Err(bad(
                "model.neg_risk_overround",
                "a price below 0.5",
                m.neg_risk_overround.to_string(),
            ));
        }
        let (lo, hi) = m.group_sizes();
        if m.neg_risk_groups > 0 && (lo < 2 || hi > 200) {
            return Err(bad(
                "model.neg_risk_group_size",
                "events of 2 to 200 questions",
                format!("{lo}..={hi}"),
            ));
        }
        if m.neg_risk_augmented_groups > m.neg_risk_groups {
            return Err(bad(
                "model.neg_risk_augmented_groups",
                "at most model.neg_risk_groups",
                m.neg_risk_augmented_groups.to_string(),
            ));
        }
        let s = m.activity_zipf_exponent.0;
        if !(0.0..=10.0).contains(&s) {
            return Err(bad(
                "model.activity_zipf_exponent",
                "a number from 0 to 10",
                s.to_string(),
            ));
        }
        let tk = &m.takers;
        if tk.size_min.0 < polyarb::adapters::polymarket::signing::amounts::SHARE_LOT
            || tk.size_max < tk.size_min
        {
            return Err(bad(
                "model.takers.size_min / model.takers.size_max",
                "0.01 <= size_min <= size_max",
                format!("{} / {}", tk.size_min, tk.size_max),
            ));
        }
        let e = tk.size_tail_exponent.0;
        if !(0.1..=10.0).contains(&e) {
            return Err(bad(
                "model.takers.size_tail_exponent",
                "a number from 0.1 to 10",
                e.to_string(),
            ));
        }
        if tk.adverse_per_mille > 1000 {
            return Err(bad(
                "model.takers.adverse_per_mille",
                "at most 1000",
                tk.adverse_per_mille.to_string(),
            ));
        }
        if m.mispricing_levels == 0 {
            return Err(bad("model.mispricing_levels", "at least 1", "0".into()));
        }
        if self.rest.rate_window_ms == 0 {
            return Err(bad("rest.rate_window_ms", "at least 1", "0".into()));
        }
        let t = &self.trading;
        if !(1..=3).contains(&t.order_version) {
            return Err(bad(
                "trading.order_version",
                "1, 2 or 3",
                t.order_version.to_string(),
            ));
        }
        if polyarb::adapters::polymarket::signing::ProtocolVersion::known(
            t.order_version,
            t.chain_id,
        )
        .is_err()
        {
            return Err(bad(
                "trading.chain_id",
                "137 (Polygon) or 80002 (Amoy)",
                t.chain_id.to_string(),
            ));
        }
        if t.max_batch == 0 || t.rate_window_ms == 0 {
            return Err(bad(
                "trading.max_batch / trading.rate_window_ms",
                "at least 1",
                "0".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use polyarb::config::parse_toml;

    #[test]
    fn defaults_and_errors_name_file_and_key() {
        let p = Path::new("config/venue.toml");
        let c: VenueConfig = parse_toml(p, "").unwrap();
        assert_eq!(c, VenueConfig::default());
        let c: VenueConfig = parse_toml(
            p,
            "[model]\nseed = 9\nbinary_dutch_fault_margin = \"0.03\"\n",
        )
        .unwrap();
        assert_eq!(c.model.binary_dutch_fault_margin.0, 30_000);
        let e = parse_toml::<VenueConfig>(p, "[server]\nws_prot = 1\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("config/venue.toml") && e.contains("ws_prot"),
            "{e}"
        );
        let e = parse_toml::<VenueConfig>(p, "[model]\nbinary_dutch_fault_margin = 0.03\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("binary_dutch_fault_margin"), "{e}");
        let mut c = VenueConfig::default();
        c.server.host = "0.0.0.0".into();
        let e = c.validate(p).unwrap_err().to_string();
        assert!(e.contains("server.host") && e.contains("loopback"), "{e}");
        let mut c = VenueConfig::default();
        c.source.kind = SourceKind::Replay;
        assert!(
            c.validate(p)
                .unwrap_err()
                .to_string()
                .contains("source.replay_file")
        );
    }

    #[test]
    fn the_venue_section_of_an_engine_config_is_checked_with_its_prefix() {
        for name in ["demo", "demo-catalog", "flood", "tuned"] {
            let b = polyarb::config::source::builtin(name).expect("shipped");
            VenueConfig::with_engine(&ConfigSource::Builtin(b))
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        let dir = std::env::temp_dir().join(format!("polyarb-venue-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("engine.toml");
        std::fs::write(&f, "[venue.server]\nhost = \"0.0.0.0\"\n").unwrap();
        let src = ConfigSource::File(f.clone());
        // The engine carries the section; the venue refuses it, naming file and key.
        assert!(EngineSettings::from_source(&src).is_ok());
        let e = VenueConfig::with_engine(&src).unwrap_err().to_string();
        assert!(
            e.contains("engine.toml") && e.contains("venue.server.host") && e.contains("loopback"),
            "{e}"
        );
        std::fs::write(&f, "[venue.model]\nno_such_key = 1\n").unwrap();
        let e = VenueConfig::with_engine(&src).unwrap_err().to_string();
        assert!(
            e.contains("no_such_key") && e.contains("engine.toml"),
            "{e}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_shipped_config_documents_exactly_the_defaults() {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/venue.toml");
        assert_eq!(VenueConfig::load(&p).unwrap(), VenueConfig::default());
    }
}
