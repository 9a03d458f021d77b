//! Round-trip tests of the signing stack against vectors computed independently with Python
//! eth-account 0.14.0 by `scripts/gen_signing_vectors.py` (the upstream vectors are checked by
//! `tests/engine/signing_vectors.rs`).

use super::auth::{self, ApiCredentials, L2Signer};
use super::evm::{Address, Bytes32};
use super::key::PrivateKey;
use super::order::{MarketRules, OrderRequest, OrderSignature, Quantity, SignatureType};
use super::protocol::{POLYGON, ProtocolVersion};
use super::signer::{OrderSigner, random_salt};
use super::terms::{OrderSide, OrderType};
use super::verify::{VerifyError, order_hash, recover_order_signer, verify_order_signature};
use super::wire::{PostOrder, parse_post_order};
use crate::core::decimal::{Price, Size, TickSize};
use crate::core::ids::TokenId;

const KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const TOKEN: &str = "71321045679252212594626385532706912750332728571942532289631379312455583992563";

fn key() -> PrivateKey {
    PrivateKey::from_hex(KEY).unwrap()
}

fn rules(tick: &str, neg_risk: bool) -> MarketRules {
    MarketRules {
        tick_size: TickSize::parse(tick).unwrap(),
        min_order_size: Size::parse("5").unwrap(),
        neg_risk,
    }
}

fn limit(side: OrderSide, price: &str, size: &str) -> OrderRequest {
    OrderRequest::limit(
        TokenId::parse(TOKEN).unwrap(),
        side,
        Price::parse(price).unwrap(),
        Size::parse(size).unwrap(),
    )
}

#[test]
fn v3_eoa_buy_matches_eth_account() {
    let s = OrderSigner::new(
        key(),
        ProtocolVersion::known(3, POLYGON).unwrap(),
        SignatureType::Eoa,
        None,
    )
    .unwrap();
    let signed = s
        .create_order_with(
            &limit(OrderSide::Buy, "0.24", "15"),
            &rules("0.01", false),
            42,
            1_767_225_600_000,
        )
        .unwrap();
    assert_eq!(
        (signed.order.maker_amount, signed.order.taker_amount),
        (3_600_000, 15_000_000)
    );
    assert_eq!(
        hex::encode(s.order_hash(&signed.order, false)),
        "2352d657fb2ef45deb0b979b7df700d4c3ee7b200b4cd8e24fea3ae5cd75a3bd"
    );
    assert_eq!(
        signed.signature.to_string(),
        "0x15be621ad2f0d4913339eff9766da291cdf219b845b9a5dca24902878f234a21019e6a6da221dd1ea5d781a174279be93e20c1176eb7b1f452880abc59554b0c1c"
    );
}

#[test]
fn v2_safe_neg_risk_sell_matches_eth_account() {
    let funder = Address([0x11; 20]);
    let s = OrderSigner::new(
        key(),
        ProtocolVersion::v2(),
        SignatureType::PolyGnosisSafe,
        Some(funder),
    )
    .unwrap();
    let mut req = limit(OrderSide::Sell, "0.39", "2435.89");
    req.metadata = Bytes32([1; 32]);
    req.builder = Bytes32([0xab; 32]);
    let signed = s
        .create_order_with(&req, &rules("0.01", true), (1 << 53) - 1, 1_767_225_600_123)
        .unwrap();
    assert_eq!(
        (signed.order.maker, signed.order.signer),
        (funder, key().address())
    );
    assert_eq!(
        (signed.order.maker_amount, signed.order.taker_amount),
        (2_435_890_000, 949_997_100)
    );
    assert_eq!(
        hex::encode(s.order_hash(&signed.order, true)),
        "659f0d5adc93563f82e3a8f02c9c43c56a3ee34ebddb79d990221d4491ca7913"
    );
    assert_eq!(
        signed.signature.to_string(),
        "0x3462cff1f495c34944d5700ad57820d69a2f87d4dcac57b955d20d084ce2d8a233b2ceb80d9261998eb8eb545a19e8f8f1da6b3809cf226bb6c9e8edbbcf105c1b"
    );
    // The verifier agrees, and only under the neg-risk exchange's domain.
    let p = ProtocolVersion::v2();
    assert_eq!(
        verify_order_signature(&signed, &p.domain(true)),
        Ok(key().address())
    );
    assert!(matches!(
        verify_order_signature(&signed, &p.domain(false)),
        Err(VerifyError::SignerMismatch { .. })
    ));
}

