#!/usr/bin/env bash
# Start (or restart) dockerd with the runc wrapper (runc-wrapper.sh) as its default
# runtime, configured in /etc/docker/daemon.json so that any later plain `dockerd` start
# (the docker tier's restart test) keeps it. iptables stays on: with --iptables=false
# the host's FORWARD policy drops traffic between k3d's containers (TESTING.md).
# Idempotent: a running dockerd whose default runtime is already the wrapper is kept.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NAME=devenv-runc
BIN=/usr/local/sbin/devenv-runc
log() { echo "dockerd: $*"; }

command -v jq >/dev/null || { echo "dockerd.sh: jq is needed" >&2; exit 1; }
if ! cmp -s "$HERE/runc-wrapper.sh" "$BIN" 2>/dev/null; then
  install -m 0755 "$HERE/runc-wrapper.sh" "$BIN"
fi
mkdir -p /etc/docker
conf=/etc/docker/daemon.json
[ -s "$conf" ] || echo '{}' >"$conf"
want=$(jq --arg n "$NAME" --arg p "$BIN" '.runtimes[$n] = {path: $p} | ."default-runtime" = $n' "$conf")
if [ "$want" != "$(jq . "$conf")" ]; then
  echo "$want" >"$conf.tmp" && mv "$conf.tmp" "$conf"
  log "default runtime $NAME ($BIN) written to $conf"
fi

if [ "$(docker info --format '{{.DefaultRuntime}}' 2>/dev/null || true)" = "$NAME" ]; then
  log "running with default runtime $NAME"
  exit 0
fi
if [ -s /var/run/docker.pid ] && kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
  pid=$(cat /var/run/docker.pid)
  log "restarting dockerd (pid $pid) to pick up the runtime"
  kill "$pid"
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
fi
setsid dockerd >>/var/log/dockerd.log 2>&1 </dev/null &
for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
if [ "$(docker info --format '{{.DefaultRuntime}}' 2>/dev/null || true)" != "$NAME" ]; then
  echo "dockerd did not start with runtime $NAME; see /var/log/dockerd.log" >&2
  tail -20 /var/log/dockerd.log >&2
  exit 1
fi
log "started, default runtime $NAME"
