//! The venue's relayer over real loopback sockets, driven by the engine's own relayer client
//! and request signer: Safe, proxy and deposit-wallet requests split, merge, convert, wrap and
//! unwrap on the venue's ledger; refusals (bad signature, wrong nonce, a wallet the signer does
//! not own, no authentication) change nothing; a request the ledger cannot cover is FAILED.

use std::time::Duration;

use alloy_primitives::{Address, B256, U256};
use serde_json::{Value, json};

use polyarb::adapters::polymarket::signing::PrivateKey;
use polyarb::chain::Contracts;
use polyarb::chain::Route;
use polyarb::settlement::relayer::{
    self, AccountType, RelayerContracts, RequestContext, WalletCall,
};
use polyarb::settlement::relayer_client::{RelayerAuth, RelayerClient, RelayerError};
use polyarb::settlement::{MarketKind, Settlement};
use venue_testkit::wire::{Http, venue};

/// Anvil's public accounts #0 and #1.
const KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const OTHER: &str = "0x59c6995e998f97a5a0044966f0945389dc9c86dae88c7a8412f4603b6b78690d";

fn client(v: &polyarb_venue::VenueHandle, auth: bool) -> RelayerClient {
    let auth = auth.then(|| RelayerAuth::RelayerKey {
        key: "test-relayer-key".into(),
        address: Address::repeat_byte(9),
    });
    RelayerClient::new(
        &v.http_url(),
        auth,
        Duration::from_secs(10),
        Duration::from_millis(20),
        50,
    )
}

fn owner(k: &PrivateKey) -> Address {
    Address::from(k.address().0)
}

fn ctx(c: &RelayerClient, k: &PrivateKey, account: AccountType, wallet: Address) -> RequestContext {
    let n = c.nonce(owner(k), account).expect("nonce");
    RequestContext {
        account,
        chain_id: 137,
        wallet,
        contracts: RelayerContracts::default(),
        nonce: n.nonce,
        relay: n.relay,
        proxy_gas_limit: 10_000_000,
        deadline: 4_000_000_000,
        metadata: String::new(),
    }
}

fn calls(cs: &[polyarb::chain::TxCall]) -> Vec<WalletCall> {
    cs.iter().map(WalletCall::from).collect()
}

