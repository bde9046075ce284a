#!/usr/bin/env bash
# Start a single-node Kubernetes for the kube test tier from the binaries build.sh
# cached: containerd (own root/state/socket), a distribution registry on
# 127.0.0.1:5001, etcd, kube-apiserver, kube-controller-manager, kube-scheduler, CoreDNS
# (a host process on the pod bridge's address, the pods' nameserver), a real kubelet and
# kube-proxy (iptables). State, logs and pid files live in
# $DEVENV_TEST_CLUSTER_DIR (default /tmp/devenv-test-cluster). Reuses a healthy running
# cluster; stops and restarts a stale one. Prints KUBECONFIG=... on success.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$HERE/lib.sh"

T0=$(date +%s)
log() { echo "start: $*"; }
die() { echo "start: ERROR: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (containerd, kubelet and kube-proxy need it)"
for b in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy; do
  [ -x "$KUBE_DIR/bin/$b" ] || die "$KUBE_DIR/bin/$b missing: run test/cluster/build.sh first"
done
[ -x "$REGISTRY_BIN" ] || die "$REGISTRY_BIN missing: run test/cluster/build.sh first"
[ -x "$COREDNS_BIN" ] || die "$COREDNS_BIN missing: run test/cluster/build.sh first"
[ -x "$CRI_CLEAN_BIN" ] || die "$CRI_CLEAN_BIN missing: run test/cluster/build.sh first"
[ -f "$PAUSE_DIR/pause.tar" ] || die "$PAUSE_DIR/pause.tar missing: run test/cluster/build.sh first"
for c in containerd runc ctr etcd iptables openssl jq curl conntrack; do
  command -v "$c" >/dev/null || die "$c not found: run test/cluster/build.sh first"
done

print_ready() {
  log "cluster ready in $(( $(date +%s) - T0 )) s"
  echo "KUBECONFIG=$KUBECONFIG_FILE"
}

# ---------------------------------------------------------------- reuse or restart
healthy=1
for c in "${COMPONENTS[@]}"; do pid_of "$c" >/dev/null || { healthy=0; break; }; done
if [ "$healthy" = 1 ] && api /readyz >/dev/null 2>&1 && node_ready && dns_healthy; then
  log "reusing the running cluster in $STATE"
  print_ready
  exit 0
fi
# Whatever an earlier cluster left: a stale or partial one (pid files), or one killed with
# its pid files lost (a cut-off CI run leaves shims, pod mounts and cgroups under $STATE,
# and the rm -rf below fails on their busy mounts). stop.sh stops what the pid files name
# and sweeps the rest; on a clean state it takes well under a second.
if [ -d "$STATE" ]; then
  if ls "$RUN"/*.pid >/dev/null 2>&1; then log "stale or partial cluster found, stopping it"; fi
  "$HERE/stop.sh"
fi

for port in $API_PORT $ETCD_PORT $((ETCD_PORT + 1)) "${REGISTRY_ADDR##*:}" 10250 10248 10249 10256 10257 10259 \
            "$DNS_HEALTH_PORT" "$DNS_READY_PORT"; do
  if ss -Hltn "sport = :$port" | grep -q .; then
    die "port $port is already in use: $(ss -Hltnp "sport = :$port" | head -1)"
  fi
done
# CoreDNS binds $CLUSTER_DNS_IP:53 (UDP and TCP): a wildcard listener on 53 would clash.
in_use="$(ss -Hlntu "sport = :53" | awk -v ip="$CLUSTER_DNS_IP" \
          '$5 == ip":53" || $5 == "0.0.0.0:53" || $5 == "*:53" || $5 == "[::]:53"' | head -1)"
[ -z "$in_use" ] || die "port 53 is already in use: $in_use"

# Fresh cluster data every start; keep PKI, containerd images and the registry storage.
rm -rf "$STATE/etcd" "$STATE/kubelet" "$STATE/cni/ipam" "$CTRD/state" "$LOGS" "$RUN"
mkdir -p "$PKI" "$LOGS" "$RUN" "$CTRD/root" "$CTRD/state" "$CTRD/certs.d" "$STATE/etcd" \
  "$STATE/kubelet" "$STATE/cni/net.d" "$STATE/cni/ipam" "$STATE/registry" "$STATE/config"
chmod 700 "$STATE/etcd" "$PKI"

# Node IP: the address of the default route, else a dummy interface (kubelet refuses
# loopback node IPs).
NODE_IP="${DEVENV_TEST_NODE_IP:-$(ip -4 route get 1.1.1.1 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p' | head -1)}"
if [ -z "$NODE_IP" ]; then
  NODE_IP=10.89.255.1
  ip link show devenv-node0 >/dev/null 2>&1 || ip link add devenv-node0 type dummy
  ip addr replace "$NODE_IP/32" dev devenv-node0
  ip link set devenv-node0 up
fi
echo "$NODE_IP" > "$STATE/node-ip"

spawn() { # NAME CMD... : run detached, log to $LOGS/NAME.log, pid in $RUN/NAME.pid
  local name="$1"; shift
  setsid "$@" >"$LOGS/$name.log" 2>&1 </dev/null &
  echo $! > "$RUN/$name.pid"
}

wait_for() { # DESC TIMEOUT NAME CMD... : poll CMD until it succeeds; NAME's process must stay alive
  local desc="$1" timeout="$2" name="$3" i; shift 3
  for ((i = 0; i < timeout * 4; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    if [ -n "$name" ] && ! pid_of "$name" >/dev/null; then
      tail -n 30 "$LOGS/$name.log" >&2 || true
      die "$name exited while waiting for $desc (log: $LOGS/$name.log)"
    fi
    sleep 0.25
  done
  [ -n "$name" ] && tail -n 30 "$LOGS/$name.log" >&2
  die "timed out after ${timeout}s waiting for $desc"
}

# ---------------------------------------------------------------- PKI (kept across starts)
gen_cert() { # NAME SUBJ EXT (signed by the CA)
  local n="$1" subj="$2" ext="$3"
  openssl genrsa -out "$PKI/$n.key" 2048 2>/dev/null
  openssl req -new -key "$PKI/$n.key" -subj "$subj" -out "$PKI/$n.csr" 2>/dev/null
  printf '%b\n' "$ext" > "$PKI/$n.ext"
  openssl x509 -req -in "$PKI/$n.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
    -days 3650 -sha256 -extfile "$PKI/$n.ext" -out "$PKI/$n.crt" 2>/dev/null
  rm -f "$PKI/$n.csr" "$PKI/$n.ext"
}
if [ ! -f "$PKI/sa.pub" ] || ! openssl x509 -checkend 86400 -noout -in "$PKI/apiserver.crt" >/dev/null 2>&1; then
  s=$(date +%s)
  rm -f "$PKI"/*
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$PKI/ca.key" -out "$PKI/ca.crt" -days 3650 \
    -subj "/CN=devenv-test-ca" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" 2>/dev/null
  gen_cert apiserver "/CN=kube-apiserver" \
    "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  gen_cert admin "/O=system:masters/CN=devenv-admin" \
    "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth"
  openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
  openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
  chmod 600 "$PKI"/*.key
  log "pki $(( $(date +%s) - s )) s"
fi
b64() { base64 -w0 < "$1"; }
cat > "$KUBECONFIG_FILE.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: devenv-test
  cluster:
    server: https://127.0.0.1:$API_PORT
    certificate-authority-data: $(b64 "$PKI/ca.crt")
users:
- name: devenv-admin
  user:
    client-certificate-data: $(b64 "$PKI/admin.crt")
    client-key-data: $(b64 "$PKI/admin.key")
contexts:
- name: devenv-test
  context: {cluster: devenv-test, user: devenv-admin}
current-context: devenv-test
EOF
chmod 600 "$KUBECONFIG_FILE.tmp"; mv "$KUBECONFIG_FILE.tmp" "$KUBECONFIG_FILE"

# ---------------------------------------------------------------- host networking
sysctl -qw net.ipv4.ip_forward=1
if [ ! -e /proc/sys/net/bridge/bridge-nf-call-iptables ]; then modprobe br_netfilter 2>/dev/null || true; fi
[ -e /proc/sys/net/bridge/bridge-nf-call-iptables ] && sysctl -qw net.bridge.bridge-nf-call-iptables=1
modprobe overlay 2>/dev/null || true
# The pod bridge, created up front as the CNI bridge plugin would (same name, its gateway
# address: the plugin reuses it) so that CoreDNS can bind that address before any pod.
ip link show "$BRIDGE" >/dev/null 2>&1 || ip link add "$BRIDGE" type bridge
ip addr replace "$BRIDGE_IP/${POD_CIDR#*/}" brd + dev "$BRIDGE"
ip link set "$BRIDGE" up

