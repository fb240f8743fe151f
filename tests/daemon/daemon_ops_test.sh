#!/usr/bin/env bash
# End-to-end: latchkeyd's operations (docs/daemon.md), one daemon for the whole script, then one
# restart after kill -9 (what crash recovery needs):
#   1. TCP with mutual TLS (CA, server and client certificates made with openssl for this run):
#      a client with a CA-signed certificate is identified by its CN; one without a certificate
#      and one with another CA's are refused;
#   2. `daemon.allowed_groups`: a real other uid (setpriv --reuid 1000) gets the exact
#      PERMISSION_DENIED text (for Prune too; once admitted by SIGHUP it may prune, logged);
#   3. SIGHUP with a session open: a good configuration is applied (providers, access lists),
#      a broken one refused with `latchkey config check`'s text; the session stays open;
#   4. bad input: raw garbage, garbage on a session tunnel, 200 idle connections, 50 sessions
#      that never read their stream -- the daemon answers Info all along, with bounded threads,
#      descriptors and memory;
#   5. kill -9, leftovers of a dead build planted, restart by socket activation
#      (systemd-socket-activate when installed, else the same protocol from a Python launcher):
#      daemon.recovered in the audit log, the leftovers gone;
#      SIGTERM signs the audit checkpoint and the chain verifies.
set -euo pipefail
B="${LATCHKEY_BUILD_DIR:?}"
SRC="${LATCHKEY_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
LKD="$B/bin/latchkeyd"
LK="$B/bin/latchkey"
PY=/usr/bin/python3
W=$(mktemp -d /tmp/lk-daemon-ops.XXXXXX)
chmod 755 "$W"
DPID=""
HPID=""
SPID=""
MNT=""
cleanup() {
  for p in $HPID $SPID $DPID; do kill "$p" 2> /dev/null || true; done
  wait 2> /dev/null || true
  [ -n "$MNT" ] && umount "$MNT" 2> /dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [ -f "$W/daemon.log" ] && sed 's/^/  daemon: /' "$W/daemon.log" | tail -30 >&2; exit 1; }
expect_eq() { [ "$1" = "$2" ] || fail "$3: got [$1], want [$2]"; }
client() { "$PY" "$SRC/tests/daemon/control_client.py" "$SRC/api" "$W" "$@"; }
bad() { "$PY" "$SRC/tests/daemon/bad_input.py" "$SRC/api" "$W" "$@"; }
json() { "$PY" -c "import json,sys; print(json.load(sys.stdin)$1)"; }
threads() { awk '/^Threads:/{print $2}' "/proc/$1/status"; }
fds() { ls "/proc/$1/fd" | wc -l; }
# The descriptor count once it stops moving: a connection closed just before is released late.
settled_fds() {
  local a b
  a=$(fds "$1")
  for _ in $(seq 1 50); do
    sleep 0.2
    b=$(fds "$1")
    [ "$a" = "$b" ] && break
    a=$b
  done
  echo "$a"
}
rss_kib() { awk '/^VmRSS:/{print $2}' "/proc/$1/status"; }
wait_for() { for _ in $(seq 1 100); do eval "$1" && return 0; sleep 0.1; done; return 1; }

S=$W/state
SOCK=$W/run/latchkeyd.sock
U="unix://$SOCK"
mkdir -p "$W/run"
chmod 755 "$W/run"
write_config() {
  {
    printf 'state_dir: %s\n' "$S"
    printf 'daemon:\n  allowed_groups: [latchkey]\n'
    if [ -n "${1:-}" ]; then printf '%s\n' "$1"; fi
  } > "$W/latchkey.yaml"
}
write_config ""
export LATCHKEY_CONFIG="$W/latchkey.yaml"