#[test]
fn poly_1271_matches_eth_account_and_verifies() {
    let wallet = Address([0x22; 20]);
    let s = OrderSigner::new(
        key(),
        ProtocolVersion::v2(),
        SignatureType::Poly1271,
        Some(wallet),
    )
    .unwrap();
    let req = OrderRequest {
        quantity: Quantity::MarketAmount(1_000_000),
        order_type: OrderType::Fok,
        ..limit(OrderSide::Buy, "0.5", "0")
    };
    let signed = s
        .create_order_with(&req, &rules("0.01", false), 5, 1_767_225_600_000)
        .unwrap();
    assert_eq!((signed.order.maker, signed.order.signer), (wallet, wallet));
    assert_eq!(
        (signed.order.maker_amount, signed.order.taker_amount),
        (1_000_000, 2_000_000)
    );
    assert_eq!(
        signed.signature.to_string(),
        "0x70d00b15980073bf6f3f26b8a1566ca4f3772f9059d3d543e0a21733ecbc72015c7706f5cdde7b58b465abd636b75a660456d3ee0da1729ca476eaf54f9fa11d1b3264e159346253e26a64e00b69032db0e7d32f94628de3e6eecb50304d7af3d2d7b16e2553d5b3c9605a22dd35093d87027b5fc50bfe1ff7094dcbfc8e879ed04f726465722875696e743235362073616c742c61646472657373206d616b65722c61646472657373207369676e65722c75696e7432353620746f6b656e49642c75696e74323536206d616b6572416d6f756e742c75696e743235362074616b6572416d6f756e742c75696e743820736964652c75696e7438207369676e6174757265547970652c75696e743235362074696d657374616d702c62797465733332206d657461646174612c62797465733332206275696c6465722900ba"
    );
    let d = ProtocolVersion::v2().domain(false);
    assert_eq!(recover_order_signer(&signed, &d), Ok(key().address()));
    // Same order claimed under the neg-risk exchange: the wrapper's separator gives it away.
    assert!(matches!(
        recover_order_signer(&signed, &ProtocolVersion::v2().domain(true)),
        Err(VerifyError::Poly1271Mismatch(_))
    ));
    // V1 has no POLY_1271.
    let v1 = ProtocolVersion::known(1, POLYGON).unwrap();
    assert!(OrderSigner::new(key(), v1, SignatureType::Poly1271, Some(wallet)).is_err());
}

