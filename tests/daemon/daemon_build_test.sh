#!/usr/bin/env bash
# End-to-end: `latchkey build --host` through a real latchkeyd (started once, its own state dir
# and a temporary socket), against the same build in embedded mode:
#   1. the same Dockerfile built both ways: the plain progress (minus timings) and the image
#      digest are the same; `images` and `image rm` through the daemon;
#   2. a wrong --host / $LATCHKEY_HOST: "cannot reach latchkeyd at ...", exit 1; the
#      configuration's host: picks the daemon, --host embedded overrides it, an unreachable or
#      malformed host: names the configuration file;
#   2c. -o type=local, type=oci and type=oci-layout through the daemon land on the client:
#      the same trees, archive bytes, manifest digests and progress as embedded; a bad dest is
#      refused before the build with the embedded build's cause;
#   2d. --build-context NAME=DIR and NAME=oci-layout://DIR:TAG through the daemon;
#   2e. du, prune and image prune through the daemon: the same output as embedded mode on the
#      same state dir; prune --all frees what embedded prune --all frees; a prune --all during a
#      daemon build waits for it, and the build succeeds and its image exports;
#   3. incremental context: after changing one file only its bytes are sent; a touched file
#      is not sent again (the daemon's log counts the bytes);
#   4. --secret file and env sources served by the client over the session, through the
#      daemon's broker as provider "client" (audit record with the peer's uid/gid/pid, first);
#      type=store stays daemon-side;
#   5. isolation: two clients with the same secret id and different canaries, concurrently, for
#      several rounds: each step sees only its own canary;
#   6. Ctrl-C and kill -9 of the client cancel the build in the daemon (step killed, session
#      closed "cancelled", nothing left mounted);
#   7. the canary sweep of the outputs, the daemon's log and state dir;
#   8. SIGHUP reaches builds: a policy rule added by a reload refuses the next build's secret,
#      and removing it again lets the build through (a build's session opens on the daemon's
#      BrokerHost); the build's records carry the peer object;
#   7c. --ssh: a real ssh-agent of the client reached by the daemon's step over the session
#      (its key listed); an unknown required id fails as in embedded mode, an optional one is
#      skipped;
#   10. registry logins from the client (moby.filesync.v1.Auth/Credentials; the daemon has no
#      Docker login of its own): a push=true output and a --pull FROM of the private image
#      succeed with the client's login, audited in the daemon as provider client with the peer;
#      without the client's login the pull fails with the registry's 401 naming where latchkeyd
#      looked; the password appears in no output, log or state file;
#   9. SIGTERM of the daemon mid-build: the build is cancelled at once (its session.close
#      "cancelled" is signed before the daemon stops; no 5 s grace), the client fails with
#      "latchkeyd is shutting down: the build was cancelled", exit 1.
source "$(dirname "$0")/../build/lib.sh"
LKD="${LATCHKEY_BUILD_DIR:?}/bin/latchkeyd"
write_config
setup_busybox
"$LK" audit keygen > /dev/null  # so the embedded build logs no "created audit keys" line
DSTATE=$W/dstate
SOCK=$W/run/lkd.sock
HOST=unix://$SOCK
# The same base image in both stores (clamped times: the same digest).
for sd in "$STATE/builder" "$DSTATE/builder"; do
  SOURCE_DATE_EPOCH=0 "$LK" image import --rootfs "$W/rootfs" -t busybox:test --state-dir "$sd" > /dev/null
