# One node for the local cluster (sourced by scripts/control-plane.sh): Debian's containerd and runc, a
# kubelet and kube-scheduler from the pinned Kubernetes module, and a CNI bridge on a local range, all on
# this machine. Settings this VM needs (see README "A node on this VM"):
#   - cgroup v1 controllers plus a cgroup2 hierarchy, no swap, no systemd as init: kubelet runs with
#     cgroupDriver cgroupfs, failSwapOn false, failCgroupV1 false;
#   - with per-QoS cgroups the kubelet SIGKILLs the sandbox of every pod with resource requests or limits
#     (Burstable, Guaranteed) about a second after it starts (exit 137, "Pod sandbox changed", over and
#     over; BestEffort pods run): cgroupsPerQOS false, so containerd applies each container's limits itself;
#   - root lacks CAP_SYS_RESOURCE, so nothing may lower oom_score_adj: containerd's CRI plugin runs with
#     restrict_oom_score_adj = true;
#   - the sandbox (pause) image is local: a static busybox that sleeps, imported into containerd by name;
#   - the kubelet refuses a loopback node IP ("nodeIP can't be loopback address": the node gets no
#     addresses and kubectl logs fails), so the node registers with the bridge's gateway address 10.244.0.1,
#     the kubelet listens there only, and the API server reaches kubelets by InternalIP: kubectl logs and
#     exec stay on this machine; pods sit on the bridge dti0 (10.244.0.0/24) and reach the API server and
#     okta-sim through that same gateway address.

NODE_NAME=dti-node
NODE_BRIDGE=dti0
NODE_GATEWAY=10.244.0.1
NODE_SUBNET=10.244.0.0/24
PAUSE_IMAGE=dti.local/pause:1

node_debian_packages() {
  local missing=()
  command -v containerd >/dev/null || missing+=(containerd)
  command -v runc >/dev/null || missing+=(runc)
  command -v umoci >/dev/null || missing+=(umoci)
  [ -x /usr/lib/cni/bridge ] || missing+=(containernetworking-plugins)
  [ -x /bin/busybox ] && file_is_static /bin/busybox || missing+=(busybox-static)
  command -v iptables >/dev/null || missing+=(iptables)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
  fi
}

file_is_static() {
  ! grep -q "ld-linux" <(head -c 4096 "$1" 2>/dev/null | tr -c '[:print:]' '\n')
}

node_build() {
  for b in kube-scheduler kubelet kube-proxy; do ensure_bin "$b"; done
  node_debian_packages
}

# An OCI image from a root filesystem, with umoci (no Docker, no registry); prints the archive's path.
# oci_image NAME:TAG ROOTFS_DIR OUT_TAR CONFIG_ARGS...
oci_image() {
  local ref=$1 rootfs=$2 out=$3 work
  shift 3
  work=$(mktemp -d)
  umoci init --layout "$work/layout" >&2
  umoci new --image "$work/layout:${ref##*:}" >&2
  umoci unpack --rootless --image "$work/layout:${ref##*:}" "$work/bundle" >&2
  cp -a "$rootfs/." "$work/bundle/rootfs/"
  umoci repack --image "$work/layout:${ref##*:}" "$work/bundle" >&2
  umoci config --image "$work/layout:${ref##*:}" "$@" >&2
  (cd "$work/layout" && tar -cf "$out" .)
  rm -rf "$work"
}

pause_image() {
  local out=$1 rootfs
  rootfs=$(mktemp -d)
  chmod 0755 "$rootfs"
  mkdir -p "$rootfs/bin"
  cp /bin/busybox "$rootfs/bin/busybox"
  oci_image "$PAUSE_IMAGE" "$rootfs" "$out" --config.entrypoint /bin/busybox --config.cmd sleep --config.cmd 2147483647
  rm -rf "$rootfs"
}

node_prepare() {
  local dir=$1
  node_build
  mkdir -p "$dir/node"
}

