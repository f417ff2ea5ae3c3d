#!/bin/bash
# e2e_secrets.sh: no sink secret and no receiver reply leaks (issue 12),
# with the real binary, the real test log and a loopback receiver that
# misbehaves the way real ones do: it answers every delivery with an error
# whose body echoes the request URL (path token and query token), the full
# URL, and tokens of its own (after a credential name, in a JSON field and
# bare; the bare one holds "sig", "key" or "jwt").  The webhook's URL
# keeps its token in the path (Discord style) and the query, the Slack
# hook in its path; an email sink holds SMTP AUTH credentials (username
# and password, both secrets).
#
# Searched for every secret and every echoed token, and for the sinks'
# paths at all (a sink is shown as scheme://host/... only): the daemon's
# stderr (debug on) and stdout, `status` (text and --format json),
# `sqlite3 state.db .dump`, `report` in md, json and html and the
# periodic report files, `test-alert`'s output, and the status server's
# GET /, /api/v1/status and /metrics.  Positive controls show the secrets were in
# play: the receiver saw the tokens, the store holds the (redacted)
# replies, status and test-alert name the sinks.  File modes: state.db,
# -wal, -shm 0600; reports 0640.
. "$TLOGWATCH_SRC/tests/lib/e2e.sh"
T=$E2E_TMP
BIN=$TLOGWATCH_BIN
umask 022

tok() { python3 -c 'import secrets; print(secrets.token_urlsafe(24))'; }
PATHTOK=$(tok)  # in the webhook's path
QTOK=$(tok)     # in the webhook's query
SLACKTOK=$(tok) # the Slack hook's last path segment
REPLYTOK=$(tok) # the receiver's own tokens, echoed in its replies
REPLYTOK2=$(tok)
# The bare one always holds a credential name at a random place (one
# random token in about 300 does): it is a token all the same.
REPLYTOK3=$(python3 -c 'import secrets
t, n = secrets.token_urlsafe(24), secrets.choice(["sIg", "KeY", "jwT"])
i = secrets.randbelow(len(t) - 2)
print(t[:i] + n + t[i + 3:])')
export HOOK_SECRET="hmac-$(tok)"
# Standard Webhooks keys (a rotation: two) and an Alertmanager URL token.
WHKEY1=$(openssl rand -base64 32)
WHKEY2=$(openssl rand -base64 30)
export STD_KEY1="whsec_$WHKEY1" STD_KEY2="whsec_$WHKEY2"
AMTOK=$(tok)
export PD_ROUTING_KEY="R$(openssl rand -hex 15)q"
export GH_TOKEN_SECRET="ghp_$(openssl rand -hex 18)"
# The email sink's SMTP AUTH credentials (its server port is closed: it
# is retried, and shown, all the while).
export SMTP_USER_SECRET="u-$(tok)" SMTP_PASS_SECRET="p-$(tok)"
NEEDLES=("$PATHTOK" "$QTOK" "$SLACKTOK" "$REPLYTOK" "$REPLYTOK2"
    "$REPLYTOK3" "$HOOK_SECRET" "webhooks/987654" "services/T0001"
    "$WHKEY1" "$WHKEY2" "$AMTOK" "$PD_ROUTING_KEY" "$GH_TOKEN_SECRET"
    "$SMTP_USER_SECRET" "$SMTP_PASS_SECRET")

# ---- the receiver ------------------------------------------------------
RPORT=$(free_port)
python3 - "$RPORT" "$T/recv.jsonl" "$REPLYTOK" "$REPLYTOK2" "$REPLYTOK3" \
    >"$T/recv.out" 2>&1 <<'PY' &
import http.server, json, sys
port, log, t1, t2, t3 = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a):
        pass
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        slack = self.path.startswith("/services/")
        url = "http://127.0.0.1:%d%s" % (port, self.path)
        body = json.dumps({
            "error": "bad request to " + url,
            "path": self.path,
            "reply_token": t1,
            "note": "your token %s is not valid; trace %s" % (t2, t3),
        }) + "\nPOST " + self.path + " token=" + t1
        b = body.encode()
        with open(log, "a") as f:
            # std (signing: standard) shares hook's URL: told apart by
            # the Standard Webhooks header
            f.write(json.dumps({"path": self.path,
                                "std": "webhook-id" in self.headers}) + "\n")
        # Slack refuses for good (400), the webhook fails and is retried.
        self.send_response(400 if slack else 500)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)
    do_GET = do_POST  # the github_issue sink lists issues first
print("listening", flush=True)
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
PY
E2E_PIDS+=($!)
check "the receiver listens" wait_until 60 grep -qs listening "$T/recv.out"

