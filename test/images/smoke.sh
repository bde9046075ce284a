#!/usr/bin/env bash
# Smoke check of the test images built by build.sh: runs each data image, waits until it
# is healthy, does one real query / S3 round trip from a client container, stops it with
# SIGTERM, starts it again (data must survive), then removes everything it created.
# Clients reach the servers the way devenv does: a port published on 127.0.0.1 of the
# host (clients run with --network host).
# Usage: test/images/smoke.sh [postgres|mariadb|minio|seaweedfs|python ...]   (default: all)
set -euo pipefail

export DOCKER_BUILDKIT=0
RUN_ID=$$
LABEL=dev.devenv.test.smoke=$RUN_ID
PG=devenv-test/postgres:15
MY=devenv-test/mariadb:10.11
MINIO=devenv-test/minio:latest
WEED=devenv-test/seaweedfs:latest
PY=devenv-test/python:3.11
TMP=$(mktemp -d)
passed=0 failed=0

cleanup() {
  local ids
  ids=$(docker ps -aq --filter "label=$LABEL")
  [[ -z "$ids" ]] || docker rm -f -v $ids >/dev/null 2>&1 || true
  rm -rf "$TMP"
}
trap cleanup EXIT

say() { echo "smoke: $*" >&2; }
ok() { say "ok   $*"; passed=$((passed + 1)); }
bad() { say "FAIL $*"; failed=$((failed + 1)); }

# wait_for SECONDS DESCRIPTION CMD...: polls CMD every 0.5 s; prints the time taken.
wait_for() {
  local limit=$1 what=$2; shift 2
  local start=$EPOCHREALTIME
  local deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then say "$what: not ready after ${limit}s"; return 1; fi
    sleep 0.5
  done
  say "$what ready in $(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s"
}

host_port() { docker port "$1" "$2/tcp" | head -n1 | sed 's/.*://'; }

# stop_start NAME SIGNAL|stop LOG_PATTERN: signal the container (or `docker stop` it, which
# sends the image's STOPSIGNAL, as dockerd does to every container when it shuts down),
# check a clean exit (code 0 and the server's own shutdown message), start it again.
stop_start() {
  local c=$1 sig=$2 pattern=$3 code before how
  before=$(docker logs "$c" 2>&1 | grep -c "$pattern" || true)
  if [[ "$sig" = stop ]]; then
    how="docker stop"; docker stop -t 30 "$c" >/dev/null
  else
    how="SIG$sig"; docker kill -s "$sig" "$c" >/dev/null
  fi
  code=$(timeout 60 docker wait "$c")
  if [[ "$code" = 0 && $(docker logs "$c" 2>&1 | grep -c "$pattern" || true) -gt $before ]]; then
    ok "$c: clean exit on $how"
  else
    bad "$c: exit code $code on $how"; docker logs --tail 20 "$c" >&2 || true
  fi
  docker start "$c" >/dev/null
}

