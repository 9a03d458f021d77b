//! The venue's Gamma data: markets and events as Gamma shapes them, built from the synthetic
//! model (consistent with the CLOB side: same condition ids, token ids, tick sizes, neg-risk
//! groups) or loaded from files in the fixtures' shapes, and patched at run time by the admin
//! endpoints (rule changes, closing, delisting).

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::value::RawValue;
use sha3::{Digest, Keccak256};

use polyarb::core::fees::FeeSchedule;
use polyarb::core::{Price, Side};

use super::super::book::VenueBooks;
use super::obj::Obj;

/// Why the Gamma files could not be served.
#[derive(Debug, thiserror::Error)]
pub enum GammaFileError {
    #[error("cannot read Gamma file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("Gamma file {path}: {message}")]
    Shape { path: PathBuf, message: String },
}

/// `[gamma]` in venue.toml.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct GammaVenueConfig {
    /// Serve these files instead of the synthetic markets (each: a Gamma market, an array of
    /// markets, an event with `markets`, or an array of events; relative to the config file).
    pub files: Vec<PathBuf>,
    /// `GET /gamma/markets` per rate window (Gamma: 300 per 10 s).
    pub markets_limit: u32,
    /// `GET /gamma/events` per rate window (Gamma: 500 per 10 s).
    pub events_limit: u32,
    /// Page size when a request has no `limit`.
    pub default_limit: u32,
    /// Synthetic markets' taker fee rate (`"0"`: fees disabled, no `feeSchedule`).
    pub fee_rate: Price,
    pub fee_exponent: u8,
    /// Synthetic markets' `endDate`.
    pub end_date: String,
}

impl Default for GammaVenueConfig {
    fn default() -> Self {
        Self {
            files: Vec::new(),
            markets_limit: 300,
            events_limit: 500,
            default_limit: 20,
            fee_rate: Price::ZERO,
            fee_exponent: 1,
            end_date: "2030-01-01T00:00:00Z".into(),
        }
    }
}

impl GammaVenueConfig {
    /// The synthetic markets' `feeSchedule` (`None` when `fee_rate` is 0: fees disabled).
    pub fn fee_schedule(&self) -> Option<FeeSchedule> {
        (!self.fee_rate.is_zero()).then_some(FeeSchedule {
            rate_ppm: self.fee_rate.0,
            exponent: self.fee_exponent,
            taker_only: true,
        })
    }
}

/// One market as served.
#[derive(Clone, Debug)]
pub struct MarketEntry {
    pub obj: Obj,
    /// Index into the venue's books for synthetic markets: prices and ticks are read live.
    pub live: Option<u32>,
    /// Delisted markets are served nowhere (`POST /admin/gamma/market` with `listed: false`).
    pub listed: bool,
    /// The event it belongs to.
    pub event: Option<usize>,
}

/// One event as served (its markets are rendered from `members`).
#[derive(Clone, Debug)]
pub struct EventEntry {
    pub obj: Obj,
    pub members: Vec<usize>,
}

/// Every Gamma market and event of the venue.
#[derive(Clone, Debug, Default)]
pub struct GammaData {
    pub markets: Vec<MarketEntry>,
    pub events: Vec<EventEntry>,
}

fn keccak_hex(parts: &[&[u8]]) -> String {
    let mut h = Keccak256::new();
    for p in parts {
        h.update(p);
    }
    format!("0x{}", hex::encode(h.finalize()))
}

/// A small deterministic number from an id, for informational volumes.
fn spread_of(id: &str, modulo: u64) -> u64 {
    let d = Keccak256::digest(id.as_bytes());
    u64::from_be_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]]) % modulo
}

fn tag(id: &str, label: &str, slug: &str) -> serde_json::Value {
    serde_json::json!({"id": id, "label": label, "slug": slug})
}

