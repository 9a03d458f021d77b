//! The sender's side of the pairing: plans held until every leg is final, and the unwind
//! orders that sell back what one leg holds beyond the others.
//!
//! The best bid is read with `GET /book` at the moment of the unwind: the sender thread has no
//! book of its own, and an unwind is rare and must price off the venue's book as it is now,
//! not as the strategy last saw it.

use crate::adapters::polymarket::http::ClobBookClient;
use crate::adapters::polymarket::signing::{OrderRequest, OrderSide, OrderType};
use crate::core::Size;
use crate::exec::journal::OrderJournal;
use crate::exec::live::{Instrument, Instruments, LiveStats, Plan};
use crate::exec::manager::{NewOrder, OrderManager, SubmitOutcome};
use crate::strategy::MAX_LEGS;

use super::{LegFill, PairAction, PairingConfig, UNWIND_LEG, decide, leg_oid, unwind_floor};

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

/// Sells `excess` shares of the plan's leg `leg` (see the module doc of `pairing`).
pub fn unwind<J: OrderJournal>(
    manager: &mut OrderManager<J>,
    books: &ClobBookClient,
    inst: &Instrument,
    plan_id: u64,
    leg: usize,
    excess: Size,
    cfg: &PairingConfig,
) -> UnwindReport {
    let failed = |why: String| UnwindReport {
        sold: Size::ZERO,
        residual: excess,
        error: Some(why),
    };
    let snap = match books.book(&inst.token_id.to_string()) {
        Ok(b) => match b.validate() {
            Some(s) => s,
            None => return failed("GET /book: malformed book".into()),
        },
        Err(e) => return failed(format!("GET /book: {e}")),
    };
    let Some(best) = snap.bids.iter().map(|(p, _)| *p).max() else {
        return failed("no bids to sell into".into());
    };
    // The venue's tick as it is now: a price change may have moved it off the startup rules.
    let mut rules = inst.rules;
    if let Some(t) = snap.tick {
        rules.tick_size = t;
    }
    let floor = unwind_floor(best, rules.tick_size, cfg.unwind_max_slippage_ticks);
    let mut request = OrderRequest::limit(inst.token_id, OrderSide::Sell, floor, excess);
    request.order_type = OrderType::Fak;
    let client_oid = leg_oid(plan_id, leg | UNWIND_LEG);
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
        .min(excess);
    let residual = Size(excess.0 - sold.0);
    let error = match result.first().map(|r| &r.outcome) {
        Some(SubmitOutcome::Rejected(e)) => Some(e.to_string()),
        Some(SubmitOutcome::Unknown) => Some("unknown outcome (reconcile will settle it)".into()),
        _ if residual.0 > 0 => Some(format!("no bids left down to {floor}")),
        _ => None,
    };
    UnwindReport {
        sold,
        residual,
        error,
    }
}

/// A plan whose legs were sent, until every leg is final.
struct SentPlan {
    plan_id: u64,
    n_legs: usize,
    assets: [usize; MAX_LEGS],
}

/// The plans in flight and the book client their unwinds read.
pub struct PairTracker {
    cfg: PairingConfig,
    books: ClobBookClient,
    sent: Vec<SentPlan>,
}

impl PairTracker {
    pub fn new(cfg: PairingConfig, books: ClobBookClient) -> Self {
        Self {
            cfg,
            books,
            sent: Vec::new(),
        }
    }

    /// A plan whose legs were just submitted.
    pub fn track(&mut self, plan: &Plan) {
        let mut assets = [0; MAX_LEGS];
        for (a, leg) in assets.iter_mut().zip(plan.legs()) {
            *a = leg.asset.get();
        }
        self.sent.push(SentPlan {
            plan_id: plan.plan_id,
            n_legs: plan.n_legs as usize,
            assets,
        });
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
        stats: &LiveStats,
    ) -> usize {
        let mut sent = 0;
        let mut k = 0;
        while k < self.sent.len() {
            let p = &self.sent[k];
            let mut fills = [LegFill::Pending; MAX_LEGS];
            for (leg, f) in fills[..p.n_legs].iter_mut().enumerate() {
                *f = match manager.order_of(p.plan_id, leg_oid(p.plan_id, leg)) {
                    // Never journaled (refused locally): it holds nothing.
                    None => LegFill::Final(Size::ZERO),
                    Some(o) if o.state.is_final() => LegFill::Final(o.filled),
                    Some(_) => LegFill::Pending,
                };
            }
            let excess = match decide(&fills[..p.n_legs]) {
                PairAction::Wait => {
                    k += 1;
                    continue;
                }
                PairAction::Paired => Vec::new(),
                PairAction::Unwind(e) => e,
            };
            let p = self.sent.swap_remove(k);
            for (leg, size) in excess {
                let Some(inst) = instruments.get(p.assets[leg]).and_then(Option::as_ref) else {
                    continue;
                };
                stats.unwinds.inc();
                sent += 1;
                let r = unwind(manager, &self.books, inst, p.plan_id, leg, size, &self.cfg);
                if r.residual.0 > 0 {
                    stats.unwind_failed.inc();
                    stats.unwind_residual.add(r.residual.0);
                    let why = r.error.unwrap_or_default();
                    tracing::warn!(plan = p.plan_id, leg, residual = %r.residual, %why, "unwind left a residual");
                }
            }
        }
        sent
    }
}
