//! `[catalog]`: where the catalog reads Gamma, how often, and what it keeps (see
//! `config/catalog.toml`, which documents every default). Other top-level sections of the file
//! belong to other modules and are ignored here; unknown keys *inside* `[catalog]` are errors
//! that name the file and the key.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::adapters::polymarket::gamma::{EventsQuery, GammaClientConfig, MAX_LIMIT, MarketsQuery};
use crate::config::{ConfigError, load_toml};
use crate::core::Price;
use crate::core::fees::FeeSchedule;

use super::filter::CatalogFilters;

/// Which Gamma listing a refresh reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListingSource {
    /// `GET /events`: every event with all of its markets, so a neg-risk event's membership
    /// is known exactly (a skipped member makes its group incomplete).
    #[default]
    Events,
    /// `GET /markets`: markets with their `events[0]`; a neg-risk group is the markets seen
    /// with its id, and none is formed from a truncated listing.
    Markets,
}

/// A fee schedule for markets that have fees enabled but send no `feeSchedule`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeeDefault {
    /// The rate as a decimal string (`"0.072"`), exact to a millionth.
    pub rate: Price,
    #[serde(default = "one")]
    pub exponent: u8,
    #[serde(default = "yes")]
    pub taker_only: bool,
}

fn one() -> u8 {
    1
}

fn yes() -> bool {
    true
}

impl FeeDefault {
    pub fn schedule(&self) -> FeeSchedule {
        FeeSchedule {
            rate_ppm: self.rate.0,
            exponent: self.exponent,
            taker_only: self.taker_only,
        }
    }
}

/// The `[catalog]` section.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CatalogConfig {
    /// Gamma's base URL (the venue's is `http://127.0.0.1:PORT/gamma`).
    pub gamma_url: String,
    /// Seconds between scheduled refreshes.
    pub refresh_interval_s: u64,
    pub source: ListingSource,
    /// Items per page (Gamma caps it at 100).
    pub page_limit: u32,
    /// Stop after this many pages (0 = until the last page or the offset cap).
    pub max_pages: u32,
    /// Filters sent to `GET /events` (when `source = "events"`).
    #[serde(default = "EventsQuery::open")]
    pub events_query: EventsQuery,
    /// Filters sent to `GET /markets` (when `source = "markets"`).
    #[serde(default = "MarketsQuery::open")]
    pub markets_query: MarketsQuery,
    pub http: GammaClientConfig,
    pub filters: CatalogFilters,
    /// `feeType` → schedule, for markets with fees enabled and no `feeSchedule`; such a market
    /// with no default here is watched but never traded (its fees are unknown).
    pub fee_defaults: BTreeMap<String, FeeDefault>,
}

impl Default for CatalogConfig {
    fn default() -> Self {
        Self {
            gamma_url: "https://gamma-api.polymarket.com".into(),
            refresh_interval_s: 300,
            source: ListingSource::Events,
            page_limit: 50,
            max_pages: 0,
            events_query: EventsQuery::open(),
            markets_query: MarketsQuery::open(),
            http: GammaClientConfig::default(),
            filters: CatalogFilters::default(),
            fee_defaults: BTreeMap::new(),
        }
    }
}

/// A config file as the catalog reads it: its `[catalog]` table, other tables ignored.
#[derive(Deserialize, Default)]
struct CatalogFile {
    #[serde(default)]
    catalog: CatalogConfig,
}

