//! The workspace's executables for tests that run them as a user does: `polyarb` (the engine,
//! the root package) and `polyarb-venue` (the venue double, `venue/`). Cargo builds only the
//! tested package's binaries, so a test reaching the other package's binary finds it in the
//! profile directory above its own executable (`target/<profile>/`) and fails, saying what to
//! build, when it is missing or older than a source file it was built from (by cargo's
//! dependency list beside it): `cargo test --workspace` builds both.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// `polyarb` of this build, checked present and fresh.
pub fn polyarb() -> PathBuf {
    built("polyarb", "polyarb")
}

/// `polyarb-venue` of this build, checked present and fresh (`polyarb demo`, `flood`, `synth`,
/// `venue` and `config show` of venue configs run it).
pub fn polyarb_venue() -> PathBuf {
    built("polyarb-venue", "polyarb-venue")
}

/// `target/<profile>/`: the test executable lives in its `deps/`.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    exe.parent()
        .and_then(Path::parent)
        .expect("the test executable is in target/<profile>/deps")
        .to_path_buf()
}

fn built(name: &str, package: &str) -> PathBuf {
    let dir = profile_dir();
    let bin = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    let hint = format!(
        "build it with `cargo build -p {package}` (or run the tests with `cargo test --workspace`, \
         which builds every binary first)"
    );
    let built_at = std::fs::metadata(&bin)
        .and_then(|m| m.modified())
        .unwrap_or_else(|_| panic!("{} is missing: {hint}", bin.display()));
    if let Some(newer) = sources_newer_than(&dir.join(format!("{name}.d")), built_at) {
        panic!(
            "{} is older than {} (and perhaps more of its sources), so it would run old code: {hint}",
            bin.display(),
            newer.display()
        );
    }
    bin
}

/// A source file that cargo's dependency list of the binary (`<name>.d` beside it) names and
/// that changed after `built_at`; `None` when there is none or no list.
fn sources_newer_than(dep_info: &Path, built_at: SystemTime) -> Option<PathBuf> {
    let text = std::fs::read_to_string(dep_info).ok()?;
    let (_, deps) = text.lines().next()?.split_once(": ")?;
    // Paths are separated by spaces; a space inside a path is escaped with a backslash.
    let mut paths = Vec::new();
    let mut cur = String::new();
    let mut chars = deps.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => cur.extend(chars.next()),
            ' ' => paths.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    paths.push(cur);
    paths
        .into_iter()
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .find(|p| {
            std::fs::metadata(p)
                .and_then(|m| m.modified())
                .is_ok_and(|t| t > built_at)
        })
}
