//! Where the recorded Polymarket payloads and signing vectors live: `fixtures/polymarket/` in
//! this repository (provenance in its `SOURCES.md`). A missing fixture fails the test that
//! needs it, naming the path: a conformance test never passes without running.

use std::path::PathBuf;

/// The fixture directory, `fixtures/polymarket/` of this crate.
pub fn dir() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/polymarket");
    assert!(d.is_dir(), "fixture directory {} is missing", d.display());
    d
}

/// The path of fixture file `name`; panics, naming the path, when it is not there.
pub fn path(name: &str) -> PathBuf {
    let p = dir().join(name);
    assert!(p.is_file(), "fixture {} is missing", p.display());
    p
}
