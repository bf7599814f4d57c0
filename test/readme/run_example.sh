#!/usr/bin/env bash
# Runs the README's library example (built from the README by the tests) against a
# conclave-mock started here, which requires the API key the example must read from the
# environment; the example must find the mock through OPENAI_BASE_URL.
#   run_example.sh CONCLAVE_MOCK README_EXAMPLE
set -euo pipefail
mock="$1"; example="$2"
work="$(mktemp -d)"
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

key="readme-example-key"
mkfifo "$work/mock.out"
"$mock" --api-key "$key" >"$work/mock.out" &
pid=$!
exec {from_mock}<"$work/mock.out"
# Its first line: "conclave-mock listening on http://127.0.0.1:PORT/v1" (the wait is bounded).
if ! IFS= read -r -t 30 first <&"$from_mock"; then
  echo "run_example: conclave-mock did not start" >&2
  exit 1
fi
url="${first#conclave-mock listening on }"
case "$url" in
  http://*/v1) ;;
  *) echo "run_example: unexpected first line from conclave-mock: $first" >&2; exit 1 ;;
esac
echo "mock: $url"

status=0
OPENAI_BASE_URL="$url" OPENAI_API_KEY="$key" "$example" "Does the README's example run?" \
  >"$work/answer" || status=$?
echo "example exit status: $status; its answer:"
cat "$work/answer"

kill -TERM "$pid"
wait "$pid" || { echo "run_example: conclave-mock failed" >&2; exit 1; }
pid=""
IFS= read -r -t 30 counters <&"$from_mock" || counters=""
echo "mock counters: $counters"

[ "$status" -eq 0 ] || exit 1
# The mock's merge of the agents' decisions, one per agent (opts.agents = 8).
grep -q "Merged from 8 decisions" "$work/answer" || { echo "run_example: not the merged answer" >&2; exit 1; }
# One decomposition, 8 agents of two turns each (the mock calls the host tool once, then
# answers), one synthesis: all reached the mock, with the key.
case "$counters" in
  *'"completions":18,'*) ;;
  *) echo "run_example: the mock did not complete 18 calls" >&2; exit 1 ;;
esac
echo "README example: ok"
