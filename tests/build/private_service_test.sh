#!/usr/bin/env bash
# `latchkey build`: a RUN step reaches a private HTTP service on the host's loopback with a
# bearer token taken from an env secret; the downloaded data lands in the image, the token
# does not; without the token the service refuses (403) and the step fails.
source "$(dirname "$0")/lib.sh"
setup_busybox

token="tok-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
printf '%s' "$token" > "$W/token"
port=$(free_port)
cat > "$W/server.py" <<'PY'
import http.server, sys
token = open(sys.argv[2]).read()
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path != "/data" or self.headers.get("Authorization") != "Bearer " + token:
            self.send_response(403); self.end_headers(); self.wfile.write(b"forbidden\n"); return
        body = b"private-payload-42\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, fmt, *args):
        sys.stderr.write("%s\n" % (fmt % args))
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
python3 "$W/server.py" "$port" "$W/token" 2> "$W/server.log" &
track_pid $!
for _ in $(seq 50); do
  python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null && break
  sleep 0.1
done
# The service really checks the token (a test that cannot fail is a defect).
[ "$(wget -q -O - --header "Authorization: Bearer $token" "http://127.0.0.1:$port/data")" = private-payload-42 ] \
  || fail "the service does not answer with the token"
! wget -q -O /dev/null "http://127.0.0.1:$port/data" 2>/dev/null || fail "the service answers without the token"

ctx=$(new_context ctx)
cat > "$ctx/Dockerfile" <<DF
FROM busybox:test
RUN --mount=type=secret,id=token,env=TOKEN wget -q -O /got --header "Authorization: Bearer \$TOKEN" http://127.0.0.1:$port/data
RUN cat /got
DF
build_ok --secret "id=token,src=$W/token" -o "type=local,dest=$W/out" "$ctx"
expect_eq "$(cat "$W/out/got")" "private-payload-42" "downloaded file in the image"
expect_file_contains "$ERR" "private-payload-42" "step output in the progress"
grep -rqF "$token" "$W/out" && fail "the token is in the image"
expect_file_lacks "$ERR" "$token" "build stderr"

# Without the secret (optional mount, empty TOKEN) the service refuses and the step fails with
# BuildKit's process error text, the env secret reference masked as **** (BuildKit PR #5336).
build_fails --no-cache -o "type=local,dest=$W/out2" "$ctx"
expect_eq "$(last_err_line)" "ERROR: failed to solve: process \"/bin/sh -c wget -q -O /got --header \\\"Authorization: Bearer ****\\\" http://127.0.0.1:$port/data\" did not complete successfully: exit code: 1" "refused download"
[ ! -e "$W/out2" ] || fail "a failed build wrote its output"
echo "private service: OK"
