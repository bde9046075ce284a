# shellcheck shell=bash disable=SC2034
# Shared paths and helpers for start.sh / stop.sh / load-image.sh (sourced, not run).
# shellcheck source=versions.sh
source "$(dirname "${BASH_SOURCE[0]}")/versions.sh"

PATH="$KUBE_DIR/bin:$PATH:/usr/sbin:/sbin"
export PATH

PKI="$STATE/pki"
LOGS="$STATE/logs"
RUN="$STATE/run"
CTRD="$STATE/containerd"
SOCK="$CTRD/containerd.sock"
KUBECONFIG_FILE="$STATE/kubeconfig"
NODE_NAME="devenv-node"
API_PORT=6443
ETCD_PORT=23790
REGISTRY_ADDR="127.0.0.1:5001"
POD_CIDR="10.88.0.0/16"
SERVICE_CIDR="10.96.0.0/16"
BRIDGE="devenv0"
# The bridge's address: the gateway host-local IPAM hands pods (first address of POD_CIDR).
BRIDGE_IP="10.88.0.1"
CNI_NET="devenv-pods"
# CoreDNS runs on the host, bound to the bridge's address; the kubelet gives pods that as
# their nameserver (clusterDNS). The kube-dns Service (DNS_SERVICE_IP) forwards to it too.
CLUSTER_DNS_IP="$BRIDGE_IP"
DNS_SERVICE_IP="10.96.0.10"
DNS_HEALTH_PORT=10251
DNS_READY_PORT=10252
# Start order; stop.sh goes backwards.
COMPONENTS=(containerd registry etcd kube-apiserver kube-controller-manager kube-scheduler coredns kubelet kube-proxy)

pid_of() { # NAME -> pid if the process recorded in the pid file is alive
  local f="$RUN/$1.pid" p
  [ -f "$f" ] || return 1
  p="$(cat "$f")"
  [ -n "$p" ] && kill -0 "$p" 2>/dev/null || return 1
  # A killed process can linger as a zombie until PID 1 reaps it: that is not alive.
  grep -q '^State:[[:space:]]*Z' "/proc/$p/status" 2>/dev/null && return 1
  echo "$p"
}

api() { # PATH -> JSON from the API server with the admin certificate
  curl -sf --max-time 5 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
    "https://127.0.0.1:$API_PORT$1"
}

node_ready() {
  [ "$(api "/api/v1/nodes/$NODE_NAME" 2>/dev/null \
       | jq -r '.status.conditions[]? | select(.type=="Ready") | .status' 2>/dev/null)" = True ]
}

dns_healthy() { # CoreDNS answers its health endpoint (process up; not a readiness check)
  curl -sf --max-time 2 "http://127.0.0.1:$DNS_HEALTH_PORT/health" >/dev/null
}
