//! The synthetic market model: a seeded, reproducible set of Polymarket-like markets that the
//! venue serves and `polyarb synth frames` records.
//!
//! What it owns: N binary markets plus neg-risk groups (K binary questions sharing a neg-risk
//! market id, their YES prices summing to about 1); per market a YES book and a NO book kept
//! mirrored at `1 - p` (a YES bid at p is a NO ask at 1 - p, same size); a random walk of the
//! top of book with momentum and bursts; every level on the tick grid; the tick size switching
//! 0.01 → 0.001 when the book crosses above 0.96 / below 0.04 (and back, with hysteresis, once it
//! returns inside 0.10..0.90), each switch followed by fresh `book` snapshots as the real venue
//! does; trade prints; and optional short-lived Dutch books (YES ask + NO ask < 1 − margin).
//!
//! Prices and sizes are integer micro-units throughout; the only floats are selection weights.
//! Everything is a function of the seed and of the sequence of `step(now_ms)` calls.

pub mod ids;
pub mod rng;

use serde::Deserialize;

use polyarb::adapters::polymarket::signing::amounts::SHARE_LOT;
use polyarb::core::{Price, Side, Size, TickSize};

use super::book::{MarketInfo, VenueBook, VenueBooks};
use super::event::{EventBuf, LevelDelta, VenueEvent};
use rng::ModelRng;

const ONE: u32 = 1_000_000;
/// Above this best bid (or below `1 - FINE_ABOVE` best ask) the tick becomes 0.001.
const FINE_ABOVE: u32 = 960_000;
const FINE_BELOW: u32 = 40_000;
/// Back to 0.01 only once the book is well inside again, so the tick does not flap.
const COARSE_FROM: u32 = 100_000;
const COARSE_TO: u32 = 900_000;

/// Shape and behaviour of the synthetic market set (the `[model]` section of venue.toml).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct ModelConfig {
    /// Same seed, same markets, ids and event sequence.
    pub seed: u64,
    /// Stand-alone binary markets (two assets each).
    pub binary_markets: u32,
    /// Neg-risk groups, each of `neg_risk_group_size` binary questions.
    pub neg_risk_groups: u32,
    pub neg_risk_group_size: u32,
    /// Levels per side when a book is built; books may grow to twice this.
    pub depth: u32,
    /// Mean interval between injected Dutch books, in model milliseconds (0 = never).
    pub dutch_book_every_ms: u64,
    /// How long an injected Dutch book rests before the NO book is mirrored again.
    pub dutch_book_duration_ms: u64,
    /// An injected Dutch book has YES ask + NO ask strictly below 1 − this margin.
    pub dutch_book_margin: Price,
    /// `min_order_size` reported for every market.
    pub min_order_size: Size,
    /// Tick sizes of the first stand-alone binary markets, one per market, kept for good
    /// (no 0.01 ↔ 0.001 regime switch): lets a venue offer every tick size the SDKs know.
    pub fixed_ticks: Vec<TickSize>,
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            binary_markets: 20,
            neg_risk_groups: 2,
            neg_risk_group_size: 4,
            depth: 8,
            dutch_book_every_ms: 0,
            dutch_book_duration_ms: 500,
            dutch_book_margin: Price(20_000),
            min_order_size: Size(5_000_000),
            fixed_ticks: Vec::new(),
        }
    }
}

impl ModelConfig {
    /// A market set of about `assets` assets (two per market), a fifth of them in neg-risk
    /// groups of four.
    pub fn for_assets(assets: u32, seed: u64) -> Self {
        let markets = (assets / 2).max(1);
        let grouped = markets / 5 / 4 * 4;
        Self {
            seed,
            binary_markets: markets - grouped,
            neg_risk_groups: grouped / 4,
            neg_risk_group_size: 4,
            ..Self::default()
        }
    }

    pub fn market_count(&self) -> u32 {
        self.binary_markets + self.neg_risk_groups * self.neg_risk_group_size
    }
}

