#!/usr/bin/env bash
# Builds the libFuzzer targets (the `fuzz` preset: clang 14 with ASan + UBSan) and runs each
# for a bounded time on a copy of its seed corpus. Fails on any crash, leak or abort.
#   cmake/fuzz.sh [seconds per target, default 20]
set -euo pipefail
seconds="${1:-20}"
cd "$(dirname "$0")/.."
./cmake/bootstrap.sh fuzz
out=build/fuzz/test/fuzz
for target in sse_parser openai_wire anthropic_stream decompose; do
  corpus="$out/corpus-$target"
  mkdir -p "$corpus"
  cp -n test/fuzz/corpus/$target/* "$corpus/" 2>/dev/null || true
  log="$out/fuzz_$target.log"
  if ! "$out/fuzz_$target" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 \
       -rss_limit_mb=2048 -artifact_prefix="$out/" "$corpus" >"$log" 2>&1; then
    tail -n 40 "$log"
    echo "fuzz_$target: FAILED (log: $log)"
    exit 1
  fi
  runs=$(grep -m1 'stat::number_of_executed_units' "$log" | awk '{print $2}')
  echo "fuzz_$target: ${runs:-?} executions in ${seconds} s, no failure"
done
