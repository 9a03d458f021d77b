//! Commands that `polyarb-venue` runs: `polyarb` hands its whole command line to the
//! `polyarb-venue` executable beside its own, so `polyarb demo` and `polyarb-venue demo` are
//! one command. The engine does not link its venue double; the binary that does lives in the
//! workspace member `venue/`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use thiserror::Error;

/// The executable that hosts the venue-backed commands.
pub const VENUE_BIN: &str = "polyarb-venue";

#[derive(Debug, Error)]
pub enum HostedError {
    #[error("cannot locate the polyarb executable: {0}")]
    CurrentExe(std::io::Error),
    #[error(
        "`polyarb {command}` runs in {VENUE_BIN}, which is not beside this binary ({path}); build it \
         with `cargo build --workspace` (or `cargo build -p polyarb-venue`, with --release \
         for a release build)"
    )]
    Missing { command: String, path: PathBuf },
    #[error("cannot start {path}: {source}")]
    Start {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// `polyarb-venue` beside `exe` (with the platform's executable suffix).
pub fn venue_bin_beside(exe: &Path) -> PathBuf {
    exe.with_file_name(format!("{VENUE_BIN}{}", std::env::consts::EXE_SUFFIX))
}

/// Runs this process's command line (`polyarb <args>`) as `polyarb-venue <args>`: on Unix the
/// process becomes `polyarb-venue` (same pid, signals and exit code); elsewhere it waits for
/// it and exits with its code. Returns only on failure to start it.
pub fn run_hosted() -> anyhow::Result<()> {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let exe = std::env::current_exe().map_err(HostedError::CurrentExe)?;
    let path = venue_bin_beside(&exe);
    if !path.is_file() {
        // The command's words, without the global flags before them or its own after them.
        let command = args
            .iter()
            .map(|a| a.to_string_lossy())
            .skip_while(|a| a.starts_with('-'))
            .take_while(|a| !a.starts_with('-'))
            .collect::<Vec<_>>()
            .join(" ");
        return Err(HostedError::Missing { command, path }.into());
    }
    let mut cmd = Command::new(&path);
    cmd.args(&args);
    Err(hand_over(cmd, &path).into())
}

#[cfg(unix)]
fn hand_over(mut cmd: Command, path: &Path) -> HostedError {
    use std::os::unix::process::CommandExt;
    let source = cmd.exec();
    HostedError::Start {
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(not(unix))]
fn hand_over(mut cmd: Command, path: &Path) -> HostedError {
    match cmd.status() {
        Ok(status) => std::process::exit(status.code().unwrap_or(1)),
        Err(source) => HostedError::Start {
            path: path.to_path_buf(),
            source,
        },
    }
}
