//! The exposure guard: what the engine holds or has in flight, per outcome token, per market
//! (its YES and NO tokens), per neg-risk event (every token of its questions) and in total,
//! against the `[risk]` caps; and the pre-trade check every plan passes.
//!
//! Exposure is shares and pUSD cost. The live sender sets each token's exposure
//! ([`ExposureGuard::set_token`]) from the positions and the orders in flight (a BUY counts
//! its whole size at its limit price until it is final, then what it filled); the guard keeps
//! the sums per market, per event and in total by difference, so a check never iterates
//! tokens. A short position counts as nothing held (it cannot be bought into a cap). Unwind
//! residuals are shares held like any others, so they count against every cap.
//!
//! [`ExposureGuard::will_exceed_exposure`] takes a plan (its legs and their limit prices, the
//! share count every leg buys, the plan's edge) and answers: it fits; it fits cut to a smaller
//! share count (a multiple of the 0.01 share lot, at least the markets' minimum); or it is
//! dropped (the binding cap leaves less than the minimum, or the cut plan would make less
//! than `min_plan_profit`). The check is an integer multiply per leg and cap (a division only
//! for a cap that binds), no allocation; legs of one market or event are summed against that
//! market's or event's room.

use crate::core::{Amount, Size};
use crate::obs::Counter;
use crate::strategy::{Leg, MAX_LEGS};

use super::config::RiskConfig;

/// The smallest share step a plan is cut by: 0.01 share (the lot every order may carry).
pub const SHARE_LOT: u64 = 10_000;

const NONE: u32 = u32::MAX;
const MICRO: u128 = 1_000_000;

/// The largest share count every cap checked so far allows, and the cap that set it.
///
/// Each cap first asks whether it can bind at all: `room / n >= max` is `room >= max * n`,
/// one multiply; only a cap that binds pays its division (in u64 where the figures fit).
struct Room {
    max: u64,
    by: Limit,
}

impl Room {
    /// `n` shares of the plan per share count against `cap` shares, `held` already used.
    #[inline]
    fn shares(&mut self, cap: u64, held: u64, n: u64, l: Limit) {
        if cap == u64::MAX {
            return;
        }
        let left = cap.saturating_sub(held);
        let n = n.max(1);
        if u128::from(left) >= u128::from(self.max) * u128::from(n) {
            return;
        }
        self.max = left / n;
        self.by = l;
    }

    /// `unit` micro-pUSD of cost per share count against `cap`, `held` already used.
    #[inline]
    fn cost(&mut self, cap: u64, held: u64, unit: u128, l: Limit) {
        if cap == u64::MAX || unit == 0 {
            return;
        }
        let left = u128::from(cap.saturating_sub(held)) * MICRO;
        if left >= u128::from(self.max) * unit {
            return;
        }
        // Under `max`, so it fits a u64.
        self.max = match (u64::try_from(left), u64::try_from(unit)) {
            (Ok(r), Ok(u)) => r / u,
            _ => (left / unit) as u64,
        };
        self.by = l;
    }
}

/// Which cap (or floor) decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Limit {
    TokenShares,
    TokenCost,
    MarketShares,
    MarketCost,
    EventShares,
    EventCost,
    GrossCost,
    /// The room left is under the markets' minimum order size (or one lot).
    BelowMinimum,
    /// The plan (as sent) would make less than `min_plan_profit`.
    MinProfit,
}

impl Limit {
    pub const ALL: [Limit; 9] = [
        Limit::TokenShares,
        Limit::TokenCost,
        Limit::MarketShares,
        Limit::MarketCost,
        Limit::EventShares,
        Limit::EventCost,
        Limit::GrossCost,
        Limit::BelowMinimum,
        Limit::MinProfit,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Limit::TokenShares => "token shares",
            Limit::TokenCost => "token cost",
            Limit::MarketShares => "market shares",
            Limit::MarketCost => "market cost",
            Limit::EventShares => "event shares",
            Limit::EventCost => "event cost",
            Limit::GrossCost => "gross cost",
            Limit::BelowMinimum => "below the minimum size",
            Limit::MinProfit => "under min_plan_profit",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// What the pre-trade check decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GuardVerdict {
    /// Send it as it is.
    Fits,
    /// Send it for `size` shares a leg (cut by the cap `by`).
    Cut { size: Size, by: Limit },
    /// Do not send it.
    Drop(Limit),
}

/// The caps in micro-units; `u64::MAX` = none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caps {
    pub token_shares: u64,
    pub token_cost: u64,
    pub market_shares: u64,
    pub market_cost: u64,
    pub event_shares: u64,
    pub event_cost: u64,
    pub gross_cost: u64,
}

impl Default for Caps {
    fn default() -> Self {
        Self {
            token_shares: u64::MAX,
            token_cost: u64::MAX,
            market_shares: u64::MAX,
            market_cost: u64::MAX,
            event_shares: u64::MAX,
            event_cost: u64::MAX,
            gross_cost: u64::MAX,
        }
    }
}