/// Per-market walk state.
#[derive(Clone, Debug, Default)]
struct Walk {
    up: bool,
    /// While a Dutch book rests, the market is not walked (so the NO book stays uncrossed).
    frozen_until_ms: Option<u64>,
}

/// The synthetic market set and its books.
pub struct MarketModel {
    cfg: ModelConfig,
    rng: ModelRng,
    books: VenueBooks,
    walks: Vec<Walk>,
    /// A market in a burst, and the steps it has left.
    burst: Option<(u32, u32)>,
    next_dutch_ms: Option<u64>,
    hash_salt: u64,
    steps: u64,
    /// Dutch books injected so far.
    pub dutch_books: u64,
}

impl MarketModel {
    pub fn new(cfg: ModelConfig) -> Self {
        let mut rng = ModelRng::new(cfg.seed);
        let hash_salt = rng.next_u64();
        let mut m = Self {
            rng,
            books: VenueBooks::new(),
            walks: Vec::new(),
            burst: None,
            next_dutch_ms: None,
            hash_salt,
            steps: 0,
            dutch_books: 0,
            cfg,
        };
        m.build();
        m
    }

    fn build(&mut self) {
        let seed = self.cfg.seed;
        let mut index = 0u32;
        for _ in 0..self.cfg.binary_markets {
            let p = self.rng.range(30_000, 970_000) as u32;
            self.add_market(seed, index, None, p);
            index += 1;
        }
        for g in 0..self.cfg.neg_risk_groups {
            let nr = ids::neg_risk_market_id(seed, g);
            let k = self.cfg.neg_risk_group_size.max(1);
            let weights: Vec<u64> = (0..k).map(|_| self.rng.range(1, 10)).collect();
            let total: u64 = weights.iter().sum();
            for (q, w) in weights.iter().enumerate() {
                // YES prices of a neg-risk group sum to about 1: exactly one question wins.
                let p = (u64::from(ONE) * w / total).clamp(20_000, 980_000) as u32;
                self.add_market(seed, index, Some((nr, q as u8, g)), p);
                index += 1;
            }
        }
    }

    fn add_market(
        &mut self,
        seed: u64,
        index: u32,
        neg_risk: Option<(polyarb::core::ConditionId, u8, u32)>,
        p: u32,
    ) {
        let cond = ids::condition_id(seed, index);
        let (neg_risk_market_id, question_id, question) = match neg_risk {
            Some((nr, q, g)) => (
                Some(nr.to_string()),
                Some(ids::neg_risk_question_id(&nr, q).to_string()),
                format!("Synthetic group {g}: will outcome {q} win?"),
            ),
            None => (
                None,
                None,
                format!("Synthetic market {index}: will it resolve YES?"),
            ),
        };
        let m = self.books.add_market(MarketInfo {
            condition_id: cond.to_string(),
            neg_risk_market_id,
            question_id,
            question,
            assets: Vec::new(),
        });
        let fixed = neg_risk
            .is_none()
            .then(|| self.cfg.fixed_ticks.get(index as usize).copied())
            .flatten();
        let tick = if let Some(t) = fixed {
            t
        } else if !(FINE_BELOW..=FINE_ABOVE).contains(&p) {
            TickSize::MILLI
        } else {
            TickSize::CENT
        };
        let min = self.cfg.min_order_size;
        let yes = self.books.add_asset(ids::token_id(&cond, 0), m, tick, min);
        let no = self.books.add_asset(ids::token_id(&cond, 1), m, tick, min);
        debug_assert_eq!((yes, no), (2 * m, 2 * m + 1));
        let t = tick.micros();
        let b = floor_grid(p, t).clamp(t, ONE - 2 * t);
        let a = (b + t * self.rng.range(1, 3) as u32).min(ONE - t);
        self.fill_book(m, b, a, t);
        self.books.asset_mut(yes).last_trade = Some(Price(b));
        self.books.asset_mut(no).last_trade = Price(b).complement();
        self.walks.push(Walk {
            up: self.rng.coin(),
            frozen_until_ms: None,
        });
    }