impl CatalogConfig {
    /// Loads `[catalog]` from a TOML file and checks it.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let f: CatalogFile = load_toml(path)?;
        f.catalog.validate(path)?;
        Ok(f.catalog)
    }

    /// Parses `[catalog]` from TOML text that came from `path` (for messages).
    pub fn parse(path: &Path, text: &str) -> Result<Self, ConfigError> {
        let f: CatalogFile = crate::config::parse_toml(path, text)?;
        f.catalog.validate(path)?;
        Ok(f.catalog)
    }

    /// `[catalog]` from an already parsed TOML table (the CLI merges `--filter` overrides
    /// into the file's table first); `path` is for messages.
    pub fn from_table(path: &Path, table: toml::Table) -> Result<Self, ConfigError> {
        let f: CatalogFile =
            toml::Value::Table(table)
                .try_into()
                .map_err(|e: toml::de::Error| ConfigError::Parse {
                    file: path.to_path_buf(),
                    message: e.to_string().trim_end().to_string(),
                })?;
        f.catalog.validate(path)?;
        Ok(f.catalog)
    }

    /// The fee defaults as schedules.
    pub fn fee_schedules(&self) -> BTreeMap<String, FeeSchedule> {
        self.fee_defaults
            .iter()
            .map(|(k, v)| (k.clone(), v.schedule()))
            .collect()
    }

    /// Checks what serde cannot: URL shape, ranges.
    pub fn validate(&self, file: &Path) -> Result<(), ConfigError> {
        let bad = |key: &str, expected: &str, found: String| ConfigError::Invalid {
            file: file.to_path_buf(),
            key: format!("catalog.{key}"),
            expected: expected.into(),
            found,
        };
        if !(self.gamma_url.starts_with("http://") || self.gamma_url.starts_with("https://")) {
            return Err(bad(
                "gamma_url",
                "an http:// or https:// URL",
                format!("{:?}", self.gamma_url),
            ));
        }
        if self.refresh_interval_s == 0 {
            return Err(bad("refresh_interval_s", "at least 1", "0".into()));
        }
        if !(1..=MAX_LIMIT).contains(&self.page_limit) {
            return Err(bad(
                "page_limit",
                "1 to 100 (Gamma's largest page)",
                self.page_limit.to_string(),
            ));
        }
        if self.http.max_body_bytes < 1024 {
            return Err(bad(
                "http.max_body_bytes",
                "at least 1024",
                self.http.max_body_bytes.to_string(),
            ));
        }
        for (k, d) in &self.fee_defaults {
            if d.rate > Price::ONE {
                return Err(bad(
                    &format!("fee_defaults.{k}.rate"),
                    "a rate between 0 and 1",
                    d.rate.to_string(),
                ));
            }
        }
        let f = &self.filters;
        for (key, v) in [
            ("filters.min_liquidity", f.min_liquidity),
            ("filters.min_volume_24h", f.min_volume_24h),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(bad(key, "a number at least 0", v.to_string()));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::filter::NegRiskFilter;

    #[test]
    fn defaults_and_errors_name_file_and_key() {
        let p = Path::new("config/catalog.toml");
        assert_eq!(
            CatalogConfig::parse(p, "").unwrap(),
            CatalogConfig::default()
        );
        let c = CatalogConfig::parse(
            p,
            "[other]\nx = 1\n[catalog]\nsource = \"markets\"\n[catalog.filters]\nneg_risk = \"only\"\nmin_liquidity = 500.0\n[catalog.fee_defaults.crypto_fees]\nrate = \"0.072\"\n",
        )
        .unwrap();
        assert_eq!(c.source, ListingSource::Markets);
        assert_eq!(c.filters.neg_risk, NegRiskFilter::Only);
        assert_eq!(c.fee_schedules()["crypto_fees"].rate_ppm, 72_000);
        for (text, key) in [
            ("[catalog.filters]\nmin_liquidty = 1.0\n", "min_liquidty"),
            ("[catalog]\npage_limit = 500\n", "catalog.page_limit"),
            ("[catalog]\ngamma_url = \"ftp://x\"\n", "catalog.gamma_url"),
            ("[catalog.filters]\nneg_risk = \"sometimes\"\n", "neg_risk"),
            ("[catalog.fee_defaults.x]\nrate = 0.07\n", "rate"),
            ("[catalog.http]\ntimeout = 3\n", "timeout"),
        ] {
            let e = CatalogConfig::parse(p, text).unwrap_err().to_string();
            assert!(
                e.contains("config/catalog.toml") && e.contains(key),
                "{text}: {e}"
            );
        }
    }

    #[test]
    fn the_shipped_config_documents_exactly_the_defaults() {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/catalog.toml");
        assert_eq!(CatalogConfig::load(&p).unwrap(), CatalogConfig::default());
    }
}
