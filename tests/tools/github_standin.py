#!/usr/bin/env python3
"""github_standin.py: a loopback stand-in for the two GitHub REST API
calls the github_issue sink makes, for e2e_github_issue.sh, checking the
documented request shapes (docs.github.com/rest/issues/issues):

  GET  /repos/{owner}/{repo}/issues?state=all&sort=created&direction=desc
       &per_page=N&page=P[&labels=a,b][&since=YYYY-MM-DDTHH:MM:SSZ]
       list issues, newest first (labels: all of them; since: updated at
       or after it), page P (from 1) of per_page (<= 100) each;
       with more than one page a Link header names the "next", "last",
       "first" and "prev" pages as GitHub's does (docs.github.com/rest/
       using-the-rest-api/using-pagination-in-the-rest-api)
  POST /repos/{owner}/{repo}/issues  {"title": str, "body": str,
       "labels": [str]}  -> 201 with the issue

Every request must carry Authorization: Bearer TOKEN (else 401 "Bad
credentials"), Accept: application/vnd.github+json, X-GitHub-Api-Version:
2022-11-28 and a User-Agent (GitHub refuses requests without one: 403);
a request to another repository is 404.  RO_TOKEN (optional) may read but
not write issues: its POST is 403 "Resource not accessible by personal
access token", with requests left in the rate limit.  Every answer
carries GitHub's rate-limit headers (x-ratelimit-limit, -remaining,
-used, -reset, -resource; docs.github.com/rest/using-the-rest-api/
rate-limits-for-the-rest-api).  Failure injection, each a file holding a
count that every use decrements:
  DIR/primary     the primary rate limit runs out: from this request until
                  a reset 3 s ahead every request is 403 "API rate limit
                  exceeded" with x-ratelimit-remaining: 0 and
                  x-ratelimit-reset: the reset (no Retry-After); the
                  stand-in alone decides when it ends: at its reset
  DIR/ratelimit   answer 403 with Retry-After: 1 (secondary rate limit)
  DIR/lose        create the issue, then answer 502 (the answer is lost)
  DIR/seed        open DIR/flood issues at this request (see below)
and DIR/flood holding N: with the next issue created (or at DIR/seed's
request) N other issues with the sink's labels are opened after it, so
that one lands beyond the first page of the list; DIR/age (seconds) back-
dates their created_at and updated_at.
Requests go to DIR/requests.jsonl, issues to DIR/issues.json.

usage: github_standin.py PORT DIR TOKEN OWNER/REPO [RO_TOKEN]
"""
import json
import os
import re
import sys
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, d, token, repo = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
ro_token = sys.argv[5] if len(sys.argv) > 5 else None
issues = []  # newest last
LIMIT = 5000
window = {"reset": int(time.time()) + 3600, "used": 0, "exhausted_until": 0}


def take(name):
    p = os.path.join(d, name)
    try:
        n = int(open(p).read().strip() or 0)
    except (OSError, ValueError):
        return False
    if n <= 0:
        return False
    with open(p, "w") as f:
        f.write(str(n - 1))
    return True


