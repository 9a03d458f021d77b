//! The venue's own books: the single source of truth for what the local Polymarket double has
//! resting at every price of every outcome token, and the market metadata served beside them.
//!
//! Ordered maps, not the client's `Ladder`: the venue is the reference the client is compared
//! against, so it is kept deliberately simple and independent of the code under test; its
//! speed matters far less than the client's.

use std::borrow::Cow;
use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

use polyarb::core::{Price, Side, Size, TickSize, TokenId};

/// One side of a venue book: price → resting size (never zero).
pub type Levels = BTreeMap<Price, Size>;

/// The resting levels of one outcome token.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VenueBook {
    pub bids: Levels,
    pub asks: Levels,
}

impl VenueBook {
    pub fn side(&self, side: Side) -> &Levels {
        match side {
            Side::Bid => &self.bids,
            Side::Ask => &self.asks,
        }
    }

    pub fn side_mut(&mut self, side: Side) -> &mut Levels {
        match side {
            Side::Bid => &mut self.bids,
            Side::Ask => &mut self.asks,
        }
    }

    /// Sets the absolute size at a price; zero removes the level.
    pub fn set(&mut self, side: Side, price: Price, size: Size) {
        let levels = self.side_mut(side);
        if size.is_zero() {
            levels.remove(&price);
        } else {
            levels.insert(price, size);
        }
    }

    pub fn best_bid(&self) -> Option<Price> {
        self.bids.keys().next_back().copied()
    }

    pub fn best_ask(&self) -> Option<Price> {
        self.asks.keys().next().copied()
    }

    pub fn best(&self, side: Side) -> Option<Price> {
        match side {
            Side::Bid => self.best_bid(),
            Side::Ask => self.best_ask(),
        }
    }

    pub fn is_crossed(&self) -> bool {
        matches!((self.best_bid(), self.best_ask()), (Some(b), Some(a)) if b >= a)
    }

    pub fn clear(&mut self) {
        self.bids.clear();
        self.asks.clear();
    }

    pub fn is_empty(&self) -> bool {
        self.bids.is_empty() && self.asks.is_empty()
    }

    /// Adds `size` at a level (saturating), or removes as much (a level that reaches zero goes).
    pub fn add(&mut self, side: Side, price: Price, size: Size, remove: bool) {
        let levels = self.side_mut(side);
        let cur = levels.get(&price).copied().unwrap_or(Size::ZERO);
        let new = if remove {
            Size(cur.0.saturating_sub(size.0))
        } else {
            Size(cur.0.saturating_add(size.0))
        };
        if new.is_zero() {
            levels.remove(&price);
        } else {
            levels.insert(price, new);
        }
    }

    /// The other outcome's book: a bid at `p` is an ask at `1 - p` of the same size.
    pub fn mirrored(&self) -> Self {
        let flip = |levels: &Levels| -> Levels {
            levels
                .iter()
                .filter_map(|(&p, &s)| Some((p.complement()?, s)))
                .collect()
        };
        Self {
            bids: flip(&self.asks),
            asks: flip(&self.bids),
        }
    }
}

/// A market (one condition) as the venue describes it.
#[derive(Clone, Debug)]
pub struct MarketInfo {
    /// The condition id, `0x` + 64 hex, as sent on the wire.
    pub condition_id: String,
    /// The neg-risk market id shared by the questions of a neg-risk group.
    pub neg_risk_market_id: Option<String>,
    /// The question id (for neg-risk: `neg_risk_market_id + index`).
    pub question_id: Option<String>,
    pub question: String,
    /// The market's assets, YES first when the market is binary.
    pub assets: Vec<u32>,
}

impl MarketInfo {
    pub fn neg_risk(&self) -> bool {
        self.neg_risk_market_id.is_some()
    }
}

/// One outcome token: its id, its book and what the REST book endpoint reports beside it.
#[derive(Clone, Debug)]
pub struct AssetBook {
    pub token: TokenId,
    pub token_str: Box<str>,
    /// Index into `VenueBooks::markets`.
    pub market: u32,
    /// The synthetic (house) liquidity: what the market model or the recording put there.
    pub book: VenueBook,
    /// Orders of the venue's account holders resting on this token, in this token's price
    /// space (a YES bid at p is also a NO ask at 1 - p: see `trading`). What the venue
    /// publishes is `book` + `user`.
    pub user: VenueBook,
    pub tick: TickSize,
    pub min_order_size: Size,
    pub last_trade: Option<Price>,
    /// Bumped on every change; feeds the opaque per-change `hash` of `price_change` entries.
    pub version: u64,
}

