#!/usr/bin/env bash
# A local Kubernetes cluster from real parts, like controller-runtime's envtest plus a node.
#
#   scripts/control-plane.sh build                 build (once) and cache every binary the tests use; print paths
#   scripts/control-plane.sh up DIR                 etcd + kube-apiserver + kube-controller-manager (garbage
#                                                   collector, namespaces) in the background; DIR/kubeconfig
#   scripts/control-plane.sh up --with-node [--image ARCHIVE=REF]... DIR
#                                                   also kube-scheduler, containerd (Debian) and a kubelet: a
#                                                   one-node cluster whose node is Ready, with each OCI archive
#                                                   (e.g. scripts/image.sh's) loaded as REF (repeatable)
#   scripts/control-plane.sh restart-apiserver DIR [SECONDS]   kill kube-apiserver, wait, start it again alike
#   scripts/control-plane.sh down DIR               stop what `up DIR` started and remove DIR (and the node's
#                                                   bridge and the pods' veths, when it ran one)
#   scripts/control-plane.sh bin NAME               the cached path of NAME, building it if needed
#
# Binaries are built from the official Go modules at the versions pinned in tools/*/go.mod and cached under
# ${XDG_CACHE_HOME:-~/.cache}/dti-operator/bin, keyed by version, so only the first run ever compiles them.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# The one-node part (containerd, kubelet, pod network, images) lives beside this script.
# shellcheck source=scripts/node.sh
. "$ROOT/scripts/node.sh"
CACHE=${DTI_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/dti-operator}
BIN_DIR=$CACHE/bin

# module_version GO_MOD MODULE: the version a wrapper go.mod requires
module_version() { awk -v m="$2" '$1 != "//" { for (i = 1; i < NF; i++) if ($i == m) { print $(i + 1); exit } }' "$1"; }
KUBE_VERSION=$(module_version "$ROOT/tools/kubernetes/go.mod" k8s.io/kubernetes)
ETCD_VERSION=$(module_version "$ROOT/tools/etcd/go.mod" go.etcd.io/etcd/server/v3)
# helm's own go.mod has no replace directives, so `go install module@version` builds it as released.
HELM_VERSION=v3.22.0
# Prometheus's Go module (v0.316.0 is Prometheus 3.16): promtool and prometheus for the alert and dashboard tests.
PROMETHEUS_VERSION=v0.316.0

log() { printf 'control-plane: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

bin_path() {
  case "$1" in
    kube-apiserver | kubectl | kube-controller-manager | kube-scheduler | kubelet | kube-proxy) echo "$BIN_DIR/$1-$KUBE_VERSION" ;;
    etcd) echo "$BIN_DIR/etcd-$ETCD_VERSION" ;;
    # -r2: built with the version information upstream's release build sets (see build_helm)
    helm) echo "$BIN_DIR/helm-$HELM_VERSION-r2" ;;
    promtool | prometheus) echo "$BIN_DIR/$1-$PROMETHEUS_VERSION" ;;
    # kstatus (Flux's health) and gopher-lua (Argo CD's Lua), keyed by the wrapper module's go.sum
    gitops-health) echo "$BIN_DIR/gitops-health-$(cat "$ROOT/tools/gitops-health/go.sum" "$ROOT/tools/gitops-health/main.go" | sha256sum | cut -c1-12)" ;;
    *) die "unknown binary $1" ;;
  esac
}

# quietly NAME COMMAND...: runs a Go command with its output (module downloads, compiler chatter) in
# $CACHE/logs/NAME.log instead of the terminal; on failure the log's last lines are shown.
quietly() {
  local name=$1
  shift
  mkdir -p "$CACHE/logs"
  local logfile="$CACHE/logs/$name.log"
  if ! "$@" >"$logfile" 2>&1; then
    tail -n 30 "$logfile" >&2
    die "building $name failed (whole log: $logfile)"
  fi
}

