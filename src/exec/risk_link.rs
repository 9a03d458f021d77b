//! The live sender's side of `risk`: what it tells the exposure guard and the breakers, and
//! what an operator's commands make it do.
//!
//! [`ExposureBook`] turns the order manager's state into each token's exposure for the guard:
//! what the positions held at start, plus every order this run sent — a BUY counts its whole
//! size at its limit price until it is final, then the shares it filled at that price; a SELL
//! (an unwind, a flattening) takes off what it filled. Orders are followed from
//! `OrderManager::sent_since` until final, then folded into the settled figures, so a sync
//! touches only the orders in flight.
//!
//! [`RiskSetup`] is what `live_dispatch` is given: the `[risk]` section, the gate the hot
//! stage reads, the assets' markets and events, and the operator's command channel.

use std::sync::Arc;

use crossbeam::channel::{Receiver, Sender};
use rustc_hash::{FxHashMap, FxHashSet};

use crate::adapters::polymarket::signing::OrderSide;
use crate::core::{AssetRegistry, TokenId};
use crate::risk::control::Request;
use crate::risk::{ExposureGuard, RiskConfig, RiskGate};
use crate::storage::StorageHealth;
use crate::strategy::OutcomeGroup;

use super::instruments::Instruments;
use super::journal::OrderJournal;
use super::manager::OrderManager;
use super::order::TrackedOrder;
use super::positions::Positions;

/// An asset's market and neg-risk event, as the guard sums them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AssetPlace {
    pub asset: usize,
    pub market: u32,
    pub event: Option<u32>,
}

/// Each asset's market (its condition id; an asset without one is a market of its own) and,
/// for the questions of a neg-risk group, the group as its event.
pub fn asset_places(registry: &AssetRegistry, groups: &[OutcomeGroup]) -> Vec<AssetPlace> {
    let mut markets: FxHashMap<String, u32> = FxHashMap::default();
    let mut event: FxHashMap<usize, u32> = FxHashMap::default();
    for g in groups {
        for a in g.assets.iter().chain(&g.no_assets) {
            event.insert(a.get(), g.id);
        }
    }
    let mut out = Vec::with_capacity(registry.len());
    for (asset, info) in registry.iter() {
        let key = info
            .market
            .as_deref()
            .map_or_else(|| format!("asset:{}", asset.get()), str::to_string);
        let n = markets.len() as u32;
        let market = *markets.entry(key).or_insert(n);
        out.push(AssetPlace {
            asset: asset.get(),
            market,
            event: event.get(&asset.get()).copied(),
        });
    }
    out
}

/// What the live sender's risk controls start from.
pub struct RiskSetup {
    pub cfg: RiskConfig,
    pub gate: Arc<RiskGate>,
    pub places: Vec<AssetPlace>,
    /// Requests from the control file or a signal; answers go back with their id.
    pub commands: Option<Receiver<Request>>,
    pub answers: Option<Sender<(u64, String)>>,
    /// The storage writer's health (the journal breaker watches it).
    pub storage: Option<Arc<StorageHealth>>,
}

impl Default for RiskSetup {
    fn default() -> Self {
        Self::new(RiskConfig::default())
    }
}

impl RiskSetup {
    pub fn new(cfg: RiskConfig) -> Self {
        let cfg = cfg.with_defaults();
        Self {
            gate: Arc::new(RiskGate::new(&cfg)),
            cfg,
            places: Vec::new(),
            commands: None,
            answers: None,
            storage: None,
        }
    }
}

/// See the module doc.
pub struct ExposureBook {
    pub guard: ExposureGuard,
    asset_of: FxHashMap<TokenId, usize>,
    /// Per token: shares and cost settled (positions at start, orders since final).
    settled: FxHashMap<TokenId, (i128, i128)>,
    /// Orders in flight (ids), and how many of the manager's sent orders were taken.
    open: Vec<String>,
    cursor: usize,
}

