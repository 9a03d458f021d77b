//! API credentials as the venue issues and checks them.
//!
//! `POST /auth/api-key` makes a new key for the L1-authenticated address and nonce;
//! `GET /auth/derive-api-key` returns the key already made for that pair. Every private
//! request then carries L2 headers, checked here: the key must exist, the HMAC must cover the
//! exact request, `POLY_ADDRESS` must be the key's address, and the timestamp must be fresh.
//! Kept outside the hub lock: authentication never waits for matching.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE;
use rand::RngCore;
use rustc_hash::FxHashMap;

use polyarb::adapters::polymarket::signing::auth::{L1Headers, L2Headers, verify_l1, verify_l2};
use polyarb::adapters::polymarket::signing::{Address, ApiCredentials};

/// The venue's answer to any L2 failure (unknown key, bad HMAC, wrong passphrase, address or
/// stale timestamp): the real venue does not say which.
pub const UNAUTHORIZED: &str = "Unauthorized/Invalid api key";
/// The venue's answer to a bad L1 signature.
pub const INVALID_L1: &str = "Invalid L1 Request headers";

/// One issued key.
#[derive(Clone, Debug)]
pub struct ApiKey {
    pub creds: ApiCredentials,
    /// The address that signed the L1 request (`POLY_ADDRESS` of every L2 request).
    pub address: Address,
    pub nonce: u64,
}

/// Why an L1 request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum L1Refusal {
    BadSignature,
    Stale,
    /// `create` for a (address, nonce) that already has a key.
    Exists,
    /// `derive` for a (address, nonce) without one.
    Missing,
}

/// Every key the venue has issued.
#[derive(Default)]
pub struct ApiKeys {
    by_key: FxHashMap<String, ApiKey>,
    by_owner: FxHashMap<(Address, u64), String>,
}

fn fresh(ts: &str, now_s: u64, max_skew_s: u64) -> bool {
    ts.parse::<u64>()
        .is_ok_and(|t| t.abs_diff(now_s) <= max_skew_s)
}

fn new_creds() -> ApiCredentials {
    let mut rng = rand::rng();
    let mut b = [0u8; 16];
    rng.fill_bytes(&mut b);
    let h = hex::encode(b);
    let api_key = format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    );
    let mut secret = [0u8; 32];
    rng.fill_bytes(&mut secret);
    let mut pass = [0u8; 32];
    rng.fill_bytes(&mut pass);
    ApiCredentials {
        api_key,
        secret: URL_SAFE.encode(secret),
        passphrase: hex::encode(pass),
    }
}

impl ApiKeys {
    /// Checks L1 headers (signature and freshness); returns the authenticated address.
    pub fn check_l1(
        headers: &L1Headers,
        chain_id: u64,
        now_s: u64,
        max_skew_s: u64,
    ) -> Result<(Address, u64), L1Refusal> {
        if !fresh(&headers.timestamp, now_s, max_skew_s) {
            return Err(L1Refusal::Stale);
        }
        let address = verify_l1(headers, chain_id).map_err(|_| L1Refusal::BadSignature)?;
        let nonce = headers.nonce.parse().map_err(|_| L1Refusal::BadSignature)?;
        Ok((address, nonce))
    }

    /// Issues a new key for (address, nonce).
    pub fn create(&mut self, address: Address, nonce: u64) -> Result<ApiCredentials, L1Refusal> {
        if self.by_owner.contains_key(&(address, nonce)) {
            return Err(L1Refusal::Exists);
        }
        let creds = new_creds();
        self.by_owner
            .insert((address, nonce), creds.api_key.clone());
        self.by_key.insert(
            creds.api_key.clone(),
            ApiKey {
                creds: creds.clone(),
                address,
                nonce,
            },
        );
        Ok(creds)
    }

    /// The key already issued for (address, nonce).
    pub fn derive(&self, address: Address, nonce: u64) -> Result<ApiCredentials, L1Refusal> {
        self.by_owner
            .get(&(address, nonce))
            .and_then(|k| self.by_key.get(k))
            .map(|k| k.creds.clone())
            .ok_or(L1Refusal::Missing)
    }

    pub fn get(&self, api_key: &str) -> Option<&ApiKey> {
        self.by_key.get(api_key)
    }

    /// Whether raw credentials (as the user channel's subscribe message carries them) are a
    /// key this venue issued.
    pub fn check_raw(&self, creds: &ApiCredentials) -> Option<&ApiKey> {
        self.by_key
            .get(&creds.api_key)
            .filter(|k| k.creds.secret == creds.secret && k.creds.passphrase == creds.passphrase)
    }

    /// Every API key of an address (`GET /auth/api-keys`), sorted.
    pub fn keys_of(&self, address: Address) -> Vec<String> {
        let mut v: Vec<String> = self
            .by_key
            .values()
            .filter(|k| k.address == address)
            .map(|k| k.creds.api_key.clone())
            .collect();
        v.sort();
        v
    }

    /// Revokes a key (`DELETE /auth/api-key`); its owner may create one again.
    pub fn revoke(&mut self, api_key: &str) -> bool {
        let Some(k) = self.by_key.remove(api_key) else {
            return false;
        };
        self.by_owner.remove(&(k.address, k.nonce));
        true
    }

    /// Checks L2 headers against the exact request; returns the key.
    pub fn check_l2(
        &self,
        headers: &L2Headers<'_>,
        method: &str,
        path: &str,
        body: &[u8],
        now_s: u64,
        max_skew_s: u64,
    ) -> Option<&ApiKey> {
        let key = self.by_key.get(headers.api_key.as_ref())?;
        if !fresh(&headers.timestamp, now_s, max_skew_s) {
            return None;
        }
        let claimed = Address::parse(&headers.address).ok()?;
        if claimed != key.address {
            return None;
        }
        verify_l2(&key.creds, headers, method, path, body).ok()?;
        Some(key)
    }
}