# Certificates: a CA, the daemon's (CN localhost, SAN 127.0.0.1), a client's signed by the CA,
# and a client's signed by another CA.
T=$W/tls
mkdir "$T"
(
  cd "$T"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=latchkey-test-ca 2> /dev/null
  openssl req -x509 -newkey rsa:2048 -nodes -keyout rogue-ca.key -out rogue-ca.pem -days 2 -subj /CN=rogue-ca 2> /dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > server.ext
  openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=localhost 2> /dev/null
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile server.ext 2> /dev/null
  openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj /CN=ci-runner-7 2> /dev/null
  openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 2 2> /dev/null
  openssl req -newkey rsa:2048 -nodes -keyout rogue.key -out rogue.csr -subj /CN=ci-runner-7 2> /dev/null
  openssl x509 -req -in rogue.csr -CA rogue-ca.pem -CAkey rogue-ca.key -CAcreateserial -out rogue.pem -days 2 2> /dev/null
)

# ---- the one daemon: a unix socket and a TCP port (picked by the kernel) ----
"$LKD" --listen "$U" --listen tcp://127.0.0.1:0 --tls-cert "$T/server.pem" \
  --tls-key "$T/server.key" --tls-ca "$T/ca.pem" > "$W/daemon.log" 2>&1 &
