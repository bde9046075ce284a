#!/usr/bin/env bash
# Entrypoint of devenv-test/mariadb:10.11, a compact version of the official mariadb
# image's docker-entrypoint.sh with the same interface. Each MARIADB_* variable falls
# back to its MYSQL_* name, and each accepts a *_FILE variant:
#   MARIADB_ROOT_PASSWORD | MARIADB_ALLOW_EMPTY_ROOT_PASSWORD | MARIADB_RANDOM_ROOT_PASSWORD
#     (one is required on first init; MYSQL_ALLOW_EMPTY_PASSWORD is the MySQL spelling)
#   MARIADB_ROOT_HOST (default %), MARIADB_DATABASE, MARIADB_USER, MARIADB_PASSWORD
#   /docker-entrypoint-initdb.d/*.sh|*.sql|*.sql.gz run on first init only.
set -Eeo pipefail
shopt -s nullglob

note() { printf '%s [Note] [Entrypoint]: %s\n' "$(date --rfc-3339=seconds)" "$*"; }
error() { printf '%s [ERROR] [Entrypoint]: %s\n' "$(date --rfc-3339=seconds)" "$*" >&2; exit 1; }

# file_env VAR [DEFAULT]: VAR, or the content of the file named by VAR_FILE.
file_env() {
  local var=$1 fileVar="${1}_FILE" def=${2:-}
  if [ "${!var:-}" ] && [ "${!fileVar:-}" ]; then error "both $var and $fileVar are set (but are exclusive)"; fi
  local val=$def
  if [ "${!var:-}" ]; then val=${!var}
  elif [ "${!fileVar:-}" ]; then val=$(<"${!fileVar}"); fi
  export "$var"="$val"
  unset "$fileVar"
}

# mariadb_env NAME [DEFAULT]: MARIADB_NAME, else MYSQL_NAME (each with *_FILE).
mariadb_env() {
  local m="MARIADB_$1" y="MYSQL_$1"
  file_env "$y"
  file_env "$m" "${!y:-${2:-}}"
}

# Options only ("--foo"): run mariadbd with them.
if [ "${1:0:1}" = '-' ]; then set -- mariadbd "$@"; fi

get_config() { # get_config NAME MARIADBD ARGS...: effective server setting
  local conf=$1; shift
  "$@" --verbose --help 2>/dev/null | awk -v conf="$conf" '$1 == conf && /^[^ \t]/ { sub(/^[^ \t]+[ \t]+/, ""); print; exit }'
}

