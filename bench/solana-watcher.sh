#!/usr/bin/env bash
# The Solana watcher benchmark: one pass over many finalized signatures of the treasury's token account (some of them
# deposits, the rest the treasury paying out), on the real Solana runtime (LiteSVM behind tests/peers/solana-node.mjs)
# and the real service (Release, SQLite). Prints the pass's RPC calls, time and memory, then how soon a deposit is
# credited after it became final.
# Usage: bench/solana-watcher.sh [signatures, default 10000] [deposits, default 1000] [agents, default 100]
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib/build.sh
. "$root/bench/lib/build.sh"
signatures=${1:-10000}
deposits=${2:-1000}
agents=${3:-100}

peers
build_release "$root/src/Aisa.Settlement.Api"
build_release "$root/bench/Aisa.Settlement.Bench.Solana"
exec dotnet "$root/bench/Aisa.Settlement.Bench.Solana/bin/Release/net10.0/Aisa.Settlement.Bench.Solana.dll" \
  "$root/src/Aisa.Settlement.Api/bin/Release/net10.0/Aisa.Settlement.Api.dll" "$signatures" "$deposits" "$agents"
