#!/usr/bin/env bash
# The store works with no configuration: after `latchkey store init` and `latchkey secret
# create NAME`, `latchkey build --secret id=x,type=store,src=NAME[@N]` (and `session check`)
# reads the secret through the bundled store provider at the default store location, allowed
# as a declared source unless a policy rule says otherwise. A type= naming an unconfigured
# provider lists the providers there are and the configuration lines that would add it.
source "$(dirname "$0")/../build/lib.sh"
setup_busybox  # a config with nothing but state_dir: no plugins:, no store:, no policy

# The store, at its default place under the state directory.
"$LK" store init > "$W/init.out" || fail "store init"
expect_file_contains "$W/init.out" "Initialised store $STATE/store/secrets.db" "store init location"
v1="store-canary-one-$RANDOM$RANDOM"
v2="store-canary-two-$RANDOM$RANDOM"
printf '%s' "$v1" | "$LK" secret create npmrc - > /dev/null || fail "secret create"
printf '%s' "$v2" | "$LK" secret rotate npmrc - > /dev/null || fail "secret rotate"
sum1=$(printf '%s' "$v1" | md5sum | cut -d' ' -f1)
sum2=$(printf '%s' "$v2" | md5sum | cut -d' ' -f1)

ctx=$(new_context ctx)
cat > "$ctx/Dockerfile" <<'DF'
FROM busybox:test
ARG WANT
RUN --mount=type=secret,id=npmrc,required=true [ "$(md5sum < /run/secrets/npmrc | cut -d' ' -f1)" = "$WANT" ]
RUN --mount=type=secret,id=npmrc,env=NPMRC,required=true [ "$(printf %s "$NPMRC" | md5sum | cut -d' ' -f1)" = "$WANT" ]
DF

# 1. The latest version, then a pinned one.
build_ok --secret id=npmrc,type=store,src=npmrc --build-arg "WANT=$sum2" "$ctx"
build_ok --secret id=npmrc,type=store,src=npmrc@1 --build-arg "WANT=$sum1" "$ctx"
grep -q '"event":"secret.fetch".*"secret":"npmrc".*"outcome":"granted".*"rule":"declared-source"' \
  "$STATE/audit/audit.log" || fail "the audit log has no declared-source grant for npmrc"

# 2. session check with the same flag: granted, sizes only.
out=$("$LK" session check --secret id=npmrc,type=store,src=npmrc@1 2> "$W/check.err") \
  || fail "session check exited $?: $(cat "$W/check.err")"
expect_contains "$out" "GRANTED   npmrc: ${#v1} bytes from provider store version 1" "session check"

# 3. A missing version and a missing secret: the provider's text, naming the secret.
lk_build --no-cache --secret id=npmrc,type=store,src=npmrc@9 --build-arg "WANT=$sum1" "$ctx"
[ "$RC" -eq 1 ] || fail "a missing version exited $RC"
expect_eq "$(last_err_line)" \
  "ERROR: failed to solve: provider store: secret npmrc has no version 9 (latest is 2)" \
  "missing version"

# 4. A policy rule may still forbid declared store secrets.
cat > "$W/closed.yaml" <<YAML
state_dir: $STATE
policy:
  rules:
    - {name: store-closed, provider: store, source: provider, allow: false, reason: ask platform}
YAML
LATCHKEY_CONFIG="$W/closed.yaml" build_fails --no-cache --secret id=npmrc,type=store,src=npmrc \
  --build-arg "WANT=$sum2" "$ctx"
expect_eq "$(last_err_line)" \
  'ERROR: failed to solve: secret npmrc: denied by policy rule "store-closed": ask platform' \
  "policy denial"

# 5. An unconfigured provider: what exists and the lines that would add it (build and check).
providers=$(cd "$LATCHKEY_BUILD_DIR/lib/latchkey/providers" && pwd -P)
want="error: unsupported secret type \"vault\": the types are file, env and the configured providers (dockerconfig, store); to add provider vault, install its plugin and add these lines to the configuration file (docs/configuration.md):
plugins:
  - name: vault
    path: $providers/latchkey-vault.so"
lk_build --secret id=npmrc,type=vault,src=ci/npmrc "$ctx"
[ "$RC" -ne 0 ] || fail "type=vault succeeded"
expect_eq "$(cat "$ERR")" "$want" "build with an unconfigured provider"
set +e
err=$("$LK" session check --secret id=npmrc,type=vault,src=ci/npmrc 2>&1 >/dev/null); rc=$?
set -e
[ "$rc" -ne 0 ] || fail "session check with type=vault succeeded"
expect_eq "$err" "$want" "session check with an unconfigured provider"

# 6. No store yet: the error says how to make one.
cat > "$W/empty.yaml" <<YAML
state_dir: $W/state2
YAML
LATCHKEY_CONFIG="$W/empty.yaml" "$LK" image import --rootfs "$W/rootfs" -t busybox:test > /dev/null
LATCHKEY_CONFIG="$W/empty.yaml" build_fails --secret id=npmrc,type=store,src=npmrc \
  --build-arg "WANT=$sum2" "$ctx"
expect_eq "$(last_err_line)" \
  "ERROR: failed to solve: provider store: store $W/state2/store/secrets.db does not exist; create it with \`latchkey store init\`" \
  "no store"

# 7. Neither value is anywhere the builds wrote (the store itself is encrypted).
for v in "$v1" "$v2"; do
  expect_file_lacks "$ALL_OUTPUT" "$v" "build output"
  ! grep -rqF -- "$v" "$STATE" "$W/state2" || fail "a store value is in a state directory"
done
echo "store build ok"
