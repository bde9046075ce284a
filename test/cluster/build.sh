#!/usr/bin/env bash
# Build (once) everything the kube test tier needs: Kubernetes components from the
# upstream k8s.io/kubernetes Go module, k3d, the distribution registry, CoreDNS and a
# local pause image. Results are cached by version under $DEVENV_TEST_CACHE; a second run
# only checks that the binaries are there.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.sh
source "$HERE/versions.sh"

export PATH="/usr/local/go/bin:$PATH"
export GOFLAGS="${GOFLAGS:-} -trimpath"
export CGO_ENABLED=0
TOTAL_START=$(date +%s)

log() { echo "build: $*"; }
step_time() { log "$1 $(( $(date +%s) - $2 )) s"; }

mkdir -p "$CACHE"

# ---------------------------------------------------------------- packages
step=$(date +%s)
need=()
for pair in containerd:containerd runc:runc iptables:iptables conntrack:conntrack \
            socat:socat openssl:openssl etcd:etcd-server jq:jq curl:curl ip:iproute2 ss:iproute2; do
  cmd="${pair%%:*}"; pkg="${pair#*:}"
  command -v "$cmd" >/dev/null 2>&1 || need+=("$pkg")
done
[ -x /usr/lib/cni/bridge ] || need+=(containernetworking-plugins)
if [ "${#need[@]}" -gt 0 ]; then
  log "apt-get install ${need[*]}"
  if [ "$(id -u)" != 0 ]; then echo "build: need root to install ${need[*]}" >&2; exit 1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}" \
    || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}"; }
fi
command -v go >/dev/null || { echo "build: go not found (expected /usr/local/go/bin/go)" >&2; exit 1; }
step_time "packages" "$step"

# ---------------------------------------------------------------- kubernetes
k8s_gomod() { # prints the path of k8s.io/kubernetes's go.mod in the module cache
  local f
  f="$(cd "$CACHE" && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$K8S_VERSION" \
       | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
  [ -f "$f" ] || { echo "build: cannot fetch go.mod of k8s.io/kubernetes@$K8S_VERSION" >&2; return 1; }
  echo "$f"
}
KDIR="$KUBE_DIR"
KBINS=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy)
have_all=1
for b in "${KBINS[@]}"; do [ -x "$KDIR/bin/$b" ] || have_all=0; done
if [ "$have_all" = 1 ]; then
  log "kube binaries cached in $KDIR/bin"
