#!/usr/bin/env bash
# Docker Engine pulls and runs what `latchkey build --push` pushed: Debian's docker-registry
# (registry_lib.sh) and a private dockerd (tests/docker/docker_lib.sh; loopback registries are
# plain-HTTP for Docker by default) are started once; `docker pull` of the pushed tag must
# report the digest latchkey printed, and `docker run` of it must see the build's files. `make
# deps` installs docker.io; a dockerd that does not start fails the test with its log.
source "$(dirname "$0")/../build/lib.sh"
source "$(dirname "$0")/registry_lib.sh"
source "$(dirname "$0")/../docker/docker_lib.sh"
write_config
start_plain_registry reg1
start_dockerd
wait_registries
H1=$reg1_HOST

make_busybox_rootfs "$W/rootfs"
lk_ok image import --rootfs "$W/rootfs" -t base:1
ctx=$(new_context app)
printf 'FROM base:1\nRUN echo pushed-by-latchkey > /hello\nCMD ["cat", "/hello"]\n' > "$ctx/Dockerfile"
build_ok --push --metadata-file "$W/meta.json" -t "$H1/app:1" "$ctx"
digest=$(jq -r '."containerimage.digest"' "$W/meta.json")

"${D[@]}" pull "$H1/app:1" > "$W/docker-pull.out" 2>&1 || fail "docker pull failed: $(cat "$W/docker-pull.out")"
expect_file_contains "$W/docker-pull.out" "Digest: $digest" "docker pull of the pushed image"
expect_eq "$("${D[@]}" run --rm --network none "$H1/app:1")" "pushed-by-latchkey" "docker run of the pushed image"
echo "registry push to Docker Engine ok"
