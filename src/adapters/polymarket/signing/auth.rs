//! CLOB API authentication. L1: an EIP-712 `ClobAuth` signature by the key, used to create or
//! derive API credentials. L2: HMAC-SHA256 headers on every private request, keyed by the
//! credentials' secret. Both sides are here: making headers (the client) and checking them
//! (the local venue).
//!
//! L2 signature = base64url(HMAC_SHA256(base64url_decode(secret), timestamp + method + path +
//! body)), `=` padding kept, `path` without its query string, `body` the exact bytes sent
//! (py-clob-client `signing/hmac.py`, rs-clob-client `auth.rs`).

use std::borrow::Cow;
use std::fmt;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE};
use base64::engine::{DecodePaddingMode, general_purpose};
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use sha3::{Digest, Keccak256};
use thiserror::Error;

use super::eip712::{Domain, signing_digest};
use super::evm::{Address, keccak256, u64_word};
use super::key::{EcdsaSignature, PrivateKey, SignatureError};

type HmacSha256 = Hmac<Sha256>;

/// Decodes secrets and received signatures with or without padding.
const URL_SAFE_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Why credentials or headers were refused.
#[derive(Debug, Error)]
pub enum AuthError {
    #[error("cannot read credentials file {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "credentials file {path}: expected JSON {{\"apiKey\",\"secret\",\"passphrase\"}}: {message}"
    )]
    Parse { path: String, message: String },
    #[error("API secret is not base64")]
    SecretNotBase64,
    #[error("L2 header POLY_API_KEY does not match the credentials")]
    ApiKeyMismatch,
    #[error("L2 header POLY_PASSPHRASE is wrong")]
    PassphraseMismatch,
    #[error("L2 header POLY_SIGNATURE is not valid for this request")]
    BadHmac,
    #[error("L1 header {0} is malformed")]
    MalformedHeader(&'static str),
    #[error("L1 signature: {0}")]
    Signature(#[from] SignatureError),
    #[error("L1 signature recovers to {recovered}, not POLY_ADDRESS {claimed}")]
    L1AddressMismatch {
        claimed: Address,
        recovered: Address,
    },
}

/// L2 API credentials, in the shape `POST /auth/api-key` returns them.
#[derive(Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct ApiCredentials {
    #[serde(rename = "apiKey")]
    pub api_key: String,
    /// base64url (base64 also accepted, as the TypeScript client does).
    pub secret: String,
    pub passphrase: String,
}

impl fmt::Debug for ApiCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ApiCredentials(apiKey {}, secret and passphrase redacted)",
            self.api_key
        )
    }
}

impl ApiCredentials {
    /// Reads a JSON file `{"apiKey": "...", "secret": "...", "passphrase": "..."}`.
    pub fn from_file(path: &Path) -> Result<Self, AuthError> {
        let p = path.display().to_string();
        let text = std::fs::read(path).map_err(|source| AuthError::Read {
            path: p.clone(),
            source,
        })?;
        serde_json::from_slice(&text).map_err(|e| AuthError::Parse {
            path: p,
            message: e.to_string(),
        })
    }

    /// The HMAC key: the secret decoded (standard alphabet mapped to the URL-safe one).
    pub fn secret_bytes(&self) -> Result<Vec<u8>, AuthError> {
        let s: Cow<str> = if self.secret.contains(['+', '/']) {
            Cow::Owned(self.secret.replace('+', "-").replace('/', "_"))
        } else {
            Cow::Borrowed(&self.secret)
        };
        URL_SAFE_LENIENT
            .decode(s.as_bytes())
            .map_err(|_| AuthError::SecretNotBase64)
    }
}

/// The signed part of a request path: everything before `?`.
pub fn request_path(path: &str) -> &str {
    path.split_once('?').map_or(path, |(p, _)| p)
}

/// The five L2 headers. The three that never change borrow from the [`L2Signer`] (or from
/// the received request, on the venue side), so making headers allocates only the two that do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct L2Headers<'a> {
    #[serde(rename = "POLY_ADDRESS", borrow)]
    pub address: Cow<'a, str>,
    #[serde(rename = "POLY_SIGNATURE")]
    pub signature: String,
    #[serde(rename = "POLY_TIMESTAMP")]
    pub timestamp: String,
    #[serde(rename = "POLY_API_KEY", borrow)]
    pub api_key: Cow<'a, str>,
    #[serde(rename = "POLY_PASSPHRASE", borrow)]
    pub passphrase: Cow<'a, str>,
}

impl L2Headers<'_> {
    /// (name, value) pairs, ready for an HTTP client.
    pub fn pairs(&self) -> [(&'static str, &str); 5] {
        [
            ("POLY_ADDRESS", &self.address),
            ("POLY_SIGNATURE", &self.signature),
            ("POLY_TIMESTAMP", &self.timestamp),
            ("POLY_API_KEY", &self.api_key),
            ("POLY_PASSPHRASE", &self.passphrase),
        ]
    }
}

fn mac_update_message(
    mac: &mut HmacSha256,
    timestamp: &str,
    method: &str,
    path: &str,
    body: &[u8],
) {
    mac.update(timestamp.as_bytes());
    mac.update(method.as_bytes());
    mac.update(request_path(path).as_bytes());
    mac.update(body);
}

/// Makes L2 headers for one set of credentials. The HMAC key schedule is done once here and
/// cloned per request.
#[derive(Clone)]
pub struct L2Signer {
    mac: HmacSha256,
    address: String,
    api_key: String,
    passphrase: String,
}

impl fmt::Debug for L2Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "L2Signer(address {}, apiKey {})",
            self.address, self.api_key
        )
    }
}