def count(name):
    """The whole count in DIR/name, and the file emptied."""
    p = os.path.join(d, name)
    try:
        n = int(open(p).read().strip() or 0)
    except (OSError, ValueError):
        return 0
    with open(p, "w") as f:
        f.write("0")
    return n


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def flood(labels, n):
    at = iso(time.time() - count("age"))
    for k in range(n):
        num = len(issues) + 1
        issues.append({"number": num, "title": "someone else's %d" % k,
                       "created_at": at, "updated_at": at,
                       "body": "not from tlogwatch", "state": "open",
                       "labels": [{"name": x} for x in labels],
                       "user": {"login": "someone"},
                       "html_url": "https://github.example/%s/issues/%d" % (repo, num)})


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, status, obj, extra=()):
        b = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(b)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(b)

    def handle_any(self, method):
        n = int(self.headers.get("Content-Length", "0") or 0)
        body = self.rfile.read(n) if n else b""
        u = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(u.query)
        rec = {"t": time.time(), "method": method, "path": u.path, "query": q,
               "headers": {k.lower(): v for k, v in self.headers.items()},
               "body": body.decode("utf-8", "replace")}
        status, ans, extra, problems = self.route(method, u.path, q, body)
        extra = list(extra) + self.ratelimit_headers()
        rec["status"], rec["problems"] = status, problems
        rec["answer_headers"] = {k.lower(): v for k, v in extra}
        with open(os.path.join(d, "requests.jsonl"), "a") as f:
            f.write(json.dumps(rec) + "\n")
        with open(os.path.join(d, "issues.json"), "w") as f:
            json.dump(issues, f)
        self.reply(status, ans, extra)

    def ratelimit_headers(self):
        """GitHub's headers on every answer: the core window's state."""
        now = time.time()
        if now >= window["reset"]:
            window["reset"], window["used"] = int(now) + 3600, 0
        if now < window["exhausted_until"]:
            left, reset = 0, window["exhausted_until"]
        else:
            left, reset = LIMIT - window["used"], window["reset"]
        return [("x-ratelimit-limit", str(LIMIT)),
                ("x-ratelimit-remaining", str(left)),
                ("x-ratelimit-used", str(LIMIT - left)),
                ("x-ratelimit-reset", str(reset)),
                ("x-ratelimit-resource", "core")]

    def route(self, method, path, q, body):
        h = self.headers
        auth = h.get("Authorization")
        if auth != "Bearer " + token and (ro_token is None or auth != "Bearer " + ro_token):
            return 401, {"message": "Bad credentials",
                         "documentation_url": "https://docs.github.com/rest"}, [], ["authorization"]
        window["used"] += 1
        problems = []
        if h.get("Accept") != "application/vnd.github+json":
            problems.append("accept")
        if h.get("X-GitHub-Api-Version") != "2022-11-28":
            problems.append("api version")
        if not h.get("User-Agent"):
            return 403, {"message": "User-Agent required"}, [], ["user-agent"]
        if path != "/repos/%s/issues" % repo:
            return 404, {"message": "Not Found"}, [], problems
        if window["exhausted_until"] <= time.time() and take("primary"):
            window["exhausted_until"] = int(time.time()) + 3
        if time.time() < window["exhausted_until"]:
            return 403, {"message": "API rate limit exceeded for user ID 1.",
                         "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"}, [], problems
        if take("seed"):
            flood([x for x in q.get("labels", [""])[0].split(",") if x], count("flood"))
        if take("ratelimit"):
            return 403, {"message": "You have exceeded a secondary rate limit."}, [("Retry-After", "1")], problems
        if method == "GET":
            want = {"state": ["all"], "sort": ["created"], "direction": ["desc"]}
            for k, v in want.items():
                if q.get(k) != v:
                    problems.append("query " + k)
            per = int(q.get("per_page", ["30"])[0])
            if not 1 <= per <= 100:
                problems.append("per_page")
            page = int(q.get("page", ["1"])[0])
            if page < 1:
                problems.append("page")
                page = 1
            labels = [x for x in q.get("labels", [""])[0].split(",") if x]
            since = q.get("since", [""])[0]
            if since and not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", since):
                return 422, {"message": "Validation Failed"}, [], problems + ["since"]
            out = [i for i in reversed(issues)
                   if all(l in [x["name"] for x in i["labels"]] for l in labels)
                   and i["updated_at"] >= since]
            last = max(1, (len(out) + per - 1) // per)
            link = []
            if last > 1:
                def at(p):
                    qq = {k: v[0] for k, v in q.items()}
                    qq["page"] = str(p)
                    return "<http://127.0.0.1:%d/repositories/1/issues?%s>" % (
                        port, urllib.parse.urlencode(qq))
                rels = []
                if page < last:
                    rels += [(page + 1, "next"), (last, "last")]
                if page > 1:
                    rels += [(1, "first"), (page - 1, "prev")]
                link = [("Link", ", ".join('%s; rel="%s"' % (at(p), r) for p, r in rels))]
            return 200, out[(page - 1) * per:page * per], link, problems
        try:
            req = json.loads(body)
        except ValueError:
            return 400, {"message": "Problems parsing JSON"}, [], problems + ["json"]
        if h.get("Content-Type", "").split(";")[0] != "application/json":
            problems.append("content-type")
        if not isinstance(req.get("title"), str) or not req["title"]:
            return 422, {"message": "Validation Failed"}, [], problems + ["title"]
        if not isinstance(req.get("body", ""), str) or \
                not all(isinstance(x, str) for x in req.get("labels", [])):
            return 422, {"message": "Validation Failed"}, [], problems + ["body/labels"]
        for k in set(req) - {"title", "body", "labels", "assignees", "milestone", "type"}:
            problems.append("unknown field " + k)
        if auth != "Bearer " + token:
            return 403, {"message": "Resource not accessible by personal access token",
                         "documentation_url": "https://docs.github.com/rest/issues/issues#create-an-issue",
                         "status": "403"}, [], problems
        num = len(issues) + 1
        issue = {"number": num, "title": req["title"], "body": req.get("body", ""),
                 "created_at": iso(time.time()), "updated_at": iso(time.time()),
                 "labels": [{"name": x} for x in req.get("labels", [])],
                 "state": "open", "user": {"login": "tlogwatch-bot"},
                 "html_url": "https://github.example/%s/issues/%d" % (repo, num)}
        issues.append(issue)
        flood(req.get("labels", []), count("flood"))
        if take("lose"):
            return 502, {"message": "Server Error"}, [], problems
        return 201, issue, [], problems

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")


print("listening", flush=True)
ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