# ---------------------------------------------------------------- postgres
smoke_postgres() {
  local c=devenv-smoke-pg-$RUN_ID
  mkdir -p "$TMP/pg-init"
  cat >"$TMP/pg-init/01-schema.sql" <<'EOF'
CREATE TABLE greeting (id serial PRIMARY KEY, msg text NOT NULL);
INSERT INTO greeting (msg) VALUES ('hello from initdb');
EOF
  # a sourced (not executable) script, as official images allow
  cat >"$TMP/pg-init/02-more.sh" <<'EOF'
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" -c "INSERT INTO greeting (msg) VALUES ('from sh')"
EOF
  docker run -d --name "$c" --label "$LABEL" -p 127.0.0.1::5432 \
    -e POSTGRES_PASSWORD='s3cret pw' -e POSTGRES_USER=app -e POSTGRES_DB=appdb \
    -v "$TMP/pg-init:/docker-entrypoint-initdb.d:ro" "$PG" >/dev/null
  wait_for 60 postgres docker exec "$c" pg_isready -h 127.0.0.1 -U app -d appdb || { bad postgres; docker logs "$c" >&2; return; }
  local port; port=$(host_port "$c" 5432)
  local out
  out=$(docker run --rm --network host -e PGPASSWORD='s3cret pw' "$PG" \
    psql -h 127.0.0.1 -p "$port" -U app -d appdb -Atc "SELECT msg FROM greeting ORDER BY id LIMIT 1; SHOW server_version_num;") || true
  if [[ "$out" == "hello from initdb"*150* ]]; then ok "postgres: password login over published port, initdb.d ran"; else bad "postgres query: $out"; fi
  if docker run --rm --network host -e PGPASSWORD=wrong "$PG" psql -h 127.0.0.1 -p "$port" -U app -d appdb -c 'SELECT 1' >/dev/null 2>&1; then
    bad "postgres: wrong password accepted"
  else ok "postgres: wrong password refused"; fi
  docker exec "$c" sh -c 'command -v pg_isready psql pg_dump pg_restore' >/dev/null && ok "postgres: client tools on PATH" || bad "postgres: client tools missing"
  docker exec "$c" pg_dump -h 127.0.0.1 -U app appdb | grep 'CREATE TABLE public.greeting' >/dev/null && ok "postgres: pg_dump" || bad "postgres: pg_dump"
  docker exec "$c" psql -U app -d appdb -qc "INSERT INTO greeting (msg) VALUES ('kept')"
  stop_start "$c" TERM 'database system is shut down'
  wait_for 60 "postgres (restart)" docker exec "$c" pg_isready -h 127.0.0.1 -U app -d appdb || true
  stop_start "$c" stop 'database system is shut down'
  wait_for 60 "postgres (restart)" docker exec "$c" pg_isready -h 127.0.0.1 -U app -d appdb || true
  out=$(docker exec "$c" psql -U app -d appdb -Atc "SELECT count(*) FROM greeting")
  [[ "$out" = 3 ]] && ok "postgres: data survived restart, initdb.d not re-run" || bad "postgres after restart: $out"
  PG_PORT=$(host_port "$c" 5432)  # re-read: a new host port after the restart
}

# ---------------------------------------------------------------- mariadb
smoke_mariadb() {
  local c=devenv-smoke-my-$RUN_ID
  mkdir -p "$TMP/my-init"
  cat >"$TMP/my-init/01-schema.sql" <<'EOF'
CREATE TABLE greeting (id INT AUTO_INCREMENT PRIMARY KEY, msg VARCHAR(100) NOT NULL);
INSERT INTO greeting (msg) VALUES ('hello from initdb');
EOF
  cat >"$TMP/my-init/02-more.sh" <<'EOF'
mysql -uroot -p"$MYSQL_ROOT_PASSWORD" "$MYSQL_DATABASE" -e "INSERT INTO greeting (msg) VALUES ('from sh')"
EOF
  docker run -d --name "$c" --label "$LABEL" -p 127.0.0.1::3306 \
    -e MYSQL_ROOT_PASSWORD=rootpw -e MYSQL_DATABASE=appdb -e MYSQL_USER=app -e "MYSQL_PASSWORD=app'pw" \
    -v "$TMP/my-init:/docker-entrypoint-initdb.d:ro" "$MY" >/dev/null
  wait_for 90 mariadb docker exec "$c" mysqladmin ping -h 127.0.0.1 --silent || { bad mariadb; docker logs "$c" >&2; return; }
  docker exec "$c" healthcheck.sh --connect --innodb_initialized && ok "mariadb: healthcheck.sh" || bad "mariadb: healthcheck.sh"
  local port; port=$(host_port "$c" 3306)
  local out
  out=$(docker run --rm --network host "$MY" mysql -h 127.0.0.1 -P "$port" -u app "-papp'pw" appdb -N -B \
    -e "SELECT msg FROM greeting ORDER BY id LIMIT 1; SELECT VERSION();") || true
  if [[ "$out" == "hello from initdb"*10.11* ]]; then ok "mariadb: user login over published port, initdb.d ran"; else bad "mariadb query: $out"; fi
  out=$(docker run --rm --network host "$MY" mysql -h 127.0.0.1 -P "$port" -u root -prootpw -N -B -e "SELECT CURRENT_USER()") || true
  [[ "$out" = "root@%" ]] && ok "mariadb: root@% login" || bad "mariadb root: $out"
  if docker run --rm --network host "$MY" mysql -h 127.0.0.1 -P "$port" -u app -pwrong -e 'SELECT 1' >/dev/null 2>&1; then
    bad "mariadb: wrong password accepted"; else ok "mariadb: wrong password refused"; fi
  docker exec "$c" mysqldump -uroot -prootpw appdb | grep 'CREATE TABLE `greeting`' >/dev/null && ok "mariadb: mysqldump" || bad "mariadb: mysqldump"
  docker exec "$c" mysql -uroot -prootpw appdb -e "INSERT INTO greeting (msg) VALUES ('kept')"
  stop_start "$c" TERM 'Shutdown complete'
  wait_for 60 "mariadb (restart)" docker exec "$c" mysqladmin ping -h 127.0.0.1 --silent || true
  stop_start "$c" stop 'Shutdown complete'
  wait_for 60 "mariadb (restart)" docker exec "$c" mysqladmin ping -h 127.0.0.1 --silent || true
  out=$(docker exec "$c" mysql -uroot -prootpw appdb -N -B -e "SELECT COUNT(*) FROM greeting")
  [[ "$out" = 3 ]] && ok "mariadb: data survived restart, initdb.d not re-run" || bad "mariadb after restart: $out"
  MY_PORT=$(host_port "$c" 3306)
}

