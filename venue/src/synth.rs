//! `polyarb synth frames`: the synthetic model's events written as a frames file (one raw
//! market-channel frame per line, the format `polyarb replay` and the benches read).
//!
//! The file opens with the initial dump — every asset's `book`, batched into JSON arrays as the
//! real venue sends them on subscribe — followed by the model's events one frame each:
//! `price_change` bursts, trade prints, occasional fresh `book`s, and `tick_size_change`s each
//! followed by a fresh `book`. The model clock starts at a fixed instant (or the one the
//! [`FrameOptions`] name) and advances 2 ms per step, so the same arguments always give the same
//! bytes. As a fault for a client's parser, some frames may carry two events in one JSON array.

use std::io::{self, Write};

use super::event::{EventBuf, VenueEvent};
use super::model::rng::ModelRng;
use super::model::{MarketModel, ModelConfig};
use super::wire::{write_book_array, write_event};

/// Model time of the first frame (2025-06-15T00:00:00Z, in ms).
pub const START_MS: u64 = 1_749_945_600_000;
/// Books per frame of the initial dump.
const DUMP_CHUNK: usize = 50;

/// How the model's events are laid out as frames (what the model does is its [`ModelConfig`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameOptions {
    /// Model time of the first frame (UNIX ms).
    pub start_ms: u64,
    /// Fault: frames per thousand after the initial dump that carry the next event too, the two
    /// as one JSON array (the real venue batches only its subscription dump). 0 = never, and the
    /// bytes are then those of one event per frame.
    pub batched_per_mille: u32,
}

impl Default for FrameOptions {
    fn default() -> Self {
        Self {
            start_ms: START_MS,
            batched_per_mille: 0,
        }
    }
}

/// What was written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct SynthSummary {
    pub assets: u64,
    pub markets: u64,
    pub steps: u64,
    pub frames: u64,
    pub level_changes: u64,
    pub tick_size_changes: u64,
    pub books: u64,
    pub trades: u64,
    /// Frames that carry two events (`FrameOptions::batched_per_mille`).
    pub batched_frames: u64,
    /// Binary Dutch book faults injected (`--dutch-every-ms`).
    pub binary_dutch_faults: u64,
    /// Neg-risk mispricings injected, YES side (Σ YES asks < 1 − margin).
    pub mispricings_yes: u64,
    /// Neg-risk mispricings injected, NO side (Σ YES bids > 1 + margin).
    pub mispricings_no: u64,
}

/// Writes the initial dump and `steps` model steps, one event per frame from [`START_MS`];
/// returns the model (its books are what a replay of the file must end with) and a summary.
pub fn write_frames(
    cfg: ModelConfig,
    steps: u64,
    out: &mut impl Write,
) -> io::Result<(MarketModel, SynthSummary)> {
    write_frames_with(cfg, FrameOptions::default(), steps, out)
}

/// [`write_frames`] laid out as `opts` says. A replay of the file ends with the returned
/// model's books unless it ends while `late_tick_book_fault_per_mille` holds books back.
pub fn write_frames_with(
    cfg: ModelConfig,
    opts: FrameOptions,
    steps: u64,
    out: &mut impl Write,
) -> io::Result<(MarketModel, SynthSummary)> {
    // Its own stream, so that batching never changes the model's events.
    let mut batch_rng = ModelRng::new(cfg.seed ^ 0xba7c_4ed0_f4a3_e5c1);
    let start_ms = opts.start_ms;
    let mut model = MarketModel::new(cfg);
    let mut s = SynthSummary {
        assets: model.books().len() as u64,
        markets: u64::from(model.market_count()),
        ..Default::default()
    };
    let mut frame = Vec::with_capacity(1 << 16);
    let all: Vec<u32> = (0..model.books().len() as u32).collect();
    for chunk in all.chunks(DUMP_CHUNK) {
        frame.clear();
        write_book_array(model.books(), chunk, start_ms, &mut frame);
        frame.push(b'\n');
        out.write_all(&frame)?;
        s.frames += 1;
        s.books += chunk.len() as u64;
    }
    let mut buf = EventBuf::new();
    // An event held to open a two-event frame.
    let mut held: Vec<u8> = Vec::new();
    for i in 0..steps {
        buf.clear();
        model.step(start_ms + 2 * (i + 1), &mut buf);
        s.steps += 1;
        s.level_changes += buf.change_count() as u64;
        for ev in &buf.events {
            match ev {
                VenueEvent::TickSizeChange { .. } => s.tick_size_changes += 1,
                VenueEvent::Book { .. } => s.books += 1,
                VenueEvent::LastTrade { .. } => s.trades += 1,
                VenueEvent::PriceChange { .. } => {}
            }
            frame.clear();
            if !write_event(model.books(), &buf, ev, &|_| true, &mut frame) {
                continue;
            }
            if !held.is_empty() {
                out.write_all(b"[")?;
                out.write_all(&held)?;
                out.write_all(b",")?;
                out.write_all(&frame)?;
                out.write_all(b"]\n")?;
                held.clear();
                s.frames += 1;
                s.batched_frames += 1;
            } else if opts.batched_per_mille > 0
                && batch_rng.chance(u64::from(opts.batched_per_mille))
            {
                held.extend_from_slice(&frame);
            } else {
                frame.push(b'\n');
                out.write_all(&frame)?;
                s.frames += 1;
            }
        }
    }
    if !held.is_empty() {
        held.push(b'\n');
        out.write_all(&held)?;
        s.frames += 1;
    }
    s.binary_dutch_faults = model.binary_dutch_faults;
    (s.mispricings_yes, s.mispricings_no) = model.mispricings;
    Ok((model, s))
}
