//! The market set a run trades: token registry, outcome groups and labels. The catalog
//! supplies them here; `polyarb-venue` builds them from its in-process venue's market list
//! (`demo`, `flood`).

use polyarb::core::{AssetIndex, AssetRegistry};
use polyarb::strategy::OutcomeGroup;

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

/// The start banner's market line (`source`: where the markets came from, if named), with one
/// line per refused event under it.
pub fn print_banner(
    markets: usize,
    source: Option<&str>,
    assets: usize,
    groups: usize,
    refused: &[String],
) {
    let from = source.map(|s| format!(" from {s}")).unwrap_or_default();
    println!(
        "markets  {markets}{from} ({assets} assets, {groups} neg-risk groups watched, {} refused)",
        refused.len()
    );
    for r in refused {
        println!("         {r}");
    }
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
