#!/usr/bin/env python3
"""Calldata and a signed EIP-1559 transaction from independent encoders, for tests/chain.rs.

eth-abi encodes the arguments, eth-utils hashes the signatures into selectors and eth-account
signs the transaction, so the engine's `sol!`/alloy-rlp encodings and its own signer are checked
against code they share nothing with. Re-run with the pinned packages (the virtual environment
scripts/test.sh makes) to re-derive the fixture:

    target/conformance-venv/bin/python scripts/gen_chain_vectors.py > fixtures/polymarket/chain_vectors_eth_abi.json
"""
import json
from importlib.metadata import version

from eth_abi import encode
from eth_account import Account
from eth_utils import function_signature_to_4byte_selector, keccak

PUSD = "0xC011a7E12a19f7B1f670d46F03B03f3342E82DFB"
USDCE = "0x2791Bca1f2de4661ED88A30C99A7a9449Aa84174"
CTF = "0x4D97DCd97eC945f40cF65F87097ACe5EA0476045"
ADAPTER = "0xAdA100Db00Ca00073811820692005400218FcE1f"
CID = bytes.fromhex("41771a29f1fa3b5ac743ddcf224017f802bd69152c1a65230ec666abfc22b708")
MARKET = bytes.fromhex("cc4727a6394620b9c8ae82db3db50a34d5ca9828675547bcc4cddf5e86b63000")
OWNER = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
# Hardhat/Anvil account #0: a public test key.
KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
MAX = 2**256 - 1


def call(sig: str, types: list, args: list) -> str:
    return "0x" + (function_signature_to_4byte_selector(sig) + encode(types, args)).hex()


CTF_ARGS = ["address", "bytes32", "bytes32", "uint256[]", "uint256"]
SPLIT = "splitPosition(address,bytes32,bytes32,uint256[],uint256)"
MERGE = "mergePositions(address,bytes32,bytes32,uint256[],uint256)"
REDEEM = "redeemPositions(address,bytes32,bytes32,uint256[])"


def main() -> None:
    zero = bytes(32)
    calldata = {
        "adapter_split_1": call(SPLIT, CTF_ARGS, [PUSD, zero, CID, [1, 2], 1_000_000]),
        "adapter_merge_1": call(MERGE, CTF_ARGS, [PUSD, zero, CID, [1, 2], 1_000_000]),
        "adapter_redeem": call(REDEEM, CTF_ARGS[:4], [PUSD, zero, CID, [1, 2]]),
        "direct_split_250": call(SPLIT, CTF_ARGS, [USDCE, zero, CID, [1, 2], 250_000_000]),
        "direct_merge_250": call(MERGE, CTF_ARGS, [USDCE, zero, CID, [1, 2], 250_000_000]),
        "direct_redeem": call(REDEEM, CTF_ARGS[:4], [USDCE, zero, CID, [1, 2]]),
        "convert_0b11_1": call("convertPositions(bytes32,uint256,uint256)",
                               ["bytes32", "uint256", "uint256"], [MARKET, 3, 1_000_000]),
        "approve_adapter_max": call("approve(address,uint256)", ["address", "uint256"],
                                    [ADAPTER, MAX]),
        "set_approval_for_all_adapter": call("setApprovalForAll(address,bool)",
                                             ["address", "bool"], [ADAPTER, True]),
        "wrap_usdce_25": call("wrap(address,address,uint256)", ["address", "address", "uint256"],
                              [USDCE, OWNER, 25_000_000]),
        "unwrap_usdce_25": call("unwrap(address,address,uint256)",
                                ["address", "address", "uint256"], [USDCE, OWNER, 25_000_000]),
        "balance_of_batch_2": call("balanceOfBatch(address[],uint256[])",
                                   ["address[]", "uint256[]"], [[OWNER, OWNER], [1, 2]]),
    }
    # NegRiskIdLib.getMarketId: keccak256(abi.encode(oracle, feeBips, metadata)), low byte 0.
    oracle, fee_bips, metadata = "0xd91E80cF2E7be2e162c6513ceD06f1dD0dA35296", 200, b"polyarb"
    h = bytearray(keccak(encode(["address", "uint256", "bytes"], [oracle, fee_bips, metadata])))
    h[31] = 0
    tx = dict(chainId=137, nonce=7, maxPriorityFeePerGas=30_000_000_000,
              maxFeePerGas=250_000_000_000, gas=210_000, to=CTF, value=0,
              data=bytes.fromhex(calldata["set_approval_for_all_adapter"][2:]), type=2,
              accessList=[])
    signed = Account.sign_transaction(tx, KEY)
    out = {
        "generator": f"scripts/gen_chain_vectors.py (eth-abi {version('eth-abi')}, "
                     f"eth-account {version('eth-account')})",
        "calldata": calldata,
        "neg_risk_market_id": {"oracle": oracle, "fee_bips": fee_bips,
                               "metadata_utf8": metadata.decode(), "market_id": "0x" + h.hex()},
        "eip1559": {"chain_id": 137, "nonce": 7, "max_priority_fee_per_gas": "30000000000",
                    "max_fee_per_gas": "250000000000", "gas_limit": 210000, "to": CTF,
                    "data": calldata["set_approval_for_all_adapter"],
                    "raw": "0x" + signed.raw_transaction.hex(),
                    "hash": "0x" + signed.hash.hex()},
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
