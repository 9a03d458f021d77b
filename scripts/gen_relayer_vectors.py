#!/usr/bin/env python3
"""Relayer requests signed by independent encoders, for tests/chain.rs.

eth-account signs the deposit wallet's `Batch` typed data (encode_typed_data) and the Safe and
proxy digests with personal-sign (encode_defunct), eth-abi encodes MultiSend's and the proxy
factory's calldata, eth-utils hashes, so the engine's relayer requests are checked against code
they share nothing with where no published vector exists. Re-run with the pinned packages (the
virtual environment scripts/test.sh makes) to re-derive the fixture:

    target/conformance-venv/bin/python scripts/gen_relayer_vectors.py > fixtures/polymarket/relayer_vectors_eth_account.json
"""
import json
from importlib.metadata import version

from eth_abi import encode
from eth_account import Account
from eth_account.messages import encode_defunct, encode_typed_data
from eth_utils import function_signature_to_4byte_selector, keccak, to_checksum_address

# Hardhat/Anvil account #0: a public test key.
KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
OWNER = Account.from_key(KEY).address
PUSD = "0xC011a7E12a19f7B1f670d46F03B03f3342E82DFB"
CTF = "0x4D97DCd97eC945f40cF65F87097ACe5EA0476045"
ADAPTER = "0xAdA100Db00Ca00073811820692005400218FcE1f"
MULTISEND = "0xA238CBeb142c10Ef7Ad8442C6D1f9E89e07e7761"
PROXY_FACTORY = "0xaB45c5A4B0c941a2F231C04C3f49182e1A254052"
RELAY_HUB = "0xD216153c06E857cD7f72665E0aF1d7D82172F494"
RELAY = "0xae700edfd9ab986395f3999fe11177b9903a52f1"
WALLET = "0x1111111111111111111111111111111111111111"
CID = bytes.fromhex("41771a29f1fa3b5ac743ddcf224017f802bd69152c1a65230ec666abfc22b708")
MAX = 2**256 - 1


def call(sig, types, args):
    return function_signature_to_4byte_selector(sig) + encode(types, args)


def create2(factory, salt, init_hash):
    pre = b"\xff" + bytes.fromhex(factory[2:]) + salt + bytes.fromhex(init_hash[2:])
    return to_checksum_address(keccak(pre)[12:])


CALLS = [
    (PUSD, 0, call("approve(address,uint256)", ["address", "uint256"], [ADAPTER, MAX])),
    (CTF, 0, call("setApprovalForAll(address,bool)", ["address", "bool"], [ADAPTER, True])),
    (ADAPTER, 0, call("mergePositions(address,bytes32,bytes32,uint256[],uint256)",
                      ["address", "bytes32", "bytes32", "uint256[]", "uint256"],
                      [PUSD, bytes(32), CID, [1, 2], 2_500_000])),
]


def hexs(b):
    return "0x" + b.hex()


def calls_json():
    return [{"to": to, "value": str(v), "data": hexs(d)} for to, v, d in CALLS]


def safe(chain_id, safe_addr, nonce):
    packed = b"".join(b"\x00" + bytes.fromhex(to[2:]) + v.to_bytes(32, "big")
                      + len(d).to_bytes(32, "big") + d for to, v, d in CALLS)
    data = call("multiSend(bytes)", ["bytes"], [packed])
    typed = {
        "types": {
            "EIP712Domain": [{"name": "chainId", "type": "uint256"},
                             {"name": "verifyingContract", "type": "address"}],
            "SafeTx": [{"name": n, "type": t} for n, t in [
                ("to", "address"), ("value", "uint256"), ("data", "bytes"),
                ("operation", "uint8"), ("safeTxGas", "uint256"), ("baseGas", "uint256"),
                ("gasPrice", "uint256"), ("gasToken", "address"),
                ("refundReceiver", "address"), ("nonce", "uint256")]],
        },
        "primaryType": "SafeTx",
        "domain": {"chainId": chain_id, "verifyingContract": safe_addr},
        "message": {"to": MULTISEND, "value": 0, "data": data, "operation": 1, "safeTxGas": 0,
                    "baseGas": 0, "gasPrice": 0,
                    "gasToken": "0x0000000000000000000000000000000000000000",
                    "refundReceiver": "0x0000000000000000000000000000000000000000",
                    "nonce": nonce},
    }
    msg = encode_typed_data(full_message=typed)
    digest = keccak(b"\x19" + msg.version + msg.header + msg.body)
    sig = Account.sign_message(encode_defunct(primitive=digest), KEY).signature
    packed_sig = sig[:64] + bytes([sig[64] + 4])
    return {"chain_id": chain_id, "safe": safe_addr, "nonce": nonce, "calls": calls_json(),
            "to": MULTISEND, "data": hexs(data), "operation": 1, "digest": hexs(digest),
            "signature": hexs(packed_sig)}


