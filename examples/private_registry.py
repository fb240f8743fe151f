#!/usr/bin/env python3
"""A tiny private artifact server for the demo and tests: serves the files of a directory over
HTTP on 127.0.0.1 and answers 401 unless the request carries `Authorization: Bearer <token>`.

usage: private_registry.py DIR TOKEN_FILE PORT_FILE
The token is read from TOKEN_FILE (so it never appears in a process listing); the chosen port
is written to PORT_FILE once the server listens.
"""
import functools
import http.server
import sys


class Handler(http.server.SimpleHTTPRequestHandler):
    token = b""

    def do_GET(self):
        got = self.headers.get("Authorization", "").encode()
        if got != b"Bearer " + self.token:
            self.send_response(401)
            self.send_header("WWW-Authenticate", "Bearer")
            self.end_headers()
            return
        super().do_GET()

    def log_message(self, *args):
        pass


def main():
    directory, token_file, port_file = sys.argv[1:4]
    with open(token_file, "rb") as f:
        Handler.token = f.read().strip()
    handler = functools.partial(Handler, directory=directory)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    with open(port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    import os
    os.rename(port_file + ".tmp", port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
