#!/usr/bin/env bash
# The main job on the embedded default: a local control plane, the OktaIntegration CRD and a sample.
# Stops everything it started when it ends (pass --keep to leave the control plane running in .demo/).
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=$PWD/.demo/control-plane
keep=false
[ "${1:-}" = "--keep" ] && keep=true

scripts/control-plane.sh down "$DIR" 2>/dev/null || true
cleanup() { $keep || scripts/control-plane.sh down "$DIR"; }
trap cleanup EXIT

cargo build --quiet --bin dti-operator
scripts/control-plane.sh up "$DIR" >/dev/null
export KUBECONFIG=$DIR/kubeconfig
K=$DIR/kubectl

echo "== installing the OktaIntegration CRD (server-side apply)"
./target/debug/dti-operator crd | $K apply --server-side -f -
$K wait --for=condition=Established crd/oktaintegrations.dti.dev --timeout=60s
echo "== applying the samples in examples/"
$K apply --server-side -f examples/
echo "== kubectl get oktaintegrations"
$K get oktaintegrations -o wide
if $keep; then
  echo "control plane left running: export KUBECONFIG=$DIR/kubeconfig; stop it with scripts/control-plane.sh down $DIR"
fi
