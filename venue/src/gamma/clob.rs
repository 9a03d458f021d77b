//! The CLOB's market listings built from the Gamma data: `GET /markets` pages (100 per page,
//! cursor = base64 of the offset, `LTE=` at the end), `GET /markets/{condition_id}`, and the
//! simplified and sampling listings the official client reads (Polymarket's docs and clients).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Serialize;

use super::super::http::{HttpRequest, HttpResponse};
use super::api::{GammaApi, clob_market};
use super::obj::Obj;

/// The CLOB's page size.
const CLOB_PAGE: usize = 100;
/// The CLOB's end-of-listing cursor: base64("-1").
pub const END_CURSOR: &str = "LTE=";
/// The CLOB's answer for a condition id it does not list.
pub const MARKET_NOT_FOUND: &str = "market not found";

#[derive(Serialize)]
struct Page {
    data: Vec<Obj>,
    next_cursor: String,
    limit: usize,
    count: usize,
}

/// A CLOB market reduced to the simplified listing's keys.
pub fn simplified(g: &Obj) -> Obj {
    let full = clob_market(g);
    let mut o = Obj::new();
    for k in [
        "condition_id",
        "rewards",
        "tokens",
        "active",
        "closed",
        "archived",
        "accepting_orders",
    ] {
        if let Some(v) = full.get(k) {
            o.set_raw(k, v.to_owned());
        }
    }
    o
}

impl GammaApi {
    /// One page of every listed market, rendered by `shape`.
    pub(super) fn clob_page(&self, req: &HttpRequest<'_>, shape: fn(&Obj) -> Obj) -> HttpResponse {
        let cursor = req.query("next_cursor").unwrap_or("");
        let offset = if cursor.is_empty() {
            0
        } else if cursor == END_CURSOR {
            usize::MAX
        } else {
            match B64
                .decode(cursor)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .and_then(|s| s.parse::<usize>().ok())
            {
                Some(o) => o,
                None => return HttpResponse::error(400, "invalid next_cursor"),
            }
        };
        let data = self.data();
        let hub = self.synthetic.then(|| self.ctl.hub());
        let books = hub.as_ref().map(|h| h.books());
        let all: Vec<usize> = (0..data.markets.len())
            .filter(|&i| data.markets[i].listed)
            .collect();
        let page: Vec<Obj> = all
            .iter()
            .skip(offset)
            .take(CLOB_PAGE)
            .map(|&i| shape(&data.render_market(i, books, false)))
            .collect();
        let end = offset.saturating_add(page.len());
        let next = if page.is_empty() || end >= all.len() {
            END_CURSOR.to_string()
        } else {
            B64.encode(end.to_string())
        };
        HttpResponse::json(
            200,
            &Page {
                count: page.len(),
                data: page,
                next_cursor: next,
                limit: CLOB_PAGE,
            },
        )
    }

    /// `GET /markets/{condition_id}`: one market in the CLOB's shape.
    pub(super) fn clob_market_one(&self, path: &str) -> HttpResponse {
        let cond = path.trim_start_matches("/markets/");
        let data = self.data();
        let found = data.markets.iter().position(|m| {
            m.listed
                && m.obj
                    .str("conditionId")
                    .is_some_and(|c| c.eq_ignore_ascii_case(cond))
        });
        let Some(i) = found else {
            return HttpResponse::error(404, MARKET_NOT_FOUND);
        };
        let hub = self.synthetic.then(|| self.ctl.hub());
        let books = hub.as_ref().map(|h| h.books());
        HttpResponse::json(200, &clob_market(&data.render_market(i, books, false)))
    }
}
