//! Shared test support: where the recorded Polymarket fixtures live (never copied in).

#![allow(dead_code)]

use std::path::PathBuf;

/// `../shared/fixtures/polymarket` beside the checkout (or /work/shared for worktrees), if
/// present. Tests that need it print why they skip when it is absent.
pub fn polymarket_fixtures() -> Option<PathBuf> {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    [
        here.join("../shared/fixtures/polymarket"),
        PathBuf::from("/work/shared/fixtures/polymarket"),
    ]
    .into_iter()
    .find(|p| p.join("SOURCES.md").is_file())
}

/// The fixture directory, or `None` after printing a clear skip message.
pub fn fixtures_or_skip(test: &str) -> Option<PathBuf> {
    let dir = polymarket_fixtures();
    if dir.is_none() {
        eprintln!(
            "SKIP {test}: ../shared/fixtures/polymarket not found beside the checkout; \
             the conformance test needs the recorded venue payloads"
        );
    }
    dir
}
