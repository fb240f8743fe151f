#!/usr/bin/env bash
# Registry credentials through the broker, against Debian's docker-registry with token auth
# (`auth: token:`) and a small token server (token_server.py: Docker's token protocol, RS256
# JWTs signed with a key made for this run). Checks: an anonymous pull of a public repository
# (anonymous token); no credential; a pull with the brokered credential (`registries:` entry,
# file provider, policy rule kind: registry) whose audit record carries host, repository, scope
# and the value's HMAC, and `latchkey audit verify` passes; an identity token (Username
# "<token>": OAuth2 refresh_token grant); a wrong password (401 naming the host and the
# provider); a denial by policy (the rule and its reason); a build FROM the private image with
# --metadata-file; the canary password and refresh token appear in no output, log, audit
# record, state file or image.
source "$(dirname "$0")/../build/lib.sh"
source "$(dirname "$0")/registry_lib.sh"
CANARY="Canary-PW-$$-t9Kx"
REFRESH_CANARY="Canary-RT-$$-w3Lp"
mkdir -p "$W/docker"
export DOCKER_CONFIG=$W/docker  # never the machine's own Docker login
write_config

# --- The token server and the registry ------------------------------------------------------
PT=$(free_port)
PR=$(free_port)
H=127.0.0.1:$PR
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=latchkey test token signer" \
  -keyout "$W/token.key" -out "$W/token.crt" 2> /dev/null
printf '{"alice": "%s"}\n' "$CANARY" > "$W/users.json"
printf '{"%s": "alice"}\n' "$REFRESH_CANARY" > "$W/refresh.json"
/usr/bin/python3 "$(dirname "$0")/token_server.py" --port "$PT" --key "$W/token.key" \
  --cert "$W/token.crt" --issuer latchkey-test-issuer --service latchkey-test-registry \
  --users "$W/users.json" --refresh "$W/refresh.json" --log "$REGLOGS/token.jsonl" \
  > "$REGLOGS/token-server.log" 2>&1 &
track_pid $!
cat > "$W/reg.yml" <<Y
version: 0.1
log: {level: info, accesslog: {disabled: false}}
storage: {filesystem: {rootdirectory: $W/reg-data}}
auth:
  token: {realm: "http://127.0.0.1:$PT/token", service: latchkey-test-registry,
          issuer: latchkey-test-issuer, rootcertbundle: $W/token.crt}
http: {addr: "$H", secret: token-test-secret}
Y
start_registry reg "$W/reg.yml"
up() {
  curl -s -o /dev/null -w '%{http_code}' "http://$H/v2/" | grep 401 > /dev/null &&
    curl -fs "http://127.0.0.1:$PT/token?service=x" > /dev/null
}
wait_until "the registry and its token server" up

# --- Seed: one image, pushed as private/base:1 and public/base:1 ----------------------------
make_busybox_rootfs "$W/rootfs"
lk_ok image import --rootfs "$W/rootfs" -t base:1
lk_ok image export base:1 -o "type=oci,dest=$W/base.tar"
for repo in private/base public/base; do
  skopeo_ copy -q --dest-tls-verify=false --dest-creds "alice:$CANARY" \
    "oci-archive:$W/base.tar" "docker://$H/$repo:1"
done
STATE=$W/pull-state
write_config
tokens() { jq -c "select($1)" "$REGLOGS/token.jsonl"; }
mark_tokens() { TOKMARK=$(wc -l < "$REGLOGS/token.jsonl"); }
new_tokens() { tail -n +"$((TOKMARK + 1))" "$REGLOGS/token.jsonl" | jq -c "select($1)"; }

# --- Anonymous: a public repository with an anonymous token; a private one fails ------------
mark_tokens
lk_ok pull --progress plain "$H/public/base:1"
expect_file_contains "$PLAIN_OUT" "Status: Downloaded newer image for $H/public/base:1" "anonymous pull"
[ -n "$(new_tokens '.grant == "anonymous" and .access[0].name == "public/base"')" ] ||
  fail "no anonymous token was asked for: $(tail -3 "$REGLOGS/token.jsonl")"
lk_err "registry $H: 401 Unauthorized: authentication required, and no credential for $H was found (looked in: the registries: map of the latchkey configuration, then the dockerconfig provider)" \
  pull "$H/private/base:1"

# --- The brokered credential -----------------------------------------------------------------
# registries: names the file provider; policy allows pulls for every build, pushes only for
# builds labelled release=true.
POLICY='policy:
  rules:
    - {name: registry-push-release, kind: registry, scope: push, labels: {release: "true"}, allow: true, reason: releases push}
    - {name: registry-pull, kind: registry, host: "127.0.0.1:*", scope: pull, allow: true, reason: every build may pull}'
cred_config() {  # cred_config [EXTRA_POLICY]
  write_config "registries: {\"$H\": {provider: file, ref: $W/cred.json}}
${1:-$POLICY}"
}
write_cred() {  # write_cred USERNAME SECRET
  printf '{"ServerURL":"%s","Username":"%s","Secret":"%s"}\n' "$H" "$1" "$2" > "$W/cred.json"
}
cred_config
write_cred alice "$CANARY"
mark_tokens
lk_ok pull --progress plain "$H/private/base:1"
expect_file_contains "$PLAIN_OUT" "Status: Image is up to date for $H/private/base:1" "pull with the brokered credential"
[ -n "$(new_tokens '.grant == "basic" and .user == "alice" and .access[0].name == "private/base"')" ] ||
  fail "no token was asked for with alice's credential: $(tail -3 "$REGLOGS/token.jsonl")"
