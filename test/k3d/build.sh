#!/usr/bin/env bash
# Builds (once, cached by recipe) the offline images the k3d e2e tier runs real k3d with on
# machines that cannot pull from a registry (TESTING.md, "Real k3d offline"):
#   devenv-test/k3s-standin:<k8s>   a k3s-COMPATIBLE node image built from upstream
#                                   Kubernetes (test/cluster/build.sh's binaries) - not k3s
#   devenv-test/k3d-proxy:<k3d>     k3d's load balancer (Debian nginx + stream module)
#   devenv-test/k3d-tools:<k3d>     k3d's tools node (noop only)
#   devenv-test/registry:<ver>      registry:2's program, the distribution registry
#   devenv-test/coredns:<ver>       cluster DNS inside the stand-in nodes
# and preloads into the stand-in nodes devenv-test/traefik:<ver>, the ingress controller
# devenv installs, which test/images/build.sh builds from Traefik's Go module.
# They carry their own names (never an upstream one, so a laptop's real images are never
# shadowed); the e2e tier hands them to k3d through configuration (K3D_IMAGE_LOADBALANCER,
# K3D_IMAGE_TOOLS, the k3d config's image and registries.create.image).
# Needs: test/cluster/build.sh done (kube binaries, registry, CoreDNS, pause image) and
# the devenv-test/base:bookworm image (test/images/build.sh). Prints each step's time.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../cluster/versions.sh
source "$HERE/../cluster/versions.sh"
export PATH="/usr/local/go/bin:$PATH" CGO_ENABLED=0 DOCKER_BUILDKIT=0
LABEL=dev.devenv.test.recipe
T0=$(date +%s)
log() { echo "k3d-images: $*"; }
since() { echo "$(( $(date +%s) - $1 )) s"; }

NODE_TAG="devenv-test/k3s-standin:$K8S_VERSION"
PROXY_TAG="devenv-test/k3d-proxy:${K3D_VERSION#v}"
TOOLS_TAG="devenv-test/k3d-tools:${K3D_VERSION#v}"
REG_TAG="devenv-test/registry:$REGISTRY_VERSION"
DNS_TAG="devenv-test/coredns:$COREDNS_VERSION"
TRAEFIK_TAG="devenv-test/traefik:$(
  # shellcheck disable=SC1091
  source "$HERE/../images/traefik/versions.env"; echo "$TRAEFIK_VERSION")"
BASE=devenv-test/base:bookworm
docker image inspect "$BASE" >/dev/null 2>&1 || { echo "k3d-images: $BASE missing: run test/images/build.sh first" >&2; exit 1; }
for b in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy; do
  [ -x "$KUBE_DIR/bin/$b" ] || { echo "k3d-images: $KUBE_DIR/bin/$b missing: run test/cluster/build.sh first" >&2; exit 1; }
done

# kubectl: k3d's node entrypoint and the stand-in's own scripts run it inside the nodes.
if [ ! -x "$KUBE_DIR/bin/kubectl" ]; then
  s=$(date +%s)
  minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
  ld="-s -w"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld="$ld -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
  done
  (cd "$KUBE_DIR/mod" && GOFLAGS=-mod=mod go build -trimpath -ldflags="$ld" -o "$KUBE_DIR/bin/kubectl.tmp" k8s.io/kubernetes/cmd/kubectl)
  mv "$KUBE_DIR/bin/kubectl.tmp" "$KUBE_DIR/bin/kubectl"
  log "kubectl built in $(since "$s")"
fi