impl Caps {
    pub fn from_config(c: &RiskConfig) -> Self {
        let s = |v: Option<Size>| v.map_or(u64::MAX, |v| v.0);
        let a = |v: Option<Amount>| v.map_or(u64::MAX, |v| v.0);
        Self {
            token_shares: s(c.max_token_shares),
            token_cost: a(c.max_token_cost),
            market_shares: s(c.max_market_shares),
            market_cost: a(c.max_market_cost),
            event_shares: s(c.max_event_shares),
            event_cost: a(c.max_event_cost),
            gross_cost: a(c.max_gross_cost),
        }
    }
}

/// Shares and cost, micro-units, never negative.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Acc {
    pub shares: u64,
    pub cost: u64,
}

impl Acc {
    fn swap(&mut self, old: Acc, new: Acc) {
        self.shares = self.shares - old.shares + new.shares;
        self.cost = self.cost - old.cost + new.cost;
    }
}

/// The guard's decisions, counted.
#[derive(Debug, Default)]
pub struct GuardStats {
    pub fits: Counter,
    pub cut: Counter,
    pub dropped: Counter,
    /// Decisions (cuts and drops) by the cap that made them, in [`Limit::ALL`] order.
    pub by_limit: [Counter; 9],
}

impl GuardStats {
    pub fn record(&self, v: GuardVerdict) {
        match v {
            GuardVerdict::Fits => self.fits.inc(),
            GuardVerdict::Cut { by, .. } => {
                self.cut.inc();
                self.by_limit[by.index()].inc();
            }
            GuardVerdict::Drop(by) => {
                self.dropped.inc();
                self.by_limit[by.index()].inc();
            }
        }
    }

    /// `fits N · cut N · dropped N (token shares N, ...)`, naming only the caps that decided.
    pub fn line(&self) -> String {
        let reasons: Vec<String> = Limit::ALL
            .iter()
            .filter(|l| self.by_limit[l.index()].get() > 0)
            .map(|l| format!("{} {}", l.as_str(), self.by_limit[l.index()].get()))
            .collect();
        format!(
            "fits {} · cut {} · dropped {}{}",
            self.fits.get(),
            self.cut.get(),
            self.dropped.get(),
            if reasons.is_empty() {
                String::new()
            } else {
                format!(" ({})", reasons.join(", "))
            }
        )
    }
}

/// See the module doc.
#[derive(Clone, Debug, Default)]
pub struct ExposureGuard {
    caps: Caps,
    min_plan_profit: u64,
    /// By asset index: the token's market and event slots (`NONE`: not known).
    market_of: Vec<u32>,
    event_of: Vec<u32>,
    token: Vec<Acc>,
    market: Vec<Acc>,
    event: Vec<Acc>,
    gross: Acc,
    /// Held tokens no asset index names (markets not watched): in the gross cost only.
    unmapped: Acc,
}

impl ExposureGuard {
    pub fn new(caps: Caps, min_plan_profit: Amount) -> Self {
        Self {
            caps,
            min_plan_profit: min_plan_profit.0,
            ..Self::default()
        }
    }

    pub fn from_config(c: &RiskConfig) -> Self {
        Self::new(Caps::from_config(c), c.min_plan_profit)
    }

    pub fn caps(&self) -> &Caps {
        &self.caps
    }

    fn grow(&mut self, asset: usize) {
        if asset >= self.token.len() {
            self.token.resize(asset + 1, Acc::default());
            self.market_of.resize(asset + 1, NONE);
            self.event_of.resize(asset + 1, NONE);
        }
    }

    /// Names the market and (neg-risk) event of an asset. Call before its exposure is set;
    /// an asset never mapped is a market of its own in no event.
    pub fn map_asset(&mut self, asset: usize, market: u32, event: Option<u32>) {
        self.grow(asset);
        let held = self.token[asset];
        self.set_token(asset, 0, 0);
        self.market_of[asset] = market;
        self.event_of[asset] = event.unwrap_or(NONE);
        if market as usize >= self.market.len() {
            self.market.resize(market as usize + 1, Acc::default());
        }
        if let Some(e) = event
            && e as usize >= self.event.len()
        {
            self.event.resize(e as usize + 1, Acc::default());
        }
        self.set_token(asset, i128::from(held.shares), i128::from(held.cost));
    }

    /// Sets what one asset's token holds or has in flight (micro-shares, micro-pUSD; a negative
    /// value counts as 0).
    pub fn set_token(&mut self, asset: usize, shares: i128, cost: i128) {
        self.grow(asset);
        let clamp = |v: i128| u64::try_from(v.max(0)).unwrap_or(u64::MAX);
        let new = Acc {
            shares: clamp(shares),
            cost: clamp(cost),
        };
        let old = std::mem::replace(&mut self.token[asset], new);
        if old == new {
            return;
        }
        let m = self.market_of[asset];
        if m != NONE {
            self.market[m as usize].swap(old, new);
        }
        let e = self.event_of[asset];
        if e != NONE {
            self.event[e as usize].swap(old, new);
        }
        self.gross.swap(old, new);
    }

