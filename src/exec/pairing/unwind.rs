//! The sender's side of the pairing: plans held until every leg is final, and the unwind
//! orders that sell back what one leg holds beyond the others.
//!
//! The best bid is read with `GET /book` at the moment of the unwind: the sender thread has no
//! book of its own, and an unwind is rare and must price off the venue's book as it is now,
//! not as the strategy last saw it.

use super::{
    LegFill, PairAction, PairingConfig, Plan, UNWIND_LEG, decide, leg_oid, unwind_floor, unwind_oid,
};
use crate::adapters::polymarket::http::ClobBookClient;
use crate::adapters::polymarket::http::clob::ClobError;
use crate::adapters::polymarket::signing::amounts::SHARE_LOT;
use crate::adapters::polymarket::signing::{OrderRequest, OrderSide, OrderType};
use crate::core::Size;
use crate::exec::instruments::{Instrument, Instruments};
use crate::exec::journal::OrderJournal;
use crate::exec::manager::{NewOrder, OrderManager, SubmitOutcome};
use crate::obs::Counter;

/// The counters unwinds update, borrowed from the sender's stats that own them (see
/// `LiveStats::unwind_counters`).
#[derive(Clone, Copy)]
pub struct UnwindCounters<'a> {
    /// Unwind SELLs sent for legs that filled more than the others.
    pub sent: &'a Counter,
    /// Unwinds that did not sell the whole excess.
    pub failed: &'a Counter,
    /// Micro-shares those unwinds left unsold.
    pub residual: &'a Counter,
    /// Micro-pUSD those shares cost (at their leg's limit price): the risk breaker's measure.
    pub residual_notional: &'a Counter,
}

/// What one unwind did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UnwindReport {
    /// Shares the SELL sold.
    pub sold: Size,
    /// Shares still held beyond the other legs.
    pub residual: Size,
    /// Why it did not sell everything, if it did not.
    pub error: Option<String>,
}

/// Sells `excess` shares of the plan's leg `leg` (see the module doc of `pairing`): up to
/// `unwind_attempts` FAK SELLs of what is left, each priced off a fresh `GET /book`, all
/// floored at the first attempt's best bid minus `unwind_max_slippage_ticks`.
pub fn unwind<J: OrderJournal>(
    manager: &mut OrderManager<J>,
    books: &ClobBookClient,
    inst: &Instrument,
    plan_id: u64,
    leg: usize,
    excess: Size,
    cfg: &PairingConfig,
) -> UnwindReport {
    unwind_from(manager, books, inst, plan_id, leg, excess, cfg, 0)
}

/// [`unwind`] with attempt numbers from `first` (attempts an earlier run already sent keep
/// their client ids: a restart never signs those again).
#[allow(clippy::too_many_arguments)]
fn unwind_from<J: OrderJournal>(
    manager: &mut OrderManager<J>,
    books: &ClobBookClient,
    inst: &Instrument,
    plan_id: u64,
    leg: usize,
    excess: Size,
    cfg: &PairingConfig,
    first: usize,
) -> UnwindReport {
    // A SELL gives whole 0.01 shares; a BUY that spent pUSD may hold up to 4 decimals.
    let dust = excess.0 % SHARE_LOT;
    let mut left = Size(excess.0 - dust);
    let mut floor = None;
    let mut error = (left.is_zero() && dust > 0)
        .then(|| format!("{} is under the 0.01 share a SELL can give", Size(dust)));
    // Attempt numbers have five bits of the client id (see `unwind_oid`).
    let attempts = cfg.unwind_attempts.clamp(1, 31) as usize;
    for attempt in first..(first + attempts).min(32) {
        if left.is_zero() {
            break;
        }
        let client_oid = unwind_oid(plan_id, leg, attempt);
        match sell_once(
            manager, books, inst, plan_id, client_oid, left, &mut floor, cfg,
        ) {
            Ok(sold) => {
                left = Size(left.0 - sold.0);
                if left.is_zero() {
                    error = (dust > 0)
                        .then(|| format!("{} is under the 0.01 share a SELL can give", Size(dust)));
                    break;
                }
                error = Some(format!(
                    "bids down to {} took {} of {left}",
                    floor.unwrap_or_default(),
                    sold
                ));
            }
            Err(Attempt::Again(why)) => error = Some(why),
            Err(Attempt::Stop(why)) => {
                error = Some(why);
                break;
            }
        }
    }
    UnwindReport {
        sold: Size(excess.0 - dust - left.0),
        residual: Size(left.0 + dust),
        error,
    }
}

