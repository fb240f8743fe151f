#!/usr/bin/env python3
"""A TCP proxy on 127.0.0.1 that slows both directions down to RATE bytes per second, so a pull
or a push is still running when a test presses Ctrl-C. A fault injector in front of the real
registry, nothing more.

Usage: throttle_proxy.py TARGET_PORT RATE PORT_FILE COUNT_FILE
  Listens on an ephemeral port, writes it to PORT_FILE, forwards every connection to
  127.0.0.1:TARGET_PORT, and keeps COUNT_FILE updated with the bytes forwarded so far (both
  directions), so a test can wait until a transfer is under way."""
import os
import socket
import sys
import threading
import time

target_port, rate, port_file, count_file = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
lock = threading.Lock()
total = 0


def pump(src, dst):
    """Copies src to dst at RATE; an end of stream is passed on as a half-close (the other
    direction keeps going, as HTTP/1.1 keep-alive and request bodies need), an error closes
    both directions."""
    global total
    chunk = max(1024, rate // 20)
    try:
        while True:
            data = src.recv(chunk)
            if not data:
                dst.shutdown(socket.SHUT_WR)
                return
            dst.sendall(data)
            # Under the lock: two pumps sharing the temporary file would race, and the loser's
            # os.replace error would close its connection like a network fault.
            with lock:
                total += len(data)
                with open(count_file + ".tmp", "w") as f:
                    f.write(str(total))
                os.replace(count_file + ".tmp", count_file)
            time.sleep(len(data) / rate)
    except OSError:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def serve(client):
    try:
        upstream = socket.create_connection(("127.0.0.1", target_port))
    except OSError:
        client.close()
        return
    threading.Thread(target=pump, args=(client, upstream), daemon=True).start()
    threading.Thread(target=pump, args=(upstream, client), daemon=True).start()


listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", 0))
listener.listen(16)
with open(port_file + ".tmp", "w") as f:
    f.write(str(listener.getsockname()[1]))
os.replace(port_file + ".tmp", port_file)
while True:
    conn, _ = listener.accept()
    serve(conn)
