#!/bin/bash
# e2e_watch.sh: the watch rules end to end (issue 5, DESIGN.md "Alert" and
# point 6 of "What must be proven"): the real tlogwatch follows the real
# loopback test log while signings with chosen claims are appended
# (/admin/append, see tests/testlog/admin.c).  The allowed workflow on
# main gives only signing.recorded; another workflow, another branch, a
# pull_request trigger, a self-hosted runner, an impostor certificate and
# a malformed entry each give exactly their alert; noise and other
# repositories give none.  Each alert's fields equal what was appended,
# and `status` lists the rule's last signings.
. "$TLOGWATCH_SRC/tests/lib/e2e.sh"
T=$E2E_TMP
BIN=$TLOGWATCH_BIN
REPO=acme/enclave-app
WF=.github/workflows/build-eif.yml

tl_start w 400
ROOT="$TL_DIR_w/trusted_root.json"
# The rule names the repository in another case than the certificates.
tw_config "$T/w.yaml" "$TL_URL_w" "$ROOT" "$T/w.db" \
    "watch:" \
    "  - name: app" \
    "    repository: Acme/Enclave-App" \
    "    allow:" \
    "      workflows: [\"$WF\"]" \
    "      refs: [\"refs/heads/main\", \"refs/tags/v*\"]" \
    "      triggers: [push, workflow_dispatch]" \
    "    record_expected: true" \
    "  - name: quiet" \
    "    repository: acme/quiet-app"

# check_alerts OUT APPENDED EXPECTED-TYPES: the alerts in OUT are exactly
# EXPECTED-TYPES (sorted, space separated), all about the entry of the
# /admin/append response APPENDED, with identity fields equal to the
# claims asked for in $T/req.json.
check_alerts() {
    python3 - "$1" "$2" "$3" "$T/req.json" <<'PY'
import json, sys
out, appended, want, req = sys.argv[1:5]
alerts = [json.loads(l) for l in open(out) if l.strip().startswith("{")]
got = " ".join(sorted(a["type"] for a in alerts))
if got != want:
    sys.exit("types: got [%s], want [%s]" % (got, want))
ap = json.loads(open(appended).read())
rq = json.loads(open(req).read())
for a in alerts:
    e = a.get("entry", {})
    if e.get("log_index") != ap["index"] or e.get("uuid") != ap["uuid"]:
        sys.exit("%s: entry %r is not the appended %r" % (a["type"], e, ap))
    if e.get("shard_index") != ap["shard_index"] or \
            e.get("leaf_hash") != ap["leaf_hash"]:
        sys.exit("%s: entry indexes/leaf hash differ" % a["type"])
    if a["log"]["name"] != "testlog" or not a["log"]["origin"]:
        sys.exit("%s: log object %r" % (a["type"], a["log"]))
    if a["type"] == "entry.malformed":
        if "rule" in a or not a.get("reasons"):
            sys.exit("entry.malformed: rule set or no reason")
        continue
    if a.get("rule") != "app":
        sys.exit("%s: rule %r" % (a["type"], a.get("rule")))
    if e.get("kind") != ap["kind"] or \
            e.get("integrated_time") != ap["integrated_time"]:
        sys.exit("%s: kind/integrated_time differ" % a["type"])
    idn = a["identity"]
    pairs = [("repository", rq["repository"]),
             ("workflow_path", rq.get("workflow")),
             ("workflow_ref", rq.get("ref")),
             ("workflow_sha", rq.get("sha")),
             ("runner_environment", rq.get("runner_environment")),
             ("trigger", rq.get("trigger")),
             ("san", ap["san"])]
    for k, v in pairs:
        if v is not None and idn.get(k) != v:
            sys.exit("%s: identity.%s = %r, appended %r" % (a["type"], k, idn.get(k), v))
    if len(idn.get("cert_sha256", "")) != 64:
        sys.exit("%s: no cert_sha256" % a["type"])
    if a["type"] in ("signing.unexpected", "signing.self_hosted_runner",
                     "signing.impostor") and not a.get("reasons"):
        sys.exit("%s: no reasons" % a["type"])
    if a["type"] == "signing.recorded" and "reasons" in a:
        sys.exit("signing.recorded with reasons")
PY
}

# reasons_of OUT TYPE: the reasons of the alert of TYPE, one a line.
reasons_of() {
    python3 - "$1" "$2" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    if l.strip().startswith("{"):
        a = json.loads(l)
        if a["type"] == sys.argv[2]:
            print("\n".join(a.get("reasons", [])))
PY
}