    pub fn config(&self) -> &ModelConfig {
        &self.cfg
    }

    pub fn books(&self) -> &VenueBooks {
        &self.books
    }

    /// The books, for the venue's matching engine (house quotes taken by orders).
    pub fn books_mut(&mut self) -> &mut VenueBooks {
        &mut self.books
    }

    pub fn market_count(&self) -> u32 {
        self.books.markets.len() as u32
    }

    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// The YES and NO assets of a market.
    pub fn outcomes(&self, m: u32) -> (u32, u32) {
        (2 * m, 2 * m + 1)
    }

    /// `book` events for every asset (the initial dump of a recording).
    pub fn snapshot_all(&self, buf: &mut EventBuf) {
        for a in 0..self.books.len() as u32 {
            buf.events.push(VenueEvent::Book { asset: a });
        }
    }

    /// One step of the model at model time `now_ms`: expire or inject Dutch books, then walk
    /// one market. Appends the events to `buf` (which may stay empty).
    pub fn step(&mut self, now_ms: u64, buf: &mut EventBuf) {
        buf.ts_ms = now_ms;
        self.steps += 1;
        self.expire_dutch(now_ms, buf);
        self.maybe_inject_dutch(now_ms, buf);
        if let Some(m) = self.pick_market() {
            let burst = matches!(self.burst, Some((b, _)) if b == m);
            self.walk(m, burst, buf);
            self.check_tick_regime(m, buf);
        }
    }

    fn pick_market(&mut self) -> Option<u32> {
        let n = self.market_count();
        if n == 0 {
            return None;
        }
        if let Some((m, left)) = self.burst {
            self.burst = (left > 1).then_some((m, left - 1));
            if self.rng.chance(600) && self.walks[m as usize].frozen_until_ms.is_none() {
                return Some(m);
            }
        } else if self.rng.chance(3) {
            let m = self.rng.below(u64::from(n)) as u32;
            self.burst = Some((m, self.rng.range(20, 200) as u32));
        }
        for _ in 0..4 {
            // Skewed activity: a few markets are much busier than the rest, as on the venue.
            let m = ((self.rng.unit().powf(1.7)) * f64::from(n)) as u32;
            let m = m.min(n - 1);
            if self.walks[m as usize].frozen_until_ms.is_none() {
                return Some(m);
            }
        }
        None
    }

    fn walk(&mut self, m: u32, burst: bool, buf: &mut EventBuf) {
        let (yes, no) = self.outcomes(m);
        if self.yes(m).best_bid().is_none() || self.yes(m).best_ask().is_none() {
            self.rebuild(m, buf);
            return;
        }
        let start = buf.begin_price_change();
        let r = self.rng.below(1000);
        let trade = match r {
            0..550 => {
                self.resize(m, buf);
                None
            }
            550..700 => {
                self.add_level(m, buf);
                None
            }
            700..900 => self.move_top(m, burst, buf),
            900..985 => self.trade(m, buf),
            _ => None,
        };
        buf.end_price_change(m, start);
        if let Some((asset, side, price, size)) = trade {
            self.record_trade(asset, side, price, size, buf);
        }
        if r >= 985 {
            // The venue re-sends a book now and then (after trades that reshape it).
            buf.events.push(VenueEvent::Book { asset: yes });
            buf.events.push(VenueEvent::Book { asset: no });
        }
    }

    fn yes(&self, m: u32) -> &VenueBook {
        &self.books.asset(2 * m).book
    }

    fn tick(&self, m: u32) -> u32 {
        self.books.asset(2 * m).tick.micros()
    }

    fn rand_size(&mut self) -> Size {
        let shares = match self.rng.below(10) {
            0..6 => self.rng.range(5, 500),
            6..9 => self.rng.range(500, 5_000),
            _ => self.rng.range(5_000, 100_000),
        };
        let cents = if self.rng.chance(300) {
            self.rng.range(1, 99)
        } else {
            0
        };
        Size(shares * 1_000_000 + cents * 10_000)
    }

