#!/usr/bin/env bash
# `latchkey login` / `latchkey logout` against Debian's docker-registry (distribution 2.8) with
# htpasswd basic auth, started once on 127.0.0.1 (plain HTTP, as Docker allows for loopback).
# Checks: an interactive login on a pty (prompts, no echo); exact messages for a wrong password (401 naming the host, nothing stored), a registry
# that is down, a non-TTY login without --password-stdin and --password-stdin without -u; a
# login without a credential helper writes config.json `auths` (0600) after Docker's warning,
# logout removes it ("Removing login credentials for", then "Not logged in to"); with
# `credsStore: pass` the login goes through the real docker-credential-pass (a throw-away GnuPG
# key and password store made here) and config.json holds no password; logout erases it. A
# canary password appears in no output, registry log, state (audit log) or (helper case) config
# file. The helper login is then served by the dockerconfig provider in a broker session.
source "$(dirname "$0")/../build/lib.sh"
command -v docker-registry > /dev/null || fail "docker-registry is not installed (make deps)"
command -v docker-credential-pass > /dev/null || fail "docker-credential-pass is not installed (make deps)"
CANARY="Canary-Login-$$-x9Qv"
write_config
export DOCKER_CONFIG=$W/docker
source "$(dirname "$0")/registry_lib.sh"

start_basic_registry reg alice "$CANARY"
H=$reg_HOST
DOWN=127.0.0.1:$(free_port)
wait_registries

# --- Bad input -------------------------------------------------------------------------------
lk_err "registry $H: 401 Unauthorized: the credential from latchkey login (user alice) was rejected" \
  login "$H" -u alice --password-stdin <<< wrong-password
[ ! -e "$DOCKER_CONFIG/config.json" ] || fail "a rejected login wrote $DOCKER_CONFIG/config.json"
lk_err "cannot reach registry $DOWN: Connection refused" \
  login "$DOWN" -u alice --password-stdin <<< "$CANARY"
lk_err "cannot perform an interactive login from a non TTY device; pass the password with --password-stdin" \
  login "$H" -u alice < /dev/null
lk login "$H" --password-stdin <<< x
expect_eq "$RC $(tail -n 1 "$PLAIN_ERR")" "2 error: must provide --username with --password-stdin" \
  "--password-stdin without -u"
[ ! -e "$DOCKER_CONFIG/config.json" ] || fail "a failed login wrote $DOCKER_CONFIG/config.json"

# --- No credential helper: config.json auths, with Docker's warning ---------------------------
lk_ok login "http://$H/" -u alice --password-stdin <<< "$CANARY"
expect_eq "$(cat "$PLAIN_OUT")" "Login Succeeded" "login stdout"
expect_eq "$(cat "$PLAIN_ERR")" "WARNING! Your password will be stored unencrypted in $DOCKER_CONFIG/config.json.
Configure a credential helper to remove this warning. See
https://docs.docker.com/engine/reference/commandline/login/#credentials-store" "login warning"
expect_eq "$(stat -c %a "$DOCKER_CONFIG/config.json")" 600 "config.json mode"
stored=$(python3 -c 'import base64,json,sys; print(base64.b64decode(json.load(open(sys.argv[1]))["auths"][sys.argv[2]]["auth"]).decode())' \
  "$DOCKER_CONFIG/config.json" "$H")
[ "$stored" = "alice:$CANARY" ] || fail "config.json auths.$H.auth does not hold alice's login"
lk_ok logout "$H"
expect_eq "$(cat "$PLAIN_OUT")" "Removing login credentials for $H" "logout stdout"
expect_eq "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["auths"])' "$DOCKER_CONFIG/config.json")" \
  "{}" "auths after logout"
