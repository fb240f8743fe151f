#!/usr/bin/env bash
# End-to-end: the buildx flags scripts pass to `latchkey build`: --platform (native only),
# -q/--quiet, --add-host, --metadata-file (buildx's keys), --shm-size, --ulimit (applied to RUN
# steps under runc, and part of their cache key), and BuildKit's SecretsUsedInArgOrEnv lint
# warnings on `build`, with exact texts.
source "$(dirname "$0")/lib.sh"
setup_busybox
ctx=$(new_context ctx)
cat > "$ctx/Dockerfile" <<'DF'
FROM busybox:test
ARG NPM_TOKEN
RUN cat /etc/hosts > /hosts.txt && df -k /dev/shm | awk 'NR==2 {print $2}' > /shm.txt \
 && ulimit -n > /nofile.txt && ulimit -Hn > /nofile-hard.txt
DF
WARN='SecretsUsedInArgOrEnv: Do not use ARG or ENV instructions for sensitive data (ARG "NPM_TOKEN") (line 2)'

# 1. Every flag at once.
build_ok --platform linux/amd64 --add-host db.internal:10.1.2.3 --add-host v6=::1 \
  --shm-size 128m --ulimit nofile=1024:2048 --metadata-file "$W/meta.json" \
  --build-arg NPM_TOKEN=npm-canary-value -t app:flags -o "type=local,dest=$W/out" "$ctx"
expect_eq "$(cat "$W/out/hosts.txt")" "$(printf '127.0.0.1\tlocalhost buildkitsandbox\n::1\tlocalhost ip6-localhost ip6-loopback\n10.1.2.3\tdb.internal\n::1\tv6')" "--add-host in /etc/hosts"
expect_eq "$(cat "$W/out/shm.txt")" "131072" "--shm-size 128m"
expect_eq "$(cat "$W/out/nofile.txt") $(cat "$W/out/nofile-hard.txt")" "1024 2048" "--ulimit nofile=1024:2048"
# The lint warning, as BuildKit shows it on the first vertex and buildx summarises it.
expect_eq "$(sed -n '/^#1 \[internal\]/,/^#1 DONE/p' "$ERR")" "$(printf '#1 [internal] load build definition from Dockerfile\n#1 transferring dockerfile: %s done\n#1 WARN: %s\n#1 DONE 0.0s' "$(stat -c %s "$ctx/Dockerfile")B" "$WARN")" "WARN line on #1"
expect_eq "$(tail -n 3 "$ERR")" "$(printf '\n 1 warning found:\n - %s' "$WARN")" "warning summary"
# --metadata-file: buildx's keys.
inspect=$("$LK" image inspect app:flags)
config_digest=$(echo "$inspect" | jq -r .config_digest)
manifest_digest=$(echo "$inspect" | jq -r .manifest)
expect_eq "$(jq -r '."containerimage.config.digest"' "$W/meta.json")" "$config_digest" "metadata config digest"
expect_eq "$(jq -r '."containerimage.digest"' "$W/meta.json")" "$manifest_digest" "metadata digest"
expect_eq "$(jq -r '."containerimage.descriptor".digest + " " + ."containerimage.descriptor".mediaType' "$W/meta.json")" \
  "$manifest_digest application/vnd.oci.image.manifest.v1+json" "metadata descriptor"