    /// The price of the level `rank` places behind the best on a side of the YES book.
    fn level_at_rank(&self, m: u32, side: Side, rank: usize) -> Option<(Price, Size)> {
        let b = self.yes(m);
        match side {
            Side::Bid => b.bids.iter().rev().nth(rank),
            Side::Ask => b.asks.iter().nth(rank),
        }
        .map(|(&p, &s)| (p, s))
    }

    fn resize(&mut self, m: u32, buf: &mut EventBuf) {
        let side = if self.rng.coin() {
            Side::Bid
        } else {
            Side::Ask
        };
        let n = self.yes(m).side(side).len();
        if n == 0 {
            return;
        }
        let rank = if self.rng.coin() {
            0
        } else {
            self.rng.below(n as u64) as usize
        };
        let Some((price, _)) = self.level_at_rank(m, side, rank) else {
            return;
        };
        let size = if n > 1 && self.rng.chance(120) {
            Size::ZERO
        } else {
            self.rand_size()
        };
        self.set_mirrored(m, side, price, size, buf);
    }

    fn add_level(&mut self, m: u32, buf: &mut EventBuf) {
        let t = self.tick(m);
        let (Some(b), Some(a)) = (self.yes(m).best_bid(), self.yes(m).best_ask()) else {
            return;
        };
        let (b, a) = (b.0, a.0);
        let side = if self.rng.coin() {
            Side::Bid
        } else {
            Side::Ask
        };
        let (max_bid, min_ask) = self.group_room(m);
        let inside = a - b > t
            && self.rng.chance(300)
            && match side {
                Side::Bid => b + t <= max_bid,
                Side::Ask => a - t >= min_ask,
            };
        let k = self.rng.range(1, u64::from(self.cfg.depth) + 2) as u32;
        let price = match (side, inside) {
            (Side::Bid, true) => b + t,
            (Side::Ask, true) => a - t,
            (Side::Bid, false) => match b.checked_sub(k * t) {
                Some(p) if p >= t => p,
                _ => return,
            },
            (Side::Ask, false) => match a + k * t {
                p if p <= ONE - t => p,
                _ => return,
            },
        };
        let size = self.rand_size();
        self.set_mirrored(m, side, Price(price), size, buf);
        self.trim(m, side, buf);
    }

    /// Moves the top of book by a few ticks: the far side is consumed (a trade), a new level
    /// appears on the near side.
    fn move_top(
        &mut self,
        m: u32,
        burst: bool,
        buf: &mut EventBuf,
    ) -> Option<(u32, Side, Price, Size)> {
        let t = self.tick(m);
        let b = self.yes(m).best_bid()?.0;
        let a = self.yes(m).best_ask()?.0;
        let w = &mut self.walks[m as usize];
        let fine = t < TickSize::CENT.micros();
        w.up = if fine && self.rng.chance(650) {
            // Near the extremes, drift back towards the middle.
            b < ONE / 2
        } else if self.rng.chance(300) {
            !w.up
        } else {
            w.up
        };
        let k = 1 + if burst {
            self.rng.below(4) as u32
        } else {
            u32::from(self.rng.chance(150))
        };
        let Some(up) = self.coherent_direction(m, self.walks[m as usize].up, b, a, k * t, t) else {
            self.resize(m, buf);
            return None;
        };
        self.walks[m as usize].up = up;
        let spread = self.rng.range(1, 2) as u32 * t;
        let (yes, _) = self.outcomes(m);
        if up {
            let na = (a + k * t).min(ONE - t);
            if na <= a {
                self.resize(m, buf);
                return None;
            }
            let consumed: Vec<(Price, Size)> = self
                .yes(m)
                .asks
                .range(..Price(na))
                .map(|(&p, &s)| (p, s))
                .collect();
            for &(p, _) in &consumed {
                self.set_mirrored(m, Side::Ask, p, Size::ZERO, buf);
            }
            if !self.yes(m).asks.contains_key(&Price(na)) {
                let s = self.rand_size();
                self.set_mirrored(m, Side::Ask, Price(na), s, buf);
            }
            let nb = na - spread;
            if nb > b {
                let s = self.rand_size();
                self.set_mirrored(m, Side::Bid, Price(nb), s, buf);
            }
            self.trim(m, Side::Bid, buf);
            self.trim(m, Side::Ask, buf);
            consumed.last().map(|&(p, s)| (yes, Side::Ask, p, s))
        } else {
            let nb = b.saturating_sub(k * t).max(t);
            if nb >= b {
                self.resize(m, buf);
                return None;
            }
            let consumed: Vec<(Price, Size)> = self
                .yes(m)
                .bids
                .range(Price(nb + 1)..)
                .rev()
                .map(|(&p, &s)| (p, s))
                .collect();
            for &(p, _) in &consumed {
                self.set_mirrored(m, Side::Bid, p, Size::ZERO, buf);
            }
            if !self.yes(m).bids.contains_key(&Price(nb)) {
                let s = self.rand_size();
                self.set_mirrored(m, Side::Bid, Price(nb), s, buf);
            }
            let na = nb + spread;
            if na < a {
                let s = self.rand_size();
                self.set_mirrored(m, Side::Ask, Price(na), s, buf);
            }
            self.trim(m, Side::Bid, buf);
            self.trim(m, Side::Ask, buf);
            consumed.last().map(|&(p, s)| (yes, Side::Bid, p, s))
        }
    }

