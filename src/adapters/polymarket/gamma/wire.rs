//! Gamma's JSON as served: markets, events, tags and fee schedules, tolerant of absent and
//! null fields (every field is optional here; what is required is decided by the catalog's
//! normalization, which can then say *which* field was missing).
//!
//! Three kinds of field need care:
//! - `outcomes`, `outcomePrices`, `clobTokenIds` are JSON arrays encoded *inside a string*
//!   (`"[\"Yes\", \"No\"]"`); they are kept raw and decoded by `string_list`, which also accepts
//!   a plain array in case Gamma ever sends one.
//! - Money sent as JSON numbers (`orderPriceMinTickSize`, `orderMinSize`, `feeSchedule.rate`,
//!   `bestBid`…) is kept as the number's raw text and read exactly by `number`.
//! - Volumes and liquidity are informational: read as `f64` (see `LenientF64`), never used
//!   for an order, a price or a fee.
//!
//! A page is decoded in two steps (`decode_page`): first into raw items, then each item on its
//! own, so one malformed market costs that market, not the page.

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// One market (`GET /markets` item, or an element of an event's `markets`).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GammaMarket {
    #[serde(deserialize_with = "opt_string_or_number")]
    pub id: Option<String>,
    pub question: Option<String>,
    pub condition_id: Option<String>,
    #[serde(rename = "questionID")]
    pub question_id: Option<String>,
    pub slug: Option<String>,
    pub description: Option<String>,
    pub resolution_source: Option<String>,
    pub end_date: Option<String>,
    pub start_date: Option<String>,
    pub closed_time: Option<String>,
    pub category: Option<String>,
    pub group_item_title: Option<String>,
    /// JSON-in-a-string: `"[\"Yes\", \"No\"]"`.
    pub outcomes: Option<Box<RawValue>>,
    /// JSON-in-a-string of decimal strings, index-aligned with `outcomes`.
    pub outcome_prices: Option<Box<RawValue>>,
    /// JSON-in-a-string of uint256 decimal strings, index-aligned with `outcomes`.
    pub clob_token_ids: Option<Box<RawValue>>,
    pub active: Option<bool>,
    pub closed: Option<bool>,
    pub archived: Option<bool>,
    pub accepting_orders: Option<bool>,
    pub enable_order_book: Option<bool>,
    pub neg_risk: Option<bool>,
    #[serde(rename = "negRiskMarketID")]
    pub neg_risk_market_id: Option<String>,
    #[serde(rename = "negRiskRequestID")]
    pub neg_risk_request_id: Option<String>,
    pub neg_risk_other: Option<bool>,
    /// A JSON number (exact text kept).
    pub order_price_min_tick_size: Option<Box<RawValue>>,
    /// A JSON number (exact text kept).
    pub order_min_size: Option<Box<RawValue>>,
    pub best_bid: Option<Box<RawValue>>,
    pub best_ask: Option<Box<RawValue>>,
    pub last_trade_price: Option<Box<RawValue>>,
    /// Liquidity rewards: the least shares a quote needs (a JSON number, exact text kept).
    pub rewards_min_size: Option<Box<RawValue>>,
    /// Liquidity rewards: the widest distance from the midpoint that earns, in cents.
    pub rewards_max_spread: Option<Box<RawValue>>,
    pub volume_num: LenientF64,
    pub liquidity_num: LenientF64,
    /// The string spellings, used when the `…Num` numbers are absent.
    pub volume: LenientF64,
    pub liquidity: LenientF64,
    #[serde(rename = "volume24hr")]
    pub volume_24hr: LenientF64,
    pub fees_enabled: Option<bool>,
    pub fee_type: Option<String>,
    pub fee_schedule: Option<GammaFeeSchedule>,
    pub uma_resolution_status: Option<String>,
    pub updated_at: Option<String>,
    pub tags: Option<Vec<GammaTag>>,
    /// The events this market belongs to (only on `/markets` items), without their markets.
    pub events: Option<Vec<GammaEvent>>,
}

/// One event (`GET /events` item, or a market's `events[]` entry).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GammaEvent {
    #[serde(deserialize_with = "opt_string_or_number")]
    pub id: Option<String>,
    pub ticker: Option<String>,
    pub slug: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub resolution_source: Option<String>,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    pub category: Option<String>,
    pub active: Option<bool>,
    pub closed: Option<bool>,
    pub archived: Option<bool>,
    pub neg_risk: Option<bool>,
    #[serde(rename = "negRiskMarketID")]
    pub neg_risk_market_id: Option<String>,
    pub enable_neg_risk: Option<bool>,
    /// Augmented neg-risk: placeholder outcomes may be named later and an "Other" outcome
    /// covers the rest, so the listed questions are not a fixed complete set.
    pub neg_risk_augmented: Option<bool>,
    pub enable_order_book: Option<bool>,
    pub liquidity: LenientF64,
    pub volume: LenientF64,
    #[serde(rename = "volume24hr")]
    pub volume_24hr: LenientF64,
    pub tags: Option<Vec<GammaTag>>,
    /// Each market kept raw, so that one malformed market is skipped on its own.
    pub markets: Option<Vec<Box<RawValue>>>,
}

/// A tag (`tags[]` on events, and on markets with `include_tag=true`).
#[derive(Debug, Default, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub struct GammaTag {
    #[serde(deserialize_with = "opt_string_or_number")]
    pub id: Option<String>,
    pub label: Option<String>,
    pub slug: Option<String>,
}

