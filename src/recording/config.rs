//! `[recording]` in the engine's TOML: where recordings go, when files rotate, how many are
//! kept, and the size of the ring between the hot path and the recorder thread.

use std::path::PathBuf;

use serde::Deserialize;

/// `[recording]`: present (or `--record DIR`) = record; absent = off.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RecordingConfig {
    /// Directory of the recording files (relative to the config file).
    pub dir: PathBuf,
    /// A new file is started once this many uncompressed bytes went into the current one.
    pub rotate_bytes: u64,
    /// ... or once the current file is this old (seconds; 0 = size only).
    pub rotate_secs: u64,
    /// Recording files kept in `dir` (the oldest are deleted when a file starts; 0 = all).
    pub max_files: usize,
    /// Frames the ring to the recorder thread holds (each slot a reused buffer).
    pub ring_frames: usize,
    /// Initial capacity of each slot's buffer; a longer frame grows it once (counted).
    pub slot_bytes: usize,
    /// Decisions the ring to the recorder thread holds.
    pub ring_decisions: usize,
    /// zstd level (1 = fastest; the recorder is a cold thread, but it must keep up).
    pub zstd_level: i32,
    /// The engine's config file as text, written into every file's header (set by the
    /// command that starts the engine; not a TOML key).
    #[serde(skip)]
    pub config_text: String,
}

impl Default for RecordingConfig {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("out/recording"),
            rotate_bytes: 64 << 20,
            rotate_secs: 3_600,
            max_files: 48,
            ring_frames: 8_192,
            slot_bytes: 2_048,
            ring_decisions: 1_024,
            zstd_level: 3,
            config_text: String::new(),
        }
    }
}

impl RecordingConfig {
    /// The same settings recording into `dir` (the `--record DIR` flag).
    pub fn into_dir(dir: PathBuf, base: Option<Self>) -> Self {
        Self {
            dir,
            ..base.unwrap_or_default()
        }
    }

    /// Checks the values; the error names the key.
    pub fn validate(&self) -> Result<(), (&'static str, &'static str, String)> {
        if self.rotate_bytes < 4_096 {
            return Err((
                "recording.rotate_bytes",
                "at least 4096",
                self.rotate_bytes.to_string(),
            ));
        }
        if self.ring_frames < 16 {
            return Err((
                "recording.ring_frames",
                "at least 16",
                self.ring_frames.to_string(),
            ));
        }
        if self.ring_decisions < 16 {
            return Err((
                "recording.ring_decisions",
                "at least 16",
                self.ring_decisions.to_string(),
            ));
        }
        if !(1..=19).contains(&self.zstd_level) {
            return Err((
                "recording.zstd_level",
                "1 to 19",
                self.zstd_level.to_string(),
            ));
        }
        Ok(())
    }
}

/// The recording an engine runs with: `[recording]` of its config, or `--record DIR` (which
/// wins over the section's `dir` and keeps its other keys); `config_text` goes into the header.
pub fn resolve(
    section: Option<RecordingConfig>,
    flag: Option<PathBuf>,
    config_text: &str,
) -> Option<RecordingConfig> {
    let mut r = match flag {
        Some(dir) => Some(RecordingConfig::into_dir(dir, section)),
        None => section,
    }?;
    r.config_text = config_text.to_string();
    Some(r)
}