    /// The neg-risk group market `m` belongs to, as the range of its markets.
    fn group_of(&self, m: u32) -> Option<std::ops::Range<u32>> {
        let first = self.cfg.binary_markets;
        let k = self.cfg.neg_risk_group_size.max(1);
        if m < first || m >= self.market_count() {
            return None;
        }
        let g = (m - first) / k;
        Some(first + g * k..first + (g + 1) * k)
    }

    /// How far market `m`'s YES top may go while its neg-risk group stays coherent, as the
    /// arbitrageurs on the real venue keep it: `(max_bid, min_ask)` such that the group's YES
    /// bids sum to at most 1 and its asks to at least 1 (no Dutch book nobody injected).
    /// Binary markets are coherent by mirroring and have no bound.
    fn group_room(&self, m: u32) -> (u32, u32) {
        let Some(group) = self.group_of(m) else {
            return (ONE, 0);
        };
        let (mut asks, mut bids) = (0u32, 0u32);
        for o in group.filter(|&o| o != m) {
            asks = asks.saturating_add(self.yes(o).best_ask().map_or(ONE, |p| p.0));
            bids = bids.saturating_add(self.yes(o).best_bid().map_or(0, |p| p.0));
        }
        (ONE.saturating_sub(bids), ONE.saturating_sub(asks))
    }

    /// The direction a top move of at most `step` may take within [`Self::group_room`]: the
    /// wanted one, else the other, else none. A down move's new ask is at least
    /// `b - step + t`, an up move's new bid at most `a + step - t`.
    fn coherent_direction(
        &self,
        m: u32,
        up: bool,
        b: u32,
        a: u32,
        step: u32,
        t: u32,
    ) -> Option<bool> {
        let (max_bid, min_ask) = self.group_room(m);
        let ok = |dir: bool| {
            if dir {
                a + step - t <= max_bid
            } else {
                (b + t).saturating_sub(step) >= min_ask
            }
        };
        if ok(up) {
            Some(up)
        } else if ok(!up) {
            Some(!up)
        } else {
            None
        }
    }

