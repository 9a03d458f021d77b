//! Where a refresh's markets come from: `CatalogSource`, implemented by `GammaSource` (the
//! Gamma REST API, real or the venue's) and by anything a test wants to feed in.

use std::collections::BTreeMap;

use crate::adapters::polymarket::gamma::{
    EventsQuery, GammaClient, GammaError, MarketsQuery, Paging, Truncation,
};
use crate::core::fees::FeeSchedule;

use super::config::{CatalogConfig, ListingSource};
use super::model::Catalog;
use super::normalize::{NormalizeReport, Normalizer};

/// One normalized listing.
#[derive(Debug)]
pub struct Fetched {
    pub catalog: Catalog,
    pub report: NormalizeReport,
    pub pages: u32,
    /// `Some` when paging stopped early (then `catalog.complete` is false).
    pub truncated: Option<Truncation>,
}

/// Produces a normalized snapshot of the venue's markets.
pub trait CatalogSource: Send {
    /// Fetches and normalizes; `now_ms` is the snapshot's time (UNIX milliseconds).
    fn fetch(&mut self, now_ms: u64) -> Result<Fetched, GammaError>;
}

/// Gamma over HTTP.
pub struct GammaSource {
    client: GammaClient,
    source: ListingSource,
    events_query: EventsQuery,
    markets_query: MarketsQuery,
    paging: Paging,
    fee_defaults: BTreeMap<String, FeeSchedule>,
}

impl GammaSource {
    pub fn new(cfg: &CatalogConfig) -> Self {
        Self {
            client: GammaClient::new(&cfg.gamma_url, cfg.http.clone()),
            source: cfg.source,
            events_query: cfg.events_query.clone(),
            markets_query: cfg.markets_query.clone(),
            paging: Paging {
                limit: cfg.page_limit,
                start_offset: 0,
                max_pages: cfg.max_pages,
            },
            fee_defaults: cfg.fee_schedules(),
        }
    }

    pub fn client(&self) -> &GammaClient {
        &self.client
    }
}

impl CatalogSource for GammaSource {
    fn fetch(&mut self, now_ms: u64) -> Result<Fetched, GammaError> {
        // Normalized page by page: the raw listing is never held whole.
        let mut n = Normalizer::new(now_ms, &self.fee_defaults);
        let (pages, truncated) = match self.source {
            ListingSource::Events => {
                self.client
                    .each_events_page(&self.events_query, self.paging, |page| {
                        page.iter().for_each(|e| n.add_event(e))
                    })?
            }
            ListingSource::Markets => {
                self.client
                    .each_markets_page(&self.markets_query, self.paging, |page| {
                        page.iter().for_each(|m| n.add_market(m))
                    })?
            }
        };
        let (catalog, report) = n.finish(truncated.is_none());
        Ok(Fetched {
            catalog,
            report,
            pages,
            truncated,
        })
    }
}
