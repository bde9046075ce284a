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
CNI_NET="devenv-pods"
# Start order; stop.sh goes backwards.
COMPONENTS=(containerd registry etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy)

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
