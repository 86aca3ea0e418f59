#!/usr/bin/env bash
# The whole test suite: every Rust test of the workspace, then the independent Python client
# (grpcio + botocore's SigV4 signer) against a real iamd binary, then the deployment: the
# container image, the compose cluster and the Kubernetes manifests (needs Docker).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --locked
cargo build --locked -p iamd -p iamctl
IAMD_BIN="$PWD/target/debug/iamd" python3 -m pytest -q tests/python
IAMD_BIN_DIR="$PWD/target/debug" python3 -m pytest -q tests/deploy
