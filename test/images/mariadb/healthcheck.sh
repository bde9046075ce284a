#!/usr/bin/env bash
# Minimal stand-in for the official mariadb image's healthcheck.sh: any of its usual
# forms (`healthcheck.sh --connect --innodb_initialized`, `healthcheck.sh --connect`)
# succeeds when the real server answers a query over TCP on 127.0.0.1:3306 (so not
# while the entrypoint's socket-only temporary server is running during first init).
set -eo pipefail
datadir=${DATADIR:-/var/lib/mysql}
mariadb --defaults-extra-file="$datadir/.my-healthcheck.cnf" --protocol=tcp -h127.0.0.1 \
  --connect-timeout=3 -N -B -e "SELECT 1 FROM information_schema.ENGINES WHERE engine = 'InnoDB' AND support IN ('YES', 'DEFAULT')" \
  | grep 1 >/dev/null
