#!/usr/bin/env python3
"""registry.py: a real OCI registry for the tests, behind a token endpoint.

Starts Debian's docker-registry (storage in DIR, listening on a free
127.0.0.1 port) and, in front of it, a small token proxy on another free
loopback port that behaves like ghcr.io's anonymous pull auth:
  - a request without a valid token gets 401 with
    WWW-Authenticate: Bearer realm="http://127.0.0.1:P/token",
    service="test",scope="repository:<name>:pull";
  - GET /token?service=test&scope=... hands out a fresh token;
  - a request with "Authorization: Bearer <token>" is forwarded to the
    registry (the Authorization header is not), the answer is passed back.
  - GET /v2/<name>/tags/list is paged by the proxy as the distribution
    spec says (sorted, n=, last=, Link), since Debian's docker-registry
    2.8 ignores n and last.
  - blobs of repositories redirect/* answer 307 to
    http://localhost:P/blobdata/..., served without a token (as ghcr.io
    sends blobs to its CDN); each such fetch is logged with whether an
    Authorization header came along;
  - GET /admin/revoke forgets every token handed out (as an expired or
    revoked token: the next request with one gets 401 again);
  - faults for negative tests: repositories badrealm/* get a realm on
    plain HTTP off loopback (192.0.2.1, TEST-NET), badtoken/* a token
    response without a token.
Every forwarded request line is appended to DIR/requests.log.

Prints "<proxy port> <registry port>" on one stdout line once both answer,
then serves until SIGTERM/SIGINT or until its parent dies (the registry is
stopped with it).
Loopback only; no network.
"""
import http.client
import http.server
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.parse

REGISTRY_BIN = os.environ.get("TLOGWATCH_REGISTRY_BIN", "/usr/bin/docker-registry")


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from free_port import free_port  # noqa: E402  (below the ephemeral range)


