//! The synthetic market model: a seeded, reproducible set of Polymarket-like markets that the
//! venue serves and `polyarb synth frames` records.
//!
//! What it owns: N binary markets plus neg-risk events (2 to 40 questions, configurable, some
//! of them augmented: placeholder questions and an "Other"); per market a YES book and a NO
//! book that are one matching book seen from both sides (a YES bid at p is a NO ask at 1 - p,
//! same size), so a binary market never offers YES ask + NO ask < 1. A neg-risk event's YES
//! prices sum to about 1 with an overround: its best YES asks sum to at least 1 + overround and
//! its best YES bids to at most 1 - overround, as arbitrageurs keep the real venue. Now and then
//! an event is mispriced for a while, spread over several levels, in one of two directions:
//! its YES asks sum below 1 - margin (buy every YES), or its YES bids sum above 1 + margin (so
//! its NO asks sum below N - 1 - margin: buy every NO and convert).
//!
//! Activity is heavy-tailed: each market has a Zipf weight (rank r gets 1 / r^s, ranks
//! shuffled), so a few hot books carry most changes and most books are quiet for minutes. A
//! walk moves the top with momentum and bursts; every level is on the tick grid; the tick size
//! switches 0.01 → 0.001 when the book crosses above 0.96 / below 0.04 (and back, with
//! hysteresis, once it returns inside 0.10..0.90), each switch followed by fresh `book`
//! snapshots as the real venue does; trade prints.
//!
//! Faults for code paths production never exercises: a binary Dutch book (`binary_dutch_fault_*`:
//! a NO ask below 1 - YES ask - margin, the mirror broken for a while), gaps, claimed tops that
//! contradict the book (`wrong_top_fault_per_mille`) and tick-size changes whose fresh books
//! come only later (`late_tick_book_fault_per_mille`).
//!
//! Prices and sizes are integer micro-units throughout; the only floats are selection weights.
//! Everything is a function of the seed and of the sequence of `step(now_ms)` calls.

pub mod ids;
pub mod rng;
pub mod takers;

use serde::Deserialize;

use polyarb::adapters::polymarket::signing::OrderSide;
use polyarb::adapters::polymarket::signing::amounts::SHARE_LOT;
use polyarb::core::{Price, Side, Size, TickSize};

use super::book::{MarketInfo, VenueBook, VenueBooks};
use super::event::{EventBuf, LevelDelta, VenueEvent};
use rng::ModelRng;
use takers::{TakerConfig, TakerFlow, TakerOrder, TakerStats};

const ONE: u32 = 1_000_000;
/// Above this best bid (or below `1 - FINE_ABOVE` best ask) the tick becomes 0.001.
const FINE_ABOVE: u32 = 960_000;
const FINE_BELOW: u32 = 40_000;
/// Back to 0.01 only once the book is well inside again, so the tick does not flap.
const COARSE_FROM: u32 = 100_000;
const COARSE_TO: u32 = 900_000;
/// How long the late-tick-book fault holds a market's fresh books back, in model ms.
pub const LATE_TICK_BOOK_MS: u64 = 40;

/// A Zipf exponent (a selection weight, the only float in the model's configuration).
#[derive(Clone, Copy, Debug, Deserialize, PartialEq)]
#[serde(transparent)]
pub struct ZipfExponent(pub f64);

// The configuration is compared whole; a NaN exponent is refused when the file is checked.
impl Eq for ZipfExponent {}

