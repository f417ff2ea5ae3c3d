#!/bin/bash
# e2e_server.sh: the status server (http.listen) of the real `tlogwatch run`
# against the loopback test log: during a catch-up the test holds (the test
# log's rate limit), every endpoint answers as README "Status server" says;
# /readyz turns 503 -> 200 once caught up and back to 503 when the log goes
# stale; /metrics passes `promtool check metrics` and its figures equal
# `tlogwatch status --format json` for the same state; /api/v1/status is
# that document; a non-loopback listen needs a token (check-config), and
# with one a request without it gets 401; a port in use stops the start.
. "$TLOGWATCH_SRC/tests/lib/e2e.sh"
T=$E2E_TMP
BIN=$TLOGWATCH_BIN

PROMTOOL=${PROMTOOL:-$(command -v promtool || echo "${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/tlogwatch/promtool")}
if [ ! -x "$PROMTOOL" ]; then
    echo "promtool not found (scripts/install-deps.sh fetches it)" >&2
    exit 1
fi

# code URL [curl args]: the HTTP status of a GET (000: no answer)
code() {
    local url=$1
    shift
    curl -s -o /dev/null -w '%{http_code}' --max-time 30 "$@" "$url"
}
is_code() { [ "$(code "$2")" = "$1" ]; }

# hold NAME BURST: the test log answers BURST more API requests, then one
# each 5 s (429 + Retry-After: 5 beyond it): the catch-up stalls where the
# test wants it, and moves on within seconds of `release`.
hold() {
    eval "TL_HELD_$1=$(tl_refused "$1")"
    tl_admin "$1" rate "{\"rps\":0.2,\"burst\":$2}" >/dev/null
}
release() { tl_admin "$1" rate '{"rps":0}' >/dev/null; }

tl_start a 6000
ROOT_A="$TL_DIR_a/trusted_root.json"
PORT=$(free_port)
S=http://127.0.0.1:$PORT
TW_CONC=4 TW_STALE=5s tw_config "$T/a.yaml" "$TL_URL_a" "$ROOT_A" "$T/a.db" \
    "http: {listen: \"127.0.0.1:$PORT\", ready_lag: 50}"

# ---- during the catch-up ------------------------------------------------
hold a 60
"$BIN" run -c "$T/a.yaml" >"$T/run.out" 2>"$T/run.err" &
RUN_PID=$!
E2E_PIDS+=($RUN_PID)
check "run: the status server answers /livez" wait_until 120 is_code 200 "$S/livez"
check "the test log holds the catch-up" wait_until 300 tl_held a
cursor=$("$BIN" status -c "$T/a.yaml" --format json | jq '.logs[0].cursor // 0')
check "held mid-catch-up (cursor $cursor of 6000)" test "$cursor" -lt 5950
check "/livez: 200 ok" test "$(curl -s "$S/livez")" = ok
check "HEAD /livez: 200" test "$(code "$S/livez" -I)" = 200
curl -s -D "$T/ready1.h" -o "$T/ready1.json" "$S/readyz"
check "/readyz during catch-up: 503" grep -q '^HTTP/1.1 503' "$T/ready1.h"
check "/readyz: JSON, not ready, the lag is the reason" \
    jq -e '.ready == false and any(.reasons[]; test("log testlog: cursor lag [0-9]+ entries, more than http.ready_lag \\(50\\)"))' "$T/ready1.json"
curl -s -D "$T/m1.h" -o "$T/m1.txt" "$S/metrics"
check "/metrics during catch-up: 200, text exposition 0.0.4" \
    grep -qi '^Content-Type: text/plain; version=0.0.4' "$T/m1.h"
check "/metrics passes promtool check metrics" "$PROMTOOL" check metrics <"$T/m1.txt"
check "/metrics: every name tlogwatch_" \
    bash -c "! grep -v '^#' '$T/m1.txt' | grep -qv '^tlogwatch_'"
check "/metrics: build info" grep -q '^tlogwatch_build_info{version="[0-9.]*"} 1$' "$T/m1.txt"
# (the follower reads the 429 that tl_held saw a moment after the log sent it)
held_4xx() {
    curl -s "$S/metrics" | grep -q '^tlogwatch_http_responses_total{log="testlog",class="4xx"} [1-9]'
}
check "/metrics: the held requests were counted as 4xx" wait_until 60 held_4xx
check "/metrics: lag during catch-up" \
    grep -q '^tlogwatch_log_lag_entries{log="testlog"} [1-9][0-9]*$' "$T/m1.txt"
