//! What the live sender needs to trade an asset of the pipeline: its token, the market's
//! rules (tick, minimum size, neg-risk exchange) and taker fee schedule, by asset index.
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
        for token in m.tokens() {
            let Some(a) = registry.lookup(token.to_string().as_bytes()) else {
                continue;
            };
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
}
