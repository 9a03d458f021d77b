//! `polyarb config`: the built-in configs (the shipped `config/*.toml`, compiled in) and the
//! effective config a command would run with. A config is checked by the binary whose command
//! reads it: a config with a venue double in it (a venue config, or an engine config with a
//! `[venue]` section, as `demo` and `flood` read) is shown by `polyarb-venue config show`,
//! which checks both parts; `polyarb config show` hands such a config to it.

use anyhow::Context;
use clap::Subcommand;

use polyarb::catalog::CatalogConfig;
use polyarb::config::source::{BUILTIN, ConfigKind, ConfigSource};
use polyarb::engine::EngineSettings;

#[derive(Subcommand, Debug)]
pub enum ConfigCommand {
    /// The built-in configs: name, the file each was compiled from, what it is for.
    List,
    /// A config as TOML, checked as the command that reads it would check it, relative paths
    /// resolved (against a file's directory; a built-in's stay relative to the current
    /// directory). Keys it leaves out take their documented defaults.
    Show {
        /// A built-in name (`polyarb config list`) or a TOML file.
        name: String,
    },
}

pub fn run(c: ConfigCommand) -> anyhow::Result<()> {
    match c {
        ConfigCommand::List => {
            let width = BUILTIN.iter().map(|b| b.name.len()).max().unwrap_or(0);
            for b in BUILTIN {
                println!("{:width$}  {:24}  {}", b.name, b.file, b.about());
            }
            Ok(())
        }
        ConfigCommand::Show { name } => {
            let src = ConfigSource::named(&name)?;
            let kind = kind_of(&src)?;
            if hosts_venue(&src, kind)? {
                return super::hosted::run_hosted();
            }
            check(&src, kind)?;
            print(&src, kind)
        }
    }
}

/// The kind of a config: a built-in's own, a file's from its sections.
pub fn kind_of(src: &ConfigSource) -> anyhow::Result<ConfigKind> {
    Ok(match src.builtin_kind() {
        Some(k) => k,
        None => ConfigKind::of_table(&src.table(ConfigKind::Engine)?),
    })
}

/// Prints a checked config as TOML, relative paths resolved, under a line naming it.
pub fn print(src: &ConfigSource, kind: ConfigKind) -> anyhow::Result<()> {
    let table = src.table(kind)?;
    let text = toml::to_string(&table).context("writing the config as TOML")?;
    println!(
        "# {src}: {} config; {}",
        kind.name(),
        match src {
            ConfigSource::Builtin(_) => "relative paths are the current directory's",
            ConfigSource::File(_) => "relative paths resolved against the file's directory",
        }
    );
    print!("{text}");
    Ok(())
}

/// Whether the config configures a venue double, which `polyarb-venue` checks.
pub fn hosts_venue(src: &ConfigSource, kind: ConfigKind) -> anyhow::Result<bool> {
    Ok(match kind {
        ConfigKind::Venue => true,
        ConfigKind::Engine => src.table(kind)?.contains_key("venue"),
        ConfigKind::Catalog => false,
    })
}

/// Refuses what the command reading an engine or catalog config would refuse; a venue
/// config is `polyarb-venue`'s to check.
pub fn check(src: &ConfigSource, kind: ConfigKind) -> anyhow::Result<()> {
    match kind {
        ConfigKind::Engine => {
            EngineSettings::from_source(src)?;
        }
        ConfigKind::Venue => {
            anyhow::bail!("{src} is a venue config: `polyarb-venue config show` checks it")
        }
        ConfigKind::Catalog => {
            CatalogConfig::from_table(&src.label(), src.table(kind)?)?;
        }
    }
    Ok(())
}