# ---------------------------------------------------------------- containerd
cat > "$CTRD/config.toml" <<EOF
version = 2
root = "$CTRD/root"
state = "$CTRD/state"
oom_score = 0
[grpc]
  address = "$SOCK"
[ttrpc]
  address = "$SOCK.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$CTRD/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  disable_apparmor = true
  # This host withholds CAP_SYS_RESOURCE: never ask for an oom_score_adj below ours.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$STATE/cni/net.d"
    max_conf_num = 1
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$CTRD/certs.d"
EOF
# The registry answers as 127.0.0.1:5001 and as localhost:5001 (the name devenv pushes to
# and renders into manifests, as with k3d's registry mirror): both resolve to it over HTTP.
for name in "$REGISTRY_ADDR" "localhost:${REGISTRY_ADDR##*:}"; do
  mkdir -p "$CTRD/certs.d/$name"
  cat > "$CTRD/certs.d/$name/hosts.toml" <<EOF
server = "http://$REGISTRY_ADDR"

[host."http://$REGISTRY_ADDR"]
  capabilities = ["pull", "resolve"]
EOF
done
cat > "$STATE/cni/net.d/10-$CNI_NET.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "$CNI_NET",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": true,
      "ipMasq": true,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$STATE/cni/ipam",
        "ranges": [[{ "subnet": "$POD_CIDR" }]],
        "routes": [{ "dst": "0.0.0.0/0" }]
      }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } },
    { "type": "firewall", "backend": "iptables" }
  ]
}
EOF
spawn containerd containerd --config "$CTRD/config.toml"