impl GammaData {
    /// Gamma's view of the synthetic market set: one event per binary market, one neg-risk
    /// event per group.
    pub fn from_books(books: &VenueBooks, cfg: &GammaVenueConfig) -> Self {
        let mut d = Self::default();
        let fees = cfg.fee_schedule();
        let mut groups: Vec<(String, usize)> = Vec::new();
        for (m, info) in books.markets.iter().enumerate() {
            let cond = &info.condition_id;
            let i = d.markets.len();
            let (event, slug, group_title) = match &info.neg_risk_market_id {
                None => {
                    let slug = format!("synthetic-market-{m}");
                    let mut e = Obj::new();
                    e.set("id", &(100_000 + m).to_string());
                    e.set("ticker", &slug);
                    e.set("slug", &slug);
                    e.set("title", &info.question);
                    e.set("description", &rules_text(&info.question));
                    e.set("resolutionSource", RESOLUTION_SOURCE);
                    e.set("endDate", &cfg.end_date);
                    for (k, v) in [("active", true), ("closed", false), ("archived", false)] {
                        e.set(k, &v);
                    }
                    e.set("negRisk", &false);
                    e.set("enableNegRisk", &false);
                    e.set("negRiskAugmented", &false);
                    e.set("enableOrderBook", &true);
                    e.set("tags", &[tag("1001", "Synthetic", "synthetic")]);
                    d.events.push(EventEntry {
                        obj: e,
                        members: vec![i],
                    });
                    (d.events.len() - 1, slug, None)
                }
                Some(nr) => {
                    let g = match groups.iter().position(|(id, _)| id == nr) {
                        Some(g) => g,
                        None => {
                            let g = groups.len();
                            let mut e = Obj::new();
                            e.set("id", &(200_000 + g).to_string());
                            let slug = format!("synthetic-group-{g}");
                            e.set("ticker", &slug);
                            e.set("slug", &slug);
                            e.set(
                                "title",
                                &format!("Synthetic group {g}: which outcome wins?"),
                            );
                            e.set("description", &rules_text(&format!("Synthetic group {g}")));
                            e.set("resolutionSource", RESOLUTION_SOURCE);
                            e.set("endDate", &cfg.end_date);
                            for (k, v) in [("active", true), ("closed", false), ("archived", false)]
                            {
                                e.set(k, &v);
                            }
                            e.set("negRisk", &true);
                            e.set("negRiskMarketID", nr);
                            e.set("enableNegRisk", &true);
                            e.set("negRiskAugmented", &info.neg_risk_augmented);
                            e.set("enableOrderBook", &true);
                            e.set(
                                "tags",
                                &[
                                    tag("1001", "Synthetic", "synthetic"),
                                    tag("1002", "Neg Risk", "neg-risk"),
                                ],
                            );
                            d.events.push(EventEntry {
                                obj: e,
                                members: Vec::new(),
                            });
                            groups.push((nr.clone(), d.events.len() - 1));
                            g
                        }
                    };
                    let ev = groups[g].1;
                    let q = d.events[ev].members.len();
                    d.events[ev].members.push(i);
                    let title = info
                        .group_item_title
                        .clone()
                        .unwrap_or_else(|| format!("Outcome {q}"));
                    (ev, format!("synthetic-group-{g}-outcome-{q}"), Some(title))
                }
            };
            let mut o = Obj::new();
            o.set("id", &(500_000 + m).to_string());
            o.set("question", &info.question);
            o.set("conditionId", cond);
            let qid = info
                .question_id
                .clone()
                .unwrap_or_else(|| keccak_hex(&[b"polyarb/synth/question", cond.as_bytes()]));
            o.set("questionID", &qid);
            o.set("slug", &slug);
            o.set("description", &rules_text(&info.question));
            o.set("resolutionSource", RESOLUTION_SOURCE);
            o.set("startDate", "2025-01-01T00:00:00Z");
            o.set("endDate", &cfg.end_date);
            o.set("endDateIso", cfg.end_date.get(..10).unwrap_or_default());
            if let Some(t) = &group_title {
                o.set("groupItemTitle", t);
            }
            o.set("outcomes", "[\"Yes\", \"No\"]");
            let tokens: Vec<String> = info
                .assets
                .iter()
                .map(|&a| books.asset(a).token_str.to_string())
                .collect();
            o.set(
                "clobTokenIds",
                &serde_json::to_string(&tokens).unwrap_or_default(),
            );
            for (k, v) in [
                ("active", true),
                ("closed", false),
                ("archived", false),
                ("acceptingOrders", true),
                ("enableOrderBook", true),
                ("restricted", true),
            ] {
                o.set(k, &v);
            }
            o.set("negRisk", &info.neg_risk());
            match &info.neg_risk_market_id {
                Some(nr) => {
                    o.set("negRiskMarketID", nr);
                    o.set(
                        "negRiskRequestID",
                        &keccak_hex(&[b"polyarb/synth/request", cond.as_bytes()]),
                    );
                }
                None => o.set("negRiskRequestID", ""),
            }
            o.set("negRiskOther", &info.neg_risk_other);
            if let Some(&a) = info.assets.first() {
                o.set_micros("orderMinSize", books.asset(a).min_order_size.0);
            }
            let volume = spread_of(cond, 50_000_000) as f64 / 100.0;
            o.set("volume", &format!("{volume}"));
            o.set("volumeNum", &volume);
            o.set(
                "volume24hr",
                &(spread_of(&format!("{cond}/24h"), 1_000_000) as f64 / 100.0),
            );
            o.set("umaResolutionStatuses", "[]");
            match fees {
                Some(f) => {
                    o.set("feesEnabled", &true);
                    o.set("feeType", "synthetic_fees");
                    let mut fs = Obj::new();
                    fs.set_number_text("exponent", &f.exponent.to_string());
                    fs.set_micros("rate", u64::from(f.rate_ppm));
                    fs.set_number_text(
                        "rebateRate",
                        &polyarb::core::Price(crate::trading::state::MAKER_REBATE_PPM as u32)
                            .to_string(),
                    );
                    fs.set("takerOnly", &true);
                    o.set("feeSchedule", &fs);
                }
                None => {
                    o.set("feesEnabled", &false);
                    o.set("feeType", &serde_json::Value::Null);
                }
            }
            d.markets.push(MarketEntry {
                obj: o,
                live: Some(m as u32),
                listed: true,
                event: Some(event),
            });
        }
        d
    }

