//! The market set of an in-process venue (`demo`, `flood`): its market list as the engine's
//! token registry, outcome groups and labels.

use polyarb::cli::markets::{MarketLabel, MarketSet};
use polyarb::core::{AssetIndex, AssetRegistry, Size};
use polyarb::strategy::{MAX_LEGS, OutcomeGroup};

use crate::MarketSummary;

/// Every neg-risk event becomes a group of its questions' YES and NO tokens, if it has 2 to
/// `MAX_LEGS` questions (else it is refused with its reason). A binary market is no group:
/// its YES and NO books are one book.
pub fn from_venue(markets: &[MarketSummary], min_order_size: Size) -> anyhow::Result<MarketSet> {
    let mut registry = AssetRegistry::with_capacity(markets.len() * 2);
    let mut groups = Vec::new();
    let mut labels = Vec::new();
    let mut refused = Vec::new();
    // (event, YES tokens, NO tokens, augmented)
    type Event = (String, Vec<AssetIndex>, Vec<AssetIndex>, bool);
    let mut neg_risk: Vec<Event> = Vec::new();
    for m in markets {
        let mut assets = Vec::with_capacity(m.token_ids.len());
        for t in &m.token_ids {
            assets.push(registry.register(t.as_bytes())?);
        }
        for &a in &assets {
            registry.set_market(a, &m.condition_id);
        }
        if let (true, Some(id), 2) = (m.neg_risk, &m.neg_risk_market_id, assets.len()) {
            match neg_risk.iter_mut().find(|(k, ..)| k == id) {
                Some((_, yes, no, augmented)) => {
                    yes.push(assets[0]);
                    no.push(assets[1]);
                    *augmented |= m.neg_risk_augmented;
                }
                None => neg_risk.push((
                    id.clone(),
                    vec![assets[0]],
                    vec![assets[1]],
                    m.neg_risk_augmented,
                )),
            }
        }
        labels.push(MarketLabel {
            question: m.question.clone(),
            assets,
        });
    }
    for (id, yes, no, augmented) in neg_risk {
        if augmented {
            // Its placeholders and "Other" can be reassigned: one of each is no complete set.
            refused.push((id, "augmented"));
        } else if yes.len() > MAX_LEGS {
            refused.push((id, "too_many_questions"));
        } else if yes.len() < 2 {
            refused.push((id, "too_few_members"));
        } else {
            groups.push(OutcomeGroup::new(
                groups.len() as u32,
                yes,
                no,
                Default::default(),
                min_order_size,
            ));
        }
    }
    Ok(MarketSet {
        registry,
        groups,
        labels,
        refused,
    })
}