/// Shape and behaviour of the synthetic market set (the `[model]` section of venue.toml).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct ModelConfig {
    /// Same seed, same markets, ids and event sequence.
    pub seed: u64,
    /// Stand-alone binary markets (two assets each).
    pub binary_markets: u32,
    /// Neg-risk events, each of `neg_risk_group_size` to `neg_risk_group_size_max` questions.
    pub neg_risk_groups: u32,
    /// Fewest questions in a neg-risk event.
    pub neg_risk_group_size: u32,
    /// Most questions in a neg-risk event (below `neg_risk_group_size`: every event has
    /// exactly `neg_risk_group_size`).
    pub neg_risk_group_size_max: u32,
    /// How many of the neg-risk events (the last ones) are augmented: two placeholder
    /// questions ("Person A", "Person B") and an "Other" question among their questions.
    pub neg_risk_augmented_groups: u32,
    /// Outside a mispricing, an event's best YES asks sum to at least 1 + this and its best
    /// YES bids to at most 1 - this.
    pub neg_risk_overround: Price,
    /// Mean interval between neg-risk mispricings, in model milliseconds (0 = never).
    pub mispricing_every_ms: u64,
    /// How long a mispricing rests before the event's books are restored.
    pub mispricing_duration_ms: u64,
    /// A mispricing has Σ YES asks < 1 − margin (YES side) or Σ YES bids > 1 + margin (NO side).
    pub mispricing_margin: Price,
    /// Levels per question over which a mispricing holds (each a tick further from the best).
    pub mispricing_levels: u32,
    /// Activity skew: market of rank r is walked with weight 1 / r^exponent (0 = uniform).
    pub activity_zipf_exponent: ZipfExponent,
    /// Levels per side when a book is built; books may grow to twice this.
    pub depth: u32,
    /// Fault: mean interval between binary Dutch books (YES ask + NO ask < 1 − margin, a state
    /// production's single matching book never shows), in model milliseconds (0 = never).
    pub binary_dutch_fault_every_ms: u64,
    /// Fault: how long a binary Dutch book rests before the NO book is mirrored again.
    pub binary_dutch_fault_duration_ms: u64,
    /// Fault: a binary Dutch book has YES ask + NO ask strictly below 1 − this margin.
    pub binary_dutch_fault_margin: Price,
    /// Fault: level changes per thousand whose claimed `best_bid` is a cent off the book's
    /// (a frame production never sends; a client's book must flag `best_mismatch` until its
    /// next snapshot). 0 = never, and the event sequence is then unchanged.
    pub wrong_top_fault_per_mille: u32,
    /// Fault: steps per thousand at which the walked market's tick size switches (0.01 ↔
    /// 0.001) and its fresh books are sent only [`LATE_TICK_BOOK_MS`] later, the market quiet
    /// meanwhile (production sends them at once; a client's book waits in `tick_size_change`
    /// until they come). 0 = never, and the event sequence is then unchanged.
    pub late_tick_book_fault_per_mille: u32,
    /// `min_order_size` reported for every market.
    pub min_order_size: Size,
    /// Tick sizes of the first stand-alone binary markets, one per market, kept for good
    /// (no 0.01 ↔ 0.001 regime switch): lets a venue offer every tick size the SDKs know.
    pub fixed_ticks: Vec<TickSize>,
    /// The synthetic takers (`[model.takers]`), off by default.
    pub takers: TakerConfig,
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            binary_markets: 20,
            neg_risk_groups: 2,
            neg_risk_group_size: 4,
            neg_risk_group_size_max: 0,
            neg_risk_augmented_groups: 0,
            neg_risk_overround: Price(10_000),
            mispricing_every_ms: 0,
            mispricing_duration_ms: 1_000,
            mispricing_margin: Price(20_000),
            mispricing_levels: 3,
            activity_zipf_exponent: ZipfExponent(1.1),
            depth: 8,
            binary_dutch_fault_every_ms: 0,
            binary_dutch_fault_duration_ms: 500,
            binary_dutch_fault_margin: Price(20_000),
            wrong_top_fault_per_mille: 0,
            late_tick_book_fault_per_mille: 0,
            min_order_size: Size(5_000_000),
            fixed_ticks: Vec::new(),
            takers: TakerConfig::default(),
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

    /// The question counts of the neg-risk events are drawn in this range.
    pub fn group_sizes(&self) -> (u32, u32) {
        let lo = self.neg_risk_group_size.max(1);
        (lo, self.neg_risk_group_size_max.max(lo))
    }
}

/// A neg-risk event being mispriced: its questions are frozen until `until_ms`, then their
/// YES books are restored to `saved` (and the NO books with them, by mirroring).
#[derive(Clone, Debug)]
struct Mispricing {
    group: usize,
    until_ms: u64,
    saved: Vec<VenueBook>,
}

/// Which way a neg-risk event is mispriced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MispricingSide {
    /// Σ YES asks < 1 − margin: a set of YES costs less than its payout of 1.
    Yes,
    /// Σ YES bids > 1 + margin, so Σ NO asks < N − 1 − margin: a set of NO costs less than the
    /// N − 1 it converts into.
    No,
}

/// Per-market walk state.
#[derive(Clone, Debug, Default)]
struct Walk {
    up: bool,
    /// While a fault or a mispricing rests, the market is not walked.
    frozen_until_ms: Option<u64>,
    /// The NO book was broken away from the YES mirror (a binary Dutch book fault).
    unmirrored: bool,
}

/// The synthetic market set and its books.
pub struct MarketModel {
    cfg: ModelConfig,
    rng: ModelRng,
    books: VenueBooks,
    walks: Vec<Walk>,
    /// The markets of each neg-risk event, and whether it is augmented.
    groups: Vec<(std::ops::Range<u32>, bool)>,
    /// Per market: its event's index in `groups` (`u32::MAX` for a stand-alone market).
    group_index: Vec<u32>,
    /// Cumulative activity weights (market `m` is picked when a uniform draw falls in
    /// `cumulative[m-1]..cumulative[m]`).
    cumulative: Vec<f64>,
    /// A market in a burst, and the steps it has left.
    burst: Option<(u32, u32)>,
    next_dutch_ms: Option<u64>,
    next_mispricing_ms: Option<u64>,
    mispricings_active: Vec<Mispricing>,
    /// Markets whose fresh books the late-tick-book fault holds back, and when they are sent.
    late_books: Vec<(u32, u64)>,
    hash_salt: u64,
    steps: u64,
    /// The model time of the last step.
    last_ms: u64,
    /// The synthetic takers (drawn only when `[model.takers]` is enabled).
    takers: TakerFlow,
    /// Binary Dutch book faults injected so far.
    pub binary_dutch_faults: u64,
    /// Neg-risk mispricings injected so far, by side: (YES side, NO side).
    pub mispricings: (u64, u64),
}

