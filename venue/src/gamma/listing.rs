//! Gamma's listing semantics on the venue's data: the filters of `GET /markets` and
//! `GET /events` (repeated keys for lists), `order`/`ascending`, and `limit`/`offset` with the
//! real limits (`limit` capped at 100, `offset` past 10,000 → 422, more than 100
//! `condition_ids` → 422).

use polyarb::catalog::time::parse_unix_s;
use polyarb::core::TokenId;

use super::data::{GammaData, string_list_raw};
use super::obj::Obj;

/// Largest page.
pub const MAX_LIMIT: usize = 100;
/// Largest offset; beyond it Gamma answers 422.
pub const MAX_OFFSET: usize = 10_000;
/// Most `condition_ids` in one request.
pub const MAX_IDS: usize = 100;

/// A refused listing request: HTTP status and message.
pub type Refusal = (u16, String);

/// The query of one listing request.
pub struct ListQuery<'a> {
    pairs: &'a [(String, String)],
}

impl<'a> ListQuery<'a> {
    pub fn new(pairs: &'a [(String, String)]) -> Self {
        Self { pairs }
    }

    fn all(&self, key: &str) -> Vec<&'a str> {
        // Repeated keys; a comma list is accepted too (some clients send one).
        self.pairs
            .iter()
            .filter(|(k, _)| k == key)
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .collect()
    }

    fn one(&self, key: &str) -> Option<&'a str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn flag(&self, key: &str) -> Result<Option<bool>, Refusal> {
        match self.one(key) {
            None | Some("") => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(v) => Err((422, format!("invalid boolean for {key}: {v:?}"))),
        }
    }

    fn num(&self, key: &str) -> Result<Option<f64>, Refusal> {
        match self.one(key) {
            None | Some("") => Ok(None),
            Some(v) => v
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .map(Some)
                .ok_or((422, format!("invalid number for {key}: {v:?}"))),
        }
    }

    fn date(&self, key: &str) -> Result<Option<i64>, Refusal> {
        match self.one(key) {
            None | Some("") => Ok(None),
            Some(v) => parse_unix_s(v)
                .map(Some)
                .ok_or((422, format!("invalid date for {key}: {v:?}"))),
        }
    }

    /// `(limit, offset)`.
    pub fn paging(&self, default_limit: usize) -> Result<(usize, usize), Refusal> {
        let int = |key: &str, default: usize| -> Result<usize, Refusal> {
            match self.one(key) {
                None | Some("") => Ok(default),
                Some(v) => v
                    .parse::<usize>()
                    .map_err(|_| (422, format!("invalid integer for {key}: {v:?}"))),
            }
        };
        let limit = int("limit", default_limit)?.min(MAX_LIMIT);
        let offset = int("offset", 0)?;
        if offset > MAX_OFFSET {
            return Err((
                422,
                format!("offset must be at most {MAX_OFFSET} (got {offset})"),
            ));
        }
        Ok((limit, offset))
    }
}

fn bool_is(o: &Obj, key: &str, want: Option<bool>) -> bool {
    want.is_none_or(|w| o.bool(key).unwrap_or(false) == w)
}

fn in_range(v: Option<f64>, min: Option<f64>, max: Option<f64>) -> bool {
    let v = v.unwrap_or(0.0);
    min.is_none_or(|m| v >= m) && max.is_none_or(|m| v <= m)
}

fn date_in(o: &Obj, key: &str, min: Option<i64>, max: Option<i64>) -> bool {
    if min.is_none() && max.is_none() {
        return true;
    }
    match o.str(key).as_deref().and_then(parse_unix_s) {
        Some(t) => min.is_none_or(|m| t >= m) && max.is_none_or(|m| t <= m),
        None => false,
    }
}

fn tag_ids(o: &Obj) -> Vec<String> {
    o.get("tags")
        .and_then(|r| serde_json::from_str::<Vec<Obj>>(r.get()).ok())
        .unwrap_or_default()
        .iter()
        .filter_map(|t| t.id("id"))
        .collect()
}

fn tag_slugs(o: &Obj) -> Vec<String> {
    o.get("tags")
        .and_then(|r| serde_json::from_str::<Vec<Obj>>(r.get()).ok())
        .unwrap_or_default()
        .iter()
        .filter_map(|t| t.str("slug"))
        .collect()
}

/// Sorts indices by `order` (`id`, `volume`, `liquidity`, `endDate`, `startDate`) if given.
fn sort(items: &mut [usize], obj: impl Fn(usize) -> Obj, q: &ListQuery<'_>) {
    let Some(order) = q.one("order") else { return };
    let asc = q.one("ascending") != Some("false");
    let key = |i: usize| -> f64 {
        let o = obj(i);
        match order {
            "id" => o.id("id").and_then(|s| s.parse().ok()).unwrap_or(0.0),
            "volume" | "volumeNum" => o.f64("volumeNum").or(o.f64("volume")).unwrap_or(0.0),
            "liquidity" | "liquidityNum" => {
                o.f64("liquidityNum").or(o.f64("liquidity")).unwrap_or(0.0)
            }
            "endDate" | "startDate" => {
                o.str(order).as_deref().and_then(parse_unix_s).unwrap_or(0) as f64
            }
            _ => 0.0,
        }
    };
    items.sort_by(|&a, &b| {
        let o = key(a).total_cmp(&key(b));
        if asc { o } else { o.reverse() }
    });
}

