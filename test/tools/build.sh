#!/usr/bin/env bash
# Build (once) the linters the unit tier runs on devenv's generated CI pipelines, from their
# Go modules, cached by version under $DEVENV_TEST_CACHE (a second run only checks that the
# binary is there). Nothing built here is committed.
#   actionlint  github.com/rhysd/actionlint/cmd/actionlint  (GitHub Actions workflows;
#               it also runs shellcheck on `run:` scripts; shellcheck comes from Debian)
#   helm        helm.sh/helm/v4/cmd/helm  (the kube tier renders chart fixtures through it, as
#               devenv does: `helm template`)
# Prints the binaries' paths, one a line (helm last). Test files find them at
#   $DEVENV_TEST_CACHE/actionlint-$ACTIONLINT_VERSION/bin/actionlint
#   $DEVENV_TEST_CACHE/helm-$HELM_VERSION/bin/helm
set -euo pipefail

ACTIONLINT_VERSION="${DEVENV_TEST_ACTIONLINT_VERSION:-v1.7.12}"
# The newest helm v4 the Go module proxy served on 2026-12-03.
HELM_VERSION="${DEVENV_TEST_HELM_VERSION:-v4.3.2}"
CACHE="${DEVENV_TEST_CACHE:-/var/cache/devenv-test}"
export PATH="/usr/local/go/bin:$PATH"
export GOFLAGS="${GOFLAGS:-} -trimpath"
export CGO_ENABLED=0

log() { echo "tools: $*" >&2; }
command -v go >/dev/null || { log "go not found (expected /usr/local/go/bin/go)"; exit 1; }

# Through a generated wrapper module rather than `go install MOD@VER` (the same reason as
# test/cluster/build.sh: go install also asks the proxy for the module's version list,
# which a proxy may refuse).
go_tool() { # NAME MODULE VERSION PACKAGE EXTRA_LDFLAGS
  local name="$1" module="$2" version="$3" pkg="$4" ldx="$5" dir="$CACHE/$1-$3" s
  local bin="$dir/bin/$name"
  if [ -x "$bin" ]; then log "$name cached in $dir/bin"; echo "$bin"; return; fi
  s=$(date +%s)
  mkdir -p "$dir/mod" "$dir/bin"
  printf 'module devenv.test/%sbuild\n\ngo 1.22\n\nrequire %s %s\n' "$name" "$module" "$version" > "$dir/mod/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport _ "%s"\n' "$pkg" > "$dir/mod/tools.go"
  (cd "$dir/mod" && go mod tidy >&2)
  (cd "$dir/mod" && go build -ldflags="-s -w $ldx" -o "$bin.tmp" "$pkg" >&2)
  mv "$bin.tmp" "$bin"
  log "$name $version built in $(( $(date +%s) - s )) s"
  echo "$bin"
}

# shellcheck: actionlint runs it on every `run:` script of a workflow (a Debian package).
if ! command -v shellcheck >/dev/null; then
  if [ "$(id -u)" != 0 ]; then log "need root to apt-get install shellcheck"; exit 1; fi
  log "apt-get install shellcheck"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends shellcheck >/dev/null \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends shellcheck >/dev/null; }
fi

mkdir -p "$CACHE"
go_tool actionlint github.com/rhysd/actionlint "$ACTIONLINT_VERSION" \
  github.com/rhysd/actionlint/cmd/actionlint \
  "-X github.com/rhysd/actionlint.version=$ACTIONLINT_VERSION"

go_tool helm helm.sh/helm/v4 "$HELM_VERSION" \
  helm.sh/helm/v4/cmd/helm \
  "-X helm.sh/helm/v4/internal/version.version=$HELM_VERSION"