impl AssetBook {
    /// The published size at a level: house liquidity plus resting user orders.
    pub fn level(&self, side: Side, price: Price) -> Size {
        let get = |b: &VenueBook| b.side(side).get(&price).map_or(0, |s| s.0);
        Size(get(&self.book) + get(&self.user))
    }

    /// The published book (borrowed as is when no user order rests here).
    pub fn published(&self) -> Cow<'_, VenueBook> {
        if self.user.is_empty() {
            return Cow::Borrowed(&self.book);
        }
        let mut b = self.book.clone();
        for side in [Side::Bid, Side::Ask] {
            for (&p, &s) in self.user.side(side) {
                b.add(side, p, s, false);
            }
        }
        Cow::Owned(b)
    }

    /// The published best price of a side, given the house book's best (which a market event
    /// may carry from an earlier moment of the same step).
    pub fn published_best(&self, side: Side, house_best: Option<Price>) -> Option<Price> {
        match (house_best, self.user.best(side)) {
            (Some(h), Some(u)) => Some(match side {
                Side::Bid => h.max(u),
                Side::Ask => h.min(u),
            }),
            (h, u) => h.or(u),
        }
    }
}

/// Every asset and market the venue knows, indexed densely.
#[derive(Clone, Debug, Default)]
pub struct VenueBooks {
    pub assets: Vec<AssetBook>,
    pub markets: Vec<MarketInfo>,
    by_token: FxHashMap<TokenId, u32>,
    by_market: FxHashMap<String, u32>,
}

impl VenueBooks {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a market (or returns the existing one with this condition id).
    pub fn add_market(&mut self, info: MarketInfo) -> u32 {
        if let Some(&m) = self.by_market.get(&info.condition_id) {
            return m;
        }
        let m = self.markets.len() as u32;
        self.by_market.insert(info.condition_id.clone(), m);
        self.markets.push(info);
        m
    }

    pub fn market_by_condition(&self, condition_id: &str) -> Option<u32> {
        self.by_market.get(condition_id).copied()
    }

    /// Adds an asset to a market (or returns the existing index of this token).
    pub fn add_asset(
        &mut self,
        token: TokenId,
        market: u32,
        tick: TickSize,
        min_order_size: Size,
    ) -> u32 {
        if let Some(&a) = self.by_token.get(&token) {
            return a;
        }
        let a = self.assets.len() as u32;
        self.by_token.insert(token, a);
        self.assets.push(AssetBook {
            token,
            token_str: token.to_string().into_boxed_str(),
            market,
            book: VenueBook::default(),
            user: VenueBook::default(),
            tick,
            min_order_size,
            last_trade: None,
            version: 0,
        });
        if let Some(info) = self.markets.get_mut(market as usize) {
            info.assets.push(a);
        }
        a
    }

    pub fn lookup(&self, token: &TokenId) -> Option<u32> {
        self.by_token.get(token).copied()
    }

    pub fn asset(&self, a: u32) -> &AssetBook {
        &self.assets[a as usize]
    }

    pub fn asset_mut(&mut self, a: u32) -> &mut AssetBook {
        &mut self.assets[a as usize]
    }

    pub fn market_of(&self, a: u32) -> &MarketInfo {
        &self.markets[self.assets[a as usize].market as usize]
    }

    pub fn len(&self) -> usize {
        self.assets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.assets.is_empty()
    }

    /// Sets a level of one asset and bumps its version.
    pub fn set(&mut self, a: u32, side: Side, price: Price, size: Size) {
        let asset = &mut self.assets[a as usize];
        asset.book.set(side, price, size);
        asset.version += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirror_swaps_sides_at_the_complement() {
        let mut b = VenueBook::default();
        b.set(Side::Bid, Price(450_000), Size(10_000_000));
        b.set(Side::Ask, Price(470_000), Size(5_000_000));
        let m = b.mirrored();
        assert_eq!(m.best_ask(), Some(Price(550_000)));
        assert_eq!(m.best_bid(), Some(Price(530_000)));
        assert_eq!(m.asks[&Price(550_000)], Size(10_000_000));
        assert_eq!(m.mirrored(), b);
        b.set(Side::Bid, Price(450_000), Size::ZERO);
        assert!(b.bids.is_empty());
    }
}