# ---------------------------------------------------------------- registry
cat > "$STATE/config/registry.yaml" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $STATE/registry
  delete:
    enabled: true
http:
  addr: $REGISTRY_ADDR
EOF
spawn registry env OTEL_TRACES_EXPORTER=none "$REGISTRY_BIN" serve "$STATE/config/registry.yaml"

# ---------------------------------------------------------------- etcd
spawn etcd etcd --name devenv --data-dir "$STATE/etcd" \
  --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls "http://127.0.0.1:$((ETCD_PORT + 1))" \
  --initial-advertise-peer-urls "http://127.0.0.1:$((ETCD_PORT + 1))" \
  --initial-cluster "devenv=http://127.0.0.1:$((ETCD_PORT + 1))" \
  --listen-metrics-urls "" --log-level warn --quota-backend-bytes 2147483648

wait_for "etcd" 30 etcd curl -sf "http://127.0.0.1:$ETCD_PORT/health"

# ---------------------------------------------------------------- kube-apiserver
spawn kube-apiserver kube-apiserver \
  --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
  --bind-address=127.0.0.1 --secure-port="$API_PORT" --advertise-address="$NODE_IP" \
  --endpoint-reconciler-type=none \
  --client-ca-file="$PKI/ca.crt" \
  --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
  --kubelet-client-certificate="$PKI/admin.crt" --kubelet-client-key="$PKI/admin.key" \
  --kubelet-preferred-address-types=InternalIP,Hostname \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
  --service-cluster-ip-range="$SERVICE_CIDR" \
  --authorization-mode=Node,RBAC --allow-privileged=true \
  --profiling=false --v=1

