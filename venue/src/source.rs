//! Where the venue's market events come from: the synthetic model, or the frames of a
//! recording replayed in order (a frames file, or the frames of an engine's recording).
//!
//! A recording is served verbatim (its frames are what the real venue sent), while its effect
//! on the venue's books is tracked with the project's own parser so that REST snapshots and the
//! subscribe-time `book`s agree with what was streamed.

use std::io;
use std::path::Path;

use tungstenite::Utf8Bytes;

use polyarb::adapters::polymarket::market_channel::MarketParser;
use polyarb::core::{AssetIndex, AssetRegistry, MarketMsg, Size, TickSize};
use polyarb::recording::{RecordKind, RecordingReader};
use polyarb::replay::FrameReader;

use super::book::{MarketInfo, VenueBooks};
use super::model::MarketModel;

/// The venue's event source.
pub enum Source {
    Model(Box<MarketModel>),
    Replay(Box<ReplaySource>),
}

impl Source {
    pub fn books(&self) -> &VenueBooks {
        match self {
            Self::Model(m) => m.books(),
            Self::Replay(r) => &r.books,
        }
    }
}

/// A frames file held in memory, replayed frame by frame.
pub struct ReplaySource {
    frames: Vec<Utf8Bytes>,
    next: usize,
    parser: MarketParser,
    registry: AssetRegistry,
    /// Registry index → venue asset index (`u32::MAX` until the asset's first `book`).
    venue_index: Vec<u32>,
    books: VenueBooks,
    msgs: Vec<MarketMsg>,
    /// Lines that were not UTF-8 (cannot be a WebSocket text frame; skipped).
    pub skipped: u64,
}

impl ReplaySource {
    /// Loads every frame of a frames file (`.zst` decompressed), or of the newest session of
    /// an engine's recording (a directory, or one `.pzr` file of it), into memory.
    pub fn load(path: &Path) -> io::Result<Self> {
        let mut frames = Vec::new();
        let mut skipped = 0;
        let mut keep = |f: &[u8]| match std::str::from_utf8(f) {
            Ok(s) => frames.push(Utf8Bytes::from(s)),
            Err(_) => skipped += 1,
        };
        if path.is_dir()
            || path
                .extension()
                .is_some_and(|e| e == polyarb::recording::format::EXT)
        {
            let mut reader = RecordingReader::open(path).map_err(io::Error::other)?;
            while let Some(r) = reader.next_record().map_err(io::Error::other)? {
                if r.kind == Some(RecordKind::Frame) {
                    keep(&r.payload);
                }
            }
        } else {
            let mut reader = FrameReader::open(path)?;
            while let Some(f) = reader.next_frame()? {
                keep(f);
            }
        }
        Ok(Self {
            frames,
            next: 0,
            parser: MarketParser::new(true),
            registry: AssetRegistry::new(),
            venue_index: Vec::new(),
            books: VenueBooks::new(),
            msgs: Vec::new(),
            skipped,
        })
    }

    pub fn books(&self) -> &VenueBooks {
        &self.books
    }

    pub fn remaining(&self) -> usize {
        self.frames.len() - self.next
    }

    /// The next frame and the venue assets it touched (for routing); `None` at the end.
    pub fn next_frame(&mut self, assets: &mut Vec<u32>) -> Option<Utf8Bytes> {
        let frame = self.frames.get(self.next)?.clone();
        self.next += 1;
        assets.clear();
        self.msgs.clear();
        self.parser
            .parse(frame.as_bytes(), 0, &mut self.registry, &mut self.msgs);
        let msgs = std::mem::take(&mut self.msgs);
        for m in &msgs {
            self.apply(m, assets);
        }
        self.msgs = msgs;
        Some(frame)
    }

    fn venue_asset(&mut self, asset: AssetIndex, tick: Option<TickSize>) -> Option<u32> {
        let i = asset.get();
        if let Some(&v) = self.venue_index.get(i)
            && v != u32::MAX
        {
            return Some(v);
        }
        let info = self.registry.info(asset)?;
        let market = info.market.as_deref().unwrap_or("").to_string();
        let token = info.token;
        let m = match self.books.market_by_condition(&market) {
            Some(m) => m,
            None => self.books.add_market(MarketInfo {
                condition_id: market.clone(),
                neg_risk_market_id: None,
                question_id: None,
                question: String::new(),
                assets: Vec::new(),
                group_item_title: None,
                neg_risk_other: false,
                neg_risk_augmented: false,
            }),
        };
        let v = self
            .books
            .add_asset(token, m, tick.unwrap_or(TickSize::CENT), Size(5_000_000));
        if self.venue_index.len() <= i {
            self.venue_index.resize(i + 1, u32::MAX);
        }
        self.venue_index[i] = v;
        Some(v)
    }

    fn known(&self, asset: AssetIndex) -> Option<u32> {
        self.venue_index
            .get(asset.get())
            .copied()
            .filter(|&v| v != u32::MAX)
    }

    fn apply(&mut self, m: &MarketMsg, assets: &mut Vec<u32>) {
        match *m {
            MarketMsg::SnapshotStart { asset, tick, .. } => {
                if let Some(v) = self.venue_asset(asset, tick) {
                    let a = self.books.asset_mut(v);
                    a.book.clear();
                    a.version += 1;
                    if let Some(t) = tick {
                        a.tick = t;
                    }
                }
            }
            MarketMsg::SnapshotLevel {
                asset,
                side,
                price,
                size,
            }
            | MarketMsg::LevelChange {
                asset,
                side,
                price,
                size,
            } => {
                if let Some(v) = self.known(asset) {
                    self.books.set(v, side, price, size);
                }
            }
            MarketMsg::TickSizeChange { asset, tick } => {
                if let Some(v) = self.known(asset) {
                    self.books.asset_mut(v).tick = tick;
                }
            }
            MarketMsg::Trade { asset, price, .. } => {
                if let Some(v) = self.known(asset) {
                    self.books.asset_mut(v).last_trade = Some(price);
                    if !assets.contains(&v) {
                        assets.push(v);
                    }
                }
            }
            MarketMsg::AssetEventEnd { asset, .. } => {
                if let Some(v) = self.known(asset)
                    && !assets.contains(&v)
                {
                    assets.push(v);
                }
            }
            // Framing and client-side health are not venue state.
            MarketMsg::FrameStart { .. }
            | MarketMsg::FrameEnd { .. }
            | MarketMsg::Invalidate { .. } => {}
        }
    }
}
