//! The replay of a recording and the audit of its decisions: the recorded frames go through
//! the engine's own parse and book stages (on one thread, as the fused pipeline runs them) and
//! the strategy with the recorded config and groups; the decisions it makes are matched against
//! the recorded ones, and the books it ends with against the books the engine ended with.
//!
//! The strategy's clock in a replay is each frame's recorded receive time: the live engine
//! judges a group's hold (`rearm_ms`) and a top's age a few microseconds later, when it
//! processes the frame, so a frame that lands within those microseconds of a hold's end can be
//! judged differently (the audit says so when it explains a divergence).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rustc_hash::FxHashSet;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::format::{Header, RecordKind};
use super::reader::{RecordingError, RecordingReader, record_at};
use crate::adapters::polymarket::market_channel::frame::{FrameBuf, IoEvent};
use crate::adapters::polymarket::market_channel::stage::ParseStage;
use crate::book::dump::BookDump;
use crate::book_stage::{BookLinks, BookStage, BookStageConfig};
use crate::core::fees::FeeSchedule;
use crate::core::{AssetIndex, AssetRegistry, Price, Size, TickSize, TopOfBook};
use crate::obs::LatencyHistogram;
use crate::pipeline::stage::{Out, Stage};
use crate::strategy::dutch::DutchBook;
use crate::strategy::{Opportunity, OutcomeGroup, StrategyConfig};

/// One leg of a recorded opportunity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegRecord {
    pub asset_id: String,
    pub price: String,
    pub cost: String,
}

/// An opportunity as a recording holds it (a `decision` record of kind `opportunity`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpportunityRecord {
    pub kind: String,
    pub group: u32,
    pub side: String,
    pub size: String,
    pub cost: String,
    pub edge: String,
    /// Receive time of the frame that revealed it (UNIX ns).
    pub recv_ns: u64,
    /// When the live strategy emitted it (UNIX ns; absent in a replay).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detected_ns: Option<u64>,
    pub legs: Vec<LegRecord>,
}

impl OpportunityRecord {
    /// The record of `o`: legs by token id (`tokens` by asset index), times through `wall`.
    pub fn of(
        o: &Opportunity,
        tokens: &[String],
        wall: impl Fn(u64) -> u64,
        detected_ns: Option<u64>,
    ) -> Self {
        let legs = o
            .legs()
            .iter()
            .zip(o.leg_costs.iter())
            .map(|(l, c)| LegRecord {
                asset_id: tokens
                    .get(l.asset.get())
                    .cloned()
                    .unwrap_or_else(|| format!("#{}", l.asset.get())),
                price: l.price.to_string(),
                cost: c.to_string(),
            })
            .collect();
        Self {
            kind: "opportunity".into(),
            group: o.group,
            side: o.side.as_str().into(),
            size: o.size.to_string(),
            cost: o.cost.to_string(),
            edge: o.edge.to_string(),
            recv_ns: wall(o.recv_ns),
            detected_ns,
            legs,
        }
    }

    /// Whether two records are the same decision (the detection time apart).
    pub fn same_decision(&self, other: &Self) -> bool {
        Self {
            detected_ns: None,
            ..self.clone()
        } == Self {
            detected_ns: None,
            ..other.clone()
        }
    }
}

