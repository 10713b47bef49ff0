# Sourced by scripts/test.sh and bench/verify.sh: a throwaway PostgreSQL server in a private directory.
#   start_postgres <work dir>   starts it and exports AISA_TEST_POSTGRES (a connection string) and PG_BIN
#   stop_postgres               stops it
# PostgreSQL refuses to run as root: as root its tools run as the unprivileged postgres user.

pg_data=""
pg_ctl_bin=""

as_postgres_user() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

find_pg_bin() {
  local dir
  if command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
    dirname "$(command -v pg_ctl)"
    return 0
  fi
  for dir in /usr/lib/postgresql/*/bin; do
    if [ -x "$dir/pg_ctl" ] && [ -x "$dir/initdb" ]; then
      echo "$dir"
      return 0
    fi
  done
  return 1
}

start_postgres() {
  local work=$1 bin port attempt
  if ! bin=$(find_pg_bin); then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "postgres.sh: installing PostgreSQL (Debian package)" >&2
      apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
      bin=$(find_pg_bin) || { echo "postgres.sh: PostgreSQL installed but pg_ctl/initdb not found" >&2; return 1; }
    else
      echo "postgres.sh: PostgreSQL (initdb, pg_ctl) is not installed; install it or set AISA_TEST_POSTGRES" >&2
      return 1
    fi
  fi
  if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
    useradd --system --home-dir /var/lib/postgresql --shell /bin/sh postgres
  fi
  export PG_BIN=$bin
  pg_ctl_bin="$bin/pg_ctl"
  pg_data="$work/pgdata"
  mkdir -p "$pg_data"
  if [ "$(id -u)" = 0 ]; then chown -R postgres "$work"; fi
  as_postgres_user "$bin/initdb" -D "$pg_data" -U aisa --auth=trust --encoding=UTF8 --no-locale >"$work/initdb.log" 2>&1 \
    || { cat "$work/initdb.log" >&2; return 1; }
  for attempt in 1 2 3 4 5; do
    port=$(( 20000 + RANDOM % 20000 ))
    if as_postgres_user "$pg_ctl_bin" -D "$pg_data" -l "$work/postgres.log" -w -t 60 \
        -o "-p $port -k $work -c listen_addresses=127.0.0.1 -c max_connections=400 -c shared_buffers=256MB" start >/dev/null; then
      export AISA_TEST_POSTGRES="Host=127.0.0.1;Port=$port;Username=aisa;Database=postgres"
      export PG_PORT=$port
      echo "postgres.sh: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port" >&2
      return 0
    fi
  done
  cat "$work/postgres.log" >&2
  return 1
}

stop_postgres() {
  if [ -n "$pg_data" ] && [ -f "$pg_data/postmaster.pid" ]; then
    as_postgres_user "$pg_ctl_bin" -D "$pg_data" -m immediate stop >/dev/null 2>&1 || true
  fi
}
