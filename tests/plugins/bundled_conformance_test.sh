#!/bin/bash
# Runs the plugin conformance suite (latchkey-plugin-check) against the bundled providers,
# latchkey-file.so and latchkey-env.so, each with a reference whose exact bytes are checked.
set -euo pipefail
build=${LATCHKEY_BUILD_DIR:?LATCHKEY_BUILD_DIR must point at the build directory}
check=$build/bin/latchkey-plugin-check
providers=$build/lib/latchkey/providers
for f in "$check" "$providers/latchkey-file.so" "$providers/latchkey-env.so"; do
  [ -e "$f" ] || { echo "missing $f (build it first)" >&2; exit 1; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

printf 'line one\nline two\0binary' > "$tmp/secret"
"$check" "$providers/latchkey-file.so" --ref "$tmp/secret" --expect-file "$tmp/secret"

printf 'relative-ok' > "$tmp/rel"
"$check" "$providers/latchkey-file.so" --config "base_dir=$tmp" --ref rel --expect-file "$tmp/rel"

printf 'from the environment' > "$tmp/env-expected"
LK_CONFORMANCE_VALUE='from the environment' \
  "$check" "$providers/latchkey-env.so" --ref LK_CONFORMANCE_VALUE --expect-file "$tmp/env-expected"
echo "bundled providers pass the conformance suite"