check "/metrics: the request window" grep -q '^tlogwatch_request_window{log="testlog"} [1-4]$' "$T/m1.txt"

# /api/v1/status is `status --format json`: the same document, but for
# the clock (generated_at, ages, the stale flag), taken at another moment
# of the same held state.
same_status() {
    local f='del(.generated_at) | del(.logs[].last_success_age_s) | del(.logs[].stale)'
    curl -s "$S/api/v1/status" | jq -S "$f" >"$T/api.json" &&
        "$BIN" status -c "$T/a.yaml" --format json | jq -S "$f" >"$T/cli.json" &&
        cmp -s "$T/api.json" "$T/cli.json"
}
check "/api/v1/status is the document of status --format json" wait_until 60 same_status
check "/api/v1/status: schema, the log" \
    jq -e '.schema == "tlogwatch.status/v1" and .logs[0].name == "testlog"' "$T/api.json"
curl -s -D "$T/d.h" -o "$T/d.html" "$S/"
check "/: the dashboard, HTML" grep -qi '^Content-Type: text/html' "$T/d.h"
check "/: names the log" grep -q testlog "$T/d.html"
check "an unknown path: 404" is_code 404 "$S/nope"
check "POST /metrics: 405" test "$(code "$S/metrics" -X POST)" = 405
check "DELETE /readyz: 405 with Allow" \
    bash -c "curl -s -D - -o /dev/null -X DELETE '$S/readyz' | grep -qi '^Allow: GET, HEAD'"
check "headers beyond the bound: refused" \
    test "$(code "$S/livez" -H "X-Big: $(head -c 20000 /dev/zero | tr '\0' a)")" != 200

# ---- caught up: ready, and /metrics agrees with status ------------------
release a
# One request answers both: with stale_after 5 s a slow machine may see the
# log go stale again between two reads.
ready_200() {
    curl -s -D "$T/ready2.h" -o "$T/ready2.json" "$S/readyz" &&
        grep -q '^HTTP/1.1 200' "$T/ready2.h"
}
check "/readyz turns 200 once caught up" wait_until 300 ready_200
check "/readyz 200: ready, no reasons" \
    jq -e '.ready == true and .reasons == []' "$T/ready2.json"
# ready_lag is 50: ready may come a few entries before the end
cursor_at_end() {
    test "$("$BIN" status -c "$T/a.yaml" --format json | jq '.logs[0].cursor')" = 6000
}
check "caught up: cursor 6000" wait_until 120 cursor_at_end
# The figures of /metrics and of status --format json for one state (an
# alert raised between the two reads makes them differ: read again).
metrics_match() {
    curl -s "$S/metrics" >"$T/m2.txt" &&
        "$BIN" status -c "$T/a.yaml" --format json >"$T/s2.json" &&
        python3 - "$T/m2.txt" "$T/s2.json" <<'PY'
import json, re, sys
m = {}
for line in open(sys.argv[1]):
    if line.startswith("#") or not line.strip():
        continue
    k, v = line.rsplit(" ", 1)
    m[k] = float(v)
s = json.load(open(sys.argv[2]))
log = s["logs"][0]
sh = log["shards"]
want = {
    'tlogwatch_log_verified_size{log="testlog"}': log["verified_size"],
    'tlogwatch_log_cursor{log="testlog"}': log["cursor"],
    'tlogwatch_log_lag_entries{log="testlog"}': log["lag"],
    'tlogwatch_entries_scanned_total{log="testlog"}': sum(x["entries_scanned"] for x in sh),
    'tlogwatch_proofs_verified_total{log="testlog",kind="checkpoint"}': sum(x["checkpoints_verified"] for x in sh),
    'tlogwatch_proofs_verified_total{log="testlog",kind="consistency"}': sum(x["proofs_verified"] for x in sh),
    'tlogwatch_proofs_verified_total{log="testlog",kind="root"}': sum(x["root_checks_passed"] for x in sh),
    'tlogwatch_log_stale{log="testlog"}': 1 if log["stale"] else 0,
}
for k in s["outbox"]["sinks"]:
    want['tlogwatch_deliveries_pending{sink="%s"}' % k["name"]] = k["pending"]
    want['tlogwatch_deliveries_failed_total{sink="%s"}' % k["name"]] = k["failed"]
for sev, n in s["alerts"]["by_severity"].items():
    got = sum(v for k, v in m.items()
              if k.startswith("tlogwatch_alerts_total{") and 'severity="%s"' % sev in k)
    want["alerts of severity " + sev] = n
    m["alerts of severity " + sev] = got
# per (type, severity): every row of alerts.by_type is a sample, and
# every sample a row; the pending PCR lookups likewise
rows = {'tlogwatch_alerts_total{type="%s",severity="%s"}' % (a["type"], a["severity"]): a["count"]
        for a in s["alerts"]["by_type"]}
want.update(rows)
extra = [k for k in m if k.startswith("tlogwatch_alerts_total{") and k not in rows]
want["tlogwatch_pcr_lookups_pending"] = s["pcr_lookups_pending"]
bad = [(k, v, m.get(k)) for k, v in want.items() if m.get(k) != v] + extra
if bad or log["cursor"] != 6000 or not rows:
    print("mismatch:", bad, file=sys.stderr)
    sys.exit(1)
PY
}
check "/metrics figures equal status --format json's" wait_until 60 metrics_match
check "the compared state is the caught-up one" \
    grep -q '^tlogwatch_entries_scanned_total{log="testlog"} 6000$' "$T/m2.txt"
