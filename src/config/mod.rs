//! Configuration: TOML files, validated, with errors that name the file, the key and what was
//! expected. Secrets are never inline: the TOML names a file that holds them.
//!
//! Each concern owns its section type next to its code; this module loads and checks files,
//! and keeps the shipped configs compiled in (`source`).

pub mod source;

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use thiserror::Error;

/// A configuration problem, phrased for the operator who has to fix the file.
#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read config file {file}: {source}")]
    Read {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Syntax errors, unknown keys and wrong types: toml's message names the key and line.
    #[error("config file {file}: {message}")]
    Parse { file: PathBuf, message: String },
    #[error("config file {file}: key `{key}`: expected {expected}, found {found}")]
    Invalid {
        file: PathBuf,
        key: String,
        expected: String,
        found: String,
    },
    #[error("no built-in config named {name} and no such file (built-in: {known})")]
    Unknown { name: String, known: String },
}

/// Reads and deserializes a TOML file; unknown keys are rejected by the section types.
pub fn load_toml<T: DeserializeOwned>(path: &Path) -> Result<T, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        file: path.to_path_buf(),
        source,
    })?;
    parse_toml(path, &text)
}

/// Deserializes TOML text that came from `path` (used for error messages only).
pub fn parse_toml<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T, ConfigError> {
    toml::from_str(text).map_err(|e| ConfigError::Parse {
        file: path.to_path_buf(),
        message: e.to_string().trim_end().to_string(),
    })
}

/// Resolves a path named inside a config file relative to that file's directory.
pub fn resolve_relative(config_file: &Path, named: &Path) -> PathBuf {
    if named.is_absolute() {
        named.to_path_buf()
    } else {
        config_file
            .parent()
            .unwrap_or_else(|| Path::new("."))
            .join(named)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Sample {
        feed: Feed,
    }
    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Feed {
        max_assets_per_connection: u32,
    }

    #[test]
    fn errors_name_file_and_key() {
        let p = Path::new("config/x.toml");
        let e =
            parse_toml::<Sample>(p, "[feed]\nmax_assets_per_connection = \"lots\"\n").unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("config/x.toml"), "{msg}");
        assert!(msg.contains("max_assets_per_connection"), "{msg}");
        let e = parse_toml::<Sample>(p, "[feed]\nmax_assets = 3\n").unwrap_err();
        assert!(e.to_string().contains("max_assets"), "{e}");
        let e = load_toml::<Sample>(Path::new("/nonexistent/polyarb.toml")).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/polyarb.toml"));
    }
}
