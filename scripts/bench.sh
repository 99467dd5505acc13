#!/usr/bin/env bash
# Benchmarks (not part of the test suite): `dti-operator sync` against okta-sim and side by side with Okta's
# official Python SDK. `--quick`: small and medium presets, under 5 minutes. Writes BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bins
cargo bench --quiet --bench incremental --no-run 2>/dev/null
PY=$(scripts/python-env.sh)
exec "$PY" scripts/bench.py --python "$PY" "$@"
