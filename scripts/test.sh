#!/usr/bin/env bash
# The test suite: builds (once, cached by version) the Go binaries the integration tests start and the
# Python venv for the Okta SDK fidelity tests, then runs every Rust test of the workspace: unit tests,
# okta-sim's fidelity tests, the CLI, the operator on a real control plane, the chart's pod on a real node
# (which builds the release image with scripts/image.sh), alerts, dashboard and GitOps health.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "test: building the cluster components and tools (first run only: about 25 minutes on 2 cores; cached afterwards)" >&2
scripts/control-plane.sh build >/dev/null
scripts/python-env.sh >/dev/null
# Benchmarks run through scripts/bench.sh, not here.
exec cargo test --workspace --lib --bins --tests "$@"