#[derive(Debug, Error)]
pub enum AuditError {
    #[error(transparent)]
    Recording(#[from] RecordingError),
    #[error("{file}: header: {what}")]
    Header { file: PathBuf, what: String },
    #[error("{file}: decision record at byte {offset}: {what}")]
    Decision {
        file: PathBuf,
        offset: u64,
        what: String,
    },
}

/// Where a frame is in the recording.
#[derive(Clone, Debug, Serialize)]
pub struct FrameContext {
    pub file: String,
    pub offset: u64,
    pub conn: u16,
    pub time_ns: u64,
    /// The frame's first 300 bytes.
    pub text: String,
}

/// The first decision on which replay and recording part.
#[derive(Clone, Debug, Serialize)]
pub struct Divergence {
    pub time_ns: u64,
    /// `missing` (recorded, not reproduced) or `extra` (reproduced, not recorded).
    pub what: &'static str,
    pub recorded: Option<OpportunityRecord>,
    pub replayed: Option<OpportunityRecord>,
    /// The group's last decision both agree on.
    pub last_agreed: Option<OpportunityRecord>,
    pub frame: Option<FrameContext>,
    pub why: String,
}

/// The books at the end: the engine's (recorded at shutdown) against the replay's.
#[derive(Clone, Debug, Default, Serialize)]
pub struct BooksDiff {
    pub identical: usize,
    pub differ: usize,
    pub only_recorded: usize,
    pub only_replayed: usize,
    /// The first book that differs: (asset id, recorded, replayed).
    pub first: Option<(String, serde_json::Value, serde_json::Value)>,
}

impl BooksDiff {
    pub fn is_same(&self) -> bool {
        self.differ == 0 && self.only_recorded == 0 && self.only_replayed == 0
    }
}

/// A gap: what the hot path could not record (its ring was full), written at `time_ns`.
#[derive(Clone, Debug, Serialize)]
pub struct Gap {
    pub time_ns: u64,
    pub frames: u64,
    pub decisions: u64,
}

/// What `polyarb replay --recording` found.
#[derive(Debug, Serialize)]
pub struct AuditReport {
    pub path: PathBuf,
    pub files: Vec<String>,
    pub other_sessions: Vec<u64>,
    pub session: u64,
    pub format_version: u16,
    pub engine: String,
    pub config_hash: String,
    pub frames: u64,
    pub gaps: Vec<Gap>,
    pub recorded: usize,
    pub replayed: usize,
    pub matched: usize,
    pub missing: Vec<OpportunityRecord>,
    pub extra: Vec<OpportunityRecord>,
    /// Recorded decisions of other kinds (plans, orders, fills), by kind: context, not replayed.
    pub other_decisions: BTreeMap<String, u64>,
    /// `None` when the recording holds no books (the engine did not shut down cleanly).
    pub books: Option<BooksDiff>,
    pub first_divergence: Option<Divergence>,
    #[serde(skip)]
    pub replayed_books: Vec<BookDump>,
}

impl AuditReport {
    /// Whether the replay reproduced the recording: the same decisions, the same books.
    pub fn reproduced(&self) -> bool {
        self.missing.is_empty()
            && self.extra.is_empty()
            && self.books.as_ref().is_none_or(BooksDiff::is_same)
    }

    /// The report as text.
    pub fn render(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "recording {} · session {} · {} file(s) · format {} · {} · config {}",
            self.path.display(),
            self.session,
            self.files.len(),
            self.format_version,
            self.engine,
            short_hash(&self.config_hash),
        );
        if !self.other_sessions.is_empty() {
            let _ = writeln!(
                s,
                "note      older sessions in this directory, not replayed: {:?}",
                self.other_sessions
            );
        }
        let lost: u64 = self.gaps.iter().map(|g| g.frames).sum();
        let _ = writeln!(
            s,
            "frames    {} replayed · {} lost to a full recorder ring",
            self.frames, lost
        );
        match &self.books {
            Some(b) => {
                let _ = writeln!(
                    s,
                    "books     {} identical · {} differ · {} only recorded · {} only replayed",
                    b.identical, b.differ, b.only_recorded, b.only_replayed
                );
                if let Some((asset, rec, rep)) = &b.first {
                    let _ = writeln!(s, "  first differing book {asset}");
                    let _ = writeln!(s, "    recorded {rec}");
                    let _ = writeln!(s, "    replayed {rep}");
                }
            }
            None => {
                let _ = writeln!(
                    s,
                    "books     not compared: the recording holds no books (the engine did not shut down cleanly)"
                );
            }
        }
        let _ = writeln!(
            s,
            "decisions {} recorded · {} replayed · {} matched · {} missing · {} extra",
            self.recorded,
            self.replayed,
            self.matched,
            self.missing.len(),
            self.extra.len()
        );
        for (k, n) in &self.other_decisions {
            let _ = writeln!(s, "          {n} {k} records (context, not replayed)");
        }
        if let Some(d) = &self.first_divergence {
            let _ = writeln!(
                s,
                "first divergence at {} ({}): {} decision",
                crate::storage::time::format_ns(d.time_ns),
                d.time_ns,
                d.what
            );
            if let Some(f) = &d.frame {
                let _ = writeln!(
                    s,
                    "  frame     {} @ byte {} · conn {} · {}",
                    f.file, f.offset, f.conn, f.text
                );
            }
            let show = |o: &Option<OpportunityRecord>| {
                o.as_ref()
                    .and_then(|o| serde_json::to_string(o).ok())
                    .unwrap_or_else(|| "none".into())
            };
            let _ = writeln!(s, "  recorded  {}", show(&d.recorded));
            let _ = writeln!(s, "  replayed  {}", show(&d.replayed));
            let _ = writeln!(s, "  before    {}", show(&d.last_agreed));
            let _ = writeln!(s, "  why       {}", d.why);
        }
        let _ = writeln!(
            s,
            "result    {}",
            if self.reproduced() {
                "the replay reproduces the recording"
            } else {
                "DIVERGED"
            }
        );
        s
    }
}

