//! Order signing and auth on the hot path: build + sign + serialize a V2 order (target ≤ 25 µs
//! median), the EIP-712 digest alone, and L2 HMAC headers (target < 1 µs).
//!
//! Run: `cargo bench --bench signing`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use polyarb::adapters::polymarket::signing::{
    ApiCredentials, L2Signer, MarketRules, OrderRequest, OrderSide, OrderSigner, OrderType,
    PostOrder, PrivateKey, ProtocolVersion, SignatureType,
};
use polyarb::core::{Price, Size, TickSize, TokenId};

const KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const TOKEN: &str = "71321045679252212594626385532706912750332728571942532289631379312455583992563";

fn bench(c: &mut Criterion) {
    let key = PrivateKey::from_hex(KEY).unwrap();
    let signer =
        OrderSigner::new(key.clone(), ProtocolVersion::v2(), SignatureType::Eoa, None).unwrap();
    let rules = MarketRules {
        tick_size: TickSize::CENT,
        min_order_size: Size(5_000_000),
        neg_risk: false,
    };
    let req = OrderRequest::limit(
        TokenId::parse(TOKEN).unwrap(),
        OrderSide::Buy,
        Price(520_000),
        Size(100_000_000),
    );
    let mut buf = Vec::with_capacity(1024);
    let mut salt = 1u64;

    c.bench_function("order build+sign+serialize (V2, EOA)", |b| {
        b.iter(|| {
            salt += 1;
            let signed = signer
                .create_order_with(black_box(&req), &rules, salt, 1_767_225_600_000)
                .unwrap();
            buf.clear();
            PostOrder {
                signed: &signed,
                schema: signer.protocol().schema,
                owner: "00000000-0000-0000-0000-000000000000",
                order_type: OrderType::Gtc,
                post_only: false,
                defer_exec: false,
            }
            .write_json(&mut buf);
            black_box(buf.len())
        })
    });

    let order = signer.build(&req, &rules, 1, 1_767_225_600_000).unwrap();
    c.bench_function("order EIP-712 digest only", |b| {
        b.iter(|| black_box(signer.order_hash(black_box(&order), false)))
    });

    c.bench_function("order sign only (digest + k256)", |b| {
        b.iter(|| black_box(signer.sign(order.clone(), false)))
    });

    let creds = ApiCredentials {
        api_key: "00000000-0000-0000-0000-000000000000".into(),
        secret: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into(),
        passphrase: "passphrase".into(),
    };
    let l2 = L2Signer::new(&creds, key.address()).unwrap();
    // A real POST /order body (about 760 bytes), as the dispatcher would sign it.
    let signed = signer.sign(order.clone(), false);
    let mut body = Vec::new();
    PostOrder {
        signed: &signed,
        schema: signer.protocol().schema,
        owner: "00000000-0000-0000-0000-000000000000",
        order_type: OrderType::Gtc,
        post_only: false,
        defer_exec: false,
    }
    .write_json(&mut body);
    c.bench_function("L2 HMAC headers, POST /order body", |b| {
        b.iter(|| black_box(l2.headers(black_box(1_767_225_600), "POST", "/order", &body)))
    });
    c.bench_function("L2 HMAC headers, no body (DELETE /cancel-all)", |b| {
        b.iter(|| black_box(l2.headers(black_box(1_767_225_600), "DELETE", "/cancel-all", b"")))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
