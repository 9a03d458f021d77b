//! What the live sender needs to trade an asset of the pipeline: its token, the market's
//! rules (tick, minimum size, neg-risk exchange) and taker fee schedule, by asset index, and
//! where the token sits on chain ([`SettleInfo`]: condition, outcome, neg-risk market and
//! question index), which the capital recycler needs to merge or convert complete sets.
//!
//! The table is the sender thread's own. Markets the catalog lists while the engine runs reach
//! it by message ([`InstrumentUpdate`], from `engine::catalog_link`), sent before the feed
//! subscribes their assets: a plan on a new asset therefore finds its instrument already
//! waiting in the sender's channel. The same message carries rule changes of known markets
//! (a new tick size listed by Gamma). Between refreshes, a leg the signer refuses as off the
//! tick grid makes the sender re-read that token's rules from `GET /book` once
//! ([`refresh_rules`]): the venue moves a market to a finer tick near the price extremes.

use crate::adapters::polymarket::http::ClobBookClient;
use crate::adapters::polymarket::signing::MarketRules;
use crate::catalog::CatalogUpdate;
use crate::core::fees::FeeSchedule;
use crate::core::{AssetIndex, AssetRegistry, Size, TokenId};

/// What the sender needs to know to trade an asset of the pipeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instrument {
    pub token_id: TokenId,
    pub rules: MarketRules,
    /// The market's taker fee schedule, if known (fills as taker are stored with its fee).
    pub fees: Option<FeeSchedule>,
    /// Where the token sits on chain (`None`: not known, its sets are never recycled).
    pub settle: Option<SettleInfo>,
}

/// A token's place on chain, as Gamma lists it: what merging or converting it needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SettleInfo {
    /// `conditionId`.
    pub condition: alloy_primitives::B256,
    /// The outcome's index in the market: 0 = YES, 1 = NO.
    pub outcome: u8,
    /// A neg-risk question's market (`negRiskMarketID`) and index (the low byte of its
    /// `questionID`).
    pub neg_risk: Option<(alloy_primitives::B256, u8)>,
}

impl SettleInfo {
    /// From Gamma's fields: the condition id, the outcome index, and for a neg-risk question
    /// its market id and question id (0x + 64 hex each); `None` if one does not parse.
    pub fn from_gamma(
        condition: &str,
        outcome: usize,
        neg_risk: Option<(&str, &str)>,
    ) -> Option<Self> {
        let condition = condition.parse().ok()?;
        let outcome = u8::try_from(outcome).ok().filter(|o| *o < 2)?;
        let neg_risk = match neg_risk {
            None => None,
            Some((market, question)) => {
                let market: alloy_primitives::B256 = market.parse().ok()?;
                let question: alloy_primitives::B256 = question.parse().ok()?;
                Some((market, question.0[31]))
            }
        };
        Some(Self {
            condition,
            outcome,
            neg_risk,
        })
    }
}

/// Instruments by the pipeline's asset index (`None`: not tradeable, a plan on it is skipped).
pub type Instruments = Vec<Option<Instrument>>;

/// Instruments to set in the sender's table, by asset index (new assets, or new rules).
pub type InstrumentUpdate = Vec<(AssetIndex, Instrument)>;

/// Sets every instrument of `update`, growing the table as needed.
pub fn apply(table: &mut Instruments, update: InstrumentUpdate) {
    for (a, inst) in update {
        if table.len() <= a.get() {
            table.resize(a.get() + 1, None);
        }
        table[a.get()] = Some(inst);
    }
}

