#!/usr/bin/env bash
# A build cache hit does not skip policy or `required` (issue 11, item 3). Team A builds a step
# that mounts a configured token its policy grants; team B, denied that token and passing no
# --secret, must not get the step CACHED (and the artifact built with the token): the step
# runs as it would uncached and fails on the denial. Likewise a `required` declared secret that
# a later build does not pass. Every reuse of a step with secrets is audited as cache.hit.
source "$(dirname "$0")/lib.sh"
printf 'team-a-token-canary-8181' > "$W/token.txt"
printf 'declared-canary-4545' > "$W/declared.txt"
write_config "secrets:
  token: {provider: file, ref: $W/token.txt}
policy:
  rules:
    - name: team-a-token
      secret: token
      labels: {team: a}
      allow: true
      reason: team A builds with the token"
setup_busybox
ctx=$(new_context ctx)
cat > "$ctx/Dockerfile" <<'DF'
FROM busybox:test
RUN --mount=type=secret,id=token,required=true wc -c /run/secrets/token > /artifact
DF
LOG=$STATE/audit/audit.log

# Team A: runs the step, then reuses it; the reuse is audited with the deciding rule.
build_ok --label team=a "$ctx"
build_ok --label team=a "$ctx"
grep -qE '^#[0-9]+ CACHED$' "$ERR" || fail "team A's rebuild was not cached"
grep -q '"event":"cache.hit".*"secrets":\[{"secret":"token","rule":"team-a-token","provider":"file","reference":"'"$W"'/token.txt"' "$LOG" \
  || fail "no cache.hit record for team A's reuse: $(grep cache.hit "$LOG" || true)"

# Team B: same Dockerfile, denied the token by policy, no --secret. Not a hit: it fails on the
# denial exactly as an uncached build does.
build_fails --label team=b "$ctx"
grep -qE '^#[0-9]+ CACHED$' "$ERR" && fail "team B got the step from the cache"
expect_eq "$(last_err_line)" 'ERROR: failed to solve: secret token: denied by policy rule "default-deny-provider": no policy rule allows secret "token" from provider file; add a rule with allow: true under policy.rules' "team B's build"
expect_eq "$(grep -c '"event":"cache.hit"' "$LOG")" 1 "cache.hit records"
grep -q '"event":"secret.fetch".*"secret":"token".*"outcome":"denied".*"rule":"default-deny-provider"' "$LOG" \
  || fail "team B's denial is not in the audit log"

# A `required` declared secret: a build that does not pass it is not served the cached step.
cat > "$ctx/Dockerfile" <<'DF'
FROM busybox:test
RUN --mount=type=secret,id=declared,required=true wc -c /run/secrets/declared > /artifact2
DF
build_ok --secret "id=declared,src=$W/declared.txt" "$ctx"
build_ok --secret "id=declared,src=$W/declared.txt" "$ctx"
grep -qE '^#[0-9]+ CACHED$' "$ERR" || fail "the rebuild with the secret was not cached"
build_fails "$ctx"
grep -qE '^#[0-9]+ CACHED$' "$ERR" && fail "a build without the required secret got the step from the cache"
expect_eq "$(last_err_line)" 'ERROR: failed to solve: secret declared: not found (tried: no --secret flag declares id "declared"; the configuration'"'"'s secrets map has no entry "declared")' "build without the required secret"

expect_file_lacks "$ALL_OUTPUT" "team-a-token-canary-8181" "output of the builds"
expect_file_lacks "$LOG" "team-a-token-canary-8181" "audit log"
echo "cache policy: OK"