/// Why an attempt sold nothing, and whether another may.
enum Attempt {
    /// The book moved between the read and the order (the FAK found nothing): read it again.
    Again(String),
    /// Nothing to sell into within the floor, or the order cannot be sent.
    Stop(String),
}

/// One FAK SELL of `size` at the floor (set on the first attempt); the shares it sold.
#[allow(clippy::too_many_arguments)]
fn sell_once<J: OrderJournal>(
    manager: &mut OrderManager<J>,
    books: &ClobBookClient,
    inst: &Instrument,
    plan_id: u64,
    client_oid: u64,
    size: Size,
    floor: &mut Option<crate::core::Price>,
    cfg: &PairingConfig,
) -> Result<Size, Attempt> {
    let snap = match books.book(&inst.token_id.to_string()) {
        Ok(b) => b
            .validate()
            .ok_or_else(|| Attempt::Stop("GET /book: malformed book".into()))?,
        Err(e) => return Err(Attempt::Stop(format!("GET /book: {e}"))),
    };
    let Some(best) = snap.bids.iter().map(|(p, _)| *p).max() else {
        return Err(Attempt::Stop("no bids to sell into".into()));
    };
    // The venue's tick as it is now: a price change may have moved it off the startup rules.
    let mut rules = inst.rules;
    if let Some(t) = snap.tick {
        rules.tick_size = t;
    }
    let floor = *floor
        .get_or_insert_with(|| unwind_floor(best, rules.tick_size, cfg.unwind_max_slippage_ticks));
    if best < floor {
        return Err(Attempt::Stop(format!(
            "best bid {best} is under the unwind floor {floor}"
        )));
    }
    let mut request = OrderRequest::limit(inst.token_id, OrderSide::Sell, floor, size);
    request.order_type = OrderType::Fak;
    let order = NewOrder {
        plan_id,
        client_oid,
        request,
        rules,
        fees: inst.fees,
    };
    let result = manager.submit(std::slice::from_ref(&order));
    let sold = manager
        .order_of(plan_id, client_oid)
        .map_or(Size::ZERO, |o| o.filled)
        .min(size);
    match result.first().map(|r| &r.outcome) {
        Some(SubmitOutcome::Rejected(ClobError::FakNoMatch(_))) => Err(Attempt::Again(format!(
            "bids at or above {floor} (best {best}) were gone when the FAK arrived"
        ))),
        Some(SubmitOutcome::Rejected(e)) => Err(Attempt::Stop(e.to_string())),
        Some(SubmitOutcome::Unknown) | None => Err(Attempt::Stop(
            "unknown outcome (reconcile will settle it)".into(),
        )),
        Some(_) => Ok(sold),
    }
}

/// A plan whose legs were sent, until every leg is final.
struct SentPlan {
    plan_id: u64,
    /// Each leg's asset (the sender's cold thread: a plan's own small vector); `usize::MAX`
    /// for a restored leg whose token is not tradeable now.
    assets: Vec<usize>,
    /// Unwind orders an earlier run sent for it, (leg, client id): restored plans only.
    prior: Vec<(usize, u64)>,
}

/// What [`PairTracker::restore_open`] found in the journal.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RestoredPlans {
    /// Plans journaled without an outcome, tracked again until decided.
    pub plans: usize,
    /// Their orders (legs and unwinds) followed again.
    pub orders: usize,
    /// Legs whose token the sender cannot trade now (they cannot be unwound).
    pub untradeable_legs: usize,
    pub error: Option<String>,
}

