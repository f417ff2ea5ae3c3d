#!/usr/bin/env python3
"""receiver.py: a loopback webhook receiver for the end-to-end tests.

Records every request as one JSON line (time, method, path, headers, body,
the status it answered) in the --log file, written when the request
arrives (before any --delay), and answers 200 "ok".  It can be told to
misbehave:

  --fail-first K      answer the first K requests with --fail-status
  --fail-status S     500 (default), 429, 400 ...
  --retry-after S     add Retry-After: S to failures
  --delay MS          wait MS before each answer (a delivery "in flight")

Standard library only; binds 127.0.0.1.  "Down" means not running: the
tests stop it and start it again on the same port.
"""
import argparse
import http.server
import json
import sys
import threading
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--fail-first", type=int, default=0)
    ap.add_argument("--fail-status", type=int, default=500)
    ap.add_argument("--retry-after", type=int, default=-1)
    ap.add_argument("--delay", type=int, default=0)
    args = ap.parse_args()
    lock = threading.Lock()
    state = {"n": 0}

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *a):
            pass

        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(n)
            with lock:
                state["n"] += 1
                k = state["n"]
                fail = k <= args.fail_first
                status = args.fail_status if fail else 200
                rec = {
                    "t": time.time(),
                    "seq": k,
                    "method": "POST",
                    "path": self.path,
                    "headers": {h.lower(): v for h, v in self.headers.items()},
                    "body": body.decode("utf-8", "replace"),
                    "status": status,
                }
                with open(args.log, "a") as f:
                    f.write(json.dumps(rec) + "\n")
            if args.delay > 0:
                time.sleep(args.delay / 1000.0)
            reply = b"ok" if not fail else b"failing on purpose"
            self.send_response(status)
            if fail and args.retry_after >= 0:
                self.send_header("Retry-After", str(args.retry_after))
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

    http.server.ThreadingHTTPServer.allow_reuse_address = True
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    print("listening", args.port, flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
