//! The recorder: the hot path's [`Tap`] and the cold thread that writes the files.
//!
//! The io thread hands each frame to the tap, which copies it into a buffer taken from a pool
//! and pushes it on a bounded lock-free queue; the recorder thread writes it and gives the
//! buffer back. Nothing is allocated once the pool is warm (a frame longer than its buffer
//! grows it once, counted in `buffer_allocs`), and nothing waits: an empty pool or a full queue
//! drops the frame and counts it (`dropped_frames`), and the recorder writes a `gap` record so
//! that a replay knows its books may differ from there on. Decisions of the strategy stage
//! travel the same way on a queue of their own (`Opportunity` is `Copy`).

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam::channel::{Receiver, Sender};
use crossbeam::queue::ArrayQueue;

use super::audit::OpportunityRecord;
use super::config::RecordingConfig;
use super::format::{self, Header, RecordKind};
use crate::book::dump::BookDump;
use crate::obs::counter::Counter;
use crate::storage::time::WallClock;
use crate::strategy::Opportunity;

/// What the recorder has done, readable from any thread. Each counter has one writer: the
/// io thread (frames), the thread of the dispatch stage (decisions) or the recorder.
#[derive(Debug, Default)]
pub struct RecordingStats {
    pub frames: Counter,
    pub frame_bytes: Counter,
    /// Frames the tap could not hand over (full ring): never waited on.
    pub dropped_frames: Counter,
    /// Frames longer than their slot's buffer (the buffer grew once).
    pub buffer_allocs: Counter,
    pub decisions: Counter,
    pub dropped_decisions: Counter,
    /// Written by the recorder thread.
    pub files: Counter,
    pub records: Counter,
    /// Uncompressed bytes written.
    pub bytes: Counter,
    pub gaps: Counter,
    pub write_errors: Counter,
}

/// A frame on its way to the recorder.
struct FrameItem {
    buf: Vec<u8>,
    recv_ns: u64,
    conn: u16,
}

struct Shared {
    frames: ArrayQueue<FrameItem>,
    pool: ArrayQueue<Vec<u8>>,
    decisions: ArrayQueue<Opportunity>,
    stats: Arc<RecordingStats>,
}

/// The hot path's end of the recorder: cheap to clone, never blocks, never allocates once warm.
#[derive(Clone)]
pub struct Tap {
    shared: Arc<Shared>,
    /// Decisions of cold threads (plans, orders, fills) as JSON.
    notes: Sender<(u64, serde_json::Value)>,
}

impl Tap {
    /// Hands a frame as received (monotonic receive time, connection) to the recorder.
    #[inline]
    pub fn frame(&self, bytes: &[u8], recv_ns: u64, conn: u16) {
        let s = &*self.shared;
        let Some(mut buf) = s.pool.pop() else {
            s.stats.dropped_frames.inc();
            return;
        };
        if buf.capacity() < bytes.len() {
            s.stats.buffer_allocs.inc();
        }
        buf.clear();
        buf.extend_from_slice(bytes);
        match s.frames.push(FrameItem { buf, recv_ns, conn }) {
            Ok(()) => {
                s.stats.frames.inc();
                s.stats.frame_bytes.add(bytes.len() as u64);
            }
            Err(item) => {
                s.stats.dropped_frames.inc();
                let _ = s.pool.push(item.buf);
            }
        }
    }

    /// Hands an opportunity the strategy emitted to the recorder.
    #[inline]
    pub fn opportunity(&self, o: &Opportunity) {
        let s = &*self.shared;
        if s.decisions.push(*o).is_ok() {
            s.stats.decisions.inc();
        } else {
            s.stats.dropped_decisions.inc();
        }
    }

    /// Records a decision made off the hot path (`{"kind": "plan" | "order" | "fill", ...}`),
    /// at monotonic time `t_ns`. Refused (counted) when the recorder is behind.
    pub fn note(&self, t_ns: u64, decision: serde_json::Value) {
        if self.notes.try_send((t_ns, decision)).is_err() {
            self.shared.stats.dropped_decisions.inc();
        }
    }

    pub fn stats(&self) -> &Arc<RecordingStats> {
        &self.shared.stats
    }
}

/// What a finished recording reports.
#[derive(Clone, Debug)]
pub struct RecordingSummary {
    pub dir: PathBuf,
    pub session: u64,
    pub files: u64,
    pub frames: u64,
    pub decisions: u64,
    pub dropped_frames: u64,
    pub dropped_decisions: u64,
    pub bytes: u64,
    /// The first write error, if writing failed (the recording stops there).
    pub error: Option<String>,
}

