#!/usr/bin/env bash
# The verify benchmark: the service under wrk load on SQLite and on PostgreSQL, and the PostgreSQL baseline
# (the same conditional debit + insert through pgbench, one transaction per charge) in the same run.
# Prints charges/s, latency percentiles at the maximum and at half of it, the service's peak RSS, and
# our PostgreSQL throughput as a ratio of the baseline. Needs wrk and pgbench (installed with apt-get as root).
# Usage: bench/verify.sh [seconds per run, default 20]
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib/build.sh
. "$root/bench/lib/build.sh"
seconds=${1:-20}
connections=${AISA_BENCH_CONNECTIONS:-64}
crawlers=200
publishers=20
operator_key="bench-operator-key-$(date +%s)"
work=$(mktemp -d /tmp/aisa-bench.XXXXXX)
chmod 755 "$work"
# shellcheck source=../scripts/lib/postgres.sh
. "$root/scripts/lib/postgres.sh"
service_pid=""

cleanup() {
  if [ -n "$service_pid" ]; then pkill -KILL -P "$service_pid" 2>/dev/null || true; fi
  stop_postgres
  rm -rf "$work"
}
trap cleanup EXIT

for tool in wrk pgbench; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    [ "$(id -u)" = 0 ] || { echo "verify.sh: $tool is missing" >&2; exit 1; }
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk postgresql-client >/dev/null
  fi