    /// A partial (or full) fill at the top of one side, without moving the book.
    fn trade(&mut self, m: u32, buf: &mut EventBuf) -> Option<(u32, Side, Price, Size)> {
        let resting = if self.rng.coin() {
            Side::Bid
        } else {
            Side::Ask
        };
        let (price, size) = self.level_at_rank(m, resting, 0)?;
        let pct = self.rng.range(5, 120);
        let fill = Size(
            (size.0 * pct / 100 / SHARE_LOT * SHARE_LOT)
                .max(SHARE_LOT)
                .min(size.0),
        );
        let left = Size(size.0 - fill.0);
        if left.is_zero() && self.yes(m).side(resting).len() == 1 {
            // Never leave a side empty: someone re-quotes at the same price.
            let s = self.rand_size();
            self.set_mirrored(m, resting, price, s, buf);
        } else {
            self.set_mirrored(m, resting, price, left, buf);
        }
        // Alternate which outcome prints the trade: a YES fill is a NO fill at 1 - p.
        let (yes, no) = self.outcomes(m);
        if self.rng.coin() {
            Some((yes, resting, price, fill))
        } else {
            Some((no, resting.opposite(), price.complement()?, fill))
        }
    }

    /// Keeps a side at most twice the configured depth by dropping its deepest levels.
    fn trim(&mut self, m: u32, side: Side, buf: &mut EventBuf) {
        let max = (2 * self.cfg.depth).max(2) as usize;
        while self.yes(m).side(side).len() > max {
            let deepest = match side {
                Side::Bid => self.yes(m).bids.keys().next().copied(),
                Side::Ask => self.yes(m).asks.keys().next_back().copied(),
            };
            let Some(p) = deepest else { return };
            self.set_mirrored(m, side, p, Size::ZERO, buf);
        }
    }

    /// A trade print on `asset`; `resting` is the side of the book that was hit.
    fn record_trade(
        &mut self,
        asset: u32,
        resting: Side,
        price: Price,
        size: Size,
        buf: &mut EventBuf,
    ) {
        let m = self.books.asset(asset).market;
        let (yes, no) = self.outcomes(m);
        let other = if asset == yes { no } else { yes };
        self.books.asset_mut(asset).last_trade = Some(price);
        self.books.asset_mut(other).last_trade = price.complement();
        let tx = self.rng.next_u64();
        buf.events.push(VenueEvent::LastTrade {
            asset,
            // The taker lifted an ask (BUY) or hit a bid (SELL).
            side: resting.opposite(),
            price,
            size,
            tx,
        });
    }

    /// Sets a YES level and its NO mirror, recording both changes.
    fn set_mirrored(&mut self, m: u32, side: Side, price: Price, size: Size, buf: &mut EventBuf) {
        let (yes, no) = self.outcomes(m);
        self.set_one(yes, side, price, size, buf);
        if let Some(cp) = price.complement() {
            self.set_one(no, side.opposite(), cp, size, buf);
        }
    }

    fn set_one(&mut self, asset: u32, side: Side, price: Price, size: Size, buf: &mut EventBuf) {
        self.books.set(asset, side, price, size);
        let a = self.books.asset(asset);
        buf.deltas.push(LevelDelta {
            asset,
            side,
            price,
            size,
            best_bid: a.book.best_bid(),
            best_ask: a.book.best_ask(),
            hash: rng::splitmix64(&mut (self.hash_salt ^ (u64::from(asset) << 40) ^ a.version)),
        });
    }

    /// Builds a fresh YES book with best bid `b` and best ask `a` on grid `t`, and its mirror.
    fn fill_book(&mut self, m: u32, b: u32, a: u32, t: u32) {
        let depth = self.cfg.depth.max(1);
        let mut book = VenueBook::default();
        let mut p = b;
        for _ in 0..depth {
            let s = self.rand_size();
            book.set(Side::Bid, Price(p), s);
            let gap = t
                * (1 + if self.rng.chance(250) {
                    self.rng.range(1, 2) as u32
                } else {
                    0
                });
            if p < t + gap {
                break;
            }
            p -= gap;
        }
        let mut p = a;
        for _ in 0..depth {
            let s = self.rand_size();
            book.set(Side::Ask, Price(p), s);
            let gap = t
                * (1 + if self.rng.chance(250) {
                    self.rng.range(1, 2) as u32
                } else {
                    0
                });
            if p + gap > ONE - t {
                break;
            }
            p += gap;
        }
        let (yes, no) = self.outcomes(m);
        let mirror = book.mirrored();
        let ya = self.books.asset_mut(yes);
        ya.book = book;
        ya.version += 1;
        let na = self.books.asset_mut(no);
        na.book = mirror;
        na.version += 1;
    }

