#!/usr/bin/env python3
"""pagerduty_standin.py: a loopback stand-in for PagerDuty's Events API v2
(POST /v2/enqueue), for e2e_pagerduty.sh.  It checks each request against
the documented shape (developer.pagerduty.com, "Send an Alert Event"):

  - POST /v2/enqueue, Content-Type application/json, a JSON object;
  - routing_key: the integration key it was started with (else 400
    "invalid event", as PagerDuty answers an unknown key);
  - event_action: trigger | acknowledge | resolve; dedup_key at most 255
    characters; for trigger a payload with summary (1..1024 characters),
    source (non-empty), severity (critical | error | warning | info),
    timestamp (ISO 8601, optional), component, group, class (strings,
    optional), custom_details (an object, optional); links and images
    lists; client, client_url strings;

and answers 202 {"status": "success", "message": "Event processed",
"dedup_key": ...}, or 400 with the errors found, or 429 (with
Retry-After: 1) while the file THROTTLE holds a number above 0 (each 429
counts it down).  Every request is appended to LOG as one JSON line:
path, headers, body, status, errors, and the arrival time.

usage: pagerduty_standin.py PORT LOG ROUTING_KEY THROTTLE
"""
import datetime
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, log, key, throttle = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]


def problems(req):
    errs = []
    if not isinstance(req, dict):
        return ["body is not a JSON object"]
    if req.get("routing_key") != key:
        errs.append("routing_key: not a known integration key")
    action = req.get("event_action")
    if action not in ("trigger", "acknowledge", "resolve"):
        errs.append("event_action: must be trigger, acknowledge or resolve")
    dk = req.get("dedup_key")
    if dk is not None and (not isinstance(dk, str) or not 0 < len(dk) <= 255):
        errs.append("dedup_key: 1..255 characters")
    if action == "trigger":
        p = req.get("payload")
        if not isinstance(p, dict):
            return errs + ["payload: required for trigger"]
        s = p.get("summary")
        if not isinstance(s, str) or not 0 < len(s) <= 1024:
            errs.append("payload.summary: 1..1024 characters")
        if not isinstance(p.get("source"), str) or not p["source"]:
            errs.append("payload.source: required")
        if p.get("severity") not in ("critical", "error", "warning", "info"):
            errs.append("payload.severity: critical, error, warning or info")
        if "timestamp" in p:
            try:
                datetime.datetime.fromisoformat(p["timestamp"].replace("Z", "+00:00"))
            except (AttributeError, ValueError):
                errs.append("payload.timestamp: ISO 8601")
        for k in ("component", "group", "class"):
            if k in p and not isinstance(p[k], str):
                errs.append("payload.%s: a string" % k)
        if "custom_details" in p and not isinstance(p["custom_details"], dict):
            errs.append("payload.custom_details: an object")
        for k in set(p) - {"summary", "source", "severity", "timestamp",
                           "component", "group", "class", "custom_details"}:
            errs.append("payload.%s: unknown field" % k)
    for k in ("links", "images"):
        if k in req and not isinstance(req[k], list):
            errs.append("%s: a list" % k)
    for k in set(req) - {"routing_key", "event_action", "dedup_key", "payload",
                         "links", "images", "client", "client_url"}:
        errs.append("%s: unknown field" % k)
    return errs


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, status, obj, extra=()):
        b = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(b)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(b)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        rec = {"t": time.time(), "path": self.path,
               "headers": {k.lower(): v for k, v in self.headers.items()},
               "body": body.decode("utf-8", "replace")}
        try:
            n = int(open(throttle).read().strip() or 0)
        except (OSError, ValueError):
            n = 0
        errs = []
        if self.path != "/v2/enqueue":
            status, ans = 404, {"status": "not found"}
        elif n > 0:
            with open(throttle, "w") as f:
                f.write(str(n - 1))
            status, ans = 429, {"status": "throttle event", "message": "Requests for this service are arriving too quickly."}
        elif not self.headers.get("Content-Type", "").startswith("application/json"):
            status, ans = 400, {"status": "invalid event", "errors": ["Content-Type"]}
        else:
            try:
                req = json.loads(body)
            except ValueError:
                req = None
            errs = problems(req) if req is not None else ["not JSON"]
            if errs:
                status, ans = 400, {"status": "invalid event", "message": "Event object is invalid", "errors": errs}
            else:
                status, ans = 202, {"status": "success", "message": "Event processed", "dedup_key": req.get("dedup_key", "")}
        rec["status"], rec["errors"] = status, errs
        with open(log, "a") as f:
            f.write(json.dumps(rec) + "\n")
        self.reply(status, ans, [("Retry-After", "1")] if status == 429 else [])


print("listening", flush=True)
ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
