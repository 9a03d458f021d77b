//! Raw frames in pooled, padded buffers, moved from the io stage to the parser and back.
//!
//! A buffer is allocated once (warm-up) and recycled through a return ring, so steady-state
//! reception allocates nothing. Every buffer keeps the parser's padding past the frame.

use crate::adapters::polymarket::market_channel::FRAME_PADDING;
use crate::core::{AssetIndex, ResyncReason};

/// One received text frame.
pub struct FrameBuf {
    data: Box<[u8]>,
    len: usize,
    /// Monotonic receive time (`obs::clock::now_ns`).
    pub recv_ns: u64,
    /// The connection it arrived on.
    pub conn: u16,
}

impl FrameBuf {
    pub fn with_capacity(cap: usize) -> Self {
        Self {
            data: vec![0u8; cap + FRAME_PADDING].into_boxed_slice(),
            len: 0,
            recv_ns: 0,
            conn: 0,
        }
    }

    /// Copies a frame in; returns whether the buffer had to grow (an allocation, counted by
    /// the caller).
    #[inline]
    pub fn fill(&mut self, frame: &[u8], recv_ns: u64, conn: u16) -> bool {
        let grew = frame.len() + FRAME_PADDING > self.data.len();
        if grew {
            let cap = (frame.len() + FRAME_PADDING).next_power_of_two();
            self.data = vec![0u8; cap].into_boxed_slice();
        }
        self.data[..frame.len()].copy_from_slice(frame);
        self.len = frame.len();
        self.recv_ns = recv_ns;
        self.conn = conn;
        grew
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[inline]
    pub fn frame(&self) -> &[u8] {
        &self.data[..self.len]
    }

    /// The padded buffer and the frame length, for the in-place parser.
    #[inline]
    pub fn padded_mut(&mut self) -> (&mut [u8], usize) {
        (&mut self.data, self.len)
    }
}

/// What the io stage hands to the parse stage.
pub enum IoEvent {
    Frame(FrameBuf),
    /// The io stage knows an asset's book is no longer trustworthy (dropped connection, a frame
    /// lost to a full ring).
    Invalidate {
        asset: AssetIndex,
        reason: ResyncReason,
    },
    /// New assets for the parse stage's registry (a market listed while running). The io
    /// stage sends it before subscribing them, so it precedes every frame that names them.
    Extend(Box<crate::core::RegistryExtension>),
}
