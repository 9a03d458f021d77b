//! The `POST /order` JSON body: written from a [`SignedOrder`] exactly as the official clients
//! write it (py-clob-client-v2 `order_to_json_v2`: `salt` a JSON number, amounts, `tokenId`,
//! `expiration` and `timestamp` as strings, `side` "BUY"/"SELL", `signatureType` a number), and
//! read back strictly, so the local venue sees what the real one sees.

use serde::Deserialize;
use serde::ser::{Serialize, SerializeMap, Serializer};
use thiserror::Error;

use super::evm::{Address, Bytes32};
use super::order::{Order, OrderSignature, SignatureType, SignedOrder};
use super::protocol::{OrderField, OrderSchema, SCHEMA_V1, SCHEMA_V2};
use super::terms::{OrderSide, OrderType};
use crate::core::ids::TokenId;

/// Serializes a `u64` as a JSON string without allocating.
struct Decimal(u64);

impl Serialize for Decimal {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

/// The `order` object of the body.
pub struct OrderJson<'a> {
    pub signed: &'a SignedOrder,
    pub schema: &'static OrderSchema,
}

impl Serialize for OrderJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let o = &self.signed.order;
        let mut m = s.serialize_map(Some(self.schema.json.len() + 1))?;
        for &f in self.schema.json {
            let k = f.name();
            match f {
                OrderField::Salt => m.serialize_entry(k, &o.salt)?,
                OrderField::Maker => m.serialize_entry(k, &o.maker.checksummed())?,
                OrderField::Signer => m.serialize_entry(k, &o.signer.checksummed())?,
                OrderField::Taker => m.serialize_entry(k, &o.taker.checksummed())?,
                OrderField::TokenId => m.serialize_entry(k, &o.token_id)?,
                OrderField::MakerAmount => m.serialize_entry(k, &Decimal(o.maker_amount))?,
                OrderField::TakerAmount => m.serialize_entry(k, &Decimal(o.taker_amount))?,
                OrderField::Expiration => m.serialize_entry(k, &Decimal(o.expiration))?,
                OrderField::Nonce => m.serialize_entry(k, &Decimal(o.nonce))?,
                OrderField::FeeRateBps => m.serialize_entry(k, &Decimal(o.fee_rate_bps))?,
                OrderField::Side => m.serialize_entry(k, o.side.as_str())?,
                OrderField::SignatureType => m.serialize_entry(k, &(o.signature_type as u8))?,
                OrderField::Timestamp => m.serialize_entry(k, &Decimal(o.timestamp_ms))?,
                OrderField::Metadata => m.serialize_entry(k, &o.metadata.to_hex())?,
                OrderField::Builder => m.serialize_entry(k, &o.builder.to_hex())?,
            }
        }
        match &self.signed.signature {
            OrderSignature::Ecdsa(sig) => m.serialize_entry("signature", &sig.to_hex())?,
            wrapped => m.serialize_entry("signature", &wrapped.to_string())?,
        }
        m.end()
    }
}

/// The whole `POST /order` body.
pub struct PostOrder<'a> {
    pub signed: &'a SignedOrder,
    pub schema: &'static OrderSchema,
    /// The API key the order is posted under.
    pub owner: &'a str,
    pub order_type: OrderType,
    pub post_only: bool,
    pub defer_exec: bool,
}

impl Serialize for PostOrder<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(5))?;
        m.serialize_entry(
            "order",
            &OrderJson {
                signed: self.signed,
                schema: self.schema,
            },
        )?;
        m.serialize_entry("owner", self.owner)?;
        m.serialize_entry("orderType", self.order_type.as_str())?;
        m.serialize_entry("deferExec", &self.defer_exec)?;
        m.serialize_entry("postOnly", &self.post_only)?;
        m.end()
    }
}

impl PostOrder<'_> {
    /// Appends the compact JSON (the exact bytes to send and to HMAC) to `out`.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        // Writing into a Vec cannot fail, and every map key is a string.
        let _ = serde_json::to_writer(out, self);
    }

    pub fn to_json(&self) -> String {
        let mut v = Vec::with_capacity(1024);
        self.write_json(&mut v);
        String::from_utf8(v).unwrap_or_default()
    }
}