fn short_hash(h: &str) -> &str {
    &h[..h.len().min(19)]
}

/// The strategy of a replay: the engine's `DutchBook`, its clock the frames' receive times.
struct ReplayStrategy {
    dutch: DutchBook,
    held: FxHashSet<u32>,
    out: crossbeam::channel::Sender<Opportunity>,
}

impl Stage for ReplayStrategy {
    type In = TopOfBook;

    fn process(&mut self, top: TopOfBook) {
        let Some(o) = self.dutch.on_top(top, top.recv_ns) else {
            return;
        };
        // As the strategy stage: a halted group's opportunity is forgotten, not emitted.
        if self.held.contains(&o.group) {
            self.dutch.forget(o.group);
            return;
        }
        let _ = self.out.send(o);
    }

    fn tick(&mut self, _now_ns: u64) -> bool {
        false
    }

    fn has_pending(&self) -> bool {
        false
    }

    fn flush(&mut self) {}

    fn histograms(&self, _out: &mut Vec<LatencyHistogram>) {}
}

/// The registry, groups and configs a header describes.
struct Session {
    registry: AssetRegistry,
    groups: Vec<OutcomeGroup>,
    strategy: StrategyConfig,
    book: BookStageConfig,
}

fn session_of(h: &Header, file: &Path) -> Result<Session, AuditError> {
    let bad = |what: String| AuditError::Header {
        file: file.to_path_buf(),
        what,
    };
    let mut registry = AssetRegistry::with_capacity(h.assets.len());
    for (i, a) in h.assets.iter().enumerate() {
        let idx = registry
            .register(a.token.as_bytes())
            .map_err(|e| bad(format!("asset {i} ({}): {e}", a.token)))?;
        if idx.get() != i {
            return Err(bad(format!("asset {i} ({}) is listed twice", a.token)));
        }
        if let Some(m) = &a.market {
            registry.set_market(idx, m);
        }
    }
    let n = h.assets.len() as u32;
    let mut groups = Vec::with_capacity(h.groups.len());
    for g in &h.groups {
        if let Some(&a) = g.yes.iter().chain(&g.no).find(|&&a| a >= n) {
            return Err(bad(format!("group {} names asset {a} of {n}", g.id)));
        }
        let tick = TickSize::new(Price(g.tick_micros))
            .map_err(|e| bad(format!("group {}: tick: {e}", g.id)))?;
        groups.push(OutcomeGroup {
            id: g.id,
            assets: g.yes.iter().map(|&a| AssetIndex(a)).collect(),
            no_assets: g.no.iter().map(|&a| AssetIndex(a)).collect(),
            fees: FeeSchedule {
                rate_ppm: g.fee_rate_ppm,
                exponent: g.fee_exponent,
                taker_only: g.fee_taker_only,
            },
            min_order_size: Size(g.min_order_size_micros),
            tick,
        });
    }
    let table: toml::Table = toml::from_str(&h.config)
        .map_err(|e| bad(format!("the recorded config is not TOML: {e}")))?;
    let section = |key: &str| table.get(key).cloned();
    let strategy = match section("strategy") {
        Some(v) => v
            .try_into()
            .map_err(|e| bad(format!("recorded config: [strategy]: {e}")))?,
        None => StrategyConfig::default(),
    };
    let book = match section("book") {
        Some(v) => v
            .try_into()
            .map_err(|e| bad(format!("recorded config: [book]: {e}")))?,
        None => BookStageConfig::default(),
    };
    Ok(Session {
        registry,
        groups,
        strategy,
        book,
    })
}