# go_build MODULE_DIR PACKAGE OUTPUT [LDFLAGS]: builds into a temp file and renames, so a killed build never leaves a half binary.
go_build() {
  local dir=$1 pkg=$2 out=$3 ldflags=${4:-}
  mkdir -p "$BIN_DIR"
  log "building $(basename "$out") (first run only; cached afterwards; log in $CACHE/logs)"
  local start=$SECONDS
  quietly "$(basename "$out")" env -C "$dir" CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w $ldflags" -o "$out.tmp.$$" "$pkg"
  mv "$out.tmp.$$" "$out"
  log "built $(basename "$out") in $((SECONDS - start))s"
}

# helm as upstream's release build makes it (its Makefile's LDFLAGS): the version, a clean tree, and the
# Kubernetes version of the client-go it is built with, so `helm template` assumes a current cluster
# instead of Kubernetes 1.20.
build_helm() {
  local out=$1 gomod client_go minor tmp="$BIN_DIR/.helm.$$"
  mkdir -p "$tmp" "$CACHE/logs"
  log "building helm-$HELM_VERSION (first run only; cached afterwards; log in $CACHE/logs)"
  local start=$SECONDS
  gomod=$(go mod download -json "helm.sh/helm/v3@$HELM_VERSION" 2>"$CACHE/logs/helm-download.log" | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')
  client_go=$(awk '$1 == "k8s.io/client-go" { print $2; exit }' "$gomod")
  minor=${client_go#v0.}
  minor=${minor%%.*}
  local pkg=helm.sh/helm/v3
  quietly "helm-$HELM_VERSION" env CGO_ENABLED=0 GOBIN="$tmp" go install -trimpath -ldflags "-s -w -X $pkg/internal/version.version=$HELM_VERSION \
    -X $pkg/internal/version.gitTreeState=clean -X $pkg/pkg/lint/rules.k8sVersionMajor=1 -X $pkg/pkg/lint/rules.k8sVersionMinor=$minor \
    -X $pkg/pkg/chartutil.k8sVersionMajor=1 -X $pkg/pkg/chartutil.k8sVersionMinor=$minor" "$pkg/cmd/helm@$HELM_VERSION"
  mv "$tmp/helm" "$out" && rmdir "$tmp"
  log "built helm-$HELM_VERSION in $((SECONDS - start))s"
}

# promtool or prometheus from Prometheus's module, with the version its release build stamps.
build_prometheus() {
  local name=$1 out=$2 tmp="$BIN_DIR/.prom.$$" v=github.com/prometheus/common/version
  local release="3.${PROMETHEUS_VERSION#v0.}"
  release=${release%.*}.${PROMETHEUS_VERSION##*.}
  mkdir -p "$tmp"
  log "building $name-$PROMETHEUS_VERSION (first run only, a few minutes; cached afterwards)"
  local start=$SECONDS
  quietly "$name-$PROMETHEUS_VERSION" env CGO_ENABLED=0 GOBIN="$tmp" go install -trimpath -ldflags "-s -w -X $v.Version=$release -X $v.Branch=release" \
    "github.com/prometheus/prometheus/cmd/$name@$PROMETHEUS_VERSION"
  mv "$tmp/$name" "$out" && rmdir "$tmp"
  log "built $name-$PROMETHEUS_VERSION in $((SECONDS - start))s"
}

ensure_bin() {
  local name=$1 out
  out=$(bin_path "$name")
  [ -x "$out" ] && { echo "$out"; return; }
  command -v go >/dev/null || die "go is required to build $name"
  local minor=${KUBE_VERSION#v1.}
  minor=${minor%%.*}
  local kver="-X k8s.io/component-base/version.gitVersion=$KUBE_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean"
  kver="$kver -X k8s.io/client-go/pkg/version.gitVersion=$KUBE_VERSION -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$minor"
  case "$name" in
    kube-apiserver | kubectl | kube-controller-manager | kube-scheduler) go_build "$ROOT/tools/kubernetes" "./$name" "$out" "$kver" ;;
    kubelet | kube-proxy) go_build "$ROOT/tools/kubernetes" "./$name" "$out" "$kver" ;;
    etcd) go_build "$ROOT/tools/etcd" . "$out" ;;
    helm) build_helm "$out" ;;
    promtool | prometheus) build_prometheus "$name" "$out" ;;
    gitops-health) go_build "$ROOT/tools/gitops-health" . "$out" ;;
  esac
  echo "$out"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

