#!/usr/bin/env bash
# Stop everything test/cluster/start.sh started (by pid file), remove the pod sandboxes,
# their mounts, cgroups and network rules. Keeps the build cache, the PKI, containerd's
# images and the registry storage. Safe to run twice.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$HERE/lib.sh"

log() { echo "stop: $*"; }
T0=$(date +%s)

stop_all() { # NAME... : SIGTERM them together, wait up to 10 s, then SIGKILL
  local name p i alive
  local -A pids=()
  for name in "$@"; do
    if p="$(pid_of "$name")"; then pids[$name]=$p; kill -TERM "$p" 2>/dev/null || true; fi
  done
  for ((i = 0; i < 100; i++)); do
    alive=0
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for name in "${!pids[@]}"; do
    p=${pids[$name]}
    if kill -0 "$p" 2>/dev/null; then log "$name did not stop, killing"; kill -KILL "$p" 2>/dev/null || true; fi
    log "stopped $name ($p)"
  done
  for name in "$@"; do rm -f "$RUN/$name.pid"; done
}

# 1. No more reconciling: the node agents first.
stop_all kube-proxy kubelet

# 2. Pod sandboxes through the CRI, so CNI DEL releases IPs, port maps and netns.
if pid_of containerd >/dev/null && [ -S "$SOCK" ]; then
  if [ -x "$CRI_CLEAN_BIN" ]; then
    timeout 150 "$CRI_CLEAN_BIN" "unix://$SOCK" | sed 's/^/stop: /' || log "cri-clean failed, killing what is left"
  else
    for t in $(timeout 30 ctr -a "$SOCK" -n k8s.io tasks ls -q 2>/dev/null || true); do
      timeout 10 ctr -a "$SOCK" -n k8s.io tasks kill -s SIGKILL "$t" >/dev/null 2>&1 || true
    done
  fi
fi

# 3. Cluster DNS, control plane, registry, containerd.
stop_all coredns kube-scheduler kube-controller-manager kube-apiserver registry
stop_all etcd containerd

# 4. Anything left over: container processes, shims (matched by our socket), mounts,
#    cgroups, iptables rules, links.
{ find /sys/fs/cgroup/pids/kubepods /sys/fs/cgroup/memory/kubepods -name cgroup.procs 2>/dev/null || true; } \
  | while read -r f; do
      while read -r p; do kill -KILL "$p" 2>/dev/null || true; done < "$f"
    done
for p in $(pgrep -f -- "containerd-shim-runc-v2 .*-address $SOCK( |$)" || true); do
  kill -KILL "$p" 2>/dev/null || true
done
sleep 0.2
if [ -d "$STATE" ]; then
  awk -v s="$STATE/" 'index($5, s) == 1 { print $5 }' /proc/self/mountinfo | sort -r | while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done
fi
for d in /sys/fs/cgroup/*/kubepods; do
  if [ -d "$d" ]; then find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || true; fi
done

if command -v kube-proxy >/dev/null && iptables -t nat -S KUBE-SERVICES >/dev/null 2>&1; then
  kube-proxy --cleanup >/dev/null 2>&1 || true
fi
# CNI rules of our network (normally gone after CNI DEL): delete rules tagged with the
# network name or a pod IP, then the per-pod chains they jumped to.
pod_net="${POD_CIDR%.0.0/16}."
for table in nat filter; do
  rules="$(iptables-save -t "$table" 2>/dev/null \
           | grep -E "^-A .*(name: \\\\\"$CNI_NET\\\\\"|${pod_net//./\\.}[0-9]+\.[0-9]+/32)" \
           | sed 's/^-A /-D /' || true)"
  [ -n "$rules" ] || continue
  chains="$(echo "$rules" | sed -n 's/.* -j \(CNI-[A-Za-z0-9-]*\).*/\1/p' | grep -vE '^CNI-(FORWARD|ADMIN|HOSTPORT-(DNAT|SETMARK|MASQ))$' | sort -u || true)"
  {
    echo "*$table"
    echo "$rules"
    for c in $chains; do echo "-F $c"; echo "-X $c"; done
    echo "COMMIT"
  } | iptables-restore --noflush 2>/dev/null || log "some $table rules could not be removed"
done
# The kubelet's and kube-proxy's own chains (KUBE-FIREWALL drops martian packets to
# 127.0.0.0/8) and the CNI firewall plugin's chains once no pod rule is left in them.
drop_chain() { # IPT TABLE CHAIN : remove the jumps to CHAIN, then CHAIN itself
  local ipt="$1" t="$2" c="$3" rule
  "$ipt" -t "$t" -S "$c" >/dev/null 2>&1 || return 0
  { "$ipt" -t "$t" -S | grep -E -- "-j $c( |\$)" || true; } | while read -r rule; do
    eval "$ipt -t $t ${rule/#-A/-D}" 2>/dev/null || true
  done
  "$ipt" -t "$t" -F "$c" 2>/dev/null || true
  "$ipt" -t "$t" -X "$c" 2>/dev/null || true
}
for ipt in iptables ip6tables; do
  command -v "$ipt" >/dev/null || continue
  for t in filter nat mangle; do
    for c in KUBE-FIREWALL KUBE-KUBELET-CANARY KUBE-PROXY-CANARY KUBE-IPTABLES-HINT KUBE-MARK-MASQ \
             KUBE-MARK-DROP KUBE-POSTROUTING; do
      drop_chain "$ipt" "$t" "$c"
    done
  done
  if [ "$("$ipt" -S CNI-FORWARD 2>/dev/null | grep -vcE -- '^-N CNI-FORWARD|-j CNI-ADMIN')" = 0 ] \
     && [ "$("$ipt" -S CNI-ADMIN 2>/dev/null | grep -vc -- '^-N CNI-ADMIN')" = 0 ]; then
    drop_chain "$ipt" filter CNI-FORWARD
    drop_chain "$ipt" filter CNI-ADMIN
  fi
  # portmap's shared chains, once no pod's port map is left in them.
  if [ "$("$ipt" -t nat -S CNI-HOSTPORT-DNAT 2>/dev/null | grep -vc -- '^-N ')" = 0 ]; then
    for c in CNI-HOSTPORT-DNAT CNI-HOSTPORT-MASQ CNI-HOSTPORT-SETMARK; do drop_chain "$ipt" nat "$c"; done
  fi
done
# Network namespaces of our pods (normally removed by the runtime): those holding a pod IP.
for ns in /run/netns/cni-*; do
  [ -e "$ns" ] || continue
  if ip -n "${ns##*/}" -4 -o addr show 2>/dev/null | grep -q " inet ${pod_net//./\\.}"; then
    ip netns del "${ns##*/}" 2>/dev/null || true
  fi
done
ip link del "$BRIDGE" 2>/dev/null || true
ip link del devenv-node0 2>/dev/null || true

log "done in $(( $(date +%s) - T0 )) s"
