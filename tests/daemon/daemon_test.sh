#!/usr/bin/env bash
# End-to-end: the real latchkeyd on a temporary socket and state dir (started once), driven by
# independent Python clients (Debian's python3-grpcio; stubs generated from api/*.proto with
# `python3 -m grpc_tools.protoc`): Info, Images, RemoveImage, DiskUsage, Prune, a BuildKit-style session
# (tests/daemon/buildkit_session.py), the socket's mode, a second daemon on the same state dir,
# refused socket paths and flags, and SIGTERM. (GetSecret through the Python session is checked
# by daemon_tests' BuildKitClient test, with the daemon side in process.)
set -euo pipefail
B="${LATCHKEY_BUILD_DIR:?}"
SRC="${LATCHKEY_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
LKD="$B/bin/latchkeyd"
LK="$B/bin/latchkey"
PY=/usr/bin/python3
W=$(mktemp -d /tmp/lk-daemon-e2e.XXXXXX)
DPID=""
SPID=""
cleanup() {
  [ -n "$SPID" ] && kill "$SPID" 2>/dev/null || true
  [ -n "$DPID" ] && kill "$DPID" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [ -f "$W/daemon.log" ] && sed 's/^/  daemon: /' "$W/daemon.log" >&2; exit 1; }
expect_eq() { [ "$1" = "$2" ] || fail "$3: got [$1], want [$2]"; }
client() { "$PY" "$SRC/tests/daemon/control_client.py" "$SRC/api" "$W" "unix://$SOCK" "$@"; }
json() { "$PY" -c "import json,sys; print(json.load(sys.stdin)$1)"; }

S=$W/state
SOCK=$W/run/latchkeyd.sock
printf 'state_dir: %s\n' "$S" > "$W/latchkey.yaml"
export LATCHKEY_CONFIG="$W/latchkey.yaml"

# An image in the store the daemon will use (<state_dir>/builder) and an audit key pair.
mkdir -p "$W/rootfs/etc"
echo x > "$W/rootfs/etc/hostname"
id=$(SOURCE_DATE_EPOCH=0 "$LK" image import --rootfs "$W/rootfs" -t app:1 --state-dir "$S/builder")
keyid=$("$LK" audit keygen | sed -n 's/^key id \(ed25519:[0-9a-f]*\);.*/\1/p')
[[ $keyid =~ ^ed25519:[0-9a-f]{16}$ ]] || fail "audit keygen printed no key id"

# 1. Start the daemon (state dir from the configuration) and wait for its socket.
"$LKD" --listen "unix://$SOCK" > "$W/daemon.log" 2>&1 &
DPID=$!
for _ in $(seq 1 100); do [ -S "$SOCK" ] && break; sleep 0.1; done
[ -S "$SOCK" ] || fail "latchkeyd did not create $SOCK"
expect_eq "$(stat -c %a "$SOCK")" "660" "socket mode"
# The line follows the socket's creation (the gRPC server starts in between).
for _ in $(seq 1 50); do grep -q "listening on unix://" "$W/daemon.log" && break; sleep 0.05; done
grep -q "listening on unix://$SOCK (pid $DPID, state dir $S)" "$W/daemon.log" || fail "start line"

