//! A scratch directory removed on drop, for `polyarb db bench` and the tests (unique per
//! process, per call and per moment, under the system temp directory).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

static NEXT: AtomicU64 = AtomicU64::new(0);

pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Creates `<tmp>/polyarb-<label>-<pid>-<n>-<nanos>`. Panics only if the system temp
    /// directory is unwritable (tests and benches cannot run at all then).
    pub fn new(label: &str) -> Self {
        Self::try_new(label).expect("cannot create a directory under the system temp dir")
    }

    pub fn try_new(label: &str) -> std::io::Result<Self> {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let nanos = crate::storage::time::unix_now_ns();
        let path = std::env::temp_dir().join(format!(
            "polyarb-{label}-{}-{n}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&path)?;
        Ok(Self { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
