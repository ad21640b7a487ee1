# Starts and stops the real services the tests use, on free loopback ports and in temp dirs.
# Sourced by test.sh (and usable by hand: `. scripts/services.sh; services_start_postgres`).
# Everything started is recorded and stopped by PID in services_stop_all; nothing is stopped by name.

SERVICES_ROOT=${SERVICES_ROOT:-$(mktemp -d /tmp/sutazai-services.XXXXXX)}
SERVICES_PIDS=()
SERVICES_STOPS=()

services_log() { printf '[services] %s\n' "$*" >&2; }

# Installs Debian packages that are missing (apt-get update once, only when something is missing).
services_require_packages() {
  local missing=()
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  services_log "installing ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Prints a TCP port nothing listens on.
services_free_port() {
  local port
  while :; do
    port=$(shuf -i 20000-60999 -n 1)
    if ! ss -Htln "sport = :$port" | grep -q .; then
      echo "$port"
      return
    fi
  done
}

# Runs a command as the given user (when root) or as ourselves (when not).
services_as() {
  local user=$1; shift
  if [ "$(id -u)" -eq 0 ]; then runuser -u "$user" -- "$@"; else "$@"; fi
}

# PostgreSQL 15 in a temp dir; exports SUTAZAI_TEST_POSTGRES.
services_start_postgres() {
  services_require_packages postgresql-15
  local bin=/usr/lib/postgresql/15/bin
  local dir="$SERVICES_ROOT/postgres"
  local port; port=$(services_free_port)
  mkdir -p "$dir"
  local owner; owner=$(id -un)
  if [ "$(id -u)" -eq 0 ]; then owner=postgres; chown postgres: "$dir"; chmod 755 "$SERVICES_ROOT"; fi
  services_as "$owner" "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; return 1; }
  services_as "$owner" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" >/dev/null \
    || { cat "$dir/server.log" >&2; return 1; }
  local pid; pid=$(head -n 1 "$dir/data/postmaster.pid")
  SERVICES_PIDS+=("$pid")
  SERVICES_STOPS+=("services_as $owner $bin/pg_ctl -D $dir/data -m fast -w stop")
  export SUTAZAI_TEST_POSTGRES="Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres"
  services_log "PostgreSQL 15 on 127.0.0.1:$port (pid $pid)"
}

# Stops everything this shell started, newest first, then removes the temp dirs.
services_stop_all() {
  local i
  for ((i = ${#SERVICES_STOPS[@]} - 1; i >= 0; i--)); do
    eval "${SERVICES_STOPS[$i]}" >/dev/null 2>&1 || true
  done
  for pid in "${SERVICES_PIDS[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid" 2>/dev/null || true; fi
  done
  for pid in "${SERVICES_PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  done
  SERVICES_PIDS=()
  SERVICES_STOPS=()
  rm -rf "$SERVICES_ROOT"
}
