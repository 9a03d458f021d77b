//! The venue's Gamma API and the CLOB's market listing, for the catalog's tests and demos.
//!
//! Gamma is its own host in production (`gamma-api.polymarket.com`); here it shares the
//! venue's HTTP server under the `/gamma` prefix, so its base URL is
//! `http://127.0.0.1:PORT/gamma` (`VenueHandle::gamma_url`):
//! - `GET /gamma/markets`, `GET /gamma/events`: the real shapes (camelCase, JSON-in-a-string
//!   `outcomes`/`outcomePrices`/`clobTokenIds`, numbers where Gamma has numbers), the real
//!   paging limits (`limit` ≤ 100; `offset` > 10,000 → 422), filters, rate limits (429 +
//!   `Retry-After`), from the synthetic model (`data`) or from files in the fixtures' shapes.
//! - `GET /markets?next_cursor=` (CLOB): `{data, next_cursor, limit, count}`, cursor =
//!   base64 of the offset, `LTE=` at the end.
//! - `GET /markets/{condition_id}`, `/simplified-markets`, `/sampling-markets`,
//!   `/sampling-simplified-markets` (CLOB, `clob`): the same markets in the CLOB's shapes.
//! - Admin: `POST /admin/rules` changes a market's rules at run time, `POST
//!   /admin/gamma/market` patches any field (or delists), `POST /admin/gamma/fault` queues
//!   faults, `GET /admin/gamma/stats` counts requests.

pub mod api;
pub mod clob;
pub mod data;
pub mod faults;
pub mod listing;
pub mod obj;

pub use api::{GAMMA_PREFIX, GammaApi, GammaStats};
pub use data::{GammaData, GammaFileError, GammaVenueConfig};
pub use faults::GammaFault;
