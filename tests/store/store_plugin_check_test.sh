#!/usr/bin/env bash
# The store plugin passes the SDK conformance suite (latchkey-plugin-check) against a real
# store created with the CLI, including exact bytes for `name@1` and `name` (the latest).
set -euo pipefail
b="$LATCHKEY_BUILD_DIR"
tmp=$(mktemp -d /tmp/lk-store-check-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
S=(--store "$tmp/s.db" --unlock-key-file "$tmp/u.key")
"$b/bin/latchkey" store init "${S[@]}" > /dev/null
printf 'first version' > "$tmp/v1"
printf 'second\nversion\n' > "$tmp/v2"
"$b/bin/latchkey" secret create ci-npmrc "$tmp/v1" "${S[@]}" > /dev/null
"$b/bin/latchkey" secret rotate ci-npmrc "$tmp/v2" "${S[@]}" > /dev/null
"$b/bin/latchkey-plugin-check" "$b/lib/latchkey/providers/latchkey-store.so" \
  --config "path=$tmp/s.db" --config "unlock_key_file=$tmp/u.key" \
  --ref ci-npmrc@1 --expect-file "$tmp/v1" --ref ci-npmrc --expect-file "$tmp/v2" \
  --cycles 200