write_containerd_config() {
  local dir=$1/node
  mkdir -p "$dir/cni/net.d" "$dir/containerd"
  cat >"$dir/containerd/config.toml" <<EOF
version = 2
root = "$dir/containerd/root"
state = "$dir/containerd/state"
[grpc]
  address = "$dir/containerd/containerd.sock"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  restrict_oom_score_adj = true
  enable_selinux = false
  disable_apparmor = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$dir/cni/net.d"
EOF
  cat >"$dir/cni/net.d/10-dti.conflist" <<EOF
{"cniVersion": "1.0.0", "name": "dti", "plugins": [
  {"type": "bridge", "bridge": "$NODE_BRIDGE", "isGateway": true, "ipMasq": false,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "$NODE_SUBNET", "gateway": "$NODE_GATEWAY"}]],
            "routes": [{"dst": "0.0.0.0/0"}], "dataDir": "$dir/cni/ipam"}},
  {"type": "portmap", "capabilities": {"portMappings": true}}
]}
EOF
}

# The bridge exists before any pod, so the API server and okta-sim can listen on its gateway at once.
node_bridge() {
  ip link show "$NODE_BRIDGE" >/dev/null 2>&1 || ip link add "$NODE_BRIDGE" type bridge
  ip addr show dev "$NODE_BRIDGE" | grep -q "$NODE_GATEWAY/" || ip addr add "$NODE_GATEWAY/24" dev "$NODE_BRIDGE"
  ip link set "$NODE_BRIDGE" up
}

write_kubelet_config() {
  local dir=$1/node
  cat >"$dir/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_GATEWAY
port: $(free_port)
healthzBindAddress: 127.0.0.1
healthzPort: 0
readOnlyPort: 0
cgroupDriver: cgroupfs
failSwapOn: false
failCgroupV1: false
cgroupsPerQOS: false
enforceNodeAllocatable: []
authentication:
  anonymous: {enabled: true}
  webhook: {enabled: false}
authorization: {mode: AlwaysAllow}
containerRuntimeEndpoint: unix://$dir/containerd/containerd.sock
imageGCHighThresholdPercent: 100
evictionHard: {}
evictionSoftGracePeriod: {}
serializeImagePulls: false
resolvConf: /etc/resolv.conf
localStorageCapacityIsolation: false
registerNode: true
podLogsDir: $dir/pod-logs
EOF
}

containerd_up() {
  local dir=$1/node i
  setsid containerd --config "$dir/containerd/config.toml" >"$dir/containerd.log" 2>&1 </dev/null &
  echo $! >"$dir/containerd.pid"
  for i in $(seq 1 100); do
    [ -S "$dir/containerd/containerd.sock" ] && ctr --address "$dir/containerd/containerd.sock" version >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  tail -n 20 "$dir/containerd.log" >&2
  die "containerd did not start"
}

# node_load_image DIR ARCHIVE NAME:TAG: makes an OCI archive's image available to the kubelet by name.
node_load_image() {
  local dir=$1/node archive=$2 ref=$3
  ctr --address "$dir/containerd/containerd.sock" -n k8s.io images import --base-name "${ref%%:*}" "$archive" >&2
  ctr --address "$dir/containerd/containerd.sock" -n k8s.io images tag --force "${ref%%:*}:${ref##*:}" "$ref" >/dev/null 2>&1 || true
}