impl MarketModel {
    pub fn new(cfg: ModelConfig) -> Self {
        let mut rng = ModelRng::new(cfg.seed);
        let hash_salt = rng.next_u64();
        let mut m = Self {
            rng,
            books: VenueBooks::new(),
            walks: Vec::new(),
            groups: Vec::new(),
            group_index: Vec::new(),
            cumulative: Vec::new(),
            burst: None,
            next_dutch_ms: None,
            next_mispricing_ms: None,
            mispricings_active: Vec::new(),
            late_books: Vec::new(),
            hash_salt,
            steps: 0,
            last_ms: 0,
            takers: TakerFlow::new(cfg.seed),
            binary_dutch_faults: 0,
            mispricings: (0, 0),
            cfg,
        };
        m.build();
        m.build_activity();
        m
    }

    fn build(&mut self) {
        let seed = self.cfg.seed;
        let mut index = 0u32;
        for _ in 0..self.cfg.binary_markets {
            let p = self.rng.range(30_000, 970_000) as u32;
            let fixed = self.cfg.fixed_ticks.get(index as usize).copied();
            let tick = fixed.unwrap_or_else(|| tick_for(p));
            let t = tick.micros();
            let b = floor_grid(p, t).clamp(t, ONE - 2 * t);
            let a = (b + t * self.rng.range(1, 2) as u32).min(ONE - t);
            let question = format!("Synthetic market {index}: will it resolve YES?");
            self.add_market(seed, index, None, question, (tick, b, a));
            index += 1;
        }
        let (lo, hi) = self.cfg.group_sizes();
        let augmented_from = self
            .cfg
            .neg_risk_groups
            .saturating_sub(self.cfg.neg_risk_augmented_groups);
        for g in 0..self.cfg.neg_risk_groups {
            let nr = ids::neg_risk_market_id(seed, g);
            // Log-uniform: most events are small, a few are large.
            let span = f64::from(hi - lo + 2);
            let k = (lo - 1 + span.powf(self.rng.unit()) as u32).clamp(lo, hi);
            let augmented = g >= augmented_from;
            // An augmented event lists at least one named question, two placeholders, "Other".
            let k = if augmented { k.max(4) } else { k };
            let quotes = self.group_quotes(k);
            let first = index;
            for (q, quote) in quotes.into_iter().enumerate() {
                let (title, other) = question_title(q as u32, k, augmented);
                let question = format!("Synthetic group {g}: will {title} win?");
                let nr_info = NegRiskInfo {
                    nr,
                    q: q as u8,
                    title,
                    other,
                    augmented,
                };
                self.add_market(seed, index, Some(nr_info), question, quote);
                index += 1;
            }
            self.groups.push((first..index, augmented));
        }
        self.group_index = vec![u32::MAX; index as usize];
        for (g, (range, _)) in self.groups.iter().enumerate() {
            for m in range.clone() {
                self.group_index[m as usize] = g as u32;
            }
        }
    }

    /// Opening quotes `(tick, best bid, best ask)` of an event's `k` questions: YES prices
    /// with a heavy tail (a few favourites, many long shots) summing to 1, each question's
    /// tick by its price, then widened until the asks sum to at least 1 + overround and the
    /// bids to at most 1 - overround, and narrowed while they are further than 4 points off.
    fn group_quotes(&mut self, k: u32) -> Vec<(TickSize, u32, u32)> {
        let weights: Vec<u64> = (0..k)
            .map(|_| {
                let w = self.rng.range(1, 30);
                w * w * w
            })
            .collect();
        let total: u64 = weights.iter().sum();
        let mut quotes: Vec<(TickSize, u32, u32)> = weights
            .iter()
            .map(|w| {
                let p = (u64::from(ONE) * w / total) as u32;
                let tick = tick_for(p);
                let t = tick.micros();
                let b = floor_grid(p, t).clamp(t, ONE - 2 * t);
                (tick, b, (b + t).min(ONE - t))
            })
            .collect();
        let over = self.cfg.neg_risk_overround.0;
        let (ask_floor, bid_ceiling) = (ONE + over, ONE.saturating_sub(over));
        let sum = |qs: &[(TickSize, u32, u32)], f: fn(&(TickSize, u32, u32)) -> u32| {
            qs.iter().map(|q| u64::from(f(q))).sum::<u64>()
        };
        let slack = 40_000u64;
        for _ in 0..10_000 {
            let asks = sum(&quotes, |q| q.2);
            let bids = sum(&quotes, |q| q.1);
            let i = self.rng.below(u64::from(k)) as usize;
            let (tick, b, a) = quotes[i];
            let t = tick.micros();
            if asks < u64::from(ask_floor) {
                if a + t <= ONE - t {
                    quotes[i].2 = a + t;
                }
            } else if bids > u64::from(bid_ceiling) {
                if b >= 2 * t {
                    quotes[i].1 = b - t;
                }
            } else if asks > u64::from(ask_floor) + slack && a - b > t {
                if asks - u64::from(t) >= u64::from(ask_floor) {
                    quotes[i].2 = a - t;
                }
            } else if bids + slack < u64::from(bid_ceiling) && a - b > t {
                if bids + u64::from(t) <= u64::from(bid_ceiling) {
                    quotes[i].1 = b + t;
                }
            } else {
                break;
            }
        }
        quotes
    }

