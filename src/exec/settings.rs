//! `[trading]`: whether the engine sends orders, and what it needs to: the CLOB and user
//! channel URLs, the files holding the key and the API credentials (secrets are files the TOML
//! points to, never environment variables), the SQLite journal, and the unwind limits.
//!
//! Absent, or `mode = "dry_run"`: intents are counted, nothing is sent. Relative paths are
//! relative to the TOML file (the caller resolves them with `config::resolve_relative`).

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::config::ConfigError;

use super::pairing::PairingConfig;

/// Dry run or live.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TradingMode {
    #[default]
    DryRun,
    Live,
}

/// `[trading]` in the engine's TOML.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct TradingConfig {
    pub mode: TradingMode,
    /// A file holding the signer's private key (`0x` + 64 hex).
    pub key_file: Option<PathBuf>,
    /// A file holding the L2 API credentials (`apiKey`, `secret`, `passphrase` JSON); absent:
    /// they are created or derived with L1 auth at start.
    pub creds_file: Option<PathBuf>,
    /// The CLOB REST API (`https://clob.polymarket.com`, or a local venue).
    pub clob_url: String,
    /// The user channel (`wss://ws-subscriptions-clob.polymarket.com/ws/user`).
    pub user_ws_url: String,
    /// The SQLite order journal: every order is written there before it leaves.
    pub journal: Option<PathBuf>,
    pub chain_id: u64,
    /// See [`PairingConfig`].
    pub unwind_max_slippage_ticks: u32,
    pub unwind_attempts: u32,
}

impl Default for TradingConfig {
    fn default() -> Self {
        let p = PairingConfig::default();
        Self {
            mode: TradingMode::DryRun,
            key_file: None,
            creds_file: None,
            clob_url: String::new(),
            user_ws_url: String::new(),
            journal: None,
            chain_id: 137,
            unwind_max_slippage_ticks: p.unwind_max_slippage_ticks,
            unwind_attempts: p.unwind_attempts,
        }
    }
}

impl TradingConfig {
    pub fn is_live(&self) -> bool {
        self.mode == TradingMode::Live
    }

    pub fn pairing(&self) -> PairingConfig {
        PairingConfig {
            unwind_max_slippage_ticks: self.unwind_max_slippage_ticks,
            unwind_attempts: self.unwind_attempts,
        }
    }

    /// Checks what live trading needs; a dry run needs nothing.
    pub fn validate(&self, file: &Path) -> Result<(), ConfigError> {
        let invalid = |key: &str, expected: &str, found: String| ConfigError::Invalid {
            file: file.to_path_buf(),
            key: format!("trading.{key}"),
            expected: expected.to_string(),
            found,
        };
        if !(1..=31).contains(&self.unwind_attempts) {
            return Err(invalid(
                "unwind_attempts",
                "1 to 31",
                self.unwind_attempts.to_string(),
            ));
        }
        if !self.is_live() {
            return Ok(());
        }
        if self.key_file.is_none() {
            return Err(invalid(
                "key_file",
                "a file holding the signer's 0x-hex private key (mode = \"live\")",
                "nothing".into(),
            ));
        }
        if self.journal.is_none() {
            return Err(invalid(
                "journal",
                "a SQLite file for the order journal (mode = \"live\")",
                "nothing".into(),
            ));
        }
        let url = &self.clob_url;
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(invalid(
                "clob_url",
                "an http:// or https:// URL (mode = \"live\")",
                format!("{url:?}"),
            ));
        }
        let url = &self.user_ws_url;
        if !(url.starts_with("ws://") || url.starts_with("wss://")) {
            return Err(invalid(
                "user_ws_url",
                "a ws:// or wss:// URL of the user channel (mode = \"live\")",
                format!("{url:?}"),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<TradingConfig, ConfigError> {
        let f = Path::new("cfg/feed.toml");
        let c: TradingConfig = crate::config::parse_toml(f, text)?;
        c.validate(f)?;
        Ok(c)
    }

    #[test]
    fn dry_run_needs_nothing_and_live_needs_everything() {
        assert!(!parse("").unwrap().is_live());
        let live = "mode = \"live\"\nkey_file = \"k\"\njournal = \"j.db\"\n\
                    clob_url = \"http://127.0.0.1:1\"\nuser_ws_url = \"ws://127.0.0.1:1/ws/user\"\n";
        let c = parse(live).unwrap();
        assert!(c.is_live());
        assert_eq!(c.pairing(), PairingConfig::default());
        // (text, key named, expectation named)
        let cases = [
            (
                live.replace("key_file = \"k\"\n", ""),
                "trading.key_file",
                "private key",
            ),
            (
                live.replace("journal = \"j.db\"\n", ""),
                "trading.journal",
                "SQLite",
            ),
            (
                live.replace("http://127.0.0.1:1", "127.0.0.1:1"),
                "trading.clob_url",
                "http://",
            ),
            (
                live.replace("ws://", "http://"),
                "trading.user_ws_url",
                "ws://",
            ),
            (
                format!("{live}unwind_attempts = 0\n"),
                "trading.unwind_attempts",
                "1 to 31",
            ),
        ];
        for (text, key, expected) in cases {
            let e = parse(&text).unwrap_err().to_string();
            assert!(
                e.contains("cfg/feed.toml") && e.contains(key) && e.contains(expected),
                "{e}"
            );
        }
        let e = parse("mode = \"yolo\"\n").unwrap_err().to_string();
        assert!(e.contains("mode") && e.contains("dry_run"), "{e}");
        let e = parse("key = \"0xabc\"\n").unwrap_err().to_string();
        assert!(e.contains("unknown field"), "secrets are never inline: {e}");
    }
}
