#!/bin/sh
# As the official chrislusf/seaweedfs image's entrypoint for the subcommands devenv uses:
# "mini" (all in one) and "server", with -dir=/data unless the command sets -dir; any
# other command runs as given.
set -e
has_dir() { for a in "$@"; do case "$a" in -dir|-dir=*|--dir|--dir=*) return 0 ;; esac; done; return 1; }
case "$1" in
  mini|server)
    sub=$1; shift
    if has_dir "$@"; then exec /usr/bin/weed -logtostderr=true "$sub" "$@"; fi
    exec /usr/bin/weed -logtostderr=true "$sub" -dir=/data "$@"
    ;;
  *) exec "$@" ;;
esac
