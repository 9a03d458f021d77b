//! Settlement on a real EVM: anvil with Gnosis' ConditionalTokens bytecode and a 6-decimal
//! ERC-20 collateral. Split, merge, resolve and redeem through the engine's own client
//! (signer, journal, nonces, fees); token ids against the contract's `getPositionId`; revert
//! reasons; a restart that resends nothing; a stuck transaction replaced. Plus the calldata and
//! the signed transaction against independent Python encoders (fixtures), and the position ids
//! against published vectors.
//!
//! anvil and the contract builds come from npm into target/chain-tools (scripts/chain-tools.sh,
//! which scripts/test.sh runs); a missing tool fails these tests, it never skips them.

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use alloy_primitives::{Address, B256, Bytes, U256, address, b256};
use alloy_sol_types::{SolCall, SolValue, sol};
use serde_json::{Value, json};

use polyarb::adapters::polymarket::signing::PrivateKey;
use polyarb::chain::{
    ChainClient, ChainError, Contracts, Eip1559Tx, GasConfig, Route, Rpc, TxCall, TxStatus,
};
use polyarb::settlement::account::{balance_of_batch, erc20_balance, required_approvals};
use polyarb::settlement::calls::{IConditionalTokens, IERC20};
use polyarb::settlement::ids;
use polyarb::settlement::{MarketKind, Settlement};

sol! {
    interface IMintable {
        function mint(address to, uint256 amount) external;
    }
}