check "...with alerts counted by type: $(jq -c '[.alerts.by_type[] | [.type, .severity, .count]]' "$T/s2.json")" \
    jq -e '(.alerts.by_type | length) > 0 and (.alerts.by_type | map(.count) | add) > 0' "$T/s2.json"
check "caught-up /metrics passes promtool" "$PROMTOOL" check metrics <"$T/m2.txt"
check "/metrics: answers of class 2xx counted" \
    grep -q '^tlogwatch_http_responses_total{log="testlog",class="2xx"} [1-9]' "$T/m2.txt"

# ---- the log goes stale: 503 again --------------------------------------
tl_pace a 1
stale_503() {
    curl -s -D "$T/ready3.h" -o "$T/ready3.json" "$S/readyz" &&
        grep -q '^HTTP/1.1 503' "$T/ready3.h" &&
        jq -e 'any(.reasons[]; test("log testlog: no checkpoint verified within stale_after \\(5 s\\)"))' \
            "$T/ready3.json" >/dev/null
}
check "/readyz back to 503 once the log is stale (held past stale_after)" \
    wait_until 120 stale_503
check "/metrics: the log is stale" \
    bash -c "curl -s '$S/metrics' | grep -q '^tlogwatch_log_stale{log=\"testlog\"} 1$'"
check "/livez still 200 (the loop turns)" is_code 200 "$S/livez"

# ---- the port is taken: a clear startup error ---------------------------
TW_STALE=5s tw_config "$T/b.yaml" "$TL_URL_a" "$ROOT_A" "$T/b.db" \
    "http: {listen: \"127.0.0.1:$PORT\"}"
"$BIN" run -c "$T/b.yaml" >"$T/b.out" 2>"$T/b.err"
rc=$?
check "a second run on the same port fails to start (exit $rc)" test "$rc" -eq 3
check "...saying which address and why" \
    grep -q "http.listen 127.0.0.1:$PORT: cannot bind: Address already in use" "$T/b.err"

kill -TERM $RUN_PID
wait $RUN_PID
check "run exits 0 on SIGTERM" test $? -eq 0
check "the server said where it listens" \
    grep -q "status server listening on 127.0.0.1:$PORT" "$T/run.err"

# ---- it binds what http.listen says: localhost, an IPv6 literal ----------
release a
# listen_at ADDR URL: run with http.listen ADDR answers /livez at URL
listen_at() {
    local pid ok=1
    tw_config "$T/l.yaml" "$TL_URL_a" "$ROOT_A" "$T/a.db" \
        "http: {listen: \"$1\"}"
    "$BIN" run -c "$T/l.yaml" >"$T/l.out" 2>"$T/l.err" &
    pid=$!
    E2E_PIDS+=($pid)
    wait_until 120 is_code 200 "$2" && ok=0
    kill -TERM $pid
    wait $pid
    return $ok
}
P3=$(free_port)
check "listen localhost:$P3" listen_at "localhost:$P3" "http://localhost:$P3/livez"
if python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null; then
    P4=$(free_port)
    check "listen [::1]:$P4" listen_at "[::1]:$P4" "http://[::1]:$P4/livez"
