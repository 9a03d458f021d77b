//! `[obs]` in the engine's TOML: the status and metrics endpoint, and the JSON log files.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

/// How often a new JSON log file is started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogRotation {
    Minutely,
    Hourly,
    #[default]
    Daily,
    Never,
}

/// `[obs]`: the endpoint (`/metrics`, `/status`) and the JSON log files.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ObsConfig {
    /// Serve `/metrics` and `/status` (false = no endpoint, no listening socket).
    pub serve: bool,
    /// Address of the endpoint: loopback by default, since it answers anyone who can reach
    /// it; port 0 takes a free port (the bound address is printed and logged).
    pub listen: String,
    /// Directory of the JSON log files (absent = no log files, terminal only).
    pub log_dir: Option<PathBuf>,
    /// When a new log file starts.
    pub log_rotation: LogRotation,
    /// Log files kept (older ones are deleted at rotation; 0 = keep all).
    pub log_max_files: usize,
    /// Least severe level written to the files (`error`, `warn`, `info`, `debug`, `trace`).
    pub log_level: String,
}

impl Default for ObsConfig {
    fn default() -> Self {
        Self {
            serve: true,
            listen: "127.0.0.1:9184".into(),
            log_dir: None,
            log_rotation: LogRotation::Daily,
            log_max_files: 14,
            log_level: "info".into(),
        }
    }
}

impl ObsConfig {
    /// The endpoint's address, checked.
    pub fn listen_addr(&self) -> Result<SocketAddr, String> {
        self.listen
            .parse()
            .map_err(|e| format!("{:?} ({e})", self.listen))
    }

    /// The file level, checked.
    pub fn level(&self) -> Result<tracing::Level, String> {
        self.log_level
            .parse()
            .map_err(|_| format!("{:?}", self.log_level))
    }

    /// Checks every key; errors name the key.
    pub fn validate(&self, file: &std::path::Path) -> Result<(), crate::config::ConfigError> {
        let invalid =
            |key: &str, expected: &str, found: String| crate::config::ConfigError::Invalid {
                file: file.to_path_buf(),
                key: key.to_string(),
                expected: expected.to_string(),
                found,
            };
        if let Err(e) = self.listen_addr() {
            return Err(invalid(
                "obs.listen",
                "an IP address and port, e.g. \"127.0.0.1:9184\"",
                e,
            ));
        }
        if let Err(e) = self.level() {
            return Err(invalid(
                "obs.log_level",
                "one of error, warn, info, debug, trace",
                e,
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_listen_on_loopback_and_bad_keys_are_named() {
        let c = ObsConfig::default();
        assert!(c.listen_addr().unwrap().ip().is_loopback());
        assert!(c.validate(std::path::Path::new("x.toml")).is_ok());
        let bad = ObsConfig {
            listen: "localhost".into(),
            ..ObsConfig::default()
        };
        let e = bad.validate(std::path::Path::new("x.toml")).unwrap_err();
        assert!(e.to_string().contains("obs.listen"), "{e}");
        let bad = ObsConfig {
            log_level: "loud".into(),
            ..ObsConfig::default()
        };
        let e = bad.validate(std::path::Path::new("x.toml")).unwrap_err();
        assert!(e.to_string().contains("obs.log_level"), "{e}");
    }
}