impl RecordingSummary {
    /// The summary line of `demo` and `feed`.
    pub fn line(&self) -> String {
        let mut s = format!(
            "recording {} · session {} · {} files · {} frames · {} decisions · {:.1} MB raw · \
             ring full: {} frames, {} decisions dropped",
            self.dir.display(),
            self.session,
            self.files,
            self.frames,
            self.decisions,
            self.bytes as f64 / 1e6,
            self.dropped_frames,
            self.dropped_decisions,
        );
        if let Some(e) = &self.error {
            s.push_str(&format!(" · FAILED: {e}"));
        }
        s
    }
}

/// The assets and groups of the header, taken from the engine at start.
pub struct SessionInfo {
    pub assets: Vec<format::HeaderAsset>,
    pub groups: Vec<format::HeaderGroup>,
    pub held: Vec<u32>,
}

/// The running recorder thread.
pub struct Recorder {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<RecordingSummary>>,
    books_tx: Sender<Vec<BookDump>>,
    tap: Tap,
}

impl Recorder {
    /// Creates the directory, opens the session's first file and starts the thread.
    pub fn start(cfg: &RecordingConfig, info: SessionInfo) -> io::Result<Self> {
        std::fs::create_dir_all(&cfg.dir)?;
        let clock = WallClock::anchor(crate::obs::clock::now_ns());
        let session = crate::obs::clock::unix_ms();
        let stats = Arc::new(RecordingStats::default());
        let pool = ArrayQueue::new(cfg.ring_frames);
        for _ in 0..cfg.ring_frames {
            let _ = pool.push(Vec::with_capacity(cfg.slot_bytes));
        }
        let shared = Arc::new(Shared {
            frames: ArrayQueue::new(cfg.ring_frames),
            pool,
            decisions: ArrayQueue::new(cfg.ring_decisions),
            stats: stats.clone(),
        });
        let (notes_tx, notes_rx) = crossbeam::channel::bounded(cfg.ring_decisions);
        let (books_tx, books_rx) = crossbeam::channel::bounded(1);
        let header = Header {
            format_version: format::VERSION,
            engine: format!("polyarb {}", env!("CARGO_PKG_VERSION")),
            build: crate::obs::build_info::RUSTFLAGS.to_string(),
            config_hash: format::config_hash(&cfg.config_text),
            config: cfg.config_text.clone(),
            session,
            seq: 0,
            started_ns: 0,
            assets: info.assets,
            groups: info.groups,
            held: info.held,
        };
        let tokens = header.assets.iter().map(|a| a.token.clone()).collect();
        let mut w = Writer {
            cfg: cfg.clone(),
            header,
            file: None,
            clock,
            shared: shared.clone(),
            notes: notes_rx,
            books: books_rx,
            tokens,
            error: None,
            last_dropped: (0, 0),
        };
        w.rotate()?;
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let thread = std::thread::Builder::new()
            .name("recorder".into())
            .spawn(move || w.run(&stop2))?;
        Ok(Self {
            stop,
            thread: Some(thread),
            books_tx,
            tap: Tap {
                shared,
                notes: notes_tx,
            },
        })
    }

    pub fn tap(&self) -> Tap {
        self.tap.clone()
    }

    /// Where the book stage sends its books when its input ends (written as the `books`
    /// record before the recording closes).
    pub fn books_sender(&self) -> Sender<Vec<BookDump>> {
        self.books_tx.clone()
    }

    pub fn stats(&self) -> &Arc<RecordingStats> {
        self.tap.stats()
    }

    /// Writes what the queues hold, the books if they came, closes the file and stops.
    pub fn finish(mut self) -> RecordingSummary {
        self.stop.store(true, Ordering::Release);
        let stats = self.tap.stats().clone();
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(s)) => s,
            _ => RecordingSummary {
                dir: PathBuf::new(),
                session: 0,
                files: stats.files.get(),
                frames: stats.frames.get(),
                decisions: stats.decisions.get(),
                dropped_frames: stats.dropped_frames.get(),
                dropped_decisions: stats.dropped_decisions.get(),
                bytes: stats.bytes.get(),
                error: Some("the recorder thread panicked".into()),
            },
        }
    }
}

/// One open file: its encoder, and what went into it.
struct OpenFile {
    enc: zstd::Encoder<'static, BufWriter<File>>,
    path: PathBuf,
    bytes: u64,
    opened: Instant,
}

/// The recorder thread's state.
struct Writer {
    cfg: RecordingConfig,
    header: Header,
    file: Option<OpenFile>,
    clock: WallClock,
    shared: Arc<Shared>,
    notes: Receiver<(u64, serde_json::Value)>,
    books: Receiver<Vec<BookDump>>,
    tokens: Vec<String>,
    error: Option<String>,
    /// Drop counters already reported in a gap record.
    last_dropped: (u64, u64),
}

