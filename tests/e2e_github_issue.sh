#!/bin/bash
# e2e_github_issue.sh: the github_issue sink end to end, with the real
# binary and the real test log, against a loopback stand-in of the GitHub
# REST API that checks the documented request shapes, headers and the
# bearer token (tests/tools/github_standin.py):
#  - test-alert opens one issue: title = the summary, labels, the body
#    holds the hidden marker and the alert (JSON, in a fence) whole;
#  - a wrong token: 401, refused for good, test-alert fails naming no token;
#  - through the durable outbox (`tlogwatch run`): a secondary rate limit
#    (403 + Retry-After) is waited out, then the POST that opens the
#    issue loses its answer (502): the retry finds the issue by its marker
#    and opens no second one;
#  - a second `test-alert`-like send of the same alert id (the store's
#    row sent again after a crash) finds it too: one issue per alert id;
#  - the token never appears in anything tlogwatch prints.
. "$TLOGWATCH_SRC/tests/lib/e2e.sh"
T=$E2E_TMP
BIN=$TLOGWATCH_BIN
TOKEN="ghp_$(openssl rand -hex 18)"
export GH_TOKEN="$TOKEN"
REPO=acme/security-alerts
GPORT=$(free_port)
mkdir -p "$T/gh"
python3 "$TLOGWATCH_SRC/tests/tools/github_standin.py" "$GPORT" "$T/gh" "$TOKEN" "$REPO" \
    >"$T/gh.out" 2>&1 &
E2E_PIDS+=($!)
wait_until 60 grep -qs listening "$T/gh.out"

tl_start a 64
tw_config "$T/a.yaml" "$TL_URL_a" "$TL_DIR_a/trusted_root.json" "$T/a.db" \
    "  - {name: gh, type: github_issue, api_url: \"http://127.0.0.1:$GPORT\", repository: $REPO, token: \"\${GH_TOKEN}\", labels: [tlogwatch, \"security alert\"], min_severity: warning}"
sed 's/token: "${GH_TOKEN}"/token: ghp_wrongwrongwrong/' "$T/a.yaml" >"$T/bad.yaml"
gh_py() { # python code; R = requests, I = issues of the stand-in
    python3 -c "
import json, sys
R = [json.loads(l) for l in open('$T/gh/requests.jsonl')]
I = json.load(open('$T/gh/issues.json'))
$1
"
}
no_token() { ! grep -q "$TOKEN" "$@"; }

# ---- test-alert --------------------------------------------------------------
"$BIN" test-alert -c "$T/a.yaml" >"$T/ta.out" 2>"$T/ta.err"
check "test-alert: exit 0" test $? -eq 0
check "test-alert: gh ok, shown as scheme://host/..." \
    grep -q "^gh (github_issue http://127.0.0.1:$GPORT/...): ok$" "$T/ta.out"
check "test-alert: GET the newest issues (labelled), then POST one: 200, 201" \
    gh_py "print([(r['method'], r['status']) for r in R]); sys.exit([(r['method'], r['status']) for r in R]!=[('GET',200),('POST',201)] or R[0]['query'].get('labels')!=['tlogwatch,security alert'])"
check "test-alert: every request with the bearer token and GitHub's headers" \
    gh_py "sys.exit(any(r['problems'] for r in R))"
ID=$(sed -n 's/^sending monitor.test //p' "$T/ta.out")
check "the issue: title = the summary, labels, the marker, the alert whole" \
    gh_py "
import re
i=I[0]; b=i['body']
m=re.search(r'\`\`\`\n(\{.*?\n\})\n\`\`\`', b, re.S)
a=json.loads(m.group(1)) if m else {}
ok=(len(I)==1 and i['title']==a.get('summary') and '<!-- tlogwatch-alert-id: $ID -->' in b
    and a.get('id')=='$ID' and a.get('type')=='monitor.test'
    and [x['name'] for x in i['labels']]==['tlogwatch','security alert'])
sys.exit(not ok)"
"$BIN" test-alert -c "$T/bad.yaml" >"$T/bad.out" 2>"$T/bad.err"
check "wrong token: test-alert exit 1, refused (401)" \
    bash -c "[ $? -eq 1 ] && grep -q '^gh (github_issue http://127.0.0.1:$GPORT/...): FAILED: HTTP 401.*(refused)$' '$T/bad.out'"
check "test-alert: no token in what tlogwatch printed" \
    no_token "$T/ta.out" "$T/ta.err" "$T/bad.out" "$T/bad.err"

# ---- through the outbox: rate limited, then the answer to POST lost ----------
"$BIN" once -c "$T/a.yaml" >"$T/sync.out" 2>"$T/sync.err"
check "sync: once exits 0" test $? -eq 0
echo 1 >"$T/gh/ratelimit"
echo 1 >"$T/gh/lose"
n0=$(wc -l <"$T/gh/requests.jsonl")
TLOGWATCH_DEBUG=1 "$BIN" run -c "$T/a.yaml" >"$T/run.out" 2>"$T/run.err" &
RUN_PID=$!
E2E_PIDS+=($RUN_PID)
tl_admin a fork '{"index":10}' >/dev/null
tl_admin a grow '{"count":4}' >/dev/null
settled() { # every alert of the run has its issue and nothing is pending
    "$BIN" status -c "$T/a.yaml" >"$T/status.out" 2>&1 &&
        grep -q "^  gh (github_issue http://127.0.0.1:$GPORT/...): 0 pending, 0 failed" "$T/status.out" &&
        [ "$(gh_py "print(sum(1 for i in I if 'log.inconsistent' in i['body']))")" -ge 1 ]
}
check "run: the fork's alert reached GitHub and nothing is pending" wait_until 120 settled
kill "$RUN_PID"
wait "$RUN_PID" 2>/dev/null
check "run: 403 + Retry-After waited out, the lost 502 retried, found by its marker" \
    gh_py "
R=R[$n0:]
seq=[(r['method'], r['status']) for r in R]
print(seq)
sys.exit(seq[:4]!=[('GET',403),('GET',200),('POST',502),('GET',200)] or R[1]['t']-R[0]['t']<0.95)"
check "run: one issue per alert id (no duplicate after the lost answer)" \
    gh_py "
import re, collections
c=collections.Counter(re.search(r'tlogwatch-alert-id: ([0-9a-f]{64})', i['body']).group(1) for i in I)
print(dict(c)); sys.exit(max(c.values())!=1)"
check "run: min_severity warning: every issue but the test is warning or critical" \
    gh_py "sys.exit(any('\"severity\": \"info\"' in i['body'] and 'monitor.test' not in i['body'] for i in I))"
check "run: no token in logs or status" \
    no_token "$T/run.out" "$T/run.err" "$T/status.out"
finish