/// Anvil's public dev key #0: the engine's key in these tests.
const ENGINE_KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
/// Anvil dev account #1 (unlocked in anvil): deploys the contracts and is the oracle.
const DEPLOYER: Address = address!("0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
const SHARE: u64 = 1_000_000;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn tool(rel: &str) -> PathBuf {
    let p = root().join("target/chain-tools/node_modules").join(rel);
    assert!(
        p.exists(),
        "{} is missing: run scripts/chain-tools.sh (scripts/test.sh runs it) to install anvil and \
         the contract builds from npm",
        p.display()
    );
    p
}

/// The creation bytecode of a truffle build file.
fn bytecode(rel: &str) -> Vec<u8> {
    let text = std::fs::read_to_string(tool(rel)).expect("read contract build");
    let v: Value = serde_json::from_str(&text).expect("contract build is JSON");
    let hex = v["bytecode"].as_str().expect("build has bytecode");
    hex::decode(hex.trim_start_matches("0x")).expect("bytecode is hex")
}

fn fixture(name: &str) -> Value {
    let p = root().join("fixtures/polymarket").join(name);
    serde_json::from_str(&std::fs::read_to_string(&p).expect("read fixture")).expect("JSON")
}

fn temp_dir(tag: &str) -> PathBuf {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let d = std::env::temp_dir().join(format!(
        "polyarb-chain-{tag}-{}-{nanos}",
        std::process::id()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// An anvil node on a free loopback port, killed on drop.
struct Anvil {
    child: Child,
    url: String,
}

impl Anvil {
    fn start(extra: &[&str]) -> Anvil {
        let bin = tool("@foundry-rs/anvil-linux-amd64/bin/anvil");
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(bin)
            .args(["--port", &port.to_string(), "--host", "127.0.0.1"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start anvil");
        let url = format!("http://127.0.0.1:{port}");
        let anvil = Anvil { child, url };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if anvil.rpc().chain_id().is_ok() {
                return anvil;
            }
            assert!(
                Instant::now() < deadline,
                "anvil did not answer on {}",
                anvil.url
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn rpc(&self) -> Rpc {
        Rpc::new(&self.url, Duration::from_secs(10))
    }

    /// Sends from an unlocked dev account (setup only: the engine signs its own) and returns
    /// the receipt.
    fn dev_send(&self, from: Address, to: Option<Address>, data: Vec<u8>) -> Value {
        let mut rpc = self.rpc();
        let mut tx = json!({ "from": from, "data": Bytes::from(data), "gas": "0x989680" });
        if let Some(to) = to {
            tx["to"] = json!(to);
        }
        let hash = rpc
            .call("eth_sendTransaction", json!([tx]))
            .expect("dev send");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let r = rpc
                .call("eth_getTransactionReceipt", json!([hash]))
                .unwrap();
            if !r.is_null() {
                assert_eq!(r["status"], "0x1", "setup transaction reverted: {r}");
                return r;
            }
            assert!(Instant::now() < deadline, "setup transaction not mined");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn deploy(&self, code: Vec<u8>) -> Address {
        let r = self.dev_send(DEPLOYER, None, code);
        r["contractAddress"].as_str().unwrap().parse().unwrap()
    }

    fn read(&self, to: Address, data: Vec<u8>) -> Bytes {
        let req = polyarb::chain::CallRequest {
            from: None,
            to,
            data: data.into(),
            gas: None,
        };
        self.rpc().eth_call(&req, "latest").expect("eth_call")
    }
}

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Fees and waits sized for a local node.
fn local_gas() -> GasConfig {
    GasConfig {
        gas_limit_cap: 2_000_000,
        gas_limit_margin_pct: 20,
        max_fee_per_gas_cap: 100_000_000_000,
        min_priority_fee: 1_000_000_000,
        priority_fee_cap: 10_000_000_000,
        fee_bump_pct: 25,
        stuck_after_ms: 0,
        receipt_timeout_ms: 20_000,
        poll_interval_ms: 50,
    }
}

fn engine_key() -> PrivateKey {
    PrivateKey::from_hex(ENGINE_KEY).unwrap()
}

fn engine(anvil: &Anvil, journal: &Path, gas: GasConfig) -> ChainClient {
    ChainClient::open(anvil.rpc(), engine_key(), journal, 31337, gas).expect("open client")
}

/// A deployed market: collateral token, ConditionalTokens, one prepared binary condition.
struct Market {
    anvil: Anvil,
    usdc: Address,
    ctf: Address,
    question: B256,
    condition: B256,
}

/// Deploys OpenZeppelin's ERC20PresetMinterPauser and turns it into a 6-decimal token (its
/// `_decimals` is a storage byte in this version), then ConditionalTokens, and prepares a
/// binary condition with the deployer as oracle; mints 1000 tokens to the engine.
fn market() -> Market {
    let anvil = Anvil::start(&[]);
    let mut code = bytecode("@openzeppelin/contracts/build/contracts/ERC20PresetMinterPauser.json");
    code.extend(("USD Coin (test)".to_string(), "USDC".to_string()).abi_encode_params());
    let usdc = anvil.deploy(code);
    let mut rpc = anvil.rpc();
    let mut decimals_slots = Vec::new();
    for slot in 0..16u64 {
        let v = rpc
            .call(
                "eth_getStorageAt",
                json!([usdc, format!("{slot:#x}"), "latest"]),
            )
            .unwrap();
        let word: B256 = serde_json::from_value(v).unwrap();
        if U256::from_be_bytes(word.0) == U256::from(18) {
            decimals_slots.push(slot);
        }
    }
    assert_eq!(
        decimals_slots.len(),
        1,
        "the token's decimals byte: {decimals_slots:?}"
    );
    let six = B256::from(U256::from(6).to_be_bytes::<32>());
    rpc.call(
        "anvil_setStorageAt",
        json!([usdc, format!("{:#x}", decimals_slots[0]), six]),
    )
    .unwrap();
    let d = anvil.read(usdc, IERC20::decimalsCall {}.abi_encode());
    assert_eq!(IERC20::decimalsCall::abi_decode_returns(&d).unwrap(), 6);

    let ctf = anvil.deploy(bytecode(
        "@gnosis.pm/conditional-tokens-contracts/build/contracts/ConditionalTokens.json",
    ));
    let question = b256!("0x706f6c796172622d746573742d7175657374696f6e2d30303030303030303031");
    anvil.dev_send(
        DEPLOYER,
        Some(ctf),
        IConditionalTokens::prepareConditionCall {
            oracle: DEPLOYER,
            questionId: question,
            outcomeSlotCount: U256::from(2),
        }
        .abi_encode(),
    );
    let engine = engine_key().address();
    anvil.dev_send(
        DEPLOYER,
        Some(usdc),
        IMintable::mintCall {
            to: Address::from(engine.0),
            amount: U256::from(1000 * SHARE),
        }
        .abi_encode(),
    );
    let condition = ids::condition_id(DEPLOYER, question, 2);
    Market {
        anvil,
        usdc,
        ctf,
        question,
        condition,
    }
}

/// The direct route on the local deployment; exchanges and adapters are plain addresses (no
/// code), enough for approvals.
fn local_contracts(m: &Market) -> Contracts {
    Contracts {
        ctf: m.ctf,
        pusd: m.usdc,
        usdce: m.usdc,
        wcol: Address::repeat_byte(0x0c),
        neg_risk_adapter: Address::repeat_byte(0x0d),
        collateral_adapter: Address::repeat_byte(0x0a),
        neg_risk_collateral_adapter: Address::repeat_byte(0x0b),
        onramp: Address::repeat_byte(0x1a),
        offramp: Address::repeat_byte(0x1b),
        exchange: Address::repeat_byte(0x0e),
        neg_risk_exchange: Address::repeat_byte(0x0f),
    }
}

fn yes_no(m: &Market, owner: Address, s: &Settlement) -> Vec<U256> {
    let ids = s.position_ids(MarketKind::Binary, m.condition);
    balance_of_batch(&mut m.anvil.rpc(), m.ctf, owner, &ids).unwrap()
}

#[test]
fn split_merge_resolve_redeem_on_conditional_tokens() {
    let m = market();
    let dir = temp_dir("lifecycle");
    let mut c = engine(&m.anvil, &dir.join("journal.sqlite"), local_gas());
    let me = c.address();
    let s = Settlement::new(local_contracts(&m), Route::Direct);

    // The engine's ids are the contract's.
    assert_eq!(
        IConditionalTokens::getConditionIdCall::abi_decode_returns(
            &m.anvil.read(
                m.ctf,
                IConditionalTokens::getConditionIdCall {
                    oracle: DEPLOYER,
                    questionId: m.question,
                    outcomeSlotCount: U256::from(2)
                }
                .abi_encode()
            )
        )
        .unwrap(),
        m.condition
    );
    let ids = s.position_ids(MarketKind::Binary, m.condition);
    for (index_set, id) in [1u8, 2].into_iter().zip(ids) {
        let coll = IConditionalTokens::getCollectionIdCall::abi_decode_returns(
            &m.anvil.read(
                m.ctf,
                IConditionalTokens::getCollectionIdCall {
                    parentCollectionId: B256::ZERO,
                    conditionId: m.condition,
                    indexSet: U256::from(index_set),
                }
                .abi_encode(),
            ),
        )
        .unwrap();
        assert_eq!(coll, ids::collection_id(m.condition, U256::from(index_set)));
        let pos = IConditionalTokens::getPositionIdCall::abi_decode_returns(
            &m.anvil.read(
                m.ctf,
                IConditionalTokens::getPositionIdCall {
                    collateralToken: m.usdc,
                    collectionId: coll,
                }
                .abi_encode(),
            ),
        )
        .unwrap();
        assert_eq!(pos, id, "index set {index_set}");
    }

    // Approvals: all missing on a fresh account, then all granted; a second pass sends nothing.
    let approvals = required_approvals(&s);
    assert_eq!(approvals.len(), 11);
    for a in &approvals {
        assert!(!a.granted(c.rpc(), me).unwrap(), "{a:?}");
        c.execute(&a.call()).unwrap();
    }
    for a in &approvals {
        assert!(a.granted(c.rpc(), me).unwrap(), "{a:?}");
    }

    let usdc = |c: &mut ChainClient| erc20_balance(c.rpc(), m.usdc, me).unwrap();
    assert_eq!(usdc(&mut c), U256::from(1000 * SHARE));
    let hundred = U256::from(100 * SHARE);

    let mined = c
        .execute(&s.split(MarketKind::Binary, m.condition, hundred))
        .unwrap();
    assert!(mined.receipt.succeeded());
    // PositionSplit(stakeholder = the engine, …) is in the receipt.
    let split_topic = b256!("0x2e6bb91f8cbcda0c93623c54d0403a43514fabc40084ec96b6d5379a74786298");
    assert!(mined.receipt.logs.iter().any(|l| l.address == m.ctf
        && l.topics.first() == Some(&split_topic)
        && l.topics.get(1) == Some(&B256::left_padding_from(me.as_slice()))));
    assert_eq!(yes_no(&m, me, &s), vec![hundred, hundred]);
    assert_eq!(usdc(&mut c), U256::from(900 * SHARE));
    let logs = c.rpc().logs(m.ctf, split_topic, 0, None).unwrap();
    assert_eq!(logs.len(), 1);

    c.execute(&s.merge(MarketKind::Binary, m.condition, hundred))
        .unwrap();
    assert_eq!(yes_no(&m, me, &s), vec![U256::ZERO, U256::ZERO]);
    assert_eq!(usdc(&mut c), U256::from(1000 * SHARE));

    // Split again, resolve YES, redeem: the YES half pays, the NO half is worthless.
    c.execute(&s.split(MarketKind::Binary, m.condition, hundred))
        .unwrap();
    let redeem_early = c.execute(&s.redeem(MarketKind::Binary, m.condition));
    match redeem_early {
        Err(ChainError::WouldRevert { reason, .. }) => {
            assert_eq!(reason, "result for condition not received yet")
        }
        other => panic!("redeem before resolution: {other:?}"),
    }
    m.anvil.dev_send(
        DEPLOYER,
        Some(m.ctf),
        IConditionalTokens::reportPayoutsCall {
            questionId: m.question,
            payouts: vec![U256::from(1), U256::ZERO],
        }
        .abi_encode(),
    );
    c.execute(&s.redeem(MarketKind::Binary, m.condition))
        .unwrap();
    assert_eq!(yes_no(&m, me, &s), vec![U256::ZERO, U256::ZERO]);
    assert_eq!(usdc(&mut c), U256::from(1000 * SHARE));

    // Every transaction is in the journal, mined, nonces 0.. in order.
    let rows = c.journal().all().unwrap();
    assert_eq!(rows.len(), 11 + 4);
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r.nonce, i as u64);
        assert_eq!(r.status, TxStatus::Mined, "{r:?}");
        assert!(r.block.is_some() && r.gas_used.is_some());
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn reverts_report_their_reason_estimated_and_mined() {
    let m = market();
    let dir = temp_dir("revert");
    let mut c = engine(&m.anvil, &dir.join("journal.sqlite"), local_gas());
    let s = Settlement::new(local_contracts(&m), Route::Direct);
    let unprepared = b256!("0x1111111111111111111111111111111111111111111111111111111111111111");
    // Estimation refuses it: nothing is signed or journaled.
    match c.execute(&s.split(MarketKind::Binary, unprepared, U256::from(SHARE))) {
        Err(ChainError::WouldRevert { reason, .. }) => {
            assert_eq!(reason, "condition not prepared yet")
        }
        other => panic!("split of an unprepared condition: {other:?}"),
    }
    assert!(c.journal().all().unwrap().is_empty());
    // With a fixed gas limit it is sent, mined with status 0, and its reason recovered.
    let mut call = s.split(MarketKind::Binary, unprepared, U256::from(SHARE));
    call.gas_limit = Some(300_000);
    match c.execute(&call) {
        Err(ChainError::Reverted { reason, hash, .. }) => {
            assert_eq!(reason.as_deref(), Some("condition not prepared yet"));
            let row = c.journal().by_hash(hash).unwrap().unwrap();
            assert_eq!(row.status, TxStatus::Reverted);
            assert_eq!(row.error.as_deref(), Some("condition not prepared yet"));
        }
        other => panic!("mined revert: {other:?}"),
    }
    // Over the gas cap: refused before signing.
    let mut tight = local_gas();
    tight.gas_limit_cap = 30_000;
    let mut c2 = engine(&m.anvil, &dir.join("journal.sqlite"), tight);
    let approve = required_approvals(&s).remove(0).call();
    assert!(matches!(
        c2.execute(&approve),
        Err(ChainError::GasAboveCap { .. })
    ));
    let _ = std::fs::remove_dir_all(dir);
}

/// A plain transfer-free call to another account: the cheapest transaction to send.
fn ping(label: &str) -> TxCall {
    TxCall {
        label: label.to_string(),
        to: address!("0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"),
        data: Bytes::from_static(b"polyarb"),
        gas_limit: Some(30_000),
    }
}

#[test]
fn a_restart_resends_nothing_and_finishes_what_was_journaled() {
    // A block a second: a sent transaction is pending when its sender "crashes".
    let anvil = Anvil::start(&["--block-time", "1"]);
    let dir = temp_dir("restart");
    let journal = dir.join("journal.sqlite");
    let me = Address::from(engine_key().address().0);

    // Crash after the send: journaled and broadcast, never waited for.
    let sent_hash = {
        let mut a = engine(&anvil, &journal, local_gas());
        a.send(&ping("sent then crashed")).unwrap()
    };
    // Crash between the journal and the send: signed and committed, never broadcast.
    let unsent = {
        let mut a = engine(&anvil, &journal, local_gas());
        let tx = a.prepare(&ping("journaled then crashed")).unwrap();
        assert_eq!(tx.nonce, 1, "the journal's nonce 0 is taken");
        a.sign_and_journal("journaled then crashed", &tx).unwrap()
    };
    assert!(!anvil.rpc().transaction_known(unsent.hash).unwrap());

    let mut b = engine(&anvil, &journal, local_gas());
    let results = b.resume().unwrap();
    let mined: Vec<B256> = results
        .into_iter()
        .map(|r| r.unwrap().receipt.transaction_hash)
        .collect();
    // The same two transactions, the same hashes: nothing was signed anew.
    assert_eq!(mined, vec![sent_hash, unsent.hash]);
    let rows = b.journal().all().unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r.status == TxStatus::Mined));
    assert_eq!(anvil.rpc().transaction_count(me, "latest").unwrap(), 2);
    // A second restart finds nothing open, and the next transaction takes nonce 2.
    let mut c = engine(&anvil, &journal, local_gas());
    assert!(c.resume().unwrap().is_empty());
    let next = c.execute(&ping("after restart")).unwrap();
    assert_eq!(next.nonce, 2);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_stuck_transaction_is_replaced_with_the_same_nonce_and_a_higher_fee() {
    let anvil = Anvil::start(&["--no-mining"]);
    let dir = temp_dir("stuck");
    let mut gas = local_gas();
    gas.stuck_after_ms = 300;
    let mut c = engine(&anvil, &dir.join("journal.sqlite"), gas);
    let first = c.send(&ping("stuck")).unwrap();
    // Nothing is mined until a block is asked for, well after the transaction counts as stuck.
    let url = anvil.url.clone();
    let miner = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1_200));
        let mut rpc = Rpc::new(&url, Duration::from_secs(5));
        rpc.call("evm_mine", json!([])).unwrap();
    });
    let mined = c.wait(first).unwrap();
    miner.join().unwrap();
    let rows = c.journal().all().unwrap();
    assert!(rows.len() >= 2, "replaced at least once: {rows:?}");
    assert!(rows.iter().all(|r| r.nonce == 0));
    let winner: Vec<_> = rows
        .iter()
        .filter(|r| r.status == TxStatus::Mined)
        .collect();
    assert_eq!(winner.len(), 1);
    assert_eq!(winner[0].hash, mined.receipt.transaction_hash);
    assert_ne!(mined.receipt.transaction_hash, first);
    assert!(
        rows.iter()
            .filter(|r| r.hash != winner[0].hash)
            .all(|r| r.status == TxStatus::Dropped)
    );
    // Each replacement pays at least 25 % more than the one before.
    for pair in rows.windows(2) {
        assert!(pair[1].max_fee_per_gas * 100 >= pair[0].max_fee_per_gas * 125);
        assert!(pair[1].max_priority_fee_per_gas * 100 >= pair[0].max_priority_fee_per_gas * 125);
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn cli_approves_once_splits_and_reads_balances() {
    let m = market();
    let dir = temp_dir("cli");
    std::fs::write(dir.join("key.hex"), format!("{ENGINE_KEY}\n")).unwrap();
    let c = local_contracts(&m);
    let config = format!(
        "[chain]\nrpc_url = \"{}\"\nchain_id = 31337\nkey_file = \"key.hex\"\njournal = \"journal.sqlite\"\nroute = \"direct\"\n\
         [chain.gas]\nmin_priority_fee = 1000000000\npoll_interval_ms = 50\n\
         [chain.contracts]\nctf = \"{}\"\npusd = \"{}\"\nusdce = \"{}\"\ncollateral_adapter = \"{}\"\n\
         neg_risk_collateral_adapter = \"{}\"\nexchange = \"{}\"\nneg_risk_exchange = \"{}\"\n",
        m.anvil.url,
        c.ctf,
        c.pusd,
        c.usdce,
        c.collateral_adapter,
        c.neg_risk_collateral_adapter,
        c.exchange,
        c.neg_risk_exchange
    );
    let cfg = dir.join("chain.toml");
    std::fs::File::create(&cfg)
        .unwrap()
        .write_all(config.as_bytes())
        .unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_polyarb"))
            .args(args)
            .arg("--config")
            .arg(&cfg)
            .output()
            .unwrap();
        testkit::stdout_of_success(&format!("polyarb {args:?}"), &out)
    };
    let cid = m.condition.to_string();

    let dry = run(&["chain", "approve", "--dry-run"]);
    assert_eq!(dry.matches("(dry run: not sent)").count(), 11, "{dry}");
    let first = run(&["chain", "approve"]);
    assert_eq!(
        first.lines().filter(|l| l.starts_with("missing ")).count(),
        11,
        "{first}"
    );
    assert_eq!(first.matches("  mined ").count(), 11, "{first}");
    let second = run(&["chain", "approve"]);
    assert_eq!(
        second.lines().filter(|l| l.starts_with("granted ")).count(),
        11,
        "{second}"
    );
    assert!(second.contains("nothing to send"), "{second}");

    let dry = run(&[
        "ctf",
        "split",
        "--condition",
        &cid,
        "--amount",
        "100",
        "--dry-run",
    ]);
    assert!(dry.contains("(dry run: not sent)"), "{dry}");
    let split = run(&["ctf", "split", "--condition", &cid, "--amount", "100"]);
    let expected = Settlement::new(c.clone(), Route::Direct)
        .split(MarketKind::Binary, m.condition, U256::from(100 * SHARE))
        .data;
    assert!(split.contains(&format!("data      {expected}")), "{split}");
    assert!(split.contains("  mined "), "{split}");
    println!("{second}\n{split}");
    let bal = run(&["chain", "balances", "--condition", &cid]);
    assert!(bal.contains("USDC.e  900\n"), "{bal}");
    assert!(bal.contains("YES 100  token "), "{bal}");
    assert!(bal.contains("NO  100  token "), "{bal}");
    println!("{bal}");
    run(&["ctf", "merge", "--condition", &cid, "--amount", "100"]);
    let bal = run(&["chain", "balances", "--condition", &cid]);
    assert!(
        bal.contains("YES 0  token ") && bal.contains("USDC.e  1000\n"),
        "{bal}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn position_ids_equal_the_published_vectors() {
    let v = fixture("ctf_position_ids.json");
    for case in v["binary"].as_array().unwrap() {
        let cid: B256 = case["condition_id"].as_str().unwrap().parse().unwrap();
        let coll: Address = case["collateral"].as_str().unwrap().parse().unwrap();
        if let Some(c) = case["collection_yes"].as_str() {
            assert_eq!(
                ids::collection_id(cid, U256::from(1)),
                c.parse::<B256>().unwrap()
            );
            let n = case["collection_no"].as_str().unwrap();
            assert_eq!(
                ids::collection_id(cid, U256::from(2)),
                n.parse::<B256>().unwrap()
            );
        }
        let [yes, no] = ids::binary_positions(coll, cid);
        assert_eq!(yes.to_string(), case["yes"].as_str().unwrap());
        assert_eq!(no.to_string(), case["no"].as_str().unwrap());
    }
    for case in v["neg_risk"].as_array().unwrap() {
        let market: B256 = case["market_id"].as_str().unwrap().parse().unwrap();
        let q = ids::neg_risk_question_id(market, case["question_index"].as_u64().unwrap() as u8);
        let adapter: Address = case["neg_risk_adapter"].as_str().unwrap().parse().unwrap();
        let cid = ids::neg_risk_condition_id(adapter, q);
        assert_eq!(cid.to_string(), case["condition_id"].as_str().unwrap());
        let wcol: Address = case["wcol"].as_str().unwrap().parse().unwrap();
        let s = Settlement::new(
            Contracts {
                wcol,
                neg_risk_adapter: adapter,
                ..Contracts::default()
            },
            Route::Adapter,
        );
        let [yes, no] = s.position_ids(MarketKind::NegRisk, cid);
        assert_eq!(yes.to_string(), case["yes"].as_str().unwrap());
        assert_eq!(no.to_string(), case["no"].as_str().unwrap());
    }
    // Polygon's defaults key binary ids to USDC.e, never to pUSD.
    let s = Settlement::new(Contracts::default(), Route::Adapter);
    let first = &v["binary"][0];
    let cid: B256 = first["condition_id"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        s.position_ids(MarketKind::Binary, cid)[0].to_string(),
        first["yes"].as_str().unwrap()
    );
}

#[test]
fn calldata_and_signed_transactions_equal_eth_abi_and_eth_account() {
    let v = fixture("chain_vectors_eth_abi.json");
    let want = |k: &str| v["calldata"][k].as_str().unwrap().to_string();
    let cid = b256!("0x41771a29f1fa3b5ac743ddcf224017f802bd69152c1a65230ec666abfc22b708");
    let polygon = Contracts::default();
    let adapter = Settlement::new(polygon.clone(), Route::Adapter);
    let direct = Settlement::new(polygon.clone(), Route::Direct);
    let one = U256::from(SHARE);
    let check = |call: TxCall, key: &str, to: Address| {
        assert_eq!(call.data.to_string(), want(key), "{key}");
        assert_eq!(call.to, to, "{key}");
    };
    check(
        adapter.split(MarketKind::Binary, cid, one),
        "adapter_split_1",
        polygon.collateral_adapter,
    );
    check(
        adapter.merge(MarketKind::Binary, cid, one),
        "adapter_merge_1",
        polygon.collateral_adapter,
    );
    check(
        adapter.redeem(MarketKind::Binary, cid),
        "adapter_redeem",
        polygon.collateral_adapter,
    );
    // Neg-risk conditions take the same ABI through their own adapter, whatever the route.
    check(
        direct.split(MarketKind::NegRisk, cid, one),
        "adapter_split_1",
        polygon.neg_risk_collateral_adapter,
    );
    let two_fifty = U256::from(250 * SHARE);
    check(
        direct.split(MarketKind::Binary, cid, two_fifty),
        "direct_split_250",
        polygon.ctf,
    );
    check(
        direct.merge(MarketKind::Binary, cid, two_fifty),
        "direct_merge_250",
        polygon.ctf,
    );
    check(
        direct.redeem(MarketKind::Binary, cid),
        "direct_redeem",
        polygon.ctf,
    );
    let market = b256!("0xcc4727a6394620b9c8ae82db3db50a34d5ca9828675547bcc4cddf5e86b63000");
    check(
        adapter.convert(market, U256::from(3), one),
        "convert_0b11_1",
        polygon.neg_risk_collateral_adapter,
    );
    let approvals = required_approvals(&adapter);
    let pusd_to_adapter = approvals
        .iter()
        .find(|a| !a.erc1155 && a.spender == polygon.collateral_adapter)
        .unwrap();
    check(pusd_to_adapter.call(), "approve_adapter_max", polygon.pusd);
    let ctf_to_adapter = approvals
        .iter()
        .find(|a| a.erc1155 && a.spender == polygon.collateral_adapter)
        .unwrap();
    check(
        ctf_to_adapter.call(),
        "set_approval_for_all_adapter",
        polygon.ctf,
    );
    let owner = address!("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
    let quarter = U256::from(25 * SHARE);
    check(
        adapter.wrap(owner, quarter),
        "wrap_usdce_25",
        polygon.onramp,
    );
    check(
        adapter.unwrap(owner, quarter),
        "unwrap_usdce_25",
        polygon.offramp,
    );
    let batch = IConditionalTokens::balanceOfBatchCall {
        owners: vec![owner; 2],
        ids: vec![U256::from(1), U256::from(2)],
    }
    .abi_encode();
    assert_eq!(Bytes::from(batch).to_string(), want("balance_of_batch_2"));

    let nm = &v["neg_risk_market_id"];
    let id = ids::neg_risk_market_id(
        nm["oracle"].as_str().unwrap().parse().unwrap(),
        U256::from(nm["fee_bips"].as_u64().unwrap()),
        nm["metadata_utf8"].as_str().unwrap().as_bytes(),
    );
    assert_eq!(id.to_string(), nm["market_id"].as_str().unwrap());

    let t = &v["eip1559"];
    let tx = Eip1559Tx {
        chain_id: t["chain_id"].as_u64().unwrap(),
        nonce: t["nonce"].as_u64().unwrap(),
        max_priority_fee_per_gas: t["max_priority_fee_per_gas"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap(),
        max_fee_per_gas: t["max_fee_per_gas"].as_str().unwrap().parse().unwrap(),
        gas_limit: t["gas_limit"].as_u64().unwrap(),
        to: t["to"].as_str().unwrap().parse().unwrap(),
        value: U256::ZERO,
        input: t["data"].as_str().unwrap().parse().unwrap(),
    };
    let signed = tx.sign(&engine_key());
    assert_eq!(signed.raw.to_string(), t["raw"].as_str().unwrap());
    assert_eq!(signed.hash.to_string(), t["hash"].as_str().unwrap());
}
