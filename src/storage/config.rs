//! The `[storage]` configuration section: where the database lives, how durable a commit is,
//! how batches are cut, how often books are snapshotted, and how long each kind of row is kept.
//!
//! Every field has a default that works on a 2-core laptop; `validate` refuses values that would
//! silently break a guarantee (a retention window outside the plan's 7–14 days, a zero batch).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::config::ConfigError;

/// SQLite's `synchronous` setting. In WAL mode `normal` loses no committed transaction when the
/// process dies (only on power loss or an OS crash, the last commits may roll back), which is
/// what a recorder of market data needs; `full` also survives power loss at ~10% throughput cost.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Synchronous {
    Off,
    #[default]
    Normal,
    Full,
    Extra,
}

impl Synchronous {
    pub const fn pragma_value(self) -> &'static str {
        match self {
            Self::Off => "OFF",
            Self::Normal => "NORMAL",
            Self::Full => "FULL",
            Self::Extra => "EXTRA",
        }
    }
}

/// The storage section of the engine's TOML.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// The SQLite database file.
    pub path: PathBuf,
    pub synchronous: Synchronous,
    /// How long a statement waits for another connection's lock before failing with "busy".
    pub busy_timeout_ms: u64,
    /// Capacity of the channel from the hot path to the writer; a full channel is a counted
    /// drop back to the producer, never a block.
    pub channel_capacity: usize,
    /// A batch is committed when it holds this many rows...
    pub batch_rows: usize,
    /// ...or when its oldest row has waited this long, whichever comes first. At a feed's
    /// trickle the timer decides, and each commit rewrites the last 64 KiB page of the landing
    /// tables and of `batches`: measured with `polyarb flood --rate 2000` (4.1k rows/s, 30 s),
    /// 200 ms wrote 137 MB (1.1 KB per row) where 50 ms wrote 359 MB, and took 23% less of the
    /// writer's CPU. A crash loses at most this much market data; the order journal does not
    /// wait for it (it flushes before sending).
    pub batch_ms: u64,
    /// Rows the writer holds in memory while the database refuses writes (locked, full); beyond
    /// it market-data rows are dropped (counted, the asset marked for resync in the stored
    /// stream). Order, fill and journal rows are never dropped.
    pub max_pending_rows: usize,
    /// Snapshot an asset's book after this many stored book events...
    pub snapshot_every_events: u64,
    /// ...or when this much time has passed since its last snapshot (at the next event).
    pub snapshot_every_ms: u64,
    /// One-minute bars accumulate in memory and are merged into their tables at most this often
    /// (0 = with every batch), and at every flush barrier and shutdown. A merge is one upsert per
    /// asset touched; with every 1000-row batch at full feed rate that was up to one upsert per
    /// two book rows (measured in `polyarb flood`). A crash loses at most this much of the bars'
    /// updates; the events they summarise are stored.
    pub bars_every_ms: u64,
    /// A disk budget for the database (0 = none): beyond it writes fail as "disk full", the
    /// same path as a real full disk.
    pub max_db_bytes: u64,
    /// Book events land in an unindexed table and are moved into the indexed one this many at a
    /// time, when that many have landed...
    pub compact_rows: usize,
    /// ...or when the writer is idle and the last compaction is this old. A compaction dirties
    /// nearly every leaf of its partition's indices however few rows it carries, so at a
    /// feed's trickle it must be rare: into a 900k-row partition (500 markets) a 4,000-row
    /// compaction wrote 51 MB to the WAL (13 KB per row) and a 40,000-row one 64 MB (1.6 KB per
    /// row). At 1,000 rows/s, 30 s makes that ~2 KB per row; readers meanwhile scan up to 30k
    /// landed rows (a book rebuild took ~1.2 ms longer with 30k landed). A chunk runs only when the channel can absorb what arrives
    /// meanwhile (the writer measures both rates), so under a burst rows stay landed (durable
    /// and readable) and are indexed when it eases...
    pub compact_idle_ms: u64,
    /// ...unless this many rows have landed: then compaction runs whatever the channel does
    /// (readers scan the unindexed landing table, so it must stay bounded).
    pub max_staged_rows: usize,
    /// `orderbook_events` is filled one partition at a time (a table with all its indices); a
    /// compaction starts a new one once the newest holds this many rows. A compaction rewrites
    /// nearly every leaf of the partition's `(market_id, side, price)` index, so smaller
    /// partitions keep compaction cheap; every partition is one more table that readers probe.
    pub partition_rows: u64,
    /// SQLite page size of a new database, in bytes (a power of two, 512 to 65536); an existing
    /// database keeps the size it was created with. WAL commits and compactions write whole
    /// pages, so this trades a burst's throughput against bytes written at a feed's pace:
    /// measured here, 64 KiB stores a 200k rows/s flood with ~9% less writer CPU than 4 KiB,
    /// while at ~2.8k rows/s (the demo, where small commits dominate) 4 KiB writes 326 bytes
    /// per row against 1,450. Compaction bytes depend mostly on `partition_rows` instead.
    pub page_size: u32,
    /// First retry delay after a failed commit; doubles up to `retry_max_ms`.
    pub retry_min_ms: u64,
    pub retry_max_ms: u64,
    pub retention: RetentionConfig,
}