# containerd and the registry meanwhile
wait_for "containerd" 30 containerd ctr -a "$SOCK" version
if ! ctr -a "$SOCK" -n k8s.io images ls -q | grep -qx "$PAUSE_IMAGE"; then
  ctr -a "$SOCK" -n k8s.io images import "$PAUSE_DIR/pause.tar" >/dev/null
fi
wait_for "registry" 30 registry curl -sf "http://$REGISTRY_ADDR/v2/"

wait_for "kube-apiserver /readyz" 90 kube-apiserver api /readyz

# ---------------------------------------------------------------- controllers
spawn kube-controller-manager kube-controller-manager \
  --kubeconfig="$KUBECONFIG_FILE" \
  --authentication-kubeconfig="$KUBECONFIG_FILE" --authorization-kubeconfig="$KUBECONFIG_FILE" \
  --authentication-skip-lookup=true \
  --bind-address=127.0.0.1 --secure-port=10257 --leader-elect=false \
  --service-account-private-key-file="$PKI/sa.key" --root-ca-file="$PKI/ca.crt" \
  --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
  --use-service-account-credentials=true --service-cluster-ip-range="$SERVICE_CIDR" \
  --allocate-node-cidrs=false --cluster-cidr="$POD_CIDR" \
  --controllers='*,-nodeipam' --v=1
spawn kube-scheduler kube-scheduler \
  --kubeconfig="$KUBECONFIG_FILE" \
  --authentication-kubeconfig="$KUBECONFIG_FILE" --authorization-kubeconfig="$KUBECONFIG_FILE" \
  --authentication-skip-lookup=true \
  --bind-address=127.0.0.1 --secure-port=10259 --leader-elect=false --v=1

# ---------------------------------------------------------------- CoreDNS
# Cluster DNS as a host process: the kubernetes plugin watches Services and EndpointSlices
# with the admin kubeconfig; other names go to the host's resolvers. No `loop` plugin.
cat > "$STATE/config/Corefile" <<EOF
.:53 {
    bind $CLUSTER_DNS_IP
    errors
    health 127.0.0.1:$DNS_HEALTH_PORT
    ready 127.0.0.1:$DNS_READY_PORT
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig $KUBECONFIG_FILE devenv-test
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 30
    }
    forward . /etc/resolv.conf
    cache 30
}
EOF
spawn coredns "$COREDNS_BIN" -conf "$STATE/config/Corefile"

# The kube-dns Service (the name tools look for) with an EndpointSlice holding CoreDNS's
# address, so $DNS_SERVICE_IP answers too; pods' resolv.conf names $CLUSTER_DNS_IP directly.
api_create() { # PATH NAME JSON : POST unless PATH/NAME exists (a retried Service POST
  local code   # answers 422, its clusterIP being taken, rather than 409)
  api "$1/$2" >/dev/null 2>&1 && return 0
  code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$PKI/ca.crt" \
          --cert "$PKI/admin.crt" --key "$PKI/admin.key" -H 'Content-Type: application/json' \
          -X POST --data "$3" "https://127.0.0.1:$API_PORT$1")"
  [ "$code" = 201 ] || [ "$code" = 409 ]
}
dns_ports='[{"name":"dns","port":53,"protocol":"UDP"},{"name":"dns-tcp","port":53,"protocol":"TCP"}]'
wait_for "kube-dns Service" 30 kube-apiserver api_create /api/v1/namespaces/kube-system/services kube-dns \
  '{"apiVersion":"v1","kind":"Service","metadata":{"name":"kube-dns","namespace":"kube-system","labels":{"k8s-app":"kube-dns"}},"spec":{"clusterIP":"'"$DNS_SERVICE_IP"'","ports":'"$dns_ports"'}}'
