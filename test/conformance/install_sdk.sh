#!/usr/bin/env bash
# Installs the pinned openai npm package into DIR (once; later runs reuse it) and copies the
# conformance script beside it, so Node resolves 'openai' from there.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dir="$1"
mkdir -p "$dir"
cp "$here/package.json" "$here/openai_sdk.mjs" "$dir/"
if [ ! -f "$dir/node_modules/openai/package.json" ] ||
   ! grep -q '"version": "4.95.0"' "$dir/node_modules/openai/package.json"; then
  (cd "$dir" && npm install --no-audit --no-fund --no-package-lock --loglevel=error)
fi
