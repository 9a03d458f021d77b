//! `polyarb order sign` / `polyarb order headers`, run as the built binary: against the
//! signing vectors in fixtures/polymarket, and against our own expectations.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use polyarb::adapters::polymarket::signing::{
    ProtocolVersion, parse_post_order, verify_order_signature,
};
use serde_json::Value;

const KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const TOKEN: &str = "71321045679252212594626385532706912750332728571942532289631379312455583992563";

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!("polyarb-cli-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
    fn file(&self, name: &str, content: &str) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, content).unwrap();
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn polyarb(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_polyarb"))
        .args(args)
        .output()
        .unwrap()
}

fn ok_json(out: Output) -> Value {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn sign_limit_order_prints_a_verifiable_body() {
    let dir = TempDir::new("sign");
    let key = dir.file("key", &format!("{KEY}\n"));
    let out = polyarb(&[
        "order",
        "sign",
        "--key-file",
        p(&key),
        "--token-id",
        TOKEN,
        "--side",
        "BUY",
        "--price",
        "0.58",
        "--size",
        "18233.33",
        "--tick-size",
        "0.01",
        "--salt",
        "77",
        "--timestamp-ms",
        "1767225600000",
        "--owner",
        "my-api-key",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let o = &v["order"];
    assert_eq!(o["salt"], 77);
    assert_eq!(
        (o["makerAmount"].as_str(), o["takerAmount"].as_str()),
        (Some("10575331400"), Some("18233330000"))
    );
    assert_eq!(
        (o["side"].as_str(), o["signatureType"].as_u64()),
        (Some("BUY"), Some(0))
    );
    assert_eq!(o["timestamp"], "1767225600000");
    assert_eq!(
        (v["owner"].as_str(), v["orderType"].as_str()),
        (Some("my-api-key"), Some("GTC"))
    );
    let parsed = parse_post_order(&out.stdout).unwrap();
    let d = ProtocolVersion::v2().domain(false);
    assert_eq!(
        verify_order_signature(&parsed.signed, &d)
            .unwrap()
            .to_checksum(),
        "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    );
}

#[test]
fn sign_market_order_from_an_amount() {
    let dir = TempDir::new("market");
    let key = dir.file("key", KEY);
    // BUY $2 at worst price 0.936, tick 0.001: py-clob-client-v2 1.2.1 signs 2000000 /
    // 2136750 (shares at 5 decimals), which production refuses for a market order; the
    // shares are cut to the 4 decimals it accepts.
    let v = ok_json(polyarb(&[
        "order",
        "sign",
        "--key-file",
        p(&key),
        "--token-id",
        "1",
        "--side",
        "BUY",
        "--price",
        "0.936",
        "--amount",
        "2",
        "--tick-size",
        "0.001",
        "--order-type",
        "FOK",
        "--neg-risk",
        "--salt",
        "1",
        "--timestamp-ms",
        "1",
    ]));
    assert_eq!(v["order"]["makerAmount"], "2000000");
    assert_eq!(v["order"]["takerAmount"], "2136700");
    assert_eq!(v["orderType"], "FOK");
    let parsed = parse_post_order(v.to_string().as_bytes()).unwrap();
    assert!(verify_order_signature(&parsed.signed, &ProtocolVersion::v2().domain(true)).is_ok());
    assert!(verify_order_signature(&parsed.signed, &ProtocolVersion::v2().domain(false)).is_err());
}

/// The issue's case: production refuses a market BUY whose pUSD has more than 2 decimals.
/// `$10 at 0.47`, tick 0.01: the official client signs 10000000 / 21276500 (shares rounded
/// up at 8 decimals, then down at 4); so do we. A FOK asked for in shares is signed with the
/// same precision: 237.3 shares at 0.72 spend $170.85 (not 170.856) for 237.2916 shares.
#[test]
fn sign_market_orders_with_productions_precision() {
    let dir = TempDir::new("fok");
    let key = dir.file("key", KEY);
    let sign = |extra: &[&str]| {
        let mut args = vec![
            "order",
            "sign",
            "--key-file",
            p(&key),
            "--token-id",
            "1",
            "--tick-size",
            "0.01",
            "--salt",
            "1",
            "--timestamp-ms",
            "1",
        ];
        args.extend_from_slice(extra);
        ok_json(polyarb(&args))
    };
    let v = sign(&[
        "--side",
        "BUY",
        "--price",
        "0.47",
        "--amount",
        "10",
        "--order-type",
        "FOK",
    ]);
    assert_eq!(v["order"]["makerAmount"], "10000000");
    assert_eq!(v["order"]["takerAmount"], "21276500");
    let v = sign(&[
        "--side",
        "BUY",
        "--price",
        "0.72",
        "--size",
        "237.3",
        "--order-type",
        "FOK",
    ]);
    assert_eq!(v["order"]["makerAmount"], "170850000");
    assert_eq!(v["order"]["takerAmount"], "237291600");
    let v = sign(&[
        "--side",
        "SELL",
        "--price",
        "0.47",
        "--amount",
        "10.129",
        "--order-type",
        "FAK",
    ]);
    assert_eq!(v["order"]["makerAmount"], "10120000");
    assert_eq!(v["order"]["takerAmount"], "4756400");
    // The same shares as a GTC keep the limit rule (shares to 2 decimals, pUSD to 4).
    let v = sign(&["--side", "BUY", "--price", "0.72", "--size", "237.3"]);
    assert_eq!(v["order"]["makerAmount"], "170856000");
    assert_eq!(v["order"]["takerAmount"], "237300000");
}

#[test]
fn sign_refuses_locally_with_venue_error_names() {
    let dir = TempDir::new("refuse");
    let key = dir.file("key", KEY);
    let base = [
        "order",
        "sign",
        "--key-file",
        p(&key),
        "--token-id",
        "1",
        "--side",
        "SELL",
        "--tick-size",
        "0.01",
    ];
    let run = |extra: &[&str]| {
        let args: Vec<&str> = base.iter().chain(extra).copied().collect();
        let out = polyarb(&args);
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    assert!(
        run(&["--price", "0.515", "--size", "10"])
            .contains("Price (0.515) breaks minimum tick size rule: 0.01")
    );
    assert!(
        run(&["--price", "0.5", "--size", "4", "--min-size", "5"])
            .contains("Size (4) lower than the minimum: 5")
    );
    assert!(
        run(&["--price", "0.5", "--size", "1.5", "--order-type", "FOK"])
            .contains("invalid amount for a marketable order ($0.75), min size: $1")
    );
    assert!(
        run(&["--price", "0.5", "--size", "10", "--order-type", "GTD"])
            .contains("invalid expiration")
    );
    // Hostile amounts: a clear refusal naming the cause, never a panic.
    for (amount, says) in [
        ("0", "invalid amounts"),
        ("0.009", "invalid amounts"),
        ("1.1234567", "--amount"),
        ("99999999999999999999", "--amount"),
        ("-1", "unexpected argument '-1'"),
    ] {
        let e = run(&["--price", "0.5", "--amount", amount, "--order-type", "FAK"]);
        assert!(e.contains(says) && !e.contains("panicked"), "{amount}: {e}");
    }
    // A BUY whose shares would not fit in 64 bits.
    let out = polyarb(&[
        "order",
        "sign",
        "--key-file",
        p(&key),
        "--token-id",
        "1",
        "--side",
        "BUY",
        "--tick-size",
        "0.01",
        "--price",
        "0.01",
        "--amount",
        "18446744073709",
        "--order-type",
        "FOK",
    ]);
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        e.contains("do not fit in 64 bits") && !e.contains("panicked"),
        "{e}"
    );
    assert!(run(&["--price", "0.5e0", "--size", "10"]).contains("--price"));
    assert!(run(&["--price", "0.5", "--size", "10", "--signature-type", "1"]).contains("funder"));
    let bad_key = dir.file("bad", "0xnotakey");
    let out = polyarb(&[
        "order",
        "sign",
        "--key-file",
        p(&bad_key),
        "--token-id",
        "1",
        "--side",
        "BUY",
        "--price",
        "0.5",
        "--size",
        "10",
        "--tick-size",
        "0.01",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("private key") && !err.contains("notakey"),
        "{err}"
    );
}

/// The signing vectors; a missing file fails the test, naming the path.
fn fixture() -> Value {
    let text = std::fs::read_to_string(testkit::fixtures::path("signing_test_vectors.json"))
        .expect("readable fixture");
    serde_json::from_str(&text).unwrap()
}

#[test]
fn sign_reproduces_every_v2_vector() {
    let f = fixture();
    let dir = TempDir::new("v2");
    let key = dir.file("key", f["private_key"].as_str().unwrap());
    let me = f["address"].as_str().unwrap();
    for v in f["order_v2"].as_array().unwrap() {
        let o = &v["order"];
        let s = |k: &str| o[k].as_str().unwrap().to_string();
        let neg_risk =
            v["domain"]["verifyingContract"] == "0xe2222d279d744050d28e00520010520000310F59";
        let side = if o["side"] == 0 { "BUY" } else { "SELL" };
        let sig_type = o["signatureType"].to_string();
        let mut args: Vec<String> = [
            "order",
            "sign",
            "--key-file",
            p(&key),
            "--token-id",
            &s("tokenId"),
            "--side",
            side,
            "--maker-amount",
            &s("makerAmount"),
            "--taker-amount",
            &s("takerAmount"),
            "--salt",
            &s("salt"),
            "--timestamp-ms",
            &s("timestamp"),
            "--signature-type",
            &sig_type,
            "--builder",
            &s("builder"),
            "--metadata",
            &s("metadata"),
        ]
        .iter()
        .map(|x| x.to_string())
        .collect();
        if sig_type != "0" {
            args.extend(["--funder".to_string(), s("maker")]);
        }
        if neg_risk {
            args.push("--neg-risk".into());
        }
        assert_eq!(s("maker"), me);
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let body = ok_json(polyarb(&argv));
        assert_eq!(
            body["order"]["signature"], v["signature"],
            "{}",
            v["source"]
        );
        assert_eq!(body["order"]["salt"].to_string(), s("salt"));
    }
}

#[test]
fn headers_reproduce_the_hmac_vectors() {
    let dir = TempDir::new("hdr");
    let key = dir.file("key", KEY);
    let creds = dir.file(
        "creds.json",
        r#"{"apiKey":"00000000-0000-0000-0000-000000000001","secret":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","passphrase":"pp"}"#,
    );
    let body = dir.file("body", r#"{"hash": "0x123"}"#);
    let h = ok_json(polyarb(&[
        "order",
        "headers",
        "--creds-file",
        p(&creds),
        "--key-file",
        p(&key),
        "--method",
        "test-sign",
        "--path",
        "/orders",
        "--body-file",
        p(&body),
        "--timestamp",
        "1000000",
    ]));
    // py-clob-client tests/signing/test_hmac.py.
    assert_eq!(
        h["POLY_SIGNATURE"],
        "ZwAdJKvoYRlEKDkNMwd5BuwNNtg93kNaR_oU2HrfVvc="
    );
    assert_eq!(
        h["POLY_ADDRESS"],
        "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    );
    assert_eq!(
        (h["POLY_TIMESTAMP"].as_str(), h["POLY_PASSPHRASE"].as_str()),
        (Some("1000000"), Some("pp"))
    );
    assert_eq!(h["POLY_API_KEY"], "00000000-0000-0000-0000-000000000001");
    let h = ok_json(polyarb(&[
        "order",
        "headers",
        "--creds-file",
        p(&creds),
        "--key-file",
        p(&key),
        "--method",
        "GET",
        "--path",
        "/data/orders?next_cursor=MA==",
        "--timestamp",
        "1700000000",
    ]));
    assert_eq!(
        h["POLY_SIGNATURE"],
        "m6lGS9WyES7JjpAYNd7zIdW5bfHxAAI_pIa1St9vLO4="
    );
    let bad = dir.file("bad.json", r#"{"apiKey":"x"}"#);
    let out = polyarb(&[
        "order",
        "headers",
        "--creds-file",
        p(&bad),
        "--key-file",
        p(&key),
        "--method",
        "GET",
        "--path",
        "/x",
        "--timestamp",
        "1",
    ]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("bad.json"));
}