# ---- the daemon ----------------------------------------------------------
tl_start a 60
ROOT="$TL_DIR_a/trusted_root.json"
HPORT=$(free_port)
HOOK="http://127.0.0.1:$RPORT/api/webhooks/987654/$PATHTOK?token=$QTOK"
SLACK="http://127.0.0.1:$RPORT/services/T0001/B0001/$SLACKTOK"
tw_config "$T/a.yaml" "$TL_URL_a" "$ROOT" "$T/state.db" \
    "  - {name: hook, type: webhook, url: \"$HOOK\", secret: \"\${HOOK_SECRET}\"}" \
    "  - {name: sl, type: slack, url: \"$SLACK\"}" \
    "  - {name: std, type: webhook, url: \"$HOOK\", format: cloudevents, signing: standard, secret: [\"\${STD_KEY1}\", \"\${STD_KEY2}\"]}" \
    "  - {name: am, type: alertmanager, url: \"http://127.0.0.1:$RPORT/am/$AMTOK\"}" \
    "  - {name: pd, type: pagerduty, url: \"http://127.0.0.1:$RPORT/pd/v2/enqueue\", routing_key: \"\${PD_ROUTING_KEY}\"}" \
    "  - {name: gh, type: github_issue, api_url: \"http://127.0.0.1:$RPORT/gh\", repository: acme/alerts, token: \"\${GH_TOKEN_SECRET}\"}" \
    "  - {name: mail, type: email, url: \"smtp://127.0.0.1:$(free_port)\", from: tlw@example.org, to: [sec@example.org], username: \"\${SMTP_USER_SECRET}\", password: \"\${SMTP_PASS_SECRET}\"}" \
    "watch:" \
    "  - name: enclave-app" \
    "    repository: acme/enclave-app" \
    "    allow: {workflows: [.github/workflows/build-eif.yml], refs: [refs/heads/main]}" \
    "report: {every: 2s, dir: $T/reports}" \
    "http: {listen: 127.0.0.1:$HPORT}"
"$BIN" check-config -c "$T/a.yaml" >"$T/cc.out" 2>&1
check "the config loads" test $? -eq 0
tl_admin a append '{"repository":"acme/enclave-app","workflow":".github/workflows/build-eif.yml","runner_environment":"self-hosted"}' >/dev/null

TLOGWATCH_DEBUG=1 "$BIN" run -c "$T/a.yaml" >"$T/run.out" 2>"$T/run.err" &
RPID=$!
E2E_PIDS+=($RPID)
# requests whose line holds the fixed string $1 (0 before the first)
hits() {
    local n
    n=$(grep -c -F -- "$1" "$T/recv.jsonl" 2>/dev/null)
    echo "${n:-0}"
}
at_least() { [ "$(hits "$1")" -ge "$2" ]; } # pattern n
check "the webhook was tried twice (a retry after the 500)" \
    wait_until 120 at_least "/api/webhooks/987654/$PATHTOK?token=$QTOK\", \"std\": false" 2
check "the Standard Webhooks sink was tried (same URL)" \
    wait_until 120 at_least "/api/webhooks/987654/$PATHTOK?token=$QTOK\", \"std\": true" 1
check "the Slack hook was tried" wait_until 120 at_least "/services/T0001/B0001/$SLACKTOK" 1
check "the Alertmanager sink was tried (its API v2 under the secret path)" \
    wait_until 120 at_least "/am/$AMTOK/api/v2/alerts" 1
check "the PagerDuty sink was tried" wait_until 120 at_least "/pd/v2/enqueue" 1
check "the GitHub issue sink was tried" wait_until 120 at_least "/gh/repos/acme/alerts/issues" 1
mail_tried() { grep -q 'outbox: mail (email smtp://127.0.0.1:[0-9]*/\.\.\.): alert .* not delivered' "$T/run.err"; }
check "the email sink was tried (its server is not there)" wait_until 120 mail_tried
dump() { sqlite3 "$T/state.db" .dump >"$T/dump.sql" 2>"$T/dump.err"; }
stored() { dump && grep -q 'HTTP 500' "$T/dump.sql" && grep -q 'HTTP 400' "$T/dump.sql"; }
check "the store holds both receivers' replies" wait_until 120 stored
check "... redacted: URLs and tokens replaced" \
    bash -c "grep -q 'HTTP 500: .*\[url\]' '$T/dump.sql' && grep -q 'HTTP 500: .*\[redacted\]' '$T/dump.sql'"
