//! The live sender's link to the capital recycler (`settlement::recycle`): which complete sets
//! a decided plan holds, offered to the recycler's cold thread without blocking; the batches
//! it reports done taken out of the positions, after which the sender re-reads the free pUSD
//! the next plan is sized with.
//!
//! A plan's sets are recyclable when its legs are, by their instruments' [`SettleInfo`](crate::exec::instruments::SettleInfo):
//! the YES and NO of one condition (merged), or the NO of two or more questions of one
//! neg-risk market, one leg per question (converted with the index set of those questions).
//! Anything else (a neg-risk YES set, a leg without settle info) stays held as tokens.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use alloy_primitives::U256;
use crossbeam::channel::Receiver;

use super::instruments::{Instrument, Instruments};
use super::journal::OrderJournal;
use super::manager::OrderManager;
use super::pairing::PairedSets;
use crate::settlement::MarketKind;
use crate::settlement::recycle::{
    self, BatchSender, FilledSets, RecycleConfig, RecycleJournal, RecycleStats, RecycleTx,
    Recycled, Recycler, SetKey,
};

/// The recyclable sets of `sets` complete sets over `legs` (see the module doc).
pub fn sets_of(legs: &[&Instrument], sets: u64) -> Option<FilledSets> {
    let info: Vec<_> = legs.iter().map(|i| i.settle).collect::<Option<_>>()?;
    let tokens = legs.iter().map(|i| i.token_id).collect();
    if let [a, b] = info.as_slice()
        && a.condition == b.condition
        && a.outcome != b.outcome
    {
        let kind = if a.neg_risk.is_some() {
            MarketKind::NegRisk
        } else {
            MarketKind::Binary
        };
        return Some(FilledSets {
            key: SetKey::Merge {
                kind,
                condition: a.condition,
            },
            sets,
            tokens,
        });
    }
    let (market, _) = info.first()?.neg_risk?;
    if info.len() < 2 {
        return None;
    }
    let mut index_set = U256::ZERO;
    for s in &info {
        let (m, q) = s.neg_risk?;
        if m != market || s.outcome != 1 || index_set.bit(q as usize) {
            return None;
        }
        index_set.set_bit(q as usize, true);
    }
    Some(FilledSets {
        key: SetKey::Convert {
            market,
            index_set,
            questions: info.len() as u32,
        },
        sets,
        tokens,
    })
}

/// The sender thread's end: offers, and the batches done.
pub struct RecycleLink {
    tx: RecycleTx,
    done: Receiver<Recycled>,
    pub stats: Arc<RecycleStats>,
}

impl RecycleLink {
    /// Offers the recyclable sets of decided plans (never blocks; see `RecycleTx::offer`).
    pub fn offer(&self, decided: Vec<PairedSets>, instruments: &Instruments) {
        for p in decided {
            let legs: Option<Vec<&Instrument>> = p
                .assets
                .iter()
                .map(|&a| instruments.get(a).and_then(Option::as_ref))
                .collect();
            if let Some(f) = legs.and_then(|l| sets_of(&l, p.sets.0)) {
                tracing::debug!(plan = p.plan_id, sets = %p.sets, key = ?f.key, "complete sets offered for recycling");
                self.tx.offer(f);
            }
        }
    }

    /// Takes every batch done out of the positions; whether there was any. If so the venue is
    /// told to refresh the account's pUSD (`GET /balance-allowance/update`, which production
    /// needs after an on-chain change), so that the free pUSD re-read next includes it.
    pub fn take_done<J: OrderJournal>(&self, manager: &mut OrderManager<J>) -> bool {
        let any = apply_done(&self.done, manager);
        if any
            && let Err(e) = manager.client().update_balance_allowance(
                &crate::adapters::polymarket::http::clob::AssetType::Collateral,
            )
        {
            tracing::warn!(error = %e, "cannot refresh the pUSD balance after a recycle");
        }
        any
    }
}

fn apply_done<J: OrderJournal>(done: &Receiver<Recycled>, manager: &mut OrderManager<J>) -> bool {
    let mut any = false;
    while let Ok(r) = done.try_recv() {
        tracing::info!(
            target: "polyarb::recycle",
            event = "recycled",
            batch = %r.id,
            items = r.items.len(),
            freed = r.freed,
            "complete sets recycled into pUSD"
        );
        manager.on_recycled(&r);
        any = true;
    }
    any
}

/// The recycler's thread.
pub struct RecycleHandle {
    thread: Option<JoinHandle<Recycler>>,
    stop: Arc<AtomicBool>,
    done: Receiver<Recycled>,
    pub stats: Arc<RecycleStats>,
}