# ---- noise: a catch-up over unwatched entries raises nothing -------------
"$BIN" once -c "$T/w.yaml" >"$T/noise.out" 2>"$T/noise.err"
check "noise: once exits 0" test $? -eq 0
check "noise: no alert" test "$(alert_types "$T/noise.out")" = ""

# step NAME WANT-TYPES WANT-EXIT JSON: append JSON, run once, check.
N=0
step() {
    local name=$1 want=$2 wantrc=$3 json=$4
    N=$((N + 1))
    printf '%s' "$json" >"$T/req.json"
    tl_admin w append "$json" >"$T/ap$N.json"
    check "$name: appended" test -s "$T/ap$N.json"
    "$BIN" once -c "$T/w.yaml" >"$T/o$N.out" 2>"$T/o$N.err"
    check "$name: once exits $wantrc" test $? -eq "$wantrc"
    check "$name: exactly [$want], fields as appended" \
        check_alerts "$T/o$N.out" "$T/ap$N.json" "$want"
}

sha() { printf '%040x' "$1"; }

step "allowed on main" "signing.recorded" 0 \
    "{\"repository\":\"$REPO\",\"workflow\":\"$WF\",\"ref\":\"refs/heads/main\",\"trigger\":\"push\",\"runner_environment\":\"github-hosted\",\"sha\":\"$(sha 1)\"}"
step "allowed, certificate in upper case" "signing.recorded" 0 \
    "{\"repository\":\"ACME/ENCLAVE-APP\",\"workflow\":\"$WF\",\"ref\":\"refs/heads/main\",\"trigger\":\"push\",\"sha\":\"$(sha 2)\"}"
step "allowed tag by glob, workflow_dispatch" "signing.recorded" 0 \
    "{\"repository\":\"$REPO\",\"workflow\":\"$WF\",\"ref\":\"refs/tags/v1.2.3\",\"trigger\":\"workflow_dispatch\",\"sha\":\"$(sha 3)\"}"
step "allowed, intoto" "signing.recorded" 0 \
    "{\"repository\":\"$REPO\",\"workflow\":\"$WF\",\"ref\":\"refs/heads/main\",\"trigger\":\"push\",\"sha\":\"$(sha 4)\",\"kind\":\"intoto\"}"
step "allowed, dsse" "signing.recorded" 0 \
    "{\"repository\":\"$REPO\",\"workflow\":\"$WF\",\"ref\":\"refs/heads/main\",\"trigger\":\"push\",\"sha\":\"$(sha 5)\",\"kind\":\"dsse\"}"
step "reusable workflow: matched on .18" "signing.recorded" 0 \
    "{\"repository\":\"$REPO\",\"workflow\":\"$WF\",\"ref\":\"refs/heads/main\",\"trigger\":\"push\",\"sha\":\"$(sha 6)\",\"build_signer\":\"other-org/shared/.github/workflows/sign.yml@refs/tags/v2\"}"
check "reusable workflow: .9 recorded beside .18" python3 -c '
import json, sys
a = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")][0]["identity"]
sys.exit(not (a["build_signer_uri"].startswith("https://github.com/other-org/shared/")
              and a["build_config_uri"].startswith("https://github.com/acme/enclave-app/")))' "$T/o$N.out"

step "another workflow file" "signing.unexpected" 1 \
    "{\"repository\":\"$REPO\",\"workflow\":\".github/workflows/x.yml\",\"ref\":\"refs/heads/main\",\"trigger\":\"push\",\"sha\":\"$(sha 7)\"}"
check "another workflow: the reason names the workflow list" \
    test "$(reasons_of "$T/o$N.out" signing.unexpected)" = "workflow '.github/workflows/x.yml' not in [$WF]"
step "another branch" "signing.unexpected" 1 \
    "{\"repository\":\"$REPO\",\"workflow\":\"$WF\",\"ref\":\"refs/heads/dev\",\"trigger\":\"push\",\"sha\":\"$(sha 8)\"}"
check "another branch: the reason names the refs list" \
    test "$(reasons_of "$T/o$N.out" signing.unexpected)" = "ref 'refs/heads/dev' not in [refs/heads/main, refs/tags/v*]"
