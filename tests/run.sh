#!/usr/bin/env bash
# The whole test suite: every Rust test of the workspace, then the independent Python client
# (grpcio + botocore's SigV4 signer) against a real iamd binary.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --locked
cargo build --locked -p iamd
IAMD_BIN="$PWD/target/debug/iamd" python3 -m pytest -q tests/python
