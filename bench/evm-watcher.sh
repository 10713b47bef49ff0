#!/usr/bin/env bash
# The EVM watcher benchmark: one pass over many blocks of Transfer logs with many watched addresses, on a real
# local node (ganache from tests/peers) and the real service (Release, SQLite). Prints, per number of watched
# addresses, the pass's RPC calls, time and memory, then how soon a deposit is credited after its N-th confirmation.
# Usage: bench/evm-watcher.sh [blocks, default 10000] [watched addresses, comma-separated, default 1000,100000] [deposits, default 1000]
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib/build.sh
. "$root/bench/lib/build.sh"
blocks=${1:-10000}
watched=${2:-1000,100000}
deposits=${3:-1000}

peers
build_release "$root/src/Aisa.Settlement.Api"
build_release "$root/bench/Aisa.Settlement.Bench.Watcher"
exec dotnet "$root/bench/Aisa.Settlement.Bench.Watcher/bin/Release/net10.0/Aisa.Settlement.Bench.Watcher.dll" \
  "$root/src/Aisa.Settlement.Api/bin/Release/net10.0/Aisa.Settlement.Api.dll" "$blocks" "$watched" "$deposits"