    /// Activity weights: Zipf over a shuffled ranking of the markets.
    fn build_activity(&mut self) {
        let n = self.walks.len();
        let mut ranks: Vec<u32> = (1..=n as u32).collect();
        for i in (1..n).rev() {
            let j = self.rng.below(i as u64 + 1) as usize;
            ranks.swap(i, j);
        }
        let s = self.cfg.activity_zipf_exponent.0;
        let mut acc = 0.0;
        self.cumulative = ranks
            .iter()
            .map(|&r| {
                acc += f64::from(r).powf(-s);
                acc
            })
            .collect();
    }

    fn add_market(
        &mut self,
        seed: u64,
        index: u32,
        neg_risk: Option<NegRiskInfo>,
        question: String,
        (tick, b, a): (TickSize, u32, u32),
    ) {
        let cond = ids::condition_id(seed, index);
        let mut info = MarketInfo {
            condition_id: cond.to_string(),
            neg_risk_market_id: None,
            question_id: None,
            question,
            assets: Vec::new(),
            group_item_title: None,
            neg_risk_other: false,
            neg_risk_augmented: false,
        };
        if let Some(n) = neg_risk {
            info.neg_risk_market_id = Some(n.nr.to_string());
            info.question_id = Some(ids::neg_risk_question_id(&n.nr, n.q).to_string());
            info.group_item_title = Some(n.title);
            info.neg_risk_other = n.other;
            info.neg_risk_augmented = n.augmented;
        }
        let m = self.books.add_market(info);
        let min = self.cfg.min_order_size;
        let yes = self.books.add_asset(ids::token_id(&cond, 0), m, tick, min);
        let no = self.books.add_asset(ids::token_id(&cond, 1), m, tick, min);
        debug_assert_eq!((yes, no), (2 * m, 2 * m + 1));
        let t = tick.micros();
        self.fill_book(m, b, a, t);
        self.books.asset_mut(yes).last_trade = Some(Price(b));
        self.books.asset_mut(no).last_trade = Price(b).complement();
        self.walks.push(Walk {
            up: self.rng.coin(),
            frozen_until_ms: None,
            unmirrored: false,
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

    /// The model time of the last step (0 before the first).
    pub fn now_ms(&self) -> u64 {
        self.last_ms
    }

    /// What the synthetic takers have done so far.
    pub fn taker_stats(&self) -> TakerStats {
        self.takers.stats
    }

    /// The taker orders of the last step, for the matching engine; each one's outcome goes
    /// back through [`Self::after_taker`].
    pub fn take_takers(&mut self) -> Vec<TakerOrder> {
        std::mem::take(&mut self.takers.pending)
    }

    /// Queues the takers that arrive by `now_ms`, each on a market drawn by activity weight
    /// (a frozen market's taker stays away).
    fn draw_takers(&mut self, now_ms: u64) {
        let cfg = &self.cfg.takers;
        let per_min = u64::from(cfg.orders_per_market_per_min) * u64::from(self.market_count());
        let n = self.takers.arrivals(now_ms, per_min);
        for _ in 0..n {
            let total = self.cumulative.last().copied().unwrap_or(0.0);
            let x = self.takers.rng.unit() * total;
            let m = (self.cumulative.partition_point(|&c| c <= x) as u32)
                .min(self.market_count().saturating_sub(1));
            let outcome = u8::from(self.takers.rng.coin());
            let side = if self.takers.rng.coin() {
                OrderSide::Buy
            } else {
                OrderSide::Sell
            };
            let shares = self.takers.size(&self.cfg.takers);
            let depth_ticks =
                self.takers
                    .rng
                    .below(u64::from(self.cfg.takers.max_depth_ticks) + 1) as u32;
            if self.walks[m as usize].frozen_until_ms.is_some() {
                continue;
            }
            self.takers.stats.sent += 1;
            self.takers.pending.push(TakerOrder {
                market: m,
                outcome,
                side,
                shares,
                depth_ticks,
            });
        }
    }

    /// What taker `t` got (`filled` micro-shares): after a fill, with the configured
    /// probability, the market's top moves `adverse_ticks` on in the taker's direction, as
    /// long as its neg-risk event keeps its overround. Returns whether it moved.
    pub fn after_taker(&mut self, t: &TakerOrder, filled: u64, buf: &mut EventBuf) -> bool {
        if filled == 0 {
            return false;
        }
        self.takers.stats.filled += 1;
        let p = self.cfg.takers.adverse_per_mille;
        if p == 0 || !self.takers.rng.chance(u64::from(p)) {
            return false;
        }
        let m = t.market;
        let (Some(b), Some(a)) = (self.yes(m).best_bid(), self.yes(m).best_ask()) else {
            return false;
        };
        let tick = self.tick(m);
        let k = self.cfg.takers.adverse_ticks.max(1);
        let up = t.pushes_up();
        if self.coherent_direction(m, up, b.0, a.0, k * tick, tick) != Some(up) {
            return false;
        }
        let start = buf.begin_price_change();
        let trade = self.shift_top(m, up, k, buf);
        buf.end_price_change(m, start);
        let Some(trade) = trade else {
            return false;
        };
        if let Some((asset, side, price, size)) = trade {
            self.record_trade(asset, side, price, size, buf);
        }
        self.takers.stats.adverse_moves += 1;
        true
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

    /// One step of the model at model time `now_ms`: expire or inject faults and
    /// mispricings, then walk one market. Appends the events to `buf` (which may stay empty).
    pub fn step(&mut self, now_ms: u64, buf: &mut EventBuf) {
        buf.ts_ms = now_ms;
        self.steps += 1;
        self.last_ms = now_ms;
        self.expire_dutch(now_ms, buf);
        self.expire_mispricings(now_ms, buf);
        self.send_late_books(now_ms, buf);
        self.maybe_inject_dutch(now_ms, buf);
        self.maybe_inject_mispricing(now_ms, buf);
        if let Some(m) = self.pick_market() {
            let burst = matches!(self.burst, Some((b, _)) if b == m);
            self.walk(m, burst, buf);
            self.check_tick_regime(m, buf);
            let late = self.cfg.late_tick_book_fault_per_mille;
            // Drawn only when the fault is on, so that a fault-free model's sequence never changes.
            if late > 0 && self.rng.chance(u64::from(late)) {
                self.late_tick_change(m, now_ms, buf);
            }
        }
        if self.cfg.takers.enabled {
            self.draw_takers(now_ms);
        }
    }

    /// Switches market `m`'s tick size and rebuilds its books on the new grid, but holds the
    /// fresh `book`s back for [`LATE_TICK_BOOK_MS`] (the market frozen until they are sent).
    fn late_tick_change(&mut self, m: u32, now_ms: u64, buf: &mut EventBuf) {
        if (m as usize) < self.cfg.fixed_ticks.len() && m < self.cfg.binary_markets {
            return;
        }
        let (Some(b), Some(a)) = (self.yes(m).best_bid(), self.yes(m).best_ask()) else {
            return;
        };
        let old = self.books.asset(2 * m).tick;
        let new = if old == TickSize::CENT {
            TickSize::MILLI
        } else {
            TickSize::CENT
        };
        let t = new.micros();
        // Rounded outwards, so a neg-risk event keeps its overround.
        let nb = floor_grid(b.0, t).clamp(t, ONE - 2 * t);
        let na = ceil_grid(a.0, t).clamp(nb + t, ONE - t);
        let (yes, no) = self.outcomes(m);
        self.books.asset_mut(yes).tick = new;
        self.books.asset_mut(no).tick = new;
        self.fill_book(m, nb, na, t);
        for asset in [yes, no] {
            buf.events
                .push(VenueEvent::TickSizeChange { asset, old, new });
        }
        let due = now_ms + LATE_TICK_BOOK_MS;
        self.walks[m as usize].frozen_until_ms = Some(due);
        self.late_books.push((m, due));
    }

    /// Sends the held-back books whose time has come and lets their markets move again.
    fn send_late_books(&mut self, now_ms: u64, buf: &mut EventBuf) {
        if self.late_books.is_empty() {
            return;
        }
        let (due, keep) = std::mem::take(&mut self.late_books)
            .into_iter()
            .partition::<Vec<_>, _>(|&(_, at)| at <= now_ms);
        self.late_books = keep;
        for (m, _) in due {
            let (yes, no) = self.outcomes(m);
            buf.events.push(VenueEvent::Book { asset: yes });
            buf.events.push(VenueEvent::Book { asset: no });
            self.walks[m as usize].frozen_until_ms = None;
        }
    }

    /// A market drawn by activity weight.
    fn weighted_market(&mut self) -> u32 {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        let x = self.rng.unit() * total;
        let m = self.cumulative.partition_point(|&c| c <= x);
        (m as u32).min(self.market_count().saturating_sub(1))
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
            let m = self.weighted_market();
            self.burst = Some((m, self.rng.range(20, 200) as u32));
        }
        for _ in 0..4 {
            let m = self.weighted_market();
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
        match self.shift_top(m, up, k, buf) {
            Some(trade) => trade,
            None => {
                self.resize(m, buf);
                None
            }
        }
    }

    /// Moves the top of market `m` `k` ticks up or down: the far side is consumed up to the
    /// new price (a trade print, returned), a new level appears on the near side. `None` when
    /// the book is at its bound in that direction (nothing changed).
    #[allow(clippy::type_complexity)]
    fn shift_top(
        &mut self,
        m: u32,
        up: bool,
        k: u32,
        buf: &mut EventBuf,
    ) -> Option<Option<(u32, Side, Price, Size)>> {
        let t = self.tick(m);
        let b = self.yes(m).best_bid()?.0;
        let a = self.yes(m).best_ask()?.0;
        let spread = self.rng.range(1, 2) as u32 * t;
        let (yes, _) = self.outcomes(m);
        if up {
            let na = (a + k * t).min(ONE - t);
            if na <= a {
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
            Some(consumed.last().map(|&(p, s)| (yes, Side::Ask, p, s)))
        } else {
            let nb = b.saturating_sub(k * t).max(t);
            if nb >= b {
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
            Some(consumed.last().map(|&(p, s)| (yes, Side::Bid, p, s)))
        }
    }

    /// The neg-risk group market `m` belongs to, as the range of its markets.
    fn group_of(&self, m: u32) -> Option<std::ops::Range<u32>> {
        let g = *self.group_index.get(m as usize)?;
        self.groups.get(g as usize).map(|(r, _)| r.clone())
    }

    /// The neg-risk events: each one's markets and whether it is augmented.
    pub fn groups(&self) -> impl Iterator<Item = (std::ops::Range<u32>, bool)> + '_ {
        self.groups.iter().cloned()
    }

    /// How far market `m`'s YES top may go while its neg-risk group keeps its overround, as
    /// the arbitrageurs on the real venue keep it: `(max_bid, min_ask)` such that the group's
    /// YES bids sum to at most 1 - overround and its asks to at least 1 + overround (no
    /// mispricing nobody injected). Binary markets are coherent by mirroring and have no bound.
    fn group_room(&self, m: u32) -> (u32, u32) {
        let Some(group) = self.group_of(m) else {
            return (ONE, 0);
        };
        let over = self.cfg.neg_risk_overround.0;
        let (mut asks, mut bids) = (0u32, 0u32);
        for o in group.filter(|&o| o != m) {
            asks = asks.saturating_add(self.yes(o).best_ask().map_or(ONE, |p| p.0));
            bids = bids.saturating_add(self.yes(o).best_bid().map_or(0, |p| p.0));
        }
        (
            ONE.saturating_sub(over).saturating_sub(bids),
            (ONE + over).saturating_sub(asks),
        )
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
        let mut best_bid = a.book.best_bid();
        let wrong = self.cfg.wrong_top_fault_per_mille;
        // Drawn only when the fault is on, so that a fault-free model's sequence never changes.
        if wrong > 0 && self.rng.chance(u64::from(wrong)) {
            best_bid = Some(wrong_top(best_bid));
        }
        buf.deltas.push(LevelDelta {
            asset,
            side,
            price,
            size,
            best_bid,
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
        let every = self.cfg.binary_dutch_fault_every_ms;
        if every == 0 {
            return;
        }
        let next = *self.next_dutch_ms.get_or_insert(now_ms + every);
        if now_ms < next {
            return;
        }
        self.next_dutch_ms = Some(now_ms + every / 2 + self.rng.below(every.max(1)));
        // Only stand-alone binary markets: the fault exercises the binary code path.
        let binary = self.cfg.binary_markets.min(self.market_count());
        if binary > 0 {
            let m = self.rng.below(u64::from(binary)) as u32;
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
        let x = ONE.saturating_sub(a.0 + self.cfg.binary_dutch_fault_margin.0);
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
        // At least $5 of the cheap leg, so the fault is a tradeable one (over the $1 minimum).
        let shares = (5 * u64::from(ONE)).div_ceil(u64::from(q));
        let s = self.rand_size().max(Size(shares * 1_000_000));
        self.set_one(no, Side::Ask, Price(q), s, buf);
        buf.end_price_change(m, start);
        let w = &mut self.walks[m as usize];
        w.frozen_until_ms = Some(now_ms + self.cfg.binary_dutch_fault_duration_ms);
        w.unmirrored = true;
        self.binary_dutch_faults += 1;
        true
    }

    fn expire_dutch(&mut self, now_ms: u64, buf: &mut EventBuf) {
        for m in 0..self.market_count() {
            match self.walks[m as usize] {
                Walk {
                    frozen_until_ms: Some(until),
                    unmirrored: true,
                    ..
                } if until <= now_ms => {}
                _ => continue,
            }
            self.walks[m as usize].frozen_until_ms = None;
            self.walks[m as usize].unmirrored = false;
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

    fn maybe_inject_mispricing(&mut self, now_ms: u64, buf: &mut EventBuf) {
        let every = self.cfg.mispricing_every_ms;
        if every == 0 || self.groups.is_empty() {
            return;
        }
        let next = *self.next_mispricing_ms.get_or_insert(now_ms + every);
        if now_ms < next {
            return;
        }
        self.next_mispricing_ms = Some(now_ms + every / 2 + self.rng.below(every.max(1)));
        let g = self.rng.below(self.groups.len() as u64) as usize;
        let side = if self.rng.coin() {
            MispricingSide::Yes
        } else {
            MispricingSide::No
        };
        self.inject_mispricing(g, side, now_ms, buf);
    }

    /// Misprices neg-risk event `g` (not augmented, none of its questions frozen) for
    /// `mispricing_duration_ms`: YES side, each question's YES asks come down so that the
    /// event's first `mispricing_levels` ask levels each sum below 1 − margin (bids that would
    /// cross are pulled); NO side, the YES bids go up so that the first levels each sum above
    /// 1 + margin. Both books of every question stay mirrored. Returns whether it was possible.
    pub fn inject_mispricing(
        &mut self,
        g: usize,
        side: MispricingSide,
        now_ms: u64,
        buf: &mut EventBuf,
    ) -> bool {
        let Some((range, augmented)) = self.groups.get(g).cloned() else {
            return false;
        };
        if augmented
            || range
                .clone()
                .any(|m| self.walks[m as usize].frozen_until_ms.is_some())
        {
            return false;
        }
        let levels = self.cfg.mispricing_levels.max(1);
        let margin = u64::from(self.cfg.mispricing_margin.0);
        let ticks: Vec<u64> = range.clone().map(|m| u64::from(self.tick(m))).collect();
        let t_max = ticks.iter().copied().max().unwrap_or(0);
        let walk: u64 = ticks.iter().sum::<u64>() * u64::from(levels - 1);
        let mut tops: Vec<u64> = Vec::with_capacity(ticks.len());
        for m in range.clone() {
            let top = match side {
                MispricingSide::Yes => self.yes(m).best_ask(),
                MispricingSide::No => self.yes(m).best_bid(),
            };
            let Some(top) = top else { return false };
            tops.push(u64::from(top.0));
        }
        let sum: u64 = tops.iter().sum();
        let one = u64::from(ONE);
        // The new best prices: scaled so that level `levels - 1` still clears the margin.
        let new: Vec<u32> = match side {
            MispricingSide::Yes => {
                let Some(target) = one.checked_sub(margin + t_max + walk) else {
                    return false;
                };
                let prices: Vec<u32> = tops
                    .iter()
                    .zip(&ticks)
                    .map(|(&a, &t)| (floor_grid((a * target / sum) as u32, t as u32)).max(t as u32))
                    .collect();
                if prices.iter().map(|&p| u64::from(p)).sum::<u64>() > target {
                    return false;
                }
                prices
            }
            MispricingSide::No => {
                let target = one + margin + t_max + walk;
                let prices: Vec<u32> = tops
                    .iter()
                    .zip(&ticks)
                    .map(|(&b, &t)| {
                        ceil_grid((b * target).div_ceil(sum.max(1)) as u32, t as u32)
                            .min(ONE - 2 * t as u32)
                    })
                    .collect();
                if prices.iter().map(|&p| u64::from(p)).sum::<u64>() < target {
                    return false;
                }
                prices
            }
        };
        let saved: Vec<VenueBook> = range.clone().map(|m| self.yes(m).clone()).collect();
        for (k, m) in range.clone().enumerate() {
            let (p, t) = (new[k], ticks[k] as u32);
            let start = buf.begin_price_change();
            match side {
                MispricingSide::Yes => {
                    let crossing: Vec<Price> = self
                        .yes(m)
                        .bids
                        .range(Price(p)..)
                        .map(|(&q, _)| q)
                        .collect();
                    for q in crossing {
                        self.set_mirrored(m, Side::Bid, q, Size::ZERO, buf);
                    }
                    if self.yes(m).bids.is_empty() && p >= 2 * t {
                        let s = self.rand_size();
                        self.set_mirrored(m, Side::Bid, Price(p - t), s, buf);
                    }
                    let old = tops[k] as u32;
                    for l in 0..levels {
                        let q = p + l * t;
                        if q >= old {
                            break;
                        }
                        let s = self.rand_size();
                        self.set_mirrored(m, Side::Ask, Price(q), s, buf);
                    }
                }
                MispricingSide::No => {
                    let crossing: Vec<Price> = self
                        .yes(m)
                        .asks
                        .range(..=Price(p))
                        .map(|(&q, _)| q)
                        .collect();
                    for q in crossing {
                        self.set_mirrored(m, Side::Ask, q, Size::ZERO, buf);
                    }
                    if self.yes(m).asks.is_empty() && p + t <= ONE - t {
                        let s = self.rand_size();
                        self.set_mirrored(m, Side::Ask, Price(p + t), s, buf);
                    }
                    let old = tops[k] as u32;
                    for l in 0..levels {
                        let Some(q) = p.checked_sub(l * t) else { break };
                        if q <= old || q < t {
                            break;
                        }
                        let s = self.rand_size();
                        self.set_mirrored(m, Side::Bid, Price(q), s, buf);
                    }
                }
            }
            buf.end_price_change(m, start);
            self.walks[m as usize].frozen_until_ms = Some(now_ms + self.cfg.mispricing_duration_ms);
        }
        self.mispricings_active.push(Mispricing {
            group: g,
            until_ms: now_ms + self.cfg.mispricing_duration_ms,
            saved,
        });
        match side {
            MispricingSide::Yes => self.mispricings.0 += 1,
            MispricingSide::No => self.mispricings.1 += 1,
        }
        true
    }

    /// Restores the books of every event whose mispricing has run its time.
    fn expire_mispricings(&mut self, now_ms: u64, buf: &mut EventBuf) {
        if self.mispricings_active.is_empty() {
            return;
        }
        let (done, keep): (Vec<Mispricing>, Vec<Mispricing>) =
            std::mem::take(&mut self.mispricings_active)
                .into_iter()
                .partition(|x| x.until_ms <= now_ms);
        self.mispricings_active = keep;
        for x in done {
            let range = self.groups[x.group].0.clone();
            for (m, target) in range.zip(x.saved) {
                let start = buf.begin_price_change();
                for side in [Side::Bid, Side::Ask] {
                    let current = self.yes(m).side(side).clone();
                    for (&p, _) in current
                        .iter()
                        .filter(|(p, _)| !target.side(side).contains_key(p))
                    {
                        self.set_mirrored(m, side, p, Size::ZERO, buf);
                    }
                    for (&p, &s) in target.side(side) {
                        if current.get(&p) != Some(&s) {
                            self.set_mirrored(m, side, p, s, buf);
                        }
                    }
                }
                buf.end_price_change(m, start);
                self.walks[m as usize].frozen_until_ms = None;
            }
        }
    }

    /// A silent change: the top of market `m`'s books moves (a level removed or added, both
    /// books mirrored) and nothing is sent, as when a venue loses a message. Only a client that
    /// re-reads the book can notice. Returns whether it was possible (not while frozen).
    pub fn inject_silent_change(&mut self, m: u32) -> bool {
        if m >= self.market_count() || self.walks[m as usize].frozen_until_ms.is_some() {
            return false;
        }
        let mut hidden = EventBuf::new();
        self.hidden_top_change(m, &mut hidden).is_some()
    }

    /// Changes the top of market `m` (recording into `hidden`, which the caller drops).
    fn hidden_top_change(&mut self, m: u32, hidden: &mut EventBuf) -> Option<(Side, Price)> {
        let t = self.tick(m);
        let y = self.yes(m);
        let (b, a) = (y.best_bid()?, y.best_ask()?);
        let (side, price, size) = if y.bids.len() > 1 {
            (Side::Bid, b, Size::ZERO)
        } else if a.0 - b.0 > t {
            (Side::Bid, Price(b.0 + t), Size(1_000_000))
        } else if y.asks.len() > 1 {
            (Side::Ask, a, Size::ZERO)
        } else {
            (Side::Ask, Price(a.0 + t), Size(1_000_000))
        };
        self.set_mirrored(m, side, price, size, hidden);
        Some((side, price))
    }

    /// A simulated gap: the venue changes the top of market `m`'s books without telling anyone,
    /// then sends an ordinary change whose `best_bid`/`best_ask` therefore disagree with every
    /// client's book. Returns whether it was possible (not while a Dutch book rests there).
    pub fn inject_gap(&mut self, m: u32, buf: &mut EventBuf) -> bool {
        if m >= self.market_count() || self.walks[m as usize].frozen_until_ms.is_some() {
            return false;
        }
        // The hidden change: applied to the books, recorded nowhere.
        let mut hidden = EventBuf::new();
        let Some((side, price)) = self.hidden_top_change(m, &mut hidden) else {
            return false;
        };
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

/// A claimed best bid that is not the book's: a cent above it (below it near 1), or a cent on
/// an empty side.
fn wrong_top(best: Option<Price>) -> Price {
    const CENT: u32 = 10_000;
    match best {
        Some(p) if p.0 + CENT < ONE => Price(p.0 + CENT),
        Some(p) => Price(p.0 - CENT),
        None => Price(CENT),
    }
}

/// The neg-risk side of a market being added.
struct NegRiskInfo {
    nr: polyarb::core::ConditionId,
    q: u8,
    title: String,
    other: bool,
    augmented: bool,
}

/// A question's title (Gamma's `groupItemTitle`) and whether it is the "Other" question: an
/// augmented event of `k` questions ends with two placeholders ("Person A", "Person B") and
/// "Other" (fewer placeholders when it has fewer than four questions).
fn question_title(q: u32, k: u32, augmented: bool) -> (String, bool) {
    const NAMES: [&str; 8] = [
        "Avery", "Blake", "Casey", "Devon", "Emery", "Finley", "Harper", "Jordan",
    ];
    if augmented {
        if q + 1 == k {
            return ("Other".into(), true);
        }
        let placeholders = k.saturating_sub(2).min(2);
        if q + 1 + placeholders >= k {
            let letter = (b'A' + (q + 1 + placeholders - k) as u8) as char;
            return (format!("Person {letter}"), false);
        }
        return (format!("{} {}", NAMES[q as usize % NAMES.len()], q), false);
    }
    (format!("Outcome {q}"), false)
}

/// The tick a book opens on at YES price `p`.
fn tick_for(p: u32) -> TickSize {
    if (FINE_BELOW..=FINE_ABOVE).contains(&p) {
        TickSize::CENT
    } else {
        TickSize::MILLI
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
