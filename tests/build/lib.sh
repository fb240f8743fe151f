# Shared helpers for the `latchkey build` end-to-end tests (tests/build/*_test.sh). Source it
# first thing: it sets strict mode, makes a private work dir $W with its own latchkey state and
# config (exported as LATCHKEY_CONFIG), and installs an EXIT trap that stops servers the test
# started, unmounts anything left mounted under $W (failing the test if there was anything) and
# removes $W.
#
#   LK            the latchkey binary under test
#   W             the test's private temp dir (removed on exit)
#   STATE         the state_dir of the test's config ($W/state)
#   OUT ERR RC    stdout file, stderr file and exit code of the last lk_build
#   ALL_OUTPUT    stdout and stderr of every lk_build of the test, appended
#   LK_GLOBAL     global flags placed before `build` (e.g. --log-level debug); empty by default
set -euo pipefail
LK="${LATCHKEY_BUILD_DIR:?}/bin/latchkey"
W=$(mktemp -d /tmp/lk-build-e2e.XXXXXX)
STATE=$W/state
OUT=$W/build.out
ERR=$W/build.err
ALL_OUTPUT=$W/all-builds.log
RC=0
_lk_pids=()
LK_GLOBAL=()

_lk_cleanup() {
  local rc=$? left
  set +e
  for p in "${_lk_pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  # Daemons started in a command substitution ($(ssh_agent_with_key …)) cannot add to _lk_pids:
  # they leave their pid in this file instead.
  if [ -f "$W/.daemon-pids" ]; then
    while read -r p; do kill "$p" 2>/dev/null; done < "$W/.daemon-pids"
  fi
  # Every build has ended: nothing of it may still be mounted. Unmount leftovers, deepest first,
  # and fail a test that otherwise passed.
  left=$(awk -v w="$W" 'index($2, w) == 1 {print $2}' /proc/mounts | sort -r)
  if [ -n "$left" ]; then
    echo "$left" | while read -r m; do umount -l "$m" 2>/dev/null; done
    if [ "$rc" -eq 0 ]; then
      echo "FAIL: left mounted after the builds ended: $(echo "$left" | tr '\n' ' ')" >&2
      rc=1
    fi
  fi
  rm -rf "$W"
  exit "$rc"
}
trap _lk_cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  if [ -s "$ERR" ]; then
    echo "--- stderr of the last build:" >&2
    tail -30 "$ERR" >&2
  fi
  exit 1
}
expect_eq() { [ "$1" = "$2" ] || fail "$3: got [$1], want [$2]"; }
# expect_contains HAYSTACK NEEDLE WHAT
expect_contains() { [[ "$1" == *"$2"* ]] || fail "$3: [$1] does not contain [$2]"; }
expect_file_contains() { grep -qF -- "$2" "$1" || fail "$3: $1 does not contain [$2]"; }
expect_file_lacks() { ! grep -qF -- "$2" "$1" || fail "$3: $1 contains [$2]"; }

# Remember a background process to stop on exit.
track_pid() { _lk_pids+=("$1"); }

# make_busybox_rootfs DIR: a minimal busybox-static root filesystem.
make_busybox_rootfs() {
  local r=$1
  mkdir -p "$r"/{bin,etc,tmp,proc,sys,dev,root,run}
  cp /bin/busybox "$r/bin/busybox"
  chroot "$r" /bin/busybox --install -s /bin
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$r/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' > "$r/etc/group"
  chmod 1777 "$r/tmp"
}

# write_config [EXTRA_YAML]: the test's private config, exported as LATCHKEY_CONFIG.
write_config() {
  mkdir -p "$STATE"
  { echo "state_dir: $STATE"; [ $# -gt 0 ] && printf '%s\n' "$1"; true; } > "$W/latchkey.yaml"
  export LATCHKEY_CONFIG="$W/latchkey.yaml"
}

# setup_busybox: config + busybox rootfs imported as busybox:test into the builder's store.
setup_busybox() {
  [ -n "${LATCHKEY_CONFIG:-}" ] || write_config
  make_busybox_rootfs "$W/rootfs"
  "$LK" image import --rootfs "$W/rootfs" -t busybox:test > /dev/null \
    || fail "image import of busybox:test"
}

# lk_build ARGS...: runs `latchkey build --progress plain ARGS`, stdout to $OUT, stderr to $ERR,
# exit code in $RC. Never fails by itself.
lk_build() {
  set +e
  "$LK" "${LK_GLOBAL[@]}" build --progress plain "$@" > "$OUT" 2> "$ERR"
  RC=$?
  set -e
  cat "$OUT" "$ERR" >> "$ALL_OUTPUT"
}
# build_ok ARGS...: lk_build that must succeed.
build_ok() {
  lk_build "$@"
  [ "$RC" -eq 0 ] || fail "latchkey build $* exited $RC"
}
# build_fails ARGS...: lk_build that must exit 1.
build_fails() {
  lk_build "$@"
  [ "$RC" -eq 1 ] || fail "latchkey build $* exited $RC, want 1"
}
# The last line of the last build's stderr.
last_err_line() { tail -n 1 "$ERR"; }

# new_context NAME: an empty build context dir $W/NAME; prints its path.
new_context() { mkdir -p "$W/$1" && echo "$W/$1"; }

# ssh_agent_with_key NAME: a real ssh-agent on $W/NAME.sock holding a throw-away ed25519 key
# ($W/NAME.key); prints the key's fingerprint line as `ssh-add -l` shows it.
ssh_agent_with_key() {
  local sock=$W/$1.sock
  ssh-keygen -q -t ed25519 -N '' -C "latchkey-test-$1" -f "$W/$1.key" > /dev/null || fail "ssh-keygen"
  ssh-agent -a "$sock" > "$W/$1.agent.env" || fail "ssh-agent"
  # ssh-agent forks into the background, and callers run this in $(...): track_pid would be lost.
  sed -n 's/^SSH_AGENT_PID=\([0-9]*\);.*/\1/p' "$W/$1.agent.env" >> "$W/.daemon-pids"
  SSH_AUTH_SOCK=$sock ssh-add -q "$W/$1.key" 2> /dev/null || fail "ssh-add"
  ssh-keygen -lf "$W/$1.key.pub"
}

# ssh_add_tool DIR: this host's ssh-add and the libraries it loads, in DIR, for a step to run as
# `DIR/ld.so --library-path DIR DIR/ssh-add -l` (busybox has no agent client).
ssh_add_tool() {
  mkdir -p "$1"
  cp /usr/bin/ssh-add "$1/"
  local lib
  for lib in $(ldd /usr/bin/ssh-add | awk '$2 == "=>" { print $3 } $1 ~ /^\// { print $1 }'); do
    case $lib in */ld-linux*) cp -L "$lib" "$1/ld.so" ;; *) cp -L "$lib" "$1/" ;; esac
  done
}

# A free TCP port on 127.0.0.1.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# oci_config_of LAYOUT_DIR: prints the image config JSON of the layout's only manifest.
oci_config_of() {
  python3 - "$1" <<'EOP'
import json, sys
d = sys.argv[1]
blob = lambda dg: open(f"{d}/blobs/{dg.replace(':', '/')}", "rb").read()
idx = json.load(open(f"{d}/index.json"))
m = json.loads(blob(idx["manifests"][0]["digest"]))
print(blob(m["config"]["digest"]).decode())
EOP
}
