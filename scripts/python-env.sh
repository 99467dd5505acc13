#!/usr/bin/env bash
# Creates (once) the Python venv the fidelity tests and the SDK benchmark use, keyed by the requirements'
# hash under the user's cache dir, and prints its python path.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REQ=$ROOT/okta-sim/tests/python/requirements.txt
CACHE=${DTI_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/dti-operator}
KEY=$(sha256sum "$REQ" | cut -c1-12)
VENV=$CACHE/venv-$KEY
mkdir -p "$CACHE"
# Tests run in parallel: one creates the venv, the others wait for it.
exec 9>"$CACHE/venv.lock"
flock 9
if [ ! -x "$VENV/bin/python" ] || [ ! -f "$VENV/.complete" ]; then
  rm -rf "$VENV"
  echo "python-env: creating $VENV" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQ" >&2
  touch "$VENV/.complete"
fi
echo "$VENV/bin/python"
