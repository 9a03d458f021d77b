//! Storage errors: what failed, classified so the writer can count it, surface it in the health
//! flags and decide whether a retry can help (a lock or a full disk clears; corruption does not);
//! and the row checks that refuse a row before it reaches the database (text-field limits, and
//! whether a failure costs the row or the whole batch).

use std::path::PathBuf;

use thiserror::Error;

/// The class of a failed database operation, as counted in the metrics and shown in health.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum FailureKind {
    None = 0,
    /// Another connection holds the write lock longer than `busy_timeout_ms`.
    Locked = 1,
    /// The disk (or the configured `max_db_bytes` budget) is full.
    Full = 2,
    /// The operating system refused a read or write.
    Io = 3,
    /// The file is corrupt or not a database: retrying cannot help.
    Corrupt = 4,
    Other = 5,
}

impl FailureKind {
    pub const fn from_u8(v: u8) -> Self {
        match v {
            1 => Self::Locked,
            2 => Self::Full,
            3 => Self::Io,
            4 => Self::Corrupt,
            5 => Self::Other,
            _ => Self::None,
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Locked => "locked",
            Self::Full => "full",
            Self::Io => "io",
            Self::Corrupt => "corrupt",
            Self::Other => "other",
        }
    }
}

/// A storage operation that failed as a whole (a batch, a query, a migration).
#[derive(Debug, Error)]
pub enum StorageError {
    #[error("database is locked by another connection (still busy after the busy timeout): {0}")]
    Locked(String),
    #[error("database or disk is full (or the max_db_bytes budget is spent): {0}")]
    Full(String),
    #[error("I/O error on the database file: {0}")]
    Io(String),
    #[error("database file is corrupt or not a database: {0}")]
    Corrupt(String),
    #[error("cannot open database {path}: {message}")]
    Open { path: PathBuf, message: String },
    #[error(
        "database schema version {found} is newer than this build knows ({known}); upgrade polyarb"
    )]
    SchemaTooNew { found: u32, known: u32 },
    #[error("migration to schema version {version} failed: {message}")]
    Migration { version: u32, message: String },
    #[error("stored data is malformed: {0}")]
    BadStoredData(String),
    #[error("export file {path}: {message}")]
    Export { path: PathBuf, message: String },
    #[error("the storage writer thread has stopped")]
    WriterStopped,
    /// A flush waited this long and the batch was not committed: the database is refusing
    /// writes (see the writer's health for the kind).
    #[error("not committed within {waited_ms} ms (the database is refusing writes: {})", last_failure.as_str())]
    NotCommitted {
        waited_ms: u64,
        last_failure: FailureKind,
    },
    #[error("sqlite: {0}")]
    Sqlite(String),
    /// A single row (outside a batch) was refused: too long, out of range, inconsistent.
    #[error("row refused: {0}")]
    Refused(RowError),
}

impl StorageError {
    pub fn kind(&self) -> FailureKind {
        match self {
            Self::Locked(_) => FailureKind::Locked,
            Self::Full(_) => FailureKind::Full,
            Self::Io(_) | Self::Export { .. } => FailureKind::Io,
            Self::Corrupt(_) => FailureKind::Corrupt,
            Self::NotCommitted { last_failure, .. } => *last_failure,
            _ => FailureKind::Other,
        }
    }

    /// Whether the same operation may succeed later without anyone changing the code or the file
    /// (a lock is released, disk space is freed).
    pub fn is_transient(&self) -> bool {
        matches!(
            self.kind(),
            FailureKind::Locked | FailureKind::Full | FailureKind::Io
        )
    }
}

impl From<rusqlite::Error> for StorageError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode as C;
        let msg = e.to_string();
        match e.sqlite_error_code() {
            Some(C::DatabaseBusy | C::DatabaseLocked) => Self::Locked(msg),
            Some(C::DiskFull) => Self::Full(msg),
            Some(C::SystemIoFailure | C::CannotOpen) => Self::Io(msg),
            Some(C::DatabaseCorrupt | C::NotADatabase) => Self::Corrupt(msg),
            _ => Self::Sqlite(msg),
        }
    }
}

/// Why one row was refused while the rest of its batch was stored. Counted, never a panic.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum RowError {
    #[error("field `{field}` is {len} bytes, more than the {max} allowed")]
    Oversized {
        field: &'static str,
        len: usize,
        max: usize,
    },
    #[error("duplicate key: {0}")]
    Duplicate(String),
    #[error("asset index {0} was never registered with the storage writer")]
    Unregistered(u32),
    #[error("field `{0}` is out of the storable range")]
    OutOfRange(&'static str),
    #[error("invalid row: {0}")]
    Invalid(String),
}

impl RowError {
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::Oversized { .. } => "oversized",
            Self::Duplicate(_) => "duplicate",
            Self::Unregistered(_) => "unregistered",
            Self::OutOfRange(_) => "out_of_range",
            Self::Invalid(_) => "invalid",
        }
    }
}

/// Longest identifier (condition id, order hash, trade id, plan/client id) accepted.
pub const MAX_ID_LEN: usize = 128;
/// Longest short label (status, order type, action, side names, outcome names).
pub const MAX_LABEL_LEN: usize = 256;
/// Longest free text (question, detail).
pub const MAX_TEXT_LEN: usize = 8192;

/// A row failed: on its own (skip it) or for the whole batch (roll back).
pub(super) enum Failure {
    Row(RowError),
    Batch(StorageError),
}

impl From<rusqlite::Error> for Failure {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::ConstraintViolation) => {
                Self::Row(RowError::Duplicate(e.to_string()))
            }
            Some(rusqlite::ErrorCode::TooBig) => Self::Row(RowError::Oversized {
                field: "row",
                len: 0,
                max: 0,
            }),
            _ => Self::Batch(e.into()),
        }
    }
}

impl From<RowError> for Failure {
    fn from(e: RowError) -> Self {
        Self::Row(e)
    }
}

/// Checks a text field against its limit before it reaches the database.
pub fn check_len(field: &'static str, s: &str, max: usize) -> Result<(), RowError> {
    if s.len() > max {
        Err(RowError::Oversized {
            field,
            len: s.len(),
            max,
        })
    } else {
        Ok(())
    }
}

/// Converts an unsigned amount to SQLite's signed 64-bit INTEGER, refusing what does not fit.
pub fn to_i64(field: &'static str, v: u64) -> Result<i64, RowError> {
    i64::try_from(v).map_err(|_| RowError::OutOfRange(field))
}
