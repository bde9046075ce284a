#!/usr/bin/env bash
# Builds Traefik (versions.env) from its Go module into $CACHE/traefik-<version>/bin/traefik,
# once, and prints that path. Called by test/images/build.sh; runnable by hand.
#
# `go install github.com/traefik/traefik/v3/cmd/traefik@VERSION` cannot work: Traefik's
# go.mod has replace directives (refused by go install) and some of what it requires is not
# served by the module proxy here (versions.env says what and why). So: a wrapper module
# that requires Traefik, repeats its replaces, and points the unserved parts at local
# stand-ins built from served code (see versions.env).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${DEVENV_TEST_CACHE:-/var/cache/devenv-test}
export PATH=$PATH:/usr/local/go/bin
# shellcheck disable=SC1091
source "$HERE/versions.env"

dir=$CACHE/traefik-$TRAEFIK_VERSION
bin=$dir/bin/traefik
if [[ -x "$bin" ]]; then echo "$bin"; exit 0; fi
log() { echo "traefik: $*" >&2; }
command -v go >/dev/null || { log "go not found (expected /usr/local/go/bin/go)"; exit 1; }
start=$(date +%s)
rm -rf "$dir/mod" "$dir/ext" "$dir/lego"
mkdir -p "$dir/mod" "$dir/ext" "$dir/bin"

modinfo() { # MODULE@VERSION FIELD: a field of `go mod download -json` (downloads it)
  (cd "$dir/mod" && GOFLAGS=-mod=mod go mod download -json "$1") | sed -n "s/.*\"$2\": \"\(.*\)\".*/\1/p"
}
gomod=$(modinfo "$TRAEFIK_MODULE@$TRAEFIK_VERSION" GoMod)
[[ -f "$gomod" ]] || { log "cannot fetch go.mod of $TRAEFIK_MODULE@$TRAEFIK_VERSION"; exit 1; }

# 1. The nested module github.com/traefik/traefik/dynamic/ext (not in the module zip).
printf 'module github.com/traefik/traefik/dynamic/ext\n\ngo 1.24.0\n' >"$dir/ext/go.mod"
cat >"$dir/ext/ext.go" <<'GO'
// Package ext: Traefik's extension points for its dynamic configuration, empty in Traefik
// Proxy (as in its repository's pkg/config/dynamic/ext).
package ext

// HTTP is a dynamic.HTTP extension.
type HTTP struct{}

// Router is a dynamic.Router extension.
type Router struct{}

// RouterIng is a RouterIng extension for ingress provider annotations.
type RouterIng struct{}

// ToRouter converts RouterIng to a Router.
func (r RouterIng) ToRouter() Router { return Router{} }
GO

# 2. lego v5 (the version Traefik requires) without the DNS providers whose SDKs are not
#    served: their directories and their lines in the generated provider switch.
lego_ver=$(sed -n 's#^[[:space:]]*github.com/go-acme/lego/v5 \(v[^ ]*\).*#\1#p' "$gomod" | head -1)
lego_replace=""
if [[ -n "$lego_ver" ]]; then
  lego_src=$(modinfo "github.com/go-acme/lego/v5@$lego_ver" Dir)
  cp -r "$lego_src" "$dir/lego"; chmod -R u+w "$dir/lego"
  gen=$dir/lego/providers/dns/zz_gen_dns_providers.go
  for p in $TRAEFIK_DROP_DNS_PROVIDERS; do
    rm -rf "$dir/lego/providers/dns/$p"
    awk -v p="$p" '
      $0 ~ "\"github.com/go-acme/lego/v5/providers/dns/" p "\"$" { next }
      { line[NR] = $0 }
      $0 ~ "^[[:space:]]*return " p "\\.NewDNSProvider\\(\\)" { delete line[NR]; delete line[NR-1] }
      END { for (i = 1; i <= NR; i++) if (i in line) print line[i] }' "$gen" >"$gen.new"
    mv "$gen.new" "$gen"
  done
  lego_replace="github.com/go-acme/lego/v5 => ../lego"
fi

# 3. The wrapper module: Traefik's own replaces (a dependency's replaces do not apply to
#    the module requiring it), except those versions.env overrides.
{
  printf 'module devenv.test/traefikbuild\n\ngo %s\n\nrequire %s %s\n\nreplace (\n' \
    "$TRAEFIK_GO" "$TRAEFIK_MODULE" "$TRAEFIK_VERSION"
  echo "	github.com/traefik/traefik/dynamic/ext => ../ext"
  [[ -z "$lego_replace" ]] || echo "	$lego_replace"
  [[ -z "${TRAEFIK_HTTP_AUTH_REPLACE:-}" ]] || echo "	$TRAEFIK_HTTP_AUTH_REPLACE"
  sed -n '/^replace (/,/^)/p; /^replace [^(]/p' "$gomod" | sed 's/^replace //' | grep '=>' |
    grep -v '=> \./' | grep -v "^[[:space:]]*${TRAEFIK_HTTP_AUTH_REPLACE%% =>*} " || true
  echo ')'
} >"$dir/mod/go.mod"
printf '//go:build tools\n\npackage tools\n\nimport _ "%s/cmd/traefik"\n' "$TRAEFIK_MODULE" >"$dir/mod/tools.go"

log "go build $TRAEFIK_MODULE/cmd/traefik@$TRAEFIK_VERSION (5-15 min on 2 cores)"
(cd "$dir/mod" && go mod tidy &&
  CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build -trimpath \
    -ldflags "-s -w -X github.com/traefik/traefik/v3/pkg/version.Version=$TRAEFIK_VERSION" \
    -o "$bin.tmp" "$TRAEFIK_MODULE/cmd/traefik") >&2
mv "$bin.tmp" "$bin"
log "built in $(( $(date +%s) - start )) s"
echo "$bin"
