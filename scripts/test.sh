#!/usr/bin/env bash
# The whole test suite: installs what the tests need, starts a throwaway PostgreSQL (unless AISA_TEST_POSTGRES
# names one), runs every test project, stops the server, and prints "N passed, N failed, N skipped".
# Usage: scripts/test.sh [extra dotnet test arguments, e.g. --filter FullyQualifiedName~Ledger]
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
work=$(mktemp -d /tmp/aisa-test.XXXXXX)
chmod 755 "$work"
results="$root/TestResults"
rm -rf "$results"
mkdir -p "$results"
pg_data=""
pg_ctl_bin=""

log() { printf 'test.sh: %s\n' "$*" >&2; }

as_postgres_user() {
  # PostgreSQL refuses to run as root: run its tools as the unprivileged postgres user then.
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

stop_postgres() {
  if [ -n "$pg_data" ] && [ -f "$pg_data/postmaster.pid" ]; then
    as_postgres_user "$pg_ctl_bin" -D "$pg_data" -m immediate stop >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap stop_postgres EXIT

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
  local bin port attempt
  if ! bin=$(find_pg_bin); then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      log "installing PostgreSQL (Debian package)"
      apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
      bin=$(find_pg_bin) || { log "PostgreSQL installed but pg_ctl/initdb not found"; return 1; }
    else
      log "PostgreSQL (initdb, pg_ctl) is not installed; install it or set AISA_TEST_POSTGRES"
      return 1
    fi
  fi
  if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
    useradd --system --home-dir /var/lib/postgresql --shell /bin/sh postgres
  fi
  pg_ctl_bin="$bin/pg_ctl"
  pg_data="$work/pgdata"
  mkdir -p "$pg_data"
  [ "$(id -u)" = 0 ] && chown -R postgres "$work"
  as_postgres_user "$bin/initdb" -D "$pg_data" -U aisa --auth=trust --encoding=UTF8 --no-locale >"$work/initdb.log" 2>&1 \
    || { cat "$work/initdb.log" >&2; return 1; }
  for attempt in 1 2 3 4 5; do
    port=$(( 20000 + RANDOM % 20000 ))
    if as_postgres_user "$pg_ctl_bin" -D "$pg_data" -l "$work/postgres.log" -w -t 60 \
        -o "-p $port -k $work -c listen_addresses=127.0.0.1 -c max_connections=400 -c shared_buffers=256MB" start >/dev/null; then
      export AISA_TEST_POSTGRES="Host=127.0.0.1;Port=$port;Username=aisa;Database=postgres"
      log "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port"
      return 0
    fi
  done
  cat "$work/postgres.log" >&2
  return 1
}

if [ -z "${AISA_TEST_POSTGRES:-}" ]; then
  start_postgres || { log "no PostgreSQL for the tests"; echo "0 passed, 1 failed"; exit 1; }
fi

status=0
dotnet test "$root/Aisa.Settlement.sln" --logger trx "$@" || status=$?

# Sum the counters of every test run's TRX file: the one summary line CI reads.
passed=0; failed=0; skipped=0
shopt -s nullglob
trx_files=("$results"/*/*.trx)
for trx in "${trx_files[@]}"; do
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  value() { printf '%s' "$counters" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*' || echo 0; }
  total=$(value total); executed=$(value executed); p=$(value passed)
  f=$(( $(value failed) + $(value error) + $(value timeout) + $(value aborted) ))
  passed=$(( passed + p )); failed=$(( failed + f )); skipped=$(( skipped + total - executed ))
done
if [ "${#trx_files[@]}" -eq 0 ] || { [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; }; then
  # The build or a test host failed before reporting results: that is a failure too.
  failed=$(( failed + 1 ))
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