wait_for "kube-dns EndpointSlice" 30 kube-apiserver api_create /apis/discovery.k8s.io/v1/namespaces/kube-system/endpointslices kube-dns-host \
  '{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{"name":"kube-dns-host","namespace":"kube-system","labels":{"kubernetes.io/service-name":"kube-dns","endpointslice.kubernetes.io/managed-by":"devenv-test"}},"addressType":"IPv4","endpoints":[{"addresses":["'"$CLUSTER_DNS_IP"'"],"conditions":{"ready":true}}],"ports":'"$dns_ports"'}'

# ---------------------------------------------------------------- kubelet
cat > "$STATE/config/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: $PKI/ca.crt}
authorization: {mode: AlwaysAllow}
containerRuntimeEndpoint: unix://$SOCK
imageServiceEndpoint: unix://$SOCK
cgroupDriver: cgroupfs
cgroupsPerQOS: true
enforceNodeAllocatable: [pods]
failCgroupV1: false
failSwapOn: false
protectKernelDefaults: false
oomScoreAdj: 0
clusterDomain: cluster.local
clusterDNS: [$CLUSTER_DNS_IP]
resolvConf: /etc/resolv.conf
serializeImagePulls: false
rotateCertificates: false
registerNode: true
maxPods: 110
evictionHard:
  memory.available: 100Mi
  nodefs.available: 1%
  nodefs.inodesFree: 1%
  imagefs.available: 1%
imageGCHighThresholdPercent: 99
imageGCLowThresholdPercent: 98
EOF
# The kubelet exits at once when its first CRI call answers "server is not initialized
# yet": containerd serves its socket (what `ctr version` saw above) before the CRI plugin
# has recovered its state and loaded the CNI config, which on a slow or busy machine ends
# seconds later (a CI run failed this way). cri-clean makes real CRI calls, so its success
# means the CRI serves; it also removes pod sandboxes an unclean stop left behind (none
# after stop.sh), which the new kubelet would otherwise find.
t=$(date +%s)
wait_for "containerd CRI" 120 containerd "$CRI_CLEAN_BIN" "unix://$SOCK"
t=$(( $(date +%s) - t ))
[ "$t" -lt 3 ] || log "containerd CRI ready after $t s"
spawn kubelet kubelet \
  --config="$STATE/config/kubelet.yaml" --kubeconfig="$KUBECONFIG_FILE" \
  --root-dir="$STATE/kubelet" --cert-dir="$STATE/kubelet/pki" \
  --hostname-override="$NODE_NAME" --node-ip="$NODE_IP" --v=1

# ---------------------------------------------------------------- kube-proxy
cat > "$STATE/config/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: $KUBECONFIG_FILE
mode: iptables
clusterCIDR: $POD_CIDR
hostnameOverride: $NODE_NAME
bindAddress: 127.0.0.1
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
conntrack:
  maxPerCore: 0
  min: 0
EOF
spawn kube-proxy kube-proxy --config="$STATE/config/kube-proxy.yaml" --v=1

# ---------------------------------------------------------------- ready?
wait_for "node $NODE_NAME Ready" 120 kubelet node_ready
wait_for "default ServiceAccount" 60 kube-controller-manager api /api/v1/namespaces/default/serviceaccounts/default
wait_for "CoreDNS /ready" 30 coredns curl -sf --max-time 2 "http://127.0.0.1:$DNS_READY_PORT/ready"
for c in "${COMPONENTS[@]}"; do pid_of "$c" >/dev/null || die "$c is not running (log: $LOGS/$c.log)"; done
print_ready