    /// Sets the cost of tokens held that no asset names (counted in the gross cost only).
    pub fn set_unmapped(&mut self, shares: u64, cost: u64) {
        let new = Acc { shares, cost };
        let old = std::mem::replace(&mut self.unmapped, new);
        self.gross.swap(old, new);
    }

    pub fn token(&self, asset: usize) -> Acc {
        self.token.get(asset).copied().unwrap_or_default()
    }

    pub fn gross(&self) -> Acc {
        self.gross
    }

    /// The pre-trade check: see the module doc. `size`: shares of every leg as found; `edge`:
    /// what the plan makes at `size`; `min_size`: the largest minimum order size of its legs.
    #[inline]
    pub fn will_exceed_exposure(
        &self,
        legs: &[Leg],
        size: Size,
        edge: Amount,
        min_size: Size,
    ) -> GuardVerdict {
        let mut room = Room {
            max: size.0,
            by: Limit::BelowMinimum,
        };
        let c = &self.caps;
        // Each leg's market and event slots, read once.
        let n = legs.len();
        if n > MAX_LEGS {
            return GuardVerdict::Drop(Limit::BelowMinimum);
        }
        let mut mk = [NONE; MAX_LEGS];
        let mut ev = [NONE; MAX_LEGS];
        for (i, l) in legs.iter().enumerate() {
            let a = l.asset.get();
            mk[i] = self.market_of.get(a).copied().unwrap_or(NONE);
            ev[i] = self.event_of.get(a).copied().unwrap_or(NONE);
        }
        let mut unit_total: u128 = 0;
        for (i, leg) in legs.iter().enumerate() {
            let a = leg.asset.get();
            let p = u128::from(leg.price.0);
            unit_total += p;
            let t = self.token(a);
            room.shares(c.token_shares, t.shares, 1, Limit::TokenShares);
            room.cost(c.token_cost, t.cost, p, Limit::TokenCost);
            // Each market and event once, with every leg of the plan in it.
            let m = mk[i];
            if m == NONE {
                room.shares(c.market_shares, t.shares, 1, Limit::MarketShares);
                room.cost(c.market_cost, t.cost, p, Limit::MarketCost);
            } else if !mk[..i].contains(&m) {
                let (mut k, mut unit) = (1u64, p);
                for j in i + 1..n {
                    if mk[j] == m {
                        k += 1;
                        unit += u128::from(legs[j].price.0);
                    }
                }
                let acc = self.market[m as usize];
                room.shares(c.market_shares, acc.shares, k, Limit::MarketShares);
                room.cost(c.market_cost, acc.cost, unit, Limit::MarketCost);
            }
            let e = ev[i];
            if e != NONE && !ev[..i].contains(&e) {
                let (mut k, mut unit) = (1u64, p);
                for j in i + 1..n {
                    if ev[j] == e {
                        k += 1;
                        unit += u128::from(legs[j].price.0);
                    }
                }
                let acc = self.event[e as usize];
                room.shares(c.event_shares, acc.shares, k, Limit::EventShares);
                room.cost(c.event_cost, acc.cost, unit, Limit::EventCost);
            }
        }
        room.cost(c.gross_cost, self.gross.cost, unit_total, Limit::GrossCost);
        let Room { max, by } = room;
        if max >= size.0 {
            return if edge.0 < self.min_plan_profit {
                GuardVerdict::Drop(Limit::MinProfit)
            } else {
                GuardVerdict::Fits
            };
        }
        let cut = max - max % SHARE_LOT;
        if cut == 0 || cut < min_size.0 {
            return GuardVerdict::Drop(by);
        }
        // The edge scales with the sets bought (cut down, never up).
        let scaled = u128::from(edge.0) * u128::from(cut) / u128::from(size.0.max(1));
        if scaled < u128::from(self.min_plan_profit) {
            return GuardVerdict::Drop(Limit::MinProfit);
        }
        GuardVerdict::Cut {
            size: Size(cut),
            by,
        }
    }

    /// The first cap the exposure now exceeds, if any (a check after the fact: fills that got
    /// more shares than signed for, or positions held at start).
    pub fn exceeded(&self) -> Option<Limit> {
        let c = &self.caps;
        if self.token.iter().any(|t| t.shares > c.token_shares) {
            return Some(Limit::TokenShares);
        }
        if self.token.iter().any(|t| t.cost > c.token_cost) {
            return Some(Limit::TokenCost);
        }
        let unmapped_markets = self
            .market_of
            .iter()
            .zip(&self.token)
            .filter(|(m, _)| **m == NONE)
            .map(|(_, t)| *t);
        for m in self.market.iter().copied().chain(unmapped_markets) {
            if m.shares > c.market_shares {
                return Some(Limit::MarketShares);
            }
            if m.cost > c.market_cost {
                return Some(Limit::MarketCost);
            }
        }
        for e in &self.event {
            if e.shares > c.event_shares {
                return Some(Limit::EventShares);
            }
            if e.cost > c.event_cost {
                return Some(Limit::EventCost);
            }
        }
        (self.gross.cost > c.gross_cost).then_some(Limit::GrossCost)
    }
}

#[cfg(test)]
mod tests;
