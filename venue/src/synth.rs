//! `polyarb synth frames`: the synthetic model's events written as a frames file (one raw
//! market-channel frame per line, the format `polyarb replay` and the benches read).
//!
//! The file opens with the initial dump — every asset's `book`, batched into JSON arrays as the
//! real venue sends them on subscribe — followed by the model's events one frame each:
//! `price_change` bursts, trade prints, occasional fresh `book`s, and `tick_size_change`s each
//! followed by a fresh `book`. The model clock starts at a fixed instant and advances 2 ms per
//! step, so the same arguments always give the same bytes.

use std::io::{self, Write};

use super::event::{EventBuf, VenueEvent};
use super::model::{MarketModel, ModelConfig};
use super::wire::{write_book_array, write_event};

/// Model time of the first frame (2025-06-15T00:00:00Z, in ms).
pub const START_MS: u64 = 1_749_945_600_000;
/// Books per frame of the initial dump.
const DUMP_CHUNK: usize = 50;

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
    pub dutch_books: u64,
}

/// Writes the initial dump and `steps` model steps; returns the model (its books are what a
/// replay of the file must end with) and a summary.
pub fn write_frames(
    cfg: ModelConfig,
    steps: u64,
    out: &mut impl Write,
) -> io::Result<(MarketModel, SynthSummary)> {
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
        write_book_array(model.books(), chunk, START_MS, &mut frame);
        frame.push(b'\n');
        out.write_all(&frame)?;
        s.frames += 1;
        s.books += chunk.len() as u64;
    }
    let mut buf = EventBuf::new();
    for i in 0..steps {
        buf.clear();
        model.step(START_MS + 2 * (i + 1), &mut buf);
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
            if write_event(model.books(), &buf, ev, &|_| true, &mut frame) {
                frame.push(b'\n');
                out.write_all(&frame)?;
                s.frames += 1;
            }
        }
    }
    s.dutch_books = model.dutch_books;
    Ok((model, s))
}
