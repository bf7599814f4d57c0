#!/usr/bin/env bash
# Installs the build tree into a scratch prefix, builds the consumer against it, runs it.
#   run.sh BUILD_DIR
# CXX, CXXFLAGS and LDFLAGS (from the environment) are the consumer's compiler, compile flags
# and link flags: a sanitizer build passes its own, since its libraries need the runtime.
set -euo pipefail
build_dir="$(cd "$1" && pwd)"; here="$(cd "$(dirname "$0")" && pwd)"; work="$build_dir/package_consumer"
rm -rf "$work" && mkdir -p "$work"
log="$work/steps.log"
step() {  # quiet when it works, the step's output when it does not
  if ! "$@" >>"$log" 2>&1; then
    echo "package_consumer: failed: $*" >&2
    cat "$log" >&2
    exit 1
  fi
}
step cmake --install "$build_dir" --prefix "$work/prefix"
step cmake -S "$here" -B "$work/build" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" \
  -DCMAKE_CXX_COMPILER="${CXX:-g++}" -DCMAKE_CXX_FLAGS="${CXXFLAGS:-}" \
  -DCMAKE_EXE_LINKER_FLAGS="${LDFLAGS:-}"
step cmake --build "$work/build" --verbose
"$work/build/consumer"