    /// Loads files in the fixtures' shapes (see `GammaVenueConfig::files`).
    pub fn from_files(paths: &[PathBuf]) -> Result<Self, GammaFileError> {
        let mut d = Self::default();
        for p in paths {
            d.load_file(p)?;
        }
        Ok(d)
    }

    fn load_file(&mut self, p: &Path) -> Result<(), GammaFileError> {
        let text = std::fs::read(p).map_err(|source| GammaFileError::Read {
            path: p.to_path_buf(),
            source,
        })?;
        let bad = |message: String| GammaFileError::Shape {
            path: p.to_path_buf(),
            message,
        };
        let first = text.iter().find(|b| !b.is_ascii_whitespace()).copied();
        let items: Vec<Obj> = if first == Some(b'[') {
            serde_json::from_slice(&text).map_err(|e| bad(e.to_string()))?
        } else {
            vec![serde_json::from_slice(&text).map_err(|e| bad(e.to_string()))?]
        };
        for it in items {
            if it.get("markets").is_some() {
                self.add_event(it).map_err(bad)?;
            } else {
                self.add_market(it, None);
            }
        }
        Ok(())
    }

    fn event_by_id(&self, id: &str) -> Option<usize> {
        self.events
            .iter()
            .position(|e| e.obj.id("id").as_deref() == Some(id))
    }

    fn add_event(&mut self, mut obj: Obj) -> Result<(), String> {
        let markets: Vec<Obj> = match obj.get("markets") {
            Some(raw) => {
                serde_json::from_str(raw.get()).map_err(|e| format!("event markets: {e}"))?
            }
            None => Vec::new(),
        };
        obj.remove("markets");
        let ev = match obj.id("id").and_then(|id| self.event_by_id(&id)) {
            Some(ev) => ev,
            None => {
                self.events.push(EventEntry {
                    obj,
                    members: Vec::new(),
                });
                self.events.len() - 1
            }
        };
        for m in markets {
            self.add_market(m, Some(ev));
        }
        Ok(())
    }