fn fund(http: &Http, who: Address, collateral: &str, tokens: Value) {
    let r = http.post(
        "/admin/fund",
        &json!({"address": who.to_checksum(None), "collateral": collateral, "tokens": tokens})
            .to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
}

/// (pUSD total, token totals by id) of an address.
fn balances(http: &Http, who: Address) -> (u64, Value) {
    let r = http.get(&format!(
        "/admin/balances?address={}",
        who.to_checksum(None)
    ));
    assert_eq!(r.status, 200, "{}", r.body);
    let j = r.json();
    (
        j["collateral"]["total"].as_u64().unwrap(),
        j["tokens"].clone(),
    )
}

fn token_total(tokens: &Value, id: &str) -> u64 {
    tokens[id]["total"].as_u64().unwrap_or(0)
}

fn markets(http: &Http) -> Vec<Value> {
    http.get("/admin/markets")
        .json()
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn safe_requests_split_and_merge_and_refusals_change_nothing() {
    let v = venue(24, 11);
    let http = Http::new(&v);
    let c = client(&v, true);
    let key = PrivateKey::from_hex(KEY).unwrap();
    let safe = relayer::safe_address(RelayerContracts::default().safe_factory, owner(&key));
    fund(&http, safe, "100", json!({}));
    let m = markets(&http)
        .into_iter()
        .find(|m| !m.as_object().unwrap()["neg_risk"].as_bool().unwrap())
        .unwrap();
    let cid: B256 = m["condition_id"].as_str().unwrap().parse().unwrap();
    let (yes, no) = (
        m["token_ids"][0].as_str().unwrap().to_string(),
        m["token_ids"][1].as_str().unwrap().to_string(),
    );
    let s = Settlement::new(Contracts::default(), Route::Adapter);

    assert!(!c.deployed(safe, AccountType::Safe).unwrap());
    // Approvals and a split of 10 in one MultiSend request.
    let mut batch = vec![
        polyarb::settlement::calls::erc20_approve(s.contracts.pusd, s.contracts.collateral_adapter),
        polyarb::settlement::calls::ctf_approve_all(
            s.contracts.ctf,
            s.contracts.collateral_adapter,
        ),
    ];
    batch.push(s.split(MarketKind::Binary, cid, U256::from(10_000_000u64)));
    let cx = ctx(&c, &key, AccountType::Safe, safe);
    assert_eq!(cx.nonce, U256::ZERO);
    let req = relayer::build(&key, &cx, &calls(&batch)).unwrap();
    let sub = c.submit(&req).unwrap();
    assert_eq!(sub.state, "STATE_NEW");
    let done = c.wait(&sub.id).unwrap();
    assert_eq!(done.state, "STATE_CONFIRMED");
    let (pusd, tokens) = balances(&http, safe);
    assert_eq!(pusd, 90_000_000);
    assert_eq!(token_total(&tokens, &yes), 10_000_000);
    assert_eq!(token_total(&tokens, &no), 10_000_000);
    assert!(c.deployed(safe, AccountType::Safe).unwrap());

    // The same request again: its nonce is spent.
    match c.submit(&req) {
        Err(RelayerError::Status {
            status: 400, body, ..
        }) => {
            assert!(body.contains("invalid nonce"), "{body}")
        }
        other => panic!("a replay must be refused: {other:?}"),
    }
    // A signature that does not match the request.
    let merge = [s.merge(MarketKind::Binary, cid, U256::from(4_000_000u64))];
    let cx = ctx(&c, &key, AccountType::Safe, safe);
    assert_eq!(cx.nonce, U256::from(1));
    let mut bad = relayer::build(&key, &cx, &calls(&merge)).unwrap();
    let mut sig = bad.signature.to_vec();
    sig[10] ^= 1;
    bad.signature = sig.into();
    match c.submit(&bad) {
        Err(RelayerError::Status {
            status: 400, body, ..
        }) => {
            assert!(body.contains("signature"), "{body}")
        }
        other => panic!("a bad signature must be refused: {other:?}"),
    }
    // Another key claiming this Safe.
    let other = PrivateKey::from_hex(OTHER).unwrap();
    let mut cx_other = cx.clone();
    cx_other.nonce = U256::from(1);
    let stolen = relayer::build(&other, &cx_other, &calls(&merge)).unwrap();
    match c.submit(&stolen) {
        Err(RelayerError::Status {
            status: 400, body, ..
        }) => {
            assert!(body.contains("not owned"), "{body}")
        }
        other => panic!("a foreign wallet must be refused: {other:?}"),
    }
    // No authentication headers.
    let good = relayer::build(&key, &cx, &calls(&merge)).unwrap();
    match client(&v, false).submit(&good) {
        Err(RelayerError::Status { status: 401, .. }) => {}
        other => panic!("an unauthenticated request must be refused: {other:?}"),
    }
    assert_eq!(
        balances(&http, safe).0,
        90_000_000,
        "refusals change nothing"
    );

    // More than the Safe holds: FAILED, nothing applied, the nonce not spent.
    let too_much = [s.merge(MarketKind::Binary, cid, U256::from(11_000_000u64))];
    let req = relayer::build(&key, &cx, &calls(&too_much)).unwrap();
    let sub = c.submit(&req).unwrap();
    match c.wait(&sub.id) {
        Err(RelayerError::Failed { state, message, .. }) => {
            assert_eq!(state, "STATE_FAILED");
            assert!(message.unwrap().contains("insufficient"));
        }
        other => panic!("an uncovered merge must fail: {other:?}"),
    }
    assert_eq!(
        c.nonce(owner(&key), AccountType::Safe).unwrap().nonce,
        U256::from(1)
    );

    // The merge itself, then pUSD → USDC.e → pUSD.
    let sub = c.submit(&good).unwrap();
    c.wait(&sub.id).unwrap();
    let (pusd, tokens) = balances(&http, safe);
    assert_eq!(pusd, 94_000_000);
    assert_eq!(token_total(&tokens, &yes), 6_000_000);
    assert_eq!(token_total(&tokens, &no), 6_000_000);
    let ramp = [
        s.unwrap(safe, U256::from(5_000_000u64)),
        s.wrap(safe, U256::from(2_000_000u64)),
    ];
    let req = relayer::build(&key, &ctx(&c, &key, AccountType::Safe, safe), &calls(&ramp)).unwrap();
    c.wait(&c.submit(&req).unwrap().id).unwrap();
    assert_eq!(balances(&http, safe).0, 91_000_000);
}

#[test]
fn proxy_split_and_deposit_wallet_convert_settle_on_the_ledger() {
    let v = venue(80, 12);
    let http = Http::new(&v);
    let c = client(&v, true);
    let key = PrivateKey::from_hex(KEY).unwrap();
    let s = Settlement::new(Contracts::default(), Route::Adapter);
    let all = markets(&http);

    // Proxy wallet: the relay comes from /relay-payload; a binary split of 3.
    let proxy = relayer::proxy_address(RelayerContracts::default().proxy_factory, owner(&key));
    fund(&http, proxy, "20", json!({}));
    let m = all
        .iter()
        .find(|m| !m["neg_risk"].as_bool().unwrap())
        .unwrap();
    let cid: B256 = m["condition_id"].as_str().unwrap().parse().unwrap();
    let cx = ctx(&c, &key, AccountType::Proxy, proxy);
    assert!(cx.relay.is_some());
    let req = relayer::build(
        &key,
        &cx,
        &calls(&[s.split(MarketKind::Binary, cid, U256::from(3_000_000u64))]),
    )
    .unwrap();
    assert_eq!(
        c.wait(&c.submit(&req).unwrap().id).unwrap().state,
        "STATE_CONFIRMED"
    );
    let (pusd, tokens) = balances(&http, proxy);
    assert_eq!(pusd, 17_000_000);
    assert_eq!(
        token_total(&tokens, m["token_ids"][1].as_str().unwrap()),
        3_000_000
    );

    // Deposit wallet (the double's address for the owner): convert every NO of a neg-risk
    // market, 2 each → (questions - 1) × 2 pUSD.
    let wallet = Address::from(polyarb_venue::deposit_wallet_address(key.address()).0);
    let group = all
        .iter()
        .find(|m| m["neg_risk"].as_bool().unwrap())
        .unwrap()["neg_risk_market_id"]
        .as_str()
        .unwrap()
        .to_string();
    let qs: Vec<&Value> = all
        .iter()
        .filter(|m| m["neg_risk_market_id"].as_str() == Some(group.as_str()))
        .collect();
    let n = qs.len();
    assert!(n >= 2);
    let nos: serde_json::Map<String, Value> = qs
        .iter()
        .map(|m| (m["token_ids"][1].as_str().unwrap().to_string(), json!("2")))
        .collect();
    fund(&http, wallet, "0", Value::Object(nos));
    let before = balances(&http, wallet).0;
    let market: B256 = group.parse().unwrap();
    let index_set = (U256::from(1) << n) - U256::from(1);
    let cx = ctx(&c, &key, AccountType::DepositWallet, wallet);
    let req = relayer::build(
        &key,
        &cx,
        &calls(&[s.convert(market, index_set, U256::from(2_000_000u64))]),
    )
    .unwrap();
    assert_eq!(
        c.wait(&c.submit(&req).unwrap().id).unwrap().state,
        "STATE_CONFIRMED"
    );
    let (pusd, tokens) = balances(&http, wallet);
    assert_eq!(pusd - before, (n as u64 - 1) * 2_000_000);
    for m in &qs {
        assert_eq!(token_total(&tokens, m["token_ids"][1].as_str().unwrap()), 0);
    }
    // An index set beyond the market's questions is FAILED.
    let cx = ctx(&c, &key, AccountType::DepositWallet, wallet);
    let req = relayer::build(
        &key,
        &cx,
        &calls(&[s.convert(market, U256::from(1) << n, U256::from(1_000_000u64))]),
    )
    .unwrap();
    assert!(matches!(
        c.wait(&c.submit(&req).unwrap().id),
        Err(RelayerError::Failed { .. })
    ));
}

/// `polyarb ctf split` for a Safe account: `--dry-run` prints the signed request and sends
/// nothing; without it the request is submitted, polled to CONFIRMED and the venue's ledger
/// moves.
#[test]
fn cli_ctf_split_goes_through_the_relayer_for_a_safe() {
    let v = venue(24, 13);
    let http = Http::new(&v);
    let key = PrivateKey::from_hex(KEY).unwrap();
    let safe = relayer::safe_address(RelayerContracts::default().safe_factory, owner(&key));
    fund(&http, safe, "50", json!({}));
    let m = markets(&http)
        .into_iter()
        .find(|m| !m["neg_risk"].as_bool().unwrap())
        .unwrap();
    let dir = std::env::temp_dir().join(format!("polyarb-relayer-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("key"), KEY).unwrap();
    std::fs::write(
        dir.join("relayer-auth.json"),
        r#"{"relayerApiKey": "k", "relayerApiKeyAddress": "0x0909090909090909090909090909090909090909"}"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("chain.toml"),
        format!(
            "[chain]\nkey_file = \"key\"\njournal = \"journal.sqlite\"\naccount = \"safe\"\n\n\
             [chain.relayer]\nurl = \"{}\"\nauth_file = \"relayer-auth.json\"\npoll_interval_ms = 20\n",
            v.http_url()
        ),
    )
    .unwrap();
    let run = |dry: bool| {
        let mut cmd = std::process::Command::new(testkit::bins::polyarb());
        cmd.args(["ctf", "split", "--config"])
            .arg(dir.join("chain.toml"))
            .args([
                "--condition",
                m["condition_id"].as_str().unwrap(),
                "--amount",
                "7.5",
            ]);
        if dry {
            cmd.arg("--dry-run");
        }
        let out = cmd.output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        text
    };
    let dry = run(true);
    assert!(dry.contains("\"type\": \"SAFE\""), "{dry}");
    assert!(
        dry.contains(&format!(
            "\"proxyWallet\": \"{}\"",
            safe.to_string().to_lowercase()
        )),
        "{dry}"
    );
    assert!(dry.contains("dry run: not sent"), "{dry}");
    assert_eq!(
        balances(&http, safe).0,
        50_000_000,
        "a dry run sends nothing"
    );
    let sent = run(false);
    assert!(sent.contains("STATE_CONFIRMED"), "{sent}");
    let (pusd, tokens) = balances(&http, safe);
    assert_eq!(pusd, 42_500_000);
    assert_eq!(
        token_total(&tokens, m["token_ids"][0].as_str().unwrap()),
        7_500_000
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The recycler on its own thread, fed through its channel, merges a Safe's complete sets
/// through the venue's relayer in one batch: the ledger's pUSD rises by the sets merged.
#[test]
fn the_recycler_merges_complete_sets_through_the_relayer() {
    use polyarb::settlement::recycle::{self, FilledSets, RecycleConfig, Recycler, SetKey};
    use polyarb::settlement::relayer_client::RelayerBatchSender;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    let v = venue(24, 14);
    let http = Http::new(&v);
    let key = PrivateKey::from_hex(KEY).unwrap();
    let safe = relayer::safe_address(RelayerContracts::default().safe_factory, owner(&key));
    let binary: Vec<Value> = markets(&http)
        .into_iter()
        .filter(|m| !m["neg_risk"].as_bool().unwrap())
        .take(2)
        .collect();
    let mut tokens = serde_json::Map::new();
    for m in &binary {
        tokens.insert(m["token_ids"][0].as_str().unwrap().into(), json!("4"));
        tokens.insert(m["token_ids"][1].as_str().unwrap().into(), json!("4"));
    }
    fund(&http, safe, "1", Value::Object(tokens));

    let cfg = RecycleConfig {
        min_sets: 5_000_000,
        max_gas_per_pusd: 100_000,
        gas_per_call: 150_000,
        flush_ms: 20,
        ..RecycleConfig::default()
    };
    let (tx, rx, stats) = recycle::channel(64);
    let recycler = Recycler::new(
        cfg,
        Settlement::new(Contracts::default(), Route::Adapter),
        stats.clone(),
        None,
    );
    let mut sender = RelayerBatchSender {
        client: client(&v, true),
        key: PrivateKey::from_hex(KEY).unwrap(),
        ctx: RequestContext {
            account: AccountType::Safe,
            chain_id: 137,
            wallet: safe,
            contracts: RelayerContracts::default(),
            nonce: U256::ZERO,
            relay: None,
            proxy_gas_limit: 10_000_000,
            deadline: 0,
            metadata: String::new(),
        },
        gas_per_call: 150_000,
        deadline_s: 600,
    };
    let stop = Arc::new(AtomicBool::new(false));
    let s2 = stop.clone();
    let worker = std::thread::spawn(move || recycler.run(rx, &mut sender, s2));
    for m in &binary {
        let cid: B256 = m["condition_id"].as_str().unwrap().parse().unwrap();
        for _ in 0..3 {
            assert!(tx.offer(FilledSets {
                key: SetKey::Merge {
                    kind: MarketKind::Binary,
                    condition: cid,
                },
                sets: 1_000_000,
                tokens: vec![],
            }));
        }
    }
    stop.store(true, Ordering::SeqCst);
    let r = worker.join().unwrap();
    assert_eq!(r.pending_sets(), 0);
    assert_eq!(stats.batches.load(Ordering::Relaxed), 1);
    assert_eq!(stats.sets_merged.load(Ordering::Relaxed), 6_000_000);
    assert_eq!(stats.pusd_freed.load(Ordering::Relaxed), 6_000_000);
    assert_eq!(stats.gas_per_pusd(), Some(50_000));
    let (pusd, held) = balances(&http, safe);
    assert_eq!(pusd, 7_000_000, "the venue's ledger agrees: 1 + 6 merged");
    for m in &binary {
        assert_eq!(
            token_total(&held, m["token_ids"][0].as_str().unwrap()),
            1_000_000
        );
        assert_eq!(
            token_total(&held, m["token_ids"][1].as_str().unwrap()),
            1_000_000
        );
    }
}
