#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints (warnings are errors), then every test.
# Works on a fresh machine with only the Rust toolchain; tests use loopback sockets and temp files.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings
cargo test --all-targets --locked
