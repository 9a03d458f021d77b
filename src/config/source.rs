//! Where a config comes from: one of the shipped `config/*.toml`, compiled into the binary so
//! that every command works from any directory, or a file the user names. Relative paths
//! inside a file resolve against the file's directory; inside a built-in config, against the
//! current directory (a built-in has no directory of its own).

use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use super::{ConfigError, parse_toml};

/// What a config file configures, and so which type checks it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigKind {
    /// The engine (`demo`, `flood`, `feed`): `EngineSettings`.
    Engine,
    /// The stand-alone venue (`polyarb venue`): the venue double's `VenueConfig`, which the
    /// `polyarb-venue` crate reads and checks (the engine only resolves its paths).
    Venue,
    /// The markets catalog alone (`polyarb catalog`): its `[catalog]` section.
    Catalog,
}

impl ConfigKind {
    /// The kind of a file, from its sections: the venue's own (`[server]`, `[source]`, ...)
    /// make it a venue config, anything else is read as an engine config.
    pub fn of_table(table: &toml::Table) -> ConfigKind {
        const VENUE_ONLY: [&str; 6] = ["server", "source", "model", "rest", "faults", "gamma"];
        if VENUE_ONLY.iter().any(|k| table.contains_key(*k)) {
            ConfigKind::Venue
        } else {
            ConfigKind::Engine
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ConfigKind::Engine => "engine",
            ConfigKind::Venue => "venue",
            ConfigKind::Catalog => "catalog",
        }
    }

    /// The keys whose values are file paths, resolved against the config file's directory.
    pub fn path_keys(self) -> &'static [&'static str] {
        match self {
            ConfigKind::Engine => &[
                "storage.path",
                "trading.key_file",
                "trading.creds_file",
                "trading.journal",
                "risk.control_file",
                "obs.log_dir",
                "venue.source.replay_file",
                "venue.gamma.files",
            ],
            ConfigKind::Venue => &["source.replay_file", "gamma.files"],
            ConfigKind::Catalog => &["storage.path"],
        }
    }
}

/// A shipped config, compiled in.
#[derive(Debug)]
pub struct Builtin {
    /// The name `--config` and `polyarb config show` take.
    pub name: &'static str,
    /// The repository file it was compiled from.
    pub file: &'static str,
    pub kind: ConfigKind,
    pub text: &'static str,
}

impl Builtin {
    /// The file's first comment line: what the config is for.
    pub fn about(&self) -> &'static str {
        self.text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix('#'))
            .map_or("", str::trim)
    }
}

macro_rules! builtin {
    ($name:literal, $kind:expr) => {
        Builtin {
            name: $name,
            file: concat!("config/", $name, ".toml"),
            kind: $kind,
            text: include_str!(concat!("../../config/", $name, ".toml")),
        }
    };
}

/// Every shipped config, by name.
pub const BUILTIN: &[Builtin] = &[
    builtin!("demo", ConfigKind::Engine),
    builtin!("demo-catalog", ConfigKind::Engine),
    builtin!("feed", ConfigKind::Engine),
    builtin!("flood", ConfigKind::Engine),
    builtin!("tuned", ConfigKind::Engine),
    builtin!("venue", ConfigKind::Venue),
    builtin!("venue-spread", ConfigKind::Venue),
    builtin!("catalog", ConfigKind::Catalog),
];

/// The built-in config called `name`.
pub fn builtin(name: &str) -> Option<&'static Builtin> {
    BUILTIN.iter().find(|b| b.name == name)
}

