//! The CLOB's market listings, built from the Gamma data: the `/markets` item shape, the
//! simplified shape, cursor paging (100 per page, cursor = base64 of the offset, `LTE=` at the
//! end) and the single-market answer (Polymarket's docs and clients). Pure functions of the
//! data; `api::GammaApi` routes the requests here.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Serialize;
use serde_json::value::RawValue;

use super::super::book::VenueBooks;
use super::super::http::HttpResponse;
use super::data::{GammaData, string_list_raw};
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
    let full = market(g);
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

/// The page of every listed market that starts at `cursor`, each rendered by `shape`; `books`
/// gives live prices to synthetic markets.
pub fn page(
    data: &GammaData,
    books: Option<&VenueBooks>,
    cursor: &str,
    shape: fn(&Obj) -> Obj,
) -> HttpResponse {
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

/// `GET /markets/{condition_id}`: the listed market of `condition_id` in the CLOB's shape.
pub fn one(data: &GammaData, books: Option<&VenueBooks>, condition_id: &str) -> HttpResponse {
    let found = data.markets.iter().position(|m| {
        m.listed
            && m.obj
                .str("conditionId")
                .is_some_and(|c| c.eq_ignore_ascii_case(condition_id))
    });
    let Some(i) = found else {
        return HttpResponse::error(404, MARKET_NOT_FOUND);
    };
    HttpResponse::json(200, &market(&data.render_market(i, books, false)))
}

/// A Gamma market in the CLOB's `/markets` item shape (numbers kept verbatim).
pub fn market(g: &Obj) -> Obj {
    let mut o = Obj::new();
    let copy = |o: &mut Obj, to: &str, from: &str, default: &str| match g.get(from) {
        Some(v) => o.set_raw(to, v.to_owned()),
        None => o.set_raw(
            to,
            RawValue::from_string(default.to_string()).unwrap_or_default(),
        ),
    };
    copy(&mut o, "enable_order_book", "enableOrderBook", "false");
    copy(&mut o, "active", "active", "false");
    copy(&mut o, "closed", "closed", "false");
    copy(&mut o, "archived", "archived", "false");
    copy(&mut o, "accepting_orders", "acceptingOrders", "false");
    o.set("accepting_order_timestamp", &serde_json::Value::Null);
    copy(&mut o, "minimum_order_size", "orderMinSize", "0");
    copy(&mut o, "minimum_tick_size", "orderPriceMinTickSize", "0.01");
    copy(&mut o, "condition_id", "conditionId", "\"\"");
    copy(&mut o, "question_id", "questionID", "\"\"");
    copy(&mut o, "question", "question", "\"\"");
    copy(&mut o, "description", "description", "\"\"");
    copy(&mut o, "market_slug", "slug", "\"\"");
    copy(&mut o, "end_date_iso", "endDate", "null");
    o.set("game_start_time", &serde_json::Value::Null);
    o.set("seconds_delay", &0);
    o.set("fpmm", "");
    o.set("maker_base_fee", &0);
    o.set("taker_base_fee", &0);
    o.set("notifications_enabled", &true);
    copy(&mut o, "neg_risk", "negRisk", "false");
    o.set(
        "neg_risk_market_id",
        &g.str("negRiskMarketID").unwrap_or_default(),
    );
    o.set(
        "neg_risk_request_id",
        &g.str("negRiskRequestID").unwrap_or_default(),
    );
    o.set("icon", "");
    o.set("image", "");
    o.set(
        "rewards",
        &serde_json::json!({"rates": null, "min_size": 0, "max_spread": 0}),
    );
    o.set("is_50_50_outcome", &false);
    let names = g.get("outcomes").map(string_list_raw).unwrap_or_default();
    let tokens = g
        .get("clobTokenIds")
        .map(string_list_raw)
        .unwrap_or_default();
    let prices = g
        .get("outcomePrices")
        .map(string_list_raw)
        .unwrap_or_default();
    let list: Vec<Obj> = tokens
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let mut x = Obj::new();
            x.set("token_id", t);
            x.set(
                "outcome",
                names.get(i).map(String::as_str).unwrap_or_default(),
            );
            match prices.get(i) {
                // Outcome prices are decimal strings inside Gamma's string; the CLOB sends
                // numbers. Validated digits only (anything else becomes 0).
                Some(p) if p.bytes().all(|b| b.is_ascii_digit() || b == b'.') && !p.is_empty() => {
                    x.set_number_text("price", p)
                }
                _ => x.set_number_text("price", "0"),
            }
            x.set("winner", &false);
            x
        })
        .collect();
    o.set("tokens", &list);
    o.set("tags", &Vec::<String>::new());
    o
}
