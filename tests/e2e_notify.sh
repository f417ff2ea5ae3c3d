#!/bin/bash
# e2e_notify.sh: delivery end to end, with the real binary, the real test
# log and a loopback receiver (tests/tools/receiver.py):
#  - test-alert through webhook, slack, exec and stdout; the Slack payload
#    validated against Block Kit's documented structure, the webhook HMAC
#    verified by an independent `openssl dgst -hmac`; a receiver that is
#    down makes test-alert fail, naming no secret;
#  - a log alert (fork) reaches every sink: webhook body = the alert, id
#    header, signature; exec gets its variables and the JSON file;
#  - receiver down, then up after 429 + Retry-After: every heartbeat
#    alert arrives, none lost, the Retry-After delay is kept;
#  - kill -9 while a delivery is in flight, restart: it is delivered;
#  - a hanging exec hook is killed at its time limit and retried.
# Secrets (webhook URL token, Slack hook path, HMAC key) never appear in
# what tlogwatch prints.
. "$TLOGWATCH_SRC/tests/lib/e2e.sh"
T=$E2E_TMP
BIN=$TLOGWATCH_BIN
export TMPDIR="$T/tmp" # exec alert files land here
mkdir -p "$TMPDIR"
RECV="$TLOGWATCH_SRC/tests/tools/receiver.py"
export HOOK_SECRET="hmac-key-$RANDOM$RANDOM"
TOKEN="tok$RANDOM$RANDOM"
SLACKPATH="/services/T000/B000/slacksecret$RANDOM"

recv_start() { # name port [receiver flags]: start a receiver, wait for it
    local name=$1 port=$2 i
    shift 2
    python3 "$RECV" --port "$port" --log "$T/$name.jsonl" "$@" \
        >"$T/$name.recv.out" 2>&1 &
    eval "RECV_PID_$name=$!"
    E2E_PIDS+=($!)
    wait_until 60 grep -qs listening "$T/$name.recv.out"
}
recv_stop() { # name
    local pid
    eval "pid=\$RECV_PID_$1"
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
}
wait_for() { # seconds cmd...: poll cmd every 0.2 s
    local n=$(($1 * 5))
    shift
    while [ $n -gt 0 ]; do
        "$@" && return 0
        sleep 0.2
        n=$((n - 1))
    done
    return 1
}
count_lines() { [ -f "$1" ] && wc -l <"$1" || echo 0; }
no_secret() { # file...: none holds a secret
    ! grep -q -e "$HOOK_SECRET" -e "$TOKEN" -e "slacksecret" "$@"
}

# Validate every Slack request in a receiver log against Block Kit's
# documented structure (https://api.slack.com/reference/block-kit/blocks).
slack_valid() { # log path-prefix min-count
    python3 - "$@" <<'PY'
import json, sys
log, prefix, need = sys.argv[1], sys.argv[2], int(sys.argv[3])
def text_ok(t, mx, plain_only=False):
    if not isinstance(t, dict) or set(t) - {"type", "text", "emoji", "verbatim"}:
        return False
    if t.get("type") not in (("plain_text",) if plain_only else ("plain_text", "mrkdwn")):
        return False
    s = t.get("text")
    return isinstance(s, str) and 0 < len(s) <= mx
def block_ok(b):
    ty = b.get("type")
    if ty == "header":
        return set(b) <= {"type", "text", "block_id"} and text_ok(b.get("text"), 150, True)
    if ty == "section":
        if "text" not in b and "fields" not in b:
            return False
        if "text" in b and not text_ok(b["text"], 3000):
            return False
        f = b.get("fields", [None])
        if "fields" in b and not (isinstance(f, list) and 0 < len(f) <= 10 and all(text_ok(x, 2000) for x in f)):
            return False
        return True
    if ty == "context":
        e = b.get("elements")
        return isinstance(e, list) and 0 < len(e) <= 10 and all(text_ok(x, 3000) for x in e)
    return ty == "divider"
n = 0
for line in open(log):
    r = json.loads(line)
    if not r["path"].startswith(prefix):
        continue
    m = json.loads(r["body"])
    if not (isinstance(m.get("text"), str) and m["text"] and isinstance(m.get("blocks"), list)
            and 0 < len(m["blocks"]) <= 50 and all(block_ok(b) for b in m["blocks"])):
        print("invalid Slack message:", r["body"][:300], file=sys.stderr)
        sys.exit(1)
    if r["headers"].get("content-type") != "application/json":
        sys.exit(1)
    n += 1
sys.exit(0 if n >= need else 1)
PY
}