impl RestoredPlans {
    pub fn line(&self) -> String {
        let mut s = format!(
            "plans restored from the journal: {} ({} orders) · legs not tradeable now {}",
            self.plans, self.orders, self.untradeable_legs
        );
        if let Some(e) = &self.error {
            s.push_str(&format!(" · error: {e}"));
        }
        s
    }
}

/// A decided plan's complete sets: its legs' assets and the shares every leg holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PairedSets {
    pub plan_id: u64,
    pub assets: Vec<usize>,
    pub sets: Size,
}

/// The plans in flight and the book client their unwinds read.
pub struct PairTracker {
    cfg: PairingConfig,
    books: ClobBookClient,
    sent: Vec<SentPlan>,
    /// Decided plans' complete sets, kept only when asked for ([`Self::keep_sets`]).
    paired: Option<Vec<PairedSets>>,
}

impl PairTracker {
    pub fn new(cfg: PairingConfig, books: ClobBookClient) -> Self {
        Self {
            cfg,
            books,
            sent: Vec::new(),
            paired: None,
        }
    }

    /// Keeps every decided plan's complete sets for [`Self::take_sets`] (the capital
    /// recycler's input).
    pub fn keep_sets(&mut self) {
        self.paired.get_or_insert_with(Vec::new);
    }