AUDIT=$STATE/audit/audit.log
grant=$(jq -c "select(.event == \"secret.fetch\" and .secret == \"registry:$H\")" "$AUDIT" | tail -n 1)
[ -n "$grant" ] || fail "no secret.fetch record for registry:$H in $AUDIT"
expect_eq "$(jq -c '[.outcome, .rule, .provider, .reference, .registry]' <<< "$grant")" \
  "[\"granted\",\"registry-pull\",\"file\",\"$W/cred.json\",{\"host\":\"$H\",\"repository\":\"private/base\",\"scope\":\"pull\"}]" \
  "the grant's audit record"
lk_ok audit hash --value-file "$W/cred.json"
expect_eq "$(jq -r .value_hmac <<< "$grant")" "$(tail -n 1 "$PLAIN_OUT")" "the grant's value HMAC"
# The record was durable before the credential was used: it precedes the session's close.
expect_eq "$(jq -r 'select(.session == "'"$(jq -r .session <<< "$grant")"'") | .event' "$AUDIT" | tr '\n' ' ')" \
  "session.open secret.fetch session.close " "the pull's session records"
lk_ok audit verify
expect_file_contains "$PLAIN_OUT" "OK" "audit verify"

# An identity token: Username "<token>" makes the Secret an OAuth2 refresh token.
STATE=$W/token-state
cred_config
write_cred "<token>" "$REFRESH_CANARY"
mark_tokens
lk_ok pull --progress plain "$H/private/base:1"
[ -n "$(new_tokens '.method == "POST" and .grant == "refresh_token" and .user == "alice"')" ] ||
  fail "no refresh_token grant was asked for: $(tail -3 "$REGLOGS/token.jsonl")"

# A wrong password: the token server refuses it; the message names the host and the provider.
write_cred alice "wrong-$$"
lk_err "registry $H: 401 Unauthorized: the credential from provider file ($W/cred.json) was rejected" \
  pull "$H/private/base:1"
write_cred alice "$CANARY"

# Denied by policy: the pull fails naming the host, the rule and its reason, and the denial is
# audited.
cred_config 'policy: {rules: [{name: no-direct-pulls, kind: registry, host: "127.0.0.1:*", allow: false, reason: pulls go through the mirror}]}'
lk_err "secret registry:$H (pull private/base): denied by policy rule \"no-direct-pulls\": pulls go through the mirror" \
  pull "$H/private/base:1"
expect_eq "$(jq -c "select(.event == \"secret.fetch\" and .secret == \"registry:$H\") | [.outcome, .rule]" "$STATE/audit/audit.log" | tail -n 1)" \
  '["denied","no-direct-pulls"]' "the denial's audit record"
# Without a rule, a registries: entry's provider is denied by default.
cred_config 'policy: {rules: []}'
lk_err "secret registry:$H (pull private/base): denied by policy rule \"default-deny-provider\": no policy rule allows the registry credential for $H (scope pull) from provider file; add a rule with kind: registry and allow: true under policy.rules" \
  pull "$H/private/base:1"
lk_ok policy explain --registry "$H" --repository private/base --scope push --label release=true
expect_eq "$(head -n 2 "$PLAIN_OUT")" "$(printf '%s\n%s' "registry credential registry:$H (push private/base) from provider file, ref $W/cred.json" \
  'deny by rule "default-deny-provider" (built in): no policy rule allows the registry credential for '"$H"' (scope push) from provider file; add a rule with kind: registry and allow: true under policy.rules')" \
  "policy explain of a registry request"
cred_config
lk_ok policy explain --registry "$H" --repository private/base --scope push --label release=true
expect_file_contains "$PLAIN_OUT" "allow by rule \"registry-push-release\"" "policy explain: push for a release build"
lk_ok policy explain --registry "$H" --repository private/base --scope push
expect_file_contains "$PLAIN_OUT" "deny by rule \"default-deny-provider\"" "policy explain: push without the label"
expect_file_contains "$PLAIN_OUT" "rule \"registry-push-release\" skipped: label release is not set" "policy explain: why the push rule did not match"

# --- A build FROM the private image ---------------------------------------------------------
STATE=$W/build-state
cred_config
ctx=$(new_context private-build)
printf 'FROM %s/private/base:1\nLABEL built=yes\n' "$H" > "$ctx/Dockerfile"
build_ok --metadata-file "$W/meta.json" -t built:1 "$ctx"
expect_file_contains "$ERR" "[internal] load metadata for $H/private/base:1" "the build's pull"
expect_eq "$(jq -c "select(.event == \"secret.fetch\" and .secret == \"registry:$H\") | [.outcome, .registry.scope, .step.instruction]" "$STATE/audit/audit.log" | head -n 1)" \
  "[\"granted\",\"pull\",\"pull $H/private/base:1\"]" "the build's grant"
lk_ok audit verify
lk_ok image export built:1 -o "type=local,dest=$W/built-root"
lk_ok image export built:1 -o "type=oci,dest=$W/built-oci.tar"
mkdir -p "$W/built-oci"
tar -xf "$W/built-oci.tar" -C "$W/built-oci"
for f in "$W"/built-oci/blobs/sha256/*; do  # layers are gzip'd: search them unpacked too
  if gzip -t "$f" 2> /dev/null; then gzip -dc "$f" > "$f.unpacked"; fi
done

# --- The canary credential is in no output, log, audit record, state file or image -----------
cat "$OUT" "$ERR" >> "$ALL"
for needle in "$CANARY" "$REFRESH_CANARY" "$(printf 'alice:%s' "$CANARY" | base64 -w0)"; do
  # (the files the test wrote it into are the only places it belongs)
  hits=$(grep -rlF -- "$needle" "$W" 2> /dev/null |
    grep -vxE "$W/(cred.json|users.json|refresh.json)" || true)
  [ -z "$hits" ] || fail "the canary credential was found in: $hits"
done
echo "registry token auth ok"
