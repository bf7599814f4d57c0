#!/usr/bin/env bash
# Installs what conclave needs (only what is missing: it does nothing when all is there), then
# configures and builds one CMake preset (default: dev). Safe to run again and again.
#   cmake/bootstrap.sh [dev|release|asan|tsan|fuzz|none]   (none: install only)
set -euo pipefail
preset="${1:-dev}"
cd "$(dirname "$0")/.."

packages=(g++ cmake ninja-build pkg-config ca-certificates libssl-dev
          libboost1.81-dev libboost-json1.81-dev libboost-test1.81-dev libboost-url1.81-dev
          libcli11-dev libsqlite3-dev libhiredis-dev redis-server clang-format)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# The fuzz preset builds with clang 14 and links libFuzzer from its runtime.
if [ "$preset" = fuzz ]; then
  for p in clang-14 libclang-rt-14-dev; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
fi
# node and npm run the SDK conformance test; any install of them will do (Debian's or another).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  missing+=(nodejs npm)
fi
if [ "${#missing[@]}" -gt 0 ]; then
  echo "bootstrap: installing ${missing[*]}" >&2
  sudo_cmd=()
  [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

[ "$preset" = none ] && exit 0  # install only
cmake --preset "$preset" >/dev/null  # cheap when nothing changed; picks up preset edits
cmake --build --preset "$preset" -- -j"$(nproc)"
