//! The client's cancels (`DELETE /order`, `/orders`, `/cancel-all`, `/cancel-market-orders`)
//! and queries (`GET /data/order/{id}`, `/data/orders`, `/data/trades`, `/balance-allowance`)
//! plus the heartbeat call (`POST /v1/heartbeats`).

use super::*;

impl ClobClient {
    fn cancel_call(
        &self,
        path: &str,
        body: Option<Vec<u8>>,
        cost: u32,
    ) -> Result<CancelResult, ClobError> {
        let ans = self.request("DELETE", path, body.as_deref(), Class::Cancels, cost)?;
        serde_json::from_slice(&ans.body).map_err(|e| ClobError::Body(e.to_string()))
    }

    /// `DELETE /order`.
    pub fn cancel(&self, order_id: &str) -> Result<CancelResult, ClobError> {
        let body = serde_json::to_vec(&serde_json::json!({ "orderID": order_id }))
            .map_err(|e| ClobError::Body(e.to_string()))?;
        self.cancel_call("/order", Some(body), 1)
    }

    /// `DELETE /orders`.
    pub fn cancel_orders(&self, ids: &[String]) -> Result<CancelResult, ClobError> {
        let body = serde_json::to_vec(ids).map_err(|e| ClobError::Body(e.to_string()))?;
        self.cancel_call("/orders", Some(body), ids.len().max(1) as u32)
    }

    /// `DELETE /cancel-all`.
    pub fn cancel_all(&self) -> Result<CancelResult, ClobError> {
        self.cancel_call("/cancel-all", None, 1)
    }

    /// `DELETE /cancel-market-orders` (a market's condition id, or one token, or both).
    pub fn cancel_market(
        &self,
        market: Option<&str>,
        asset_id: Option<&str>,
    ) -> Result<CancelResult, ClobError> {
        let mut m = serde_json::Map::new();
        if let Some(x) = market {
            m.insert("market".into(), x.into());
        }
        if let Some(x) = asset_id {
            m.insert("asset_id".into(), x.into());
        }
        let body = serde_json::to_vec(&m).map_err(|e| ClobError::Body(e.to_string()))?;
        self.cancel_call("/cancel-market-orders", Some(body), 1)
    }

    /// `GET /data/order/{id}`; `None` if the venue does not know it.
    pub fn order(&self, order_id: &str) -> Result<Option<OpenOrder>, ClobError> {
        match self.get::<Option<OpenOrder>>(&format!("/data/order/{order_id}")) {
            Ok(o) => Ok(o),
            Err(ClobError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn listing<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        f: &Filter,
    ) -> Result<Vec<T>, ClobError> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..10_000 {
            let mut q: Vec<(&str, &str)> = Vec::new();
            for (k, v) in [
                ("id", &f.id),
                ("market", &f.market),
                ("asset_id", &f.asset_id),
            ] {
                if let Some(v) = v {
                    q.push((k, v));
                }
            }
            if let Some(c) = &cursor {
                q.push(("next_cursor", c));
            }
            let qs: Vec<String> = q
                .iter()
                .map(|(k, v)| format!("{k}={}", urlencode(v)))
                .collect();
            let full = if qs.is_empty() {
                path.to_string()
            } else {
                format!("{path}?{}", qs.join("&"))
            };
            let page: Page<T> = self.get(&full)?;
            out.extend(page.data);
            match page.next_cursor {
                Some(c) if c != END_CURSOR && !c.is_empty() => cursor = Some(c),
                _ => return Ok(out),
            }
        }
        Ok(out)
    }

    /// `GET /data/orders`, every page.
    pub fn open_orders(&self, f: &Filter) -> Result<Vec<OpenOrder>, ClobError> {
        self.listing("/data/orders", f)
    }

    /// `GET /data/trades`, every page.
    pub fn trades(&self, f: &Filter) -> Result<Vec<TradeRecord>, ClobError> {
        self.listing("/data/trades", f)
    }

    /// `GET /balance-allowance`.
    pub fn balance_allowance(&self, asset: &AssetType) -> Result<BalanceAllowance, ClobError> {
        self.get(&Self::balance_path(
            "/balance-allowance",
            asset,
            self.cfg.signature_type as u8,
        ))
    }

    /// `GET /balance-allowance/update`: asks the venue to re-read the account's balance and
    /// allowance from chain. A deposit wallet's pUSD is not seen until this is called once
    /// with signature type 3. The answer's body carries nothing the engine uses.
    pub fn update_balance_allowance(&self, asset: &AssetType) -> Result<(), ClobError> {
        let path = Self::balance_path(
            "/balance-allowance/update",
            asset,
            self.cfg.signature_type as u8,
        );
        self.request("GET", &path, None, Class::Other, 1)
            .map(|_| ())
    }

    /// Readies the account before its first balance read and order: a deposit wallet
    /// (signature type 3) has its pUSD refreshed once, since production does not see it
    /// before; other account types need nothing.
    pub fn prepare_account(&self) -> Result<(), ClobError> {
        if self.cfg.signature_type == SignatureType::Poly1271 {
            self.update_balance_allowance(&AssetType::Collateral)
        } else {
            Ok(())
        }
    }

    fn balance_path(endpoint: &str, asset: &AssetType, st: u8) -> String {
        match asset {
            AssetType::Collateral => {
                format!("{endpoint}?asset_type=COLLATERAL&signature_type={st}")
            }
            AssetType::Conditional(t) => format!(
                "{endpoint}?asset_type=CONDITIONAL&token_id={}&signature_type={st}",
                urlencode(t)
            ),
        }
    }

    /// `POST /v1/heartbeats` echoing `id`, the previous answer's id (empty: a new chain, as
    /// the official client's default); returns the id the next beat must echo.
    pub fn heartbeat(&self, id: &str) -> Result<String, ClobError> {
        #[derive(serde::Deserialize)]
        struct Beat {
            heartbeat_id: String,
        }
        let body = serde_json::to_vec(&serde_json::json!({ "heartbeat_id": id }))
            .map_err(|e| ClobError::Body(e.to_string()))?;
        let ans = self.request("POST", "/v1/heartbeats", Some(&body), Class::Other, 1)?;
        serde_json::from_slice::<Beat>(&ans.body)
            .map(|b| b.heartbeat_id)
            .map_err(|e| ClobError::Body(e.to_string()))
    }
}

/// Percent-encodes a query value (ids and cursors are mostly safe; `=`/`+`/`/` are not).
fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