/// What an order counts for: (shares, cost).
fn effect(t: &TrackedOrder) -> (i128, i128) {
    let price = i128::from(t.price.0);
    match t.side {
        OrderSide::Buy => {
            let q = if t.state.is_final() {
                t.filled.0
            } else {
                t.size.0.max(t.filled.0)
            };
            let q = i128::from(q);
            (q, q * price / 1_000_000)
        }
        OrderSide::Sell => {
            let q = i128::from(t.filled.0);
            (-q, -(q * price / 1_000_000))
        }
    }
}

impl ExposureBook {
    pub fn new(
        mut guard: ExposureGuard,
        places: &[AssetPlace],
        instruments: &Instruments,
        positions: &Positions,
    ) -> Self {
        for p in places {
            guard.map_asset(p.asset, p.market, p.event);
        }
        let mut b = Self {
            guard,
            asset_of: FxHashMap::default(),
            settled: FxHashMap::default(),
            open: Vec::new(),
            cursor: 0,
        };
        for (asset, inst) in instruments.iter().enumerate() {
            if let Some(i) = inst {
                b.asset_of.insert(i.token_id, asset);
            }
        }
        for (token, p) in positions.all() {
            b.settled.insert(*token, (p.shares, p.cost));
        }
        let tokens: Vec<TokenId> = b.settled.keys().copied().collect();
        b.publish(&tokens, &[]);
        b
    }

    /// Re-reads which asset each token is (instruments listed while running).
    pub fn refresh_instruments(&mut self, instruments: &Instruments) {
        let mut added = Vec::new();
        for (asset, inst) in instruments.iter().enumerate() {
            if let Some(i) = inst
                && self.asset_of.insert(i.token_id, asset) != Some(asset)
            {
                added.push(i.token_id);
            }
        }
        if !added.is_empty() {
            // A token held unmapped moves from the gross-only sum to its asset.
            self.publish(&added, &[]);
            let (mut s, mut c) = (0u64, 0u64);
            for (token, (ts, tc)) in &self.settled {
                if !self.asset_of.contains_key(token) {
                    s += u64::try_from((*ts).max(0)).unwrap_or(u64::MAX);
                    c += u64::try_from((*tc).max(0)).unwrap_or(u64::MAX);
                }
            }
            self.guard.set_unmapped(s, c);
        }
    }

    /// Takes the orders sent since the last sync and settles those now final.
    pub fn sync<J: OrderJournal>(&mut self, mgr: &OrderManager<J>) {
        let new = mgr.sent_since(self.cursor);
        self.cursor += new.len();
        self.open.extend(new.iter().cloned());
        if self.open.is_empty() {
            return;
        }
        let mut touched: FxHashSet<TokenId> = FxHashSet::default();
        let settled = &mut self.settled;
        self.open.retain(|id| {
            let Some(t) = mgr.order(id) else {
                return false;
            };
            touched.insert(t.token_id);
            if t.state.is_final() {
                let (s, c) = effect(t);
                let e = settled.entry(t.token_id).or_default();
                e.0 += s;
                e.1 += c;
                false
            } else {
                true
            }
        });
        let tokens: Vec<TokenId> = touched.into_iter().collect();
        let open: Vec<(TokenId, (i128, i128))> = self
            .open
            .iter()
            .filter_map(|id| mgr.order(id).map(|t| (t.token_id, effect(t))))
            .collect();
        self.publish(&tokens, &open);
    }

    fn publish(&mut self, tokens: &[TokenId], open: &[(TokenId, (i128, i128))]) {
        let mut unmapped_changed = false;
        for token in tokens {
            let (mut s, mut c) = self.settled.get(token).copied().unwrap_or_default();
            for (t, (os, oc)) in open {
                if t == token {
                    s += os;
                    c += oc;
                }
            }
            match self.asset_of.get(token) {
                Some(&a) => self.guard.set_token(a, s, c),
                None => unmapped_changed = true,
            }
        }
        if unmapped_changed {
            let (mut s, mut c) = (0u64, 0u64);
            for (token, (ts, tc)) in &self.settled {
                if !self.asset_of.contains_key(token) {
                    s += u64::try_from((*ts).max(0)).unwrap_or(u64::MAX);
                    c += u64::try_from((*tc).max(0)).unwrap_or(u64::MAX);
                }
            }
            self.guard.set_unmapped(s, c);
        }
    }
}