# ---------------------------------------------------------------- minio
smoke_minio() {
  local c=devenv-smoke-minio-$RUN_ID user=smokeadmin pass=smoke-secret-123
  docker run -d --name "$c" --label "$LABEL" -p 127.0.0.1::9000 -p 127.0.0.1::9001 \
    -e MINIO_ROOT_USER=$user -e MINIO_ROOT_PASSWORD=$pass \
    "$MINIO" server /data --console-address :9001 >/dev/null
  wait_for 60 minio docker exec "$c" curl -fsS http://localhost:9000/minio/health/live || { bad minio; docker logs "$c" >&2; return; }
  docker exec "$c" curl -fsS http://localhost:9000/minio/health/ready && ok "minio: health live/ready" || bad "minio: health ready"
  local port; port=$(host_port "$c" 9000)
  local s3=(docker run --rm --network host --entrypoint curl "$MINIO" -fsS --aws-sigv4 "aws:amz:us-east-1:s3" --user "$user:$pass" \
    -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD')  # curl 7.88 signs but omits this header
  local base=http://127.0.0.1:$port
  if "${s3[@]}" -X PUT "$base/smoke-bucket" >/dev/null &&
     "${s3[@]}" -X PUT --data-binary 'hello s3' "$base/smoke-bucket/hello.txt" >/dev/null &&
     [[ "$("${s3[@]}" "$base/smoke-bucket/hello.txt")" = "hello s3" ]]; then
    ok "minio: signed S3 create-bucket/put/get (curl --aws-sigv4)"
  else bad "minio: S3 round trip"; fi
  if docker run --rm --network host --entrypoint curl "$MINIO" -fsS "$base/smoke-bucket/hello.txt" >/dev/null 2>&1; then
    bad "minio: anonymous read allowed"; else ok "minio: anonymous read refused"; fi
  if docker exec "$c" mc --version >/dev/null 2>&1; then
    if docker exec "$c" sh -c "mc alias set local http://127.0.0.1:9000 $user $pass >/dev/null && mc cat local/smoke-bucket/hello.txt" | grep 'hello s3' >/dev/null; then
      ok "minio: mc alias/cat"; else bad "minio: mc"; fi
  else say "skip mc (not built into the image)"; fi
  stop_start "$c" TERM 'Exiting on signal'
  wait_for 60 "minio (restart)" docker exec "$c" curl -fsS http://localhost:9000/minio/health/ready || true
  # a published port without a fixed host port gets a NEW host port on every start
  base=http://127.0.0.1:$(host_port "$c" 9000)
  [[ "$("${s3[@]}" "$base/smoke-bucket/hello.txt" 2>/dev/null)" = "hello s3" ]] && ok "minio: object survived restart" || bad "minio: object lost on restart"
}

# ---------------------------------------------------------------- seaweedfs
smoke_seaweedfs() {
  local c=devenv-smoke-seaweedfs-$RUN_ID user=smokeadmin pass=smoke-secret-123
  # As compose/seaweedfs.yaml runs it.
  docker run -d --name "$c" --label "$LABEL" -p 127.0.0.1::8333 -p 127.0.0.1::23646 \
    -e AWS_ACCESS_KEY_ID=$user -e AWS_SECRET_ACCESS_KEY=$pass \
    "$WEED" mini -dir=/data -ip=127.0.0.1 -ip.bind=0.0.0.0 -webdav=false -master.telemetry=false \
    -admin.user=$user -admin.password=$pass >/dev/null
  wait_for 60 seaweedfs docker exec "$c" curl -fsS http://127.0.0.1:8333/healthz || { bad seaweedfs; docker logs "$c" >&2; return; }
  ok "seaweedfs: S3 /healthz"
  local s3=(docker run --rm --network host --entrypoint curl "$WEED" -fsS --aws-sigv4 "aws:amz:us-east-1:s3" --user "$user:$pass" \
    -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD')  # curl 7.88 signs but omits this header
  local base=http://127.0.0.1:$(host_port "$c" 8333)
  if "${s3[@]}" -X PUT "$base/smoke-bucket" >/dev/null &&
     "${s3[@]}" -X PUT --data-binary 'hello s3' "$base/smoke-bucket/hello.txt" >/dev/null &&
     [[ "$("${s3[@]}" "$base/smoke-bucket/hello.txt")" = "hello s3" ]]; then
    ok "seaweedfs: signed S3 create-bucket/put/get (curl --aws-sigv4)"
  else bad "seaweedfs: S3 round trip"; fi
  if docker run --rm --network host --entrypoint curl "$WEED" -fsS "$base/smoke-bucket/hello.txt" >/dev/null 2>&1; then
    bad "seaweedfs: anonymous read allowed"; else ok "seaweedfs: anonymous read refused"; fi
  local code; code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$(host_port "$c" 23646)/")
  [[ "$code" =~ ^(200|302|303|307)$ ]] && ok "seaweedfs: admin UI answers on the published port ($code)" || bad "seaweedfs: admin UI ($code)"
  docker stop -t 30 "$c" >/dev/null && docker start "$c" >/dev/null
  wait_for 60 "seaweedfs (restart)" docker exec "$c" curl -fsS http://127.0.0.1:8333/healthz || true
  base=http://127.0.0.1:$(host_port "$c" 8333)
  [[ "$("${s3[@]}" "$base/smoke-bucket/hello.txt" 2>/dev/null)" = "hello s3" ]] && ok "seaweedfs: object survived restart" || bad "seaweedfs: object lost on restart"
}

# ---------------------------------------------------------------- python
smoke_python() {
  local script='
import os, sys, http.server, threading, urllib.request
checked = []
if os.environ.get("PG_PORT"):
    import psycopg2
    con = psycopg2.connect(host="127.0.0.1", port=int(os.environ["PG_PORT"]), user="app", password="s3cret pw", dbname="appdb")
    cur = con.cursor(); cur.execute("SELECT msg FROM greeting ORDER BY id LIMIT 1"); assert cur.fetchone()[0] == "hello from initdb"
    checked.append("psycopg2")
if os.environ.get("MY_PORT"):
    import pymysql
    con = pymysql.connect(host="127.0.0.1", port=int(os.environ["MY_PORT"]), user="app", password="app\x27pw", database="appdb")
    cur = con.cursor(); cur.execute("SELECT msg FROM greeting ORDER BY id LIMIT 1"); assert cur.fetchone()[0] == "hello from initdb"
    checked.append("pymysql")
import redis
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *a): pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
threading.Thread(target=srv.serve_forever, daemon=True).start()
assert urllib.request.urlopen("http://127.0.0.1:%d/" % srv.server_address[1]).read() == b"ok"
checked.append("http.server")
print(sys.version.split()[0], " ".join(checked))
'
  local out
  if out=$(docker run --rm --network host --label "$LABEL" -e "PG_PORT=${PG_PORT:-}" -e "MY_PORT=${MY_PORT:-}" "$PY" python -c "$script" 2>&1); then
    ok "python: $out"
  else bad "python: $out"; fi
}

want=("$@")
[[ ${#want[@]} -gt 0 ]] || want=(postgres mariadb minio seaweedfs python)
for n in "${want[@]}"; do
  case "$n" in
    postgres|mariadb|minio|seaweedfs|python)
      img_var=$(case $n in postgres) echo PG;; mariadb) echo MY;; minio) echo MINIO;; seaweedfs) echo WEED;; python) echo PY;; esac)
      if ! docker image inspect "${!img_var}" >/dev/null 2>&1; then bad "$n: image ${!img_var} missing (run test/images/build.sh)"; continue; fi
      "smoke_$n" ;;
    *) echo "unknown: $n" >&2; exit 2 ;;
  esac
done

echo "smoke: $passed passed, $failed failed"
[[ $failed = 0 ]]