done
# The daemon has no Docker login of its own (section 10).
mkdir -p "$W/daemon-docker"
DOCKER_CONFIG=$W/daemon-docker "$LKD" --state-dir "$DSTATE" --listen "$HOST" --log-level debug > "$W/daemon.log" 2>&1 &
DPID=$!
track_pid "$DPID"
for _ in $(seq 1 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
[ -S "$SOCK" ] || { cat "$W/daemon.log"; fail "latchkeyd did not start"; }
export SOURCE_DATE_EPOCH=0
dlog_fail() { sed 's/^/  daemon: /' "$W/daemon.log" | tail -30 >&2; fail "$@"; }
# Plain progress without timings: "#3 0.123 x" -> "#3 x", "DONE 0.4s" -> "DONE",
# "compressing layers (gzip level 3) 0.1s done" -> "... done".
untimed() { sed -E 's/^(#[0-9]+ )?[0-9]+\.[0-9]+ /\1/; s/ DONE [0-9.]+s$/ DONE/; s/ [0-9]+\.[0-9]+s done$/ done/' "$1"; }

# 1. Both ways.
ctx=$(new_context ctx)
mkdir -p "$ctx/sub" "$ctx/skip"
echo hello > "$ctx/sub/a.txt"
echo ignored > "$ctx/skip/x"
printf 'skip\n' > "$ctx/.dockerignore"
ln -s sub/a.txt "$ctx/link"
cat > "$ctx/Dockerfile" <<'DF'
FROM busybox:test
COPY . /ctx
RUN ls /ctx /ctx/sub && cat /ctx/sub/a.txt && test ! -e /ctx/skip
DF
build_ok --iidfile "$W/iid.embedded" -t both:1 "$ctx"
cp "$ERR" "$W/embedded.err"
build_ok --host "$HOST" --iidfile "$W/iid.daemon" -t both:1 "$ctx"
cp "$ERR" "$W/daemon.err"
diff <(untimed "$W/embedded.err") <(untimed "$W/daemon.err") > "$W/progress.diff" \
  || { cat "$W/progress.diff" >&2; fail "plain progress differs between embedded and daemon mode"; }
expect_eq "$(cat "$W/iid.daemon")" "$(cat "$W/iid.embedded")" "image id, daemon vs embedded"
LATCHKEY_HOST=$HOST "$LK" images > "$W/images.txt" || fail "images through the daemon"
expect_file_contains "$W/images.txt" "both" "images through the daemon"
# -q prints the id only, same as embedded.
build_ok --host "$HOST" -q "$ctx"
expect_eq "$(cat "$OUT")" "$(cat "$W/iid.embedded")" "-q through the daemon"
# A failing step: same error block, exit 1.
cat > "$W/Dockerfile.fail" <<'DF'
FROM busybox:test
RUN echo about to fail && false
DF
build_fails -f "$W/Dockerfile.fail" "$ctx"
cp "$ERR" "$W/embedded-fail.err"
build_fails --host "$HOST" -f "$W/Dockerfile.fail" "$ctx"
diff <(untimed "$W/embedded-fail.err") <(untimed "$ERR") > "$W/fail.diff" \
  || { cat "$W/fail.diff" >&2; fail "failed build output differs between modes"; }
"$LK" --host "$HOST" image rm both:1 > /dev/null || fail "image rm through the daemon"
LATCHKEY_HOST=$HOST "$LK" images > "$W/images.txt"
expect_file_lacks "$W/images.txt" "both" "image removed through the daemon"

# 2. Wrong host.
lk_build --host "unix://$W/nope.sock" "$ctx"
expect_eq "$RC" "1" "exit code for an unreachable daemon"
expect_eq "$(last_err_line)" "error: cannot reach latchkeyd at unix://$W/nope.sock: No such file or directory" "unreachable daemon"
LATCHKEY_HOST="unix://$W/nope.sock" lk_build "$ctx"
expect_eq "$(last_err_line)" "error: cannot reach latchkeyd at unix://$W/nope.sock: No such file or directory" "unreachable LATCHKEY_HOST"

# 2b. The configuration's host: picks the daemon (after --host and $LATCHKEY_HOST); an
# unreachable one says it came from the configuration; --host embedded overrides it.
printf 'state_dir: %s\nhost: %s\n' "$STATE" "$HOST" > "$W/client.yaml"
LATCHKEY_CONFIG=$W/client.yaml build_ok --iidfile "$W/iid.config" -t viaconfig:1 "$ctx"
expect_eq "$(cat "$W/iid.config")" "$(cat "$W/iid.embedded")" "image id, host: from the configuration"
LATCHKEY_CONFIG=$W/client.yaml "$LK" images > "$W/images.txt" || fail "images with host: from the configuration"
expect_file_contains "$W/images.txt" "viaconfig" "the build of host: ran in the daemon"
"$LK" images > "$W/images.txt"
expect_file_lacks "$W/images.txt" "viaconfig" "the build of host: did not run embedded"
LATCHKEY_CONFIG=$W/client.yaml build_ok --host embedded -t embeddedbyflag:1 "$ctx"
"$LK" images > "$W/images.txt"
expect_file_contains "$W/images.txt" "embeddedbyflag" "--host embedded overrides host:"
printf 'state_dir: %s\nhost: unix://%s/nope.sock\n' "$STATE" "$W" > "$W/bad-host.yaml"
LATCHKEY_CONFIG=$W/bad-host.yaml lk_build "$ctx"
expect_eq "$RC" "1" "exit code for an unreachable host: from the configuration"
expect_eq "$(last_err_line)" "error: cannot reach latchkeyd at unix://$W/nope.sock (host: in $W/bad-host.yaml:2:7): No such file or directory" "unreachable host: from the configuration"
printf 'state_dir: %s\nhost: tcp://127.0.0.1:1\n' "$STATE" > "$W/tcp-host.yaml"
LATCHKEY_CONFIG=$W/tcp-host.yaml lk_build "$ctx"
expect_eq "$(last_err_line)" "error: $W/tcp-host.yaml:2:7: host: \"tcp://127.0.0.1:1\": want unix:///absolute/path (latchkeyd's socket) or embedded" "a bad host: in the configuration"

# 2c. -o through the daemon: the outputs land on the client, with the same trees, archive bytes
# and manifest digests as the embedded build, and the same progress.
octx=$(new_context octx)
cat > "$octx/Dockerfile" <<'DF'
FROM busybox:test
RUN mkdir -p /out/d && echo one > /out/d/f && chmod 0600 /out/d/f && ln -s d/f /out/l && ln /out/d/f /out/hard
DF
outs=(-o "type=local,dest=$W/o/local" -o "type=oci,dest=$W/o/app.tar" -o "type=oci-layout,dest=$W/o/layout" -t outs:1)
mkdir -p "$W/o"
build_ok "${outs[@]}" "$octx"
cp "$ERR" "$W/outs-embedded.err"
mv "$W/o" "$W/o.embedded"
mkdir -p "$W/o"
build_ok --host "$HOST" "${outs[@]}" "$octx"
diff <(untimed "$W/outs-embedded.err") <(untimed "$ERR") > "$W/outs.diff" \
  || { cat "$W/outs.diff" >&2; fail "-o: plain progress differs between embedded and daemon mode"; }
tree_of() { (cd "$1" && find . -printf '%p %y %m %s %l\n' | sort); }
diff <(tree_of "$W/o.embedded/local") <(tree_of "$W/o/local") > "$W/local.diff" \
  || { head -20 "$W/local.diff" >&2; fail "-o type=local: trees differ"; }
diff -r --no-dereference "$W/o.embedded/local" "$W/o/local" > /dev/null || fail "-o type=local: contents differ"
expect_eq "$(stat -c %i "$W/o/local/out/hard")" "$(stat -c %i "$W/o/local/out/d/f")" "-o type=local: hardlink kept"
cmp "$W/o.embedded/app.tar" "$W/o/app.tar" || fail "-o type=oci: archives differ"
expect_eq "$(tar -xOf "$W/o/app.tar" index.json | jq -r '.manifests[0].digest')" \
  "$(tar -xOf "$W/o.embedded/app.tar" index.json | jq -r '.manifests[0].digest')" "-o type=oci: manifest digest"
expect_eq "$(jq -r '.manifests[0].digest' "$W/o/layout/index.json")" \
  "$(jq -r '.manifests[0].digest' "$W/o.embedded/layout/index.json")" "-o type=oci-layout: manifest digest"
diff -r "$W/o.embedded/layout" "$W/o/layout" > /dev/null || fail "-o type=oci-layout: layouts differ"
ls -A "$DSTATE/contexts" | grep '^job-' > /dev/null && fail "the daemon kept a job directory (outputs) after the build"
# dest=-: the archive on stdout, the same bytes in both modes.
build_ok -o "type=oci,dest=-" -t outs:1 "$octx"
cmp "$OUT" "$W/o/app.tar" || fail "-o type=oci,dest=- (embedded) differs from the dest= archive"
cp "$ERR" "$W/stdout-embedded.err"
build_ok --host "$HOST" -o "type=oci,dest=-" -t outs:1 "$octx"
cmp "$OUT" "$W/o/app.tar" || fail "-o type=oci,dest=- through the daemon differs from the dest= archive"
expect_file_contains "$ERR" "sending tarball to - done" "dest=- progress"
diff <(untimed "$W/stdout-embedded.err") <(untimed "$ERR") > "$W/stdout.diff" \
  || { cat "$W/stdout.diff" >&2; fail "-o dest=-: plain progress differs between modes"; }
[ ! -e "$octx/-" ] && [ ! -e ./- ] || fail "dest=- created a file named -"
# A bad dest is refused before the build, with the embedded build's cause.
build_fails -o "type=oci,dest=$W/nope/x.tar" "$octx"
expect_file_contains "$ERR" "create $W/nope/x.tar: No such file or directory" "bad -o dest, embedded"
build_fails --host "$HOST" -o "type=oci,dest=$W/nope/x.tar" "$octx"
expect_eq "$(last_err_line)" "error: create $W/nope/x.tar: No such file or directory" "bad -o dest through the daemon"
expect_file_lacks "$ERR" "#1 " "a bad -o dest is refused before the build"
echo x > "$W/afile"
build_fails --host "$HOST" -o "type=local,dest=$W/afile" "$octx"
expect_eq "$(last_err_line)" "error: mkdir $W/afile: Not a directory" "-o type=local onto a file"

# 2d. --build-context through the daemon: a directory (transferred as the main context is, into
# a copy of its own; no .dockerignore, as in embedded mode) and an oci-layout:// directory (the
# layout 2c wrote); the same progress and image as embedded; a change reaches the next build.
nctx=$(new_context nctx)
extra=$(new_context extra)
echo from-extra > "$extra/e.txt"
printf 'e.txt\n' > "$extra/.dockerignore"
cat > "$nctx/Dockerfile" <<'DF'
FROM base
COPY --from=extra e.txt /e.txt
RUN cat /e.txt /out/d/f
DF
bcs=(--build-context "extra=$extra" --build-context "base=oci-layout://$W/o/layout:1")
build_ok --iidfile "$W/iid.bc.embedded" "${bcs[@]}" "$nctx"
cp "$ERR" "$W/bc-embedded.err"
build_ok --host "$HOST" --iidfile "$W/iid.bc.daemon" "${bcs[@]}" "$nctx"
diff <(untimed "$W/bc-embedded.err") <(untimed "$ERR") > "$W/bc.diff" \
  || { cat "$W/bc.diff" >&2; fail "--build-context: plain progress differs between modes"; }
expect_eq "$(cat "$W/iid.bc.daemon")" "$(cat "$W/iid.bc.embedded")" "--build-context: image id, daemon vs embedded"
expect_file_contains "$ERR" "from-extra" "--build-context directory through the daemon"
grep -q "build context extra: 3 entries, 2 files" "$W/daemon.log" \
  || dlog_fail "the daemon did not log the transfer of build context extra"
grep -q "build context base: " "$W/daemon.log" || dlog_fail "no transfer of the oci-layout context"
# docker-image:// is refused as in embedded mode (exit 2, before anything connects).
lk_build --build-context "base=docker-image://alpine:3.19" "$nctx"
cp "$ERR" "$W/dimg-embedded.err"
lk_build --host "$HOST" --build-context "base=docker-image://alpine:3.19" "$nctx"
expect_eq "$RC" "2" "--build-context docker-image:// through the daemon: exit code"
expect_eq "$(cat "$ERR")" "$(cat "$W/dimg-embedded.err")" "--build-context docker-image://: same error as embedded"
expect_file_contains "$ERR" 'docker-image:// sources are not supported' "--build-context docker-image:// error"
echo changed-extra > "$extra/e.txt"
build_ok --host "$HOST" "${bcs[@]}" "$nctx"
expect_file_contains "$ERR" "changed-extra" "a changed --build-context directory reaches the next build"

# 2e. du, prune and image prune through the daemon: the same output as embedded mode on the same
# state dir; --state-dir with --host refused; a bad flag refused with the embedded text; the
# prompt; prune --all frees what an embedded prune --all frees; a prune during a daemon build
# waits for it, and the build succeeds and exports.
DB=$DSTATE/builder
"$LK" du --state-dir "$DB" > "$W/du.embedded" || fail "embedded du of the daemon's state dir"
"$LK" du --host "$HOST" > "$W/du.daemon" || dlog_fail "du through the daemon"
diff "$W/du.embedded" "$W/du.daemon" > "$W/du.diff" || { cat "$W/du.diff" >&2; fail "du differs between modes"; }
"$LK" du --state-dir "$DB" --format json > "$W/du.embedded.json"
"$LK" du --host "$HOST" --format json > "$W/du.daemon.json" || dlog_fail "du --format json through the daemon"
diff "$W/du.embedded.json" "$W/du.daemon.json" > "$W/du.diff" || { cat "$W/du.diff" >&2; fail "du --format json differs between modes"; }
expect_eq "$(jq -r .state_dir "$W/du.daemon.json")" "$DB" "du --format json state_dir through the daemon"
[ "$(jq '.cache | length' "$W/du.daemon.json")" -gt 0 ] || fail "du: no cache entries to compare"
"$LK" du --host "$HOST" -v > /dev/null || dlog_fail "du -v through the daemon"
set +e
"$LK" du --host "$HOST" --state-dir "$DB" > /dev/null 2> "$W/e.err"; rc=$?
set -e
expect_eq "$rc" "2" "du --host --state-dir exit code"
expect_eq "$(cat "$W/e.err")" "error: --state-dir applies to embedded mode: latchkeyd at $HOST uses its own state directory (drop --state-dir, or add --host embedded)" "du --host --state-dir"
for args in "--filter foo=1" "--keep-storage 10XB"; do
  set +e
  "$LK" prune -f $args --state-dir "$DB" > /dev/null 2> "$W/e.embedded"; rce=$?
  "$LK" prune -f --host "$HOST" $args > /dev/null 2> "$W/e.daemon"; rcd=$?
  set -e
  expect_eq "$rcd:$(cat "$W/e.daemon")" "$rce:$(cat "$W/e.embedded")" "prune $args: exit code and error, daemon vs embedded"
done
expect_eq "$(cat "$W/e.daemon")" "error: invalid argument \"10XB\" for \"--keep-storage\" flag: invalid size: '10XB'" "prune --keep-storage 10XB"
before=$(find "$DB" | sort | md5sum)
echo n | "$LK" prune --all --host "$HOST" > "$W/ask.out" 2> "$W/ask.err" || fail "prune --host answered n"
expect_eq "$(cat "$W/ask.err")" "WARNING! This will remove all build cache. Are you sure you want to continue? [y/N] " "prune --host prompt"
expect_eq "$(find "$DB" | sort | md5sum)" "$before" "prune --host answered n changed the state dir"
# What prune --all deletes: the embedded prune on a copy of the daemon's state dir, then the
# daemon's on its own (the items, by kind and id; paths in the state dir made relative).
cp -a "$DB" "$W/dcopy"
items() { grep '^deleted ' "$1" | sed -E "s#$2#STATE#; s/ \([^)]*\)$//" | sort; }
"$LK" prune --all -f --verbose --state-dir "$W/dcopy" > "$W/prune.embedded" || fail "embedded prune --all of the copy"
"$LK" prune --all -f --verbose --host "$HOST" > "$W/prune.daemon" 2> "$W/prune.daemon.err" \
  || { cat "$W/prune.daemon.err" >&2; dlog_fail "prune --all through the daemon"; }
[ -s "$W/prune.daemon.err" ] && { cat "$W/prune.daemon.err" >&2; fail "prune --all through the daemon wrote to stderr"; }
diff <(items "$W/prune.embedded" "$W/dcopy") <(items "$W/prune.daemon" "$DB") > "$W/prune.diff" \
  || { cat "$W/prune.diff" >&2; fail "prune --all deleted other items through the daemon"; }
grep -q '^deleted cache entry ' "$W/prune.daemon" || fail "prune --all through the daemon deleted no cache entry"
grep -q '^Total reclaimed space: ' "$W/prune.daemon" || fail "prune --all through the daemon: no total"
expect_eq "$(jq '.cache | length' <("$LK" du --host "$HOST" --format json))" "0" "cache entries after prune --all"
grep -q "prune --all by uid=$(id -u)([a-z0-9_-]*) gid=$(id -g) pid=[0-9]*: [0-9]* items deleted" "$W/daemon.log" \
  || dlog_fail "the daemon did not log who pruned"
"$LK" image prune -f --host "$HOST" > "$W/iprune.out" || dlog_fail "image prune through the daemon"
expect_eq "$(tail -1 "$W/iprune.out")" "Total reclaimed space: 0B" "image prune through the daemon after prune --all"
# A prune --all while a daemon build runs: it waits; the build's image is kept and exports.
gctx=$(new_context gctx)
printf 'FROM busybox:test\nRUN sleep 2 && echo during-prune > /p\n' > "$gctx/Dockerfile"
"$LK" build --host "$HOST" --progress plain -t during:1 -o "type=oci,dest=$W/during.tar" "$gctx" > /dev/null 2> "$W/during.err" &
pd=$!
for _ in $(seq 1 100); do grep -q 'RUN sleep 2' "$W/during.err" && break; sleep 0.1; done
"$LK" prune --all -f --host "$HOST" > "$W/pd.out" 2> "$W/pd.err" || { cat "$W/pd.err" >&2; dlog_fail "prune --all during a daemon build"; }
wait "$pd" || { cat "$W/during.err" >&2; dlog_fail "the daemon build during a prune failed"; }
expect_eq "$(cat "$W/pd.err")" "waiting for the running builds on $DB to finish" "prune during a daemon build waits"
mkdir -p "$W/during" && tar -xf "$W/during.tar" -C "$W/during"
oci-image-tool validate --type image "$W/during" > /dev/null || fail "the -o archive of the build during prune does not validate"
LATCHKEY_HOST=$HOST "$LK" images > "$W/images.txt"
expect_file_contains "$W/images.txt" "during" "the image built during prune is tagged"
"$LK" image export during:1 --state-dir "$DB" -o "type=oci-layout,dest=$W/during-layout" \
  || fail "the image built during prune cannot be exported from the daemon's store"
oci-image-tool validate --type image "$W/during-layout" > /dev/null || fail "the image built during prune does not validate"

# 3. Incremental context: 8 MiB of files, then one 1 KiB file changed, then one only touched.
big=$(new_context big)
for i in 1 2 3 4 5 6 7 8; do head -c 1048576 /dev/urandom > "$big/blob$i"; done
head -c 1024 /dev/urandom > "$big/small"
printf 'FROM busybox:test\nCOPY small /small\n' > "$big/Dockerfile"
fetched() { grep 'context: ' "$W/daemon.log" | tail -1 | sed -E 's/.* ([0-9]+) files \(([0-9]+) bytes\).*/\1 \2/'; }
build_ok --host "$HOST" "$big"
first=$(fetched)
[ "${first#* }" -gt 8388608 ] || dlog_fail "first transfer sent ${first#* } bytes, want the whole context"
head -c 1024 /dev/urandom > "$big/small"
build_ok --host "$HOST" "$big"
expect_eq "$(fetched)" "1 1024" "files and bytes sent after changing one 1 KiB file"
touch "$big/blob3"
build_ok --host "$HOST" "$big"
expect_eq "$(fetched)" "0 0" "files and bytes sent after touching one file"

# 4. Client secrets through the daemon's broker (provider "client").
rnd() { head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
canary_file="CANARYFILE$(rnd)"
canary_env="CANARYENV$(rnd)"
printf '%s' "$canary_file" > "$W/cf"
export CANARY_ENV_VALUE="$canary_env"
sctx=$(new_context sctx)
cat > "$sctx/Dockerfile" <<'DF'
FROM busybox:test
RUN --mount=type=secret,id=cf --mount=type=secret,id=ce,env=CE sh -c 'test -n "$CE" && wc -c < /run/secrets/cf > /len && cat /run/secrets/cf && echo "$CE"'
DF
build_ok --host "$HOST" --no-cache --secret "id=cf,src=$W/cf" --secret "id=ce,env=CANARY_ENV_VALUE" "$sctx"
cat "$OUT" "$ERR" > "$W/all-daemon-output"
expect_file_contains "$ERR" "****" "the step's secret output is redacted"
grep '"event":"secret.fetch"' "$DSTATE/audit/audit.log" | grep '"secret":"cf"' | tail -1 > "$W/fetch.rec"
expect_file_contains "$W/fetch.rec" '"provider":"client"' "audit record's provider"
expect_file_contains "$W/fetch.rec" '"outcome":"granted"' "audit record's outcome"
grep -q "\"requester\":\"uid=$(id -u)(\?[a-z]*)\? gid=$(id -g) pid=[0-9]*\"" "$W/fetch.rec" \
  || grep "\"requester\":\"uid=$(id -u)([a-z]*) gid=$(id -g) pid=[0-9]*\"" "$W/fetch.rec" > /dev/null \
  || fail "audit record's requester lacks the peer identity: $(cat "$W/fetch.rec")"
# A required secret id the client does not declare: the same error as in embedded mode.
printf 'FROM busybox:test\nRUN --mount=type=secret,id=cf,required=true true\n' > "$W/Dockerfile.req"
build_fails -f "$W/Dockerfile.req" "$sctx"
cp "$ERR" "$W/embedded-req.err"
build_fails --host "$HOST" -f "$W/Dockerfile.req" "$sctx"
expect_file_contains "$ERR" "secret cf: not found" "undeclared secret"
diff <(untimed "$W/embedded-req.err") <(untimed "$ERR") > "$W/req.diff" \
  || { cat "$W/req.diff" >&2; fail "undeclared secret: output differs between modes"; }

# 5. Isolation: two clients, same id, different canaries, concurrently.
ictx=$(new_context ictx)
cat > "$ictx/Dockerfile" <<'DF'
FROM busybox:test
RUN --mount=type=secret,id=tok sh -c 'echo "seen:$(rev /run/secrets/tok)"'
DF
ca="ISOA$(rnd)"; cb="ISOB$(rnd)"
printf '%s' "$ca" > "$W/ta"; printf '%s' "$cb" > "$W/tb"
ra=$(printf '%s' "$ca" | rev); rb=$(printf '%s' "$cb" | rev)
for round in 1 2 3 4; do
  "$LK" build --host "$HOST" --progress plain --no-cache --secret "id=tok,src=$W/ta" "$ictx" > /dev/null 2> "$W/iso-a.$round" &
  pa=$!
  "$LK" build --host "$HOST" --progress plain --no-cache --secret "id=tok,src=$W/tb" "$ictx" > /dev/null 2> "$W/iso-b.$round" &
  pb=$!
  wait "$pa" || { cat "$W/iso-a.$round" >&2; fail "isolation round $round: client A failed"; }
  wait "$pb" || { cat "$W/iso-b.$round" >&2; fail "isolation round $round: client B failed"; }
  expect_file_contains "$W/iso-a.$round" "seen:$ra" "round $round: A's step sees A's canary"
  expect_file_lacks "$W/iso-a.$round" "$rb" "round $round: A's step never sees B's canary"
  expect_file_contains "$W/iso-b.$round" "seen:$rb" "round $round: B's step sees B's canary"
  expect_file_lacks "$W/iso-b.$round" "$ra" "round $round: B's step never sees A's canary"
done

# 6. Cancellation: Ctrl-C, then kill -9, of a client whose step sleeps.
cctx=$(new_context cctx)
printf 'FROM busybox:test\nRUN --mount=type=secret,id=cf sleep 30\n' > "$cctx/Dockerfile"
closes() { grep -c '"event":"session.close".*"reason":"cancelled"' "$DSTATE/audit/audit.log" || true; }
for how in INT KILL; do
  before=$(closes)
  "$LK" build --host "$HOST" --progress plain --no-cache --secret "id=cf,src=$W/cf" "$cctx" > /dev/null 2> "$W/cancel.err" &
  pc=$!
  for _ in $(seq 1 100); do grep -q 'RUN --mount=type=secret,id=cf sleep 30' "$W/cancel.err" && break; sleep 0.1; done
  sleep 0.5
  t0=$(date +%s%N)
  kill -"$how" "$pc"
  set +e; wait "$pc"; rc=$?; set -e
  [ "$how" = INT ] && expect_eq "$rc" "130" "exit code after Ctrl-C"
  # The daemon ends the step and closes the broker session "cancelled" within 1 s.
  for _ in $(seq 1 40); do [ "$(closes)" -gt "$before" ] && break; sleep 0.05; done
  t1=$(date +%s%N)
  [ "$(closes)" -gt "$before" ] || dlog_fail "SIG$how: no session.close \"cancelled\" record"
  ms=$(( (t1 - t0) / 1000000 ))
  [ "$ms" -lt 2000 ] || dlog_fail "SIG$how: cancelled after $ms ms"
  echo "SIG$how of the client: daemon session closed 'cancelled' after ${ms} ms"
done
sleep 0.3
left=$(awk -v w="$DSTATE" 'index($2, w) == 1 {print $2}' /proc/mounts)
[ -z "$left" ] || dlog_fail "mounts left after cancelled builds: $left"

# 7. Canary sweep: client outputs, the daemon's log and state dir.
python3 - "$canary_file" "$canary_env" "$ca" "$cb" > "$W/patterns" <<'EOP'
import base64, sys
for v in sys.argv[1:]:
    b = v.encode()
    print(v); print(b.hex()); print(b.hex().upper())
    for i in range(3):
        for enc in (base64.b64encode, base64.urlsafe_b64encode):
            print(enc(b[i:]).decode()[:-4])
EOP
hits=$(grep -rlaF -f "$W/patterns" "$DSTATE" "$W/daemon.log" "$W/all-daemon-output" "$W"/iso-* 2>/dev/null || true)
for f in $(find "$DSTATE" -type f); do
  gzip -t "$f" 2>/dev/null && zcat "$f" | grep -aF -f "$W/patterns" > /dev/null && hits="$hits $f"
done
[ -z "$hits" ] || fail "canary found in: $hits"

# 7b. An independent Python client (stubs generated from the installed .proto files) serves
# its context and a secret on its session and calls Build.
pyctx=$(new_context pyctx)
printf 'FROM busybox:test\nCOPY f /f\nRUN --mount=type=secret,id=pt,required=true test -s /run/secrets/pt\n' > "$pyctx/Dockerfile"
echo from-python > "$pyctx/f"
printf 'pyvalue' > "$W/pt"
mkdir -p "$W/py"
timeout 50 /usr/bin/python3 "$(dirname "$0")/buildkit_session.py" --api-dir "${LATCHKEY_SOURCE_DIR:?}/api" \
  --daemon "$HOST" --work-dir "$W/py" --session-id 0123456789abcdef0123456789abcdef \
  --secret "pt=$W/pt" --context "$pyctx" --build "$pyctx/Dockerfile" --tag py:1 > "$W/py.out" 2>&1 \
  || { cat "$W/py.out" >&2; dlog_fail "python Build client failed"; }
grep -q '^event start$' "$W/py.out" || { cat "$W/py.out" >&2; fail "python Build: no start event"; }
grep -qE '^result 0 sha256:[0-9a-f]{64} [1-9][0-9]*$' "$W/py.out" \
  || { cat "$W/py.out" >&2; fail "python Build: no successful result"; }
LATCHKEY_HOST=$HOST "$LK" images > "$W/images.txt"
expect_file_contains "$W/images.txt" "py " "image built by the Python client"

# 7c. --ssh through the daemon: the client's real ssh-agent (a throw-away key), served on the
# session as moby.sshforward.v1.SSH: the step's `ssh-add -l` lists the key; the socket path never
# reaches the daemon; an unknown required id fails as in embedded mode; an optional one is skipped.
fp=$(ssh_agent_with_key agent1)
shctx=$(new_context shctx)
ssh_add_tool "$shctx/tool"
cat > "$shctx/Dockerfile" <<'DF'
FROM busybox:test
RUN --mount=type=ssh,id=git --mount=type=bind,target=/t,source=tool /t/ld.so --library-path /t /t/ssh-add -l
DF
build_ok --host "$HOST" --no-cache --ssh "git=$W/agent1.sock" "$shctx"
expect_file_contains "$ERR" "$fp" "the client's agent key listed in the daemon's step"
expect_file_contains "$W/daemon.log" "ssh agents served by the client: git" "the Build names the ssh ids"
! grep -rqaF "$W/agent1.sock" "$W/daemon.log" "$DSTATE" || fail "the agent socket path reached the daemon"
# The daemon recorded the step's use of the client's agent (ssh.forward, agent "client", the
# client as peer) before the step got the socket; the log verifies.
jq -e -s --arg uid "$(id -u)" '[.[] | select(.event == "ssh.forward" and .ssh == "git")] | length == 1 and
    (.[0] | .outcome == "granted" and .agent == "client" and .required == false and
      .peer.transport == "unix" and (.peer.uid | tostring) == $uid and .step.line == 2 and
      (.step.instruction | startswith("RUN --mount=type=ssh,id=git")))' \
  "$DSTATE/audit/audit.log" > /dev/null \
  || fail "daemon ssh.forward record: $(grep ssh.forward "$DSTATE/audit/audit.log")"
"$LK" audit verify --state-dir "$DSTATE" --pubkey "$DSTATE/audit-signing.pub" > "$W/verify.txt" 2>&1 \
  || fail "audit verify of the daemon's log after an ssh build: $(cat "$W/verify.txt")"
printf 'FROM busybox:test\nRUN --mount=type=ssh,id=deploy,required true\n' > "$W/Dockerfile.sshreq"
build_fails --ssh "git=$W/agent1.sock" -f "$W/Dockerfile.sshreq" "$shctx"
cp "$ERR" "$W/embedded-sshreq.err"
build_fails --host "$HOST" --ssh "git=$W/agent1.sock" -f "$W/Dockerfile.sshreq" "$shctx"
expect_file_contains "$ERR" 'ERROR: failed to solve: no SSH key "deploy" forwarded from the client' "unknown ssh id"
jq -e -s '[.[] | select(.event == "ssh.forward" and .ssh == "deploy")] | length == 1 and
    (.[0] | .outcome == "not_found" and .agent == "client" and .required == true and
      .error == "unset ssh forward key deploy" and .peer.transport == "unix")' \
  "$DSTATE/audit/audit.log" > /dev/null \
  || fail "daemon not_found ssh.forward record: $(grep '"ssh":"deploy"' "$DSTATE/audit/audit.log")"
diff <(untimed "$W/embedded-sshreq.err") <(untimed "$ERR") > "$W/sshreq.diff" \
  || { cat "$W/sshreq.diff" >&2; fail "unknown ssh id: output differs between modes"; }
build_fails --host "$HOST" -f "$W/Dockerfile.sshreq" "$shctx"
expect_file_contains "$ERR" 'no SSH key "deploy" forwarded from the client' "ssh mount without --ssh"
printf 'FROM busybox:test\nRUN --mount=type=ssh,id=deploy test ! -e /run/buildkit/ssh_agent.0 && echo optional-skipped\n' > "$W/Dockerfile.sshopt"
build_ok --host "$HOST" --no-cache --ssh "git=$W/agent1.sock" -f "$W/Dockerfile.sshopt" "$shctx"
expect_file_contains "$ERR" "optional-skipped" "an optional ssh mount of an unknown id is skipped"
# The wire: a Python session server written from BuildKit's ssh.proto serves the agent under a
# non-default id, found only through ForwardAgent's metadata key "buildkit.ssh.id".
fp_hash=$(awk '{print $2}' <<<"$fp")
printf 'FROM busybox:test\nRUN --mount=type=ssh,id=git,required --mount=type=bind,target=/t,source=tool sh -c "/t/ld.so --library-path /t /t/ssh-add -l | grep -qF %s"\n' \
  "$fp_hash" > "$shctx/Dockerfile.py"
timeout 50 /usr/bin/python3 "$(dirname "$0")/buildkit_session.py" --api-dir "${LATCHKEY_SOURCE_DIR:?}/api" \
  --daemon "$HOST" --work-dir "$W/py" --session-id 0123456789abcdef0123456789abcde5 \
  --ssh "git=$W/agent1.sock" --context "$shctx" --build "$shctx/Dockerfile.py" > "$W/pyssh.out" 2>&1 \
  || { cat "$W/pyssh.out" >&2; dlog_fail "python ssh session failed"; }
grep -qE '^result 0 sha256:' "$W/pyssh.out" || { cat "$W/pyssh.out" >&2; dlog_fail "python ssh Build failed"; }
expect_file_contains "$W/pyssh.out" "ssh CheckAgent git" "the daemon's CheckAgent on the Python session"
expect_file_contains "$W/pyssh.out" "ssh ForwardAgent git" "the daemon's ForwardAgent names the id in buildkit.ssh.id"

# 8. SIGHUP reaches builds.
expect_eq "$(jq -r '.peer.transport + " " + (.peer.uid | tostring)' "$W/fetch.rec")" "unix $(id -u)" \
  "the build's grant carries the peer object"
reloads() { grep -c "SIGHUP: configuration .* reloaded" "$W/daemon.log" || true; }
write_config "$(printf 'policy:\n  rules:\n    - name: no-cf\n      secret: [cf]\n      allow: false\n      reason: cf is revoked')"
before=$(reloads)
kill -HUP "$DPID"
for _ in $(seq 1 100); do [ "$(reloads)" -gt "$before" ] && break; sleep 0.05; done
[ "$(reloads)" -gt "$before" ] || dlog_fail "no reload after SIGHUP"
build_fails --host "$HOST" --no-cache --secret "id=cf,src=$W/cf" --secret "id=ce,env=CANARY_ENV_VALUE" "$sctx"
expect_file_contains "$ERR" 'denied by policy rule "no-cf": cf is revoked' "a build after the reload"
write_config
before=$(reloads)
kill -HUP "$DPID"
for _ in $(seq 1 100); do [ "$(reloads)" -gt "$before" ] && break; sleep 0.05; done
build_ok --host "$HOST" --no-cache --secret "id=cf,src=$W/cf" --secret "id=ce,env=CANARY_ENV_VALUE" "$sctx"

# 10. Registry logins from the client: the client serves moby.filesync.v1.Auth/Credentials from
# its own Docker login, the daemon has none. A push=true output and a FROM of the private image
# (--pull) succeed; the daemon's audit log has the fetch as provider client with the peer;
# without the client's login the pull fails with the registry's 401 naming where latchkeyd
# looked; the password is in no output, log or state file.
source "$(dirname "$0")/../registry/registry_lib.sh"
REG_PW=reg-canary-$RANDOM-pw-4471
start_basic_registry reg alice "$REG_PW"
wait_registries
RH=$reg_HOST
mkdir -p "$W/client-docker"
DOCKER_CONFIG=$W/client-docker "$LK" login "$RH" -u alice --password-stdin <<< "$REG_PW" \
  > "$W/login.out" 2>&1 || { cat "$W/login.out" >&2; fail "latchkey login on the client"; }
rctx=$(new_context rctx)
printf 'FROM busybox:test\nRUN echo pushed-by-daemon > /marker\n' > "$rctx/Dockerfile"
DOCKER_CONFIG=$W/client-docker build_ok --host "$HOST" -o "type=image,name=$RH/team/base:1,push=true" "$rctx"
[ "$(curl -s -o /dev/null -w '%{http_code}' -u "alice:$REG_PW" \
  -H 'Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' "http://$RH/v2/team/base/manifests/1")" = 200 ] \
  || dlog_fail "the push=true output did not land in the registry"
grep '"event":"secret.fetch"' "$DSTATE/audit/audit.log" | grep "\"secret\":\"registry:$RH\"" > "$W/reg.recs" \
  || dlog_fail "no registry:$RH fetch in the daemon's audit log"
grep '"scope":"push"' "$W/reg.recs" | grep '"outcome":"granted"' | tail -1 > "$W/reg-push.rec"
expect_file_contains "$W/reg-push.rec" '"provider":"client"' "the push's credential came from the client"
expect_file_contains "$W/reg-push.rec" '"rule":"docker-login"' "the client's login is allowed by the built-in rule"
expect_eq "$(jq -r '.peer.transport + " " + (.peer.uid | tostring)' "$W/reg-push.rec")" "unix $(id -u)" \
  "the registry grant carries the peer"
expect_file_contains "$W/daemon.log" "registry logins served by the client" "the session serves Auth"
printf 'FROM %s/team/base:1\nRUN cat /marker\n' "$RH" > "$rctx/Dockerfile.from"
DOCKER_CONFIG=$W/client-docker build_ok --host "$HOST" --pull --no-cache -f "$rctx/Dockerfile.from" "$rctx"
expect_file_contains "$ERR" "pushed-by-daemon" "FROM the private image through the client's login"
grep '"event":"secret.fetch"' "$DSTATE/audit/audit.log" | grep "\"secret\":\"registry:$RH\"" \
  | grep '"scope":"pull"' | grep '"outcome":"granted"' | tail -1 > "$W/reg-pull.rec"
expect_file_contains "$W/reg-pull.rec" '"provider":"client"' "the pull's credential came from the client"
# A wrong password in the client's login: the registry's 401 names the client's login.
cp "$W/client-docker/config.json" "$W/client-login.json"
printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$RH" "$(printf 'alice:wrong-pw' | base64)" > "$W/client-docker/config.json"
DOCKER_CONFIG=$W/client-docker build_fails --host "$HOST" --pull --no-cache -f "$rctx/Dockerfile.from" "$rctx"
expect_file_contains "$ERR" "registry $RH: 401 Unauthorized: the credential from provider client (the latchkeyd client's login for $RH) was rejected" \
  "a pull with a wrong password in the client's login"
cp "$W/client-login.json" "$W/client-docker/config.json"
# The client's login removed: the client answers empty, the daemon has none of its own.
DOCKER_CONFIG=$W/client-docker "$LK" logout "$RH" > /dev/null 2>&1 || fail "latchkey logout on the client"
DOCKER_CONFIG=$W/client-docker build_fails --host "$HOST" --pull --no-cache -f "$rctx/Dockerfile.from" "$rctx"
expect_file_contains "$ERR" "registry $RH: 401 Unauthorized: authentication required, and no credential for $RH was found (looked in: the latchkeyd client's login (provider client), then the registries: map of the latchkey configuration, then the dockerconfig provider)" \
  "a pull without the client's login"
grep '"event":"secret.fetch"' "$DSTATE/audit/audit.log" | grep "\"secret\":\"registry:$RH\"" \
  | grep '"provider":"client"' | grep '"outcome":"not_found"' > /dev/null \
  || dlog_fail "the client's empty answer is not recorded as not_found"
# The canary sweep: the password in no output, log or state file of either side.
! grep -rqaF "$REG_PW" "$W/daemon.log" "$DSTATE" "$ALL_OUTPUT" "$OUT" "$ERR" "$W/login.out" \
  || dlog_fail "the registry password reached a log, output or the daemon's state dir"

# 9. The daemon stops mid-build: it cancels the build and says so; the client exits 1.
"$LK" build --host "$HOST" --progress plain --no-cache --secret "id=cf,src=$W/cf" "$cctx" > /dev/null 2> "$W/lost.err" &
pl=$!
for _ in $(seq 1 100); do grep -q 'sleep 30' "$W/lost.err" && break; sleep 0.1; done
t0=$(date +%s%N)
kill -TERM "$DPID"
set +e; wait "$pl"; rc=$?; wait "$DPID"; set -e
stop_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
expect_eq "$rc" "1" "client exit code when the daemon stops"
# The grace the gRPC server gives calls is 5 s: a build cancelled first ends long before.
[ "$stop_ms" -lt 4500 ] || dlog_fail "latchkeyd took $stop_ms ms to stop with a build running"
# The log ends with the build's session.close ("cancelled") and the signed checkpoint after it
# (written at that close, so the shutdown has nothing left to sign).
expect_eq "$(tail -n 2 "$DSTATE/audit/audit.log" | jq -r '.event + " " + (.reason // "")' | tr '\n' '|')" \
  "session.close cancelled|audit.checkpoint session.close|" \
  "the running build's session is closed (cancelled) and signed before the daemon stops"
expect_eq "$(tail -n 1 "$W/lost.err")" "error: latchkeyd is shutting down: the build was cancelled" \
  "daemon stopped mid-build"
echo "PASS daemon_build_test"
