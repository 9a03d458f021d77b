//! What every integration test of the workspace shares, written once: waiting for a condition,
//! the built binaries (`bins`) and their runs, the recorded Polymarket fixtures (`fixtures`)
//! and scratch directories. Venue-specific helpers live in `polyarb-venue-testkit` (`venue/testkit/`).

pub mod bins;
pub mod fixtures;

use std::path::PathBuf;
use std::process::Output;
use std::time::{Duration, Instant};

/// How long `wait_until` waits: far beyond any healthy wait on a loaded 2-core machine.
pub const WAIT_LIMIT: Duration = Duration::from_secs(30);

/// Polls `f` every 10 ms until it holds; fails the test, naming `what`, after `WAIT_LIMIT`.
pub fn wait_until(what: &str, f: impl FnMut() -> bool) {
    wait_within(what, WAIT_LIMIT, f);
}

/// Polls `f` every 10 ms until it holds; fails the test, naming `what`, after `limit`.
pub fn wait_within(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// An empty directory of this test process under the system's temp dir, named by `tag`
/// (emptied first when an earlier run of the same process id left it behind).
pub fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("polyarb-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch dir");
    d
}

/// The stdout of a finished command, which must have succeeded: a failure names `what` and
/// shows both streams.
pub fn stdout_of_success(what: &str, out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{what} failed ({}): {stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}
