#!/usr/bin/env bash
# The main job on the embedded default: okta-sim (a simulated Okta org) stands in for Okta.
#   1. `dti-operator sync` reads the org and prints every app with its usage, as a table.
#   2. A local control plane (real etcd, kube-apiserver and kube-controller-manager) runs the operator on an
#      OktaIntegration that points at the same org, until it is Ready: the summary, one OktaApp per app,
#      and `kubectl dti report` reading the inventory back from the cluster without a token; then the
#      decisions: seats to reclaim, who uses what by department, and a contract's wasted spend.
# Everything it starts is stopped when it ends (pass --keep to leave it running in .demo/).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DEMO=$ROOT/.demo
CP=$DEMO/control-plane
keep=false
[ "${1:-}" = "--keep" ] && keep=true
mkdir -p "$DEMO"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
pids=()
cleanup() {
  $keep && return
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  scripts/control-plane.sh down "$CP" 2>/dev/null || true
}
trap cleanup EXIT
scripts/control-plane.sh down "$CP" 2>/dev/null || true

say "building dti-operator and okta-sim (the first run compiles about 330 crates: 5-6 minutes on 2 cores)"
# One line per 50 crates instead of cargo's own line per crate; cargo's full output goes to a log, its tail shown on failure.
build_start=$SECONDS
set +e
cargo build --workspace --bins --message-format=json-render-diagnostics 2>"$DEMO/cargo.log" | {
  built=0
  while IFS= read -r line; do
    case $line in *'"reason":"compiler-artifact"'*)
      built=$((built + 1))
      # a warm build reports its crates at once: only a build that takes a while shows progress
      [ $((built % 50)) -eq 0 ] && [ $((SECONDS - build_start)) -ge 5 ] && echo "  $built crates built ($((SECONDS - build_start)) s)" ;;
    esac
  done
}
status=${PIPESTATUS[0]}
set -e
if [ "$status" -ne 0 ]; then
  tail -n 40 "$DEMO/cargo.log" >&2
  echo "demo: cargo build failed (full output in $DEMO/cargo.log)" >&2
  exit 1
fi
echo "built in $((SECONDS - build_start)) s"
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/debug

say "starting okta-sim: a small simulated Okta org (about 300 users, 25 apps, 35 days of System Log)"
# Two tokens, as two integrations would have: each gets its own 50% share of Okta's rate limits.
# --time-scale 10: Okta's rate-limit minute runs ten times faster, so the demo waits seconds, not minutes.
coproc SIM { exec "$BIN/okta-sim" --scale small --port 0 --time-scale 10 --log-lag 2s --token demo=users,apps,logs --token operator=users,apps,logs 2>"$DEMO/okta-sim.log"; }
pids+=("$SIM_PID")
read -r SIM_URL <&"${SIM[0]}"
SIM_HOST=${SIM_URL#http://}
echo "okta-sim serves the Okta Management API at $SIM_URL (API tokens: demo, operator)"

say "dti-operator sync: every app the org signs in to through Okta, with its usage over 30 days"
OKTA_API_TOKEN=demo "$BIN/dti-operator" sync --domain "$SIM_HOST" --insecure-allow-http 2>"$DEMO/sync.log"
tail -n 1 "$DEMO/sync.log"

say "starting a local control plane (etcd, kube-apiserver, kube-controller-manager; the first run builds them, later runs take seconds)"
scripts/control-plane.sh up "$CP" | head -n 1
export KUBECONFIG=$CP/kubeconfig
K=$CP/kubectl

say "installing the CRDs, a Secret with the token, and an OktaIntegration"
"$BIN/dti-operator" crd | $K apply --server-side -f - >/dev/null
for crd in oktaintegrations oktaapps oktasyncstates appcontracts; do
  $K wait --for=condition=Established "crd/$crd.dti.dev" --timeout=60s >/dev/null
done
$K create namespace dti-demo >/dev/null
$K -n dti-demo create secret generic okta-api-token --from-literal=token=operator >/dev/null
$K -n dti-demo apply --server-side -f - <<EOF
apiVersion: dti.dev/v1alpha1
kind: OktaIntegration
metadata:
  name: acme
spec:
  domain: $SIM_HOST
  credentials:
    apiToken:
      secretRef:
        name: okta-api-token
  syncInterval: 1h
  usageWindow: 30d
  maxAppsInStatus: 10
  reclaim:
    inactiveAfter: 20d
  breakdown:
    attributes: [department, costCenter]
EOF

say "running the operator (logs in .demo/operator.log)"
"$BIN/dti-operator" run --insecure-allow-http --metrics-addr 127.0.0.1:0 --kubeconfig "$KUBECONFIG" 2>"$DEMO/operator.log" &
pids+=($!)
$K -n dti-demo wait --for=condition=Ready oktaintegration/acme --timeout=120s

say "kubectl get oktaintegrations -o wide"
$K -n dti-demo get oktaintegrations -o wide
say "kubectl get oktaapps --sort-by=.status.activeUsers (one object per app; the top ten)"
$K -n dti-demo get oktaapps -l dti.dev/integration=acme --sort-by=.status.activeUsers | { read -r header; echo "$header"; tac | head -n 10; }
say "apps nobody signed in to in the window (dti.dev/used=false): licences to reclaim"
$K -n dti-demo get oktaapps -l dti.dev/integration=acme,dti.dev/used=false
say "kubectl dti report acme (the kubectl plugin: the inventory from the cluster, no token, no Okta request)"
ln -sf "$BIN/dti-operator" "$DEMO/kubectl-dti"
PATH=$DEMO:$PATH "$DEMO/kubectl-dti" report acme -n dti-demo | head -n 12
say "seats to reclaim (spec.reclaim.inactiveAfter 20d): by reason and grant, org-wide"
$K -n dti-demo get oktaintegration acme -o jsonpath='{.status.summary.reclaim}{"\n"}'
say "who uses what: kubectl dti report acme --by department"
PATH=$DEMO:$PATH "$DEMO/kubectl-dti" report acme -n dti-demo --by department
say "a contract for the most used app: an AppContract with seats and a price; the operator computes the waste"
TOP_APP=$($K -n dti-demo get oktaapps -l dti.dev/integration=acme --sort-by=.status.activeUsers -o jsonpath='{.items[-1:].spec.appId}')
TOP_ACTIVE=$($K -n dti-demo get oktaapps -l dti.dev/integration=acme --sort-by=.status.activeUsers -o jsonpath='{.items[-1:].status.activeUsers}')
RENEWAL=$(date -u -d '+30 days' +%F)
$K -n dti-demo apply --server-side -f - >/dev/null <<EOF
apiVersion: dti.dev/v1alpha1
kind: AppContract
metadata:
  name: top-app
spec:
  integration: acme
  app: {id: $TOP_APP}
  seats: $((TOP_ACTIVE + 25))
  price: {amount: "12.50", currency: USD, per: month}
  renewal: "$RENEWAL"
  owner: IT
EOF
$K -n dti-demo wait --for=condition=Matched appcontract/top-app --timeout=60s >/dev/null
$K -n dti-demo get appcontracts
say "events"
$K -n dti-demo get events --field-selector involvedObject.name=acme -o custom-columns=TYPE:.type,REASON:.reason,MESSAGE:.message

if $keep; then
  echo
  echo "left running: export KUBECONFIG=$KUBECONFIG; okta-sim at $SIM_URL; stop with: scripts/control-plane.sh down $CP; pkill -f okta-sim; pkill -f 'dti-operator run'"
else
  say "stopping okta-sim, the operator and the control plane"
fi