/// The indices of the markets `GET /markets` returns for `q`, before paging.
pub fn select_markets(
    d: &GammaData,
    q: &ListQuery<'_>,
    render: impl Fn(usize) -> Obj,
) -> Result<Vec<usize>, Refusal> {
    let conds = q.all("condition_ids");
    if conds.len() > MAX_IDS {
        return Err((422, format!("at most {MAX_IDS} condition_ids per request")));
    }
    let ids = q.all("id");
    let slugs = q.all("slug");
    let qids = q.all("question_ids");
    let tokens: Vec<TokenId> = q
        .all("clob_token_ids")
        .iter()
        .map(|t| TokenId::parse(t).map_err(|_| (422, format!("invalid clob token id {t:?}"))))
        .collect::<Result<_, _>>()?;
    let tags = q.all("tag_id");
    let (active, closed, archived) = (q.flag("active")?, q.flag("closed")?, q.flag("archived")?);
    let (lmin, lmax) = (q.num("liquidity_num_min")?, q.num("liquidity_num_max")?);
    let (vmin, vmax) = (q.num("volume_num_min")?, q.num("volume_num_max")?);
    let (emin, emax) = (q.date("end_date_min")?, q.date("end_date_max")?);
    let (smin, smax) = (q.date("start_date_min")?, q.date("start_date_max")?);
    let mut out: Vec<usize> = (0..d.markets.len())
        .filter(|&i| d.markets[i].listed)
        .filter(|&i| {
            let o = render(i);
            let has = |list: &[&str], key: &str| {
                list.is_empty()
                    || o.id(key)
                        .is_some_and(|v| list.iter().any(|x| x.eq_ignore_ascii_case(&v)))
            };
            let market_tokens = || {
                o.get("clobTokenIds")
                    .map(string_list_raw)
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|t| TokenId::parse(t).ok())
                    .collect::<Vec<_>>()
            };
            let event_tags = || {
                d.markets[i]
                    .event
                    .map(|e| tag_ids(&d.events[e].obj))
                    .unwrap_or_default()
            };
            has(&conds, "conditionId")
                && has(&ids, "id")
                && has(&slugs, "slug")
                && has(&qids, "questionID")
                && (tokens.is_empty() || market_tokens().iter().any(|t| tokens.contains(t)))
                && (tags.is_empty()
                    || tag_ids(&o)
                        .into_iter()
                        .chain(event_tags())
                        .any(|t| tags.contains(&t.as_str())))
                && bool_is(&o, "active", active)
                && bool_is(&o, "closed", closed)
                && bool_is(&o, "archived", archived)
                && in_range(o.f64("liquidityNum").or(o.f64("liquidity")), lmin, lmax)
                && in_range(o.f64("volumeNum").or(o.f64("volume")), vmin, vmax)
                && date_in(&o, "endDate", emin, emax)
                && date_in(&o, "startDate", smin, smax)
        })
        .collect();
    sort(&mut out, render, q);
    Ok(out)
}

/// The indices of the events `GET /events` returns for `q`, before paging.
pub fn select_events(d: &GammaData, q: &ListQuery<'_>) -> Result<Vec<usize>, Refusal> {
    let ids = q.all("id");
    let slugs = q.all("slug");
    let tags = q.all("tag_id");
    let tag_slug = q.one("tag_slug").filter(|s| !s.is_empty());
    let exclude = q.all("exclude_tag_id");
    let (active, closed, archived) = (q.flag("active")?, q.flag("closed")?, q.flag("archived")?);
    let featured = q.flag("featured")?;
    let (lmin, lmax) = (q.num("liquidity_min")?, q.num("liquidity_max")?);
    let (vmin, vmax) = (q.num("volume_min")?, q.num("volume_max")?);
    let (emin, emax) = (q.date("end_date_min")?, q.date("end_date_max")?);
    let (smin, smax) = (q.date("start_date_min")?, q.date("start_date_max")?);
    let mut out: Vec<usize> = (0..d.events.len())
        .filter(|&i| {
            let e = &d.events[i];
            let o = &e.obj;
            let listed = e.members.is_empty() || e.members.iter().any(|&m| d.markets[m].listed);
            let has = |list: &[&str], key: &str| {
                list.is_empty() || o.id(key).is_some_and(|v| list.contains(&v.as_str()))
            };
            let t = tag_ids(o);
            listed
                && has(&ids, "id")
                && has(&slugs, "slug")
                && (tags.is_empty() || t.iter().any(|x| tags.contains(&x.as_str())))
                && tag_slug.is_none_or(|s| tag_slugs(o).iter().any(|x| x == s))
                && !t.iter().any(|x| exclude.contains(&x.as_str()))
                && bool_is(o, "active", active)
                && bool_is(o, "closed", closed)
                && bool_is(o, "archived", archived)
                && bool_is(o, "featured", featured)
                && in_range(o.f64("liquidity"), lmin, lmax)
                && in_range(o.f64("volume"), vmin, vmax)
                && date_in(o, "endDate", emin, emax)
                && date_in(o, "startDate", smin, smax)
        })
        .collect();
    sort(&mut out, |i| d.events[i].obj.clone(), q);
    Ok(out)
}