impl L2Signer {
    /// `address` is the signing key's address (`POLY_ADDRESS`; not the funder).
    pub fn new(creds: &ApiCredentials, address: Address) -> Result<Self, AuthError> {
        let key = creds.secret_bytes()?;
        // HMAC takes keys of any length.
        let mac = HmacSha256::new_from_slice(&key).map_err(|_| AuthError::SecretNotBase64)?;
        Ok(Self {
            mac,
            address: address.to_checksum(),
            api_key: creds.api_key.clone(),
            passphrase: creds.passphrase.clone(),
        })
    }

    /// `POLY_SIGNATURE` for a request. `method` is used verbatim (the venue uppercases nothing).
    pub fn signature(&self, timestamp: &str, method: &str, path: &str, body: &[u8]) -> String {
        let mut mac = self.mac.clone();
        mac_update_message(&mut mac, timestamp, method, path, body);
        URL_SAFE.encode(mac.finalize().into_bytes())
    }

    /// All five headers for a request at `timestamp` (unix seconds).
    pub fn headers(&self, timestamp: u64, method: &str, path: &str, body: &[u8]) -> L2Headers<'_> {
        let ts = timestamp.to_string();
        L2Headers {
            signature: self.signature(&ts, method, path, body),
            timestamp: ts,
            address: Cow::Borrowed(&self.address),
            api_key: Cow::Borrowed(&self.api_key),
            passphrase: Cow::Borrowed(&self.passphrase),
        }
    }
}

/// Checks L2 headers against the credentials they claim, in constant time for the HMAC.
/// The caller checks `POLY_ADDRESS` against the key's owner and the timestamp's freshness.
pub fn verify_l2(
    creds: &ApiCredentials,
    headers: &L2Headers<'_>,
    method: &str,
    path: &str,
    body: &[u8],
) -> Result<(), AuthError> {
    if *headers.api_key != *creds.api_key {
        return Err(AuthError::ApiKeyMismatch);
    }
    if *headers.passphrase != *creds.passphrase {
        return Err(AuthError::PassphraseMismatch);
    }
    let given = URL_SAFE_LENIENT
        .decode(headers.signature.as_bytes())
        .or_else(|_| general_purpose::STANDARD.decode(headers.signature.as_bytes()))
        .map_err(|_| AuthError::BadHmac)?;
    let key = creds.secret_bytes()?;
    let mut mac = HmacSha256::new_from_slice(&key).map_err(|_| AuthError::SecretNotBase64)?;
    mac_update_message(&mut mac, &headers.timestamp, method, path, body);
    mac.verify_slice(&given).map_err(|_| AuthError::BadHmac)
}

/// The fixed statement every L1 signature attests.
pub const CLOB_AUTH_MESSAGE: &str = "This message attests that I control the given wallet";
const CLOB_AUTH_TYPE: &str =
    "ClobAuth(address address,string timestamp,uint256 nonce,string message)";

/// The L1 auth domain: `ClobAuthDomain` version 1, no verifying contract.
pub fn clob_auth_domain(chain_id: u64) -> Domain {
    Domain {
        name: Cow::Borrowed("ClobAuthDomain"),
        version: Cow::Borrowed("1"),
        chain_id,
        verifying_contract: None,
    }
}

/// The EIP-712 digest of `ClobAuth{address, timestamp, nonce, message}`.
pub fn clob_auth_digest(chain_id: u64, address: Address, timestamp: &str, nonce: u64) -> [u8; 32] {
    let mut h = Keccak256::new();
    h.update(keccak256(CLOB_AUTH_TYPE.as_bytes()));
    h.update(address.to_word());
    h.update(keccak256(timestamp.as_bytes()));
    h.update(u64_word(nonce));
    h.update(keccak256(CLOB_AUTH_MESSAGE.as_bytes()));
    let struct_hash: [u8; 32] = h.finalize().into();
    signing_digest(&clob_auth_domain(chain_id).separator(), &struct_hash)
}

/// The four L1 headers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct L1Headers {
    #[serde(rename = "POLY_ADDRESS")]
    pub address: String,
    #[serde(rename = "POLY_SIGNATURE")]
    pub signature: String,
    #[serde(rename = "POLY_TIMESTAMP")]
    pub timestamp: String,
    #[serde(rename = "POLY_NONCE")]
    pub nonce: String,
}

/// Signs L1 headers (timestamp in unix seconds; nonce 0 unless a key was made with another).
pub fn l1_headers(key: &PrivateKey, chain_id: u64, timestamp: u64, nonce: u64) -> L1Headers {
    let ts = timestamp.to_string();
    let sig = key.sign_digest(&clob_auth_digest(chain_id, key.address(), &ts, nonce));
    L1Headers {
        address: key.address().to_checksum(),
        signature: sig.to_string(),
        timestamp: ts,
        nonce: nonce.to_string(),
    }
}

/// Checks L1 headers: the signature must recover to `POLY_ADDRESS`. Returns that address.
pub fn verify_l1(headers: &L1Headers, chain_id: u64) -> Result<Address, AuthError> {
    let claimed =
        Address::parse(&headers.address).map_err(|_| AuthError::MalformedHeader("POLY_ADDRESS"))?;
    let nonce = headers
        .nonce
        .parse()
        .map_err(|_| AuthError::MalformedHeader("POLY_NONCE"))?;
    let sig = EcdsaSignature::parse(&headers.signature)?;
    let recovered = sig.recover(&clob_auth_digest(
        chain_id,
        claimed,
        &headers.timestamp,
        nonce,
    ))?;
    if recovered != claimed {
        return Err(AuthError::L1AddressMismatch { claimed, recovered });
    }
    Ok(claimed)
}
