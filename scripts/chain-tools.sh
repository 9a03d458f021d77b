#!/usr/bin/env bash
# Installs what tests/chain.rs runs against a real EVM into target/chain-tools (npm, pinned):
# Foundry's anvil (the binary ships inside the npm package), Gnosis' ConditionalTokens build
# (its deployed bytecode) and OpenZeppelin 3.4's ERC-20 preset (a mintable token whose decimals
# live in storage, so the tests make it a 6-decimal collateral). Does nothing when present.
set -euo pipefail
cd "$(dirname "$0")/.."
PREFIX=target/chain-tools
ANVIL_PKG="@foundry-rs/anvil-linux-amd64@1.7.1"
CTF_PKG="@gnosis.pm/conditional-tokens-contracts@1.0.3"
OZ_PKG="@openzeppelin/contracts@3.4.2"
if [ -x "$PREFIX/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil" ] \
  && [ -f "$PREFIX/node_modules/@gnosis.pm/conditional-tokens-contracts/build/contracts/ConditionalTokens.json" ] \
  && [ -f "$PREFIX/node_modules/@openzeppelin/contracts/build/contracts/ERC20PresetMinterPauser.json" ]; then
  exit 0
fi
if ! command -v npm >/dev/null; then
  echo "chain-tools: npm is needed to install anvil and the contract builds (apt-get install npm)" >&2
  exit 1
fi
mkdir -p "$PREFIX"
npm install --prefix "$PREFIX" --no-audit --no-fund --no-save --loglevel=error \
  "$ANVIL_PKG" "$CTF_PKG" "$OZ_PKG"
chmod +x "$PREFIX/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"
"$PREFIX/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil" --version