/// How often buffered compressed data is pushed to the file, so that a crash loses at most
/// this much of the recording.
const FLUSH_EVERY: Duration = Duration::from_millis(200);

impl Writer {
    fn run(mut self, stop: &AtomicBool) -> RecordingSummary {
        let mut frames: Vec<FrameItem> = Vec::with_capacity(1024);
        let mut decisions: Vec<(u64, Vec<u8>)> = Vec::with_capacity(64);
        let mut last_flush = Instant::now();
        loop {
            let stopping = stop.load(Ordering::Acquire);
            // Decisions first: every frame received before a decision was detected is already
            // in the frames queue once the decision is seen.
            decisions.clear();
            while let Some(o) = self.shared.decisions.pop() {
                let rec = OpportunityRecord::of(
                    &o,
                    &self.tokens,
                    |t| self.clock.wall_ns(t),
                    Some(self.clock.wall_ns(o.detected_ns)),
                );
                let t = self.clock.wall_ns(o.detected_ns);
                decisions.push((t, serde_json::to_vec(&rec).unwrap_or_default()));
            }
            while let Ok((t, v)) = self.notes.try_recv() {
                decisions.push((self.clock.wall_ns(t), v.to_string().into_bytes()));
            }
            decisions.sort_by_key(|d| d.0);
            while frames.len() < 4096
                && let Some(f) = self.shared.frames.pop()
            {
                frames.push(f);
            }
            let idle = frames.is_empty() && decisions.is_empty();
            self.write_gap();
            let mut d = decisions.drain(..).peekable();
            for f in frames.drain(..) {
                let t = self.clock.wall_ns(f.recv_ns);
                while let Some((dt, _)) = d.peek()
                    && *dt < t
                {
                    let (dt, p) = d.next().unwrap_or_default();
                    self.write(RecordKind::Decision, 0, dt, &p);
                }
                self.write(RecordKind::Frame, f.conn, t, &f.buf);
                let _ = self.shared.pool.push(f.buf);
            }
            for (dt, p) in d {
                self.write(RecordKind::Decision, 0, dt, &p);
            }
            if last_flush.elapsed() >= FLUSH_EVERY {
                last_flush = Instant::now();
                self.flush();
            }
            if idle {
                if stopping {
                    break;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        self.write_gap();
        if let Ok(books) = self.books.recv_timeout(Duration::from_millis(500))
            && let Ok(p) = serde_json::to_vec(&books)
        {
            let t = crate::obs::clock::unix_ns();
            self.write(RecordKind::Books, 0, t, &p);
        }
        self.close();
        let s = &self.shared.stats;
        RecordingSummary {
            dir: self.cfg.dir.clone(),
            session: self.header.session,
            files: s.files.get(),
            frames: s.frames.get(),
            decisions: s.decisions.get(),
            dropped_frames: s.dropped_frames.get(),
            dropped_decisions: s.dropped_decisions.get(),
            bytes: s.bytes.get(),
            error: self.error.take(),
        }
    }

    /// A gap record when the hot path dropped anything since the last one.
    fn write_gap(&mut self) {
        let s = &self.shared.stats;
        let now = (s.dropped_frames.get(), s.dropped_decisions.get());
        if now == self.last_dropped {
            return;
        }
        let body = serde_json::json!({
            "frames": now.0 - self.last_dropped.0,
            "decisions": now.1 - self.last_dropped.1,
        });
        self.last_dropped = now;
        s.gaps.inc();
        let t = crate::obs::clock::unix_ns();
        self.write(RecordKind::Gap, 0, t, body.to_string().as_bytes());
    }

    fn write(&mut self, kind: RecordKind, conn: u16, t: u64, payload: &[u8]) {
        if self.error.is_some() {
            return;
        }
        let due = self.file.as_ref().is_some_and(|f| {
            f.bytes >= self.cfg.rotate_bytes
                || (self.cfg.rotate_secs > 0
                    && f.opened.elapsed().as_secs() >= self.cfg.rotate_secs)
        });
        if due && let Err(e) = self.rotate() {
            self.fail(e);
            return;
        }
        let Some(f) = self.file.as_mut() else { return };
        match format::write_record(&mut f.enc, kind, conn, t, payload) {
            Ok(n) => {
                f.bytes += n;
                self.shared.stats.records.inc();
                self.shared.stats.bytes.add(n);
            }
            Err(e) => self.fail(e),
        }
    }

    fn fail(&mut self, e: io::Error) {
        let path = self
            .file
            .as_ref()
            .map(|f| f.path.display().to_string())
            .unwrap_or_else(|| self.cfg.dir.display().to_string());
        let msg = format!("{path}: {e}");
        tracing::error!(error = %msg, "recording stopped");
        self.shared.stats.write_errors.inc();
        self.error = Some(msg);
        self.file = None;
    }

    fn flush(&mut self) {
        if let Some(f) = self.file.as_mut()
            && let Err(e) = f.enc.flush()
        {
            self.fail(e);
        }
    }

    /// Ends the current file (an `end` record, the zstd epilogue).
    fn close(&mut self) {
        let Some(mut f) = self.file.take() else {
            return;
        };
        let end = serde_json::json!({"records": self.shared.stats.records.get()}).to_string();
        let t = crate::obs::clock::unix_ns();
        let path = f.path;
        let done = format::write_record(&mut f.enc, RecordKind::End, 0, t, end.as_bytes())
            .and_then(|_| f.enc.finish())
            .and_then(|mut w| w.flush());
        if let Err(e) = done {
            self.fail(io::Error::new(e.kind(), format!("{}: {e}", path.display())));
        }
    }

    /// Closes the current file and starts the next one, keeping at most `max_files`.
    fn rotate(&mut self) -> io::Result<()> {
        self.close();
        self.header.seq += 1;
        self.header.started_ns = crate::obs::clock::unix_ns();
        let path = self
            .cfg
            .dir
            .join(format::file_name(self.header.session, self.header.seq));
        let file = File::create(&path)?;
        let mut enc =
            zstd::Encoder::new(BufWriter::with_capacity(1 << 16, file), self.cfg.zstd_level)?;
        // A damaged file must read as damaged, not as other bytes.
        enc.include_checksum(true)?;
        let bytes = format::write_header(&mut enc, &self.header)?;
        enc.flush()?;
        self.shared.stats.files.inc();
        self.file = Some(OpenFile {
            enc,
            path,
            bytes,
            opened: Instant::now(),
        });
        prune(&self.cfg.dir, self.cfg.max_files);
        Ok(())
    }
}

/// Deletes the oldest recording files of `dir` past the newest `keep` (0 = keep all).
fn prune(dir: &Path, keep: usize) {
    if keep == 0 {
        return;
    }
    let mut files = super::reader::list_files(dir).unwrap_or_default();
    if files.len() <= keep {
        return;
    }
    files.sort_by_key(|f| (f.0, f.1));
    let excess = files.len() - keep;
    for (_, _, path) in files.into_iter().take(excess) {
        if let Err(e) = std::fs::remove_file(&path) {
            tracing::warn!(file = %path.display(), "cannot delete an old recording file: {e}");
        }
    }
}

/// The dispatch stage with every opportunity it receives recorded first (the strategy's
/// decisions, on the thread that runs dispatch).
pub struct TapDispatch {
    pub inner: Box<dyn crate::pipeline::stage::Stage<In = Opportunity>>,
    pub tap: Tap,
}

impl crate::pipeline::stage::Stage for TapDispatch {
    type In = Opportunity;

    #[inline]
    fn process(&mut self, o: Opportunity) {
        self.tap.opportunity(&o);
        self.inner.process(o);
    }

    fn tick(&mut self, now_ns: u64) -> bool {
        self.inner.tick(now_ns)
    }

    fn has_pending(&self) -> bool {
        self.inner.has_pending()
    }

    fn flush(&mut self) {
        self.inner.flush();
    }

    fn finish(&mut self) {
        self.inner.finish();
    }

    fn histograms(&self, out: &mut Vec<crate::obs::LatencyHistogram>) {
        self.inner.histograms(out);
    }
}

/// The header's assets and groups of an engine about to start.
pub fn session_info(
    registry: &crate::core::AssetRegistry,
    groups: &[crate::strategy::OutcomeGroup],
    held: &[u32],
) -> SessionInfo {
    SessionInfo {
        assets: registry
            .iter()
            .map(|(_, i)| format::HeaderAsset {
                token: i.token_str.to_string(),
                market: i.market.as_deref().map(str::to_string),
            })
            .collect(),
        groups: groups
            .iter()
            .map(|g| format::HeaderGroup {
                id: g.id,
                yes: g.assets.iter().map(|a| a.0).collect(),
                no: g.no_assets.iter().map(|a| a.0).collect(),
                fee_rate_ppm: g.fees.rate_ppm,
                fee_exponent: g.fees.exponent,
                fee_taker_only: g.fees.taker_only,
                min_order_size_micros: g.min_order_size.0,
                tick_micros: g.tick.micros(),
            })
            .collect(),
        held: held.to_vec(),
    }
}
