#!/usr/bin/env bash
# Benchmarks (not part of the test suite): `dti-operator sync` against okta-sim, side by side with Okta's
# official Python SDK and with the previous design's request cost. `--quick`: small and medium presets, under 5 minutes. Writes BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --workspace --bins
PY=$(scripts/python-env.sh)
exec "$PY" scripts/bench.py --python "$PY" "$@"
