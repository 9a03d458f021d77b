//! The market set a run trades: token registry, outcome groups and labels, taken from an
//! in-process venue (`demo`, `flood`). Against an external venue the catalog supplies them.

use polyarb::core::{AssetIndex, AssetRegistry, Size};
use polyarb::strategy::{MAX_LEGS, OutcomeGroup};
use polyarb::venue::MarketSummary;

/// A market as the dashboard labels it.
pub struct MarketLabel {
    pub question: String,
    pub assets: Vec<AssetIndex>,
}

pub struct MarketSet {
    pub registry: AssetRegistry,
    pub groups: Vec<OutcomeGroup>,
    pub labels: Vec<MarketLabel>,
    /// Neg-risk events that got no group: (event, reason). Never counted as watched.
    pub refused: Vec<(String, &'static str)>,
}

impl MarketSet {
    /// One line per refused event, for the start banner and the summary.
    pub fn refused_lines(&self) -> Vec<String> {
        self.refused
            .iter()
            .map(|(id, why)| format!("group refused {id}: {why}"))
            .collect()
    }
}

/// Every neg-risk event becomes a group of its questions' YES and NO tokens, if it has 2 to
/// `MAX_LEGS` questions (else it is refused with its reason). A binary market is no group:
/// its YES and NO books are one book.
pub fn from_venue(markets: &[MarketSummary], min_order_size: Size) -> anyhow::Result<MarketSet> {
    let mut registry = AssetRegistry::with_capacity(markets.len() * 2);
    let mut groups = Vec::new();
    let mut labels = Vec::new();
    let mut refused = Vec::new();
    // (event, YES tokens, NO tokens)
    type Event = (String, Vec<AssetIndex>, Vec<AssetIndex>);
    let mut neg_risk: Vec<Event> = Vec::new();
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
        if let (true, Some(id), 2) = (m.neg_risk, &m.neg_risk_market_id, assets.len()) {
            match neg_risk.iter_mut().find(|(k, _, _)| k == id) {
                Some((_, yes, no)) => {
                    yes.push(assets[0]);
                    no.push(assets[1]);
                }
                None => neg_risk.push((id.clone(), vec![assets[0]], vec![assets[1]])),
            }
        }
        labels.push(MarketLabel {
            question: m.question.clone(),
            assets,
        });
    }
    for (id, yes, no) in neg_risk {
        if yes.len() > MAX_LEGS {
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

/// The market set of the catalog's first refresh (its registry, groups and labels), and the
/// groups to start halted (pending rule changes).
pub fn from_catalog(u: &polyarb::catalog::CatalogUpdate) -> (MarketSet, Vec<u32>) {
    let sel = &u.selection;
    let (groups, held) = sel.startup_groups();
    (
        MarketSet {
            registry: sel.registry.clone(),
            groups,
            labels: catalog_labels(u, sel.registry.len()),
            refused: sel
                .refused_groups
                .iter()
                .map(|(id, why)| (id.to_string(), why.as_str()))
                .collect(),
        },
        held,
    )
}

/// Labels of an update's watched markets whose assets are all below `known` (those a running
/// pipeline has: the view follows markets listed and closed while it runs).
pub fn catalog_labels(u: &polyarb::catalog::CatalogUpdate, known: usize) -> Vec<MarketLabel> {
    let sel = &u.selection;
    u.catalog
        .markets
        .values()
        .filter(|m| sel.watched.contains(&m.condition_id))
        .filter_map(|m| {
            let assets: Option<Vec<AssetIndex>> = m
                .tokens()
                .map(|t| sel.registry.lookup(t.to_string().as_bytes()))
                .collect();
            let assets = assets?;
            assets.iter().all(|a| a.get() < known).then(|| MarketLabel {
                question: m.question.clone(),
                assets,
            })
        })
        .collect()
}
