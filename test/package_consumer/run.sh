#!/usr/bin/env bash
# Installs the build tree into a scratch prefix, builds the consumer against it, runs it.
set -euo pipefail
build_dir="$1"; here="$(cd "$(dirname "$0")" && pwd)"; work="$build_dir/package_consumer"
rm -rf "$work" && mkdir -p "$work"
cmake --install "$build_dir" --prefix "$work/prefix" >/dev/null
cmake -S "$here" -B "$work/build" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" \
  -DCMAKE_CXX_COMPILER="${CXX:-g++}" -DCMAKE_CXX_FLAGS="${CONSUMER_FLAGS:-}" >/dev/null
cmake --build "$work/build" >/dev/null
"$work/build/consumer"
