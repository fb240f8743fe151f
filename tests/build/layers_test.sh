#!/usr/bin/env bash
# `latchkey build` layer contents, read back two independent ways (the builder's own
# `-o type=local` and `umoci unpack` of the `-o type=oci-layout` output): deletions (whiteouts),
# a directory replaced (opaque), hard links, ownership and special mode bits, empty dirs,
# USER, COPY --chown/--chmod, COPY heredocs, SHELL.
source "$(dirname "$0")/lib.sh"
setup_busybox
ctx=$(new_context ctx)
echo content > "$ctx/f.txt"
cat > "$ctx/Dockerfile" <<'DF'
FROM busybox:test
RUN mkdir -p /d/sub /keep /empty && echo 1 > /d/sub/a && echo 2 > /d/b && echo k > /keep/k && echo g > /gone
RUN rm /gone && rm -rf /d && mkdir -p /d && echo new > /d/new
RUN echo data > /h1 && ln /h1 /h2 && touch /suid && chown 65534:65534 /suid && chmod 4755 /suid
COPY --chown=nobody:nogroup --chmod=0640 f.txt /owned.txt
COPY <<EOT /heredoc.txt
line one
line two
EOT
SHELL ["/bin/sh", "-ec"]
USER nobody
RUN id -u > /tmp/uid && echo "$0" > /tmp/shell0
DF
build_ok -o "type=local,dest=$W/local" -o "type=oci-layout,dest=$W/layout" "$ctx"
umoci unpack --image "$W/layout:latest" "$W/bundle" > /dev/null 2>&1 || fail "umoci unpack"
for R in "$W/local" "$W/bundle/rootfs"; do
  what="(${R#"$W"/})"
  [ ! -e "$R/gone" ] || fail "$what deleted file /gone is back"
  [ ! -e "$R/d/sub" ] && [ ! -e "$R/d/b" ] || fail "$what old content of the replaced /d is back"
  expect_eq "$(cat "$R/d/new")" "new" "$what /d/new"
  expect_eq "$(cat "$R/keep/k")" "k" "$what /keep/k"
  [ -d "$R/empty" ] || fail "$what empty dir lost"
  expect_eq "$(stat -c %i "$R/h1")" "$(stat -c %i "$R/h2")" "$what hard link"
  expect_eq "$(stat -c '%a %u %g' "$R/suid")" "4755 65534 65534" "$what setuid file"
  expect_eq "$(stat -c '%a %u %g' "$R/owned.txt")" "640 65534 65534" "$what COPY --chown --chmod"
  expect_eq "$(cat "$R/heredoc.txt")" "$(printf 'line one\nline two')" "$what COPY heredoc"
  expect_eq "$(cat "$R/tmp/uid")" "65534" "$what USER nobody"
  expect_eq "$(cat "$R/tmp/shell0")" "/bin/sh" "$what SHELL"
  [ ! -e "$R/.wh.gone" ] && [ -z "$(find "$R" -name '.wh.*' | head -1)" ] || fail "$what whiteout files in the rootfs"
done
oci_config_of "$W/layout" | jq -e '.config.User == "nobody" and .config.Shell == ["/bin/sh", "-ec"]' > /dev/null \
  || fail "config User/Shell: $(oci_config_of "$W/layout" | jq -c .config)"
echo "layers: OK"
