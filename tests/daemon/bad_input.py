#!/usr/bin/python3
"""Hostile and careless latchkeyd clients for tests/daemon/daemon_ops_test.sh (Debian's
python3-grpcio; stubs generated from api/latchkey/v1/control.proto).

  bad_input.py API_DIR WORK_DIR raw-garbage SOCKET
      connects to the unix socket, writes 64 KiB of bytes that are not HTTP/2, and prints
      "closed by the daemon" when the daemon closes the connection (10 s at most).
  bad_input.py API_DIR WORK_DIR session-garbage unix:///SOCKET SESSION_ID
      opens Control/Session with BuildKit's metadata and sends garbage as the tunnel's bytes;
      prints the call's end as "<CODE>: <details>".
  bad_input.py API_DIR WORK_DIR idle SOCKET N
      opens N unix connections that send nothing, prints "N idle connections" and holds them
      until SIGTERM.
  bad_input.py API_DIR WORK_DIR stalled-sessions unix:///SOCKET N
      opens N Control/Session calls that never read their response stream, prints "N stalled
      sessions" and holds them until SIGTERM.
"""
import os
import signal
import socket
import subprocess
import sys
import threading


def stubs(api_dir, work_dir):
    out = os.path.join(work_dir, "gen-bad")
    os.makedirs(out, exist_ok=True)
    subprocess.run([sys.executable, "-m", "grpc_tools.protoc", "-I", api_dir,
                    "--python_out=" + out, "--grpc_python_out=" + out,
                    "latchkey/v1/control.proto"], check=True)
    sys.path.insert(0, out)
    import grpc
    from latchkey.v1 import control_pb2, control_pb2_grpc
    return grpc, control_pb2, control_pb2_grpc


def metadata(sid):
    return [("x-docker-expose-session-uuid", sid),
            ("x-docker-expose-session-name", "bad-input"),
            ("x-docker-expose-session-sharedkey", "k"),
            ("x-docker-expose-session-grpc-method", "/moby.buildkit.secrets.v1.Secrets/GetSecret")]


def hold():
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    while not stop.wait(0.2):
        pass


def main():
    api_dir, work_dir, cmd = sys.argv[1:4]
    args = sys.argv[4:]
    if cmd == "raw-garbage":
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(args[0])
        s.settimeout(10)
        junk = bytes((i * 7 + 13) % 256 for i in range(65536))
        try:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" + junk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            while s.recv(65536):
                pass
            print("closed by the daemon")
        except ConnectionResetError:
            print("closed by the daemon")
        except socket.timeout:
            print("still open after 10 s")
    elif cmd == "session-garbage":
        grpc, pb, pb_grpc = stubs(api_dir, work_dir)
        stub = pb_grpc.ControlStub(grpc.insecure_channel(args[0]))

        def requests():
            yield pb.BytesMessage(data=b"\x00\x01garbage, not an HTTP/2 server's preface" * 64)
            threading.Event().wait(10)

        try:
            for _ in stub.Session(requests(), metadata=metadata(args[1]), timeout=10):
                pass
            print("OK")
        except grpc.RpcError as e:
            print("%s: %s" % (e.code().name, e.details()))
    elif cmd == "idle":
        conns = []
        for _ in range(int(args[1])):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(args[0])
            conns.append(s)
        print("%d idle connections" % len(conns), flush=True)
        hold()
    elif cmd == "stalled-sessions":
        grpc, pb, pb_grpc = stubs(api_dir, work_dir)
        ch = grpc.insecure_channel(args[0])
        stub = pb_grpc.ControlStub(ch)
        stop = threading.Event()

        def requests():
            stop.wait()
            return
            yield  # a generator that sends nothing until the end

        calls = [stub.Session(requests(), metadata=metadata("stalled-%d" % i))
                 for i in range(int(args[1]))]
        print("%d stalled sessions" % len(calls), flush=True)
        hold()
        stop.set()
        for c in calls:
            c.cancel()
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
