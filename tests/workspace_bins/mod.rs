//! The workspace's executables for tests that run them as a user does: `polyarb` (the engine,
//! the root package) and `polyarb-venue` (the venue double, `venue/`). Cargo builds only the
//! tested package's binaries, so a test reaching the other package's binary finds it in the
//! profile directory above its own executable (`target/<profile>/`) and fails, saying what to
//! build, when it is missing or older than the libraries it links: `cargo test --workspace`
//! builds both.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// `polyarb` of this build, checked present and fresh.
pub fn polyarb() -> PathBuf {
    built("polyarb", "polyarb", &["polyarb"])
}

/// `polyarb-venue` of this build, checked present and fresh (`polyarb demo`, `flood`, `synth`,
/// `venue` and `config show` of venue configs run it).
pub fn polyarb_venue() -> PathBuf {
    built(
        "polyarb-venue",
        "polyarb-venue",
        &["polyarb", "polyarb_venue"],
    )
}

/// `target/<profile>/`: the test executable lives in its `deps/`.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    exe.parent()
        .and_then(Path::parent)
        .expect("the test executable is in target/<profile>/deps")
        .to_path_buf()
}

fn built(name: &str, package: &str, libs: &[&str]) -> PathBuf {
    let dir = profile_dir();
    let bin = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    let hint = format!(
        "build it with `cargo build -p {package}` (or run the tests with `cargo test --workspace`, \
         which builds every binary first)"
    );
    let built_at = std::fs::metadata(&bin)
        .and_then(|m| m.modified())
        .unwrap_or_else(|_| panic!("{} is missing: {hint}", bin.display()));
    if let Some(lib_at) = newest_lib(&dir.join("deps"), libs) {
        assert!(
            built_at >= lib_at,
            "{} is older than the libraries it links, so it would test old code: {hint}",
            bin.display()
        );
    }
    bin
}

/// When the newest `lib<name>-*.rlib` of `libs` in `deps` was written.
fn newest_lib(deps: &Path, libs: &[&str]) -> Option<SystemTime> {
    std::fs::read_dir(deps)
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| {
            let f = e.file_name();
            let f = f.to_string_lossy();
            f.ends_with(".rlib") && libs.iter().any(|l| f.starts_with(&format!("lib{l}-")))
        })
        .filter_map(|e| e.metadata().ok()?.modified().ok())
        .max()
}