recipe_hash() { # FILES... -> hash of their content plus the versions
  { cat "$@"; echo "$K8S_VERSION $K3D_VERSION $REGISTRY_VERSION $COREDNS_VERSION"; } | sha256sum | cut -c1-16
}
current() { docker image inspect -f "{{index .Config.Labels \"$LABEL\"}}" "$1" 2>/dev/null || true; }
build() { # TAG HASH CONTEXT
  local tag="$1" hash="$2" ctx="$3" s
  if [ "$(current "$tag")" = "$hash" ]; then log "$tag cached"; return; fi
  s=$(date +%s)
  docker build -q --build-arg "BASE=$BASE" --label "$LABEL=$hash" -t "$tag" "$ctx" 2>&1 >/dev/null | grep -v -e DEPRECATED -e "legacy builder" -e BuildKit -e environment-variable -e "^$" >&2 || true
  log "$tag built in $(since "$s")"
}
WORK="$CACHE/k3d-standin"; mkdir -p "$WORK"

# CoreDNS: the binary test/cluster/build.sh built, alone in an image.
dns_ctx="$WORK/coredns"; rm -rf "$dns_ctx"; mkdir -p "$dns_ctx"
cp "$COREDNS_BIN" "$dns_ctx/coredns"
printf 'FROM scratch\nCOPY coredns /coredns\nENTRYPOINT ["/coredns"]\n' >"$dns_ctx/Dockerfile"
build "$DNS_TAG" "$(recipe_hash "$dns_ctx/Dockerfile" "$COREDNS_BIN")" "$dns_ctx"

docker image inspect "$TRAEFIK_TAG" >/dev/null 2>&1 || { echo "k3d-images: $TRAEFIK_TAG missing: run test/images/build.sh first" >&2; exit 1; }

# Images every stand-in node imports into its containerd at start, as docker-save tars.
save_image() { # TAG NAME
  local id; id="$(docker image inspect -f '{{.Id}}' "$1")"
  if [ ! -f "$WORK/$2.tar" ] || [ "$(cat "$WORK/$2.id" 2>/dev/null)" != "$id" ]; then
    docker save -o "$WORK/$2.tar" "$1"; echo "$id" >"$WORK/$2.id"
  fi
}
save_image "$DNS_TAG" coredns
save_image "$TRAEFIK_TAG" traefik

# The node image: its context holds the kube binaries, the runc wrapper and the images
# every node imports into its containerd at start (pause, CoreDNS).
node_ctx="$WORK/node"; rm -rf "$node_ctx"; mkdir -p "$node_ctx/bin" "$node_ctx/images"
cp "$HERE/images/node/Dockerfile" "$HERE/images/node/k3s" "$HERE/images/node/coredns.yaml" "$node_ctx/"
for b in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl; do
  ln "$KUBE_DIR/bin/$b" "$node_ctx/bin/$b" 2>/dev/null || cp "$KUBE_DIR/bin/$b" "$node_ctx/bin/$b"
done
cp "$HERE/runc-wrapper.sh" "$node_ctx/bin/devenv-runc"
cp "$PAUSE_DIR/pause.tar" "$node_ctx/images/pause.tar"
cp "$WORK/coredns.tar" "$WORK/traefik.tar" "$node_ctx/images/"
echo "docker.io/$DNS_TAG" >"$node_ctx/images/coredns.ref"
build "$NODE_TAG" "$(recipe_hash "$HERE/images/node/"* "$HERE/runc-wrapper.sh" "$KUBE_DIR/bin/kubelet" "$WORK/coredns.id" "$WORK/traefik.id")" "$node_ctx"

build "$PROXY_TAG" "$(recipe_hash "$HERE/images/proxy/"*)" "$HERE/images/proxy"
build "$TOOLS_TAG" "$(recipe_hash "$HERE/images/tools/"*)" "$HERE/images/tools"
reg_ctx="$WORK/registry"; rm -rf "$reg_ctx"; mkdir -p "$reg_ctx"
cp "$HERE/images/registry/"* "$reg_ctx/"; cp "$REGISTRY_BIN" "$reg_ctx/registry"
build "$REG_TAG" "$(recipe_hash "$HERE/images/registry/"* "$REGISTRY_BIN")" "$reg_ctx"
rm -rf "$node_ctx" "$reg_ctx" "$dns_ctx"
log "total $(since "$T0")"
