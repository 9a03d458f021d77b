//! Stored rows back to the venue's wire: market-channel frames, one JSON event per line, in the
//! shapes `polyarb replay` parses (`book`, current-format `price_change`, `tick_size_change`,
//! `last_trade_price`). Retention writes them to zstd files before deleting the rows.
//!
//! A venue event is rebuilt from its rows: a `book` from its start row and level rows up to the
//! row that ends it; a `price_change` from consecutive change rows of the market until every
//! asset it touched has ended (the claimed `best_bid`/`best_ask` go on each asset's last entry,
//! where the parser reads them); a tick-size change and a trade are one row each. Not exported:
//! local invalidations (they are not venue data; the `resyncs` table keeps them) and the book
//! `hash` (never stored: an opaque token clients cannot reproduce).

use std::io::{self, Write};

use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::core::{ClaimedTop, Price, Side, Size, TickSize};

use super::batch::{BookRowKind, StoredBookRow, StoredTrade};

#[derive(Serialize)]
struct LevelJson {
    price: String,
    size: String,
}

#[derive(Serialize)]
struct BookFrame<'a> {
    event_type: &'static str,
    asset_id: &'a str,
    market: &'a str,
    bids: Vec<LevelJson>,
    asks: Vec<LevelJson>,
    timestamp: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    tick_size: Option<String>,
}

#[derive(Serialize)]
struct ChangeJson<'a> {
    asset_id: &'a str,
    price: String,
    size: String,
    side: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    best_bid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    best_ask: Option<String>,
}

#[derive(Serialize)]
struct PriceChangeFrame<'a> {
    event_type: &'static str,
    market: &'a str,
    price_changes: Vec<ChangeJson<'a>>,
    timestamp: String,
}

#[derive(Serialize)]
struct TickSizeFrame<'a> {
    event_type: &'static str,
    asset_id: &'a str,
    market: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    old_tick_size: Option<String>,
    new_tick_size: String,
    timestamp: String,
}

#[derive(Serialize)]
struct TradeFrame<'a> {
    event_type: &'static str,
    asset_id: &'a str,
    market: &'a str,
    price: String,
    side: &'static str,
    size: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    fee_rate_bps: Option<String>,
    timestamp: String,
}

/// A venue event being rebuilt.
enum Open {
    None,
    Book {
        asset_id: i64,
        tick: Option<TickSize>,
        bids: Vec<(Price, Size)>,
        asks: Vec<(Price, Size)>,
        ts: u64,
    },
    Changes {
        /// (asset, side, price, size, claim)
        entries: Vec<(i64, Side, Price, Size, Option<ClaimedTop>)>,
        open: Vec<i64>,
        ts: u64,
    },
}

/// What an export wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExportCounts {
    pub frames: u64,
    /// Rows consumed (book rows and trades).
    pub rows: u64,
    /// Rows with nothing to say on the wire (local invalidations, levels without a start).
    pub skipped: u64,
}

/// Writes the frames of one market's rows.
pub struct FrameWriter<'a, W: Write> {
    out: W,
    market: &'a str,
    tokens: &'a FxHashMap<i64, String>,
    ticks: FxHashMap<i64, TickSize>,
    open: Open,
    pub counts: ExportCounts,
}

impl<'a, W: Write> FrameWriter<'a, W> {
    /// `tokens` maps the market's stored asset ids to their token ids.
    pub fn new(out: W, market: &'a str, tokens: &'a FxHashMap<i64, String>) -> Self {
        Self {
            out,
            market,
            tokens,
            ticks: FxHashMap::default(),
            open: Open::None,
            counts: ExportCounts::default(),
        }
    }