check "... cut to 200 bytes" python3 - "$T/state.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
rows = []
for (t,) in db.execute("select name from sqlite_master where type='table'"):
    cols = [c[1] for c in db.execute("pragma table_info(%s)" % t)]
    for c in cols:
        if "error" in c:
            rows += [r[0] for r in db.execute("select %s from %s where %s like 'HTTP %%'" % (c, t, c))]
ok = rows and all(len(r.encode()) <= 200 for r in rows)
if not ok:
    print("  errors:", rows)
sys.exit(0 if ok else 1)
PY
report_files() { [ "$(find "$T/reports" -name 'report-*' ! -name '*.tmp' 2>/dev/null | wc -l)" -ge 3 ]; }
check "periodic reports written" wait_until 120 report_files

# Every surface, while the daemon runs.
"$BIN" status -c "$T/a.yaml" >"$T/status.txt" 2>&1
"$BIN" status -c "$T/a.yaml" --format json >"$T/status.json" 2>&1
check "status names the sinks (redacted)" \
    bash -c "grep -q 'hook' '$T/status.txt' && grep -q 'http://127.0.0.1:$RPORT/\.\.\.' '$T/status.txt'"
check "status --format json names the sinks (redacted)" \
    bash -c "grep -q '\"http://127.0.0.1:$RPORT/\.\.\.\"' '$T/status.json'"
for f in md json html; do
    "$BIN" report -c "$T/a.yaml" --format $f >"$T/report.$f" 2>&1
done
"$BIN" test-alert -c "$T/a.yaml" >"$T/ta.out" 2>"$T/ta.err"
check "test-alert fails (the receiver refuses) and names the sinks" \
    bash -c "grep -q '^hook (webhook http://127.0.0.1:$RPORT/\.\.\.): FAILED: HTTP 500' '$T/ta.out' &&
             grep -q '^sl (slack http://127.0.0.1:$RPORT/\.\.\.): FAILED: HTTP 400' '$T/ta.out'"
SURFACES=("$T/status.txt" "$T/status.json" "$T/dump.sql" "$T/report.md"
    "$T/report.json" "$T/report.html" "$T/ta.out" "$T/ta.err")
check "GET / answers" curl -fsS -o "$T/dash.html" "http://127.0.0.1:$HPORT/"
check "GET /api/v1/status answers" \
    curl -fsS -o "$T/api.json" "http://127.0.0.1:$HPORT/api/v1/status"
check "GET /metrics answers" \
    curl -fsS -o "$T/metrics.txt" "http://127.0.0.1:$HPORT/metrics"
check "the dashboard names the sinks (redacted)" \
    grep -q "http://127.0.0.1:$RPORT/\.\.\." "$T/dash.html"
check "/api/v1/status names the sinks (redacted)" \
    grep -q "http://127.0.0.1:$RPORT/\.\.\." "$T/api.json"
SURFACES+=("$T/dash.html" "$T/api.json" "$T/metrics.txt")
check "state.db, -wal and -shm are 0600" \
    bash -c "[ -f '$T/state.db-wal' ] && [ -f '$T/state.db-shm' ] &&
        [ \"\$(stat -c '%a' '$T/state.db' '$T/state.db-wal' '$T/state.db-shm' | sort -u)\" = 600 ]"
check "report files are 0640" \
    bash -c "[ \"\$(find '$T/reports' -name 'report-*' ! -name '*.tmp' -exec stat -c '%a' {} + | sort -u)\" = 640 ]"
kill -TERM $RPID
wait $RPID
check "run exits 0 on SIGTERM" test $? -eq 0
dump
SURFACES+=("$T/run.err" "$T/run.out" "$T/dump.sql")
while IFS= read -r f; do SURFACES+=("$f"); done < <(find "$T/reports" -type f)

# ---- the search --------------------------------------------------------
check "the daemon logged deliveries (debug on), so its log was searched" \
    bash -c "grep -q 'outbox: hook (webhook http://127.0.0.1:$RPORT/\.\.\.)' '$T/run.err' &&
             grep -q 'http: POST http://127.0.0.1:$RPORT/\.\.\.' '$T/run.err'"
leaks=0
for f in "${SURFACES[@]}"; do
    for n in "${NEEDLES[@]}"; do
        if grep -qF -- "$n" "$f"; then
            echo "  leak: $(basename "$f") holds '$n'"
            grep -nF -- "$n" "$f" | head -3 | cut -c1-300
            leaks=$((leaks + 1))
        fi
    done
done
check "no secret, sink path or echoed reply token in ${#SURFACES[@]} files" test $leaks -eq 0
finish