else
    echo "skip - no IPv6 loopback here"
fi

# ---- a non-loopback address needs a token ---------------------------------
PORT2=$(free_port)
tw_config "$T/c.yaml" "$TL_URL_a" "$ROOT_A" "$T/a.db" \
    "http: {listen: \"0.0.0.0:$PORT2\"}"
"$BIN" check-config -c "$T/c.yaml" >"$T/cc.out" 2>&1
rc=$?
check "check-config refuses 0.0.0.0 without http.token (exit $rc)" test "$rc" -eq 2
check "...naming the key" grep -q "http.listen: a listen address that is not loopback requires http.token" "$T/cc.out"

TOKEN="e2e-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export TLW_E2E_TOKEN=$TOKEN
tw_config "$T/c.yaml" "$TL_URL_a" "$ROOT_A" "$T/a.db" \
    "http: {listen: \"0.0.0.0:$PORT2\", token: \"\${TLW_E2E_TOKEN}\"}"
check "check-config accepts it with a token" "$BIN" check-config -c "$T/c.yaml"
"$BIN" run -c "$T/c.yaml" >"$T/c.out" 2>"$T/c.err" &
RUN2=$!
E2E_PIDS+=($RUN2)
S2=http://127.0.0.1:$PORT2
check "token: /livez needs none" wait_until 120 is_code 200 "$S2/livez"
check "token: /readyz needs none" \
    bash -c "c=\$(curl -s -o /dev/null -w '%{http_code}' '$S2/readyz'); [ \"\$c\" = 200 ] || [ \"\$c\" = 503 ]"
for p in /metrics /api/v1/status /; do
    check "token: $p without it: 401" is_code 401 "$S2$p"
    check "token: $p with a wrong one: 401" \
        test "$(code "$S2$p" -H "Authorization: Bearer ${TOKEN}x")" = 401
    check "token: $p with it: 200" \
        test "$(code "$S2$p" -H "Authorization: Bearer $TOKEN")" = 200
done
check "token: 401 says Bearer" \
    bash -c "curl -s -D - -o /dev/null '$S2/metrics' | grep -qi '^WWW-Authenticate: Bearer'"
# A reload keeps the address and the token in use, and says so (the new
# token from a file: the daemon's environment is the one it started with).
TOKEN2="$TOKEN-rotated"
printf '%s\n' "$TOKEN2" >"$T/token2"
tw_config "$T/c.yaml" "$TL_URL_a" "$ROOT_A" "$T/a.db" \
    "http: {listen: \"0.0.0.0:$PORT2\", token: \"file:$T/token2\"}"
kill -HUP $RUN2
check "reload: a changed http: section is reported" \
    wait_until 60 grep -q "the http: section changed; the status server keeps 0.0.0.0:$PORT2 and its token until a restart" "$T/c.err"
check "reload: the token in use still opens /metrics" \
    test "$(code "$S2/metrics" -H "Authorization: Bearer $TOKEN")" = 200
check "reload: the new one does not yet" \
    test "$(code "$S2/metrics" -H "Authorization: Bearer $TOKEN2")" = 401
curl -s -H "Authorization: Bearer $TOKEN" "$S2/api/v1/status" >"$T/c-status.json"
curl -s -H "Authorization: Bearer $TOKEN" "$S2/metrics" >"$T/c-metrics.txt"
curl -s -H "Authorization: Bearer $TOKEN" "$S2/" >"$T/c-dash.html"
kill -TERM $RUN2
wait $RUN2
"$BIN" status -c "$T/c.yaml" >"$T/c-cli-status.txt" 2>&1
check "the token appears nowhere (logs, pages, status)" \
    bash -c "! grep -rqF '$TOKEN' '$T/c.out' '$T/c.err' '$T/c-status.json' '$T/c-metrics.txt' '$T/c-dash.html' '$T/c-cli-status.txt'"
check "...and the pages were real" jq -e '.schema == "tlogwatch.status/v1"' "$T/c-status.json"

finish
