//! Reading a recording: the files of one session in order, record by record. Every error names
//! the file and the byte offset (in the file's decompressed stream) where reading stopped.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use thiserror::Error;

use super::format::{self, Header, MAX_HEADER, MAX_PAYLOAD, RECORD_HEAD, RecordKind};

#[derive(Debug, Error)]
pub enum RecordingError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{0}: no recording files (rec-<session>-<seq>.pzr)")]
    Empty(PathBuf),
    #[error("{path}: not a polyarb recording (no PZRECORD magic at byte 0)")]
    NotARecording { path: PathBuf },
    #[error(
        "{path}: recording format version {found}; this build reads version {}",
        format::VERSION
    )]
    Version { path: PathBuf, found: u16 },
    #[error("{path}: corrupt at byte {offset} of its decompressed stream: {what}")]
    Corrupt {
        path: PathBuf,
        offset: u64,
        what: String,
    },
    #[error("{path}: truncated at byte {offset} of its decompressed stream: {what}")]
    Truncated {
        path: PathBuf,
        offset: u64,
        what: String,
    },
}

/// One record, as read.
#[derive(Debug, Default)]
pub struct Record {
    pub kind: Option<RecordKind>,
    pub conn: u16,
    pub time_ns: u64,
    pub payload: Vec<u8>,
    /// Index of its file in [`RecordingReader::files`].
    pub file: usize,
    /// Offset of its first byte in the file's decompressed stream.
    pub offset: u64,
}

/// (session, seq, path) of every recording file in `dir`.
pub fn list_files(dir: &Path) -> io::Result<Vec<(u64, u32, PathBuf)>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let p = e?.path();
        if let Some((s, q)) = p
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(format::parse_file_name)
        {
            out.push((s, q, p));
        }
    }
    out.sort_by_key(|f| (f.0, f.1));
    Ok(out)
}

struct Cursor {
    r: BufReader<zstd::Decoder<'static, BufReader<File>>>,
    path: PathBuf,
    offset: u64,
    ended: bool,
}

impl Cursor {
    fn open(path: &Path) -> Result<(Self, Header), RecordingError> {
        let io_err = |source| RecordingError::Io {
            path: path.to_path_buf(),
            source,
        };
        let f = File::open(path).map_err(io_err)?;
        let dec = zstd::Decoder::new(f).map_err(io_err)?;
        let mut c = Self {
            r: BufReader::with_capacity(1 << 16, dec),
            path: path.to_path_buf(),
            offset: 0,
            ended: false,
        };
        let mut head = [0u8; 14];
        let n = c.fill(&mut head)?;
        if n < 8 || &head[..8] != format::MAGIC {
            return Err(RecordingError::NotARecording {
                path: path.to_path_buf(),
            });
        }
        if n < head.len() {
            return Err(c.truncated(0, "the file ends inside its header"));
        }
        let version = u16::from_le_bytes([head[8], head[9]]);
        if version != format::VERSION {
            return Err(RecordingError::Version {
                path: path.to_path_buf(),
                found: version,
            });
        }
        let len = u32::from_le_bytes([head[10], head[11], head[12], head[13]]);
        if len > MAX_HEADER {
            return Err(c.corrupt(10, format!("header length {len} is over {MAX_HEADER}")));
        }
        let mut json = vec![0u8; len as usize];
        if c.fill(&mut json)? < json.len() {
            return Err(c.truncated(14, "the file ends inside its header"));
        }
        let header: Header = serde_json::from_slice(&json)
            .map_err(|e| c.corrupt(14, format!("header is not valid JSON: {e}")))?;
        Ok((c, header))
    }

    fn corrupt(&self, offset: u64, what: impl Into<String>) -> RecordingError {
        RecordingError::Corrupt {
            path: self.path.clone(),
            offset,
            what: what.into(),
        }
    }

    fn truncated(&self, offset: u64, what: impl Into<String>) -> RecordingError {
        RecordingError::Truncated {
            path: self.path.clone(),
            offset,
            what: what.into(),
        }
    }

    /// Reads until `buf` is full or the stream ends; returns the bytes read.
    fn fill(&mut self, buf: &mut [u8]) -> Result<usize, RecordingError> {
        let mut n = 0;
        while n < buf.len() {
            match self.r.read(&mut buf[n..]) {
                Ok(0) => break,
                Ok(k) => {
                    n += k;
                    self.offset += k as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    return Err(
                        self.truncated(self.offset, format!("the zstd stream is cut short ({e})"))
                    );
                }
                Err(e) => {
                    return Err(self.corrupt(self.offset, format!("zstd: {e}")));
                }
            }
        }
        Ok(n)
    }