/// Replays the newest session of `path` (a recording directory or one file) and audits it.
pub fn replay(path: &Path) -> Result<AuditReport, AuditError> {
    let mut reader = RecordingReader::open(path)?;
    let header = reader.header().clone();
    let files = reader.files().to_vec();
    let s = session_of(&header, &files[0])?;
    let tokens: Vec<String> = header.assets.iter().map(|a| a.token.clone()).collect();
    let n = s.registry.len();

    let (opp_tx, opp_rx) = crossbeam::channel::unbounded();
    let mut dutch = DutchBook::new(s.strategy.clone(), s.groups);
    dutch.reserve(n);
    let strategy = ReplayStrategy {
        dutch,
        held: header.held.iter().copied().collect(),
        out: opp_tx,
    };
    // REST resyncs and audits are the live engine's; a replay asks nobody (requests are
    // dropped with the receiver below).
    let (resync_tx, resync_rx) = crossbeam::channel::bounded(1);
    drop(resync_rx);
    let (books_tx, books_rx) = crossbeam::channel::bounded(1);
    let mut book = BookStage::new(
        s.book,
        Out::Next(Box::new(strategy)),
        BookLinks {
            resync_tx,
            snapshots: None,
            ctl: None,
            views: None,
            view_interval_ms: 0,
            registry: s.registry.clone(),
            max_assets: n,
            storage: None,
        },
    );
    book.set_final_books(books_tx);
    let mut parse = ParseStage::new(
        s.registry,
        Out::Next(Box::new(book)),
        None,
        Duration::ZERO,
        n,
    );

    let mut frames = 0u64;
    // (receive time, file, offset, conn) of every frame, for the divergence's context.
    let mut frame_at: Vec<(u64, u32, u64, u16)> = Vec::new();
    let mut recorded = Vec::new();
    let mut replayed = Vec::new();
    let mut gaps = Vec::new();
    let mut other = BTreeMap::new();
    let mut recorded_books: Option<Vec<serde_json::Value>> = None;
    while let Some(r) = reader.next_record()? {
        match r.kind {
            Some(RecordKind::Frame) => {
                frames += 1;
                frame_at.push((r.time_ns, r.file as u32, r.offset, r.conn));
                let mut buf = FrameBuf::with_capacity(r.payload.len());
                buf.fill(&r.payload, r.time_ns, r.conn);
                parse.process(IoEvent::Frame(buf));
                replayed.extend(
                    opp_rx
                        .try_iter()
                        .map(|o| OpportunityRecord::of(&o, &tokens, |t| t, None)),
                );
            }
            Some(RecordKind::Decision) => {
                let v: serde_json::Value =
                    serde_json::from_slice(&r.payload).map_err(|e| AuditError::Decision {
                        file: files[r.file].clone(),
                        offset: r.offset,
                        what: e.to_string(),
                    })?;
                let kind = v["kind"].as_str().unwrap_or("").to_string();
                if kind == "opportunity" {
                    let o: OpportunityRecord =
                        serde_json::from_value(v).map_err(|e| AuditError::Decision {
                            file: files[r.file].clone(),
                            offset: r.offset,
                            what: e.to_string(),
                        })?;
                    recorded.push(o);
                } else {
                    *other.entry(kind).or_insert(0) += 1;
                }
            }
            Some(RecordKind::Gap) => {
                let v: serde_json::Value = serde_json::from_slice(&r.payload).unwrap_or_default();
                gaps.push(Gap {
                    time_ns: r.time_ns,
                    frames: v["frames"].as_u64().unwrap_or(0),
                    decisions: v["decisions"].as_u64().unwrap_or(0),
                });
            }
            Some(RecordKind::Books) => {
                recorded_books = serde_json::from_slice(&r.payload).ok();
            }
            Some(RecordKind::End) | None => {}
        }
    }
    parse.finish();
    replayed.extend(
        opp_rx
            .try_iter()
            .map(|o| OpportunityRecord::of(&o, &tokens, |t| t, None)),
    );
    let replayed_books = books_rx.try_recv().unwrap_or_default();
    let books = recorded_books.map(|rec| diff_books(&rec, &replayed_books));

    recorded.sort_by_key(|o| o.recv_ns);
    replayed.sort_by_key(|o| o.recv_ns);
    let (matched, missing, extra, agreed) = match_decisions(&recorded, &replayed);
    let first_divergence = divergence(
        &missing,
        &extra,
        &agreed,
        &gaps,
        &frame_at,
        &files,
        s.strategy.rearm_ms,
    );
    Ok(AuditReport {
        path: path.to_path_buf(),
        files: files.iter().map(|f| f.display().to_string()).collect(),
        other_sessions: reader.other_sessions.clone(),
        session: header.session,
        format_version: header.format_version,
        engine: header.engine.clone(),
        config_hash: header.config_hash.clone(),
        frames,
        gaps,
        recorded: recorded.len(),
        replayed: replayed.len(),
        matched,
        missing,
        extra,
        other_decisions: other,
        books,
        first_divergence,
        replayed_books,
    })
}