sql_string() { # a quoted SQL string literal
  local s=${1//\\/\\\\}
  s=${s//\'/\\\'}
  printf "'%s'" "$s"
}
sql_ident() { printf '`%s`' "${1//\`/\`\`}"; }

process_sql() { # process_sql [--root-password] MARIADB_ARGS...
  if [ "$1" = --root-password ]; then
    shift
    local pw=${MARIADB_ROOT_PASSWORD//\\/\\\\}
    pw=${pw//\"/\\\"}
    mariadb --defaults-extra-file=<(printf '[client]\npassword="%s"\n' "$pw") \
      --protocol=socket -uroot -hlocalhost --socket="$SOCKET" "$@"
  else
    mariadb --protocol=socket -uroot -hlocalhost --socket="$SOCKET" "$@"
  fi
}

temp_server_start() {
  "$@" --skip-networking --default-time-zone=SYSTEM --socket="$SOCKET" --wsrep_on=OFF \
    --skip-log-bin --expire-logs-days=0 --skip-slave-start \
    --loose-innodb_buffer_pool_load_at_startup=0 --loose-innodb_buffer_pool_dump_at_shutdown=0 &
  MARIADB_PID=$!
  note "Waiting for server startup"
  for _ in $(seq 60); do
    if process_sql --database=mysql -e 'SELECT 1' >/dev/null 2>&1; then return 0; fi
    kill -0 "$MARIADB_PID" 2>/dev/null || error "Unable to start server."
    sleep 0.5
  done
  error "Unable to start server (timeout)."
}

temp_server_stop() {
  kill "$MARIADB_PID"
  wait "$MARIADB_PID" || :
}

init_database() {
  if [ -z "$MARIADB_ROOT_PASSWORD" ] && [ -z "$MARIADB_ALLOW_EMPTY_ROOT_PASSWORD" ] && [ -z "$MARIADB_RANDOM_ROOT_PASSWORD" ]; then
    error $'Database is uninitialized and password option is not specified\n\tYou need to specify one of MARIADB_ROOT_PASSWORD, MARIADB_ALLOW_EMPTY_ROOT_PASSWORD and MARIADB_RANDOM_ROOT_PASSWORD'
  fi
  if [ -n "$MARIADB_PASSWORD" ] && [ -z "$MARIADB_USER" ]; then
    error "MARIADB_PASSWORD (or MYSQL_PASSWORD) is set but MARIADB_USER (or MYSQL_USER) is not"
  fi
  if [ -n "$MARIADB_RANDOM_ROOT_PASSWORD" ] && [ -z "$MARIADB_ROOT_PASSWORD" ]; then
    MARIADB_ROOT_PASSWORD=$(tr -dc '[:alnum:]' </dev/urandom | head -c 32 || :)
    export MARIADB_ROOT_PASSWORD
    note "GENERATED ROOT PASSWORD: $MARIADB_ROOT_PASSWORD"
  fi

  note "Initializing database files"
  mariadb-install-db --datadir="$DATADIR" --rpm --auth-root-authentication-method=normal \
    --cross-bootstrap --skip-test-db --old-mode='UTF8_IS_UTF8MB3' \
    --default-time-zone=SYSTEM --enforce-storage-engine= --skip-log-bin --expire-logs-days=0 \
    --loose-innodb_buffer_pool_load_at_startup=0 --loose-innodb_buffer_pool_dump_at_shutdown=0 \
    "${@:2}"
  note "Database files initialized"

  note "Starting temporary server"
  temp_server_start "$@"
  note "Temporary server started."

  local rootpw; rootpw=$(sql_string "$MARIADB_ROOT_PASSWORD")
  local sql="SET @@SESSION.SQL_LOG_BIN=0;
SET @@SESSION.SQL_MODE=REPLACE(@@SESSION.SQL_MODE, 'NO_BACKSLASH_ESCAPES', '');
DROP USER IF EXISTS root@'127.0.0.1', root@'::1';
EXECUTE IMMEDIATE CONCAT('DROP USER IF EXISTS root@\\'', @@hostname,'\\'');
"
  if [ -n "$MARIADB_ROOT_PASSWORD" ]; then
    sql+="SET PASSWORD FOR 'root'@'localhost' = PASSWORD($rootpw);
"
  fi
  if [ -n "$MARIADB_ROOT_HOST" ] && [ "$MARIADB_ROOT_HOST" != localhost ]; then
    local rh; rh=$(sql_string "$MARIADB_ROOT_HOST")
    sql+="CREATE USER 'root'@$rh IDENTIFIED BY $rootpw;
GRANT ALL ON *.* TO 'root'@$rh WITH GRANT OPTION;
GRANT PROXY ON ''@'%' TO 'root'@$rh WITH GRANT OPTION;
"
  fi
  # A user for healthcheck.sh, with a random password kept in the datadir (as official).
  local hcpw; hcpw=$(tr -dc '[:alnum:]' </dev/urandom | head -c 32 || :)
  sql+="CREATE USER IF NOT EXISTS 'healthcheck'@'127.0.0.1' IDENTIFIED BY '$hcpw';
CREATE USER IF NOT EXISTS 'healthcheck'@'::1' IDENTIFIED BY '$hcpw';
CREATE USER IF NOT EXISTS 'healthcheck'@'localhost' IDENTIFIED BY '$hcpw';
SET @@SESSION.SQL_LOG_BIN=1;
"
  printf '[mariadb-client]\nport=3306\nsocket=%s\nuser=healthcheck\npassword=%s\n' "$SOCKET" "$hcpw" >"$DATADIR/.my-healthcheck.cnf"
  chmod 600 "$DATADIR/.my-healthcheck.cnf"
  if [ -n "$MARIADB_DATABASE" ]; then
    sql+="CREATE DATABASE IF NOT EXISTS $(sql_ident "$MARIADB_DATABASE");
"
  fi
  if [ -n "$MARIADB_USER" ]; then
    local u; u=$(sql_string "$MARIADB_USER")
    sql+="CREATE USER $u@'%' IDENTIFIED BY $(sql_string "$MARIADB_PASSWORD");
"
    if [ -n "$MARIADB_DATABASE" ]; then
      sql+="GRANT ALL ON $(sql_ident "${MARIADB_DATABASE//_/\\_}").* TO $u@'%';
"
    fi
  fi
  note "Securing system users and creating the database/user"
  printf '%s' "$sql" | process_sql --database=mysql --binary-mode

  local dbarg=()
  [ -z "$MARIADB_DATABASE" ] || dbarg=(--database="$MARIADB_DATABASE")
  local f
  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
      *.sh)
        # shellcheck disable=SC1090
        if [ -x "$f" ]; then note "$0: running $f"; "$f"
        else note "$0: sourcing $f"; . "$f"; fi ;;
      *.sql) note "$0: running $f"; process_sql --root-password "${dbarg[@]}" <"$f" ;;
      *.sql.gz) note "$0: running $f"; gunzip -c "$f" | process_sql --root-password "${dbarg[@]}" ;;
      *) note "$0: ignoring $f" ;;
    esac
  done

  note "Stopping temporary server"
  temp_server_stop
  note "Temporary server stopped"
  echo
  note "MariaDB init process done. Ready for start up."
  echo
}

case "$1" in
  mariadbd|mysqld|*/mariadbd|*/mysqld)
    # "--help"-style invocations need nothing prepared.
    for arg in "$@"; do
      case "$arg" in -'?'|--help|--print-defaults|-V|--version) exec "$@" ;; esac
    done
    DATADIR=$(get_config datadir "$@"); DATADIR=${DATADIR%/}
    SOCKET=$(get_config socket "$@")
    export DATADIR SOCKET
    if [ "$(id -u)" = 0 ]; then
      mkdir -p "$DATADIR" /run/mysqld
      find "$DATADIR" /run/mysqld \! -user mysql -exec chown mysql: '{}' +
      export HOME=/var/lib/mysql
      exec setpriv --reuid=mysql --regid=mysql --init-groups "${BASH_SOURCE[0]}" "$@"
    fi
    mariadb_env ROOT_PASSWORD
    mariadb_env ROOT_HOST '%'
    mariadb_env DATABASE
    mariadb_env USER
    mariadb_env PASSWORD
    mariadb_env RANDOM_ROOT_PASSWORD
    file_env MARIADB_ALLOW_EMPTY_ROOT_PASSWORD "${MYSQL_ALLOW_EMPTY_PASSWORD:-}"
    if [ ! -d "$DATADIR/mysql" ]; then
      init_database "$@"
    else
      note "Database directory appears to contain a database; Skipping initialization"
    fi
    ;;
esac

exec "$@"
