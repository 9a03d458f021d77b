#!/usr/bin/env bash
# The whole test suite, as CI runs it, for the whole workspace (the engine `polyarb` and its
# venue double `polyarb-venue` in venue/): formatting, lints (warnings are errors), every Rust
# test, then the conformance suite: Polymarket's official Python client against `polyarb venue`.
# Works on a fresh machine with the Rust toolchain and Python 3; tests use loopback sockets and
# temp files. The suite's pinned packages go into a virtual environment under target/.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked --quiet
# Every package's binaries are built before any test runs, so the tests of either package can
# start both `polyarb` and `polyarb-venue`.
cargo test --workspace --all-targets --locked

# The suite starts target/debug/polyarb (which runs `venue` as target/debug/polyarb-venue),
# both just built by `cargo test` from these sources (a separate `cargo build` would compile
# the crates a second time under the dev profile).
VENV=target/conformance-venv
if [ ! -x "$VENV/bin/python" ]; then
  if ! python3 -m venv "$VENV"; then
    # Debian/Ubuntu ship the venv module separately.
    rm -rf "$VENV"
    SUDO=""
    if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
    $SUDO apt-get update -q
    $SUDO apt-get install -y -q python3-venv
    python3 -m venv "$VENV"
  fi
fi
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -r tests/conformance/requirements.txt
# Exit code 5 (no tests collected) is a failure too: the suite never passes by not running.
rc=0
POLYARB_BIN="$PWD/target/debug/polyarb" "$VENV/bin/python" -m pytest -q tests/conformance || rc=$?
if [ "$rc" -ne 0 ]; then
  echo "conformance suite failed (pytest exit code $rc)" >&2
  exit 1
fi