/// How long rows are kept, and where aged-out raw events go.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// Raw order-book events and trades (7–14 days); older ones are exported, then deleted.
    pub raw_event_days: u32,
    /// Book snapshots (deleted without export: they are derived from the events).
    pub snapshot_days: u32,
    /// Where aged-out events are written as zstd frames files (relative to the database's
    /// directory unless absolute).
    pub export_dir: PathBuf,
    /// How often the writer thread starts a prune (0 = never: run `polyarb db prune`).
    pub prune_interval_s: u64,
    /// Rows exported and deleted per prune step, so a prune never holds up batches for long.
    pub prune_chunk_rows: usize,
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            path: PathBuf::from("data/polyarb.db"),
            synchronous: Synchronous::Normal,
            busy_timeout_ms: 1000,
            channel_capacity: 1 << 16,
            batch_rows: 1000,
            batch_ms: 200,
            max_pending_rows: 2_000_000,
            snapshot_every_events: 1000,
            snapshot_every_ms: 60_000,
            bars_every_ms: 1000,
            max_db_bytes: 0,
            compact_rows: 200_000,
            compact_idle_ms: 30_000,
            max_staged_rows: 4_000_000,
            partition_rows: 1_000_000,
            page_size: 65_536,
            retry_min_ms: 10,
            retry_max_ms: 1000,
            retention: RetentionConfig::default(),
        }
    }
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            raw_event_days: 14,
            snapshot_days: 7,
            export_dir: PathBuf::from("archive"),
            prune_interval_s: 3600,
            prune_chunk_rows: 100_000,
        }
    }
}

/// A file that holds a `[storage]` section among others (other sections belong to other
/// modules and are not looked at here; inside `[storage]` unknown keys are errors).
#[derive(Deserialize)]
struct StorageFile {
    #[serde(default)]
    storage: StorageConfig,
}