def proxy(nonce, gas_limit):
    data = call("proxy((uint8,address,uint256,bytes)[])", ["(uint8,address,uint256,bytes)[]"],
                [[(1, to, v, d) for to, v, d in CALLS]])
    pre = (b"rlx:" + bytes.fromhex(OWNER[2:]) + bytes.fromhex(PROXY_FACTORY[2:]) + data
           + (0).to_bytes(32, "big") + (0).to_bytes(32, "big") + gas_limit.to_bytes(32, "big")
           + nonce.to_bytes(32, "big") + bytes.fromhex(RELAY_HUB[2:]) + bytes.fromhex(RELAY[2:]))
    h = keccak(pre)
    sig = Account.sign_message(encode_defunct(primitive=h), KEY).signature
    return {"nonce": nonce, "gas_limit": gas_limit, "relay": to_checksum_address(RELAY),
            "calls": calls_json(), "data": hexs(data), "hash": hexs(h), "signature": hexs(sig)}


def wallet(chain_id, nonce, deadline):
    typed = {
        "types": {
            "EIP712Domain": [{"name": "name", "type": "string"},
                             {"name": "version", "type": "string"},
                             {"name": "chainId", "type": "uint256"},
                             {"name": "verifyingContract", "type": "address"}],
            "Batch": [{"name": "wallet", "type": "address"}, {"name": "nonce", "type": "uint256"},
                      {"name": "deadline", "type": "uint256"},
                      {"name": "calls", "type": "Call[]"}],
            "Call": [{"name": "target", "type": "address"}, {"name": "value", "type": "uint256"},
                     {"name": "data", "type": "bytes"}],
        },
        "primaryType": "Batch",
        "domain": {"name": "DepositWallet", "version": "1", "chainId": chain_id,
                   "verifyingContract": WALLET},
        "message": {"wallet": WALLET, "nonce": nonce, "deadline": deadline,
                    "calls": [{"target": to, "value": v, "data": d} for to, v, d in CALLS]},
    }
    signed = Account.sign_message(encode_typed_data(full_message=typed), KEY)
    return {"chain_id": chain_id, "wallet": WALLET, "nonce": nonce, "deadline": deadline,
            "calls": calls_json(), "digest": hexs(signed.message_hash),
            "signature": hexs(signed.signature)}


def main():
    safe_addr = create2("0xaacFeEa03eb1561C4e67d661e40682Bd20E3541b",
                        keccak(encode(["address"], [OWNER])),
                        "0x2bce2127ff07fb632d16c8347c4ebf501f4841168bed00d9e6ef715ddb6fcecf")
    proxy_addr = create2(PROXY_FACTORY, keccak(bytes.fromhex(OWNER[2:])),
                         "0xd21df8dc65880a8606f09fe0ce3df9b8869287ab0b058be05aa9e8af6330a00b")
    out = {
        "_note": "Generated by scripts/gen_relayer_vectors.py with eth-account "
                 f"{version('eth-account')} and eth-abi {version('eth_abi')}; key: Anvil's "
                 "public account #0. Calls: pUSD approve(adapter, MAX), CTF "
                 "setApprovalForAll(adapter, true), adapter mergePositions 2.5.",
        "owner": OWNER,
        "safe_address": safe_addr,
        "proxy_address": proxy_addr,
        "safe_multisend": safe(137, safe_addr, 5),
        "proxy": proxy(7, 10_000_000),
        "deposit_wallet": wallet(137, 2, 1_900_000_000),
    }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