    fn add_market(&mut self, obj: Obj, event: Option<usize>) {
        let i = self.markets.len();
        let event = event.or_else(|| {
            // A `/markets` item names its event in `events[0]`.
            let first: Obj = obj
                .get("events")
                .and_then(|r| serde_json::from_str::<Vec<Obj>>(r.get()).ok())?
                .into_iter()
                .next()?;
            let id = first.id("id")?;
            Some(match self.event_by_id(&id) {
                Some(ev) => ev,
                None => {
                    self.events.push(EventEntry {
                        obj: first,
                        members: Vec::new(),
                    });
                    self.events.len() - 1
                }
            })
        });
        if let Some(ev) = event {
            self.events[ev].members.push(i);
        }
        self.markets.push(MarketEntry {
            obj,
            live: None,
            listed: true,
            event,
        });
    }

    /// The market named by a condition id, Gamma id or slug.
    pub fn find_market(&self, key: &str) -> Option<usize> {
        let key = key.trim();
        self.markets.iter().position(|m| {
            m.obj
                .str("conditionId")
                .is_some_and(|c| c.eq_ignore_ascii_case(key))
                || m.obj.id("id").as_deref() == Some(key)
                || m.obj.str("slug").as_deref() == Some(key)
        })
    }

    /// A market as `/markets` serves it now: live prices for synthetic markets, its event in
    /// `events[]` unless the source already had one.
    pub fn render_market(&self, i: usize, books: Option<&VenueBooks>, with_event: bool) -> Obj {
        let m = &self.markets[i];
        let mut o = m.obj.clone();
        if let (Some(idx), Some(books)) = (m.live, books) {
            live_fields(&mut o, books, idx);
        }
        if with_event {
            if o.get("events").is_none()
                && let Some(ev) = m.event
            {
                o.set("events", &[&self.events[ev].obj]);
            }
        } else {
            o.remove("events");
        }
        o
    }
}

const RESOLUTION_SOURCE: &str = "https://venue.polyarb.invalid/resolution";

fn rules_text(question: &str) -> String {
    format!(
        "{question}\n\nThis synthetic market resolves to \"Yes\" if the local venue's model says so \
         by the end date, and to \"No\" otherwise. The resolution source is the venue itself."
    )
}

/// Prices and tick read from the venue's books now (all rendered from micro-units).
fn live_fields(o: &mut Obj, books: &VenueBooks, m: u32) {
    let Some(info) = books.markets.get(m as usize) else {
        return;
    };
    let Some(&yes) = info.assets.first() else {
        return;
    };
    let a = books.asset(yes);
    o.set_micros("orderPriceMinTickSize", u64::from(a.tick.micros()));
    let bid = a.book.best(Side::Bid);
    let ask = a.book.best(Side::Ask);
    if let Some(b) = bid {
        o.set_micros("bestBid", u64::from(b.0));
    }
    if let Some(x) = ask {
        o.set_micros("bestAsk", u64::from(x.0));
    }
    if let (Some(b), Some(x)) = (bid, ask) {
        o.set_micros("spread", u64::from(x.0.saturating_sub(b.0)));
        // Gamma's outcome prices are the midpoint, on the micro grid here.
        let mid = (b.0 + x.0) / 2;
        let prices = [
            polyarb::core::decimal::format_micros(u64::from(mid)),
            polyarb::core::decimal::format_micros(u64::from(Price::ONE.0 - mid.min(Price::ONE.0))),
        ];
        o.set(
            "outcomePrices",
            &serde_json::to_string(&prices).unwrap_or_default(),
        );
    }
    if let Some(p) = a.last_trade {
        o.set_micros("lastTradePrice", u64::from(p.0));
    }
    // Informational: resting notional of the YES book in USD.
    let notional: u128 = a
        .book
        .bids
        .iter()
        .chain(a.book.asks.iter())
        .map(|(p, s)| u128::from(p.0) * u128::from(s.0) / 1_000_000)
        .sum();
    let liquidity =
        polyarb::core::decimal::format_micros(u64::try_from(notional).unwrap_or(u64::MAX));
    o.set_number_text("liquidityNum", &liquidity);
    o.set("liquidity", &liquidity);
}

/// A raw JSON value for a string list (the JSON-in-a-string fields' inner text).
pub fn string_list_raw(raw: &RawValue) -> Vec<String> {
    polyarb::adapters::polymarket::gamma::wire::string_list(raw).unwrap_or_default()
}