# 2. Info from the Python client: the daemon, and the caller as SO_PEERCRED saw it.
info=$(client info)
expect_eq "$(json "['state_dir']" <<<"$info")" "$S" "Info state_dir"
expect_eq "$(json "['providers']" <<<"$info")" "['file', 'env', 'store', 'dockerconfig']" "Info providers"
expect_eq "$(json "['audit_signing_key_id']" <<<"$info")" "$keyid" "Info audit key id"
expect_eq "$(json "['pid']" <<<"$info")" "$DPID" "Info pid"
expect_eq "$(json "['peer']['pid']" <<<"$info")" "$(json "['my_pid']" <<<"$info")" "peer pid"
expect_eq "$(json "['peer']['uid']" <<<"$info")" "$(id -u)" "peer uid"
[[ $(json "['version']" <<<"$info") =~ ^latchkey\ [0-9.]+\ \(commit ]] || fail "Info version: $info"

# 3. Images and RemoveImage over the daemon's store.
imgs=$(client images)
expect_eq "$(cut -d' ' -f1,2,4 <<<"$imgs")" "app:1 $id 1970-01-01T00:00:00Z" "Images"
expect_eq "$(client rm app:1)" "removed app:1" "RemoveImage"
expect_eq "$(client images)" "" "Images after RemoveImage"
set +e
out=$(client rm app:1)
rc=$?
set -e
expect_eq "$rc" "1" "RemoveImage of a missing tag exits"
expect_eq "$out" "error: NOT_FOUND: image \"app:1\" is not in the local store. Pull it: latchkey pull app:1; or make a base image: mmdebstrap --variant=minbase bookworm ROOTFS && latchkey image import --rootfs ROOTFS -t app:1; or import one: latchkey image import --oci-layout DIR[:TAG] -t app:1 (or --archive FILE for an OCI or docker save archive); or build it with -t app:1" "RemoveImage missing"
# DiskUsage and Prune of the daemon's builder state dir, from the independent client.
du=$(client du)
expect_eq "$(json "['state_dir']" <<<"$du")" "$S/builder" "DiskUsage state_dir"
expect_eq "$(json "['images']" <<<"$du")" "[]" "DiskUsage images after RemoveImage"
[ "$(json "['total']" <<<"$du")" -gt 0 ] || fail "DiskUsage total: $du"
expect_eq "$(json "['usage']['blobs'][0]" <<<"$du")" "0" "DiskUsage: RemoveImage freed the blobs"
expect_eq "$(client prune --all)" "pruned 0 0 done $S/builder" "Prune of a store with nothing to free"
set +e
out=$(client prune --filter until=soon)
rc=$?
set -e
expect_eq "$rc" "1" "Prune with a bad filter exits"
expect_eq "$out" "error: INVALID_ARGUMENT: \"until\" filter expects a duration (e.g., '24h'): time: invalid duration \"soon\"" "Prune bad filter"
grep -q "prune --all by uid=$(id -u)" "$W/daemon.log" || fail "the daemon did not log who pruned"

# 4. A BuildKit-style Python session stays open in the daemon until its client goes away.
echo "CANARY-e2e-session-b71c" > "$W/value"
"$PY" "$SRC/tests/daemon/buildkit_session.py" --api-dir "$SRC/api" --daemon "unix://$SOCK" \
  --work-dir "$W/py" --session-id e2e-1 --secret "tok=$W/value" > "$W/py.log" 2>&1 &
SPID=$!
for _ in $(seq 1 100); do
  [ "$(client info | json "['open_sessions']")" = 1 ] && break
  sleep 0.1
done
expect_eq "$(client info | json "['open_sessions']")" "1" "open sessions with the Python client"
kill "$SPID"
wait "$SPID" || fail "the Python session client failed: $(cat "$W/py.log")"
SPID=""
grep -q "session e2e-1 ended: CANCELLED" "$W/py.log" || fail "python session: $(cat "$W/py.log")"
for _ in $(seq 1 100); do
  [ "$(client info | json "['open_sessions']")" = 0 ] && break
  sleep 0.1
done
expect_eq "$(client info | json "['open_sessions']")" "0" "open sessions after the client left"

# A client killed outright (SIGKILL): the daemon drops its session too.
"$PY" "$SRC/tests/daemon/buildkit_session.py" --api-dir "$SRC/api" --daemon "unix://$SOCK" \
  --work-dir "$W/py2" --session-id e2e-2 --secret "tok=$W/value" > "$W/py2.log" 2>&1 &
SPID=$!
for _ in $(seq 1 100); do
  [ "$(client info | json "['open_sessions']")" = 1 ] && break
  sleep 0.1
done
expect_eq "$(client info | json "['open_sessions']")" "1" "open sessions with the second client"
kill -KILL "$SPID"
wait "$SPID" 2>/dev/null || true
SPID=""
for _ in $(seq 1 100); do
  [ "$(client info | json "['open_sessions']")" = 0 ] && break
  sleep 0.1
done
expect_eq "$(client info | json "['open_sessions']")" "0" "open sessions after SIGKILL of the client"

# 5. A second daemon on the same state dir (given explicitly) is refused, naming the first.
set +e
out=$("$LKD" --state-dir "$S" --listen "unix://$W/run/second.sock" 2>&1)
rc=$?
set -e
expect_eq "$rc" "1" "second daemon exit code"
expect_eq "$out" "error: state directory $S is in use by latchkeyd pid $DPID (lock file $S/latchkeyd.lock); stop it or use another --state-dir" "second daemon"
[ ! -e "$W/run/second.sock" ] || fail "the refused daemon left a socket"

# 6. Socket paths and flags it refuses (each with another state dir).
mkdir "$W/other"
chown 65534:65534 "$W/other"
set +e
out=$("$LKD" --state-dir "$W/s2" --listen "unix://$W/other/d.sock" 2>&1)
rc=$?
set -e
expect_eq "$rc" "1" "foreign socket dir exit code"
expect_eq "$out" "error: refusing to listen on $W/other/d.sock: directory $W/other is owned by uid 65534, not by latchkeyd's uid $(id -u)" "foreign socket dir"
set +e
out=$("$LKD" --state-dir "$W/s3" --listen "unix://$SOCK" 2>&1)
rc=$?
set -e
expect_eq "$rc" "1" "live socket exit code"
expect_eq "$out" "error: refusing to listen on $SOCK: another process is listening on it" "live socket"
set +e
out=$("$LKD" --state-dir "$W/s4" --listen "tcp://127.0.0.1:7443" 2>&1)
rc=$?
set -e
expect_eq "$rc" "2" "tcp listen exit code"
expect_eq "$out" "error: --listen tcp://127.0.0.1:7443: needs --tls-cert, --tls-key and --tls-ca" "tcp listen without TLS"
set +e
out=$("$LKD" --state-dir "$W/s4" --listen "http://127.0.0.1:7443" 2>&1)
rc=$?
set -e
expect_eq "$rc" "2" "http listen exit code"
expect_eq "$out" "error: invalid --listen http://127.0.0.1:7443: want unix:///absolute/path or tcp://host:port" "http listen"

# 7. SIGTERM with a session open: the session ends UNAVAILABLE, latchkeyd exits 0, the socket
#    is removed.
"$PY" "$SRC/tests/daemon/buildkit_session.py" --api-dir "$SRC/api" --daemon "unix://$SOCK" \
  --work-dir "$W/py3" --session-id e2e-3 --secret "tok=$W/value" > "$W/py3.log" 2>&1 &
SPID=$!
for _ in $(seq 1 100); do
  [ "$(client info | json "['open_sessions']")" = 1 ] && break
  sleep 0.1
done
expect_eq "$(client info | json "['open_sessions']")" "1" "open sessions before SIGTERM"
kill -TERM "$DPID"
set +e
wait "$DPID"
rc=$?
set -e
DPID=""
expect_eq "$rc" "0" "latchkeyd exit status after SIGTERM"
wait "$SPID" || fail "the Python session client failed: $(cat "$W/py3.log")"
SPID=""
grep -q "session e2e-3 ended: UNAVAILABLE" "$W/py3.log" || fail "session at SIGTERM: $(cat "$W/py3.log")"
[ ! -e "$SOCK" ] || fail "socket left after SIGTERM"
grep -q "SIGTERM received, stopping" "$W/daemon.log" || fail "no stop line in the log"
grep -q "CANARY-e2e-session" "$W/daemon.log" && fail "a secret value is in the daemon's log"
if grep -rqa "CANARY-e2e-session" "$S"; then fail "a secret value is in the daemon's state dir"; fi
echo "PASS: daemon_test"
