#!/usr/bin/python3
"""A small Docker token server (the registry's `auth: token:` protocol) for the tests.

Docker's token protocol (distribution/docs/spec/auth/token.md, oauth.md):
  GET  /token?service=S&scope=repository:NAME:ACTIONS[&scope=...]   Basic credentials or none
  POST /token  grant_type=password (username, password) | refresh_token (refresh_token),
               service, scope, client_id
Answers {"token", "access_token", "expires_in", "issued_at"} (POST with a password grant and
access_type=offline also "refresh_token"). The JWT is RS256, signed with the key made for the run;
its x5c header carries the certificate the registry trusts (`rootcertbundle`).

Access: a known user gets every action it asks for; anyone (also anonymous) may pull
repositories under "public/". Wrong credentials: 401; an unknown refresh token: 400
invalid_grant (RFC 6749). Every request is logged, one JSON line, to --log (never a password).

Usage: token_server.py --port P --key K.pem --cert C.pem --issuer I --service S
                       --users users.json (user -> password) --refresh refresh.json
                       (refresh token -> user) --log FILE
"""
import argparse
import base64
import json
import secrets
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization

ARGS = None
KEY = None
X5C = None
USERS = {}
REFRESH = {}


def log(entry):
    with open(ARGS.log, "a") as f:
        f.write(json.dumps(entry) + "\n")


def granted(user, scopes):
    access = []
    for scope in scopes:
        parts = scope.split(":")
        if len(parts) < 3 or parts[0] != "repository":
            continue
        name, actions = ":".join(parts[1:-1]), parts[-1].split(",")
        if user is None:
            actions = [a for a in actions if a == "pull" and name.startswith("public/")]
        if actions:
            access.append({"type": "repository", "name": name, "actions": actions})
    return access


def token_for(user, scopes):
    now = int(time.time())
    claims = {
        "iss": ARGS.issuer,
        "sub": user or "",
        "aud": ARGS.service,
        "exp": now + 300,
        "nbf": now - 10,
        "iat": now,
        "jti": secrets.token_hex(8),
        "access": granted(user, scopes),
    }
    return jwt.encode(claims, KEY, algorithm="RS256", headers={"x5c": [X5C]}), claims["access"]


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def grant(self, method, user, scopes, grant_type, extra=None):
        token, access = token_for(user, scopes)
        log({"method": method, "grant": grant_type, "user": user, "scopes": scopes,
             "access": access, "status": 200})
        body = {"token": token, "access_token": token, "expires_in": 300,
                "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        body.update(extra or {})
        self.answer(200, body)

    def refuse(self, method, status, grant_type, user, body):
        log({"method": method, "grant": grant_type, "user": user, "status": status})
        self.answer(status, body)

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        q = urllib.parse.parse_qs(url.query)
        scopes = [s for v in q.get("scope", []) for s in v.split(" ")]
        auth = self.headers.get("Authorization", "")
        if not auth:
            return self.grant("GET", None, scopes, "anonymous")
        if not auth.startswith("Basic "):
            return self.refuse("GET", 401, "basic", None, {"details": "unsupported"})
        user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
        if USERS.get(user) != password:
            return self.refuse("GET", 401, "basic", user,
                               {"details": "incorrect username or password"})
        return self.grant("GET", user, scopes, "basic")

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        form = urllib.parse.parse_qs(self.rfile.read(n).decode())
        one = lambda k: form.get(k, [""])[0]
        scopes = [s for v in form.get("scope", []) for s in v.split(" ")]
        grant_type = one("grant_type")
        if grant_type == "refresh_token":
            user = REFRESH.get(one("refresh_token"))
            if user is None:
                return self.refuse("POST", 400, grant_type, None, {"error": "invalid_grant"})
            return self.grant("POST", user, scopes, grant_type)
        if grant_type == "password":
            user = one("username")
            if USERS.get(user) != one("password"):
                return self.refuse("POST", 401, grant_type, user, {"error": "invalid_grant"})
            return self.grant("POST", user, scopes, grant_type)
        return self.refuse("POST", 400, grant_type, None, {"error": "unsupported_grant_type"})


def main():
    global ARGS, KEY, X5C, USERS, REFRESH
    p = argparse.ArgumentParser()
    for flag in ("--key", "--cert", "--issuer", "--service", "--users", "--refresh", "--log"):
        p.add_argument(flag, required=True)
    p.add_argument("--port", type=int, required=True)
    ARGS = p.parse_args()
    with open(ARGS.key, "rb") as f:
        KEY = serialization.load_pem_private_key(f.read(), password=None)
    with open(ARGS.cert, "rb") as f:
        cert = x509.load_pem_x509_certificate(f.read())
    X5C = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
    with open(ARGS.users) as f:
        USERS = json.load(f)
    with open(ARGS.refresh) as f:
        REFRESH = json.load(f)
    ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
