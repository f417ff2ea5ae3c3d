#!/bin/bash
# e2e_ct_surfaces.sh: a certificate seen only in Fulcio's CT log tells the
# same story on every surface of the read model.  The real tlogwatch runs
# with its status server against a Rekor v1 test log and a CT test log
# (--ct) whose CA is the trusted root's Fulcio (as in e2e_ct_watch).  At
# each step the test reads `status` (text and JSON), /api/v1/status, the
# dashboard (/), /metrics and the reports (md, json, html) and checks they
# agree with each other and with the alerts delivered (stdout JSONL):
#  0. nothing seen yet: no row, every count 0;
#  1. a certificate P (rule slow, unlogged_after 1h, a deadline the test
#     never reaches) with no Rekor entry: pending, verdict rekor_pending;
#  2. a certificate A (rule app, unlogged_after 20s) never logged: once its
#     signing.unlogged_certificate is delivered, A is unlogged (verdict
#     unlogged_certificate, that alert listed with it), the reports list
#     it, and P is still pending;
#  3. P logged in Rekor: P is logged, names its Rekor signing, and has the
#     verdict that signing has in the rule's signings.
# The test waits for each event (the alert, the cursor); it never races a
# deadline: P's is an hour away, A's is only waited for.
. "$TLOGWATCH_SRC/tests/lib/e2e.sh"
T=$E2E_TMP
BIN=$TLOGWATCH_BIN

PROMTOOL=${PROMTOOL:-$(command -v promtool || echo "${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/tlogwatch/promtool")}
if [ ! -x "$PROMTOOL" ]; then
    echo "promtool not found (scripts/install-deps.sh fetches it)" >&2
    exit 1
fi

tl_start rk 10
tl_start_ct ct 30
CT_URL=$(cat "$TL_DIR_ct/url")
ct_trusted_root "$TL_DIR_ct/trusted_root.json" "$TL_DIR_rk/trusted_root.json" \
    "$T/root.json"
PORT=$(free_port)
S=http://127.0.0.1:$PORT
cat >"$T/w.yaml" <<YAML
state: $T/w.db
trusted_root: $T/root.json
logs:
  - {name: rekor, url: $TL_URL_rk, poll_interval: 1s, start: 0}
  - {name: ct, kind: ct, url: $CT_URL, poll_interval: 1s, start: 0}
watch:
  - name: app
    repository: acme/enclave-app
    allow:
      workflows: [.github/workflows/build-eif.yml]
      refs: [refs/heads/main]
    unlogged_after: 20s
  - name: slow
    repository: acme/slow-app
    allow:
      workflows: [.github/workflows/build-eif.yml]
      refs: [refs/heads/main]
    unlogged_after: 1h
notify:
  - {name: console, type: stdout}
http:
  listen: 127.0.0.1:$PORT
YAML

