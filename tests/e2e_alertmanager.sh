#!/bin/bash
# e2e_alertmanager.sh: the alertmanager sink against a real Prometheus
# Alertmanager (Debian's prometheus-alertmanager, its binary fetched by
# scripts/install-deps.sh), started here on a loopback port with its own
# storage directory and clustering off; the test reads the alerts back
# from its API v2 (GET /api/v2/alerts):
#  - test-alert: monitor.test arrives with labels alertname, severity,
#    log, annotations summary and description, startsAt = detected_at,
#    endsAt = startsAt + resolve_after, generatorURL = the dashboard;
#  - through the durable outbox: with the Alertmanager down, `once` keeps
#    the delivery pending (it ends all the same: the follower is never
#    blocked, the alert is in the store; `status` shows it pending);
#    started, the next `once` delivers it, labels repository and rule;
#  - min_severity: warning keeps a signing.recorded (info) away.
# (e2e_secrets.sh checks an alertmanager URL's token never shows.)
. "$TLOGWATCH_SRC/tests/lib/e2e.sh"
T=$E2E_TMP
BIN=$TLOGWATCH_BIN
CACHE=${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/tlogwatch
AM=${ALERTMANAGER:-$(command -v prometheus-alertmanager || echo "$CACHE/prometheus-alertmanager")}
if [ ! -x "$AM" ]; then
    echo "FAIL - prometheus-alertmanager not found (scripts/install-deps.sh fetches it)"
    echo "0 passed, 1 failed"
    exit 1
fi
REPO=acme/enclave-app
WF=.github/workflows/build-eif.yml

AMPORT=$(free_port)
mkdir -p "$T/am"
cat >"$T/am/am.yml" <<EOF
route:
  receiver: "null"
  group_wait: 1h
receivers:
  - name: "null"
EOF
am_start() {
    "$AM" --config.file="$T/am/am.yml" --storage.path="$T/am/data" \
        --web.listen-address="127.0.0.1:$AMPORT" --cluster.listen-address= \
        --log.level=warn >>"$T/am/out" 2>&1 &
    AM_PID=$!
    E2E_PIDS+=($AM_PID)
    wait_until 60 curl -fsS -o /dev/null "http://127.0.0.1:$AMPORT/-/ready"
}
am_alerts() { # file: every alert the Alertmanager holds, as JSON
    curl -fsS "http://127.0.0.1:$AMPORT/api/v2/alerts?active=true&silenced=true&inhibited=true&unprocessed=true" >"$1"
}

tl_start a 64
HPORT=$(free_port)
tw_config "$T/a.yaml" "$TL_URL_a" "$TL_DIR_a/trusted_root.json" "$T/a.db" \
    "  - {name: am, type: alertmanager, url: \"http://127.0.0.1:$AMPORT\", resolve_after: 2h, min_severity: warning}" \
    "watch:" \
    "  - name: app" \
    "    repository: $REPO" \
    "    allow:" \
    "      workflows: [\"$WF\"]" \
    "      refs: [\"refs/heads/main\"]" \
    "    record_expected: true" \
    "http:" \
    "  listen: 127.0.0.1:$HPORT"
"$BIN" check-config -c "$T/a.yaml" >"$T/cc.out" 2>&1
check "check-config accepts the alertmanager sink" test $? -eq 0

am_start
check "the Alertmanager is up on loopback" test -n "$AM_PID"

# ---- test-alert ------------------------------------------------------------
"$BIN" test-alert -c "$T/a.yaml" >"$T/ta.out" 2>"$T/ta.err"
check "test-alert: exit 0" test $? -eq 0
check "test-alert: the am sink ok" grep -q '^am (alertmanager http://127.0.0.1:[0-9]*/...): ok$' "$T/ta.out"
ID=$(sed -n 's/^sending monitor.test //p' "$T/ta.out")
am_alerts "$T/am1.json"
check "Alertmanager holds monitor.test with the labels, annotations and times" \
    python3 - "$T/am1.json" "$ID" "$HPORT" <<'PY'
import json, sys, datetime
alerts, aid, hport = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
a = [x for x in alerts if x["labels"].get("alertname") == "monitor.test"]
if len(a) != 1:
    sys.exit("monitor.test alerts: %d of %r" % (len(a), alerts))
a = a[0]
l, an = a["labels"], a["annotations"]
want = {"alertname": "monitor.test", "severity": "info", "log": "testlog", "alert_id": aid}
if l != want:
    sys.exit("labels %r != %r" % (l, want))
if not an["summary"].startswith("Test alert from tlogwatch") or \
        not an["description"].startswith("[info] monitor.test: "):
    sys.exit("annotations %r" % an)
p = lambda s: datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
if p(a["endsAt"]) - p(a["startsAt"]) != datetime.timedelta(hours=2):
    sys.exit("endsAt - startsAt = %s" % (p(a["endsAt"]) - p(a["startsAt"])))
if a["generatorURL"] != "http://127.0.0.1:%s/#alerts" % hport:
    sys.exit("generatorURL %r" % a["generatorURL"])
if a["status"]["state"] not in ("active", "unprocessed"):
    sys.exit("state %r" % a["status"])
PY

# ---- through the outbox, the Alertmanager down first --------------------------
"$BIN" once -c "$T/a.yaml" >"$T/sync.out" 2>"$T/sync.err"
check "sync: once exits 0" test $? -eq 0
kill "$AM_PID"
wait "$AM_PID" 2>/dev/null
sha() { printf '%040x' "$1"; }
tl_admin a append "{\"repository\":\"$REPO\",\"workflow\":\"$WF\",\"ref\":\"refs/heads/main\",\"trigger\":\"push\",\"runner_environment\":\"github-hosted\",\"sha\":\"$(sha 1)\"}" >"$T/ap1.json"
tl_admin a append "{\"repository\":\"$REPO\",\"workflow\":\"$WF\",\"ref\":\"refs/heads/main\",\"trigger\":\"push\",\"runner_environment\":\"self-hosted\",\"sha\":\"$(sha 2)\"}" >"$T/ap2.json"
"$BIN" once -c "$T/a.yaml" >"$T/down.out" 2>"$T/down.err"
check "down: once still ends (exit 1: a critical alert)" test $? -eq 1
check "down: the self-hosted signing was alerted" \
    grep -q '"type":"signing.self_hosted_runner"' "$T/down.out"
"$BIN" status -c "$T/a.yaml" >"$T/status.out" 2>&1
check "down: the delivery failed and is kept pending (status)" \
    grep -q '^  am (alertmanager http://127.0.0.1:[0-9]*/...): 1 pending, 0 failed' "$T/status.out"
am_start
# The row waits out its backoff (a couple of seconds after the failure);
# `once` only tries rows that are due, so run it until it has delivered.
up_once() {
    "$BIN" once -c "$T/a.yaml" >"$T/up.out" 2>"$T/up.err" &&
        am_alerts "$T/am2.json" &&
        grep -q signing.self_hosted_runner "$T/am2.json"
}
check "up: a later once delivers the pending alert" wait_until 120 up_once
check "up: the pending alert arrived, labels repository, rule, log, severity" \
    python3 - "$T/am2.json" "$T/down.out" <<'PY'
import json, sys
alerts = json.load(open(sys.argv[1]))
mine = [json.loads(l) for l in open(sys.argv[2]) if l.startswith("{")]
crit = [m for m in mine if m["type"] == "signing.self_hosted_runner"][0]
a = [x for x in alerts if x["labels"].get("alertname") == "signing.self_hosted_runner"]
if len(a) != 1:
    sys.exit("got %r" % [x["labels"] for x in alerts])
l = a[0]["labels"]
want = {"alertname": "signing.self_hosted_runner", "severity": "critical",
        "log": "testlog", "repository": "acme/enclave-app", "rule": "app",
        "alert_id": crit["id"]}
if l != want:
    sys.exit("labels %r != %r" % (l, want))
if a[0]["annotations"]["summary"] != crit["summary"]:
    sys.exit("summary %r" % a[0]["annotations"])
if "acme/enclave-app" not in a[0]["annotations"]["description"]:
    sys.exit("description %r" % a[0]["annotations"]["description"])
PY
check "min_severity warning: signing.recorded (info) never reached it" \
    python3 -c '
import json, sys
sys.exit(any(x["labels"].get("alertname") == "signing.recorded" for x in json.load(open(sys.argv[1]))))' "$T/am2.json"
check "... though it was raised (stdout sink)" \
    grep -q '"type":"signing.recorded"' "$T/down.out"
finish