    /// The next record into `rec`; false at the end of the file (after its `end` record).
    fn next(&mut self, rec: &mut Record) -> Result<bool, RecordingError> {
        let start = self.offset;
        let mut head = [0u8; RECORD_HEAD];
        let n = self.fill(&mut head)?;
        if n == 0 {
            if self.ended {
                return Ok(false);
            }
            return Err(self.truncated(
                start,
                "the file ends without its end record (the engine stopped without closing it)",
            ));
        }
        if self.ended {
            return Err(self.corrupt(start, "data after the end record"));
        }
        if n < RECORD_HEAD {
            return Err(
                self.truncated(start, format!("a record head is cut short after {n} bytes"))
            );
        }
        let Some(kind) = RecordKind::from_u8(head[0]) else {
            return Err(self.corrupt(start, format!("unknown record kind {}", head[0])));
        };
        let len = u32::from_le_bytes([head[11], head[12], head[13], head[14]]);
        if len > MAX_PAYLOAD {
            return Err(self.corrupt(start, format!("record length {len} is over {MAX_PAYLOAD}")));
        }
        rec.payload.clear();
        rec.payload.resize(len as usize, 0);
        let got = self.fill(&mut rec.payload)?;
        if got < len as usize {
            return Err(self.truncated(
                start,
                format!("a {kind:?} record of {len} bytes is cut short after {got}"),
            ));
        }
        rec.kind = Some(kind);
        rec.conn = u16::from_le_bytes([head[1], head[2]]);
        rec.time_ns = u64::from_le_bytes(head[3..11].try_into().unwrap_or_default());
        rec.offset = start;
        if kind == RecordKind::End {
            self.ended = true;
        }
        Ok(true)
    }
}

/// The files of one session, read in order.
pub struct RecordingReader {
    files: Vec<PathBuf>,
    next_file: usize,
    cur: Option<Cursor>,
    header: Header,
    /// Sessions in the directory besides the one read.
    pub other_sessions: Vec<u64>,
    rec: Record,
}

impl RecordingReader {
    /// The newest session of a recording directory, or the session of one recording file.
    pub fn open(path: &Path) -> Result<Self, RecordingError> {
        let io_err = |source| RecordingError::Io {
            path: path.to_path_buf(),
            source,
        };
        let (files, other_sessions) = if path.is_dir() {
            let all = list_files(path).map_err(io_err)?;
            let Some(newest) = all.last().map(|f| f.0) else {
                return Err(RecordingError::Empty(path.to_path_buf()));
            };
            let mut others: Vec<u64> = all.iter().map(|f| f.0).filter(|&s| s != newest).collect();
            others.dedup();
            let files = all
                .into_iter()
                .filter(|f| f.0 == newest)
                .map(|f| f.2)
                .collect::<Vec<_>>();
            (files, others)
        } else {
            std::fs::metadata(path).map_err(io_err)?;
            (vec![path.to_path_buf()], Vec::new())
        };
        let (cur, header) = Cursor::open(&files[0])?;
        Ok(Self {
            files,
            next_file: 1,
            cur: Some(cur),
            header,
            other_sessions,
            rec: Record::default(),
        })
    }

    /// The first file's header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// The next record of the session, `None` after the last file's end record.
    pub fn next_record(&mut self) -> Result<Option<&Record>, RecordingError> {
        loop {
            let Some(cur) = self.cur.as_mut() else {
                return Ok(None);
            };
            if cur.next(&mut self.rec)? {
                self.rec.file = self.next_file - 1;
                return Ok(Some(&self.rec));
            }
            let Some(path) = self.files.get(self.next_file).cloned() else {
                self.cur = None;
                return Ok(None);
            };
            let (c, h) = Cursor::open(&path)?;
            if h.session != self.header.session {
                return Err(RecordingError::Corrupt {
                    path,
                    offset: 14,
                    what: format!(
                        "session {} in a file of session {}",
                        h.session, self.header.session
                    ),
                });
            }
            self.cur = Some(c);
            self.next_file += 1;
        }
    }
}

/// The record at `offset` of a file (for an audit's context).
pub fn record_at(path: &Path, offset: u64) -> Result<Record, RecordingError> {
    let (mut c, _) = Cursor::open(path)?;
    let mut rec = Record::default();
    while c.offset < offset {
        if !c.next(&mut rec)? {
            break;
        }
    }
    if c.offset == offset && c.next(&mut rec)? {
        return Ok(rec);
    }
    Err(c.corrupt(offset, "no record starts at this offset"))
}
