#!/bin/bash
# e2e_github_issue.sh: the github_issue sink end to end, with the real
# binary and the real test log, against a loopback stand-in of the GitHub
# REST API that checks the documented request shapes, headers and the
# bearer token (tests/tools/github_standin.py):
#  - test-alert opens one issue: title = the summary, labels, the body
#    holds the hidden marker and the alert (JSON, in a fence) whole;
#  - a wrong token: 401, refused for good, test-alert fails naming no token;
#  - a token that may read but not open issues: 403 with requests left in
#    the rate limit is no rate limit: refused for good, with a clear error;
#  - through the durable outbox (`tlogwatch run`): GitHub's primary rate
#    limit runs out (403, x-ratelimit-remaining: 0, x-ratelimit-reset a
#    few seconds ahead, no Retry-After): the sink waits for the reset the
#    stand-in named and asks again only then; a secondary rate limit (403
#    + Retry-After) is waited out; then the POST that opens the issue
#    loses its answer (502) and 150 other issues are opened after it: the
#    retry pages through the list (Link rel="next") and finds the issue by
#    its marker on page 2, and opens no second one;
#  - more issues than the search reads (20 pages of 100): test-alert opens
#    none (it could be a second) and says why; issues last updated long
#    before the alert are not listed (since=): they cost no page;
#  - a second `test-alert`-like send of the same alert id (the store's
#    row sent again after a crash) finds it too: one issue per alert id;
#  - the token never appears in anything tlogwatch prints.
. "$TLOGWATCH_SRC/tests/lib/e2e.sh"
T=$E2E_TMP
BIN=$TLOGWATCH_BIN
TOKEN="ghp_$(openssl rand -hex 18)"
export GH_TOKEN="$TOKEN"
REPO=acme/security-alerts
RO_TOKEN="github_pat_$(openssl rand -hex 18)" # may read issues, not open them
GPORT=$(free_port)
mkdir -p "$T/gh"
python3 "$TLOGWATCH_SRC/tests/tools/github_standin.py" "$GPORT" "$T/gh" "$TOKEN" "$REPO" "$RO_TOKEN" \
    >"$T/gh.out" 2>&1 &
E2E_PIDS+=($!)
wait_until 60 grep -qs listening "$T/gh.out"

tl_start a 64
tw_config "$T/a.yaml" "$TL_URL_a" "$TL_DIR_a/trusted_root.json" "$T/a.db" \
    "  - {name: gh, type: github_issue, api_url: \"http://127.0.0.1:$GPORT\", repository: $REPO, token: \"\${GH_TOKEN}\", labels: [tlogwatch, \"security alert\"], min_severity: warning}"
sed 's/token: "${GH_TOKEN}"/token: ghp_wrongwrongwrong/' "$T/a.yaml" >"$T/bad.yaml"
sed "s/token: \"\${GH_TOKEN}\"/token: $RO_TOKEN/" "$T/a.yaml" >"$T/ro.yaml"
gh_py() { # python code; R = requests, I = issues of the stand-in
    python3 -c "
import json, sys
R = [json.loads(l) for l in open('$T/gh/requests.jsonl')]
I = json.load(open('$T/gh/issues.json'))
$1
"
}
no_token() { ! grep -q -e "$TOKEN" -e "$RO_TOKEN" "$@"; }

# ---- test-alert --------------------------------------------------------------
"$BIN" test-alert -c "$T/a.yaml" >"$T/ta.out" 2>"$T/ta.err"
check "test-alert: exit 0" test $? -eq 0
check "test-alert: gh ok, shown as scheme://host/..." \
    grep -q "^gh (github_issue http://127.0.0.1:$GPORT/...): ok$" "$T/ta.out"
check "test-alert: GET the newest issues (labelled, page 1 of 100, since a day before the alert), then POST one: 200, 201" \
    gh_py "
import calendar, time
print([(r['method'], r['status']) for r in R], R[0]['query'].get('since'))
s=calendar.timegm(time.strptime(R[0]['query']['since'][0], '%Y-%m-%dT%H:%M:%SZ'))
sys.exit([(r['method'], r['status']) for r in R]!=[('GET',200),('POST',201)] or R[0]['query'].get('labels')!=['tlogwatch,security alert'] or R[0]['query'].get('page')!=['1'] or R[0]['query'].get('per_page')!=['100']
         or abs(s - (R[0]['t'] - 86400)) > 60)"
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
n0=$(wc -l <"$T/gh/requests.jsonl")
"$BIN" test-alert -c "$T/ro.yaml" >"$T/ro.out" 2>"$T/ro.err"
check "read-only token: test-alert exit 1, the 403 refused for good: no rate limit" \
    bash -c "[ $? -eq 1 ] && grep -q '^gh (github_issue http://127.0.0.1:$GPORT/...): FAILED: HTTP 403 (not a rate limit: GitHub refuses the sink access to the repository): {.message.: .Resource not accessible by personal access token.*(refused)$' '$T/ro.out'"
check "read-only token: one GET, one POST (403 with requests left), no issue" \
    gh_py "
