#!/bin/bash
# Runs the plugin conformance suite (latchkey-plugin-check) against the bundled providers,
# latchkey-file.so, latchkey-env.so and latchkey-dockerconfig.so, each with a reference whose
# exact bytes are checked.
set -euo pipefail
build=${LATCHKEY_BUILD_DIR:?LATCHKEY_BUILD_DIR must point at the build directory}
check=$build/bin/latchkey-plugin-check
providers=$build/lib/latchkey/providers
for f in "$check" "$providers/latchkey-file.so" "$providers/latchkey-env.so" \
         "$providers/latchkey-dockerconfig.so"; do
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
# dockerconfig: the value for a registry host is the docker-credential helper's JSON.
printf '{"auths":{"https://reg.example:5000":{"auth":"YWxpY2U6czNjcjN0"}}}' > "$tmp/config.json"
printf '{"ServerURL":"reg.example:5000","Username":"alice","Secret":"s3cr3t"}' > "$tmp/dc-expected"
"$check" "$providers/latchkey-dockerconfig.so" --config "config_file=$tmp/config.json" \
  --ref reg.example:5000 --expect-file "$tmp/dc-expected"

# A bare relative name is the file in the current directory, never a library found on the
# library path: with latchkey-env.so only on LD_LIBRARY_PATH, the check does not load it.
mkdir "$tmp/cwd"
set +e
out=$(cd "$tmp/cwd" && LD_LIBRARY_PATH=$providers "$check" latchkey-env.so 2>&1); rc=$?
set -e
[ "$rc" = 1 ] || { echo "FAIL: bare name found on the library path (rc $rc)" >&2; exit 1; }
want='FAIL load: cannot load plugin ./latchkey-env.so: ./latchkey-env.so: cannot open shared object file: No such file or directory'
grep -qxF "$want" <<< "$out" || { echo "FAIL: bare name: got [$out]" >&2; exit 1; }
cp "$providers/latchkey-file.so" "$tmp/cwd/evil.so"
(cd "$tmp/cwd" && LD_LIBRARY_PATH=$providers "$check" evil.so --ref "$tmp/secret" --expect-file "$tmp/secret" > /dev/null) \
  || { echo "FAIL: evil.so in the current directory was not checked" >&2; exit 1; }
echo "bundled providers pass the conformance suite"
