//! Market-channel subscription messages, exactly as the venue expects them.

use serde::Serialize;

/// The first message on a connection.
#[derive(Serialize)]
pub struct InitialSubscribe<'a> {
    pub assets_ids: &'a [&'a str],
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub initial_dump: bool,
    pub custom_feature_enabled: bool,
}

/// Adding or removing assets on an open connection.
#[derive(Serialize)]
pub struct Operation<'a> {
    pub operation: &'static str,
    pub assets_ids: &'a [&'a str],
    /// Asks for fresh snapshots of the added assets (ignored on unsubscribe).
    pub initial_dump: bool,
}

pub fn initial(assets: &[&str], custom_features: bool) -> String {
    serde_json::to_string(&InitialSubscribe {
        assets_ids: assets,
        kind: "market",
        initial_dump: true,
        custom_feature_enabled: custom_features,
    })
    .unwrap_or_default()
}

pub fn subscribe(assets: &[&str]) -> String {
    serde_json::to_string(&Operation {
        operation: "subscribe",
        assets_ids: assets,
        initial_dump: true,
    })
    .unwrap_or_default()
}

pub fn unsubscribe(assets: &[&str]) -> String {
    serde_json::to_string(&Operation {
        operation: "unsubscribe",
        assets_ids: assets,
        initial_dump: false,
    })
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn shapes() {
        assert_eq!(
            super::initial(&["1", "2"], true),
            r#"{"assets_ids":["1","2"],"type":"market","initial_dump":true,"custom_feature_enabled":true}"#
        );
        assert_eq!(
            super::unsubscribe(&["1"]),
            r#"{"operation":"unsubscribe","assets_ids":["1"],"initial_dump":false}"#
        );
    }
}
