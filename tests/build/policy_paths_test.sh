#!/usr/bin/env bash
# Path rules see the file that is served and one spelling of every path (issue 11, items 1-2):
#   - a symlink inside an allowed directory that points outside it is denied, as
#     `policy explain` says, and the audit record names the link and the real file;
#   - `latchkey build .` (Dockerfile recorded as "<ctx>//Dockerfile" before) matches a rule on
#     "<ctx>/Dockerfile", and so does "<ctx>//./Dockerfile".
source "$(dirname "$0")/lib.sh"
mkdir -p "$W/secrets" "$W/outside"
printf 'root:shadow-canary-9191:19000:0:99999:7:::\n' > "$W/outside/shadow"
ln -s "$W/outside/shadow" "$W/secrets/link"
printf 'allowed-canary-2727' > "$W/secrets/ok"
ctx=$(new_context ctx)
write_config "policy:
  rules:
    - name: untrusted-dockerfile
      dockerfile: $ctx/Dockerfile
      allow: false
      reason: this Dockerfile gets no secrets
    - name: only-secrets-dir
      path_not_under: [$W/secrets]
      allow: false
      reason: secret files live in $W/secrets"
setup_busybox
mkdir -p "$W/other"
cat > "$W/other/Dockerfile" <<'DF'
FROM busybox:test
RUN --mount=type=secret,id=x cat /run/secrets/x
DF
LOG=$STATE/audit/audit.log

# 1. policy explain and the broker agree: the link is judged as the file it points to.
set +e
"$LK" policy explain --secret x --source "file:$W/secrets/link" --exit-code > "$W/explain" 2>&1
rc=$?
set -e
expect_eq "$rc" 3 "policy explain exit code"
expect_file_contains "$W/explain" "deny by rule \"only-secrets-dir\"" "policy explain"
build_fails --secret "id=x,src=$W/secrets/link" -f "$W/other/Dockerfile" "$W/other"
expect_eq "$(last_err_line)" "ERROR: failed to solve: secret x: denied by policy rule \"only-secrets-dir\": secret files live in $W/secrets" "build with the link"
expect_file_lacks "$ALL_OUTPUT" "shadow-canary-9191" "output of the build"
grep -q '"outcome":"denied".*"reference":"'"$W"'/secrets/link","resolved":"'"$W"'/outside/shadow"' "$LOG" \
  || fail "the denial does not name the link and the real file: $(grep '"secret":"x"' "$LOG")"
# The file itself, and a spelling with "//" and "..", are denied the same way.
build_fails --secret "id=x,src=$W/secrets//../outside/./shadow" -f "$W/other/Dockerfile" "$W/other"
expect_eq "$(last_err_line)" "ERROR: failed to solve: secret x: denied by policy rule \"only-secrets-dir\": secret files live in $W/secrets" "build with a dotted spelling"
# A file inside the directory is served; the record names both paths.
build_ok --secret "id=x,src=$W/secrets/ok" -f "$W/other/Dockerfile" "$W/other"
grep -q '"outcome":"granted".*"reference":"'"$W"'/secrets/ok","resolved":"'"$W"'/secrets/ok"' "$LOG" \
  || fail "the grant does not name both paths"

# 2. `latchkey build .` and other spellings of the context match the Dockerfile rule.
cp "$W/other/Dockerfile" "$ctx/Dockerfile"
for spelling in . "$ctx//." "$ctx/../ctx/"; do
  cd "$ctx"; lk_build --secret "id=x,src=$W/secrets/ok" "$spelling"; cd "$W"
  expect_eq "$RC" 1 "build $spelling exit code"
  expect_eq "$(last_err_line)" 'ERROR: failed to solve: secret x: denied by policy rule "untrusted-dockerfile": this Dockerfile gets no secrets' "build $spelling"
done
cd "$ctx"; lk_build --secret "id=x,src=$W/secrets/ok" -f "$ctx//./Dockerfile" .; cd "$W"
expect_eq "$(last_err_line)" 'ERROR: failed to solve: secret x: denied by policy rule "untrusted-dockerfile": this Dockerfile gets no secrets' "build -f <ctx>//./Dockerfile"
grep -q '"event":"session.open".*"dockerfile":"'"$ctx"'/Dockerfile","context":"'"$ctx"'"' "$LOG" \
  || fail "session.open does not carry the canonical paths"
echo "policy paths: OK"
