#!/bin/bash
# e2e_pagerduty.sh: the pagerduty sink (Events API v2) end to end, with the
# real binary and the real test log, against a loopback stand-in that
# checks the documented request shape (tests/tools/pagerduty_standin.py):
#  - test-alert: a trigger with dedup_key = the alert id, severity,
#    summary, source, class, custom_details = the alert; the stand-in
#    finds nothing wrong with it (202);
#  - a routing key PagerDuty does not know: 400, test-alert fails and says
#    it was refused (never retried), naming no key;
#  - through the durable outbox with `tlogwatch run`: the stand-in answers
#    429 with Retry-After: 1 twice; the fork alert arrives on the third
#    attempt, each at least Retry-After apart, with one dedup_key;
#  - min_severity: critical keeps info alerts away;
#  - the routing key never appears in anything tlogwatch prints.
. "$TLOGWATCH_SRC/tests/lib/e2e.sh"
T=$E2E_TMP
BIN=$TLOGWATCH_BIN
KEY="R$(openssl rand -hex 15)x" # 32 characters, like an integration key
export PD_KEY="$KEY"
PPORT=$(free_port)
echo 0 >"$T/throttle"
python3 "$TLOGWATCH_SRC/tests/tools/pagerduty_standin.py" "$PPORT" "$T/pd.jsonl" \
    "$KEY" "$T/throttle" >"$T/pd.out" 2>&1 &
E2E_PIDS+=($!)
wait_until 60 grep -qs listening "$T/pd.out"

tl_start a 64
HPORT=$(free_port)
tw_config "$T/a.yaml" "$TL_URL_a" "$TL_DIR_a/trusted_root.json" "$T/a.db" \
    "  - {name: pd, type: pagerduty, url: \"http://127.0.0.1:$PPORT/v2/enqueue\", routing_key: \"\${PD_KEY}\", min_severity: critical}" \
    "http:" \
    "  listen: 127.0.0.1:$HPORT"
sed "s/routing_key: \"\${PD_KEY}\"/routing_key: Rnotaknownintegrationkey00000000/" \
    "$T/a.yaml" >"$T/bad.yaml"
count() { [ -f "$T/pd.jsonl" ] && wc -l <"$T/pd.jsonl" || echo 0; }
pd_py() { # python code with R = the requests the stand-in received
    python3 -c "
import json, sys
R = [json.loads(l) for l in open('$T/pd.jsonl')]
$1
"
}
no_key() { ! grep -q "$KEY" "$@"; }

# ---- test-alert --------------------------------------------------------------
"$BIN" test-alert -c "$T/a.yaml" >"$T/ta.out" 2>"$T/ta.err"
check "test-alert: exit 0" test $? -eq 0
check "test-alert: pd ok, shown as scheme://host/..." \
    grep -q "^pd (pagerduty http://127.0.0.1:$PPORT/...): ok$" "$T/ta.out"
check "test-alert: one request, accepted (202) with no shape error" \
    pd_py "sys.exit(len(R)!=1 or R[0]['status']!=202 or bool(R[0]['errors']))"
check "test-alert: trigger, dedup_key = the alert id, payload from the alert" \
    pd_py "
r=R[0]; b=json.loads(r['body']); p=b['payload']; a=p['custom_details']
ok = (r['path']=='/v2/enqueue' and r['headers']['content-type']=='application/json'
  and b['event_action']=='trigger' and b['dedup_key']==a['id'] and a['type']=='monitor.test'
  and p['severity']=='info' and p['summary']==a['summary'] and p['class']=='monitor.test'
  and p['source']=='testlog' and p['component']=='testlog' and p['timestamp']==a['detected_at']
  and b['client']=='tlogwatch' and b['client_url']=='http://127.0.0.1:$HPORT/#alerts')
sys.exit(not ok)"
"$BIN" test-alert -c "$T/bad.yaml" >"$T/bad.out" 2>"$T/bad.err"
check "unknown routing key: test-alert exit 1" test $? -eq 1
check "unknown routing key: refused (400), said so" \
    grep -q "^pd (pagerduty http://127.0.0.1:$PPORT/...): FAILED: HTTP 400.*(refused)$" "$T/bad.out"
check "unknown routing key: the stand-in saw it and answered 400" \
    pd_py "sys.exit(len(R)!=2 or R[1]['status']!=400)"
check "test-alert: no routing key in what tlogwatch printed" \
    no_key "$T/ta.out" "$T/ta.err" "$T/bad.out" "$T/bad.err"

# ---- through the outbox: 429 with Retry-After, then accepted ------------------
"$BIN" once -c "$T/a.yaml" >"$T/sync.out" 2>"$T/sync.err"
rc=$?
check "sync: once exits 0, nothing sent" \
    bash -c "[ $rc -eq 0 ] && [ \$(wc -l <'$T/pd.jsonl') -eq 2 ]"
echo 2 >"$T/throttle"
TLOGWATCH_DEBUG=1 "$BIN" run -c "$T/a.yaml" >"$T/run.out" 2>"$T/run.err" &
RUN_PID=$!
E2E_PIDS+=($RUN_PID)
tl_admin a fork '{"index":10}' >/dev/null
tl_admin a grow '{"count":4}' >/dev/null
accepted() {
    pd_py "sys.exit(not any(x['status']==202 and json.loads(x['body'])['payload']['class']=='log.inconsistent' for x in R))"
}
check "run: log.inconsistent accepted after the 429s" wait_until 120 accepted
# One request at a time per sink, and a 429's Retry-After holds the whole
# sink: which alert meets the second 429 depends on which is due first
# after the wait (the first again, or another raised meanwhile).
check "run: two 429s, each followed by nothing for Retry-After (1 s); every alert 429s then one 202" \
    pd_py "
x=R[2:]
per={}
for r in x:
    per.setdefault(json.loads(r['body'])['dedup_key'], []).append(r['status'])
after=[b['t']-a['t'] for a,b in zip(x,x[1:]) if a['status']==429]
print(per, after)
sys.exit(sum(s.count(429) for s in per.values())!=2 or len(after)!=2
         or min(after)<0.95
         or any(s[-1]!=202 or set(s[:-1])-{429} for s in per.values()))"
check "run: every alert accepted exactly once (no duplicate after a retry)" \
    pd_py "
from collections import Counter
c=Counter(json.loads(r['body'])['dedup_key'] for r in R[2:] if r['status']==202)
sys.exit(not c or max(c.values())!=1)"
check "min_severity critical: only critical alerts were sent" \
    pd_py "sys.exit(any(json.loads(r['body'])['payload']['severity']!='critical' for r in R[2:]))"
check "run: severity critical, custom_details carry the evidence" \
    pd_py "
b=[json.loads(r['body']) for r in R if r['status']==202][-1]
sys.exit(b['payload']['severity']!='critical' or not b['payload']['custom_details'].get('evidence'))"
kill "$RUN_PID"
wait "$RUN_PID" 2>/dev/null
"$BIN" status -c "$T/a.yaml" >"$T/status.out" 2>&1
check "status: nothing pending for pd" \
    grep -q "^  pd (pagerduty http://127.0.0.1:$PPORT/...): 0 pending, 0 failed" "$T/status.out"
check "run: no routing key in logs or status" \
    no_key "$T/run.out" "$T/run.err" "$T/status.out"
finish