    /// Rebuilds a market around its current top and re-sends both books.
    fn rebuild(&mut self, m: u32, buf: &mut EventBuf) {
        let t = self.tick(m);
        let b = self
            .yes(m)
            .best_bid()
            .map_or(ONE / 2 - t, |p| p.0)
            .clamp(t, ONE - 2 * t);
        let a = self
            .yes(m)
            .best_ask()
            .map_or(b + t, |p| p.0)
            .clamp(b + t, ONE - t);
        // An emptied side comes back where the neg-risk group leaves room for it.
        let (max_bid, min_ask) = self.group_room(m);
        let b = b.min(floor_grid(max_bid, t)).max(t);
        let a = a.max(ceil_grid(min_ask, t)).clamp(b + t, ONE - t);
        self.fill_book(m, b, a, t);
        let (yes, no) = self.outcomes(m);
        buf.events.push(VenueEvent::Book { asset: yes });
        buf.events.push(VenueEvent::Book { asset: no });
    }

    /// Switches the tick when the top crosses 0.96 / 0.04 (and back inside 0.10..0.90); the
    /// books are rebuilt on the new grid and re-sent, as the venue does after a tick change.
    fn check_tick_regime(&mut self, m: u32, buf: &mut EventBuf) {
        let (Some(b), Some(a)) = (self.yes(m).best_bid(), self.yes(m).best_ask()) else {
            return;
        };
        if (m as usize) < self.cfg.fixed_ticks.len() && m < self.cfg.binary_markets {
            return;
        }
        let (b, a) = (b.0, a.0);
        let old = self.books.asset(2 * m).tick;
        let new = if old == TickSize::CENT && (b > FINE_ABOVE || a < FINE_BELOW) {
            TickSize::MILLI
        } else if old == TickSize::MILLI && b >= COARSE_FROM && a <= COARSE_TO {
            TickSize::CENT
        } else {
            return;
        };
        let t = new.micros();
        let nb = floor_grid(b, t).clamp(t, ONE - 2 * t);
        let na = ceil_grid(a, t).clamp(nb + t, ONE - t);
        let (yes, no) = self.outcomes(m);
        self.books.asset_mut(yes).tick = new;
        self.books.asset_mut(no).tick = new;
        self.fill_book(m, nb, na, t);
        for asset in [yes, no] {
            buf.events
                .push(VenueEvent::TickSizeChange { asset, old, new });
        }
        buf.events.push(VenueEvent::Book { asset: yes });
        buf.events.push(VenueEvent::Book { asset: no });
    }

    fn maybe_inject_dutch(&mut self, now_ms: u64, buf: &mut EventBuf) {
        let every = self.cfg.dutch_book_every_ms;
        if every == 0 {
            return;
        }
        let next = *self.next_dutch_ms.get_or_insert(now_ms + every);
        if now_ms < next {
            return;
        }
        self.next_dutch_ms = Some(now_ms + every / 2 + self.rng.below(every.max(1)));
        let m = self.rng.below(u64::from(self.market_count().max(1))) as u32;
        if m < self.market_count() {
            self.inject_dutch(m, now_ms, buf);
        }
    }