gen_certs() {
  local d=$1/pki extra_san=""
  [ -n "${2:-}" ] && extra_san=",IP:$2"
  mkdir -p "$d"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=dti-local-ca" \
    -keyout "$d/ca.key" -out "$d/ca.crt" 2>/dev/null
  # apiserver serving certificate for loopback
  openssl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" -keyout "$d/apiserver.key" -out "$d/apiserver.csr" 2>/dev/null
  # 10.96.0.1: the `kubernetes` Service's cluster IP, which pods reach through kube-proxy.
  printf 'subjectAltName=IP:127.0.0.1%s,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\n' "$extra_san" >"$d/apiserver.ext"
  openssl x509 -req -in "$d/apiserver.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial -days 3650 \
    -extfile "$d/apiserver.ext" -out "$d/apiserver.crt" 2>/dev/null
  # admin client certificate: group system:masters
  openssl req -newkey rsa:2048 -nodes -subj "/O=system:masters/CN=dti-admin" -keyout "$d/admin.key" -out "$d/admin.csr" 2>/dev/null
  printf 'extendedKeyUsage=clientAuth\n' >"$d/admin.ext"
  openssl x509 -req -in "$d/admin.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial -days 3650 \
    -extfile "$d/admin.ext" -out "$d/admin.crt" 2>/dev/null
  # service-account token signing key
  openssl genrsa -out "$d/sa.key" 2048 2>/dev/null
  openssl rsa -in "$d/sa.key" -pubout -out "$d/sa.pub" 2>/dev/null
}

write_kubeconfig() {
  local dir=$1 port=$2 d=$1/pki
  cat >"$dir/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: dti-local
  cluster:
    server: https://127.0.0.1:$port
    certificate-authority-data: $(base64 -w0 <"$d/ca.crt")
users:
- name: dti-admin
  user:
    client-certificate-data: $(base64 -w0 <"$d/admin.crt")
    client-key-data: $(base64 -w0 <"$d/admin.key")
contexts:
- name: dti-local
  context: {cluster: dti-local, user: dti-admin, namespace: default}
current-context: dti-local
EOF
}

wait_ready() {
  local dir=$1 port=$2 deadline=$((SECONDS + ${DTI_CONTROL_PLANE_TIMEOUT:-90}))
  while [ $SECONDS -lt $deadline ]; do
    if curl -sf --cacert "$dir/pki/ca.crt" --cert "$dir/pki/admin.crt" --key "$dir/pki/admin.key" \
      "https://127.0.0.1:$port/readyz" >/dev/null 2>&1; then
      return 0
    fi
    kill -0 "$(cat "$dir/kube-apiserver.pid")" 2>/dev/null || { tail -n 30 "$dir/kube-apiserver.log" >&2; die "kube-apiserver exited"; }
    sleep 0.3
  done
  tail -n 30 "$dir/kube-apiserver.log" >&2
  die "kube-apiserver not ready in time"
}

# An audit log of writes, so tests can tell which replica wrote what, and when.
write_audit_policy() {
  cat >"$1/audit-policy.yaml" <<'EOF'
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
    verbs: [create, update, patch, delete]
    resources:
      - group: dti.dev
      - group: coordination.k8s.io
        resources: [leases]
      - group: events.k8s.io
  - level: None
EOF
}

# start_apiserver DIR: starts kube-apiserver with the flags recorded in DIR/kube-apiserver.args.
start_apiserver() {
  local dir=$1 kas
  kas=$(ensure_bin kube-apiserver)
  # setsid: the servers outlive this script and are stopped by `down`, never by the caller's Ctrl-C.
  # shellcheck disable=SC2046
  setsid "$kas" $(cat "$dir/kube-apiserver.args") >>"$dir/kube-apiserver.log" 2>&1 </dev/null &
  echo $! >"$dir/kube-apiserver.pid"
}