DPID=$!
wait_for '[ -S "$SOCK" ] && grep -q "listening on tcp://" "$W/daemon.log"' || fail "latchkeyd did not start"
PORT=$(sed -n 's/.*listening on tcp:\/\/127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$W/daemon.log")
[[ $PORT =~ ^[0-9]+$ ]] && [ "$PORT" != 0 ] || fail "no TCP port in the log"
grep -q "listening on $U (pid $DPID, state dir $S)" "$W/daemon.log" || fail "unix start line"

# 1. Mutual TLS.
info=$(LK_TEST_TLS_CA=$T/ca.pem LK_TEST_TLS_CERT=$T/client.pem LK_TEST_TLS_KEY=$T/client.key \
  client "127.0.0.1:$PORT" info)
expect_eq "$(json "['peer']['transport']" <<< "$info")" "tcp" "TLS peer transport"
expect_eq "$(json "['peer']['client_cn']" <<< "$info")" "ci-runner-7" "TLS peer client_cn"
expect_eq "$(json "['pid']" <<< "$info")" "$DPID" "TLS Info pid"
set +e
out=$(LK_TEST_TLS_CA=$T/ca.pem client "127.0.0.1:$PORT" info)
rc1=$?
out2=$(LK_TEST_TLS_CA=$T/ca.pem LK_TEST_TLS_CERT=$T/rogue.pem LK_TEST_TLS_KEY=$T/rogue.key \
  client "127.0.0.1:$PORT" info)
rc2=$?
set -e
expect_eq "$rc1" "1" "client without a certificate"
expect_eq "${out%%:*}" "error" "client without a certificate: [$out]"
[[ $out == "error: UNAVAILABLE:"* ]] || fail "client without a certificate: $out"
expect_eq "$rc2" "1" "client with another CA's certificate"
[[ $out2 == "error: UNAVAILABLE:"* ]] || fail "client with another CA's certificate: $out2"

# 2. A real other uid, not in group latchkey (which does not exist here): refused with the
#    issue's exact text. The socket is opened to everyone for this check only.
chmod 666 "$SOCK"
mkdir "$W/u1000"
chown 1000:1000 "$W/u1000"
as1000() { setpriv --reuid 1000 --regid 1000 --clear-groups "$PY" "$SRC/tests/daemon/control_client.py" "$SRC/api" "$W/u1000" "$U" "$@"; }
set +e
out=$(as1000 info)
rc=$?
set -e
expect_eq "$rc" "1" "uid 1000 exit"
expect_eq "$out" "error: PERMISSION_DENIED: uid 1000 may not use latchkeyd (allowed: group latchkey)" "uid 1000 refused"
grep -q "connection from uid 1000 pid [0-9]* refused: uid 1000 may not use latchkeyd (allowed: group latchkey)" "$W/daemon.log" \
  || fail "no refusal line in the log"
# Prune is refused to the same callers as every other call (RemoveImage included).
set +e
out=$(as1000 prune --all)
set -e
expect_eq "$out" "error: PERMISSION_DENIED: uid 1000 may not use latchkeyd (allowed: group latchkey)" "uid 1000 may not prune"
# The daemon's own uid (root here) is always allowed.
info=$(client "$U" info)
expect_eq "$(json "['peer']['uid']" <<< "$info")" "0" "root peer uid"
expect_eq "$(json "['peer']['user']" <<< "$info")" "root" "root peer user"
expect_eq "$(json "['providers']" <<< "$info")" "['file', 'env', 'store', 'dockerconfig']" "providers before SIGHUP"

# 3. SIGHUP with a session open.
echo "CANARY-ops-session-5d1e" > "$W/value"
"$PY" "$SRC/tests/daemon/buildkit_session.py" --api-dir "$SRC/api" --daemon "$U" \
  --work-dir "$W/py" --session-id ops-1 --secret "tok=$W/value" > "$W/py.log" 2>&1 &
SPID=$!
wait_for '[ "$(client "$U" info | json "[\"open_sessions\"]")" = 1 ]' || fail "session did not open"
write_config "$(printf 'plugins:\n  - name: vault-file\n    path: %s\npolicy:\n  rules:\n    - name: laptops\n      client_cn: [\"laptop-*\"]\n      allow: false\n      reason: laptops may not read secrets\n' "$B/lib/latchkey/providers/latchkey-file.so")"
sed -i 's/allowed_groups: \[latchkey\]/allowed_uids: [1000]\n  allowed_groups: [latchkey]/' "$W/latchkey.yaml"
"$LK" config check "$W/latchkey.yaml" > /dev/null || fail "the good configuration does not check"
kill -HUP "$DPID"
wait_for 'grep -q "SIGHUP: configuration $W/latchkey.yaml reloaded (policy: 1 rule(s), providers: 5)" "$W/daemon.log"' \
  || fail "no reload line"
info=$(client "$U" info)
expect_eq "$(json "['providers']" <<< "$info")" "['file', 'env', 'store', 'dockerconfig', 'vault-file']" "providers after SIGHUP"
expect_eq "$(json "['open_sessions']" <<< "$info")" "1" "the session survives SIGHUP"
info=$(as1000 info)
expect_eq "$(json "['peer']['uid']" <<< "$info")" "1000" "uid 1000 allowed after SIGHUP"
expect_eq "$(json "['peer']['user']" <<< "$info")" "$(getent passwd 1000 | cut -d: -f1)" "uid 1000 user"
# Admitted, uid 1000 may prune as it may remove images; the daemon's log names it.
[[ $(as1000 prune) == "pruned "*" done "* ]] || fail "uid 1000 admitted: prune"
grep -q "prune by uid=1000" "$W/daemon.log" || fail "the log does not name uid 1000's prune"
# The same rule as `latchkey policy explain` sees it: client_cn decides.
set +e
"$LK" policy explain --secret tok --source env:TOK --client-cn laptop-1 --exit-code > "$W/explain1" 2>&1
rc1=$?
"$LK" policy explain --secret tok --source env:TOK --client-cn ci-runner-7 --exit-code > "$W/explain2" 2>&1
rc2=$?
set -e
expect_eq "$rc1" "3" "policy explain --client-cn laptop-1: $(cat "$W/explain1")"
grep -q 'rule "laptops"' "$W/explain1" || fail "explain names the client_cn rule: $(cat "$W/explain1")"
expect_eq "$rc2" "0" "policy explain --client-cn ci-runner-7: $(cat "$W/explain2")"
grep -q 'client_cn is "ci-runner-7", rule wants "laptop-\*"' "$W/explain2" || fail "explain: $(cat "$W/explain2")"
# A broken configuration: refused with `latchkey config check`'s own text; nothing changes.
printf 'state_dir: %s\npolicy:\n  rules:\n    - name: x\n      allow: maybe\n      reason: r\n' "$S" > "$W/latchkey.yaml"
set +e
check=$("$LK" config check "$W/latchkey.yaml" 2>&1 > /dev/null)
set -e
[ -n "$check" ] || fail "config check accepted the broken file"
kill -HUP "$DPID"
wait_for 'grep -qF "SIGHUP: configuration refused, keeping the running one: $check" "$W/daemon.log"' \
  || fail "no refusal of the broken configuration: want [$check]"
info=$(client "$U" info)
expect_eq "$(json "['providers']" <<< "$info")" "['file', 'env', 'store', 'dockerconfig', 'vault-file']" "providers after a refused SIGHUP"
expect_eq "$(json "['open_sessions']" <<< "$info")" "1" "the session survives a refused SIGHUP"
kill "$SPID"
wait "$SPID" || fail "python session: $(cat "$W/py.log")"
SPID=""

# 4. Bad input; Info keeps answering.
base_threads=$(threads "$DPID")
expect_eq "$(bad raw-garbage "$SOCK")" "closed by the daemon" "raw garbage"
expect_eq "$(bad session-garbage "$U" ops-garbage)" "INVALID_ARGUMENT: session ops-garbage: the tunnelled HTTP/2 connection failed (the client's bytes are not an HTTP/2 gRPC server's)" "session garbage"
base_fds=$(settled_fds "$DPID")
"$PY" "$SRC/tests/daemon/bad_input.py" "$SRC/api" "$W" idle "$SOCK" 200 > "$W/idle.log" 2>&1 &
HPID=$!
wait_for 'grep -q "200 idle connections" "$W/idle.log"' || fail "idle connections: $(cat "$W/idle.log")"
wait_for '[ "$(fds "$DPID")" -ge $((base_fds + 200)) ]' ||
  fail "the daemon did not take the 200 connections: $(fds "$DPID") descriptors, $base_fds before"
start=$(date +%s%N)
client "$U" info > /dev/null || fail "Info with 200 idle connections"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$ms" -lt 5000 ] || fail "Info took $ms ms with 200 idle connections"
t=$(threads "$DPID")
[ "$t" -le $((base_threads + 2)) ] || fail "threads grew from $base_threads to $t with 200 idle connections"
f=$(fds "$DPID")
[ "$f" -le $((base_fds + 210)) ] || fail "descriptors grew from $base_fds to $f with 200 connections"
kill "$HPID"
wait "$HPID" 2> /dev/null || true
HPID=""
wait_for '[ "$(fds "$DPID")" -le $((base_fds + 5)) ]' || fail "descriptors not released: $(fds "$DPID") (was $base_fds)"
"$PY" "$SRC/tests/daemon/bad_input.py" "$SRC/api" "$W" stalled-sessions "$U" 50 > "$W/stalled.log" 2>&1 &
HPID=$!
wait_for 'grep -q "50 stalled sessions" "$W/stalled.log"' || fail "stalled sessions: $(cat "$W/stalled.log")"
wait_for '[ "$(client "$U" info | json "[\"open_sessions\"]")" = 50 ]' || fail "the 50 sessions did not open"
rss=$(rss_kib "$DPID")
[ "$rss" -lt 65536 ] || fail "RSS $rss KiB with 50 sessions that never read"
t=$(threads "$DPID")
[ "$t" -le $((base_threads + 52)) ] || fail "threads: $t with 50 sessions (one pump each, was $base_threads)"
kill "$HPID"
wait "$HPID" 2> /dev/null || true
HPID=""
wait_for '[ "$(client "$U" info | json "[\"open_sessions\"]")" = 0 ]' || fail "stalled sessions not closed"
echo "idle RSS with 200 connections and 50 stalled sessions done: ${rss} KiB, threads $t" > "$W/figures"

# 5. Crash: kill -9, then leftovers of a dead build (a secret tmpfs, a bundle dir, a build temp
#    dir, their owner locks free), then a restart by socket activation.
dead_pid=$DPID
kill -KILL "$DPID"
wait "$DPID" 2> /dev/null || true
DPID=""
expect_eq "$(tr -d '\n' < "$S/latchkeyd.lock")" "$dead_pid" "the lock file keeps the dead daemon's pid"
step=0123456789abcdef0123456789abcdef
mkdir -p "$S/builder/secrets/$step/secret0" "$S/builder/tmp/build-Ab12Cd"
: > "$S/builder/secrets/$step.lock"
: > "$S/builder/tmp/build-Ab12Cd.lock"
MNT=$S/builder/secrets/$step/secret0
mount -t tmpfs -o size=1m tmpfs "$MNT"
echo "CANARY-ops-leftover-77aa" > "$MNT/s"
rm -f "$SOCK"
printf 'state_dir: %s\n' "$S" > "$W/latchkey.yaml"
if command -v systemd-socket-activate > /dev/null; then
  systemd-socket-activate -l "$SOCK" --fdname=latchkeyd "$LKD" --config "$W/latchkey.yaml" > "$W/daemon.log" 2>&1 &
else
  # The same protocol by hand: a bound, listening socket at fd 3, then exec (same pid).
  "$PY" -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
s.listen(64)
os.dup2(s.fileno(), 3)
os.environ.update(LISTEN_FDS="1", LISTEN_PID=str(os.getpid()), LISTEN_FDNAMES="latchkeyd")
os.execv(sys.argv[2], sys.argv[2:])
' "$SOCK" "$LKD" --config "$W/latchkey.yaml" > "$W/daemon.log" 2>&1 &
fi
DPID=$!
wait_for '[ -S "$SOCK" ]' || fail "systemd-socket-activate did not bind $SOCK"
info=$(client "$U" info)  # the first connection starts latchkeyd on the activated socket
expect_eq "$(json "['pid']" <<< "$info")" "$DPID" "socket-activated daemon pid"
grep -q "listening on $U (pid $DPID, state dir $S)" "$W/daemon.log" || fail "activated start line"
grep -q "latchkeyd pid $dead_pid did not stop cleanly; recovered $S/builder: 0 container(s), 1 mount(s), 2 director(y/ies) cleaned" "$W/daemon.log" \
  || fail "no recovery line"
grep -q " $MNT " /proc/self/mountinfo && fail "the leftover tmpfs is still mounted"
MNT=""
[ ! -e "$S/builder/secrets/$step" ] || fail "the leftover bundle dir is still there"
[ ! -e "$S/builder/tmp/build-Ab12Cd" ] || fail "the leftover build temp dir is still there"
rec=$(grep '"event":"daemon.recovered"' "$S/audit/audit.log") || fail "no daemon.recovered record"
expect_eq "$(json "['previous_pid']" <<< "$rec")" "$dead_pid" "daemon.recovered previous_pid"
expect_eq "$(json "['state_dir']" <<< "$rec")" "$S/builder" "daemon.recovered state_dir"
expect_eq "$(json "['mounts']" <<< "$rec")" "['$S/builder/secrets/$step/secret0']" "daemon.recovered mounts"
expect_eq "$(json "['dirs']" <<< "$rec")" "['$S/builder/secrets/$step', '$S/builder/tmp/build-Ab12Cd']" "daemon.recovered dirs"
kill -TERM "$DPID"
set +e
wait "$DPID"
rc=$?
set -e
DPID=""
expect_eq "$rc" "0" "exit after SIGTERM"
[ -S "$SOCK" ] || fail "the socket-activated daemon removed its manager's socket"
# The chain is sealed: the last record is a signed checkpoint (`shutdown` when anything was
# written since the last one; DaemonTest.ShutdownSignsACheckpoint checks that case).
last=$(tail -n 1 "$S/audit/audit.log")
expect_eq "$(json "['event']" <<< "$last")" "audit.checkpoint" "the last audit record"
"$LK" audit verify > "$W/verify.log" 2>&1 || fail "audit verify: $(cat "$W/verify.log")"
expect_eq "$(head -c 10 "$S/latchkeyd.lock" | wc -c)" "0" "the lock file is emptied at a clean stop"
grep -rqa "CANARY-ops-" "$S" "$W/daemon.log" && fail "a canary is in the state dir or the log"
echo "PASS: daemon_ops_test"