    /// The complete sets of the plans decided since the last call.
    pub fn take_sets(&mut self) -> Vec<PairedSets> {
        self.paired.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// A plan whose legs were just submitted.
    pub fn track(&mut self, plan: &Plan) {
        self.sent.push(SentPlan {
            plan_id: plan.plan_id,
            assets: plan.legs().iter().map(|l| l.asset.get()).collect(),
            prior: Vec::new(),
        });
    }

    /// After a restart (call after `OrderManager::reconcile`): every plan the journal holds
    /// without an outcome is followed again, its orders as journaled (or as reconciled), and
    /// decided by [`Self::poll`] like a plan of this run — paired, or its excess unwound less
    /// what its earlier unwinds sold, with attempt numbers after theirs. Nothing the journal
    /// holds is sent again.
    pub fn restore_open<J: OrderJournal>(
        &mut self,
        manager: &mut OrderManager<J>,
        instruments: &Instruments,
    ) -> RestoredPlans {
        let mut rep = RestoredPlans::default();
        let entries = match manager.journal().open_plans() {
            Ok(e) => e,
            Err(e) => {
                rep.error = Some(e.to_string());
                return rep;
            }
        };
        let mut plans: Vec<(u64, Vec<&crate::exec::journal::JournalEntry>)> = Vec::new();
        for e in &entries {
            match plans.iter_mut().find(|(p, _)| *p == e.plan_id) {
                Some((_, v)) => v.push(e),
                None => plans.push((e.plan_id, vec![e])),
            }
        }
        for (plan_id, orders) in plans {
            let mut assets: Vec<usize> = Vec::new();
            let mut prior = Vec::new();
            for e in &orders {
                manager.adopt(e);
                rep.orders += 1;
                let low = (e.client_oid & 0xffff) as usize;
                if low & UNWIND_LEG != 0 {
                    prior.push((low & 0xff, e.client_oid));
                    continue;
                }
                if assets.len() <= low {
                    assets.resize(low + 1, usize::MAX);
                }
                assets[low] = instruments
                    .iter()
                    .position(|i| {
                        i.as_ref()
                            .is_some_and(|i| i.token_id.to_string() == e.token_id)
                    })
                    .unwrap_or(usize::MAX);
            }
            rep.untradeable_legs += assets.iter().filter(|a| **a == usize::MAX).count();
            rep.plans += 1;
            self.sent.push(SentPlan {
                plan_id,
                assets,
                prior,
            });
        }
        if rep.plans > 0 || rep.error.is_some() {
            tracing::warn!("{}", rep.line());
        }
        rep
    }

    /// The book client (also for re-reading a token's rules).
    pub fn books(&self) -> &ClobBookClient {
        &self.books
    }

    /// Plans whose legs are not all final yet.
    pub fn pending(&self) -> usize {
        self.sent.len()
    }

    /// Decides every plan whose legs are all final, unwinding uneven ones; returns the number
    /// of unwind orders sent.
    pub fn poll<J: OrderJournal>(
        &mut self,
        manager: &mut OrderManager<J>,
        instruments: &Instruments,
        stats: UnwindCounters<'_>,
    ) -> usize {
        let mut sent = 0;
        let mut k = 0;
        let mut fills = Vec::new();
        while k < self.sent.len() {
            let p = &self.sent[k];
            fills.clear();
            fills.extend((0..p.assets.len()).map(|leg| {
                match manager.order_of(p.plan_id, leg_oid(p.plan_id, leg)) {
                    // Never journaled (refused locally): it holds nothing.
                    None => LegFill::Final(Size::ZERO),
                    Some(o) if o.state.is_final() => LegFill::Final(o.filled),
                    Some(_) => LegFill::Pending,
                }
            }));
            // A restored plan's earlier unwinds must be settled too before deciding.
            if p.prior.iter().any(|(_, oid)| {
                manager
                    .order_of(p.plan_id, *oid)
                    .is_some_and(|o| !o.state.is_final())
            }) {
                fills.push(LegFill::Pending);
            }
            let excess = match decide(&fills) {
                PairAction::Wait => {
                    k += 1;
                    continue;
                }
                PairAction::Paired => Vec::new(),
                PairAction::Unwind(e) => e,
            };
            let p = self.sent.swap_remove(k);
            // Every leg is final: the least-filled one's shares are the complete sets (the
            // excess of the others is being sold back below).
            if let Some(out) = &mut self.paired {
                let floor = fills
                    .iter()
                    .map(|f| match f {
                        LegFill::Final(s) => s.0,
                        LegFill::Pending => 0,
                    })
                    .min()
                    .unwrap_or(0);
                if floor > 0 {
                    out.push(PairedSets {
                        plan_id: p.plan_id,
                        assets: p.assets.clone(),
                        sets: Size(floor),
                    });
                }
            }
            let mut outcome: Vec<String> = Vec::new();
            for (leg, size) in excess {
                // What earlier runs' unwinds of this leg sold, and the attempts they used.
                let earlier = p.prior.iter().filter(|(l, _)| *l == leg);
                let done: u64 = earlier
                    .clone()
                    .filter_map(|(_, oid)| manager.order_of(p.plan_id, *oid))
                    .map(|o| o.filled.0)
                    .sum();
                let first = earlier
                    .map(|(_, oid)| ((oid >> 8) & 0x1f) as usize + 1)
                    .max()
                    .unwrap_or(0);
                let size = Size(size.0.saturating_sub(done));
                if size.is_zero() {
                    outcome.push(format!("leg {leg} unwound before a restart"));
                    continue;
                }
                let Some(inst) = instruments.get(p.assets[leg]).and_then(Option::as_ref) else {
                    outcome.push(format!("leg {leg}: {size} shares over, not tradeable"));
                    continue;
                };
                stats.sent.inc();
                sent += 1;
                let r = unwind_from(
                    manager,
                    &self.books,
                    inst,
                    p.plan_id,
                    leg,
                    size,
                    &self.cfg,
                    first,
                );
                outcome.push(format!(
                    "leg {leg}: sold {} of {size}, residual {}",
                    r.sold, r.residual
                ));
                if r.residual.0 > 0 {
                    stats.failed.inc();
                    stats.residual.add(r.residual.0);
                    let price = manager
                        .order_of(p.plan_id, leg_oid(p.plan_id, leg))
                        .map_or(0, |o| u128::from(o.price.0));
                    let notional = u128::from(r.residual.0) * price / 1_000_000;
                    stats
                        .residual_notional
                        .add(u64::try_from(notional).unwrap_or(u64::MAX));
                    let why = r.error.unwrap_or_default();
                    tracing::warn!(plan = p.plan_id, leg, residual = %r.residual, %why, "unwind left a residual");
                }
            }
            let text = if outcome.is_empty() {
                "paired".to_string()
            } else {
                format!("unwound: {}", outcome.join("; "))
            };
            manager.journal_plan_outcome(p.plan_id, &text);
        }
        sent
    }
}
