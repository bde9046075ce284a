#!/usr/bin/env bash
# dockerd's default runtime on build machines: runc, with two edits that let k3d's
# privileged node containers run here (TESTING.md, "Real k3d offline"):
#  - CAP_SYS_RESOURCE is withheld from this machine's processes, so runc fails to apply
#    it ("unable to apply caps"): drop it from every capability set of the container's
#    bundle (create/run) or of the process spec (exec);
#  - on this cgroup v1 host privileged containers share the host's cgroup namespace,
#    so a nested kubelet would not see itself at "/": give privileged containers
#    (CAP_SYS_ADMIN in their bounding set) a cgroup namespace of their own.
# Anything else is passed to runc unchanged. Installed by test/k3d/dockerd.sh.
set -euo pipefail
RUNC="${DEVENV_REAL_RUNC:-/usr/sbin/runc}"
args=("$@")
cmd="" bundle="" process=""
for ((i = 0; i < ${#args[@]}; i++)); do
  a="${args[$i]}"
  if [ -z "$cmd" ]; then
    case "$a" in create | run | exec) cmd="$a" ;; esac
    continue
  fi
  case "$a" in
    --bundle | -b) bundle="${args[$((i + 1))]}" ;;
    --bundle=*) bundle="${a#--bundle=}" ;;
    --process | -p) process="${args[$((i + 1))]}" ;;
    --process=*) process="${a#--process=}" ;;
  esac
done
edit() { # FILE JQ-FILTER: rewrite FILE in place when the filter changes it
  local tmp="$1.devenv-tmp"
  jq -c "$2" "$1" >"$tmp" && mv "$tmp" "$1"
}
DROP='(.. | objects | select(has("bounding")) ) |= with_entries(.value |= (if type == "array" then map(select(. != "CAP_SYS_RESOURCE")) else . end))'
case "$cmd" in
  create | run)
    cfg="${bundle:-.}/config.json"
    if [ -f "$cfg" ]; then
      edit "$cfg" "$DROP"' | if ((.process.capabilities.bounding // []) | index("CAP_SYS_ADMIN")) and ((.linux.namespaces // []) | map(.type) | index("cgroup") | not) then .linux.namespaces += [{"type":"cgroup"}] else . end'
    fi
    ;;
  exec)
    if [ -n "$process" ] && [ -f "$process" ]; then
      edit "$process" 'if .capabilities then .capabilities |= with_entries(.value |= (if type == "array" then map(select(. != "CAP_SYS_RESOURCE")) else . end)) else . end'
    fi
    ;;
esac
exec "$RUNC" "$@"
