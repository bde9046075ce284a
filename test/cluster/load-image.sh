#!/usr/bin/env bash
# Load docker images into the test cluster's containerd (fallback path; the main path is
# `docker push 127.0.0.1:5001/NAME:TAG` and referencing that name in the manifests).
# Usage: test/cluster/load-image.sh IMAGE [IMAGE...]
# Pods using a loaded image should set imagePullPolicy: IfNotPresent (or Never).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$HERE/lib.sh"

[ "$#" -ge 1 ] || { echo "usage: $0 IMAGE [IMAGE...]" >&2; exit 2; }
if ! pid_of containerd >/dev/null || [ ! -S "$SOCK" ]; then
  echo "load-image: the test cluster's containerd is not running (test/cluster/start.sh)" >&2
  exit 1
fi

for img in "$@"; do
  t=$(date +%s)
  docker image inspect "$img" >/dev/null 2>&1 || { echo "load-image: no docker image $img" >&2; exit 1; }
  docker save "$img" | ctr -a "$SOCK" -n k8s.io images import --digests=true - >/dev/null
  echo "load-image: $img loaded in $(( $(date +%s) - t )) s"
done
