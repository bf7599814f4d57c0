#!/usr/bin/env bash
# Installs the npm packages pinned in package-lock.json (the openai and Anthropic SDKs, ajv, the
# reference MCP servers everything and filesystem) into DIR, once
# (later runs reuse them), and copies the conformance scripts beside them, so Node resolves
# the packages from there.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dir="$1"
mkdir -p "$dir"
cp "$here/package.json" "$here/package-lock.json" "$here"/*.mjs "$dir/"
installed() {  # name version
  [ -f "$dir/node_modules/$1/package.json" ] &&
    grep -q "\"version\": \"$2\"" "$dir/node_modules/$1/package.json"
}
if ! installed openai 4.95.0 || ! installed @anthropic-ai/sdk 1.14.0 || ! installed ajv 8.17.1 ||
  ! installed @modelcontextprotocol/server-everything 2026.8.31 ||
  ! installed @modelcontextprotocol/server-filesystem 2026.8.31; then
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
fi
