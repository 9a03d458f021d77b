//! The market set of an in-process venue (`demo`, `flood`): its market list as the engine's
//! token registry, outcome groups and labels.

use polyarb::cli::markets::{MarketLabel, MarketSet};
use polyarb::core::{AssetIndex, AssetRegistry, Size};
use polyarb::strategy::{MAX_LEGS, OutcomeGroup};

use crate::MarketSummary;

/// Binary markets become YES/NO groups; a neg-risk event whose questions fit in one hot-path
/// opportunity also becomes a group of its YES tokens (exactly one of them pays).
pub fn from_venue(markets: &[MarketSummary], min_order_size: Size) -> anyhow::Result<MarketSet> {
    let mut registry = AssetRegistry::with_capacity(markets.len() * 2);
    let mut groups = Vec::new();
    let mut labels = Vec::new();
    let mut neg_risk: Vec<(String, Vec<AssetIndex>)> = Vec::new();
    for m in markets {
        let mut assets = Vec::with_capacity(m.token_ids.len());
        for t in &m.token_ids {
            assets.push(registry.register(t.as_bytes())?);
        }
        if let Some(&first) = assets.first() {
            registry.set_market(first, &m.condition_id);
        }
        for &a in &assets {
            registry.set_market(a, &m.condition_id);
        }
        if assets.len() == 2 {
            groups.push(OutcomeGroup {
                id: groups.len() as u32,
                assets: assets.clone(),
                fees: Default::default(),
                min_order_size,
            });
        }
        if let (true, Some(id)) = (m.neg_risk, &m.neg_risk_market_id) {
            match neg_risk.iter_mut().find(|(k, _)| k == id) {
                Some((_, yes)) => yes.push(assets[0]),
                None => neg_risk.push((id.clone(), vec![assets[0]])),
            }
        }
        labels.push(MarketLabel {
            question: m.question.clone(),
            assets,
        });
    }
    for (_, yes) in neg_risk {
        if yes.len() <= MAX_LEGS {
            groups.push(OutcomeGroup {
                id: groups.len() as u32,
                assets: yes,
                fees: Default::default(),
                min_order_size,
            });
        }
    }
    Ok(MarketSet {
        registry,
        groups,
        labels,
    })
}
