#!/usr/bin/python3
"""An independent BuildKit-style session client for latchkeyd, in Python with Debian's
python3-grpcio and python3-grpc-tools.

It knows BuildKit's secrets service only from BuildKit's published proto (moby/buildkit
session/secrets/secrets.proto, embedded below as BuildKit writes it), and latchkeyd only from
the installed api/latchkey/v1/control.proto. It:
  1. generates stubs for both into --work-dir with `python3 -m grpc_tools.protoc`,
  2. serves moby.buildkit.secrets.v1.Secrets on a unix socket in --work-dir (a plain grpc.server),
  3. calls latchkey.v1.Control/Session on --daemon with BuildKit's session metadata and pumps the
     stream's bytes to and from a connection to that local server, so the daemon's HTTP/2
     client talks to the Python server through the tunnel (the client is the gRPC server of
     the session, as with buildctl),
  4. prints "session <id> open" once the call is started, and runs until the daemon ends the
     call or it receives SIGTERM; it then prints "session <id> ended: <code>" and exits 0.
Secret values are read from files (--secret ID=PATH), never from the command line.

With --context DIR it also serves latchkey.v1.ContextSync (written from control.proto: the
manifest of DIR, no .dockerignore, and the files' bytes), and with --build DOCKERFILE it then
calls latchkey.v1.Control/Build with that Dockerfile (and --tag), prints "event <name>" for
each progress event and "result <code> <image id> <bytes of context sent>", and ends the
session. With --ssh ID=SOCKET it serves moby.sshforward.v1.SSH too (BuildKit's ssh.proto,
embedded below), the agent named by ForwardAgent's metadata key "buildkit.ssh.id" only.
"""
import argparse
import hashlib
import os
import stat
import queue
import signal
import socket
import subprocess
import sys
import threading
from concurrent import futures

# moby/buildkit session/secrets/secrets.proto (commit 73ed6825c4b7), as published.
BUILDKIT_SECRETS_PROTO = """syntax = "proto3";

package moby.buildkit.secrets.v1;

option go_package = "github.com/moby/buildkit/session/secrets";

service Secrets{
	rpc GetSecret(GetSecretRequest) returns (GetSecretResponse);
}


message GetSecretRequest {
	string ID = 1;
	map<string, string> annotations = 2;
}

message GetSecretResponse {
	bytes data = 1;
}
"""


# moby/buildkit session/sshforward/ssh.proto (commit 73ed6825c4b7), as published; and its
# sshforward.KeySSHID, the gRPC metadata key that names ForwardAgent's agent.
BUILDKIT_SSH_PROTO = """syntax = "proto3";

package moby.sshforward.v1;

option go_package = "github.com/moby/buildkit/session/sshforward";

service SSH {
	rpc CheckAgent(CheckAgentRequest) returns (CheckAgentResponse);
	rpc ForwardAgent(stream BytesMessage) returns (stream BytesMessage);
}

// BytesMessage contains a chunk of byte data
message BytesMessage{
	bytes data = 1;
}

message CheckAgentRequest {
	string ID = 1;
}

message CheckAgentResponse {
}
"""
KEY_SSH_ID = "buildkit.ssh.id"


