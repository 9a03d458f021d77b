#!/usr/bin/env python3
"""Independent cross-check for polyarb's own signing unit tests.

Computes EIP-712 digests and signatures with eth-account (not with polyarb's code), for the
vectors embedded in src/adapters/polymarket/signing/tests.rs. Re-run to re-derive them:

    pip install eth-account==0.14.0      # brings eth-abi 6.0.0
    python3 scripts/gen_signing_vectors.py
"""
import base64
import hashlib
import hmac

from eth_abi import encode as abi_encode
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak

KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"  # Hardhat #0 (public)
TOKEN = 71321045679252212594626385532706912750332728571942532289631379312455583992563
ZERO32 = b"\x00" * 32
ORDER_V2 = [
    {"name": "salt", "type": "uint256"}, {"name": "maker", "type": "address"},
    {"name": "signer", "type": "address"}, {"name": "tokenId", "type": "uint256"},
    {"name": "makerAmount", "type": "uint256"}, {"name": "takerAmount", "type": "uint256"},
    {"name": "side", "type": "uint8"}, {"name": "signatureType", "type": "uint8"},
    {"name": "timestamp", "type": "uint256"}, {"name": "metadata", "type": "bytes32"},
    {"name": "builder", "type": "bytes32"},
]
DOMAIN_T = [{"name": "name", "type": "string"}, {"name": "version", "type": "string"},
            {"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"}]


def order_v2(name, version, chain, exchange, msg):
    td = {"primaryType": "Order", "types": {"EIP712Domain": DOMAIN_T, "Order": ORDER_V2},
          "domain": {"name": "Polymarket CTF Exchange", "version": version, "chainId": chain,
                     "verifyingContract": exchange}, "message": msg}
    enc = encode_typed_data(full_message=td)
    digest = keccak(b"\x19" + enc.version + enc.header + enc.body)
    sig = Account.sign_message(enc, private_key=KEY).signature.hex()
    print(f"{name}: digest 0x{digest.hex()}\n{name}: signature 0x{sig.removeprefix('0x')}")


ME = Account.from_key(KEY).address
# V3 domain, EOA, BUY 15 @ 0.24 (tick 0.01): maker 3.6 pUSD, taker 15 shares.
order_v2("v3_buy_eoa", "3", 137, "0xe3333700cA9d93003F00f0F71f8515005F6c00Aa", {
    "salt": 42, "maker": ME, "signer": ME, "tokenId": TOKEN, "makerAmount": 3600000,
    "takerAmount": 15000000, "side": 0, "signatureType": 0, "timestamp": 1767225600000,
    "metadata": ZERO32, "builder": ZERO32})
# V2 neg-risk, Gnosis safe funder, SELL 2435.89 @ 0.39, metadata and builder set.
order_v2("v2_sell_safe_negrisk", "2", 137, "0xe2222d279d744050d28e00520010520000310F59", {
    "salt": 9007199254740991, "maker": "0x1111111111111111111111111111111111111111", "signer": ME,
    "tokenId": TOKEN, "makerAmount": 2435890000, "takerAmount": 949997100, "side": 1,
    "signatureType": 2, "timestamp": 1767225600123, "metadata": b"\x01" * 32,
    "builder": b"\xab" * 32})

# POLY_1271 on chain 137, standard exchange, wallet 0x2222..: the py-clob-client-v2 algorithm,
# written out with eth_abi.
ORDER_TS = ("Order(uint256 salt,address maker,address signer,uint256 tokenId,uint256 makerAmount,"
            "uint256 takerAmount,uint8 side,uint8 signatureType,uint256 timestamp,bytes32 metadata,"
            "bytes32 builder)")
WALLET = "0x2222222222222222222222222222222222222222"
ex = "0xE111180000d2663C0091e4f400237545B87B996B"
ds = keccak(abi_encode(["bytes32", "bytes32", "bytes32", "uint256", "address"], [
    keccak(text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
    keccak(text="Polymarket CTF Exchange"), keccak(text="2"), 137, ex]))
contents = keccak(abi_encode(
    ["bytes32", "uint256", "address", "address", "uint256", "uint256", "uint256", "uint8", "uint8",
     "uint256", "bytes32", "bytes32"],
    [keccak(text=ORDER_TS), 5, WALLET, WALLET, TOKEN, 1000000, 2000000, 0, 3, 1767225600000,
     ZERO32, ZERO32]))
tds = keccak(abi_encode(["bytes32", "bytes32", "bytes32", "bytes32", "uint256", "address", "bytes32"], [
    keccak(text="TypedDataSign(Order contents,string name,string version,uint256 chainId,"
                "address verifyingContract,bytes32 salt)" + ORDER_TS),
    contents, keccak(text="DepositWallet"), keccak(text="1"), 137, WALLET, ZERO32]))
inner = Account._sign_hash(keccak(b"\x19\x01" + ds + tds), private_key=KEY).signature.hex()
full = inner.removeprefix("0x") + ds.hex() + contents.hex() + ORDER_TS.encode().hex() + \
    len(ORDER_TS).to_bytes(2, "big").hex()
print(f"poly1271_v2: signature 0x{full}")

# L1 ClobAuth, chain 137, timestamp "1767225600", nonce 5.
td = {"primaryType": "ClobAuth",
      "types": {"EIP712Domain": DOMAIN_T[:3], "ClobAuth": [
          {"name": "address", "type": "address"}, {"name": "timestamp", "type": "string"},
          {"name": "nonce", "type": "uint256"}, {"name": "message", "type": "string"}]},
      "domain": {"name": "ClobAuthDomain", "version": "1", "chainId": 137},
      "message": {"address": ME, "timestamp": "1767225600", "nonce": 5,
                  "message": "This message attests that I control the given wallet"}}
sig = Account.sign_message(encode_typed_data(full_message=td), private_key=KEY).signature.hex()
print(f"l1_137: signature 0x{sig.removeprefix('0x')}")

# L2 HMAC with a secret that has URL-safe characters.
secret = base64.urlsafe_b64encode(bytes(range(200, 232))).decode()
msg = '1767225600POST/order{"order":{"salt":1},"owner":"k"}'
sig = base64.urlsafe_b64encode(hmac.new(base64.urlsafe_b64decode(secret), msg.encode(),
                                        hashlib.sha256).digest()).decode()
print(f"l2: secret {secret} signature {sig}")
