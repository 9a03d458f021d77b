//! `polyarb-venue config`: the built-in configs, and `show` for every config, checked as the
//! command that reads it would check it: the venue double's part here, the engine's and the
//! catalog's by the engine (`polyarb::cli::config`).

use polyarb::cli::config::{ConfigCommand, check, hosts_venue, kind_of, print};
use polyarb::config::source::{ConfigKind, ConfigSource};

use crate::VenueConfig;

pub fn run(c: ConfigCommand) -> anyhow::Result<()> {
    match c {
        ConfigCommand::List => polyarb::cli::config::run(ConfigCommand::List),
        ConfigCommand::Show { name } => {
            let src = ConfigSource::named(&name)?;
            let kind = kind_of(&src)?;
            match kind {
                ConfigKind::Venue => {
                    VenueConfig::from_source(&src)?;
                }
                ConfigKind::Engine if hosts_venue(&src, kind)? => {
                    VenueConfig::with_engine(&src)?;
                }
                _ => check(&src, kind)?,
            }
            print(&src, kind)
        }
    }
}
