#!/usr/bin/env bash
# `make demo` must keep working: run its script against the test build, then check what its
# output shows: the base pushed to the private registry and pulled back by the build, the
# result pushed with its digest, the registry grants (pull and push) next to the build secrets'
# grants in the audit trail, the verified audit log, and none of the demo's secret values
# (each starts with a fixed prefix) anywhere in the output.
set -euo pipefail
cd "$LATCHKEY_SOURCE_DIR"
out=$(mktemp /tmp/lk-demo-test.XXXXXX)
trap 'rm -f "$out"' EXIT
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
start=$SECONDS
bash examples/demo.sh "$LATCHKEY_BUILD_DIR" > "$out" 2>&1 || {
  tail -40 "$out" >&2
  fail "examples/demo.sh exited non-zero"
}
cat "$out"
echo "demo: $((SECONDS - start)) s"
has() { grep -qE -- "$1" "$out" || fail "the demo's output lacks /$1/ ($2)"; }

reg=$(sed -n 's/^listening on \(127\.0\.0\.1:[0-9]*\); an anonymous GET \/v2\/ answers 401$/\1/p' "$out")
[ -n "$reg" ] || fail "the demo did not start its registry with authentication (no 401 line)"
re_reg=${reg//./\\.}
hex='[0-9a-f]{64}'
# The base is pushed, then pulled by the build (it is not in the local store before the build).
has "^pushing manifest for $re_reg/demo/base:1@sha256:$hex done$" "the base pushed"
has "^Untagged: $re_reg/demo/base:1$" "the base removed from the local store"
has "^#[0-9]+ \[internal\] load metadata for $re_reg/demo/base:1$" "the build pulls the base"
has "^#[0-9]+ resolve $re_reg/demo/base:1@sha256:$hex [0-9.]+s done$" "the pull resolves the tag"
# The result is pushed, and the digest in --metadata-file is the registry's.
has "^#[0-9]+ pushing manifest for $re_reg/demo/app:1@sha256:$hex done$" "the build pushes"
digest=$(sed -nE "s|^#[0-9]+ pushing manifest for $re_reg/demo/app:1@(sha256:$hex) done$|\1|p" "$out")
has "^pushed $re_reg/demo/app:1@$digest \(--metadata-file containerimage.digest; the registry's tag agrees\)$" \
  "the pushed digest"
# The audit trail: registry grants by the demo's rule, for pull and push, beside the secrets'.
grant="secret\.fetch +granted +[0-9a-f]{32} +registry:$re_reg"
has "$grant +push demo/base +file +demo-registry +hmac-sha256:" "the grant for the base's push"
has "$grant +pull demo/base +file +demo-registry +hmac-sha256:" "the grant for the build's pull"
has "$grant +push demo/app +file +demo-registry +hmac-sha256:" "the grant for the build's push"
has "secret\.fetch +granted +[0-9a-f]{32} +npmrc +fetch #2 line [0-9]+ +file +declared-source" \
  "the .npmrc grant"
has "secret\.fetch +granted +[0-9a-f]{32} +registry-token +fetch #2 line [0-9]+ +env +declared-source" \
  "the token grant"
# `audit search --hmac` of the registry password alone finds the registry grants (and nothing else).
hmac_rows=$(awk '/^== Was this registry password ever handed out/{on=1; next} /^== /{on=0} on' "$out" |
  grep -E '^[0-9]{4}-' || true)
for want in "push demo/base" "pull demo/base" "push demo/app"; do
  grep -qE "registry:$re_reg +$want +file +demo-registry" <<< "$hmac_rows" ||
    fail "audit search --hmac of the registry password does not find the grant for $want"
done
if grep -qvE "registry:$re_reg " <<< "$hmac_rows"; then
  fail "audit search --hmac of the registry password found other records: $hmac_rows"
fi
has "^OK: [0-9]+ records " "audit verify"
has "^no secret value found in any blob" "the demo's own leak check"
# The values are random with fixed prefixes: none may appear in anything the demo printed.
if grep -qE 'npm_demo_[0-9a-f]|demo-token-[0-9a-f]|demo-registry-pw-[0-9a-f]' "$out"; then
  fail "a secret value is in the demo's output: $(grep -nE 'npm_demo_[0-9a-f]|demo-token-[0-9a-f]|demo-registry-pw-[0-9a-f]' "$out" | head -3)"
fi
echo "demo ok"
