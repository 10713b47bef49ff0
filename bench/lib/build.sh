# Sourced by the bench scripts.
#   peers            installs the npm test peers of tests/peers once
#   build_release P  builds project P in Release, showing the build's output only when it fails
peers() {
  if [ ! -d "$root/tests/peers/node_modules" ]; then
    (cd "$root/tests/peers" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

build_release() {
  local out
  out=$(dotnet build -c Release "$1" -v quiet -nologo 2>&1) || { printf '%s\n' "$out" >&2; exit 1; }
}