/// Why a `POST /order` body was refused.
#[derive(Debug, Error)]
pub enum WireError {
    #[error("malformed order body: {0}")]
    Json(#[from] serde_json::Error),
    #[error("order field `{field}`: {problem}")]
    Field {
        field: &'static str,
        problem: String,
    },
}

fn field_err(field: &'static str, problem: impl ToString) -> WireError {
    WireError::Field {
        field,
        problem: problem.to_string(),
    }
}

/// A body read back: the order, the schema its fields imply, and the envelope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedPostOrder {
    pub signed: SignedOrder,
    pub schema: &'static OrderSchema,
    pub owner: String,
    pub order_type: OrderType,
    pub post_only: bool,
    pub defer_exec: bool,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum U64OrString {
    N(u64),
    S(String),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawOrder {
    salt: U64OrString,
    maker: String,
    signer: String,
    taker: Option<String>,
    token_id: String,
    maker_amount: String,
    taker_amount: String,
    side: String,
    expiration: Option<String>,
    nonce: Option<String>,
    fee_rate_bps: Option<String>,
    signature_type: u8,
    timestamp: Option<String>,
    metadata: Option<String>,
    builder: Option<String>,
    signature: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawBody {
    order: RawOrder,
    owner: String,
    order_type: String,
    #[serde(default)]
    post_only: bool,
    #[serde(default)]
    defer_exec: bool,
}

/// Digits only: no sign, no space, no exponent (Rust's `u64::from_str` would take a '+').
fn dec(field: &'static str, s: &str) -> Result<u64, WireError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(field_err(field, format!("{s:?} is not a decimal integer")));
    }
    s.parse()
        .map_err(|_| field_err(field, "does not fit in 64 bits"))
}

fn opt_dec(field: &'static str, s: &Option<String>) -> Result<u64, WireError> {
    s.as_deref().map_or(Ok(0), |s| dec(field, s))
}

fn addr(field: &'static str, s: &str) -> Result<Address, WireError> {
    Address::parse(s).map_err(|e| field_err(field, e))
}

fn word(field: &'static str, s: &Option<String>) -> Result<Bytes32, WireError> {
    s.as_deref().map_or(Ok(Bytes32::ZERO), |s| {
        Bytes32::parse(s).map_err(|e| field_err(field, e))
    })
}

/// Parses a `POST /order` body. A `timestamp` field means the V2/V3 struct; its absence means
/// V1, which then needs `taker`, `nonce` and `feeRateBps`.
pub fn parse_post_order(body: &[u8]) -> Result<ParsedPostOrder, WireError> {
    let raw: RawBody = serde_json::from_slice(body)?;
    let o = raw.order;
    let schema: &'static OrderSchema = if o.timestamp.is_some() {
        &SCHEMA_V2
    } else {
        &SCHEMA_V1
    };
    if o.timestamp.is_none() {
        let missing = [
            ("taker", o.taker.is_none()),
            ("nonce", o.nonce.is_none()),
            ("feeRateBps", o.fee_rate_bps.is_none()),
        ];
        if let Some(&(name, _)) = missing.iter().find(|m| m.1) {
            return Err(field_err(name, "missing (a V1 order, having no timestamp)"));
        }
    }
    let salt = match &o.salt {
        U64OrString::N(n) => *n,
        U64OrString::S(s) => dec("salt", s)?,
    };
    let sig_hex = o
        .signature
        .strip_prefix("0x")
        .ok_or_else(|| field_err("signature", "missing 0x"))?;
    let sig_bytes = hex::decode(sig_hex).map_err(|_| field_err("signature", "not hex"))?;
    let order = Order {
        salt,
        maker: addr("maker", &o.maker)?,
        signer: addr("signer", &o.signer)?,
        taker: o
            .taker
            .as_deref()
            .map_or(Ok(Address::ZERO), |s| addr("taker", s))?,
        token_id: TokenId::parse(&o.token_id).map_err(|e| field_err("tokenId", e))?,
        maker_amount: dec("makerAmount", &o.maker_amount)?,
        taker_amount: dec("takerAmount", &o.taker_amount)?,
        expiration: opt_dec("expiration", &o.expiration)?,
        nonce: opt_dec("nonce", &o.nonce)?,
        fee_rate_bps: opt_dec("feeRateBps", &o.fee_rate_bps)?,
        side: o
            .side
            .parse::<OrderSide>()
            .map_err(|e| field_err("side", e))?,
        signature_type: SignatureType::from_u8(o.signature_type).ok_or_else(|| {
            field_err("signatureType", format!("{} is not 0..3", o.signature_type))
        })?,
        timestamp_ms: opt_dec("timestamp", &o.timestamp)?,
        metadata: word("metadata", &o.metadata)?,
        builder: word("builder", &o.builder)?,
    };
    let signature =
        OrderSignature::from_bytes(&sig_bytes).map_err(|e| field_err("signature", e))?;
    Ok(ParsedPostOrder {
        signed: SignedOrder { order, signature },
        schema,
        owner: raw.owner,
        order_type: raw
            .order_type
            .parse()
            .map_err(|e| field_err("orderType", e))?,
        post_only: raw.post_only,
        defer_exec: raw.defer_exec,
    })
}