step "pull_request trigger" "signing.unexpected" 1 \
    "{\"repository\":\"$REPO\",\"workflow\":\"$WF\",\"ref\":\"refs/heads/main\",\"trigger\":\"pull_request\",\"sha\":\"$(sha 9)\"}"
check "pull_request: the reason names the triggers list" \
    test "$(reasons_of "$T/o$N.out" signing.unexpected)" = "trigger 'pull_request' not in [push, workflow_dispatch]"
step "self-hosted runner" "signing.self_hosted_runner" 1 \
    "{\"repository\":\"$REPO\",\"workflow\":\"$WF\",\"ref\":\"refs/heads/main\",\"trigger\":\"push\",\"runner_environment\":\"self-hosted\",\"sha\":\"$(sha 10)\"}"
step "impostor certificate" "signing.impostor" 1 \
    "{\"repository\":\"$REPO\",\"workflow\":\"$WF\",\"ref\":\"refs/heads/main\",\"trigger\":\"push\",\"sha\":\"$(sha 11)\",\"impostor\":true}"
step "another repository" "" 0 \
    "{\"repository\":\"acme/enclave-app2\",\"workflow\":\".github/workflows/x.yml\",\"ref\":\"refs/heads/dev\",\"trigger\":\"pull_request\",\"sha\":\"$(sha 12)\"}"
step "an email identity" "" 0 '{"email":"dev@acme.example"}'

# A malformed entry: its own alert, and the cursor moves past it.
tl_admin w append-malformed >"$T/mal.json"
printf '{"repository":"-"}' >"$T/req.json"
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
d.update({"kind": "hashedrekord", "integrated_time": 0, "san": "",
          "leaf_hash": d.get("leaf_hash", d["uuid"][-64:])})
json.dump(d, open(sys.argv[1], "w"))' "$T/mal.json"
"$BIN" once -c "$T/w.yaml" >"$T/mal.out" 2>"$T/mal.err"
check "malformed: once exits 0 (info only)" test $? -eq 0
check "malformed: exactly entry.malformed" \
    check_alerts "$T/mal.out" "$T/mal.json" "entry.malformed"
size=$(status_field "$T/w.yaml" "verified size")
check "malformed: the cursor passed it" test "$(status_field "$T/w.yaml" cursor)" = "$size"

# ---- replay: nothing is raised twice ----------------------------------
"$BIN" once -c "$T/w.yaml" >"$T/again.out" 2>"$T/again.err"
check "a second once raises nothing" test "$(alert_types "$T/again.out")" = ""

# ---- status: the rule's last signings --------------------------------
"$BIN" status -c "$T/w.yaml" >"$T/status.out"
check "status exits 0" test $? -eq 0
check "status: rule app listed" grep -q "^rule app  repository acme/enclave-app" "$T/status.out"
check "status: newest signing is the self-hosted one, with its commit" \
    python3 - "$T/status.out" "$(sha 10)" <<'PY'
import sys
lines = open(sys.argv[1]).read().split("\n")
i = lines.index("rule app  repository acme/enclave-app")
block = "\n".join(lines[i:i + 6])
ok = ("self_hosted_runner" in lines[i + 2] and sys.argv[2] in lines[i + 3]
      and "runner self-hosted" in lines[i + 4])
sys.exit(0 if ok else block)
PY
check "status: the unexpected and recorded signings are listed too" \
    bash -c "grep -c '  index [0-9]*  \(allowed\|unexpected\|self_hosted_runner\)' '$T/status.out' | grep -qx 5"
check "status: rule quiet has none yet" \
    bash -c "grep -A2 '^rule quiet ' '$T/status.out' | grep -q '^    none yet'"
check "status: the impostor is not a signing" \
    bash -c "! grep -q '$(sha 11)' '$T/status.out'"

# ---- kill -9 mid-catch-up: signings and alerts neither lost nor doubled --
# Three watched signings between noise; the follower is killed while
# catching up, then finishes.  The store holds each alert and signing
# exactly once (DESIGN.md point 7: they commit with the cursor).
# Commits come every 4096 entries (FOLLOW_COMMIT_EVERY): 3 gaps of 3000
# give two commits before the end.
GAP=3000
tl_start k 100
tw_config "$T/k.yaml" "$TL_URL_k" "$TL_DIR_k/trusted_root.json" "$T/k.db" \
    "watch:" "  - name: app" "    repository: $REPO" "    allow:" \
    "      workflows: [\"$WF\"]" "    record_expected: true"
