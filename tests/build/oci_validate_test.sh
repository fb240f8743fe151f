#!/usr/bin/env bash
# `latchkey build` outputs checked by the real tools: oci-image-tool validates the layout
# (schemas, digests, sizes), skopeo inspects the layout and the archive, umoci unpacks the
# layout (verifying layer digests) and holds the built files; image history records
# `RUN /bin/sh -c ...` without the --mount flags; a `-t` image is usable by a later FROM.
source "$(dirname "$0")/lib.sh"
setup_busybox
printf 's3cr3t-%s' "$RANDOM$RANDOM" > "$W/s.txt"
ctx=$(new_context ctx)
echo "from the context" > "$ctx/hello.txt"
cat > "$ctx/Dockerfile" <<'DF'
FROM busybox:test
COPY hello.txt /app/hello.txt
RUN --mount=type=secret,id=s wc -c /run/secrets/s > /app/len.txt
RUN echo built > /app/built.txt && ln -s built.txt /app/link
ENV APP=demo
CMD ["cat", "/app/built.txt"]
DF
S=(--secret "id=s,src=$W/s.txt")
build_ok "${S[@]}" -o "type=oci-layout,dest=$W/layout" "$ctx"
build_ok "${S[@]}" -o "type=oci,dest=$W/image.tar" "$ctx"

# oci-image-tool: the layout validates (the tool has no --type for archives: §6 of the notes).
oci-image-tool validate --type image "$W/layout" > "$W/validate.txt" 2>&1 \
  || fail "oci-image-tool validate: $(cat "$W/validate.txt")"
grep -q 'Validation succeeded' "$W/validate.txt" || fail "oci-image-tool: $(cat "$W/validate.txt")"
oci-image-tool validate --type image --ref name=latest "$W/layout" > /dev/null 2>&1 \
  || fail "oci-image-tool: no ref name=latest in the layout: $(cat "$W/layout/index.json")"

# skopeo: layout and archive.
skopeo inspect "oci:$W/layout:latest" > "$W/inspect.json" || fail "skopeo inspect oci:layout:latest"
grep -q '"Architecture": "amd64"' "$W/inspect.json" || fail "skopeo inspect: $(cat "$W/inspect.json")"
grep -q '"APP=demo"' "$W/inspect.json" || fail "skopeo inspect lacks the ENV: $(cat "$W/inspect.json")"
skopeo inspect "oci-archive:$W/image.tar" > "$W/inspect-archive.json" || fail "skopeo inspect oci-archive"
expect_eq "$(jq -r .Digest "$W/inspect-archive.json")" "$(jq -r .Digest "$W/inspect.json")" \
  "archive and layout of the same build hold the same manifest"
expect_eq "$(jq '.Layers | length' "$W/inspect.json")" "4" "layers: base + COPY + 2 RUN"

# umoci: unpack verifies the layers and yields the files.
umoci unpack --image "$W/layout:latest" "$W/bundle" > /dev/null 2>&1 || fail "umoci unpack failed"
R=$W/bundle/rootfs
expect_eq "$(cat "$R/app/hello.txt")" "from the context" "COPY in the bundle"
expect_eq "$(cat "$R/app/built.txt")" "built" "RUN output in the bundle"
expect_eq "$(readlink "$R/app/link")" "built.txt" "symlink in the bundle"
expect_eq "$(cut -d' ' -f1 "$R/app/len.txt")" "$(wc -c < "$W/s.txt" | tr -d ' ')" "secret length"
[ ! -e "$R/run/secrets" ] || fail "mount stub /run/secrets in the bundle"
jq -e '.process.args == ["cat", "/app/built.txt"]' "$W/bundle/config.json" > /dev/null \
  || fail "umoci bundle args: $(jq -c .process.args "$W/bundle/config.json")"

# History: BuildKit-style created_by, no mount flags, no secret ids.
skopeo inspect --config "oci:$W/layout:latest" > "$W/config.json"
jq -r '.history[].created_by' "$W/config.json" > "$W/history.txt"
grep -qx 'RUN /bin/sh -c wc -c /run/secrets/s > /app/len.txt # buildkit' "$W/history.txt" \
  || fail "history lacks the secret RUN: $(cat "$W/history.txt")"
grep -q -- '--mount' "$W/history.txt" && fail "history holds mount flags: $(cat "$W/history.txt")"
grep -qx 'COPY hello.txt /app/hello.txt # buildkit' "$W/history.txt" || fail "history lacks COPY: $(cat "$W/history.txt")"
expect_eq "$(jq '[.history[] | select(.empty_layer != true)] | length' "$W/config.json")" \
  "$(jq '.rootfs.diff_ids | length' "$W/config.json")" "history entries with a layer = diff_ids"

# -t name:tag, then a second Dockerfile builds FROM it.
build_ok "${S[@]}" -t app:v1 "$ctx"
"$LK" images > "$W/images.txt"
grep -qE '^(localhost/)?app +v1 ' "$W/images.txt" || fail "latchkey images: $(cat "$W/images.txt")"
ctx2=$(new_context ctx2)
cat > "$ctx2/Dockerfile" <<'DF'
FROM app:v1
RUN cat /app/built.txt /app/hello.txt > /app/both.txt && [ "$APP" = demo ]
DF
build_ok -o "type=local,dest=$W/second" "$ctx2"
expect_eq "$(cat "$W/second/app/both.txt")" "$(printf 'built\nfrom the context')" "FROM app:v1"
echo "oci validate: OK"