lk_ok logout "$H"
expect_eq "$(cat "$PLAIN_OUT")" "Not logged in to $H" "second logout"
# On a terminal: prompts, and the password is not echoed (script(1) gives latchkey a pty).
# The password is typed once the prompt shows (the terminal echoes what arrives earlier).
mkfifo "$W/tty.in"
script -qefc "$LK login $H" "$W/tty.log" < "$W/tty.in" > /dev/null &
tty_pid=$!
exec 3> "$W/tty.in"
printf 'alice\n' >&3
for i in $(seq 1 200); do
  grep -q 'Password: ' "$W/tty.log" 2> /dev/null && break
  [ "$i" -eq 200 ] && fail "no password prompt: $(cat "$W/tty.log")"
  sleep 0.1
done
sleep 0.2
printf '%s\n' "$CANARY" >&3
exec 3>&-
wait "$tty_pid" || fail "interactive login failed: $(cat "$W/tty.log")"
tr -d '\r' < "$W/tty.log" | grep -v '^Script ' >> "$ALL"
expect_file_contains "$W/tty.log" "Username: " "interactive login: username prompt"
expect_file_contains "$W/tty.log" "Password: " "interactive login: password prompt"
expect_file_contains "$W/tty.log" "Login Succeeded" "interactive login"
expect_file_lacks "$W/tty.log" "$CANARY" "interactive login: the password was echoed"
stored=$(python3 -c 'import base64,json,sys; print(base64.b64decode(json.load(open(sys.argv[1]))["auths"][sys.argv[2]]["auth"]).decode())' \
  "$DOCKER_CONFIG/config.json" "$H")
[ "$stored" = "alice:$CANARY" ] || fail "the interactive login stored another credential"
lk_ok logout "$H"

# --- credsStore: the real docker-credential-pass ---------------------------------------------
export GNUPGHOME=$W/gnupg PASSWORD_STORE_DIR=$W/pass-store
mkdir -m 700 "$GNUPGHOME"
gpg --batch --passphrase '' --quick-gen-key 'latchkey login test <login@test.invalid>' \
  default default never > /dev/null 2>&1 || fail "gpg could not make a key"
pass init login@test.invalid > /dev/null || fail "pass init"
_gpg_stop() { gpgconf --kill gpg-agent 2> /dev/null || true; }
# The agent this GNUPGHOME started is stopped on exit too (keeping the script's exit status).
trap '_rc=$?; _gpg_stop; (exit $_rc); _lk_cleanup' EXIT
printf '{"credsStore": "pass"}\n' > "$DOCKER_CONFIG/config.json"
lk_ok login "$H" -u alice --password-stdin <<< "$CANARY"
expect_eq "$(cat "$PLAIN_OUT")" "Login Succeeded" "login through pass"
expect_eq "$(cat "$PLAIN_ERR")" "" "login through pass: stderr"
got=$(printf '%s' "$H" | docker-credential-pass get)
expect_eq "$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(d["Username"], d["Secret"] == sys.argv[2])' "$got" "$CANARY")" \
  "alice True" "docker-credential-pass get after login"
expect_eq "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["auths"], d["credsStore"])' "$DOCKER_CONFIG/config.json")" \
  "{'$H': {}} pass" "config.json after a helper login"