R=R[$n0:]
print([(r['method'], r['status'], r['answer_headers'].get('x-ratelimit-remaining')) for r in R])
sys.exit([(r['method'], r['status']) for r in R]!=[('GET',200),('POST',403)] or R[1]['answer_headers']['x-ratelimit-remaining']=='0' or len(I)!=1)"
check "test-alert: no token in what tlogwatch printed" \
    no_token "$T/ta.out" "$T/ta.err" "$T/bad.out" "$T/bad.err" "$T/ro.out" "$T/ro.err"

# ---- through the outbox: rate limits, then the answer to POST lost ----------
"$BIN" once -c "$T/a.yaml" >"$T/sync.out" 2>"$T/sync.err"
check "sync: once exits 0" test $? -eq 0
echo 1 >"$T/gh/primary"
echo 1 >"$T/gh/ratelimit"
echo 1 >"$T/gh/lose"
echo 150 >"$T/gh/flood"
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
check "run: the primary rate limit: one 403 (remaining 0, a reset, no Retry-After), the next request only after its reset" \
    gh_py "
R=R[$n0:]
h=R[0]['answer_headers']
print(R[0]['status'], h, R[1]['t'])
sys.exit(R[0]['method']!='GET' or R[0]['status']!=403 or h.get('x-ratelimit-remaining')!='0'
         or 'retry-after' in h or R[1]['t'] < int(h['x-ratelimit-reset']))"
check "run: then 403 + Retry-After waited out, the lost 502 retried, found by its marker on page 2" \
    gh_py "
R=R[$n0:]
seq=[(r['method'], r['status'], r['query'].get('page', [''])[0]) for r in R]
print(seq)
sys.exit(seq[:6]!=[('GET',403,'1'),('GET',403,'1'),('GET',200,'1'),('POST',502,''),('GET',200,'1'),('GET',200,'2')]
         or R[1]['answer_headers'].get('retry-after')!='1' or R[2]['t']-R[1]['t']<0.95
         or 'next' not in R[4]['answer_headers'].get('link', ''))"
check "run: the waits logged: the rate limit's reset, then Retry-After" \
    bash -c "grep -q 'HTTP 403 (GitHub.s rate limit: lifts in [34] s): {.message.: .API rate limit exceeded.*; retry in [34]000 ms$' '$T/run.err' &&
             grep -q 'HTTP 403 (GitHub.s rate limit: lifts in 1 s): {.message.: .You have exceeded a secondary rate limit.*; retry in 1000 ms$' '$T/run.err' &&
             [ \$(grep -c 'rate limit: lifts in' '$T/run.err') = 2 ] && ! grep -q 'refused for good' '$T/run.err'"
check "run: one issue per alert id (no duplicate after the lost answer)" \
    gh_py "
import re, collections
c=collections.Counter(m.group(1) for m in (re.search(r'tlogwatch-alert-id: ([0-9a-f]{64})', i['body']) for i in I) if m)
print(dict(c)); sys.exit(max(c.values())!=1)"
check "run: min_severity warning: every issue but the test is warning or critical" \
    gh_py "sys.exit(any('\"severity\": \"info\"' in i['body'] and 'monitor.test' not in i['body'] for i in I))"
check "run: no token in logs or status" \
    no_token "$T/run.out" "$T/run.err" "$T/status.out"

# ---- issues last updated two days before the alert are not listed ------------
echo 1 >"$T/gh/seed"
echo 2100 >"$T/gh/flood"
echo $((2 * 86400)) >"$T/gh/age"
n0=$(wc -l <"$T/gh/requests.jsonl")
"$BIN" test-alert -c "$T/a.yaml" >"$T/old.out" 2>"$T/old.err"
check "old issues: test-alert ok" \
    bash -c "[ $? -eq 0 ] && grep -q '^gh (github_issue http://127.0.0.1:$GPORT/...): ok$' '$T/old.out'"
check "old issues: the listing since the alert skips the 2,100: two pages of newer ones, then POST" \
    gh_py "
R=R[$n0:]
seq=[(r['method'], r['status']) for r in R]
print(seq, len(I))
sys.exit(seq!=[('GET',200)]*2+[('POST',201)] or len(I)<2100)"

# ---- more issues than the search reads: none opened, a clear error -----------
echo 1 >"$T/gh/seed"
echo 2100 >"$T/gh/flood"
n0=$(wc -l <"$T/gh/requests.jsonl")
i0=$(gh_py "print(len(I))")
"$BIN" test-alert -c "$T/a.yaml" >"$T/cap.out" 2>"$T/cap.err"
check "cap: test-alert exit 1, not refused for good, says why" \
    bash -c "[ $? -eq 1 ] && grep -q '^gh (github_issue http://127.0.0.1:$GPORT/...): FAILED: looked for the alert.s issue in 20 pages of 100 issues and the list goes on: not opening one, it could be a second' '$T/cap.out' && ! grep -q '(refused)' '$T/cap.out'"
check "cap: pages 1 to 20 read, in order, and no POST: no issue opened" \
    gh_py "
R=R[$n0:]
seq=[(r['method'], r['status'], r['query'].get('page', [''])[0]) for r in R]
print(seq[:3], len(seq))
sys.exit(seq!=[('GET',200,str(p)) for p in range(1,21)] or len(I)!=$i0+2100)"
check "cap: no token in what tlogwatch printed" no_token "$T/cap.out" "$T/cap.err"
finish