expect_eq "$(jq -r '."image.name"' "$W/meta.json")" "docker.io/library/app:flags" "metadata image.name"
[[ "$(jq -r '."buildx.build.ref"' "$W/meta.json")" == latchkey/local/* ]] || fail "buildx.build.ref: $(cat "$W/meta.json")"
expect_eq "$(jq -r 'keys | join(" ")' "$W/meta.json")" \
  "buildx.build.provenance buildx.build.ref containerimage.config.digest containerimage.descriptor containerimage.digest image.name" "metadata keys"
# The base image in buildx's provenance materials: BuildKit's package URL and the digest it
# resolved to (here the stored manifest of busybox:test).
base_digest=$("$LK" image inspect busybox:test | jq -r .manifest)
expect_eq "$(jq -c '."buildx.build.provenance"' "$W/meta.json")" \
  "{\"buildType\":\"https://mobyproject.org/buildkit@v1\",\"materials\":[{\"digest\":{\"sha256\":\"${base_digest#sha256:}\"},\"uri\":\"pkg:docker/busybox@test?platform=linux%2Famd64\"}]}" "metadata provenance materials"

# 2. The RUN options are part of the step's cache key: same flags hit, another --add-host runs.
build_ok --add-host db.internal:10.1.2.3 --add-host v6=::1 --shm-size 128m --ulimit nofile=1024:2048 \
  --build-arg NPM_TOKEN=npm-canary-value "$ctx"
grep -qE '^#[0-9]+ \[2/2\] RUN .*' "$ERR" && grep -q CACHED "$ERR" || fail "same RUN options: not cached"
build_ok --add-host db.internal:10.9.9.9 --build-arg NPM_TOKEN=npm-canary-value -o "type=local,dest=$W/out2" "$ctx"
! grep -q CACHED "$ERR" || fail "another --add-host reused the cached step"
expect_file_contains "$W/out2/hosts.txt" "$(printf '10.9.9.9\tdb.internal')" "second --add-host"

# 3. -q/--quiet: only the image ID on stdout, nothing on stderr (buildx prints no warnings then).
set +e
"$LK" build -q --build-arg NPM_TOKEN=x -t app:quiet "$ctx" > "$OUT" 2> "$ERR"; RC=$?
set -e
expect_eq "$RC" "0" "-q exit code"
expect_eq "$(cat "$OUT")" "$("$LK" image inspect app:quiet | jq -r .config_digest)" "-q prints the image ID"
expect_eq "$(wc -c < "$ERR")" "0" "-q stderr"
"$LK" build --quiet "$ctx" > "$OUT" 2> "$ERR"
[[ "$(cat "$OUT")" =~ ^sha256:[0-9a-f]{64}$ ]] || fail "--quiet: [$(cat "$OUT")]"

# 4. Failures, exact texts.
lk_build --platform linux/arm64 "$ctx"
expect_eq "$RC:$(cat "$ERR")" "1:error: no emulation for linux/arm64 on this host" "--platform linux/arm64"
lk_build --platform linux/amd64,linux/arm/v7 "$ctx"
expect_eq "$RC:$(cat "$ERR")" "1:error: no emulation for linux/arm/v7 on this host" "--platform list"
lk_build --add-host db "$ctx"
expect_eq "$RC:$(cat "$ERR")" "2:error: invalid host db" "--add-host without IP"
lk_build --add-host db:300.1.1.1 "$ctx"
expect_eq "$RC:$(cat "$ERR")" "2:error: invalid host db:300.1.1.1" "--add-host bad IP"
lk_build --shm-size lots "$ctx"
expect_eq "$RC:$(cat "$ERR")" "2:error: invalid argument \"lots\" for \"--shm-size\" flag: invalid size: 'lots'" "--shm-size"
lk_build --ulimit nofile=2048:1024 "$ctx"
expect_eq "$RC:$(cat "$ERR")" "2:error: invalid argument \"nofile=2048:1024\" for \"--ulimit\" flag: ulimit soft limit must be less than or equal to hard limit: 2048 > 1024" "--ulimit soft > hard"
lk_build --ulimit bogus=1 "$ctx"
expect_eq "$RC:$(cat "$ERR")" "2:error: invalid argument \"bogus=1\" for \"--ulimit\" flag: invalid ulimit type: bogus" "--ulimit type"

# 5. The lint honours BuildKit's check directive.
printf '# check=skip=SecretsUsedInArgOrEnv\nFROM busybox:test\nARG NPM_TOKEN\nRUN true\n' > "$ctx/Dockerfile"
build_ok "$ctx"
expect_file_lacks "$ERR" "#1 WARN" "check=skip"; expect_file_lacks "$ERR" "warning found" "check=skip"
echo "buildx flags: OK"