impl RecycleHandle {
    /// Stops the recycler after one last look at what is pending (call after the plan sender
    /// stopped) and takes what it did since out of `manager`'s positions. Returns the
    /// micro-shares left pending (held as tokens).
    pub fn finish<J: OrderJournal>(mut self, manager: &mut OrderManager<J>) -> u64 {
        self.stop.store(true, Ordering::SeqCst);
        let left = self
            .thread
            .take()
            .and_then(|t| t.join().ok())
            .map_or(0, |r| r.pending_sets());
        apply_done(&self.done, manager);
        left
    }
}

/// Starts the recycler on its own thread: batches journaled in `journal`, sent by `sender`;
/// a previous run's open batches are settled first (see `settlement::recycle`).
pub fn start(
    cfg: RecycleConfig,
    settlement: crate::settlement::Settlement,
    journal: Option<RecycleJournal>,
    mut sender: Box<dyn BatchSender + Send>,
    capacity: usize,
) -> io::Result<(RecycleLink, RecycleHandle)> {
    let (tx, rx, stats) = recycle::channel(capacity);
    let (done_tx, done_rx) = crossbeam::channel::unbounded();
    let stop = Arc::new(AtomicBool::new(false));
    let recycler = Recycler::new(cfg, settlement, stats.clone(), journal).reporting(done_tx);
    let st = stop.clone();
    let thread = std::thread::Builder::new()
        .name("recycler".into())
        .spawn(move || {
            let mut r = recycler;
            r.recover(sender.as_mut());
            r.run(rx, sender.as_mut(), st)
        })?;
    Ok((
        RecycleLink {
            tx,
            done: done_rx.clone(),
            stats: stats.clone(),
        },
        RecycleHandle {
            thread: Some(thread),
            stop,
            done: done_rx,
            stats,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::polymarket::signing::MarketRules;
    use crate::core::{Size, TickSize, TokenId};
    use crate::exec::instruments::SettleInfo;
    use alloy_primitives::B256;

    fn inst(token: u32, condition: u8, outcome: u8, nr: Option<(u8, u8)>) -> Instrument {
        Instrument {
            token_id: TokenId::parse(&token.to_string()).unwrap(),
            rules: MarketRules {
                tick_size: TickSize::CENT,
                min_order_size: Size(5_000_000),
                neg_risk: nr.is_some(),
            },
            fees: None,
            settle: Some(SettleInfo {
                condition: B256::repeat_byte(condition),
                outcome,
                neg_risk: nr.map(|(m, q)| (B256::repeat_byte(m), q)),
            }),
        }
    }

    #[test]
    fn which_plans_hold_recyclable_sets() {
        let (yes, no) = (inst(1, 1, 0, None), inst(2, 1, 1, None));
        let merged = sets_of(&[&yes, &no], 7).unwrap();
        assert_eq!(
            merged.key,
            SetKey::Merge {
                kind: MarketKind::Binary,
                condition: B256::repeat_byte(1)
            }
        );
        assert_eq!((merged.sets, merged.tokens.len()), (7, 2));
        // NO of questions 0, 2 and 5 of market 9: convert with index set 0b100101.
        let nos = [
            inst(10, 10, 1, Some((9, 0))),
            inst(12, 12, 1, Some((9, 2))),
            inst(15, 15, 1, Some((9, 5))),
        ];
        let c = sets_of(&[&nos[0], &nos[1], &nos[2]], 3).unwrap();
        assert_eq!(
            c.key,
            SetKey::Convert {
                market: B256::repeat_byte(9),
                index_set: U256::from(0b100101),
                questions: 3
            }
        );
        assert_eq!(c.key.freed(3), 6);
        // A neg-risk question's YES + NO merge through the neg-risk adapter.
        let q = sets_of(
            &[
                &inst(20, 20, 0, Some((9, 1))),
                &inst(21, 20, 1, Some((9, 1))),
            ],
            1,
        )
        .unwrap();
        assert!(matches!(
            q.key,
            SetKey::Merge {
                kind: MarketKind::NegRisk,
                ..
            }
        ));
        // Not recyclable: YES sets, mixed markets, a repeated question, one leg, no info.
        let yeses = [inst(30, 30, 0, Some((9, 0))), inst(31, 31, 0, Some((9, 1)))];
        assert_eq!(sets_of(&[&yeses[0], &yeses[1]], 1), None);
        assert_eq!(sets_of(&[&nos[0], &inst(40, 40, 1, Some((8, 1)))], 1), None);
        assert_eq!(sets_of(&[&nos[0], &nos[0]], 1), None);
        assert_eq!(sets_of(&[&nos[0]], 1), None);
        assert!(sets_of(&[&no, &yes], 1).is_some(), "legs in either order");
        assert_eq!(
            sets_of(&[&yes, &inst(3, 2, 1, None)], 1),
            None,
            "two conditions"
        );
        let mut bare = yes.clone();
        bare.settle = None;
        assert_eq!(sets_of(&[&bare, &no], 1), None);
    }
}
