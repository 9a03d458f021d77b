//! The recording file format, version 1.
//!
//! A recording is a directory of files named `rec-<session>-<seq>.pzr`: `<session>` is the
//! engine's start in UNIX milliseconds (13 digits), `<seq>` counts the session's files from
//! 000001. Each file is one zstd stream which, decompressed, is:
//!
//! ```text
//! magic         8 bytes   "PZRECORD"
//! version       u16 LE    1
//! header_len    u32 LE
//! header        header_len bytes of JSON (`Header`: engine build, config text and its
//!               SHA-256, the session, this file's seq, the assets and groups at start)
//! records       until the end of the stream, each:
//!   kind        u8        1 frame, 2 decision, 3 gap, 4 books, 5 end
//!   conn        u16 LE    market connection of a frame (0 otherwise)
//!   time_ns     u64 LE    UNIX ns: a frame's receive time, a decision's detection time
//!   len         u32 LE    payload length (at most 64 MiB)
//!   payload     len bytes a frame's raw text as received; otherwise one JSON object
//! ```
//!
//! Decision payloads carry `"kind"` (`opportunity`, and `plan`, `order`, `fill` for callers
//! that record them). A gap says how many frames and decisions the hot path could not hand to
//! the recorder (its ring was full) since the previous gap. `books` (at shutdown) is every
//! book of the engine in the `--dump-books` shape. `end` closes a file that was finished
//! cleanly; a file without it was cut short (a crash) and reads as truncated. All integers
//! are little-endian. Receive times come from the monotonic clock (`obs::clock::now_ns`)
//! mapped once to UNIX ns at start, so the times of one session never go backwards.

use std::io::{self, Write};

use serde::{Deserialize, Serialize};

pub const MAGIC: &[u8; 8] = b"PZRECORD";
pub const VERSION: u16 = 1;
/// File extension of recording files.
pub const EXT: &str = "pzr";
/// Largest payload a reader accepts (a longer length is corruption).
pub const MAX_PAYLOAD: u32 = 64 << 20;
/// Largest header a reader accepts.
pub const MAX_HEADER: u32 = 256 << 20;
/// Bytes before a record's payload.
pub const RECORD_HEAD: usize = 15;

/// What a record holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordKind {
    Frame = 1,
    Decision = 2,
    Gap = 3,
    Books = 4,
    End = 5,
}

impl RecordKind {
    pub fn from_u8(b: u8) -> Option<Self> {
        Some(match b {
            1 => Self::Frame,
            2 => Self::Decision,
            3 => Self::Gap,
            4 => Self::Books,
            5 => Self::End,
            _ => return None,
        })
    }
}

/// One asset known at start, by registry index.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeaderAsset {
    pub token: String,
    pub market: Option<String>,
}

/// One outcome group the strategy watched at start (legs by asset index).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeaderGroup {
    pub id: u32,
    pub yes: Vec<u32>,
    pub no: Vec<u32>,
    pub fee_rate_ppm: u32,
    pub fee_exponent: u8,
    pub fee_taker_only: bool,
    pub min_order_size_micros: u64,
    pub tick_micros: u32,
}

/// Every file's header: enough to re-run the session's books and strategy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub format_version: u16,
    /// `polyarb <version>`.
    pub engine: String,
    /// The compiler flags the engine was built with.
    pub build: String,
    /// `sha256:<hex>` of `config`.
    pub config_hash: String,
    /// The engine's config file as text.
    pub config: String,
    /// The session: the engine's start, UNIX ms (also in every file name).
    pub session: u64,
    /// This file's number within the session, from 1.
    pub seq: u32,
    /// When this file was started, UNIX ns.
    pub started_ns: u64,
    pub assets: Vec<HeaderAsset>,
    pub groups: Vec<HeaderGroup>,
    /// Groups halted at start (the catalog's pending rule changes).
    pub held: Vec<u32>,
}

/// `sha256:<hex>` of a config text.
pub fn config_hash(text: &str) -> String {
    use sha2::Digest;
    format!(
        "sha256:{}",
        hex::encode(sha2::Sha256::digest(text.as_bytes()))
    )
}

/// A file's name: `rec-<session>-<seq>.pzr`.
pub fn file_name(session: u64, seq: u32) -> String {
    format!("rec-{session:013}-{seq:06}.{EXT}")
}

/// (session, seq) of a recording file's name.
pub fn parse_file_name(name: &str) -> Option<(u64, u32)> {
    let stem = name
        .strip_prefix("rec-")?
        .strip_suffix(&format!(".{EXT}"))?;
    let (s, q) = stem.split_once('-')?;
    Some((s.parse().ok()?, q.parse().ok()?))
}

/// Writes the magic, the version and the header.
pub fn write_header(w: &mut impl Write, h: &Header) -> io::Result<u64> {
    let json = serde_json::to_vec(h).map_err(io::Error::other)?;
    w.write_all(MAGIC)?;
    w.write_all(&VERSION.to_le_bytes())?;
    w.write_all(&(json.len() as u32).to_le_bytes())?;
    w.write_all(&json)?;
    Ok((MAGIC.len() + 2 + 4 + json.len()) as u64)
}

/// Writes one record; returns its length in bytes.
pub fn write_record(
    w: &mut impl Write,
    kind: RecordKind,
    conn: u16,
    time_ns: u64,
    payload: &[u8],
) -> io::Result<u64> {
    let mut head = [0u8; RECORD_HEAD];
    head[0] = kind as u8;
    head[1..3].copy_from_slice(&conn.to_le_bytes());
    head[3..11].copy_from_slice(&time_ns.to_le_bytes());
    head[11..15].copy_from_slice(&(payload.len() as u32).to_le_bytes());
    w.write_all(&head)?;
    w.write_all(payload)?;
    Ok((RECORD_HEAD + payload.len()) as u64)
}
