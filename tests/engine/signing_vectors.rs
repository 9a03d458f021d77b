//! Conformance: every vector in `fixtures/polymarket/signing_test_vectors.json` (HMAC, L1
//! ClobAuth, V1/V2 orders, POLY_1271, price/size → amounts).

use polyarb::adapters::polymarket::signing::amounts::limit_amounts;
use polyarb::adapters::polymarket::signing::{
    Address, ApiCredentials, Bytes32, Domain, L2Signer, Order, OrderSide, OrderSignature,
    PrivateKey, SignatureType, SignedOrder, auth, order_hash, recover_order_signer,
};
use polyarb::core::{Price, Size, TickSize, TokenId};
use serde_json::Value;

/// The vectors file; a missing file fails the test, naming the path.
fn load() -> Value {
    let text = std::fs::read_to_string(testkit::fixtures::path("signing_test_vectors.json"))
        .expect("readable fixture");
    serde_json::from_str(&text).expect("fixture is JSON")
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str()
        .unwrap_or_else(|| panic!("field {k} missing in {v}"))
}

fn dec(v: &Value, k: &str) -> u64 {
    v.get(k)
        .and_then(Value::as_str)
        .map_or(0, |x| x.parse().unwrap())
}

fn domain(v: &Value) -> Domain {
    Domain {
        name: s(v, "name").to_string().into(),
        version: s(v, "version").to_string().into(),
        chain_id: v["chainId"].as_u64().unwrap(),
        verifying_contract: Some(Address::parse(s(v, "verifyingContract")).unwrap()),
    }
}

fn order(v: &Value) -> Order {
    let word = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .map_or(Bytes32::ZERO, |x| Bytes32::parse(x).unwrap())
    };
    Order {
        salt: dec(v, "salt"),
        maker: Address::parse(s(v, "maker")).unwrap(),
        signer: Address::parse(s(v, "signer")).unwrap(),
        taker: v
            .get("taker")
            .and_then(Value::as_str)
            .map_or(Address::ZERO, |x| Address::parse(x).unwrap()),
        token_id: TokenId::parse(s(v, "tokenId")).unwrap(),
        maker_amount: dec(v, "makerAmount"),
        taker_amount: dec(v, "takerAmount"),
        expiration: dec(v, "expiration"),
        nonce: dec(v, "nonce"),
        fee_rate_bps: dec(v, "feeRateBps"),
        side: OrderSide::from_u8(v["side"].as_u64().unwrap() as u8).unwrap(),
        signature_type: SignatureType::from_u8(v["signatureType"].as_u64().unwrap() as u8).unwrap(),
        timestamp_ms: dec(v, "timestamp"),
        metadata: word("metadata"),
        builder: word("builder"),
    }
}

fn sign_like_the_sdk(key: &PrivateKey, o: &Order, d: &Domain) -> String {
    use polyarb::adapters::polymarket::signing::protocol::OrderSchema;
    use polyarb::adapters::polymarket::signing::{OrderSigner, ProtocolVersion};
    // A protocol whose standard exchange is the vector's contract, on the vector's chain.
    let contract = d.verifying_contract.unwrap();
    let p = ProtocolVersion {
        version: d.version.parse().unwrap(),
        domain_version: match d.version.as_ref() {
            "1" => "1",
            "2" => "2",
            _ => "3",
        },
        chain_id: d.chain_id,
        exchange: contract,
        neg_risk_exchange: contract,
        schema: OrderSchema::for_domain_version(&d.version).unwrap(),
    };
    // `sign` signs the order as given (maker, signer and signature type included), which is
    // what the upstream tests do, even for orders whose signer is not the key.
    let signer = OrderSigner::new(key.clone(), p, SignatureType::Eoa, None).unwrap();
    signer.sign(o.clone(), false).signature.to_string()
}

#[test]
fn hmac_l2_vectors() {
    let f = load();
    let key = PrivateKey::from_hex(s(&f, "private_key")).unwrap();
    for v in f["hmac_l2"].as_array().unwrap() {
        let creds = ApiCredentials {
            api_key: "k".into(),
            secret: s(v, "secret").into(),
            passphrase: "p".into(),
        };
        let l2 = L2Signer::new(&creds, key.address()).unwrap();
        let got = l2.signature(
            s(v, "timestamp"),
            s(v, "method"),
            s(v, "path"),
            s(v, "body").as_bytes(),
        );
        assert_eq!(got, s(v, "expected"), "{}", s(v, "source"));
    }
}

#[test]
fn l1_clob_auth_vectors() {
    let f = load();
    let key = PrivateKey::from_hex(s(&f, "private_key")).unwrap();
    assert_eq!(key.address(), Address::parse(s(&f, "address")).unwrap());
    for v in f["l1_clob_auth"].as_array().unwrap() {
        let chain = v["chain_id"].as_u64().unwrap();
        let h = auth::l1_headers(
            &key,
            chain,
            s(v, "timestamp").parse().unwrap(),
            v["nonce"].as_u64().unwrap(),
        );
        assert_eq!(h.signature, s(v, "expected"), "{}", s(v, "source"));
        assert_eq!(auth::verify_l1(&h, chain).unwrap(), key.address());
    }
}

