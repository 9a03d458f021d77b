//! Where the recorded Polymarket payloads and signing vectors live: `fixtures/polymarket/` in
//! this repository (provenance in its `SOURCES.md`). A missing fixture fails the test that
//! needs it, naming the path: a conformance test never passes without running.

use std::path::{Path, PathBuf};

/// The fixture directory, `fixtures/polymarket/` of the repository (the workspace root, the
/// nearest directory above this crate's that has one).
pub fn dir() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = here
        .ancestors()
        .find(|d| d.join("fixtures/polymarket").is_dir())
        .unwrap_or(here);
    let d = root.join("fixtures/polymarket");
    assert!(d.is_dir(), "fixture directory {} is missing", d.display());
    d
}

/// The path of fixture file `name`; panics, naming the path, when it is not there.
pub fn path(name: &str) -> PathBuf {
    let p = dir().join(name);
    assert!(p.is_file(), "fixture {} is missing", p.display());
    p
}