# Every webhook request's signature equals an HMAC computed by openssl.
hmac_valid() { # log path-prefix min-count
    local n=0 bad=0 t sig body want
    while IFS=$'\t' read -r sig body; do
        t=${sig#t=}
        t=${t%%,*}
        want=$(printf '%s.%s' "$t" "$body" |
            openssl dgst -sha256 -hmac "$HOOK_SECRET" -r | cut -d' ' -f1)
        if [ "$sig" = "t=$t,v1=$want" ]; then
            n=$((n + 1))
        else
            bad=$((bad + 1))
        fi
    done < <(python3 -c '
import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["path"].startswith(sys.argv[2]):
        print(r["headers"].get("x-tlogwatch-signature", "") + "\t" + r["body"])
' "$1" "$2")
    [ "$bad" -eq 0 ] && [ "$n" -ge "$3" ]
}

tl_start a 64
RPORT=$(free_port)
HOOK="http://127.0.0.1:$RPORT/hook?token=$TOKEN"
SLACK="http://127.0.0.1:$RPORT$SLACKPATH"
cat >"$T/hook.sh" <<EOF
#!/bin/sh
# Records its environment and the alert file; fails while $T/hook.fail exists,
# hangs while $T/hook.hang exists (and removes it, so the retry succeeds).
if [ -e "$T/hook.hang" ]; then
    rm -f "$T/hook.hang"
    echo \$\$ >"$T/hook.hung.pid"
    sleep 600
fi
[ -e "$T/hook.fail" ] && exit 3
n=\$(ls "$T"/exec.*.env 2>/dev/null | wc -l)
env >"$T/exec.\$n.env"
cp "\$ALERT_JSON_FILE" "$T/exec.\$n.json"
EOF
chmod +x "$T/hook.sh"

sinks_yaml=(
    "  - {name: hook, type: webhook, url: \"$HOOK\", secret: \"\${HOOK_SECRET}\"}"
    "  - {name: slack, type: slack, url: \"$SLACK\"}"
    "  - {name: pager, type: exec, command: $T/hook.sh, timeout: 1500ms}"
)
tw_config "$T/a.yaml" "$TL_URL_a" "$TL_DIR_a/trusted_root.json" "$T/a.db" \
    "${sinks_yaml[@]}"
# tw_config ends with the notify: list, so the sinks above join it.

# ---- test-alert ---------------------------------------------------------
recv_start r1 "$RPORT"
"$BIN" test-alert -c "$T/a.yaml" >"$T/ta.out" 2>"$T/ta.err"
check "test-alert: exit 0 with every sink up" test $? -eq 0
check "test-alert: one ok line per sink (4)" \
    test "$(grep -c ': ok$' "$T/ta.out")" -eq 4
check "test-alert: webhook and Slack each got one request" \
    test "$(count_lines "$T/r1.jsonl")" -eq 2
check "test-alert: the Slack message is valid Block Kit" \
    slack_valid "$T/r1.jsonl" /services/ 1
check "test-alert: webhook HMAC verifies with openssl" \
    hmac_valid "$T/r1.jsonl" /hook 1
check "test-alert: monitor.test with the id header equal to the body id" \
    bash -c "python3 -c '
import json,sys
r=[json.loads(l) for l in open(sys.argv[1]) if json.loads(l)[\"path\"].startswith(\"/hook\")][0]
b=json.loads(r[\"body\"])
sys.exit(0 if b[\"type\"]==\"monitor.test\" and r[\"headers\"][\"x-tlogwatch-alert-id\"]==b[\"id\"] else 1)' '$T/r1.jsonl'"
check "test-alert: exec got EVENT=monitor.test and the JSON file" \
    bash -c "grep -qx 'EVENT=monitor.test' '$T/exec.0.env' &&
             python3 -c 'import json,sys; json.load(open(sys.argv[1]))' '$T/exec.0.json'"
check "exec environment holds no secret and not tlogwatch's environment" \
    bash -c "! grep -q -e HOOK_SECRET -e '$HOOK_SECRET' -e '^TLOGWATCH_BIN=' '$T/exec.0.env'"
check "test-alert: output names no secret" no_secret "$T/ta.out" "$T/ta.err"
# Negative twin: receiver down, the two HTTP sinks fail, exit 1.
recv_stop r1
"$BIN" test-alert -c "$T/a.yaml" >"$T/ta2.out" 2>"$T/ta2.err"
check "test-alert: exit 1 with the receiver down" test $? -eq 1
check "test-alert: the two HTTP sinks FAILED, exec and stdout ok" \
    bash -c "[ \$(grep -c FAILED '$T/ta2.out') -eq 2 ] && [ \$(grep -c ': ok\$' '$T/ta2.out') -eq 2 ]"
check "test-alert (failing): output names no secret" \
    no_secret "$T/ta2.out" "$T/ta2.err"
rm -f "$T"/exec.*

# ---- a log alert through every sink ------------------------------------
recv_start r2 "$RPORT"
"$BIN" once -c "$T/a.yaml" >"$T/sync.out" 2>"$T/sync.err"
check "sync: once exits 0 with nothing to deliver" test $? -eq 0
tl_admin a fork '{"index":10}' >/dev/null
tl_admin a grow '{"count":5}' >/dev/null
"$BIN" once -c "$T/a.yaml" >"$T/fork.out" 2>"$T/fork.err"
check "fork: once exits 1 (critical alert)" test $? -eq 1
check "fork: webhook got log.inconsistent, id header = body id" \
    bash -c "hook_ids() { python3 -c '
import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r[\"path\"].startswith(\"/hook\"):
        b = json.loads(r[\"body\"]); print(r[\"headers\"].get(\"x-tlogwatch-alert-id\") == b[\"id\"], b[\"type\"])
' \"\$1\"; }; [ \"\$(hook_ids '$T/r2.jsonl')\" = 'True log.inconsistent' ]"
check "fork: webhook body is the stdout JSON line, byte for byte" \
    bash -c "python3 -c '
import json, sys
bodies = [json.loads(l)[\"body\"] for l in open(sys.argv[1]) if json.loads(l)[\"path\"].startswith(\"/hook\")]
lines = [l.rstrip(\"\\n\") for l in open(sys.argv[2]) if l.startswith(\"{\")]
sys.exit(0 if bodies == lines else 1)' '$T/r2.jsonl' '$T/fork.out'"
check "fork: webhook HMAC verifies with openssl" hmac_valid "$T/r2.jsonl" /hook 1
check "fork: Slack message valid Block Kit" slack_valid "$T/r2.jsonl" /services/ 1
check "fork: Slack message names the type and the log" \
    bash -c "grep '/services/' '$T/r2.jsonl' | grep -q 'log.inconsistent' &&
             grep '/services/' '$T/r2.jsonl' | grep -q 'testlog'"
check "fork: exec got EVENT, SEVERITY, ALERT_ID, LOG_NAME" \
    bash -c "grep -qx 'EVENT=log.inconsistent' '$T/exec.0.env' &&
             grep -qx 'SEVERITY=critical' '$T/exec.0.env' &&
             grep -qx 'LOG_NAME=testlog' '$T/exec.0.env' &&
             grep -q '^ALERT_ID=[0-9a-f]\{64\}\$' '$T/exec.0.env'"
check "fork: exec JSON file is the alert (same id as ALERT_ID)" \
    bash -c "python3 -c '
import json, sys
a = json.load(open(sys.argv[1]))
env = dict(l.rstrip(\"\\n\").split(\"=\", 1) for l in open(sys.argv[2]) if \"=\" in l)
sys.exit(0 if a[\"id\"] == env[\"ALERT_ID\"] and a[\"type\"] == env[\"EVENT\"] else 1)' '$T/exec.0.json' '$T/exec.0.env'"
check "fork: the alert file is removed after the hook" \
    bash -c "! ls '$TMPDIR'/tlogwatch-alert-* 2>/dev/null | grep -q ."
check "fork: outbox has nothing pending" \
    bash -c "'$BIN' status -c '$T/a.yaml' | grep -q 'outbox: 0 pending'"
check "fork: logs name no secret" no_secret "$T/fork.out" "$T/fork.err"
recv_stop r2
rm -f "$T"/exec.*

# ---- a watched signing: what a person acts on reaches Slack and exec ----
recv_start r5 "$RPORT"
tw_config "$T/w.yaml" "$TL_URL_a" "$TL_DIR_a/trusted_root.json" "$T/w.db" \
    "${sinks_yaml[@]}" \
    "watch:" \
    "  - {name: app, repository: acme/enclave-app, allow: {workflows: [.github/workflows/build-eif.yml], refs: [refs/heads/main]}}"
"$BIN" once -c "$T/w.yaml" >/dev/null 2>&1 # sync
SHA=$(printf '%s' "$RANDOM$RANDOM" | sha1sum | cut -c1-40)
printf '{"repository":"acme/enclave-app","workflow":".github/workflows/other.yml","ref":"refs/heads/dev","sha":"%s","trigger":"push"}' \
    "$SHA" >"$T/w.req"
tl_admin a append "$(cat "$T/w.req")" >"$T/w.resp"
"$BIN" once -c "$T/w.yaml" >"$T/w.out" 2>"$T/w.err"
check "signing: once exits 1 (signing.unexpected)" test $? -eq 1
check "signing: Slack message valid Block Kit" slack_valid "$T/r5.jsonl" /services/ 1
check "signing: Slack has repository, workflow, ref, commit, run and entry links" \
    python3 - "$T/r5.jsonl" "$T/w.req" "$T/w.resp" "$T/w.out" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if json.loads(l)["path"].startswith("/services/")]
req, resp = json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
alert = [json.loads(l) for l in open(sys.argv[4]) if l.startswith("{")][0]
msg = recs[0]["body"]
repo, sha, idx = req["repository"], req["sha"], resp["index"]
run = alert["identity"]["run_invocation_uri"]
want = ["<https://github.com/%s|%s>" % (repo, repo),
        "<https://github.com/%s/commit/%s|%s>" % (repo, sha, sha),
        "<https://search.sigstore.dev/?logIndex=%d|%d>" % (idx, idx),
        "<%s|" % run, req["workflow"], req["ref"], "github-hosted", "app",
        alert["id"], "signing.unexpected", "critical"]
miss = [w for w in want if w not in json.dumps(json.loads(msg))
        and w not in "".join(b.get("text", {}).get("text", "") for b in json.loads(msg)["blocks"])
        and w not in msg]
if miss:
    sys.exit("missing in the Slack message: %r" % miss)
PY
check "signing: exec got the identity fields as appended" \
    python3 - "$T/exec.0.env" "$T/w.req" "$T/w.resp" <<'PY'
import json, sys
env = dict(l.rstrip("\n").split("=", 1) for l in open(sys.argv[1]) if "=" in l)
req, resp = json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
want = {"EVENT": "signing.unexpected", "REPOSITORY": req["repository"],
        "WORKFLOW": req["workflow"], "REF": req["ref"], "WORKFLOW_SHA": req["sha"],
        "TRIGGER": req["trigger"], "RULE": "app", "LOG_INDEX": str(resp["index"]),
        "SEARCH_URL": "https://search.sigstore.dev/?logIndex=%d" % resp["index"]}
bad = {k: (env.get(k), v) for k, v in want.items() if env.get(k) != v}
if bad:
    sys.exit("exec environment differs: %r" % bad)
PY
recv_stop r5
rm -f "$T"/exec.*

# ---- down, then 429 + Retry-After, then up: heartbeats all arrive ------
tl_start b 16
RPORT3=$(free_port)
tw_config "$T/b.yaml" "$TL_URL_b" "$TL_DIR_b/trusted_root.json" "$T/b.db" \
    "  - {name: hook, type: webhook, url: \"http://127.0.0.1:$RPORT3/hb?token=$TOKEN\", secret: \"\${HOOK_SECRET}\"}" \
    "heartbeat: {every: 1s, notify: [hook, console]}"
"$BIN" run -c "$T/b.yaml" >"$T/b.out" 2>"$T/b.err" &
BPID=$!
E2E_PIDS+=($BPID)
# The receiver is down: deliveries fail and back off, until status shows
# the failed attempts.
down_shown() {
    "$BIN" status -c "$T/b.yaml" >"$T/b.status" 2>&1 &&
        grep -Eq "^  hook \(webhook http://127.0.0.1:$RPORT3/\.\.\.\): [1-9][0-9]* pending.*last error: " "$T/b.status"
}
check "status: the down sink's pending rows and last error, URL redacted" \
    wait_for 120 down_shown
check "status: names no secret" no_secret "$T/b.status"
recv_start r3 "$RPORT3" --fail-first 2 --fail-status 429 --retry-after 2
check "down/up: heartbeats arrive once the receiver is up" \
    wait_for 120 bash -c "[ \$(cat '$T/r3.jsonl' 2>/dev/null | grep -c '\"status\": 200') -ge 6 ]"
kill -TERM $BPID
wait $BPID
check "down/up: the daemon stops cleanly on TERM" test $? -eq 0
check "down/up: failures were logged and retried (backoff)" \
    grep -q "not delivered.*retry in" "$T/b.err"
check "down/up: 429 answered twice, then accepted" \
    bash -c "[ \$(grep -c '\"status\": 429' '$T/r3.jsonl') -eq 2 ]"
check "down/up: each retry after a 429 waited its Retry-After (2 s)" \
    python3 -c '
import json, sys
r = [json.loads(l) for l in open(sys.argv[1])]
ok = all(r[i + 1]["t"] - r[i]["t"] >= 1.9 for i in range(len(r) - 1) if r[i]["status"] == 429)
sys.exit(0 if ok and len(r) >= 3 else 1)' "$T/r3.jsonl"
# What is still pending is delivered by once (which drains the outbox).
"$BIN" once -c "$T/b.yaml" >>"$T/b.out" 2>>"$T/b.err"
check "down/up: every heartbeat recorded reached the receiver, none lost" \
    python3 -c '
import json, sys
want = {json.loads(l)["id"] for l in open(sys.argv[1]) if l.startswith("{")}
got = {json.loads(json.loads(l)["body"])["id"] for l in open(sys.argv[2]) if json.loads(l)["status"] == 200}
print(len(want), "heartbeats,", len(got), "received", file=sys.stderr)
sys.exit(0 if len(want) >= 5 and want <= got else 1)' "$T/b.out" "$T/r3.jsonl"
check "down/up: heartbeat carries position and lag" \
    bash -c "grep monitor.heartbeat '$T/b.out' | tail -n 1 | python3 -c '
import json, sys
a = json.loads(sys.stdin.read())
l = a[\"heartbeat\"][\"logs\"][0]
sys.exit(0 if l[\"name\"] == \"testlog\" and \"lag\" in l and \"cursor\" in l else 1)'"
check "down/up: outbox has nothing pending" \
    bash -c "'$BIN' status -c '$T/b.yaml' | grep -q 'outbox: 0 pending'"
check "down/up: logs name no secret, URLs redacted" no_secret "$T/b.err"
recv_stop r3

# ---- kill -9 during a delivery, restart: delivered ---------------------
# The receiver holds each request 60 s, past tlogwatch's 15 s HTTP time
# limit (OUTBOX_HTTP_TIMEOUT_MS): it never answers before the kill, so the
# delivery cannot complete first, however slow the machine.
RPORT4=$(free_port)
recv_start r4 "$RPORT4" --delay 60000
tw_config "$T/c.yaml" "$TL_URL_a" "$TL_DIR_a/trusted_root.json" "$T/c.db" \
    "  - {name: hook, type: webhook, url: \"http://127.0.0.1:$RPORT4/k\"}"
"$BIN" once -c "$T/c.yaml" >/dev/null 2>&1 # sync (the fork is old news)
tl_admin a fork '{}' >/dev/null
tl_admin a grow '{"count":3}' >/dev/null
"$BIN" run -c "$T/c.yaml" >"$T/c.out" 2>"$T/c.err" &
CPID=$!
E2E_PIDS+=($CPID)
check "kill -9: the alert's delivery is in flight" \
    wait_for 120 test -s "$T/r4.jsonl"
kill -9 $CPID
wait $CPID 2>/dev/null
check "kill -9: the row is still pending" \
    bash -c "'$BIN' status -c '$T/c.yaml' | grep -q 'outbox: 1 pending'"
recv_stop r4
recv_start r4b "$RPORT4"
"$BIN" once -c "$T/c.yaml" >/dev/null 2>"$T/c2.err"
check "kill -9: after restart the pending alert is delivered" \
    bash -c "[ \$(cat '$T/r4b.jsonl' | wc -l) -ge 1 ] &&
             [ \"\$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())[\"headers\"][\"x-tlogwatch-alert-id\"])' '$T/r4b.jsonl')\" = \
               \"\$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())[\"headers\"][\"x-tlogwatch-alert-id\"])' '$T/r4.jsonl')\" ]"
check "kill -9: nothing pending after the restart" \
    bash -c "'$BIN' status -c '$T/c.yaml' | grep -q 'outbox: 0 pending'"
recv_stop r4b

# ---- SIGHUP: the new sinks take over, the old URL gets nothing more ------
RPORT6=$(free_port)
recv_start r6 "$RPORT6"
tw_config "$T/h.yaml" "$TL_URL_a" "$TL_DIR_a/trusted_root.json" "$T/h.db" \
    "  - {name: hook, type: webhook, url: \"http://127.0.0.1:$RPORT6/before\"}"
"$BIN" once -c "$T/h.yaml" >/dev/null 2>&1 # sync
"$BIN" run -c "$T/h.yaml" >"$T/h.out" 2>"$T/h.err" &
HPID=$!
E2E_PIDS+=($HPID)
# Once it runs (config read, signal handlers set), the config changes.
check "HUP: the daemon runs" wait_for 60 grep -q "run: following" "$T/h.err"
tw_config "$T/h.yaml" "$TL_URL_a" "$TL_DIR_a/trusted_root.json" "$T/h.db" \
    "  - {name: hook, type: webhook, url: \"http://127.0.0.1:$RPORT6/after\"}"
kill -HUP $HPID
check "HUP: the configuration is reloaded" \
    wait_for 60 grep -q "configuration reloaded" "$T/h.err"
tl_admin a fork '{}' >/dev/null
tl_admin a grow '{"count":3}' >/dev/null
check "HUP: the alert goes to the reloaded sink URL" \
    wait_for 120 grep -qs '"path": "/after"' "$T/r6.jsonl"
kill -TERM $HPID
wait $HPID
check "HUP: nothing went to the old URL" \
    bash -c "! grep -q '\"path\": \"/before\"' '$T/r6.jsonl'"
recv_stop r6

# ---- a hanging exec hook is killed at its time limit and retried --------
rm -f "$T"/exec.*
tw_config "$T/d.yaml" "$TL_URL_a" "$TL_DIR_a/trusted_root.json" "$T/d.db" \
    "  - {name: pager, type: exec, command: $T/hook.sh, timeout: 1500ms}"
"$BIN" once -c "$T/d.yaml" >/dev/null 2>&1 # sync
touch "$T/hook.hang"
tl_admin a fork '{}' >/dev/null
tl_admin a grow '{"count":3}' >/dev/null
start=$(date +%s)
"$BIN" run -c "$T/d.yaml" >"$T/d.out" 2>"$T/d.err" &
DPID=$!
E2E_PIDS+=($DPID)
check "hang: the retry after the kill delivers (env file written)" \
    wait_for 120 test -s "$T/exec.0.env"
end=$(date +%s)
kill -TERM $DPID
wait $DPID
check "hang: the hook was killed at its limit (logged)" \
    grep -q "timed out after 1500 ms, killed" "$T/d.err"
hung_gone() { # the hook and every process of its group (its sleep) ended
    local pid
    pid=$(cat "$T/hook.hung.pid")
    ! kill -0 "$pid" 2>/dev/null && ! pgrep -g "$pid" >/dev/null
}
# (an orphaned member is reaped by PID 1 a moment later)
check "hang: the hung process (and its sleep) is gone" wait_for 60 hung_gone
hung_gone || ps -o pid,ppid,pgid,stat,etime,args -g "$(cat "$T/hook.hung.pid")" >&2
check "hang: took at least the time limit, not the 600 s sleep" \
    test $((end - start)) -ge 1 -a $((end - start)) -lt 120
check "hang: the retried hook got the alert (EVENT=log.inconsistent)" \
    grep -qx 'EVENT=log.inconsistent' "$T/exec.0.env"
# Negative twin: a hook that exits non-zero stays pending (retried).
rm -f "$T"/exec.*
tw_config "$T/e.yaml" "$TL_URL_a" "$TL_DIR_a/trusted_root.json" "$T/e.db" \
    "  - {name: pager, type: exec, command: $T/hook.sh, timeout: 1500ms}"
"$BIN" once -c "$T/e.yaml" >/dev/null 2>&1 # sync
touch "$T/hook.fail"
tl_admin a fork '{}' >/dev/null
tl_admin a grow '{"count":3}' >/dev/null
"$BIN" once -c "$T/e.yaml" >/dev/null 2>"$T/e.err"
check "exit 3: the hook's failure is logged as a retry" \
    grep -q "exit status 3" "$T/e.err"
check "exit 3: the delivery stays pending" \
    bash -c "'$BIN' status -c '$T/e.yaml' | grep -q 'outbox: 1 pending'"
rm -f "$T/hook.fail"
sleep 2 # past the backoff
"$BIN" once -c "$T/e.yaml" >/dev/null 2>"$T/e2.err"
check "exit 3: once the hook succeeds the alert is delivered" \
    bash -c "test -s '$T/exec.0.env' && '$BIN' status -c '$T/e.yaml' | grep -q 'outbox: 0 pending'"

finish
