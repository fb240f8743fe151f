#!/usr/bin/python3
"""An independent latchkeyd client: stubs generated with `python3 -m grpc_tools.protoc` from
api/latchkey/v1/control.proto into a temporary directory; prints one line per call.

  control_client.py API_DIR WORK_DIR unix:///path info
  control_client.py API_DIR WORK_DIR unix:///path images
  control_client.py API_DIR WORK_DIR unix:///path rm REF
  control_client.py API_DIR WORK_DIR unix:///path du
  control_client.py API_DIR WORK_DIR unix:///path prune [--all] [--filter F]... [--keep-storage S]
A TCP target (127.0.0.1:PORT) is reached with TLS when $LK_TEST_TLS_CA names the CA that signed
the daemon's certificate; $LK_TEST_TLS_CERT and $LK_TEST_TLS_KEY, when set, are the client's
certificate and key (mutual TLS).
Errors: "error: <CODE>: <details>" on stdout, exit 1.
"""
import json
import os
import subprocess
import sys


def read(path):
    with open(path, "rb") as f:
        return f.read()


def channel(grpc, target):
    ca = os.environ.get("LK_TEST_TLS_CA")
    if not ca:
        return grpc.insecure_channel(target)
    cert, key = os.environ.get("LK_TEST_TLS_CERT"), os.environ.get("LK_TEST_TLS_KEY")
    creds = grpc.ssl_channel_credentials(root_certificates=read(ca),
                                         private_key=read(key) if key else None,
                                         certificate_chain=read(cert) if cert else None)
    return grpc.secure_channel(target, creds)


def main():
    api_dir, work_dir, target, cmd = sys.argv[1:5]
    out = os.path.join(work_dir, "gen-control")
    os.makedirs(out, exist_ok=True)
    subprocess.run([sys.executable, "-m", "grpc_tools.protoc", "-I", api_dir,
                    "--python_out=" + out, "--grpc_python_out=" + out,
                    "latchkey/v1/control.proto"], check=True)
    sys.path.insert(0, out)
    import grpc
    from latchkey.v1 import control_pb2, control_pb2_grpc
    stub = control_pb2_grpc.ControlStub(channel(grpc, target))
    try:
        if cmd == "info":
            r = stub.Info(control_pb2.InfoRequest(), timeout=10)
            print(json.dumps({"version": r.version, "state_dir": r.state_dir,
                              "providers": list(r.providers),
                              "audit_signing_key_id": r.audit_signing_key_id,
                              "peer": {"uid": r.peer.uid, "gid": r.peer.gid, "pid": r.peer.pid,
                                       "user": r.peer.user, "transport": r.peer.transport,
                                       "client_cn": r.peer.client_cn},
                              "my_pid": os.getpid(), "my_uid": os.getuid(), "pid": r.pid,
                              "open_sessions": r.open_sessions}, sort_keys=True))
        elif cmd == "images":
            r = stub.Images(control_pb2.ImagesRequest(), timeout=10)
            for i in r.images:
                print(i.ref, i.id, i.manifest_digest, i.created, i.size)
        elif cmd == "rm":
            r = stub.RemoveImage(control_pb2.RemoveImageRequest(ref=sys.argv[5]), timeout=10)
            print("removed", sys.argv[5])
            if os.environ.get("LK_TEST_RM_DETAILS"):
                print("untagged", r.untagged)
                for d in r.deleted:
                    print("deleted", d)
        elif cmd == "du":
            r = stub.DiskUsage(control_pb2.DiskUsageRequest(), timeout=10)
            print(json.dumps({"state_dir": r.state_dir, "total": r.total,
                              "reclaimable": r.reclaimable,
                              "reclaimable_all": r.reclaimable_all,
                              "usage": {u.kind: [u.count, u.bytes] for u in r.usage},
                              "images": [i.ref for i in r.images],
                              "cache": len(r.cache)}, sort_keys=True))
        elif cmd == "prune":
            req = control_pb2.PruneRequest()
            args = sys.argv[5:]
            while args:
                a = args.pop(0)
                if a == "--all":
                    req.all = True
                elif a == "--filter":
                    req.filters.append(args.pop(0))
                elif a == "--keep-storage":
                    req.keep_storage = args.pop(0)
                else:
                    sys.exit("unknown prune flag " + a)
            r = stub.Prune(req, timeout=10)
            print("pruned", len(r.items), r.reclaimed, "in_use" if r.in_use else "done",
                  r.state_dir)
        else:
            sys.exit("unknown command " + cmd)
    except grpc.RpcError as e:
        print("error: %s: %s" % (e.code().name, e.details()))
        sys.exit(1)


if __name__ == "__main__":
    main()
