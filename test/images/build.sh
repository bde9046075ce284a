#!/usr/bin/env bash
# Builds the offline test images for devenv's docker test tier, from Debian packages
# and Go modules only (no container registry is needed):
#   devenv-test/base:bookworm   debootstrap minbase rootfs, imported
#   devenv-test/postgres:15     Debian postgresql-15, official-image-like entrypoint
#   devenv-test/mariadb:10.11   Debian mariadb-server, official-image-like entrypoint
#   devenv-test/minio:latest    MinIO server (and mc) built from their Go modules
#   devenv-test/seaweedfs:latest SeaweedFS (`weed`) built from its Go module (wrapper module)
#   devenv-test/python:3.11     Debian python3 + DB drivers, base for fixture images
#   devenv-test/traefik:<ver>   Traefik Proxy (devenv's ingress controller) built from its Go
#                               module (traefik/go-build.sh; version in traefik/versions.env)
#
# Usage: test/images/build.sh [--force] [base|postgres|mariadb|minio|seaweedfs|python|traefik ...]
# With no names, builds all. Idempotent: every image carries the label
# dev.devenv.test.recipe=<hash of its recipe files>; an image whose tag exists with the
# same hash is skipped. --force (or DEVENV_TEST_IMAGES_FORCE=1) rebuilds anyway.
#
# Environment:
#   DEVENV_TEST_CACHE            cache dir (rootfs tarball, Go binaries, logs)
#                                default /var/cache/devenv-test
#   DEVENV_TEST_MIRROR           Debian mirror; default: the one this machine's apt sources
#                                name (/etc/apt/sources.list, sources.list.d/*.list and
#                                *.sources), else Debian's own redirector (mirror.sh)
#   DEVENV_TEST_SECURITY_MIRROR  the same for the security archive
#   DEVENV_TEST_VERBOSE=1        stream build output instead of logging it to the cache
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${DEVENV_TEST_CACHE:-/var/cache/devenv-test}
# shellcheck source-path=SCRIPTDIR source=mirror.sh
source "$HERE/mirror.sh"
if [[ -z "${DEVENV_TEST_MIRROR:-}" || -z "${DEVENV_TEST_SECURITY_MIRROR:-}" ]]; then
  mapfile -t MACHINE_MIRRORS < <(debian_mirrors /etc/apt)
fi
MIRROR=${DEVENV_TEST_MIRROR:-${MACHINE_MIRRORS[0]}}
SECURITY_MIRROR=${DEVENV_TEST_SECURITY_MIRROR:-${MACHINE_MIRRORS[1]}}
FORCE=${DEVENV_TEST_IMAGES_FORCE:-0}
VERBOSE=${DEVENV_TEST_VERBOSE:-0}
LABEL=dev.devenv.test.recipe
# Bump when this script changes how images are made: it is part of every recipe hash.
RECIPE_REV=1
LOGS=$CACHE/logs

# The engine on these machines is 20.10 (no buildx): use the classic builder.
export DOCKER_BUILDKIT=0
export PATH=$PATH:/usr/local/go/bin:/usr/sbin:/sbin

log() { echo "images: $*" >&2; }
die() { echo "images: error: $*" >&2; exit 1; }

declare -A TAG=(
  [base]=devenv-test/base:bookworm
  [postgres]=devenv-test/postgres:15
  [mariadb]=devenv-test/mariadb:10.11
  [minio]=devenv-test/minio:latest
  [seaweedfs]=devenv-test/seaweedfs:latest
  [python]=devenv-test/python:3.11
  [traefik]=devenv-test/traefik:$(
    # shellcheck disable=SC1091
    source "$HERE/traefik/versions.env"; echo "$TRAEFIK_VERSION")
)
ORDER=(base postgres mariadb minio seaweedfs python traefik)

# ---------------------------------------------------------------- arguments
want=()
for arg in "$@"; do
  case "$arg" in
    --force|-f) FORCE=1 ;;
    -h|--help) sed -n '2,25p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    all) want+=("${ORDER[@]}") ;;
    *) [[ -n "${TAG[$arg]:-}" ]] || die "unknown image '$arg' (one of: ${ORDER[*]})"; want+=("$arg") ;;
  esac