# issue NAME REPO: a certificate from the CT test log ($T/NAME.json).
issue() {
    tl_admin ct append "{\"repository\":\"$2\",
        \"workflow\":\".github/workflows/build-eif.yml\",
        \"ref\":\"refs/heads/main\",\"trigger\":\"push\",
        \"runner_environment\":\"github-hosted\"}" >"$T/$1.json"
}
# rekor_log NAME: the same certificate (and key) logged in Rekor.
rekor_log() {
    python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
print(json.dumps({"certificate_pem": r["certificate_pem"],
                  "private_key_pem": r["private_key_pem"]}))' "$T/$1.json" \
        >"$T/$1.rk.in"
    tl_admin rk append "$(cat "$T/$1.rk.in")" >"$T/$1.rk.json"
}
field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$T/$1" "$2"; }
is_code() { [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 30 "$2")" = "$1" ]; }
past() { [ "$(date +%s)" -ge "$1" ]; }
# has_alert TYPE CT_INDEX: delivered (run.out) about that CT entry
has_alert() {
    python3 - "$T/run.out" "$1" "$2" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    if line.startswith("{"):
        a = json.loads(line)
        if a["type"] == sys.argv[2] and a["log"]["name"] == "ct" and \
           a["entry"]["log_index"] == int(sys.argv[3]):
            sys.exit(0)
sys.exit(1)
PY
}
# row_is RULE CT_INDEX STATE: status --format json shows it so
row_is() {
    "$BIN" status -c "$T/w.yaml" --format json 2>/dev/null |
        jq -e --arg r "$1" --argjson i "$2" --arg s "$3" \
            '.rules[] | select(.name == $r) | .ct_certificates[] |
             select(.ct_log_index == $i and .state == $s)' >/dev/null
}

# snap STEP: every surface, read for one state of the store.
snap() {
    local d="$T/$1" f
    mkdir -p "$d"
    "$BIN" status -c "$T/w.yaml" --format json >"$d/status.json" 2>>"$d/err"
    "$BIN" status -c "$T/w.yaml" >"$d/status.txt" 2>>"$d/err"
    curl -s --max-time 30 "$S/api/v1/status" >"$d/api.json"
    curl -s --max-time 30 "$S/metrics" >"$d/metrics.txt"
    curl -s --max-time 30 "$S/" >"$d/dashboard.html"
    for f in md json html; do
        "$BIN" report -c "$T/w.yaml" --since 1h --format $f \
            >"$d/report.$f" 2>>"$d/err"
    done
    cp "$T/run.out" "$d/alerts.jsonl"
}

# agree STEP EXPECT: the surfaces of STEP agree with each other and with
# EXPECT, a JSON list of {rule, index, state, verdict[, rekor_index]}
# (every CT certificate of every rule: no other row may exist).
agree() {
    python3 - "$T/$1" "$2" <<'PY'
import json, re, sys, html as H
d, expect = sys.argv[1], json.loads(sys.argv[2])
st = json.load(open(d + "/status.json"))
api = json.load(open(d + "/api.json"))
bad = []
def want(ok, what):
    if not ok:
        bad.append(what)

# the API is the status document: the rules (signings, CT rows, counts)
# and the alerts' counts are the same
want(api["rules"] == st["rules"], "API rules differ from status --format json")
want(api["alerts"]["by_type"] == st["alerts"]["by_type"], "API alert counts differ")

rules = {r["name"]: r for r in st["rules"]}
rows = {(r, c["ct_log_index"]): c for r in rules for c in rules[r]["ct_certificates"]}
want(len(rows) == len(expect), "rows %s, expected %d" % (sorted(rows), len(expect)))
counts = {r: {"pending": 0, "logged": 0, "unlogged": 0} for r in rules}
for e in expect:
    counts[e["rule"]][e["state"]] += 1
    c = rows.get((e["rule"], e["index"]))
    if c is None:
        bad.append("no row for %s" % e)
        continue
    want(c["state"] == e["state"], "state %s != %s" % (c["state"], e))
    want(c["verdict"] == e["verdict"], "verdict %s != %s" % (c["verdict"], e))
    want(c["allowed"] == (e["verdict"] == "allowed"), "allowed flag of %s" % e)
    want(c["ct_log"] == "ct" and c["rule"] == e["rule"], "log/rule of %s" % e)
    want(c["first_seen"] and c["deadline"] and c["commit"] and c["workflow"],
         "times and claims of %s" % e)
    want((c["judged_at"] is None) == (e["state"] == "pending"), "judged_at of %s" % e)
    if "rekor_index" in e:
        sg = c["signing"]
        want(sg is not None and sg["log"] == "rekor" and
             sg["log_index"] == e["rekor_index"], "signing link of %s: %s" % (e, sg))
        twin = [g for g in rules[e["rule"]]["signings"]
                if g["log"] == "rekor" and g["log_index"] == e["rekor_index"]]
        want(len(twin) == 1 and twin[0]["verdict"] == c["verdict"] == sg["verdict"],
             "the signing's verdict and the certificate's differ: %s" % twin)
    else:
        want(c["signing"] is None, "a signing for %s" % e)
    # status text: the same row
    txt = open(d + "/status.txt").read()
    want(re.search(r"  ct index %d  %s  %s(  \(policy: [a-z_]+\))?\n"
                   % (e["index"], e["state"], e["verdict"]), txt),
         "status text lacks %s" % e)
    # dashboard: a row of the CT table with its index, state and verdict
    page = open(d + "/dashboard.html").read()
    trs = [t for t in re.findall(r"<tr class=\"(?:not)?allowed\">.*?</tr>", page, re.S)
           if "class=\"ctstate\"" in t and ">ct #%d<" % e["index"] in t]
    want(len(trs) == 1, "dashboard rows for %s: %d" % (e, len(trs)))
    if trs:
        t = trs[0]
        verdict = "allowed" if e["verdict"] == "allowed" else "NOT ALLOWED: " + e["verdict"]
        want(verdict in t and "<td class=\"ctstate\">%s</td>" % e["state"] in t,
             "dashboard row of %s: %s" % (e, t))
for r in rules:
    want(rules[r]["ct_counts"] == counts[r], "counts of %s: %s != %s" % (r, rules[r]["ct_counts"], counts[r]))

# /metrics: one gauge sample per rule and state, equal to the counts
m = {}
for line in open(d + "/metrics.txt"):
    if line.startswith("tlogwatch_ct_certificates{"):
        k, v = line.rsplit(" ", 1)
        m[k] = int(float(v))
for r in rules:
    for s in ("pending", "logged", "unlogged"):
        k = 'tlogwatch_ct_certificates{rule="%s",state="%s"}' % (r, s)
        want(m.get(k) == counts[r][s], "metric %s = %s, want %d" % (k, m.get(k), counts[r][s]))
want(len(m) == 3 * len(rules), "metric samples: %s" % m)

# every alert delivered about a CT entry is listed with its certificate
for line in open(d + "/alerts.jsonl"):
    if not line.startswith("{"):
        continue
    a = json.loads(line)
    if a["log"]["name"] != "ct" or "rule" not in a:
        continue
    c = rows.get((a["rule"], a["entry"]["log_index"]))
    want(c is not None and a["id"] in [x["id"] for x in c["alerts"]],
         "alert %s %s has no certificate row listing it" % (a["type"], a["id"]))

# the reports: exactly the unlogged certificates, in md, json, html
unl = sorted((e["rule"], e["index"]) for e in expect if e["state"] == "unlogged")
rj = json.load(open(d + "/report.json"))
got = sorted((c["rule"], c["ct_log_index"]) for c in rj["unlogged_certificates"])
want(got == unl, "report json unlogged %s != %s" % (got, unl))
for c in rj["unlogged_certificates"]:
    want(c == rows.get((c["rule"], c["ct_log_index"])),
         "report json row differs from status: %s" % c)
md = open(d + "/report.md").read()
hp = open(d + "/report.html").read()
want("## Certificates never logged in Rekor" in md, "md: no section")
want(md.count("| `ct` #") == len(unl), "md rows")
want(hp.count("<tr class=\"unlogged\">") == len(unl), "html rows")
for r, i in unl:
    want("| `%s` | `ct` #%d |" % (r, i) in md, "md lacks %s #%d" % (r, i))
    want("<tr class=\"unlogged\"><td>%s</td><td class=\"mono\">ct #%d</td>" % (r, i) in hp,
         "html lacks %s #%d" % (r, i))
if bad:
    print("\n".join(bad), file=sys.stderr)
    sys.exit(1)
PY
}

# A first once records where Rekor is followed from (certificates issued
# before are not judged, unlogged.h); the test log backdates NotBefore by
# 5 s: wait 6 s of wall time before issuing.
"$BIN" once -c "$T/w.yaml" >"$T/once0.out" 2>"$T/once0.err"
check "first once exits 0 [$?]" test $? -eq 0
started=$(date +%s)
wait_until 30 past $((started + 6))

"$BIN" run -c "$T/w.yaml" >"$T/run.out" 2>"$T/run.err" &
RUN=$!
E2E_PIDS+=($RUN)
check "run: the status server answers" wait_until 120 is_code 200 "$S/livez"

# 0. nothing seen
snap s0
check "0. no CT certificate: every surface agrees (none, counts 0)" agree s0 '[]'
check "0. /metrics passes promtool" "$PROMTOOL" check metrics <"$T/s0/metrics.txt"

# 1. P pending
issue p acme/slow-app
IP=$(field p.json index)
check "1. P (CT index $IP) seen, pending" wait_until 120 row_is slow "$IP" pending
snap s1
check "1. P pending: status, API, dashboard, metrics and reports agree" \
    agree s1 "[{\"rule\":\"slow\",\"index\":$IP,\"state\":\"pending\",\"verdict\":\"rekor_pending\"}]"

# 2. A never logged: unlogged once its alert is delivered
issue a acme/enclave-app
IA=$(field a.json index)
check "2. A's signing.unlogged_certificate delivered (CT index $IA)" \
    wait_until 180 has_alert signing.unlogged_certificate "$IA"
snap s2
check "2. A unlogged, P pending: every surface agrees" \
    agree s2 "[{\"rule\":\"slow\",\"index\":$IP,\"state\":\"pending\",\"verdict\":\"rekor_pending\"},
               {\"rule\":\"app\",\"index\":$IA,\"state\":\"unlogged\",\"verdict\":\"unlogged_certificate\"}]"
check "2. /metrics passes promtool" "$PROMTOOL" check metrics <"$T/s2/metrics.txt"

# 3. P logged in Rekor
rekor_log p
RP=$(field p.rk.json index)
check "3. P logged by Rekor entry $RP" wait_until 120 row_is slow "$IP" logged
snap s3
check "3. P logged (its signing named, same verdict), A unlogged: every surface agrees" \
    agree s3 "[{\"rule\":\"slow\",\"index\":$IP,\"state\":\"logged\",\"verdict\":\"allowed\",\"rekor_index\":$RP},
               {\"rule\":\"app\",\"index\":$IA,\"state\":\"unlogged\",\"verdict\":\"unlogged_certificate\"}]"
# the twin: the checker refuses a story the surfaces do not tell
refuses() { ! agree "$@" 2>/dev/null; }
check "3. (the checker refuses P still pending)" refuses s3 \
    "[{\"rule\":\"slow\",\"index\":$IP,\"state\":\"pending\",\"verdict\":\"rekor_pending\"},
      {\"rule\":\"app\",\"index\":$IA,\"state\":\"unlogged\",\"verdict\":\"unlogged_certificate\"}]"
kill -TERM $RUN
wait $RUN
check "run exits 0 on SIGTERM" test $? -eq 0
finish