impl StorageConfig {
    /// Loads the `[storage]` section of a TOML file and validates it.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let f: StorageFile = crate::config::load_toml(path)?;
        let mut c = f.storage;
        c.path = crate::config::resolve_relative(path, &c.path);
        c.validate(path)?;
        Ok(c)
    }

    /// The `[storage]` section of a built-in config or a file (see `config::source`).
    pub fn from_source(src: &crate::config::source::ConfigSource) -> Result<Self, ConfigError> {
        use crate::config::source::ConfigSource;
        match src {
            ConfigSource::File(p) => Self::load(p),
            ConfigSource::Builtin(b) => Self::parse(&src.label(), b.text),
        }
    }

    /// Parses TOML text (for tests and embedded defaults); `file` names it in errors.
    pub fn parse(file: &Path, text: &str) -> Result<Self, ConfigError> {
        let f: StorageFile = crate::config::parse_toml(file, text)?;
        f.storage.validate(file)?;
        Ok(f.storage)
    }

    /// Refuses values that would break a stated guarantee.
    pub fn validate(&self, file: &Path) -> Result<(), ConfigError> {
        let bad = |key: &str, expected: &str, found: String| ConfigError::Invalid {
            file: file.to_path_buf(),
            key: format!("storage.{key}"),
            expected: expected.to_string(),
            found,
        };
        if self.batch_rows == 0 {
            return Err(bad("batch_rows", "at least 1", "0".into()));
        }
        if self.channel_capacity == 0 {
            return Err(bad("channel_capacity", "at least 1", "0".into()));
        }
        if self.max_pending_rows < self.batch_rows {
            return Err(bad(
                "max_pending_rows",
                "at least batch_rows",
                self.max_pending_rows.to_string(),
            ));
        }
        if self.compact_rows == 0 {
            return Err(bad("compact_rows", "at least 1", "0".into()));
        }
        if self.max_staged_rows < self.compact_rows {
            return Err(bad(
                "max_staged_rows",
                "at least compact_rows",
                self.max_staged_rows.to_string(),
            ));
        }
        if self.partition_rows == 0 {
            return Err(bad("partition_rows", "at least 1", "0".into()));
        }
        if !(512..=65_536).contains(&self.page_size) || !self.page_size.is_power_of_two() {
            return Err(bad(
                "page_size",
                "a power of two from 512 to 65536",
                self.page_size.to_string(),
            ));
        }
        if self.snapshot_every_events == 0 {
            return Err(bad("snapshot_every_events", "at least 1", "0".into()));
        }
        if self.retry_min_ms == 0 || self.retry_max_ms < self.retry_min_ms {
            return Err(bad(
                "retry_max_ms",
                "retry_min_ms >= 1 and retry_max_ms >= retry_min_ms",
                format!("{} / {}", self.retry_min_ms, self.retry_max_ms),
            ));
        }
        let r = &self.retention;
        if !(7..=14).contains(&r.raw_event_days) {
            return Err(bad(
                "retention.raw_event_days",
                "7 to 14 days",
                r.raw_event_days.to_string(),
            ));
        }
        if r.snapshot_days == 0 || r.snapshot_days > r.raw_event_days {
            return Err(bad(
                "retention.snapshot_days",
                "1 day up to raw_event_days",
                r.snapshot_days.to_string(),
            ));
        }
        if r.prune_chunk_rows == 0 {
            return Err(bad("retention.prune_chunk_rows", "at least 1", "0".into()));
        }
        Ok(())
    }

    pub fn batch_interval(&self) -> Duration {
        Duration::from_millis(self.batch_ms)
    }

    /// The export directory, resolved against the database's directory.
    pub fn export_dir(&self) -> PathBuf {
        if self.retention.export_dir.is_absolute() {
            self.retention.export_dir.clone()
        } else {
            self.path
                .parent()
                .unwrap_or_else(|| Path::new("."))
                .join(&self.retention.export_dir)
        }
    }

    /// The same configuration pointed at another database file.
    pub fn with_path(&self, path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_sections_parse() {
        let p = Path::new("polyarb.toml");
        StorageConfig::default().validate(p).unwrap();
        let c = StorageConfig::parse(
            p,
            "[feed]\nwhatever = 1\n[storage]\nsynchronous = \"full\"\nbatch_rows = 500\n\
             [storage.retention]\nraw_event_days = 7\n",
        )
        .unwrap();
        assert_eq!(c.synchronous, Synchronous::Full);
        assert_eq!(c.batch_rows, 500);
        assert_eq!(c.retention.raw_event_days, 7);
        assert_eq!(c.retention.snapshot_days, 7);
    }

    #[test]
    fn errors_name_the_key() {
        let p = Path::new("cfg/polyarb.toml");
        let e = StorageConfig::parse(p, "[storage]\nbatch_size = 3\n").unwrap_err();
        assert!(e.to_string().contains("batch_size"), "{e}");
        let e = StorageConfig::parse(p, "[storage.retention]\nraw_event_days = 30\n").unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("storage.retention.raw_event_days") && msg.contains("cfg/polyarb.toml"),
            "{msg}"
        );
        let e = StorageConfig::parse(p, "[storage]\nsynchronous = \"sometimes\"\n").unwrap_err();
        assert!(e.to_string().contains("synchronous"), "{e}");
        for bad in ["0", "1000", "256", "131072"] {
            let e =
                StorageConfig::parse(p, &format!("[storage]\npage_size = {bad}\n")).unwrap_err();
            let msg = e.to_string();
            assert!(
                msg.contains("storage.page_size") && msg.contains("power of two"),
                "{bad}: {msg}"
            );
        }
        for good in [512, 4096, 65_536] {
            let c = StorageConfig::parse(p, &format!("[storage]\npage_size = {good}\n")).unwrap();
            assert_eq!(c.page_size, good);
        }
    }
}
