//! Recorded frames in, books out: the frames-file format and the deterministic replayer.
//!
//! A frames file holds one raw market-channel text frame per line, exactly as received
//! (the venue never puts a raw newline inside a frame: JSON escapes it). Files ending in `.zst`
//! are zstd-compressed (what the storage's retention exports). The replayer is the same
//! parser and book code as the live pipeline, on one thread.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use serde::Serialize;

use crate::adapters::polymarket::market_channel::{FRAME_PADDING, MarketParser, ParseCounters};
use crate::book::dump::{BookDump, dump_books};
use crate::book::{BookCounters, Books};
use crate::core::{AssetRegistry, MarketMsg};

/// Reads frames (lines) from a file, reusing one buffer.
pub struct FrameReader {
    inner: Box<dyn BufRead>,
    line: Vec<u8>,
}

impl FrameReader {
    /// Opens a frames file; `-` is standard input; `.zst` files are decompressed.
    pub fn open(path: &Path) -> io::Result<Self> {
        let inner: Box<dyn BufRead> = if path.as_os_str() == "-" {
            Box::new(BufReader::with_capacity(1 << 20, io::stdin()))
        } else {
            let f = File::open(path)?;
            if path.extension().is_some_and(|e| e == "zst") {
                Box::new(BufReader::with_capacity(1 << 20, zstd::Decoder::new(f)?))
            } else {
                Box::new(BufReader::with_capacity(1 << 20, f))
            }
        };
        Ok(Self {
            inner,
            line: Vec::with_capacity(1 << 16),
        })
    }

    pub fn from_reader(r: impl Read + 'static) -> Self {
        Self {
            inner: Box::new(BufReader::new(r)),
            line: Vec::new(),
        }
    }

    /// The next non-blank frame, without its line terminator.
    pub fn next_frame(&mut self) -> io::Result<Option<&[u8]>> {
        loop {
            self.line.clear();
            if self.inner.read_until(b'\n', &mut self.line)? == 0 {
                return Ok(None);
            }
            let mut end = self.line.len();
            while end > 0 && matches!(self.line[end - 1], b'\n' | b'\r') {
                end -= 1;
            }
            if self.line[..end].iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            return Ok(Some(&self.line[..end]));
        }
    }
}

/// The counters of the replay contract, in its order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ReplayCounters {
    pub frames: u64,
    pub events: u64,
    pub books: u64,
    pub deltas: u64,
    pub orphan: u64,
    pub invalid: u64,
    pub ignored: u64,
    pub other: u64,
    pub mismatch: u64,
    pub crossed: u64,
    pub tick_size_changes: u64,
}

impl ReplayCounters {
    pub fn combine(p: &ParseCounters, b: &BookCounters) -> Self {
        Self {
            frames: p.frames,
            events: p.events,
            books: b.books,
            deltas: b.deltas,
            orphan: p.orphan + b.orphan,
            invalid: p.invalid,
            ignored: p.ignored,
            other: p.other,
            mismatch: b.mismatch,
            crossed: b.crossed,
            tick_size_changes: b.tick_size_changes,
        }
    }
}

/// The `--dump-books` document.
#[derive(Debug, Serialize)]
pub struct BooksDump {
    pub books: Vec<BookDump>,
    pub counters: ReplayCounters,
}

/// Parser, registry and books on one thread.
pub struct Replayer {
    pub parser: MarketParser,
    pub registry: AssetRegistry,
    pub books: Books,
    msgs: Vec<MarketMsg>,
    /// Level writes applied (snapshot levels and deltas), for throughput figures.
    pub level_writes: u64,
}

impl Default for Replayer {
    fn default() -> Self {
        Self::new()
    }
}

impl Replayer {
    pub fn new() -> Self {
        Self {
            parser: MarketParser::new(true),
            registry: AssetRegistry::new(),
            books: Books::new(),
            msgs: Vec::with_capacity(1024),
            level_writes: 0,
        }
    }

    /// Parses and applies one unpadded frame.
    pub fn frame(&mut self, frame: &[u8], recv_ns: u64) {
        self.msgs.clear();
        self.parser
            .parse(frame, recv_ns, &mut self.registry, &mut self.msgs);
        self.apply_msgs();
    }

    /// Parses and applies one frame that already carries the parser's padding.
    pub fn frame_padded(&mut self, buf: &mut [u8], len: usize, recv_ns: u64) {
        self.msgs.clear();
        self.parser
            .parse_padded(buf, len, recv_ns, &mut self.registry, &mut self.msgs);
        self.apply_msgs();
    }

    #[inline]
    fn apply_msgs(&mut self) {
        for m in &self.msgs {
            if matches!(
                m,
                MarketMsg::SnapshotLevel { .. } | MarketMsg::LevelChange { .. }
            ) {
                self.level_writes += 1;
            }
            self.books.apply(m);
        }
    }

    /// Replays every frame of a reader.
    pub fn run(&mut self, reader: &mut FrameReader) -> io::Result<()> {
        while let Some(f) = reader.next_frame()? {
            self.frame(f, 0);
        }
        Ok(())
    }

    pub fn counters(&self) -> ReplayCounters {
        ReplayCounters::combine(&self.parser.counters, &self.books.counters)
    }

    /// The replay contract's document: every asset that ever had a book, by token id.
    pub fn dump(&self) -> BooksDump {
        BooksDump {
            books: dump_books(&self.books, &self.registry),
            counters: self.counters(),
        }
    }
}

/// Frames loaded into one arena, each followed by the parser's padding, for timing runs that
/// must not measure file reading.
#[derive(Clone)]
pub struct FrameArena {
    bytes: Vec<u8>,
    /// (offset, length) of each frame.
    frames: Vec<(usize, usize)>,
}

impl FrameArena {
    pub fn load(reader: &mut FrameReader) -> io::Result<Self> {
        let mut bytes = Vec::new();
        let mut frames = Vec::new();
        while let Some(f) = reader.next_frame()? {
            frames.push((bytes.len(), f.len()));
            bytes.extend_from_slice(f);
            bytes.resize(bytes.len() + FRAME_PADDING, 0);
        }
        Ok(Self { bytes, frames })
    }

    pub fn len(&self) -> usize {
        self.frames.len()
    }

    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    pub fn total_bytes(&self) -> usize {
        self.frames.iter().map(|f| f.1).sum()
    }

    /// Builds simd-json's tape for every frame and nothing else: the floor under
    /// [`Self::replay_into`], so a report can say how much of a change's cost is JSON
    /// structure and how much is ours. Returns how many frames were valid JSON.
    pub fn json_floor(&mut self) -> usize {
        let mut buffers = simd_json::Buffers::new(4096);
        let mut tape = simd_json::Tape::null();
        let mut ok = 0;
        for &(off, len) in &self.frames {
            let end = off + len + FRAME_PADDING;
            let mut t = tape.reset();
            if simd_json::fill_tape_padded(&mut self.bytes[off..end], len, &mut buffers, &mut t)
                .is_ok()
            {
                ok += 1;
            }
            tape = t.reset();
        }
        ok
    }

    /// Replays every frame in place. The parser unescapes strings in place, so an arena is
    /// replayed once; load it again for another pass.
    pub fn replay_into(&mut self, r: &mut Replayer) {
        for &(off, len) in &self.frames {
            let end = off + len + FRAME_PADDING;
            r.frame_padded(&mut self.bytes[off..end], len, 0);
        }
    }
}