/// `feeSchedule`: V2 taker fee `C × rate × (p(1−p))^exponent`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GammaFeeSchedule {
    /// A JSON number (exact text kept).
    pub exponent: Option<Box<RawValue>>,
    /// A JSON number (exact text kept).
    pub rate: Option<Box<RawValue>>,
    pub rebate_rate: Option<Box<RawValue>>,
    pub taker_only: Option<bool>,
}

/// An `f64` that is never an error: a number, a numeric string, or nothing (`None` for null,
/// absent, unparseable text or any other JSON type). Volumes and liquidity are informational,
/// so a float is acceptable for them; a bad one must not cost the market.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct LenientF64(pub Option<f64>);

impl<'de> Deserialize<'de> for LenientF64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LenientF64;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a number, a numeric string or null")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<LenientF64, E> {
                Ok(LenientF64(v.is_finite().then_some(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<LenientF64, E> {
                Ok(LenientF64(Some(v as f64)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<LenientF64, E> {
                Ok(LenientF64(Some(v as f64)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<LenientF64, E> {
                Ok(LenientF64(
                    v.trim().parse::<f64>().ok().filter(|x| x.is_finite()),
                ))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<LenientF64, E> {
                Ok(LenientF64(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<LenientF64, E> {
                Ok(LenientF64(None))
            }
            fn visit_none<E: de::Error>(self) -> Result<LenientF64, E> {
                Ok(LenientF64(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<LenientF64, A::Error> {
                while s.next_element::<IgnoredAny>()?.is_some() {}
                Ok(LenientF64(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<LenientF64, A::Error> {
                while m.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(LenientF64(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// Ids are numeric strings (`"559657"`); a bare number is accepted and spelled the same way.
fn opt_string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a string or an integer")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            d.deserialize_any(V)
        }
    }
    d.deserialize_any(V)
}

/// Why a JSON-in-a-string list could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListError {
    #[error("not a JSON list of strings: {0}")]
    NotAList(String),
}

/// Decodes `"[\"a\", \"b\"]"` (or a plain `["a", "b"]`) into its strings.
pub fn string_list(raw: &RawValue) -> Result<Vec<String>, ListError> {
    let text = raw.get().trim();
    let short = || text.chars().take(80).collect::<String>();
    let inner: std::borrow::Cow<'_, str> = if text.starts_with('"') {
        serde_json::from_str::<String>(text)
            .map_err(|_| ListError::NotAList(short()))?
            .into()
    } else {
        text.into()
    };
    if inner.trim().is_empty() {
        return Ok(Vec::new());
    }
    serde_json::from_str::<Vec<String>>(&inner).map_err(|_| ListError::NotAList(short()))
}

/// A page of raw items: Gamma answers a bare array; `{"data": [...]}` is accepted too.
pub fn decode_page(body: &[u8]) -> Result<Vec<Box<RawValue>>, serde_json::Error> {
    #[derive(Deserialize)]
    struct DataPage {
        data: Vec<Box<RawValue>>,
    }
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'{') {
        Ok(serde_json::from_slice::<DataPage>(body)?.data)
    } else {
        serde_json::from_slice(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_in_a_string_lists() {
        let raw: Box<RawValue> = serde_json::from_str(r#""[\"Yes\", \"No\"]""#).unwrap();
        assert_eq!(string_list(&raw).unwrap(), ["Yes", "No"]);
        let raw: Box<RawValue> = serde_json::from_str(r#"["Up","Down"]"#).unwrap();
        assert_eq!(string_list(&raw).unwrap(), ["Up", "Down"]);
        let raw: Box<RawValue> = serde_json::from_str(r#""""#).unwrap();
        assert!(string_list(&raw).unwrap().is_empty());
        for bad in [r#""[1, 2]""#, r#""not json""#, "17", r#"{"a":1}"#] {
            let raw: Box<RawValue> = serde_json::from_str(bad).unwrap();
            assert!(string_list(&raw).is_err(), "{bad}");
        }
    }

    #[test]
    fn tolerant_of_nulls_and_odd_numbers() {
        let m: GammaMarket = serde_json::from_str(
            r#"{"id":17,"question":null,"volumeNum":"12.5","liquidityNum":{"x":1},"volume24hr":[1],
                "negRiskMarketID":null,"orderPriceMinTickSize":0.001,"feeSchedule":null,"unknown":1}"#,
        )
        .unwrap();
        assert_eq!(m.id.as_deref(), Some("17"));
        assert_eq!(m.volume_num, LenientF64(Some(12.5)));
        assert_eq!(m.liquidity_num, LenientF64(None));
        assert_eq!(m.volume_24hr, LenientF64(None));
        assert_eq!(m.order_price_min_tick_size.unwrap().get(), "0.001");
        assert!(m.fee_schedule.is_none());
        // A wrong type on a flag is an error for this market only (the caller counts it).
        assert!(serde_json::from_str::<GammaMarket>(r#"{"active":"yes"}"#).is_err());
    }

    #[test]
    fn pages_in_both_shapes() {
        assert_eq!(decode_page(b" [{\"id\":\"1\"}, 2]").unwrap().len(), 2);
        assert_eq!(
            decode_page(br#"{"data":[{"id":"1"}],"next_cursor":"LTE="}"#)
                .unwrap()
                .len(),
            1
        );
        assert!(decode_page(b"{\"error\":\"x\"}").is_err());
        assert!(decode_page(b"").is_err());
    }
}
