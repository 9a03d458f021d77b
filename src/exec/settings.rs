//! `[trading]`: whether the engine sends orders, and what it needs to: the CLOB and user
//! channel URLs, the files holding the key and the API credentials (secrets are files the TOML
//! points to, never environment variables), the account (signature type and funder), the
//! SQLite journal, and the unwind limits. [`AccountSettings`] also checks `polyarb order`'s
//! `[clob]` account.
//!
//! The account defaults to signature type 3, the deposit wallet: production refuses orders
//! whose maker is a plain EOA, proxy or Safe from API users made since May 2026 (`maker
//! address not allowed, please use the deposit wallet flow`). Its `funder` is the deposit
//! wallet's address; the key is the wallet's owner. Older accounts say `signature_type = 0`
//! (EOA), 1 (Magic/email proxy) or 2 (browser-wallet Safe).
//!
//! Absent, or `mode = "dry_run"`: intents are counted, nothing is sent. Relative paths are
//! relative to the TOML file (the caller resolves them with `config::resolve_relative`).

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::adapters::polymarket::signing::{Address, SignatureType};
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
    /// 0 EOA, 1 POLY_PROXY, 2 POLY_GNOSIS_SAFE, 3 POLY_1271 (deposit wallet, the default).
    pub signature_type: u8,
    /// The address holding the funds: the deposit wallet (type 3), proxy (1) or Safe (2);
    /// for type 0 absent or the key's own address.
    pub funder: Option<String>,
    /// See [`PairingConfig`].
    pub unwind_max_slippage_ticks: u32,
    pub unwind_attempts: u32,
}

/// The signature type a new account uses: the deposit wallet.
pub const DEFAULT_SIGNATURE_TYPE: u8 = SignatureType::Poly1271 as u8;

/// An account's signature type and funder as a config file gives them, checked against what
/// production accepts for that type. `section` names the TOML table (`trading`, `clob`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccountSettings {
    pub signature_type: SignatureType,
    pub funder: Option<Address>,
}

impl AccountSettings {
    /// The checks that need no key: the type is 0–3, the funder an address, and types 1–3
    /// have one.
    pub fn parse(
        file: &Path,
        section: &str,
        signature_type: u8,
        funder: Option<&str>,
    ) -> Result<Self, ConfigError> {
        let invalid = |key: &str, expected: &str, found: String| ConfigError::Invalid {
            file: file.to_path_buf(),
            key: format!("{section}.{key}"),
            expected: expected.to_string(),
            found,
        };
        let t = SignatureType::from_u8(signature_type).ok_or_else(|| {
            invalid(
                "signature_type",
                "0 (EOA), 1 (POLY_PROXY), 2 (POLY_GNOSIS_SAFE) or 3 (POLY_1271 deposit wallet)",
                signature_type.to_string(),
            )
        })?;
        let funder = funder
            .map(|f| {
                Address::parse(f).map_err(|e| {
                    invalid(
                        "funder",
                        "a 0x-hex address of 20 bytes",
                        format!("{f:?} ({e})"),
                    )
                })
            })
            .transpose()?;
        if t != SignatureType::Eoa && funder.is_none() {
            return Err(invalid(
                "funder",
                match t {
                    SignatureType::Poly1271 => {
                        "the deposit wallet's address (signature_type = 3; an EOA account says \
                         signature_type = 0)"
                    }
                    SignatureType::PolyProxy => "the proxy wallet's address (signature_type = 1)",
                    _ => "the Safe's address (signature_type = 2)",
                },
                "nothing".into(),
            ));
        }
        Ok(Self {
            signature_type: t,
            funder,
        })
    }

    /// The check that needs the key: an EOA account trades for the key's own address.
    pub fn check_key(&self, file: &Path, section: &str, key: Address) -> Result<(), ConfigError> {
        match self.funder {
            Some(f) if self.signature_type == SignatureType::Eoa && f != key => {
                Err(ConfigError::Invalid {
                    file: file.to_path_buf(),
                    key: format!("{section}.funder"),
                    expected: format!(
                        "the key's own address {} with signature_type = 0 (or signature_type \
                         1, 2 or 3 for a wallet the key signs for)",
                        key.to_checksum()
                    ),
                    found: f.to_checksum(),
                })
            }
            _ => Ok(()),
        }
    }
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
            signature_type: DEFAULT_SIGNATURE_TYPE,
            funder: None,
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

    /// The account's signature type and funder (see [`AccountSettings::parse`]).
    pub fn account(&self, file: &Path) -> Result<AccountSettings, ConfigError> {
        AccountSettings::parse(file, "trading", self.signature_type, self.funder.as_deref())
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
        self.account(file)?;
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
                    clob_url = \"http://127.0.0.1:1\"\nuser_ws_url = \"ws://127.0.0.1:1/ws/user\"\n\
                    signature_type = 0\n";
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
            // The default account is a deposit wallet: it needs the wallet's address.
            (
                live.replace("signature_type = 0\n", ""),
                "trading.funder",
                "deposit wallet's address",
            ),
            (
                live.replace("signature_type = 0", "signature_type = 1"),
                "trading.funder",
                "proxy wallet's address",
            ),
            (
                live.replace("signature_type = 0", "signature_type = 2"),
                "trading.funder",
                "Safe's address",
            ),
            (
                live.replace("signature_type = 0", "signature_type = 4"),
                "trading.signature_type",
                "3 (POLY_1271",
            ),
            (
                format!("{live}funder = \"0x1234\"\n"),
                "trading.funder",
                "20 bytes",
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

    #[test]
    fn accounts_of_every_signature_type() {
        let f = Path::new("cfg/feed.toml");
        let wallet = "0x1111111111111111111111111111111111111111";
        let key = Address::parse("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266").unwrap();
        let w = Address::parse(wallet).unwrap();
        assert_eq!(TradingConfig::default().signature_type, 3);
        for t in 1..=3u8 {
            let a = AccountSettings::parse(f, "clob", t, Some(wallet)).unwrap();
            assert_eq!((a.signature_type as u8, a.funder), (t, Some(w)));
            assert!(a.check_key(f, "clob", key).is_ok());
        }
        let eoa = AccountSettings::parse(f, "clob", 0, None).unwrap();
        assert!(eoa.check_key(f, "clob", key).is_ok());
        let own = AccountSettings::parse(f, "clob", 0, Some(&key.to_checksum())).unwrap();
        assert!(own.check_key(f, "clob", key).is_ok());
        // An EOA with someone else's address as funder: the file, the key, what was expected.
        let e = AccountSettings::parse(f, "clob", 0, Some(wallet))
            .unwrap()
            .check_key(f, "clob", key)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("cfg/feed.toml")
                && e.contains("clob.funder")
                && e.contains("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266")
                && e.contains("signature_type = 0"),
            "{e}"
        );
    }
}
