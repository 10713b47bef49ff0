#!/usr/bin/env bash
# The whole test suite: installs what the tests need (the npm peers of tests/peers), starts a throwaway PostgreSQL (unless AISA_TEST_POSTGRES
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
# shellcheck source=lib/postgres.sh
. "$root/scripts/lib/postgres.sh"

log() { printf 'test.sh: %s\n' "$*" >&2; }

cleanup() {
  stop_postgres
  rm -rf "$work"
}
trap cleanup EXIT

if [ -z "${AISA_TEST_POSTGRES:-}" ]; then
  start_postgres "$work" || { log "no PostgreSQL for the tests"; echo "0 passed, 1 failed"; exit 1; }
fi

# The npm peers (ethers, ganache, solc): installed from the lock file, again only when it changed.
peers="$root/tests/peers"
if [ ! -f "$peers/node_modules/.package-lock.json" ] || [ "$peers/package-lock.json" -nt "$peers/node_modules/.package-lock.json" ]; then
  command -v npm >/dev/null 2>&1 || { log "node and npm are needed for the test peers (Node 20 or later)"; echo "0 passed, 1 failed"; exit 1; }
  log "installing the npm test peers in tests/peers"
  (cd "$peers" && npm ci --no-audit --no-fund --loglevel=error >&2) || { log "npm ci failed in tests/peers"; echo "0 passed, 1 failed"; exit 1; }
fi

# Debian's chromium for the dashboard's browser tests (Playwright drives it; its own browser download is not used).
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing Debian's chromium for the browser tests"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; } >&2 \
      || { log "apt-get could not install chromium"; echo "0 passed, 1 failed"; exit 1; }
  else
    log "the browser tests need /usr/bin/chromium: install Debian's chromium (sudo apt-get install chromium) and run again"
    echo "0 passed, 1 failed"; exit 1
  fi
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