#[test]
fn post_order_body_round_trips_and_tampering_is_caught() {
    let s = OrderSigner::new(key(), ProtocolVersion::v2(), SignatureType::Eoa, None).unwrap();
    let signed = s
        .create_order(&limit(OrderSide::Buy, "0.5", "10"), &rules("0.01", false))
        .unwrap();
    assert!(signed.order.salt < 1 << 53);
    let body = PostOrder {
        signed: &signed,
        schema: s.protocol().schema,
        owner: "00000000-0000-0000-0000-000000000000",
        order_type: OrderType::Gtc,
        post_only: false,
        defer_exec: false,
    }
    .to_json();
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let o = &v["order"];
    assert!(o["salt"].is_u64());
    assert_eq!(o["maker"], "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
    assert_eq!(o["tokenId"], TOKEN);
    assert_eq!(
        (o["makerAmount"].as_str(), o["takerAmount"].as_str()),
        (Some("5000000"), Some("10000000"))
    );
    assert_eq!(
        (o["side"].as_str(), o["signatureType"].as_u64()),
        (Some("BUY"), Some(0))
    );
    assert_eq!(o["expiration"], "0");
    assert_eq!(v["orderType"], "GTC");
    assert_eq!(
        (v["postOnly"].as_bool(), v["deferExec"].as_bool()),
        (Some(false), Some(false))
    );

    let parsed = parse_post_order(body.as_bytes()).unwrap();
    assert_eq!(parsed.signed, signed);
    let d = ProtocolVersion::v2().domain(false);
    assert_eq!(
        verify_order_signature(&parsed.signed, &d),
        Ok(key().address())
    );
    assert_eq!(
        order_hash(&parsed.signed.order, &d).unwrap(),
        s.order_hash(&signed.order, false)
    );

    let tampered = body.replace("\"10000000\"", "\"10000001\"");
    let t = parse_post_order(tampered.as_bytes()).unwrap();
    assert!(matches!(
        verify_order_signature(&t.signed, &d),
        Err(VerifyError::SignerMismatch { .. })
    ));
    // Wrong version: same order under a "3" domain.
    let d3 = ProtocolVersion::known(3, POLYGON).unwrap().domain(false);
    assert!(verify_order_signature(&parsed.signed, &d3).is_err());
    for bad in [
        body.replace("\"BUY\"", "\"HOLD\""),
        body.replace("\"5000000\"", "\"+5000000\""),
        body.replace("\"signatureType\":0", "\"signatureType\":9"),
        body.replace("\"GTC\"", "\"IOC\""),
        "{}".to_string(),
    ] {
        assert!(parse_post_order(bad.as_bytes()).is_err(), "{bad}");
    }
}

#[test]
fn v1_body_round_trips() {
    let s = OrderSigner::new(
        key(),
        ProtocolVersion::known(1, POLYGON).unwrap(),
        SignatureType::Eoa,
        None,
    )
    .unwrap();
    let mut req = limit(OrderSide::Sell, "0.82", "101");
    req.fee_rate_bps = 100;
    req.nonce = 3;
    let signed = s
        .create_order_with(&req, &rules("0.01", true), 1, 0)
        .unwrap();
    let body = PostOrder {
        signed: &signed,
        schema: s.protocol().schema,
        owner: "k",
        order_type: OrderType::Gtc,
        post_only: true,
        defer_exec: false,
    }
    .to_json();
    assert!(
        body.contains("\"feeRateBps\":\"100\"") && !body.contains("timestamp"),
        "{body}"
    );
    let parsed = parse_post_order(body.as_bytes()).unwrap();
    assert_eq!(parsed.signed, signed);
    assert!(parsed.post_only);
    let d = s.protocol().domain(true);
    assert_eq!(
        verify_order_signature(&parsed.signed, &d),
        Ok(key().address())
    );
}

#[test]
fn signer_setup_rules() {
    let p = ProtocolVersion::v2();
    assert!(OrderSigner::new(key(), p.clone(), SignatureType::PolyProxy, None).is_err());
    assert!(
        OrderSigner::new(key(), p.clone(), SignatureType::Eoa, Some(Address([1; 20]))).is_err()
    );
    let own = key().address();
    let s = OrderSigner::new(key(), p, SignatureType::Eoa, Some(own)).unwrap();
    assert_eq!((s.maker(), s.signer(), s.key_address()), (own, own, own));
}

#[test]
fn order_level_refusals() {
    let s = OrderSigner::new(key(), ProtocolVersion::v2(), SignatureType::Eoa, None).unwrap();
    let r = rules("0.01", false);
    let mut req = limit(OrderSide::Buy, "0.5", "10");
    req.order_type = OrderType::Gtd;
    let e = s.create_order_with(&req, &r, 1, 1_000_000).unwrap_err();
    assert_eq!(e.venue_code(), "INVALID_ORDER_EXPIRATION");
    req.expiration = 999;
    assert_eq!(
        s.create_order_with(&req, &r, 1, 1_000_000)
            .unwrap_err()
            .venue_code(),
        "INVALID_ORDER_EXPIRATION"
    );
    req.expiration = 1_060;
    assert!(s.create_order_with(&req, &r, 1, 1_000_000).is_ok());
    req.order_type = OrderType::Fak;
    req.post_only = true;
    assert_eq!(
        s.create_order_with(&req, &r, 1, 1_000_000)
            .unwrap_err()
            .venue_code(),
        "INVALID_POST_ONLY_ORDER_TYPE"
    );
}

#[test]
fn random_salts_fit_a_json_double() {
    for _ in 0..1000 {
        assert!(random_salt() < 1 << 53);
    }
}

#[test]
fn l1_matches_eth_account_and_verifies() {
    let h = auth::l1_headers(&key(), POLYGON, 1_767_225_600, 5);
    assert_eq!(
        h.signature,
        "0x4f7370ab2e237e47b67fae09ab29b8c8e9a6163590e82cfc22d540820fde42dc16bea40de38fc77916c00e63aea26a8dc68ccd51b9461370f79e7c0e98d45ee81c"
    );
    assert_eq!(
        (h.address.as_str(), h.nonce.as_str()),
        ("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", "5")
    );
    assert_eq!(auth::verify_l1(&h, POLYGON).unwrap(), key().address());
    assert!(auth::verify_l1(&h, 80002).is_err());
    let mut wrong = h.clone();
    wrong.timestamp = "1767225601".into();
    assert!(auth::verify_l1(&wrong, POLYGON).is_err());
}

#[test]
fn l2_matches_python_hmac_and_verifies() {
    let creds = ApiCredentials {
        api_key: "k-1".into(),
        secret: "yMnKy8zNzs_Q0dLT1NXW19jZ2tvc3d7f4OHi4-Tl5uc=".into(),
        passphrase: "p".into(),
    };
    let l2 = L2Signer::new(&creds, key().address()).unwrap();
    let body = br#"{"order":{"salt":1},"owner":"k"}"#;
    let h = l2.headers(1_767_225_600, "POST", "/order", body);
    assert_eq!(h.signature, "BuDf6IoC2vvczwVfScaD2HU73KxNV8jaNddxsSHouQ4=");
    assert_eq!(
        auth::verify_l2(&creds, &h, "POST", "/order", body).map_err(|e| e.to_string()),
        Ok(())
    );
    // The query string is not signed.
    assert_eq!(
        l2.headers(1_767_225_600, "POST", "/order?x=1", body)
            .signature,
        h.signature
    );
    // The standard-alphabet spelling of the same secret is accepted.
    let std_secret = ApiCredentials {
        secret: creds.secret.replace('_', "/").replace('-', "+"),
        ..creds.clone()
    };
    assert_eq!(
        std_secret.secret_bytes().unwrap(),
        creds.secret_bytes().unwrap()
    );
    assert!(auth::verify_l2(&creds, &h, "POST", "/order", b"{}").is_err());
    assert!(auth::verify_l2(&creds, &h, "GET", "/order", body).is_err());
    let mut bad = h.clone();
    bad.passphrase = "q".into();
    assert!(auth::verify_l2(&creds, &bad, "POST", "/order", body).is_err());
    let bad_secret = ApiCredentials {
        secret: "not base64!".into(),
        ..creds
    };
    assert!(L2Signer::new(&bad_secret, key().address()).is_err());
    assert!(!format!("{bad_secret:?}").contains("not base64"));
}

#[test]
fn signature_forms_must_match_the_signature_type() {
    let s = OrderSigner::new(key(), ProtocolVersion::v2(), SignatureType::Eoa, None).unwrap();
    let mut signed = s
        .create_order_with(
            &limit(OrderSide::Buy, "0.5", "10"),
            &rules("0.01", false),
            1,
            1,
        )
        .unwrap();
    signed.order.signature_type = SignatureType::Poly1271;
    assert!(matches!(
        recover_order_signer(&signed, &ProtocolVersion::v2().domain(false)),
        Err(VerifyError::FormMismatch { .. })
    ));
    assert!(matches!(signed.signature, OrderSignature::Ecdsa(_)));
}