expect_file_lacks "$DOCKER_CONFIG/config.json" "$CANARY" "config.json with a helper"
# What login stored, served by the dockerconfig provider through a broker session (policy,
# audit): the value is the helper's JSON for the host.
write_config "plugins: [{name: dockerconfig, path: $LATCHKEY_BUILD_DIR/lib/latchkey/providers/latchkey-dockerconfig.so}]
secrets: {reg-cred: {provider: dockerconfig, ref: \"$H\"}}
policy: {rules: [{name: registry-logins, provider: dockerconfig, allow: true, reason: registry credentials}]}"
value="{\"ServerURL\":\"$H\",\"Username\":\"alice\",\"Secret\":\"$CANARY\"}"
lk_ok session check --fetch reg-cred
expect_eq "$(head -n 1 "$PLAIN_OUT")" "GRANTED   reg-cred: ${#value} bytes from provider dockerconfig" \
  "session check through the dockerconfig provider"
lk_ok logout "$H"
expect_eq "$(cat "$PLAIN_OUT")" "Removing login credentials for $H" "logout through pass"
expect_eq "$(printf '%s' "$H" | docker-credential-pass get)" "{\"ServerURL\":\"$H\",\"Username\":\"\",\"Secret\":\"\"}" \
  "docker-credential-pass after logout"
expect_eq "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["auths"])' "$DOCKER_CONFIG/config.json")" \
  "{}" "auths after a helper logout"

# --- registries: {H: {provider: store}}: the login goes into latchkey's encrypted store --------
cp "$DOCKER_CONFIG/config.json" "$W/config-before-store.json"
write_config "registries: {\"$H\": {provider: store, ref: ci-reg}}
policy: {rules: [{name: registry-from-store, kind: registry, host: \"$H\", allow: true, reason: CI pushes}]}"
lk_ok store init
lk_ok login "$H" -u alice --password-stdin <<< "$CANARY"
expect_eq "$(cat "$PLAIN_OUT")" "Stored in the encrypted store $STATE/store/secrets.db as ci-reg@1
Login Succeeded" "login into the encrypted store"
cmp -s "$DOCKER_CONFIG/config.json" "$W/config-before-store.json" || fail "a store login changed config.json"
lk_ok secret inspect ci-reg
grep -q '"latchkey.registry": "'"$H"'"' "$PLAIN_OUT" || fail "the login's secret has no latchkey.registry label: $(cat "$PLAIN_OUT")"
# The broker serves it to a push: an image pushed with the stored login.
make_busybox_rootfs "$W/rootfs"
lk_ok image import --rootfs "$W/rootfs" -t "$H/stored/app:1"
lk_ok push "$H/stored/app:1"
expect_file_contains "$PLAIN_OUT" "pushing manifest for $H/stored/app:1@" "a push with the login from the store"
lk_ok login "$H" -u alice --password-stdin <<< "$CANARY"
expect_eq "$(head -n 1 "$PLAIN_OUT")" "Stored in the encrypted store $STATE/store/secrets.db as ci-reg@2" \
  "a second login is a new version"
lk_ok logout "$H"
expect_eq "$(cat "$PLAIN_OUT")" "Removing login credentials for $H" "logout from the store"
lk secret inspect ci-reg
[ "$RC" -eq 1 ] || fail "the secret is still there after logout (secret inspect exited $RC)"
lk_ok logout "$H"
expect_eq "$(cat "$PLAIN_OUT")" "Not logged in to $H" "a second logout from the store"
# A provider latchkey cannot write to is refused before the registry is asked.
write_config "registries: {\"$H\": {provider: file, ref: /etc/latchkey/reg.json}}"
lk login "$H" -u alice --password-stdin <<< "$CANARY"
[ "$RC" -eq 1 ] || fail "a login for a file-provided host exited $RC"
expect_contains "$(tail -n 1 "$PLAIN_ERR")" "error: registries: entry for $H ($W/latchkey.yaml:" "login refused for a file provider"
expect_contains "$(tail -n 1 "$PLAIN_ERR")" ") takes the credential from provider \"file\" (/etc/latchkey/reg.json); latchkey login stores into the encrypted store (provider: store) or Docker's configuration (no provider, or provider: dockerconfig): update that source yourself" "login refused for a file provider"

# --- The canary went nowhere it should not -------------------------------------------------
expect_file_lacks "$ALL" "$CANARY" "latchkey output"
for f in "$REGLOGS"/*.log; do expect_file_lacks "$f" "$CANARY" "$f"; done
! grep -rqF -- "$CANARY" "$STATE" 2> /dev/null || fail "the canary is in the state dir"
_gpg_stop
echo "login/logout: ok"