node_up() {
  local dir=$1 api_port=$2 kubelet scheduler
  kubelet=$(ensure_bin kubelet)
  scheduler=$(ensure_bin kube-scheduler)
  sysctl -qw net.ipv4.ip_forward=1 >/dev/null 2>&1 || true
  node_bridge
  write_containerd_config "$dir"
  write_kubelet_config "$dir"
  containerd_up "$dir"
  pause_image "$dir/node/pause.tar"
  node_load_image "$dir" "$dir/node/pause.tar" "$PAUSE_IMAGE"
  local image
  for image in "${NODE_IMAGES[@]}"; do
    [ -f "${image%%=*}" ] || die "no OCI archive ${image%%=*} (scripts/image.sh builds one)"
    node_load_image "$dir" "${image%%=*}" "${image#*=}"
    log "image ${image#*=} loaded"
  done
  setsid "$scheduler" --kubeconfig "$dir/kubeconfig" --leader-elect=false --bind-address 127.0.0.1 --secure-port 0 \
    >"$dir/kube-scheduler.log" 2>&1 </dev/null &
  echo $! >"$dir/kube-scheduler.pid"
  setsid "$kubelet" --config "$dir/node/kubelet.yaml" --kubeconfig "$dir/kubeconfig" --root-dir "$dir/node/kubelet" \
    --hostname-override "$NODE_NAME" --node-ip "$NODE_GATEWAY" --v=1 >"$dir/kubelet.log" 2>&1 </dev/null &
  echo $! >"$dir/kubelet.pid"
  local deadline=$((SECONDS + 120))
  log "waiting for node $NODE_NAME to be Ready"
  while [ $SECONDS -lt $deadline ]; do
    if "$dir/kubectl" --kubeconfig "$dir/kubeconfig" get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null | grep -q True; then
      kube_proxy_up "$dir"
      return 0
    fi
    kill -0 "$(cat "$dir/kubelet.pid")" 2>/dev/null || { tail -n 40 "$dir/kubelet.log" >&2; die "kubelet exited"; }
    sleep 1
  done
  tail -n 40 "$dir/kubelet.log" >&2
  die "node $NODE_NAME not Ready in time"
}

# kube-proxy in iptables mode, so Services route as on any cluster: a pod's in-cluster config reaches the
# API server at the `kubernetes` Service's cluster IP (Kubernetes docs, "Virtual IPs and Service Proxies").
kube_proxy_up() {
  local dir=$1 proxy
  proxy=$(ensure_bin kube-proxy)
  cat >"$dir/node/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $dir/kubeconfig}
mode: iptables
clusterCIDR: $NODE_SUBNET
hostnameOverride: $NODE_NAME
bindAddress: 127.0.0.1
healthzBindAddress: 127.0.0.1:$(free_port)
metricsBindAddress: 127.0.0.1:$(free_port)
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
EOF
  setsid "$proxy" --config "$dir/node/kube-proxy.yaml" >"$dir/kube-proxy.log" 2>&1 </dev/null &
  echo $! >"$dir/kube-proxy.pid"
  local deadline=$((SECONDS + 60))
  while [ $SECONDS -lt $deadline ]; do
    iptables -t nat -S KUBE-SERVICES 2>/dev/null | grep -q "default/kubernetes:https" && { log "kube-proxy routes Services"; return 0; }
    kill -0 "$(cat "$dir/kube-proxy.pid")" 2>/dev/null || { tail -n 40 "$dir/kube-proxy.log" >&2; die "kube-proxy exited"; }
    sleep 0.5
  done
  tail -n 40 "$dir/kube-proxy.log" >&2
  die "kube-proxy did not route the kubernetes Service in time"
}

node_down() {
  local dir=$1
  [ -f "$dir/kubelet.pid" ] || return 0
  if [ -f "$dir/kube-proxy.pid" ]; then
    stop_pid "$dir/kube-proxy.pid"
    # its iptables chains outlive it: the cleanup mode removes them
    "$(bin_path kube-proxy)" --cleanup >/dev/null 2>&1 || true
  fi
  stop_pid "$dir/kubelet.pid"
  stop_pid "$dir/kube-scheduler.pid"
  if [ -S "$dir/node/containerd/containerd.sock" ]; then
    local ctr_cmd=(ctr --address "$dir/node/containerd/containerd.sock" -n k8s.io)
    for task in $("${ctr_cmd[@]}" tasks ls -q 2>/dev/null); do "${ctr_cmd[@]}" tasks kill -s KILL "$task" >/dev/null 2>&1 || true; done
    sleep 1
  fi
  stop_pid "$dir/node/containerd.pid"
  # Pod sandboxes left behind by a killed kubelet: their mounts must go before the directory can.
  grep " $dir/" /proc/mounts | awk '{print $2}' | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  # The pods' veths and the bridge: a leftover dti0 keeps its address, and the next `up --with-node` failed
  # with "Address already assigned".
  local link
  for link in $(ip -o link show master "$NODE_BRIDGE" 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1); do
    ip link del "$link" 2>/dev/null || true
  done
  ip link del "$NODE_BRIDGE" 2>/dev/null || true
}
