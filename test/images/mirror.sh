# shellcheck shell=bash
# Which Debian mirror the test images are built from: the machine's own, read from apt's
# sources the way apt reads them (a user's machine has its own mirror, maybe a proxy or the
# only one it can reach), deb.debian.org only when the machine names none (e.g. not a
# Debian machine). Sourced by build.sh; no side effects, so a test can source it too.
#
# The chosen mirror is part of the base image's recipe hash (build.sh `base_hash`): it is
# written into the image's /etc/apt/sources.list, which every derived image installs from.
# On a machine whose apt sources name deb.debian.org the hash is the one it always was.

DEFAULT_DEBIAN_MIRROR=http://deb.debian.org/debian
DEFAULT_DEBIAN_SECURITY_MIRROR=http://deb.debian.org/debian-security

# apt_source_entries [APT_DIR]: one "URI SUITE" line per enabled `deb` source, in apt's
# order: APT_DIR/sources.list, then APT_DIR/sources.list.d/*.list and *.sources (deb822,
# with `Enabled: no` stanzas skipped). Options ("[arch=amd64 signed-by=…]") are ignored.
apt_source_entries() {
  local dir=${1:-/etc/apt} f
  local files=()
  [[ -f "$dir/sources.list" ]] && files+=("$dir/sources.list")
  for f in "$dir"/sources.list.d/*.list "$dir"/sources.list.d/*.sources; do
    [[ -f "$f" ]] && files+=("$f")
  done
  [[ ${#files[@]} -gt 0 ]] || return 0
  for f in "${files[@]}"; do
    if [[ "$f" == *.sources ]]; then
      awk '
        function flush() {
          if (types ~ /(^| )deb( |$)/ && tolower(enabled) != "no") {
            n = split(uris, u, " "); m = split(suites, s, " ")
            for (i = 1; i <= n; i++) for (j = 1; j <= m; j++) print u[i], s[j]
          }
          types = ""; uris = ""; suites = ""; enabled = ""; field = ""
        }
        /^#/ { next }
        /^[ \t]*$/ { flush(); next }
        /^[ \t]/ {          # a continuation line (e.g. an inline Signed-By key)
          if (field == "uris") uris = uris " " $0
          else if (field == "suites") suites = suites " " $0
          next
        }
        {
          key = tolower($0); sub(/:.*/, "", key)
          val = $0; sub(/^[^:]*:[ \t]*/, "", val)
          field = key
          if (key == "types") types = val
          else if (key == "uris") uris = val
          else if (key == "suites") suites = val
          else if (key == "enabled") enabled = val
        }
        END { flush() }
      ' "$f"
    else
      awk '
        { sub(/#.*/, "") }
        $1 == "deb" {
          line = $0; sub(/^[ \t]*deb[ \t]+/, "", line)
          if (line ~ /^\[/) sub(/^\[[^]]*\][ \t]*/, "", line)
          split(line, w, /[ \t]+/)
          if (w[1] != "" && w[2] != "") print w[1], w[2]
        }
      ' "$f"
    fi
  done
}

# debian_mirrors [APT_DIR]: two lines, the Debian archive and the Debian security archive
# the machine uses: the first source whose suite is a Debian release (a codename or
# stable/testing/…, optionally -updates/-backports) and the first whose suite is its
# security suite; each falls back to deb.debian.org on its own.
debian_mirrors() {
  local releases='(buster|bullseye|bookworm|trixie|forky|duke|sid|oldoldstable|oldstable|stable|testing|unstable)'
  local main="" security="" uri suite
  while read -r uri suite; do
    uri=${uri%/}
    if [[ -z "$security" && "$suite" =~ ^${releases}(-security|/updates)$ ]]; then
      security=$uri
    elif [[ -z "$main" && "$suite" =~ ^${releases}(-updates|-backports|-proposed-updates)?$ ]]; then
      main=$uri
    fi
  done < <(apt_source_entries "${1:-/etc/apt}")
  echo "${main:-$DEFAULT_DEBIAN_MIRROR}"
  echo "${security:-$DEFAULT_DEBIAN_SECURITY_MIRROR}"
}