else
  step=$(date +%s)
  minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
  patch="${K8S_VERSION##*.}"
  staging_ver="v0.${minor}.${patch}"
  mod="$KDIR/mod"
  mkdir -p "$mod" "$KDIR/bin"
  # The list of staging modules comes from k8s.io/kubernetes's own go.mod.
  gomod_file="$(k8s_gomod)"
  staging=$(sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#\1#p' "$gomod_file")
  {
    echo "module devenv.test/kubebuild"
    echo
    echo "go 1.24.0"
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    echo "replace ("
    for m in $staging; do echo "	$m => $m $staging_ver"; done
    echo ")"
  } > "$mod/go.mod"
  {
    echo "//go:build tools"
    echo
    echo "package tools"
    echo
    echo "import ("
    for b in "${KBINS[@]}"; do echo "	_ \"k8s.io/kubernetes/cmd/$b\""; done
    echo ")"
  } > "$mod/tools.go"
  log "resolving modules for k8s.io/kubernetes $K8S_VERSION (staging $staging_ver)"
  (cd "$mod" && go mod tidy)
  step_time "kube modules" "$step"

  step=$(date +%s)
  pkgs=(); for b in "${KBINS[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done
  vpkg=k8s.io/component-base/version
  cpkg=k8s.io/client-go/pkg/version
  ld="-s -w"
  for p in $vpkg $cpkg; do
    ld="$ld -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor"
    ld="$ld -X $p.gitTreeState=clean -X $p.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  done
  log "go build ${KBINS[*]} (one invocation, -p ${GO_BUILD_P:-$(nproc)}; this is the long step)"
  (cd "$mod" && go build -p "${GO_BUILD_P:-$(nproc)}" -ldflags="$ld" -o "$KDIR/bin.tmp/" "${pkgs[@]}")
  mv "$KDIR/bin.tmp/"* "$KDIR/bin/" && rmdir "$KDIR/bin.tmp"
  step_time "kube binaries" "$step"
fi

# ---------------------------------------------------------------- helper programs
# Built through a generated wrapper module rather than `go install MOD@VER`: go install
# also asks the proxy for the module's version list (deprecation check), which the
# proxy here refuses for k3d (403), failing the install.
go_tool() { # NAME MODULE VERSION PACKAGE EXTRA_LDFLAGS
  local name="$1" module="$2" version="$3" pkg="$4" ldx="$5" dir="$CACHE/$1-$3" s
  local bin="$dir/bin/$name"
  if [ -x "$bin" ]; then log "$name cached in $dir/bin"; return; fi
  s=$(date +%s)
  mkdir -p "$dir/mod" "$dir/bin"
  printf 'module devenv.test/%sbuild\n\ngo 1.22\n\nrequire %s %s\n' "$name" "$module" "$version" > "$dir/mod/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport _ "%s"\n' "$pkg" > "$dir/mod/tools.go"
  (cd "$dir/mod" && go mod tidy)
  (cd "$dir/mod" && go build -ldflags="-s -w $ldx" -o "$bin.tmp" "$pkg")
  mv "$bin.tmp" "$bin"
  step_time "$name" "$s"
}
go_tool k3d github.com/k3d-io/k3d/v5 "$K3D_VERSION" github.com/k3d-io/k3d/v5 \
  "-X github.com/k3d-io/k3d/v5/version.Version=$K3D_VERSION"
go_tool registry github.com/distribution/distribution/v3 "$REGISTRY_VERSION" \
  github.com/distribution/distribution/v3/cmd/registry \
  "-X github.com/distribution/distribution/v3/version.version=$REGISTRY_VERSION"
# CoreDNS: the cluster DNS, run by start.sh as a host process (no images can be pulled).
# Its main package is the module root; its go.mod asks for a newer Go than the wrapper's
# `go 1.22`, which `go mod tidy` raises to match.
go_tool coredns github.com/coredns/coredns "$COREDNS_VERSION" github.com/coredns/coredns \
  "-X github.com/coredns/coredns/coremain.GitCommit=$COREDNS_VERSION"
# cri-clean (go/cri-clean): removes pod sandboxes through the CRI for stop.sh; built
# against the same k8s.io/cri-api and grpc versions as the kubelet.
if [ -x "$CRI_CLEAN_BIN" ]; then
  log "cri-clean cached in $(dirname "$CRI_CLEAN_BIN")"
else
  step=$(date +%s)
  dir="$(dirname "$(dirname "$CRI_CLEAN_BIN")")"
  mkdir -p "$dir/mod" "$dir/bin"
  cp "$HERE/go/cri-clean/main.go" "$dir/mod/main.go"
  grpc_ver="$(awk '$1 == "google.golang.org/grpc" { print $2 }' "$(k8s_gomod)")"
  printf 'module devenv.test/cri-clean\n\ngo 1.24.0\n\nrequire (\n\tk8s.io/cri-api v0.%s.%s\n\tgoogle.golang.org/grpc %s\n)\n' \
    "$(echo "$K8S_VERSION" | cut -d. -f2)" "${K8S_VERSION##*.}" "$grpc_ver" > "$dir/mod/go.mod"
  (cd "$dir/mod" && go mod tidy && go build -ldflags="-s -w" -o "$CRI_CLEAN_BIN.tmp" .)
  mv "$CRI_CLEAN_BIN.tmp" "$CRI_CLEAN_BIN"
  step_time "cri-clean" "$step"
fi

# ---------------------------------------------------------------- pause image
# A static Go program that sleeps until SIGINT/SIGTERM and reaps zombies, packed as a
# docker-save archive tagged $PAUSE_IMAGE, so containerd never pulls a sandbox image.
if [ -f "$PAUSE_DIR/pause.tar" ]; then
  log "pause image cached in $PAUSE_DIR/pause.tar"
else
  step=$(date +%s)
  src="$PAUSE_DIR/src"; rootfs="$PAUSE_DIR/rootfs"; img="$PAUSE_DIR/img"
  rm -rf "$src" "$rootfs" "$img"; mkdir -p "$src" "$rootfs" "$img"
  cat > "$src/go.mod" <<'GOMOD'
module devenv.test/pause

go 1.22
GOMOD
  cp "$HERE/go/pause/main.go" "$src/main.go"
  (cd "$src" && go build -ldflags="-s -w" -o "$rootfs/pause" .)
  tar --numeric-owner --owner=0 --group=0 --mtime=@0 -C "$rootfs" -cf "$img/layer.tar" pause
  diff_id=$(sha256sum "$img/layer.tar" | cut -d' ' -f1)
  mkdir -p "$img/$diff_id"; mv "$img/layer.tar" "$img/$diff_id/layer.tar"
  printf '{"architecture":"amd64","os":"linux","config":{"Entrypoint":["/pause"],"User":"65535:65535"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created_by":"devenv test/cluster/build.sh"}]}' \
    "$diff_id" > "$img/config.json"
  cfg_id=$(sha256sum "$img/config.json" | cut -d' ' -f1)
  mv "$img/config.json" "$img/$cfg_id.json"
  printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["%s/layer.tar"]}]' \
    "$cfg_id" "$PAUSE_IMAGE" "$diff_id" > "$img/manifest.json"
  tar --numeric-owner --owner=0 --group=0 --mtime=@0 -C "$img" -cf "$PAUSE_DIR/pause.tar.tmp" .
  mv "$PAUSE_DIR/pause.tar.tmp" "$PAUSE_DIR/pause.tar"
  rm -rf "$img" "$src" "$rootfs"
  step_time "pause image" "$step"
fi

log "total $(( $(date +%s) - TOTAL_START )) s"
