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

stop_one() { # NAME [GRACE seconds]
  local name="$1" grace="${2:-10}" p i
  if p="$(pid_of "$name")"; then
    kill -TERM "$p" 2>/dev/null || true
    for ((i = 0; i < grace * 10; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$p" 2>/dev/null; then log "$name did not stop, killing"; kill -KILL "$p" 2>/dev/null || true; fi
    log "stopped $name ($p)"
  fi
  rm -f "$RUN/$name.pid"
}

# 1. No more reconciling: the node agents first.
stop_one kube-proxy
stop_one kubelet

# 2. Pod sandboxes through the CRI, so CNI DEL releases IPs, port maps and netns.
if pid_of containerd >/dev/null && [ -S "$SOCK" ]; then
  if command -v crictl >/dev/null; then
    crictl_() { timeout 60 crictl --runtime-endpoint "unix://$SOCK" --timeout 30s "$@"; }
    pods="$(crictl_ pods -q 2>/dev/null || true)"
    if [ -n "$pods" ]; then
      # shellcheck disable=SC2086
      crictl_ stopp $pods >/dev/null 2>&1 || true
      # shellcheck disable=SC2086
      crictl_ rmp -f $pods >/dev/null 2>&1 || true
      log "removed $(echo "$pods" | wc -l) pod sandbox(es)"
    fi
  else
    for t in $(timeout 30 ctr -a "$SOCK" -n k8s.io tasks ls -q 2>/dev/null || true); do
      timeout 10 ctr -a "$SOCK" -n k8s.io tasks kill -s SIGKILL "$t" >/dev/null 2>&1 || true
    done
  fi
fi

# 3. Control plane, registry, containerd.
for c in kube-scheduler kube-controller-manager kube-apiserver etcd registry containerd; do
  stop_one "$c"
done

# 4. Anything left over: container processes, shims (matched by our socket), mounts,
#    cgroups, iptables rules, links.
for f in $(find /sys/fs/cgroup/pids/kubepods /sys/fs/cgroup/memory/kubepods -name cgroup.procs 2>/dev/null); do
  for p in $(cat "$f" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
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
  [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || true
done

if command -v kube-proxy >/dev/null && iptables -t nat -S KUBE-SERVICES >/dev/null 2>&1; then
  kube-proxy --cleanup >/dev/null 2>&1 || true
fi
# CNI rules of our network (normally gone after CNI DEL): delete rules tagged with the
# network name or the pod CIDR, then the per-pod chains they jumped to.
pod_net="${POD_CIDR%.0.0/16}."
for table in nat filter; do
  rules="$(iptables-save -t "$table" 2>/dev/null \
           | grep -E "^-A .*(name: \\\\\"$CNI_NET\\\\\"|${pod_net//./\\.}[0-9]+\.[0-9]+/32)" || true)"
  [ -n "$rules" ] || continue
  chains="$(echo "$rules" | sed -n 's/.* -j \(CNI-[A-Za-z0-9-]*\).*/\1/p' | grep -vE '^CNI-(FORWARD|ADMIN|HOSTPORT-(DNAT|SETMARK|MASQ))$' | sort -u || true)"
  {
    echo "*$table"
    echo "$rules" | sed 's/^-A /-D /'
    for c in $chains; do echo "-F $c"; echo "-X $c"; done
    echo "COMMIT"
  } | iptables-restore --noflush 2>/dev/null || log "some $table rules could not be removed"
done
ip link del "$BRIDGE" 2>/dev/null || true
ip link del devenv-node0 2>/dev/null || true

log "done in $(( $(date +%s) - T0 )) s"