    /// Writes the frames of book rows and trades of one market (each in `seq` order; they are
    /// merged by `seq`), and closes any event still open at the end.
    pub fn write_rows(&mut self, rows: &[StoredBookRow], trades: &[StoredTrade]) -> io::Result<()> {
        let (mut i, mut j) = (0, 0);
        while i < rows.len() || j < trades.len() {
            let take_trade = match (rows.get(i), trades.get(j)) {
                (Some(r), Some(t)) => t.seq < r.seq,
                (None, Some(_)) => true,
                _ => false,
            };
            if take_trade {
                self.trade(&trades[j])?;
                j += 1;
            } else {
                self.row(&rows[i])?;
                i += 1;
            }
        }
        self.close()
    }

    pub fn into_inner(mut self) -> io::Result<W> {
        self.close()?;
        Ok(self.out)
    }

    fn token(&self, asset_id: i64) -> Option<&'a str> {
        self.tokens.get(&asset_id).map(String::as_str)
    }

    fn row(&mut self, r: &StoredBookRow) -> io::Result<()> {
        self.counts.rows += 1;
        match r.kind {
            BookRowKind::BookStart { tick } => {
                self.close()?;
                if let Some(t) = tick {
                    self.ticks.insert(r.asset_id, t);
                }
                self.open = Open::Book {
                    asset_id: r.asset_id,
                    tick,
                    bids: Vec::new(),
                    asks: Vec::new(),
                    ts: r.venue_ts_ms,
                };
            }
            BookRowKind::BookLevel { side, price, size } => match &mut self.open {
                Open::Book {
                    asset_id,
                    bids,
                    asks,
                    ..
                } if *asset_id == r.asset_id => match side {
                    Side::Bid => bids.push((price, size)),
                    Side::Ask => asks.push((price, size)),
                },
                _ => self.counts.skipped += 1,
            },
            BookRowKind::Change { side, price, size } => {
                if !matches!(self.open, Open::Changes { .. }) {
                    self.close()?;
                    self.open = Open::Changes {
                        entries: Vec::new(),
                        open: Vec::new(),
                        ts: r.venue_ts_ms,
                    };
                }
                if let Open::Changes { entries, open, .. } = &mut self.open {
                    entries.push((r.asset_id, side, price, size, r.end));
                    if r.end.is_none() && !open.contains(&r.asset_id) {
                        open.push(r.asset_id);
                    }
                }
            }
            BookRowKind::TickSize { tick } => {
                self.close()?;
                let old = self.ticks.insert(r.asset_id, tick);
                if let Some(asset_id) = self.token(r.asset_id) {
                    self.emit(&TickSizeFrame {
                        event_type: "tick_size_change",
                        asset_id,
                        market: self.market,
                        old_tick_size: old.map(|t| t.to_string()),
                        new_tick_size: tick.to_string(),
                        timestamp: r.venue_ts_ms.to_string(),
                    })?;
                } else {
                    self.counts.skipped += 1;
                }
                return Ok(());
            }
            BookRowKind::EventEnd => {
                if let Open::Changes { entries, .. } = &mut self.open
                    && let Some(e) = entries.iter_mut().rev().find(|e| e.0 == r.asset_id)
                {
                    e.4 = r.end;
                }
            }
            BookRowKind::Invalidate { .. } => {
                self.counts.skipped += 1;
                return Ok(());
            }
        }
        if r.end.is_some() {
            self.ended(r.asset_id)?;
        }
        Ok(())
    }

    /// The asset's part of the open event is complete.
    fn ended(&mut self, asset_id: i64) -> io::Result<()> {
        let done = match &mut self.open {
            Open::Book { asset_id: a, .. } => *a == asset_id,
            Open::Changes { open, .. } => {
                open.retain(|&a| a != asset_id);
                open.is_empty()
            }
            Open::None => false,
        };
        if done { self.close() } else { Ok(()) }
    }

    fn trade(&mut self, t: &StoredTrade) -> io::Result<()> {
        self.counts.rows += 1;
        self.close()?;
        let Some(asset_id) = self.token(t.asset_id) else {
            self.counts.skipped += 1;
            return Ok(());
        };
        self.emit(&TradeFrame {
            event_type: "last_trade_price",
            asset_id,
            market: self.market,
            price: t.price.to_string(),
            side: t.side.venue_str(),
            size: t.size.to_string(),
            fee_rate_bps: t.fee_rate_bps.map(|f| f.to_string()),
            timestamp: t.venue_ts_ms.to_string(),
        })
    }

    /// Writes the open event, if any, as one frame.
    fn close(&mut self) -> io::Result<()> {
        match std::mem::replace(&mut self.open, Open::None) {
            Open::None => Ok(()),
            Open::Book {
                asset_id,
                tick,
                mut bids,
                mut asks,
                ts,
            } => {
                let Some(token) = self.token(asset_id) else {
                    self.counts.skipped += 1;
                    return Ok(());
                };
                // The venue's order: best price LAST on both sides.
                bids.sort_by_key(|l| l.0);
                asks.sort_by_key(|l| std::cmp::Reverse(l.0));
                let lv = |v: Vec<(Price, Size)>| {
                    v.into_iter()
                        .map(|(p, s)| LevelJson {
                            price: p.to_string(),
                            size: s.to_string(),
                        })
                        .collect()
                };
                self.emit(&BookFrame {
                    event_type: "book",
                    asset_id: token,
                    market: self.market,
                    bids: lv(bids),
                    asks: lv(asks),
                    timestamp: ts.to_string(),
                    tick_size: tick.map(|t| t.to_string()),
                })
            }
            Open::Changes { entries, ts, .. } => {
                let mut changes = Vec::with_capacity(entries.len());
                for (asset_id, side, price, size, claim) in entries {
                    let Some(token) = self.token(asset_id) else {
                        self.counts.skipped += 1;
                        continue;
                    };
                    let claim = claim.unwrap_or(ClaimedTop::UNKNOWN);
                    changes.push(ChangeJson {
                        asset_id: token,
                        price: price.to_string(),
                        size: size.to_string(),
                        side: side.venue_str(),
                        best_bid: claim.bid.map(|p| p.to_string()),
                        best_ask: claim.ask.map(|p| p.to_string()),
                    });
                }
                if changes.is_empty() {
                    return Ok(());
                }
                self.emit(&PriceChangeFrame {
                    event_type: "price_change",
                    market: self.market,
                    price_changes: changes,
                    timestamp: ts.to_string(),
                })
            }
        }
    }

    fn emit<T: Serialize>(&mut self, frame: &T) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, frame).map_err(io::Error::other)?;
        self.out.write_all(b"\n")?;
        self.counts.frames += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(seq: u64, asset_id: i64, kind: BookRowKind, end: Option<ClaimedTop>) -> StoredBookRow {
        StoredBookRow {
            seq,
            asset_id,
            kind,
            end,
            venue_ts_ms: 1000 + seq,
            recv_ns: seq,
        }
    }

    #[test]
    fn rebuilds_wire_events() {
        let tokens: FxHashMap<i64, String> = [(1, "11".to_string()), (2, "22".to_string())]
            .into_iter()
            .collect();
        let top = |b: u32, a: u32| {
            Some(ClaimedTop {
                bid: Some(Price(b)),
                ask: Some(Price(a)),
            })
        };
        let rows = [
            row(
                1,
                1,
                BookRowKind::BookStart {
                    tick: Some(TickSize::CENT),
                },
                None,
            ),
            row(
                2,
                1,
                BookRowKind::BookLevel {
                    side: Side::Bid,
                    price: Price(500_000),
                    size: Size(1_000_000),
                },
                None,
            ),
            row(
                3,
                1,
                BookRowKind::BookLevel {
                    side: Side::Ask,
                    price: Price(520_000),
                    size: Size(2_500_000),
                },
                None,
            ),
            row(
                4,
                1,
                BookRowKind::BookLevel {
                    side: Side::Ask,
                    price: Price(510_000),
                    size: Size(1),
                },
                Some(ClaimedTop::UNKNOWN),
            ),
            row(
                5,
                1,
                BookRowKind::Change {
                    side: Side::Bid,
                    price: Price(505_000),
                    size: Size(3_000_000),
                },
                None,
            ),
            row(
                6,
                2,
                BookRowKind::Change {
                    side: Side::Ask,
                    price: Price(495_000),
                    size: Size(0),
                },
                top(0, 0),
            ),
            row(
                7,
                1,
                BookRowKind::Change {
                    side: Side::Bid,
                    price: Price(500_000),
                    size: Size(0),
                },
                None,
            ),
            row(
                8,
                1,
                BookRowKind::Invalidate {
                    reason: crate::book::ResyncReason::Stale,
                },
                None,
            ),
            row(10, 1, BookRowKind::EventEnd, top(505_000, 510_000)),
            row(
                11,
                1,
                BookRowKind::TickSize {
                    tick: TickSize::MILLI,
                },
                Some(ClaimedTop::UNKNOWN),
            ),
        ];
        let trades = [StoredTrade {
            seq: 9,
            asset_id: 2,
            side: Side::Ask,
            price: Price(491_000),
            size: Size(85_360_000),
            fee_rate_bps: Some(0),
            venue_ts_ms: 7,
            recv_ns: 9,
        }];
        let mut w = FrameWriter::new(Vec::new(), "0xm", &tokens);
        w.write_rows(&rows, &trades).unwrap();
        let counts = w.counts;
        let text = String::from_utf8(w.into_inner().unwrap()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            r#"{"event_type":"book","asset_id":"11","market":"0xm","bids":[{"price":"0.5","size":"1"}],"asks":[{"price":"0.52","size":"2.5"},{"price":"0.51","size":"0.000001"}],"timestamp":"1001","tick_size":"0.01"}"#
        );
        // The trade (seq 9) sits inside the still-open change event: it closes it first.
        assert_eq!(
            lines[1],
            r#"{"event_type":"price_change","market":"0xm","price_changes":[{"asset_id":"11","price":"0.505","size":"3","side":"BUY"},{"asset_id":"22","price":"0.495","size":"0","side":"SELL","best_bid":"0","best_ask":"0"},{"asset_id":"11","price":"0.5","size":"0","side":"BUY"}],"timestamp":"1005"}"#
        );
        assert_eq!(
            lines[2],
            r#"{"event_type":"last_trade_price","asset_id":"22","market":"0xm","price":"0.491","side":"SELL","size":"85.36","fee_rate_bps":"0","timestamp":"7"}"#
        );
        assert_eq!(
            lines[3],
            r#"{"event_type":"tick_size_change","asset_id":"11","market":"0xm","old_tick_size":"0.01","new_tick_size":"0.001","timestamp":"1011"}"#
        );
        assert_eq!(lines.len(), 4);
        assert_eq!(counts.skipped, 1);
        assert_eq!(counts.rows, 11);
    }

    #[test]
    fn event_end_row_patches_the_last_entry_of_its_asset() {
        let tokens: FxHashMap<i64, String> = [(1, "11".to_string())].into_iter().collect();
        let rows = [
            row(
                1,
                1,
                BookRowKind::Change {
                    side: Side::Bid,
                    price: Price(500_000),
                    size: Size(1),
                },
                None,
            ),
            row(
                2,
                1,
                BookRowKind::Change {
                    side: Side::Bid,
                    price: Price(400_000),
                    size: Size(1),
                },
                None,
            ),
            row(
                3,
                1,
                BookRowKind::EventEnd,
                Some(ClaimedTop {
                    bid: Some(Price(500_000)),
                    ask: None,
                }),
            ),
        ];
        let mut w = FrameWriter::new(Vec::new(), "0xm", &tokens);
        w.write_rows(&rows, &[]).unwrap();
        let text = String::from_utf8(w.into_inner().unwrap()).unwrap();
        assert_eq!(text.lines().count(), 1);
        assert!(
            text.contains(
                r#"{"asset_id":"11","price":"0.4","size":"0.000001","side":"BUY","best_bid":"0.5"}"#
            ),
            "{text}"
        );
    }
}