start_controller_manager() {
  local dir=$1 kcm c=-controller controllers
  controllers="garbage-collector$c,namespace$c,serviceaccount$c,serviceaccount-token$c,root-ca-certificate-publisher$c,clusterrole-aggregation$c"
  kcm=$(ensure_bin kube-controller-manager)
  [ "${2:-}" = node ] && controllers="$controllers,deployment$c,replicaset$c,endpointslice$c,node-lifecycle$c,pod-garbage-collector$c,disruption$c"
  setsid "$kcm" --kubeconfig "$dir/kubeconfig" --controllers "$controllers" --leader-elect=false \
    --use-service-account-credentials=false --root-ca-file "$dir/pki/ca.crt" \
    --service-account-private-key-file "$dir/pki/sa.key" --bind-address 127.0.0.1 --secure-port 0 \
    --concurrent-gc-syncs 5 --v=0 >"$dir/kube-controller-manager.log" 2>&1 </dev/null &
  echo $! >"$dir/kube-controller-manager.pid"
}

# The controller manager is working once its serviceaccount controller has made default/default.
wait_controller_manager() {
  local dir=$1 deadline=$((SECONDS + 60))
  while [ $SECONDS -lt $deadline ]; do
    "$(bin_path kubectl)" --kubeconfig "$dir/kubeconfig" get serviceaccount default -n default >/dev/null 2>&1 && return 0
    kill -0 "$(cat "$dir/kube-controller-manager.pid")" 2>/dev/null || { tail -n 20 "$dir/kube-controller-manager.log" >&2; die "kube-controller-manager exited"; }
    sleep 0.3
  done
  tail -n 20 "$dir/kube-controller-manager.log" >&2
  die "kube-controller-manager did not start its controllers in time"
}

cmd_up() {
  local with_node=false
  NODE_IMAGES=()
  if [ "${1:-}" = --with-node ]; then with_node=true; shift; fi
  while [ "${1:-}" = --image ]; do
    $with_node || die "--image needs --with-node"
    case "${2:-}" in *=*:*) NODE_IMAGES+=("$2") ;; *) die "--image ARCHIVE=NAME:TAG, e.g. --image dti-operator.oci.tar=dti-operator:dev" ;; esac
    shift 2
  done
  # The environment variable of earlier versions still works.
  if [ -n "${DTI_NODE_IMAGE:-}" ]; then NODE_IMAGES+=("$DTI_NODE_IMAGE"); fi
  local dir=${1:?usage: control-plane.sh up [--with-node [--image ARCHIVE=REF]...] DIR}
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  [ -f "$dir/kube-apiserver.pid" ] && kill -0 "$(cat "$dir/kube-apiserver.pid")" 2>/dev/null && die "$dir already runs a control plane"
  local etcd
  etcd=$(ensure_bin etcd)
  ensure_bin kube-apiserver >/dev/null
  ensure_bin kube-controller-manager >/dev/null
  ensure_bin kubectl >/dev/null
  $with_node && node_prepare "$dir"
  gen_certs "$dir" "$($with_node && echo "$NODE_GATEWAY")"
  write_audit_policy "$dir"
  local etcd_port peer_port api_port
  etcd_port=$(free_port)
  peer_port=$(free_port)
  api_port=$(free_port)
  setsid "$etcd" --name dti --data-dir "$dir/etcd" --unsafe-no-fsync \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
    --initial-cluster "dti=http://127.0.0.1:$peer_port" --log-level warn \
    >"$dir/etcd.log" 2>&1 </dev/null &
  echo $! >"$dir/etcd.pid"
  # Without a node, pods are never run: no ServiceAccount admission (no tokens to mount). With a node,
  # the API server also listens on the pod bridge's gateway, so pods reach it.
  # With a node the `kubernetes` Service's endpoint is the gateway too, which kube-proxy routes pods to.
  local admission="--disable-admission-plugins ServiceAccount" bind=127.0.0.1 advertise=127.0.0.1
  if $with_node; then admission=""; bind=0.0.0.0; advertise=$NODE_GATEWAY; fi
  cat >"$dir/kube-apiserver.args" <<EOF
