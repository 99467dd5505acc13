#!/usr/bin/env bash
# The test suite: builds (once, cached by version) the Go binaries the integration tests start, prepares the
# Python environment for the Okta SDK fidelity tests, then runs every Rust test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/control-plane.sh build >/dev/null
if [ -x scripts/python-env.sh ]; then scripts/python-env.sh >/dev/null; fi
# Benches (benches/) run against a live okta-sim through scripts/bench.sh, not here.
exec cargo test --lib --bins --tests "$@"
