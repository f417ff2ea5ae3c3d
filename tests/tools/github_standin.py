#!/usr/bin/env python3
"""github_standin.py: a loopback stand-in for the two GitHub REST API
calls the github_issue sink makes, for e2e_github_issue.sh, checking the
documented request shapes (docs.github.com/rest/issues/issues):

  GET  /repos/{owner}/{repo}/issues?state=all&sort=created&direction=desc
       &per_page=N[&labels=a,b]   list issues, newest first (labels: all
       of them), at most per_page (<= 100)
  POST /repos/{owner}/{repo}/issues  {"title": str, "body": str,
       "labels": [str]}  -> 201 with the issue

Every request must carry Authorization: Bearer TOKEN (else 401 "Bad
credentials"), Accept: application/vnd.github+json, X-GitHub-Api-Version:
2022-11-28 and a User-Agent (GitHub refuses requests without one: 403);
a request to another repository is 404.  Failure injection, each a file
holding a count that every use decrements:
  DIR/ratelimit   answer 403 with Retry-After: 1 (secondary rate limit)
  DIR/lose        create the issue, then answer 502 (the answer is lost)
Requests go to DIR/requests.jsonl, issues to DIR/issues.json.

usage: github_standin.py PORT DIR TOKEN OWNER/REPO
"""
import json
import os
import sys
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, d, token, repo = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
issues = []  # newest last


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
        rec["status"], rec["problems"] = status, problems
        with open(os.path.join(d, "requests.jsonl"), "a") as f:
            f.write(json.dumps(rec) + "\n")
        with open(os.path.join(d, "issues.json"), "w") as f:
            json.dump(issues, f)
        self.reply(status, ans, extra)

    def route(self, method, path, q, body):
        h = self.headers
        if h.get("Authorization") != "Bearer " + token:
            return 401, {"message": "Bad credentials"}, [], ["authorization"]
        problems = []
        if h.get("Accept") != "application/vnd.github+json":
            problems.append("accept")
        if h.get("X-GitHub-Api-Version") != "2022-11-28":
            problems.append("api version")
        if not h.get("User-Agent"):
            return 403, {"message": "User-Agent required"}, [], ["user-agent"]
        if path != "/repos/%s/issues" % repo:
            return 404, {"message": "Not Found"}, [], problems
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
            labels = [x for x in q.get("labels", [""])[0].split(",") if x]
            out = [i for i in reversed(issues)
                   if all(l in [x["name"] for x in i["labels"]] for l in labels)]
            return 200, out[:per], [], problems
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
        num = len(issues) + 1
        issue = {"number": num, "title": req["title"], "body": req.get("body", ""),
                 "labels": [{"name": x} for x in req.get("labels", [])],
                 "state": "open", "user": {"login": "tlogwatch-bot"},
                 "html_url": "https://github.example/%s/issues/%d" % (repo, num)}
        issues.append(issue)
        if take("lose"):
            return 502, {"message": "Server Error"}, [], problems
        return 201, issue, [], problems

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")


print("listening", flush=True)
ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
