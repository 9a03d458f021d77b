//! One-minute aggregates, kept long after the raw events are pruned: per asset, the top of book
//! (open/high/low/close of best bid and best ask after each venue event) and the trades (OHLC,
//! volume, notional, buy/sell volume, count).
//!
//! The writer accumulates only what changed since the last merge and the store merges it into
//! the stored bar (open kept, high/low widened, close replaced, sums added), so a bar survives
//! a restart in the middle of its minute and every merge leaves it correct so far. Merges ride
//! on a batch at most every `bars_every_ms` (and at every flush and shutdown), not on every
//! batch: each is an upsert per asset touched.

use rustc_hash::FxHashMap;

use crate::core::{AssetIndex, Price, Side, Size};

use super::batch::{Ohlc, Row, TobBar, TradeBar};

const NS_PER_MINUTE: u64 = 60_000_000_000;

/// The start of the minute (UNIX ms) that holds `recv_ns`.
#[inline]
pub fn minute_ms(recv_ns: u64) -> u64 {
    recv_ns / NS_PER_MINUTE * 60_000
}

/// Bar deltas since the last batch.
#[derive(Default)]
pub struct Bars {
    tob: FxHashMap<(u32, u64), TobBar>,
    trades: FxHashMap<(u32, u64), TradeBar>,
}

impl Bars {
    /// The asset's top of book after a venue event (`None` = that side is empty).
    pub fn top(&mut self, asset: AssetIndex, recv_ns: u64, bid: Option<Price>, ask: Option<Price>) {
        let minute = minute_ms(recv_ns);
        let bar = self.tob.entry((asset.0, minute)).or_insert(TobBar {
            asset,
            minute_ms: minute,
            bid: None,
            ask: None,
            updates: 0,
        });
        for (slot, p) in [(&mut bar.bid, bid), (&mut bar.ask, ask)] {
            if let Some(p) = p {
                match slot {
                    Some(o) => o.update(p),
                    None => *slot = Some(Ohlc::new(p)),
                }
            }
        }
        bar.updates += 1;
    }

    /// A trade print.
    pub fn trade(&mut self, asset: AssetIndex, recv_ns: u64, side: Side, price: Price, size: Size) {
        let minute = minute_ms(recv_ns);
        let notional = (u128::from(price.0) * u128::from(size.0) / 1_000_000) as u64;
        let bar = self.trades.entry((asset.0, minute)).or_insert(TradeBar {
            asset,
            minute_ms: minute,
            price: Ohlc::new(price),
            volume: Size::ZERO,
            notional: 0,
            buy_volume: Size::ZERO,
            sell_volume: Size::ZERO,
            trades: 0,
        });
        if bar.trades > 0 {
            bar.price.update(price);
        }
        bar.volume.0 = bar.volume.0.saturating_add(size.0);
        bar.notional = bar.notional.saturating_add(notional);
        let by_side = match side {
            Side::Bid => &mut bar.buy_volume,
            Side::Ask => &mut bar.sell_volume,
        };
        by_side.0 = by_side.0.saturating_add(size.0);
        bar.trades += 1;
    }

    pub fn is_empty(&self) -> bool {
        self.tob.is_empty() && self.trades.is_empty()
    }

    /// Moves every delta into the batch being built, oldest minute first.
    pub fn drain_into(&mut self, rows: &mut Vec<Row>) {
        let mut tob: Vec<TobBar> = self.tob.drain().map(|(_, b)| b).collect();
        tob.sort_by_key(|b| (b.minute_ms, b.asset));
        rows.extend(tob.into_iter().map(Row::TobBar));
        let mut trades: Vec<TradeBar> = self.trades.drain().map(|(_, b)| b).collect();
        trades.sort_by_key(|b| (b.minute_ms, b.asset));
        rows.extend(trades.into_iter().map(Row::TradeBar));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accumulates_per_asset_and_minute() {
        let mut b = Bars::default();
        let a = AssetIndex(1);
        let t0 = 1_764_072_000 * 1_000_000_000;
        b.top(a, t0, Some(Price(500_000)), None);
        b.top(a, t0 + 1, Some(Price(520_000)), Some(Price(530_000)));
        b.top(a, t0 + 2, Some(Price(490_000)), Some(Price(510_000)));
        b.top(a, t0 + NS_PER_MINUTE, Some(Price(1)), None);
        b.trade(a, t0, Side::Bid, Price(500_000), Size(2_000_000));
        b.trade(a, t0 + 5, Side::Ask, Price(400_000), Size(1_000_000));
        let mut rows = Vec::new();
        b.drain_into(&mut rows);
        assert!(b.is_empty());
        let tob: Vec<TobBar> = rows
            .iter()
            .filter_map(|r| {
                if let Row::TobBar(t) = r {
                    Some(*t)
                } else {
                    None
                }
            })
            .collect();
        assert_eq!(tob.len(), 2);
        assert_eq!(tob[0].minute_ms, t0 / 1_000_000);
        assert_eq!(tob[0].updates, 3);
        assert_eq!(
            tob[0].bid,
            Some(Ohlc {
                open: Price(500_000),
                high: Price(520_000),
                low: Price(490_000),
                close: Price(490_000)
            })
        );
        assert_eq!(
            tob[0].ask.map(|o| (o.open, o.close)),
            Some((Price(530_000), Price(510_000)))
        );
        let Some(Row::TradeBar(t)) = rows.last() else {
            panic!()
        };
        assert_eq!(
            (t.trades, t.volume, t.notional),
            (2, Size(3_000_000), 1_400_000)
        );
        assert_eq!(
            (t.buy_volume, t.sell_volume),
            (Size(2_000_000), Size(1_000_000))
        );
        assert_eq!(
            (t.price.open, t.price.low, t.price.close),
            (Price(500_000), Price(400_000), Price(400_000))
        );
    }
}