def generate(api_dir, work_dir):
    bk = os.path.join(work_dir, "bk")
    os.makedirs(bk, exist_ok=True)
    with open(os.path.join(bk, "secrets.proto"), "w") as f:
        f.write(BUILDKIT_SECRETS_PROTO)
    with open(os.path.join(bk, "ssh.proto"), "w") as f:
        f.write(BUILDKIT_SSH_PROTO)
    out = os.path.join(work_dir, "gen")
    os.makedirs(out, exist_ok=True)
    subprocess.run([sys.executable, "-m", "grpc_tools.protoc", "-I", bk, "--python_out=" + out,
                    "--grpc_python_out=" + out, "secrets.proto", "ssh.proto"], check=True)
    subprocess.run([sys.executable, "-m", "grpc_tools.protoc", "-I", api_dir,
                    "--python_out=" + out, "--grpc_python_out=" + out,
                    "latchkey/v1/control.proto"], check=True)
    sys.path.insert(0, out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--api-dir", required=True)
    ap.add_argument("--daemon", required=True, help="unix:///path of latchkeyd's socket")
    ap.add_argument("--work-dir", required=True)
    ap.add_argument("--session-id", required=True)
    ap.add_argument("--secret", action="append", default=[], help="ID=PATH")
    ap.add_argument("--context", help="serve this directory as latchkey.v1.ContextSync")
    ap.add_argument("--build", help="call Build with this Dockerfile, then end")
    ap.add_argument("--tag", action="append", default=[])
    ap.add_argument("--ssh", action="append", default=[], help="ID=AGENT_SOCKET")
    args = ap.parse_args()

    generate(args.api_dir, args.work_dir)
    import grpc
    import secrets_pb2
    import secrets_pb2_grpc
    import ssh_pb2
    import ssh_pb2_grpc
    from latchkey.v1 import control_pb2, control_pb2_grpc

    values = {}
    for s in args.secret:
        sid, path = s.split("=", 1)
        with open(path, "rb") as f:
            values[sid] = f.read()

    class Secrets(secrets_pb2_grpc.SecretsServicer):
        def GetSecret(self, request, context):
            if request.ID not in values:
                context.abort(grpc.StatusCode.NOT_FOUND, "not found")
            return secrets_pb2.GetSecretResponse(data=values[request.ID])

    agents = dict(s.split("=", 1) for s in args.ssh)

    # As BuildKit's sshprovider: CheckAgent by the request's ID, ForwardAgent by the metadata
    # key only (a daemon that names the agent any other way reaches "default", which this
    # client never serves). Prints "ssh <method> <id>" for each call.
    class SSH(ssh_pb2_grpc.SSHServicer):
        def CheckAgent(self, request, context):
            sid = request.ID or "default"
            print("ssh CheckAgent %s" % sid, flush=True)
            if sid not in agents:
                context.abort(grpc.StatusCode.NOT_FOUND, "unset ssh forward key " + sid)
            return ssh_pb2.CheckAgentResponse()

        def ForwardAgent(self, request_iterator, context):
            md = dict(context.invocation_metadata())
            sid = md.get(KEY_SSH_ID) or "default"
            print("ssh ForwardAgent %s" % sid, flush=True)
            if sid not in agents:
                context.abort(grpc.StatusCode.NOT_FOUND, "unset ssh forward key " + sid)
            agent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            agent.connect(agents[sid])

            def to_agent():
                try:
                    for m in request_iterator:
                        agent.sendall(m.data)
                except (grpc.RpcError, OSError):
                    pass
                try:
                    agent.shutdown(socket.SHUT_WR)
                except OSError:
                    pass

            threading.Thread(target=to_agent, daemon=True).start()
            try:
                while True:
                    data = agent.recv(32768)
                    if not data:
                        return
                    yield ssh_pb2.BytesMessage(data=data)
            finally:
                agent.close()

    class ContextSync(control_pb2_grpc.ContextSyncServicer):
        def Manifest(self, request, context):
            root = args.context

            def entry(rel, st):
                return control_pb2.ContextEntry(
                    path=rel, mode=st.st_mode, size=st.st_size if stat.S_ISREG(st.st_mode) else 0,
                    mtime_ns=st.st_mtime_ns, uid=st.st_uid, gid=st.st_gid,
                    link_target=os.readlink(os.path.join(root, rel))
                    if stat.S_ISLNK(st.st_mode) else "")

            yield entry(".", os.stat(root))
            stack = [""]
            while stack:
                d = stack.pop()
                for name in sorted(os.listdir(os.path.join(root, d))):
                    rel = name if not d else d + "/" + name
                    st = os.lstat(os.path.join(root, rel))
                    yield entry(rel, st)
                    if stat.S_ISDIR(st.st_mode):
                        stack.append(rel)

        def ReadFiles(self, request, context):
            for f in request.files:
                with open(os.path.join(args.context, f.path), "rb") as fh:
                    data = fh.read()
                if f.known_sha256 and hashlib.sha256(data).digest() == f.known_sha256:
                    yield control_pb2.FileChunk(path=f.path, unchanged=True, eof=True)
                    continue
                # 1 MiB chunks (gRPC's default message limit is 4 MiB); the path on the first.
                chunks = [data[i:i + (1 << 20)] for i in range(0, len(data), 1 << 20)] or [b""]
                for i, chunk in enumerate(chunks):
                    yield control_pb2.FileChunk(path=f.path if i == 0 else "", data=chunk,
                                                eof=i == len(chunks) - 1)

    local = os.path.join(args.work_dir, "session.sock")
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    secrets_pb2_grpc.add_SecretsServicer_to_server(Secrets(), server)
    if agents:
        ssh_pb2_grpc.add_SSHServicer_to_server(SSH(), server)
    if args.context:
        control_pb2_grpc.add_ContextSyncServicer_to_server(ContextSync(), server)
    server.add_insecure_port("unix:" + local)
    server.start()

    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.connect(local)
    outgoing = queue.Queue()

    def socket_to_stream():
        while True:
            try:
                data = conn.recv(32768)
            except OSError:
                data = b""
            if not data:
                outgoing.put(None)
                return
            outgoing.put(control_pb2.BytesMessage(data=data))

    def requests():
        while True:
            m = outgoing.get()
            if m is None:
                return
            yield m

    threading.Thread(target=socket_to_stream, daemon=True).start()
    channel = grpc.insecure_channel(args.daemon)
    stub = control_pb2_grpc.ControlStub(channel)
    metadata = [("x-docker-expose-session-uuid", args.session_id),
                ("x-docker-expose-session-name", "python"),
                ("x-docker-expose-session-sharedkey", "python-shared-key"),
                ("x-docker-expose-session-grpc-method",
                 "/moby.buildkit.secrets.v1.Secrets/GetSecret")]
    if args.context:
        metadata += [("x-docker-expose-session-grpc-method", "/latchkey.v1.ContextSync/Manifest"),
                     ("x-docker-expose-session-grpc-method", "/latchkey.v1.ContextSync/ReadFiles")]
    if agents:
        metadata += [("x-docker-expose-session-grpc-method", "/moby.sshforward.v1.SSH/CheckAgent"),
                     ("x-docker-expose-session-grpc-method", "/moby.sshforward.v1.SSH/ForwardAgent")]
    call = stub.Session(requests(), metadata=metadata)
    signal.signal(signal.SIGTERM, lambda *_: call.cancel())
    print("session %s open" % args.session_id, flush=True)
    if args.build:
        import json

        def build():
            with open(args.build, "rb") as fh:
                dockerfile = fh.read()
            req = control_pb2.BuildRequest(session_id=args.session_id, dockerfile=dockerfile,
                                           tags=args.tag, context_key="python:" + args.context)
            for sid in values:
                req.secrets.add(id=sid, kind="file", ref=sid)
            req.ssh_ids.extend(agents)
            try:
                for m in stub.Build(req, timeout=60):
                    if m.HasField("result"):
                        r = m.result
                        print("result %d %s %d" % (r.code, r.image_id or r.message,
                                                   r.context_bytes_sent), flush=True)
                    else:
                        print("event " + json.loads(m.event)["event"], flush=True)
            except grpc.RpcError as e:
                print("build error: %s: %s" % (e.code().name, e.details()), flush=True)
            call.cancel()

        threading.Thread(target=build, daemon=True).start()
    code = "OK"
    try:
        for m in call:
            conn.sendall(m.data)
    except grpc.RpcError as e:
        code = e.code().name
    conn.close()
    outgoing.put(None)
    server.stop(None)
    print("session %s ended: %s" % (args.session_id, code), flush=True)


if __name__ == "__main__":
    main()