done
[[ ${#want[@]} -gt 0 ]] || want=("${ORDER[@]}")

command -v docker >/dev/null || die "docker CLI not found"
docker info >/dev/null 2>&1 || die "cannot reach the Docker engine (is dockerd running?)"
mkdir -p "$CACHE" "$LOGS"

# One build at a time per cache dir (parallel CI jobs, two shells).
exec 9>"$CACHE/images.lock"
flock 9

# ---------------------------------------------------------------- helpers
# recipe_hash DIR [EXTRA...]: sha256 over every file under DIR (path, mode, content)
# plus the extra strings.
recipe_hash() {
  local dir=$1; shift
  {
    (cd "$dir" && find . -type f -print0 | LC_ALL=C sort -z |
      while IFS= read -r -d '' f; do
        printf '%s %s\n' "$f" "$(stat -c %a "$f")"
        sha256sum <"$f"
      done)
    printf '%s\n' "$@"
  } | sha256sum | cut -c1-32
}

current_hash() {
  docker image inspect -f "{{index .Config.Labels \"$LABEL\"}}" "$1" 2>/dev/null || true
}

image_id() { docker image inspect -f '{{.Id}}' "$1" 2>/dev/null || true; }

# After a rebuild, drop the previous image if nothing else refers to it any more.
drop_old() {
  local old=$1 tag=$2
  [[ -n "$old" && "$old" != "$(image_id "$tag")" ]] || return 0
  docker rmi "$old" >/dev/null 2>&1 || true
}

# run_logged NAME CMD...: runs CMD, output to the log file (or the terminal if verbose);
# on failure prints the log's tail.
run_logged() {
  local name=$1; shift
  local logf=$LOGS/$name.log
  if [[ "$VERBOSE" = 1 ]]; then
    "$@" 2>&1 | tee "$logf" >&2
    return "${PIPESTATUS[0]}"
  fi
  if ! "$@" >"$logf" 2>&1; then
    echo "images: --- last lines of $logf ---" >&2
    tail -n 40 "$logf" >&2
    return 1
  fi
}

# forced NAME: --force applies to the images named on the command line (all if none).
forced() { [[ "$FORCE" = 1 && " ${want[*]} " = *" $1 "* ]]; }

up_to_date() { # NAME HASH
  ! forced "$1" && [[ "$(current_hash "${TAG[$1]}")" = "$2" ]]
}

declare -A HASH=()

# ---------------------------------------------------------------- base
base_hash() {
  # shellcheck disable=SC1091
  recipe_hash "$HERE/base" "rev=$RECIPE_REV" "mirror=$MIRROR" "security=$SECURITY_MIRROR"
}

build_base() {
  local hash; hash=$(base_hash); HASH[base]=$hash
  if up_to_date base "$hash"; then log "base up to date"; return; fi
  local start=$SECONDS old; old=$(image_id "${TAG[base]}")
  local SUITE VARIANT INCLUDE
  # shellcheck disable=SC1091
  source "$HERE/base/recipe.env"
  local tarball=$CACHE/base-$SUITE-$hash.tar
  # The rootfs tarball is reused even with --force; delete it to debootstrap again.
  if [[ ! -s "$tarball" ]]; then
    command -v debootstrap >/dev/null || die "debootstrap not found (apt-get install -y debootstrap)"
    local work; work=$(mktemp -d "$CACHE/.rootfs.XXXXXX")
    # shellcheck disable=SC2064
    trap "umount -R '$work/rootfs/proc' '$work/rootfs/sys' 2>/dev/null || true; rm -rf '$work'" EXIT
    log "base: debootstrap $VARIANT $SUITE from $MIRROR"
    run_logged base-debootstrap debootstrap --variant="$VARIANT" ${INCLUDE:+--include="$INCLUDE"} \
      "$SUITE" "$work/rootfs" "$MIRROR" || die "debootstrap failed"
    local r=$work/rootfs
    # Image-friendly rootfs: apt sources, apt/dpkg settings, no services, no host leftovers.
    cp -a "$HERE/base/rootfs/." "$r/"
    cat >"$r/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SECURITY_MIRROR $SUITE-security main
EOF
    rm -rf "$r"/var/lib/apt/lists/* "$r"/var/cache/apt/*.bin "$r"/var/cache/apt/archives/*.deb \
      "$r"/var/log/*.log "$r"/var/log/apt/* "$r"/tmp/* "$r"/root/.bash_history
    : >"$r/etc/resolv.conf"; : >"$r/etc/hostname"; : >"$r/etc/machine-id"
    # Apply the dpkg path excludes to what debootstrap already installed.
    find "$r/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
    rm -rf "$r"/usr/share/man/* "$r"/usr/share/info/* "$r"/usr/share/locale/* "$r"/usr/share/lintian/*
    tar --numeric-owner -C "$r" -cf "$tarball.tmp" .
    mv "$tarball.tmp" "$tarball"
    rm -rf "$work"; trap - EXIT
    # Drop tarballs of older recipes.
    find "$CACHE" -maxdepth 1 -name "base-$SUITE-*.tar" ! -name "$(basename "$tarball")" -delete
  else
    log "base: using cached rootfs $tarball"
  fi
  docker import \
    --change "LABEL $LABEL=$hash" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["bash"]' \
    "$tarball" "${TAG[base]}" >/dev/null
  drop_old "$old" "${TAG[base]}"
  log "base built in $((SECONDS - start)) s"
}

# ---------------------------------------------------------------- docker-built images
# build_dockerfile NAME CONTEXT_DIR HASH
build_dockerfile() {
  local name=$1 ctx=$2 hash=$3
  local start=$SECONDS old; old=$(image_id "${TAG[$name]}")
  run_logged "$name" docker build --pull=false --force-rm \
    --build-arg "BASE=${TAG[base]}" --label "$LABEL=$hash" -t "${TAG[$name]}" "$ctx" ||
    die "$name: docker build failed (log: $LOGS/$name.log)"
  drop_old "$old" "${TAG[$name]}"
  log "$name built in $((SECONDS - start)) s"
}

build_simple() { # postgres, mariadb, python: the recipe dir is the build context
  local name=$1
  local hash; hash=$(recipe_hash "$HERE/$name" "base=${HASH[base]}")
  HASH[$name]=$hash
  if up_to_date "$name" "$hash"; then log "$name up to date"; return; fi
  build_dockerfile "$name" "$HERE/$name" "$hash"
}

# ---------------------------------------------------------------- minio
# go_build MODULE VERSION BINARY: builds into $CACHE/BINARY-VERSION/BINARY once.
go_build() {
  local module=$1 version=$2 bin=$3
  local dir=$CACHE/$bin-$version
  if [[ -x "$dir/$bin" ]]; then echo "$dir/$bin"; return 0; fi
  if [[ -e "$dir/FAILED" ]]; then
    log "$bin: build of $version failed before (see $dir/FAILED); skipping"
    return 1
  fi
  local start=$SECONDS tmp; tmp=$(mktemp -d "$CACHE/.$bin-build.XXXXXX")
  log "$bin: go install $module@$version (a few minutes on 2 cores)"
  if ! run_logged "$bin-go" env GOBIN="$tmp" CGO_ENABLED=0 GOFLAGS=-buildvcs=false \
      go install -trimpath -ldflags "-s -w" "$module@$version"; then
    mkdir -p "$dir"; cp "$LOGS/$bin-go.log" "$dir/FAILED"; rm -rf "$tmp"
    return 1
  fi
  mkdir -p "$dir"; mv "$tmp/$bin" "$dir/$bin.tmp"; mv "$dir/$bin.tmp" "$dir/$bin"; rm -rf "$tmp"
  log "$bin: built in $((SECONDS - start)) s"
  echo "$dir/$bin"
}

build_minio() {
  local MINIO_MODULE MINIO_VERSION MC_MODULE MC_VERSION
  # shellcheck disable=SC1091
  source "$HERE/minio/versions.env"
  local hash; hash=$(recipe_hash "$HERE/minio" "base=${HASH[base]}")
  HASH[minio]=$hash
  if up_to_date minio "$hash"; then log "minio up to date"; return; fi
  command -v go >/dev/null || die "go not found (needed to build MinIO from its module)"
  local minio mc=""
  minio=$(go_build "$MINIO_MODULE" "$MINIO_VERSION" minio) || die "minio: go install failed (log: $LOGS/minio-go.log)"
  if [[ -n "${MC_VERSION:-}" ]]; then
    mc=$(go_build "$MC_MODULE" "$MC_VERSION" mc) || { log "mc: not built; image has no mc"; mc=""; }
  fi
  local ctx; ctx=$(mktemp -d "$CACHE/.minio-ctx.XXXXXX")
  cp -a "$HERE/minio/." "$ctx/"
  install -m 755 "$minio" "$ctx/minio"
  if [[ -n "$mc" ]]; then install -m 755 "$mc" "$ctx/mc"; else printf '#!/bin/sh\necho "mc was not built into this image" >&2\nexit 127\n' >"$ctx/mc"; chmod +x "$ctx/mc"; fi
  build_dockerfile minio "$ctx" "$hash" || { rm -rf "$ctx"; exit 1; }
  rm -rf "$ctx"
}

# ---------------------------------------------------------------- seaweedfs
# go_build_wrapped NAME MODULE VERSION PACKAGE GO REPLACE: builds PACKAGE from a wrapper
# module that requires MODULE@VERSION (and repeats its replace directive, which makes
# `go install MODULE@VERSION` refuse it), into $CACHE/NAME-VERSION/bin/NAME once.
go_build_wrapped() {
  local name=$1 module=$2 version=$3 pkg=$4 gov=$5 replace=$6
  local dir=$CACHE/$name-$version
  local bin=$dir/bin/$name
  if [[ -x "$bin" ]]; then echo "$bin"; return 0; fi
  if [[ -e "$dir/FAILED" ]]; then
    log "$name: build of $version failed before (see $dir/FAILED); skipping"
    return 1
  fi
  local start=$SECONDS
  mkdir -p "$dir/mod" "$dir/bin"
  printf 'module devenv.test/%sbuild\n\ngo %s\n\nrequire %s %s\n' "$name" "$gov" "$module" "$version" >"$dir/mod/go.mod"
  [[ -z "$replace" ]] || printf '\nreplace %s\n' "$replace" >>"$dir/mod/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport _ "%s"\n' "$pkg" >"$dir/mod/tools.go"
  log "$name: go build $pkg from $module@$version (about 10 min on 2 cores)"
  if ! run_logged "$name-go" bash -c "cd '$dir/mod' && go mod tidy && CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build -trimpath -ldflags '-s -w' -o '$bin.tmp' '$pkg'"; then
    cp "$LOGS/$name-go.log" "$dir/FAILED"; rm -f "$bin.tmp"
    return 1
  fi
  mv "$bin.tmp" "$bin"
  log "$name: built in $((SECONDS - start)) s"
  echo "$bin"
}

build_seaweedfs() {
  local WEED_MODULE WEED_VERSION WEED_PACKAGE WEED_GO WEED_REPLACE
  # shellcheck disable=SC1091
  source "$HERE/seaweedfs/versions.env"
  local hash; hash=$(recipe_hash "$HERE/seaweedfs" "base=${HASH[base]}")
  HASH[seaweedfs]=$hash
  if up_to_date seaweedfs "$hash"; then log "seaweedfs up to date"; return; fi
  command -v go >/dev/null || die "go not found (needed to build SeaweedFS from its module)"
  local weed
  weed=$(go_build_wrapped weed "$WEED_MODULE" "$WEED_VERSION" "$WEED_PACKAGE" "$WEED_GO" "$WEED_REPLACE") ||
    die "seaweedfs: go build failed (log: $LOGS/weed-go.log)"
  local ctx; ctx=$(mktemp -d "$CACHE/.seaweedfs-ctx.XXXXXX")
  cp -a "$HERE/seaweedfs/." "$ctx/"
  install -m 755 "$weed" "$ctx/weed"
  build_dockerfile seaweedfs "$ctx" "$hash" || { rm -rf "$ctx"; exit 1; }
  rm -rf "$ctx"
}

# ---------------------------------------------------------------- traefik
build_traefik() {
  local hash; hash=$(recipe_hash "$HERE/traefik" "base=${HASH[base]}")
  HASH[traefik]=$hash
  if up_to_date traefik "$hash"; then log "traefik up to date"; return; fi
  local version=${TAG[traefik]##*:}
  local dir=$CACHE/traefik-$version
  local bin=$dir/bin/traefik
  if [[ ! -x "$bin" ]]; then
    [[ ! -e "$dir/FAILED" ]] || die "traefik: build of $version failed before (see $dir/FAILED; delete it to retry)"
    local start=$SECONDS
    log "traefik: go build $version from its module (5-15 min on 2 cores)"
    if ! run_logged traefik-go bash "$HERE/traefik/go-build.sh"; then
      mkdir -p "$dir"; cp "$LOGS/traefik-go.log" "$dir/FAILED"
      die "traefik: go build failed (log: $LOGS/traefik-go.log)"
    fi
    log "traefik: Go build took $((SECONDS - start)) s"
  fi
  local ctx; ctx=$(mktemp -d "$CACHE/.traefik-ctx.XXXXXX")
  cp -a "$HERE/traefik/Dockerfile" "$ctx/"
  install -m 755 "$bin" "$ctx/traefik"
  build_dockerfile traefik "$ctx" "$hash" || { rm -rf "$ctx"; exit 1; }
  rm -rf "$ctx"
}

# ---------------------------------------------------------------- main
total=$SECONDS
build_base   # every other image is FROM it
done_names=" base "
for n in "${ORDER[@]}"; do
  [[ " ${want[*]} " = *" $n "* && "$done_names" != *" $n "* ]] || continue
  case "$n" in
    minio) build_minio ;;
    seaweedfs) build_seaweedfs ;;
    traefik) build_traefik ;;
    *) build_simple "$n" ;;
  esac
  done_names+="$n "
done
log "done in $((SECONDS - total)) s"