tl_admin k append "{\"repository\":\"$REPO\",\"workflow\":\"$WF\",\"sha\":\"$(sha 21)\"}" >"$T/k1.json"
tl_admin k grow "{\"count\":$GAP}" >/dev/null
tl_admin k append "{\"repository\":\"$REPO\",\"workflow\":\"$WF\",\"runner_environment\":\"self-hosted\",\"sha\":\"$(sha 22)\"}" >"$T/k2.json"
tl_admin k grow "{\"count\":$GAP}" >/dev/null
tl_admin k append "{\"repository\":\"$REPO\",\"workflow\":\".github/workflows/evil.yml\",\"sha\":\"$(sha 23)\"}" >"$T/k3.json"
tl_admin k grow "{\"count\":$GAP}" >/dev/null
total=$((100 + 3 * GAP + 3))
SIGNED=$(python3 -c '
import json, sys
print(" ".join(str(json.load(open(f))["index"]) for f in sys.argv[1:]))' \
    "$T/k1.json" "$T/k2.json" "$T/k3.json")
# stored_below DB CURSOR: the store's alerts and signings are one for
# each watched signing below CURSOR, in order: none lost, none doubled,
# none committed ahead of the cursor.
stored_below() {
    local want="" i
    for i in $SIGNED; do
        [ "$i" -lt "$2" ] && want="$want${want:+ }$i"
    done
    [ "$(sqlite3 "$1" "select group_concat(log_index, ' ') from (select log_index from alerts order by log_index)")" = "$want" ] &&
        [ "$(sqlite3 "$1" "select group_concat(log_index, ' ') from (select log_index from signings order by log_index)")" = "$want" ]
}
# Kill after each of the first two commits (the first holds two of the
# signings, the second the third), so the next run replays the entries
# after it.  The test paces each run (tl_pace): it gets the requests that
# read up to about entry STOP (10 entries a retrieve, an inclusion proof
# at each commit point, a few checkpoint requests), then the log holds it
# there, and the kill comes once the log holds it: after the commit below
# STOP and before the end, on any machine (6600 is past the commit at
# 4096, 8650 past the one at 8192, both short of the end).
kills=0
prev=0
for stop in 6600 8650; do
    tl_pace k $(((stop - prev) / 10 + (stop - prev) / 4096 + 4))
    "$BIN" once -c "$T/k.yaml" >>"$T/k.out" 2>>"$T/k.err" &
    if kill_at_cursor "$T/k.yaml" $((stop / 4096 * 4096)) $! k; then
        kills=$((kills + 1))
    fi
    prev=$(cursor_of "$T/k.yaml")
    check "after kill $kills: the store holds the alerts and signings below the cursor ($prev), once each" \
        stored_below "$T/k.db" "$prev"
done
tl_pace k 0
c=$(status_field "$T/k.yaml" cursor)
check "killed $kills times mid-catch-up (cursor $c of $total)" \
    test "$kills" -eq 2 -a "${c:-0}" -gt 0 -a "${c:-0}" -lt "$total"
"$BIN" once -c "$T/k.yaml" >>"$T/k.out" 2>>"$T/k.err"
check "after the kills, once finishes" test "$(status_field "$T/k.yaml" cursor)" = "$total"
"$BIN" status -c "$T/k.yaml" >"$T/kstatus.out"
check "the store holds each alert once: 1 info, 2 critical" \
    grep -q "^alerts: 1 info, 0 warning, 2 critical" "$T/kstatus.out"
check "the store holds each signing once" \
    test "$(grep -c '  index [0-9]*  ' "$T/kstatus.out")" = 3
check "each alert was delivered, about its entry" python3 - "$T/k.out" \
    "$T/k1.json" "$T/k2.json" "$T/k3.json" <<'PY'
import json, sys
got = {}
for l in open(sys.argv[1]):
    if l.startswith("{"):
        a = json.loads(l)
        got.setdefault(a["entry"]["log_index"], set()).add((a["type"], a["id"]))
want = ["signing.recorded", "signing.self_hosted_runner", "signing.unexpected"]
for f, t in zip(sys.argv[2:5], want):
    idx = json.load(open(f))["index"]
    if {x[0] for x in got.get(idx, ())} != {t} or len(got[idx]) != 1:
        sys.exit("index %d: %r, want one %s" % (idx, got.get(idx), t))
if len(got) != 3:
    sys.exit("alerts about %d entries, want 3" % len(got))
PY

finish
