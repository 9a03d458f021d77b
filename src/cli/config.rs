//! `polyarb config`: the built-in configs (the shipped `config/*.toml`, compiled in) and the
//! effective config a command would run with.

use anyhow::Context;
use clap::Subcommand;

use polyarb::catalog::CatalogConfig;
use polyarb::config::source::{BUILTIN, ConfigKind, ConfigSource};
use polyarb::engine::EngineSettings;
use polyarb::venue::VenueConfig;

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
            let kind = match src.builtin_kind() {
                Some(k) => k,
                None => ConfigKind::of_table(&src.table(ConfigKind::Engine)?),
            };
            check(&src, kind)?;
            let table = src.table(kind)?;
            let text = toml::to_string(&table).context("writing the config as TOML")?;
            println!(
                "# {src}: {} config; {}",
                kind.name(),
                match &src {
                    ConfigSource::Builtin(_) => "relative paths are the current directory's",
                    ConfigSource::File(_) => "relative paths resolved against the file's directory",
                }
            );
            print!("{text}");
            Ok(())
        }
    }
}

/// Refuses what the command reading a config of this kind would refuse.
fn check(src: &ConfigSource, kind: ConfigKind) -> anyhow::Result<()> {
    match kind {
        ConfigKind::Engine => {
            EngineSettings::from_source(src)?;
        }
        ConfigKind::Venue => {
            let v: VenueConfig = src.load(ConfigKind::Venue)?;
            v.validate(&src.label())?;
        }
        ConfigKind::Catalog => {
            CatalogConfig::from_table(&src.label(), src.table(kind)?)?;
        }
    }
    Ok(())
}