    /// Posts a cheap NO ask so that YES ask + NO ask < 1 − margin, lifting the NO bids it would
    /// cross; the market is frozen until the window ends and the NO book is mirrored again.
    /// Returns whether a Dutch book was injected.
    pub fn inject_dutch(&mut self, m: u32, now_ms: u64, buf: &mut EventBuf) -> bool {
        if m >= self.market_count() || self.walks[m as usize].frozen_until_ms.is_some() {
            return false;
        }
        let t = self.tick(m);
        let Some(a) = self.yes(m).best_ask() else {
            return false;
        };
        let x = ONE.saturating_sub(a.0 + self.cfg.dutch_book_margin.0);
        // The largest grid price strictly below 1 - a - margin, maybe a tick lower.
        let q = ceil_grid(x, t).saturating_sub(t * (1 + self.rng.below(2) as u32));
        if q < t {
            return false;
        }
        let (_, no) = self.outcomes(m);
        let start = buf.begin_price_change();
        let crossing: Vec<Price> = self
            .books
            .asset(no)
            .book
            .bids
            .range(Price(q)..)
            .map(|(&p, _)| p)
            .collect();
        for p in crossing {
            self.set_one(no, Side::Bid, p, Size::ZERO, buf);
        }
        let s = self.rand_size();
        self.set_one(no, Side::Ask, Price(q), s, buf);
        buf.end_price_change(m, start);
        self.walks[m as usize].frozen_until_ms = Some(now_ms + self.cfg.dutch_book_duration_ms);
        self.dutch_books += 1;
        true
    }

    fn expire_dutch(&mut self, now_ms: u64, buf: &mut EventBuf) {
        for m in 0..self.market_count() {
            match self.walks[m as usize].frozen_until_ms {
                Some(until) if until <= now_ms => {}
                _ => continue,
            }
            self.walks[m as usize].frozen_until_ms = None;
            let (_, no) = self.outcomes(m);
            let target = self.yes(m).mirrored();
            let start = buf.begin_price_change();
            for side in [Side::Bid, Side::Ask] {
                let current = self.books.asset(no).book.side(side).clone();
                for (&p, _) in current
                    .iter()
                    .filter(|(p, _)| !target.side(side).contains_key(p))
                {
                    self.set_one(no, side, p, Size::ZERO, buf);
                }
                for (&p, &s) in target.side(side) {
                    if current.get(&p) != Some(&s) {
                        self.set_one(no, side, p, s, buf);
                    }
                }
            }
            buf.end_price_change(m, start);
        }
    }

    /// A simulated gap: the venue changes the top of market `m`'s books without telling anyone,
    /// then sends an ordinary change whose `best_bid`/`best_ask` therefore disagree with every
    /// client's book. Returns whether it was possible (not while a Dutch book rests there).
    pub fn inject_gap(&mut self, m: u32, buf: &mut EventBuf) -> bool {
        if m >= self.market_count() || self.walks[m as usize].frozen_until_ms.is_some() {
            return false;
        }
        let t = self.tick(m);
        let y = self.yes(m);
        let (Some(b), Some(a)) = (y.best_bid(), y.best_ask()) else {
            return false;
        };
        let (side, price, size) = if y.bids.len() > 1 {
            (Side::Bid, b, Size::ZERO)
        } else if a.0 - b.0 > t {
            (Side::Bid, Price(b.0 + t), Size(1_000_000))
        } else if y.asks.len() > 1 {
            (Side::Ask, a, Size::ZERO)
        } else {
            (Side::Ask, Price(a.0 + t), Size(1_000_000))
        };
        // The hidden change: applied to the books, recorded nowhere.
        let mut hidden = EventBuf::new();
        self.set_mirrored(m, side, price, size, &mut hidden);
        // The visible change: a resize of the deepest level that is not the hidden one, so the
        // client's top stays where it was while the claimed top has moved.
        let deepest_ask = self.yes(m).asks.keys().next_back().copied();
        let deepest_bid = self.yes(m).bids.keys().next().copied();
        let (vside, vprice) = match (deepest_ask, deepest_bid) {
            (Some(p), _) if !(side == Side::Ask && p == price) => (Side::Ask, p),
            (_, Some(p)) => (Side::Bid, p),
            _ => return false,
        };
        let start = buf.begin_price_change();
        let s = self.rand_size();
        self.set_mirrored(m, vside, vprice, s, buf);
        buf.end_price_change(m, start);
        true
    }
}

fn floor_grid(p: u32, t: u32) -> u32 {
    p / t * t
}

fn ceil_grid(p: u32, t: u32) -> u32 {
    p.div_ceil(t) * t
}

#[cfg(test)]
mod tests;