fn check_orders(section: &str) {
    let f = load();
    let key = PrivateKey::from_hex(s(&f, "private_key")).unwrap();
    for v in f[section].as_array().unwrap() {
        let src = s(v, "source");
        let d = domain(&v["domain"]);
        let o = order(&v["order"]);
        let digest = v
            .get("digest")
            .or_else(|| v.get("order_digest"))
            .and_then(Value::as_str);
        if let Some(want) = digest {
            assert_eq!(
                format!("0x{}", hex::encode(order_hash(&o, &d).unwrap())),
                want,
                "digest: {src}"
            );
        }
        if let Some(want) = v.get("signature").and_then(Value::as_str) {
            assert_eq!(sign_like_the_sdk(&key, &o, &d), want, "signature: {src}");
            let bytes = hex::decode(&want[2..]).unwrap();
            let signed = SignedOrder {
                order: o.clone(),
                signature: OrderSignature::from_bytes(&bytes).unwrap(),
            };
            assert_eq!(
                recover_order_signer(&signed, &d).unwrap(),
                key.address(),
                "recover: {src}"
            );
        }
    }
}

#[test]
fn order_v1_vectors() {
    check_orders("order_v1");
}

#[test]
fn order_v2_vectors() {
    check_orders("order_v2");
}

#[test]
fn order_v2_poly_1271_vectors() {
    check_orders("order_v2_poly_1271");
}

/// The fixture writes prices and sizes as JSON numbers. serde_json prints a number back as its
/// shortest round-trip decimal, which for these short literals is the literal itself; the
/// string is then parsed exactly. (Only this test reads numbers this way; orders never do.)
fn decimal_text(v: &Value) -> String {
    v.as_number()
        .map(|n| n.to_string())
        .unwrap_or_else(|| v.as_str().unwrap().to_string())
}

#[test]
fn order_amount_vectors() {
    let f = load();
    for c in f["order_amounts"]["cases"].as_array().unwrap() {
        let side: OrderSide = s(c, "side").parse().unwrap();
        let price = Price::parse(&decimal_text(&c["price"])).unwrap();
        let size = Size::parse(&decimal_text(&c["size"])).unwrap();
        let tick =
            TickSize::parse(c.get("tick").and_then(Value::as_str).unwrap_or("0.01")).unwrap();
        let a = limit_amounts(side, price, size, tick).unwrap();
        assert_eq!(
            (a.maker.to_string(), a.taker.to_string()),
            (
                s(c, "makerAmount").to_string(),
                s(c, "takerAmount").to_string()
            ),
            "{c}"
        );
    }
}

/// Market-order amounts of the official client (py-clob-client-v2's
/// `get_market_order_amounts` at tick 0.01, `scripts/gen_market_amounts.py`). The client cuts
/// its inputs in binary floats, so for some inputs it signs a cent or a tick less than asked
/// (0.29 → 0.28, 2.01 → 2.00); the fixture records what it cut to. Ours equal the client's on
/// every pair given what it cut to, and on the unchanged inputs wherever its cut is exact
/// (at least 100 pairs per side).
#[test]
fn market_amounts_equal_the_official_clients() {
    use polyarb::adapters::polymarket::signing::amounts::market_amounts;
    use polyarb::core::decimal::parse_micros;
    let path = testkit::fixtures::path("market_amounts_tick_0.01.json");
    let text = std::fs::read_to_string(&path).expect("committed fixture");
    let v: Value = serde_json::from_str(&text).unwrap();
    let tick = TickSize::parse(s(&v, "tick_size")).unwrap();
    let micros = |c: &Value, k: &str| parse_micros(s(c, k).as_bytes()).unwrap();
    let mut wrong = Vec::new();
    let mut exact_cut = [0usize; 2];
    for c in v["cases"].as_array().unwrap() {
        let side: OrderSide = s(c, "side").parse().unwrap();
        let want = Ok((dec(c, "maker"), dec(c, "taker")));
        let price = Price::parse(s(c, "price")).unwrap();
        let amount = micros(c, "amount");
        let cut_price = Price(u32::try_from(micros(c, "client_cut_price")).unwrap());
        let cut_amount = micros(c, "client_cut_amount");
        let got = market_amounts(side, cut_price, cut_amount, tick).map(|a| (a.maker, a.taker));
        if got != want {
            wrong.push(format!("{c}: ours {got:?}"));
        }
        if cut_price == price && cut_amount == amount - amount % 10_000 {
            exact_cut[side as usize] += 1;
            let got = market_amounts(side, price, amount, tick).map(|a| (a.maker, a.taker));
            if got != want {
                wrong.push(format!("{c}: ours on the inputs {got:?}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert!(exact_cut.iter().all(|&n| n >= 100), "{exact_cut:?}");
}