done
[ -x /usr/bin/time ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null

build_release "$root/src/Aisa.Settlement.Api"
build_release "$root/bench/Aisa.Settlement.Bench"
service_dll="$root/src/Aisa.Settlement.Api/bin/Release/net10.0/Aisa.Settlement.Api.dll"
seeder_dll="$root/bench/Aisa.Settlement.Bench/bin/Release/net10.0/Aisa.Settlement.Bench.dll"

start_postgres "$work"
psql_admin() { psql -h 127.0.0.1 -p "$PG_PORT" -U aisa -d postgres -v ON_ERROR_STOP=1 -qAt "$@"; }
psql_admin -c "CREATE DATABASE aisa_bench"
psql_admin -c "CREATE DATABASE aisa_baseline"

# run_store <name> <provider> <connection string> [guard]: prints "name max_rate ..." lines into $work/results;
# with "guard", every crawler has a spending policy that is evaluated on each verify and refuses nothing.
run_store() {
  local name=$1 provider=$2 connection=$3 guard=${4:-} port=$(( 41000 + RANDOM % 1000 ))
  local url="http://127.0.0.1:$port"
  (cd "$work" && Storage__Provider=$provider Storage__ConnectionString=$connection Operator__ApiKey=$operator_key \
     RateLimits__AuthPerMinute=1000000 Logging__LogLevel__Default=Warning ASPNETCORE_ENVIRONMENT=Production \
     exec /usr/bin/time -v -o "$work/time-$name.txt" dotnet "$service_dll" --urls "$url" >"$work/service-$name.log" 2>&1) &
  service_pid=$!
  for _ in $(seq 1 100); do
    curl -fsS "$url/healthz" >/dev/null 2>&1 && break
    sleep 0.2
  done
  AISA_BENCH_GUARD=$([ "$guard" = guard ] && echo 1 || echo 0) dotnet "$seeder_dll" seed "$url" "$operator_key" "$crawlers" "$publishers" "$work/seed-$name.lua" >&2
  export AISA_BENCH_SEED="$work/seed-$name.lua"
  AISA_BENCH_DELAY_MS=0 wrk -t2 -c"$connections" -d5s -s "$root/bench/verify.lua" "$url" >/dev/null
  AISA_BENCH_DELAY_MS=0 wrk -t2 -c"$connections" -d"${seconds}s" --timeout 10s -s "$root/bench/verify.lua" "$url" >"$work/max-$name.txt"
  local max_rate
  max_rate=$(awk '/charges_per_s/ {print $NF}' "$work/max-$name.txt")
  # Half the maximum: 32 connections, each waiting between a response and its next request. A cycle is that wait
  # plus the request's latency, so a short calibration run measures the latency at this pace and the wait is set
  # to what is left of the cycle.
  local target=$(( max_rate / 2 > 0 ? max_rate / 2 : 1 ))
  local cycle_ms=$(( 32 * 1000 / target ))
  AISA_BENCH_DELAY_MS=$cycle_ms wrk -t2 -c32 -d5s --timeout 10s -s "$root/bench/verify.lua" "$url" >"$work/calibrate-$name.txt"
  local latency_ms delay_ms
  latency_ms=$(awk '/latency_ms/ {printf "%d", $3 + 0.5}' "$work/calibrate-$name.txt")
  delay_ms=$(( cycle_ms - latency_ms > 1 ? cycle_ms - latency_ms : 1 ))
  AISA_BENCH_DELAY_MS=$delay_ms wrk -t2 -c32 -d"${seconds}s" --timeout 10s -s "$root/bench/verify.lua" "$url" >"$work/half-$name.txt"
  local audit
  audit=$(curl -fsS -H "X-AISA-Operator-Key: $operator_key" "$url/api/operator/ledger/audit" | grep -o '"balanced":[a-z]*')
  # Stop the service itself (SIGTERM: a background job ignores SIGINT), then /usr/bin/time writes its figures.
  pkill -TERM -P "$service_pid" || true
  wait "$service_pid" 2>/dev/null || true
  service_pid=""
  local rss_kb
  rss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time-$name.txt")
  {
    echo "[$name] max:  $(grep charges "$work/max-$name.txt")"
    echo "[$name] max:  $(grep latency_ms "$work/max-$name.txt")"
    echo "[$name] half (target $target/s): $(grep charges "$work/half-$name.txt")"
    echo "[$name] half: $(grep latency_ms "$work/half-$name.txt")"
    echo "[$name] service peak RSS: $(( rss_kb / 1024 )) MB; ledger audit after the run: $audit"
  } | tee -a "$work/results"
  echo "$max_rate" >"$work/rate-$name"
}

run_store sqlite sqlite "Data Source=$work/bench.db"
run_store sqlite+guard sqlite "Data Source=$work/bench-guard.db" guard
run_store postgres postgres "Host=127.0.0.1;Port=$PG_PORT;Username=aisa;Database=aisa_bench;Maximum Pool Size=200"
psql_admin -c "CREATE DATABASE aisa_bench_guard"
run_store postgres+guard postgres "Host=127.0.0.1;Port=$PG_PORT;Username=aisa;Database=aisa_bench_guard;Maximum Pool Size=200" guard

# The baseline: our schema in a database of its own, wallets as many as the crawlers, then per charge one
# transaction holding the conditional debit and the insert of the transfer.
cat >"$work/baseline-setup.sql" <<'SQL'
CREATE TABLE accounts (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, code text NOT NULL UNIQUE, kind text NOT NULL,
  constrained boolean NOT NULL, balance bigint NOT NULL DEFAULT 0, created_at timestamptz NOT NULL,
  CHECK (NOT constrained OR balance >= 0), CHECK (constrained OR balance = 0));
CREATE TABLE transfers (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, idempotency_key text NOT NULL UNIQUE,
  debit_account_id bigint NOT NULL REFERENCES accounts (id), credit_account_id bigint NOT NULL REFERENCES accounts (id),
  amount bigint NOT NULL CHECK (amount > 0), kind text NOT NULL, reference text, debit_balance_after bigint,
  credit_balance_after bigint, created_at timestamptz NOT NULL, CHECK (debit_account_id <> credit_account_id));
CREATE INDEX ix_transfers_debit ON transfers (debit_account_id, id);
CREATE INDEX ix_transfers_credit ON transfers (credit_account_id, id);
INSERT INTO accounts (code, kind, constrained, balance, created_at) VALUES ('publisher', 'PublisherPayable', false, 0, now());
INSERT INTO accounts (code, kind, constrained, balance, created_at)
  SELECT 'wallet:' || g, 'AgentWallet', true, 10000000000, now() FROM generate_series(1, 200) g;
SQL
psql -h 127.0.0.1 -p "$PG_PORT" -U aisa -d aisa_baseline -v ON_ERROR_STOP=1 -q -f "$work/baseline-setup.sql"
cat >"$work/baseline.sql" <<'SQL'
\set wallet random(2, 201)
BEGIN;
UPDATE accounts SET balance = balance - 1000 WHERE id = :wallet AND balance >= 1000;
INSERT INTO transfers (idempotency_key, debit_account_id, credit_account_id, amount, kind, debit_balance_after, created_at)
  VALUES ('charge:' || gen_random_uuid(), :wallet, 1, 1000, 'charge', 0, now());
COMMIT;
SQL
pgbench -h 127.0.0.1 -p "$PG_PORT" -U aisa -n -c 16 -j 2 -T "$seconds" -f "$work/baseline.sql" aisa_baseline >"$work/pgbench.txt" 2>&1
baseline=$(awk '/^tps = / {print int($3)}' "$work/pgbench.txt" | tail -n 1)
ours=$(cat "$work/rate-postgres")

echo
echo "== verify benchmark ($seconds s per run, $crawlers crawlers, $publishers publishers, wrk -c$connections, $(nproc) cores) =="
cat "$work/results"
echo "[baseline] pgbench, one transaction per charge (conditional debit + insert), 16 clients: $baseline charges/s"
awk -v ours="$ours" -v base="$baseline" 'BEGIN { printf "[ratio] verify on PostgreSQL / baseline = %.2f\n", ours / base }'