/// The catalog's watched markets as instruments, for the assets of `registry` below `limit`:
/// rules and fee schedule as Gamma lists them.
pub fn from_catalog(u: &CatalogUpdate, registry: &AssetRegistry, limit: usize) -> InstrumentUpdate {
    let mut out = Vec::new();
    for m in u.catalog.markets.values() {
        if !u.selection.watched.contains(&m.condition_id) {
            continue;
        }
        let condition = m.condition_id.to_string();
        let neg_risk = m.neg_risk_market_id().map(|n| n.to_string());
        for (outcome, token) in m.tokens().enumerate() {
            let Some(a) = registry.lookup(token.to_string().as_bytes()) else {
                continue;
            };
            let nr = match (&neg_risk, &m.question_id) {
                (Some(n), Some(q)) => Some(Some((n.as_str(), q.as_str()))),
                (Some(_), None) => None,
                (None, _) => Some(None),
            };
            let settle = nr
                .filter(|_| m.is_binary())
                .and_then(|nr| SettleInfo::from_gamma(&condition, outcome, nr));
            if a.get() >= limit {
                continue;
            }
            out.push((
                a,
                Instrument {
                    token_id: *token,
                    rules: MarketRules {
                        tick_size: m.tick,
                        min_order_size: m.min_order_size,
                        neg_risk: m.neg_risk.is_some(),
                    },
                    fees: m.fees,
                    settle,
                },
            ));
        }
    }
    out
}

/// Re-reads `inst`'s tick and minimum size from the venue's `GET /book`; returns whether they
/// changed (an unreadable book changes nothing).
pub fn refresh_rules(books: &ClobBookClient, inst: &mut Instrument) -> bool {
    let Ok(wire) = books.book(&inst.token_id.to_string()) else {
        return false;
    };
    let min = wire
        .min_order_size
        .as_deref()
        .and_then(|m| Size::parse(m).ok());
    let Some(tick) = wire.validate().and_then(|b| b.tick) else {
        return false;
    };
    let mut rules = inst.rules;
    rules.tick_size = tick;
    if let Some(m) = min {
        rules.min_order_size = m;
    }
    let changed = rules != inst.rules;
    inst.rules = rules;
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::TickSize;

    #[test]
    fn updates_grow_the_table_and_replace_rules() {
        let inst = |t: u32, tick| Instrument {
            token_id: TokenId::parse(&t.to_string()).unwrap(),
            rules: MarketRules {
                tick_size: tick,
                min_order_size: Size(5_000_000),
                neg_risk: false,
            },
            fees: None,
            settle: None,
        };
        let mut table: Instruments = vec![Some(inst(1, TickSize::CENT))];
        apply(
            &mut table,
            vec![
                (AssetIndex(3), inst(4, TickSize::CENT)),
                (AssetIndex(0), inst(1, TickSize::MILLI)),
            ],
        );
        assert_eq!(table.len(), 4);
        assert_eq!(table[0], Some(inst(1, TickSize::MILLI)));
        assert_eq!(table[1..3], [None, None]);
        assert_eq!(table[3], Some(inst(4, TickSize::CENT)));
    }

    #[test]
    fn settle_info_from_gammas_fields() {
        let cid = format!("0x{}", "ab".repeat(32));
        let nr = "0xcc4727a6394620b9c8ae82db3db50a34d5ca9828675547bcc4cddf5e86b63000";
        let q = "0xcc4727a6394620b9c8ae82db3db50a34d5ca9828675547bcc4cddf5e86b63002";
        let s = SettleInfo::from_gamma(&cid, 1, Some((nr, q))).unwrap();
        assert_eq!(s.condition.0, [0xab; 32]);
        assert_eq!(s.outcome, 1);
        assert_eq!(s.neg_risk.unwrap().0.to_string(), nr);
        assert_eq!(s.neg_risk.unwrap().1, 2, "the question id's low byte");
        assert_eq!(
            SettleInfo::from_gamma(&cid, 0, None).unwrap().neg_risk,
            None
        );
        assert_eq!(SettleInfo::from_gamma(&cid, 2, None), None);
        assert_eq!(SettleInfo::from_gamma("0x12", 0, None), None);
        assert_eq!(SettleInfo::from_gamma(&cid, 0, Some((nr, "nope"))), None);
    }
}