fn diff_books(recorded: &[serde_json::Value], replayed: &[BookDump]) -> BooksDiff {
    let key = |v: &serde_json::Value| v["asset_id"].as_str().unwrap_or("").to_string();
    let rec: BTreeMap<String, &serde_json::Value> = recorded.iter().map(|v| (key(v), v)).collect();
    let rep: BTreeMap<String, serde_json::Value> = replayed
        .iter()
        .filter_map(|b| serde_json::to_value(b).ok())
        .map(|v| (key(&v), v))
        .collect();
    let mut d = BooksDiff::default();
    for (k, r) in &rec {
        match rep.get(k) {
            Some(p) if p == *r => d.identical += 1,
            Some(p) => {
                d.differ += 1;
                if d.first.is_none() {
                    d.first = Some((k.clone(), (*r).clone(), p.clone()));
                }
            }
            None => d.only_recorded += 1,
        }
    }
    d.only_replayed = rep.keys().filter(|k| !rec.contains_key(*k)).count();
    d
}

type Matched = (
    usize,
    Vec<OpportunityRecord>,
    Vec<OpportunityRecord>,
    Vec<OpportunityRecord>,
);

/// Pairs equal decisions of the same receive time; what is left is missing or extra. Both
/// lists are sorted by receive time. Also returns the matched decisions, in time order.
fn match_decisions(recorded: &[OpportunityRecord], replayed: &[OpportunityRecord]) -> Matched {
    let (mut i, mut j) = (0, 0);
    let mut matched = 0;
    let (mut missing, mut extra, mut agreed) = (Vec::new(), Vec::new(), Vec::new());
    while i < recorded.len() || j < replayed.len() {
        let t = match (recorded.get(i), replayed.get(j)) {
            (Some(a), Some(b)) => a.recv_ns.min(b.recv_ns),
            (Some(a), None) => a.recv_ns,
            (None, Some(b)) => b.recv_ns,
            (None, None) => break,
        };
        let i_end = i + recorded[i..].iter().take_while(|o| o.recv_ns == t).count();
        let j_end = j + replayed[j..].iter().take_while(|o| o.recv_ns == t).count();
        let mut used = vec![false; j_end - j];
        for a in &recorded[i..i_end] {
            match (j..j_end).find(|&k| !used[k - j] && a.same_decision(&replayed[k])) {
                Some(k) => {
                    used[k - j] = true;
                    matched += 1;
                    agreed.push(a.clone());
                }
                None => missing.push(a.clone()),
            }
        }
        for (k, u) in used.iter().enumerate() {
            if !u {
                extra.push(replayed[j + k].clone());
            }
        }
        i = i_end;
        j = j_end;
    }
    (matched, missing, extra, agreed)
}

