//! `polyarb risk kill|reset`: the operator's hand on a running engine's risk controls. A
//! request goes through the control file the engine watches (`[risk] control_file`, else
//! `<journal>.control` beside its order journal), and the command waits for the engine's
//! answer (written beside it, `<control file>.status`).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};

use polyarb::config::source::ConfigSource;
use polyarb::engine::settings::EngineSettings;
use polyarb::risk::control::{self, Command};

#[derive(Subcommand, Debug)]
pub enum RiskCommand {
    /// Cancel every order at the venue and halt every strategy of the running engine.
    Kill(KillArgs),
    /// Clear every tripped breaker (and a kill): the running engine plans again.
    Reset(Target),
}

/// Which engine, and how long to wait for it.
#[derive(Args, Debug)]
pub struct Target {
    /// The running engine's config (a built-in name or a TOML file): its control file is
    /// `[risk] control_file`, else `<[trading] journal>.control` (`demo`: beside its journal).
    #[arg(long, default_value = "feed")]
    pub config: String,
    /// The control file itself (instead of the config's).
    #[arg(long)]
    pub control: Option<PathBuf>,
    /// Seconds to wait for the engine's answer.
    #[arg(long, default_value_t = 10.0)]
    pub wait: f64,
}

#[derive(Args, Debug)]
pub struct KillArgs {
    #[command(flatten)]
    pub target: Target,
    /// Also sell every position held (FAK, down to `[risk] flatten_max_slippage_ticks` under
    /// the best bid).
    #[arg(long)]
    pub flatten: bool,
}

/// The control file of the engine `t` names.
fn control_file(t: &Target) -> anyhow::Result<PathBuf> {
    if let Some(p) = &t.control {
        return Ok(p.clone());
    }
    let src = ConfigSource::named(&t.config)?;
    let cfg = EngineSettings::from_source(&src)?;
    if let Some(p) = &cfg.risk.control_file {
        return Ok(p.clone());
    }
    let journal = match cfg.trading.as_ref().and_then(|t| t.journal.clone()) {
        Some(j) => j,
        // `polyarb demo --live`'s default journal.
        None => cfg
            .storage
            .as_ref()
            .and_then(|s| s.path.parent().map(|d| d.join("demo-orders.db")))
            .unwrap_or_else(|| PathBuf::from("out/demo-orders.db")),
    };
    Ok(super::paper::control_path(&cfg.risk, &journal))
}

fn request(t: &Target, command: Command) -> anyhow::Result<()> {
    let path = control_file(t)?;
    let id = control::send(&path, command)
        .with_context(|| format!("writing to the control file {}", path.display()))?;
    println!(
        "sent `{}` (request {id}) to {}",
        command.as_str(),
        path.display()
    );
    match control::wait_answer(&path, id, Duration::from_secs_f64(t.wait.max(0.0)))
        .with_context(|| format!("reading the answers beside {}", path.display()))?
    {
        Some(a) => {
            println!("{a}");
            Ok(())
        }
        None => bail!(
            "no answer within {} s: is an engine running with the control file {}?",
            t.wait,
            path.display()
        ),
    }
}

pub fn run(c: RiskCommand) -> anyhow::Result<()> {
    match c {
        RiskCommand::Kill(k) => request(&k.target, Command::Kill { flatten: k.flatten }),
        RiskCommand::Reset(t) => request(&t, Command::Reset),
    }
}