--etcd-servers http://127.0.0.1:$etcd_port --bind-address $bind --advertise-address $advertise --secure-port $api_port
--cert-dir $dir/pki --tls-cert-file $dir/pki/apiserver.crt --tls-private-key-file $dir/pki/apiserver.key
--client-ca-file $dir/pki/ca.crt --authorization-mode Node,RBAC $admission
--kubelet-client-certificate $dir/pki/admin.crt --kubelet-client-key $dir/pki/admin.key --kubelet-preferred-address-types InternalIP
--service-cluster-ip-range 10.96.0.0/16 --service-account-issuer https://kubernetes.default.svc
--service-account-key-file $dir/pki/sa.pub --service-account-signing-key-file $dir/pki/sa.key
--audit-policy-file $dir/audit-policy.yaml --audit-log-path $dir/audit.log --audit-log-format json
--allow-privileged=true --v=0
EOF
  write_kubeconfig "$dir" "$api_port"
  start_apiserver "$dir"
  wait_ready "$dir" "$api_port"
  start_controller_manager "$dir" "$($with_node && echo node)"
  wait_controller_manager "$dir"
  ln -sf "$(bin_path kubectl)" "$dir/kubectl"
  if $with_node; then node_up "$dir" "$api_port"; fi
  # A test harness names itself as owner: when that process ends, however it ends, the cluster goes too.
  if [ -n "${DTI_CONTROL_PLANE_OWNER_PID:-}" ]; then
    setsid bash -c 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; exec "$2" down "$3"' _ \
      "$DTI_CONTROL_PLANE_OWNER_PID" "$ROOT/scripts/control-plane.sh" "$dir" >/dev/null 2>&1 </dev/null &
  fi
  echo "$api_port" >"$dir/port"
  local node_note=""
  if $with_node; then node_note=", node $NODE_NAME Ready"; fi
  cat <<EOF
control plane ready: Kubernetes $KUBE_VERSION, etcd $ETCD_VERSION at https://127.0.0.1:$api_port$node_note
  export KUBECONFIG=$dir/kubeconfig
  $dir/kubectl get namespaces        # kubectl $KUBE_VERSION, matching the server
  $0 down $dir                       # stop it
EOF
}

# restart-apiserver DIR [SECONDS]: an outage of the API server (killed, not paused), then the same server again.
cmd_restart_apiserver() {
  local dir=${1:?usage: control-plane.sh restart-apiserver DIR [SECONDS]} pause=${2:-20}
  dir=$(cd "$dir" && pwd)
  stop_pid "$dir/kube-apiserver.pid" -9
  sleep "$pause"
  start_apiserver "$dir"
  wait_ready "$dir" "$(cat "$dir/port")"
}

stop_pid() {
  local pidfile=$1 signal=${2:--TERM} pid
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$signal" "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

cmd_down() {
  local dir=${1:?usage: control-plane.sh down DIR}
  [ -d "$dir" ] || return 0
  node_down "$dir"
  stop_pid "$dir/kube-controller-manager.pid"
  stop_pid "$dir/kube-apiserver.pid"
  stop_pid "$dir/etcd.pid"
  rm -rf "$dir"
}

case "${1:-}" in
  build)
    # Everything the tests start: the control plane, helm, the node, promtool/prometheus, the GitOps checks.
    for b in etcd kube-apiserver kube-controller-manager kubectl helm promtool prometheus gitops-health; do ensure_bin $b; done
    node_build
    ;;
  bin) ensure_bin "${2:?usage: control-plane.sh bin NAME}" ;;
  up) shift; cmd_up "$@" ;;
  restart-apiserver) shift; cmd_restart_apiserver "$@" ;;
  down) cmd_down "${2:-}" ;;
  versions) echo "kubernetes=$KUBE_VERSION etcd=$ETCD_VERSION helm=$HELM_VERSION" ;;
  *) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
