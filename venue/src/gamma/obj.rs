//! `Obj`: a JSON object whose values are kept as raw JSON text, in order.
//!
//! The venue serves Gamma's shapes byte for byte where it can: numbers from a fixture file go
//! back out exactly as written (`0.001` stays `0.001`, never a float's rendering), and the
//! numbers the venue writes itself (`orderPriceMinTickSize`, `bestBid`) are rendered from
//! integer micro-units as decimal text. No float is involved in either direction.

use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use polyarb::core::decimal::format_micros;

/// An ordered JSON object with raw values.
#[derive(Clone, Debug, Default)]
pub struct Obj(pub Vec<(String, Box<RawValue>)>);

fn raw(text: String) -> Box<RawValue> {
    // Only ever called with text this module produced from serde_json or from digits.
    RawValue::from_string(text).unwrap_or_default()
}

impl Obj {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn get(&self, key: &str) -> Option<&RawValue> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_ref())
    }

    pub fn remove(&mut self, key: &str) {
        self.0.retain(|(k, _)| k != key);
    }

    /// Sets a raw JSON value (replacing in place, or appending).
    pub fn set_raw(&mut self, key: &str, v: Box<RawValue>) {
        match self.0.iter_mut().find(|(k, _)| k == key) {
            Some((_, old)) => *old = v,
            None => self.0.push((key.to_string(), v)),
        }
    }

    /// Sets any serializable value.
    pub fn set<T: Serialize + ?Sized>(&mut self, key: &str, v: &T) {
        let text = serde_json::to_string(v).unwrap_or_else(|_| "null".into());
        self.set_raw(key, raw(text));
    }

    /// Sets a JSON number written from micro-units (`1000` → `0.001`).
    pub fn set_micros(&mut self, key: &str, micros: u64) {
        self.set_raw(key, raw(format_micros(micros)));
    }

    /// Sets a JSON number from its decimal text (already validated digits).
    pub fn set_number_text(&mut self, key: &str, text: &str) {
        match RawValue::from_string(text.to_string()) {
            Ok(v) => self.set_raw(key, v),
            Err(_) => self.set(key, &serde_json::Value::Null),
        }
    }

    pub fn str(&self, key: &str) -> Option<String> {
        serde_json::from_str::<Option<String>>(self.get(key)?.get())
            .ok()
            .flatten()
    }

    /// A string or a number, as text (ids).
    pub fn id(&self, key: &str) -> Option<String> {
        let v = self.get(key)?.get().trim();
        if v.starts_with('"') {
            self.str(key)
        } else if v.bytes().all(|b| b.is_ascii_digit()) && !v.is_empty() {
            Some(v.to_string())
        } else {
            None
        }
    }

    pub fn bool(&self, key: &str) -> Option<bool> {
        serde_json::from_str::<Option<bool>>(self.get(key)?.get())
            .ok()
            .flatten()
    }

    /// A number or numeric string as `f64`: for the venue's filtering on volumes and
    /// liquidity only (informational values, never money).
    pub fn f64(&self, key: &str) -> Option<f64> {
        let v = self.get(key)?.get().trim();
        let t = v.trim_matches('"');
        t.parse::<f64>().ok().filter(|x| x.is_finite())
    }
}

impl Serialize for Obj {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for Obj {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Obj;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Obj, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = m.next_entry::<String, Box<RawValue>>()? {
                    out.push((k, v));
                }
                Ok(Obj(out))
            }
        }
        d.deserialize_map(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip_verbatim() {
        let o: Obj =
            serde_json::from_str(r#"{"a":0.001,"b":"x","c":[1,2],"d":1e-3,"e":true}"#).unwrap();
        assert_eq!(
            serde_json::to_string(&o).unwrap(),
            r#"{"a":0.001,"b":"x","c":[1,2],"d":1e-3,"e":true}"#
        );
        let mut o = o;
        o.set_micros("a", 10_000);
        o.set("b", "y\"z");
        o.set("f", &false);
        assert_eq!(o.str("b").as_deref(), Some("y\"z"));
        assert_eq!(o.bool("e"), Some(true));
        assert_eq!(o.f64("a"), Some(0.01));
        assert_eq!(
            serde_json::to_string(&o).unwrap(),
            r#"{"a":0.01,"b":"y\"z","c":[1,2],"d":1e-3,"e":true,"f":false}"#
        );
    }
}
