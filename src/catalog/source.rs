//! Where a refresh's markets come from: `CatalogSource`, implemented by `GammaSource` (the
//! Gamma REST API, real or the venue's) and by anything a test wants to feed in.

use std::collections::BTreeMap;

use crate::adapters::polymarket::gamma::{
    EventsQuery, GammaClient, GammaError, MarketsQuery, Paging, Truncation,
};
use crate::core::fees::FeeSchedule;

use super::config::{CatalogConfig, ListingSource};
use super::model::Catalog;
use super::normalize::{NormalizeReport, normalize_events, normalize_markets};

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
        let listing = match self.source {
            ListingSource::Events => self.client.events(&self.events_query, self.paging)?,
            ListingSource::Markets => self.client.markets(&self.markets_query, self.paging)?,
        };
        let complete = listing.truncated.is_none();
        let (catalog, report) = match self.source {
            ListingSource::Events => {
                normalize_events(&listing.items, now_ms, complete, &self.fee_defaults)
            }
            ListingSource::Markets => {
                normalize_markets(&listing.items, now_ms, complete, &self.fee_defaults)
            }
        };
        Ok(Fetched {
            catalog,
            report,
            pages: listing.pages,
            truncated: listing.truncated,
        })
    }
}