/// A config: built in, or a file.
#[derive(Clone, Debug)]
pub enum ConfigSource {
    Builtin(&'static Builtin),
    File(PathBuf),
}

impl ConfigSource {
    /// A `--config` argument: a built-in name (`polyarb config list`), else a file path. A bare
    /// word that is neither is refused with the built-in names rather than read as a file.
    pub fn named(arg: &str) -> Result<Self, ConfigError> {
        if let Some(b) = builtin(arg) {
            return Ok(ConfigSource::Builtin(b));
        }
        let path = Path::new(arg);
        let bare = path.components().count() == 1 && path.extension().is_none();
        if bare && !path.exists() {
            return Err(ConfigError::Unknown {
                name: arg.to_string(),
                known: BUILTIN
                    .iter()
                    .map(|b| b.name)
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        Ok(ConfigSource::File(path.to_path_buf()))
    }

    /// How messages name it: the file, or the shipped file a built-in was compiled from.
    pub fn label(&self) -> PathBuf {
        match self {
            ConfigSource::Builtin(b) => PathBuf::from(format!("{} (built-in)", b.file)),
            ConfigSource::File(p) => p.clone(),
        }
    }

    /// The built-in's kind; a file's is not known before it is read.
    pub fn builtin_kind(&self) -> Option<ConfigKind> {
        match self {
            ConfigSource::Builtin(b) => Some(b.kind),
            ConfigSource::File(_) => None,
        }
    }

    /// The TOML text.
    pub fn text(&self) -> Result<Cow<'static, str>, ConfigError> {
        match self {
            ConfigSource::Builtin(b) => Ok(Cow::Borrowed(b.text)),
            ConfigSource::File(p) => std::fs::read_to_string(p)
                .map(Cow::Owned)
                .map_err(|source| ConfigError::Read {
                    file: p.clone(),
                    source,
                }),
        }
    }

    /// A path named inside this config: against the file's directory, or as it is (the
    /// current directory) for a built-in.
    pub fn resolve(&self, named: &Path) -> PathBuf {
        match self {
            ConfigSource::Builtin(_) => named.to_path_buf(),
            ConfigSource::File(p) => super::resolve_relative(p, named),
        }
    }

    /// The config as a TOML table, with the path keys of `kind` resolved (see `resolve`).
    pub fn table(&self, kind: ConfigKind) -> Result<toml::Table, ConfigError> {
        let text = self.text()?;
        let mut table: toml::Table = parse_toml(&self.label(), &text)?;
        for key in kind.path_keys() {
            self.resolve_key(&mut table, key);
        }
        Ok(table)
    }

    /// Reads and deserializes the config as `kind` (not validated: the caller's type does
    /// that), relative paths resolved. Errors name the file, the key and the line.
    pub fn load<T: DeserializeOwned>(&self, kind: ConfigKind) -> Result<T, ConfigError> {
        // The text first, for messages with line numbers; then the resolved table, which
        // differs from it only in path strings.
        let text = self.text()?;
        let parsed: T = parse_toml(&self.label(), &text)?;
        if matches!(self, ConfigSource::Builtin(_)) {
            return Ok(parsed);
        }
        toml::Value::Table(self.table(kind)?)
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Parse {
                file: self.label(),
                message: e.to_string().trim_end().to_string(),
            })
    }

    /// Resolves the string (or array of strings) at dotted `key`, if present.
    fn resolve_key(&self, table: &mut toml::Table, key: &str) {
        let mut parts = key.split('.').peekable();
        let mut t = table;
        while let Some(part) = parts.next() {
            if parts.peek().is_none() {
                match t.get_mut(part) {
                    Some(toml::Value::String(s)) => *s = self.resolved_string(s),
                    Some(toml::Value::Array(items)) => {
                        for item in items {
                            if let toml::Value::String(s) = item {
                                *s = self.resolved_string(s);
                            }
                        }
                    }
                    _ => {}
                }
                return;
            }
            match t.get_mut(part) {
                Some(toml::Value::Table(inner)) => t = inner,
                _ => return,
            }
        }
    }

    fn resolved_string(&self, s: &str) -> String {
        self.resolve(Path::new(s)).to_string_lossy().into_owned()
    }
}

impl fmt::Display for ConfigSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.label().display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_file_is_built_in_under_its_name() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
        let mut shipped: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
            .collect();
        shipped.sort();
        let mut names: Vec<String> = BUILTIN.iter().map(|b| b.name.to_string()).collect();
        names.sort();
        assert_eq!(names, shipped);
        for b in BUILTIN {
            assert_eq!(
                std::fs::read_to_string(dir.join(format!("{}.toml", b.name))).unwrap(),
                b.text
            );
            assert!(!b.about().is_empty(), "{}", b.name);
        }
    }

    #[test]
    fn names_files_and_unknown_words() {
        assert!(matches!(
            ConfigSource::named("demo"),
            Ok(ConfigSource::Builtin(b)) if b.name == "demo"
        ));
        assert!(matches!(
            ConfigSource::named("config/demo.toml"),
            Ok(ConfigSource::File(_))
        ));
        assert!(matches!(
            ConfigSource::named("x.toml"),
            Ok(ConfigSource::File(_))
        ));
        let e = ConfigSource::named("demoo").unwrap_err().to_string();
        assert!(e.contains("demoo") && e.contains("flood"), "{e}");
    }

    #[test]
    fn relative_paths_resolve_against_the_file_only() {
        let text = "[storage]\npath = \"out/x.db\"\n[venue.gamma]\nfiles = [\"a.json\", \"/abs/b.json\"]\n";
        let dir = std::env::temp_dir().join(format!("polyarb-cfgsrc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("e.toml");
        std::fs::write(&f, text).unwrap();
        let t = ConfigSource::File(f).table(ConfigKind::Engine).unwrap();
        assert_eq!(
            t["storage"]["path"].as_str().unwrap(),
            dir.join("out/x.db").to_str().unwrap()
        );
        let files = t["venue"]["gamma"]["files"].as_array().unwrap();
        assert_eq!(
            files[0].as_str().unwrap(),
            dir.join("a.json").to_str().unwrap()
        );
        assert_eq!(files[1].as_str().unwrap(), "/abs/b.json");
        let b = ConfigSource::named("demo")
            .unwrap()
            .table(ConfigKind::Engine)
            .unwrap();
        assert_eq!(b["storage"]["path"].as_str(), Some("out/demo.db"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