/// The earliest unmatched decision, with its frame and the likeliest reason.
fn divergence(
    missing: &[OpportunityRecord],
    extra: &[OpportunityRecord],
    agreed: &[OpportunityRecord],
    gaps: &[Gap],
    frame_at: &[(u64, u32, u64, u16)],
    files: &[PathBuf],
    rearm_ms: u64,
) -> Option<Divergence> {
    let m = missing.first();
    let e = extra.first();
    let (what, first) = match (m, e) {
        (Some(a), Some(b)) if b.recv_ns < a.recv_ns => ("extra", b),
        (Some(a), _) => ("missing", a),
        (None, Some(b)) => ("extra", b),
        (None, None) => return None,
    };
    let t = first.recv_ns;
    let counterpart = |list: &[OpportunityRecord]| {
        list.iter()
            .find(|o| o.group == first.group && o.recv_ns == t)
            .cloned()
    };
    let (recorded, replayed) = if what == "missing" {
        (Some(first.clone()), counterpart(extra))
    } else {
        (counterpart(missing), Some(first.clone()))
    };
    let last_agreed = agreed
        .iter()
        .rev()
        .find(|o| o.group == first.group && o.recv_ns <= t)
        .cloned();
    let frame = frame_at
        .binary_search_by_key(&t, |f| f.0)
        .ok()
        .map(|k| frame_at[k]);
    let context = frame.map(|(time_ns, file, offset, conn)| {
        let path = &files[file as usize];
        let text = record_at(path, offset)
            .map(|r| {
                let s = String::from_utf8_lossy(&r.payload);
                s.chars().take(300).collect::<String>()
            })
            .unwrap_or_else(|e| format!("(cannot read it back: {e})"));
        FrameContext {
            file: path.display().to_string(),
            offset,
            conn,
            time_ns,
            text,
        }
    });
    let lost_before: u64 = gaps
        .iter()
        .filter(|g| g.time_ns <= t)
        .map(|g| g.frames)
        .sum();
    let why = if lost_before > 0 {
        format!(
            "the recording lost {lost_before} frame(s) to a full recorder ring before this \
             point: the replayed books are not the engine's from the first gap on"
        )
    } else if frame.is_none() {
        "no recorded frame has this receive time: the engine saw a book the recording does \
         not hold (a REST resync snapshot, or a frame the feed dropped)"
            .into()
    } else if recorded.is_some() && replayed.is_some() {
        "both found this group's opportunity at this frame but sized or priced it \
         differently: the books of its legs differ (compare the books below the legs)"
            .into()
    } else if last_agreed.as_ref().is_some_and(|l| {
        t.saturating_sub(l.recv_ns) <= rearm_ms.saturating_mul(1_000_000) + 1_000_000
    }) {
        format!(
            "within [strategy] rearm_ms = {rearm_ms} of the group's previous opportunity: \
             the live engine judged the hold when it processed the frame, the replay at its \
             receive time"
        )
    } else {
        "the replayed books at this frame differ from the engine's (a REST resync or an \
         invalidation the recording does not hold); compare the books"
            .into()
    };
    Some(Divergence {
        time_ns: t,
        what,
        recorded,
        replayed,
        last_agreed,
        frame: context,
        why,
    })
}