def main():
    if len(sys.argv) != 2:
        print("usage: registry.py DIR", file=sys.stderr)
        return 2
    d = os.path.abspath(sys.argv[1])
    os.makedirs(os.path.join(d, "storage"), exist_ok=True)
    rport = free_port()
    cfg = os.path.join(d, "config.yml")
    with open(cfg, "w") as f:
        f.write(
            "version: 0.1\n"
            "log:\n  level: error\n  accesslog:\n    disabled: false\n"
            "storage:\n  filesystem:\n    rootdirectory: %s\n"
            "  delete:\n    enabled: true\n"
            "http:\n  addr: 127.0.0.1:%d\n" % (os.path.join(d, "storage"), rport)
        )
    log = open(os.path.join(d, "registry.log"), "w")
    reg = subprocess.Popen([REGISTRY_BIN, "serve", cfg], stdout=log, stderr=log)

    tokens = set()
    lock = threading.Lock()
    reqlog = open(os.path.join(d, "requests.log"), "a", buffering=1)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def reply(self, code, body=b"", headers=()):
            self.send_response(code)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def handle_any(self):
            u = urllib.parse.urlsplit(self.path)
            if u.path.startswith("/blobdata/"):
                # the "CDN" a blob redirect leads to: no token needed (the
                # URL is the capability), and it must never get one
                reqlog.write("BLOBDATA %s auth=%s\n" % (
                    u.path, "yes" if self.headers.get("Authorization") else "no"))
                self.forward("GET", "/v2/" + u.path[len("/blobdata/"):], None, {})
                return
            if u.path == "/admin/revoke":
                with lock:
                    tokens.clear()
                reqlog.write("REVOKE\n")
                self.reply(200)
                return
            if u.path == "/token":
                q = urllib.parse.parse_qs(u.query)
                if q.get("service") != ["test"] or not q.get("scope"):
                    self.reply(400, b'{"errors":[{"code":"DENIED"}]}')
                    return
                t = secrets.token_hex(16)
                with lock:
                    tokens.add(t)
                reqlog.write("TOKEN %s\n" % q["scope"][0])
                if ":badtoken/" in q["scope"][0]:  # a broken token service
                    self.reply(200, b'{"expires_in":300}',
                               [("Content-Type", "application/json")])
                    return
                self.reply(200, ('{"token":"%s"}' % t).encode(),
                           [("Content-Type", "application/json")])
                return
            auth = self.headers.get("Authorization", "")
            ok = False
            if auth.startswith("Bearer "):
                with lock:
                    ok = auth[7:] in tokens
            if not ok:
                m = re.match(r"^/v2/(.+?)/(manifests|blobs|tags)/", u.path)
                name = m.group(1) if m else "catalog"
                realm = "http://127.0.0.1:%d/token" % self.server.server_port
                if name.startswith("badrealm/"):  # plain HTTP off loopback
                    realm = "http://192.0.2.1/token"
                ch = ('Bearer realm="%s",service="test",'
                      'scope="repository:%s:pull"' % (realm, name))
                reqlog.write("401 %s %s\n" % (self.command, self.path))
                self.reply(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}',
                           [("WWW-Authenticate", ch),
                            ("Content-Type", "application/json")])
                return
            reqlog.write("%s %s\n" % (self.command, self.path))
            m = re.match(r"^/v2/(.+?)/tags/list$", u.path)
            if m and self.command == "GET":
                self.tag_page(m.group(1), u)
                return
            m = re.match(r"^/v2/(redirect/.+/blobs/sha256:[0-9a-f]{64})$", u.path)
            if m and self.command == "GET":
                # like ghcr.io: blobs of redirect/* are served elsewhere,
                # on another host name ("localhost", same socket)
                self.reply(307, b"", [("Location", "http://localhost:%d/blobdata/%s"
                                       % (self.server.server_port, m.group(1)))])
                return
            n = int(self.headers.get("Content-Length", "0") or "0")
            body = self.rfile.read(n) if n else None
            hdrs = {k: v for k, v in self.headers.items()
                    if k.lower() not in ("authorization", "host", "connection")}
            self.forward(self.command, self.path, body, hdrs)

        def forward(self, method, path, body, hdrs):
            c = http.client.HTTPConnection("127.0.0.1", rport, timeout=30)
            try:
                c.request(method, path, body=body, headers=hdrs)
                r = c.getresponse()
                data = r.read()
                out = []
                for k, v in r.getheaders():
                    kl = k.lower()
                    if kl in ("content-length", "connection", "transfer-encoding"):
                        continue
                    if kl == "location":
                        v = v.replace("127.0.0.1:%d" % rport,
                                      "127.0.0.1:%d" % self.server.server_port)
                    out.append((k, v))
                if self.command == "HEAD":
                    self.send_response(r.status)
                    for k, v in out:
                        self.send_header(k, v)
                    self.send_header("Content-Length",
                                     r.getheader("Content-Length", "0"))
                    self.end_headers()
                else:
                    self.reply(r.status, data, out)
            finally:
                c.close()

        def tag_page(self, name, u):
            """The tag list as the distribution spec pages it (sorted, n=,
            last=, Link header), as ghcr.io does; Debian's docker-registry
            2.8 ignores n and last and answers every tag unsorted."""
            c = http.client.HTTPConnection("127.0.0.1", rport, timeout=30)
            try:
                c.request("GET", "/v2/%s/tags/list" % name)
                r = c.getresponse()
                data = r.read()
            finally:
                c.close()
            if r.status != 200:
                self.reply(r.status, data, [("Content-Type", "application/json")])
                return
            tags = sorted(json.loads(data).get("tags") or [])
            q = urllib.parse.parse_qs(u.query)
            last = q.get("last", [""])[0]
            if last:
                tags = [t for t in tags if t > last]
            hdrs = [("Content-Type", "application/json")]
            if "n" in q:
                n = int(q["n"][0])
                if len(tags) > n:
                    tags = tags[:n]
                    hdrs.append(("Link", '</v2/%s/tags/list?n=%d&last=%s>; rel="next"'
                                 % (name, n, tags[-1])))
            self.reply(200, json.dumps({"name": name, "tags": tags}).encode(), hdrs)

        do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = handle_any

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True

    def stop(*_):
        reg.terminate()
        try:
            reg.wait(5)
        except subprocess.TimeoutExpired:
            reg.kill()
        os._exit(0)

    parent = os.getppid()

    def orphan_watch():
        # the test that started us died without stopping us: stop too
        while os.getppid() == parent:
            time.sleep(0.5)
        stop()

    threading.Thread(target=orphan_watch, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    deadline = time.time() + 15
    while True:
        if reg.poll() is not None:
            print("registry.py: docker-registry exited", file=sys.stderr)
            return 1
        try:
            c = http.client.HTTPConnection("127.0.0.1", rport, timeout=1)
            c.request("GET", "/v2/")
            c.getresponse().read()
            c.close()
            break
        except OSError:
            if time.time() > deadline:
                print("registry.py: docker-registry did not start", file=sys.stderr)
                stop()
            time.sleep(0.05)
    print("%d %d" % (srv.server_port, rport), flush=True)
    srv.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
