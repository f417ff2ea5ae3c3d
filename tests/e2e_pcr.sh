#!/bin/bash
# e2e_pcr.sh: the PCR lookup and policy end to end (issue 7): the real
# tlogwatch daemon follows the loopback test log while enclave artifacts
# and their cosign signatures are pushed to a real registry (Debian's
# docker-registry behind the token proxy of tests/tools/registry.py, in
# the layout of tests/tools/oci_push.py) and their signings appended
# (/admin/append with payload_b64 = the pushed simple-signing payload, so
# the entry's hash is the payload's digest).
#  - the allowed PCR set: the signing's PCRs are recorded, no PCR alert;
#  - PCR2 changed: signing.unknown_pcrs naming PCR2 (and nothing else);
#  - a signature that never appears: signing.pcrs_unavailable after the
#    rule's short lookup_timeout;
#  - a PCR annotation that disagrees with the info layer: at once
#    signing.pcrs_unavailable with an "untrusted: ..." reason;
#  - `once` makes one attempt per pending lookup: with the registry down
#    the signing stays pending (exit 0), with it up the PCRs are recorded
#    and signing.unknown_pcrs delivered (exit 1); a signing left pending
#    by `once` is looked up by the next daemon run;
#  - `status` shows each signing's PCR state and values.
# PCR values come from ../shared/testdata/nitro/nitro-cli-pcrs.json at run
# time.
. "$TLOGWATCH_SRC/tests/lib/e2e.sh"
T=$E2E_TMP
BIN=$TLOGWATCH_BIN
REPO=acme/enclave-app
WF=.github/workflows/build-eif.yml
REG_BIN=${TLOGWATCH_REGISTRY_BIN:-/usr/bin/docker-registry}

if [ ! -x "$REG_BIN" ]; then
    echo "SKIP: $REG_BIN missing (apt-get install docker-registry)"
    exit 0
fi

# ---- the registry ------------------------------------------------------
reg_start || { finish; exit 1; }

# describe-eif info files: the real x86_64 sample set, and that set with
# one digit of PCR2 changed.
python3 - "$TLOGWATCH_TESTDATA/nitro/nitro-cli-pcrs.json" "$T" <<'PY'
import json, sys
src, d = sys.argv[1:3]
m = json.load(open(src))["expectedPcrsForSampleImage"]["x86_64"]
def info(pcrs):
    return {"Measurements": dict({"HashAlgorithm": "Sha384 { ... }"}, **pcrs),
            "IsSigned": False}
json.dump(info(m), open(d + "/info-ok.json", "w"))
bad = dict(m)
bad["PCR2"] = bad["PCR2"][:-1] + ("0" if bad["PCR2"][-1] != "0" else "1")
json.dump(info(bad), open(d + "/info-pcr2.json", "w"))
open(d + "/pcr2-changed", "w").write(bad["PCR2"])
for k in ("PCR0", "PCR1", "PCR2"):
    open(d + "/" + k, "w").write(m[k])
# A signed EIF (PCR8 = the signing certificate): the documented
# build-enclave output, and that set signed by another certificate.
sm = json.load(open(src))["buildEnclaveSignedHelloWorld"]["stdoutJson"]["Measurements"]
sm = {k: v for k, v in sm.items() if k.startswith("PCR")}
json.dump(dict(info(sm), IsSigned=True), open(d + "/info-signed.json", "w"))
other = dict(sm)
other["PCR8"] = other["PCR8"][:-1] + ("0" if other["PCR8"][-1] != "0" else "1")
json.dump(dict(info(other), IsSigned=True), open(d + "/info-pcr8.json", "w"))
for k in ("PCR0", "PCR1", "PCR2", "PCR8"):
    open(d + "/S" + k, "w").write(sm[k])
open(d + "/pcr8-changed", "w").write(other["PCR8"])
PY
PCR0=$(cat "$T/PCR0")
PCR1=$(cat "$T/PCR1")
PCR2=$(cat "$T/PCR2")
S0=$(cat "$T/SPCR0")
S1=$(cat "$T/SPCR1")
S2=$(cat "$T/SPCR2")
S8=$(cat "$T/SPCR8")

tl_start w 20
ROOT="$TL_DIR_w/trusted_root.json"
tw_config "$T/p.yaml" "$TL_URL_w" "$ROOT" "$T/p.db" \
    "watch:" \
    "  - name: app" \
    "    repository: $REPO" \
    "    allow:" \
    "      workflows: [\"$WF\"]" \
    "    record_expected: true" \
    "    pcrs:" \
    "      registry: 127.0.0.1:$PPORT/$REPO" \
    "      allow:" \
    "        - {PCR0: \"$PCR0\", PCR1: \"$PCR1\", PCR2: \"$PCR2\"}" \
    "        - {PCR0: \"$S0\", PCR1: \"$S1\", PCR2: \"$S2\", PCR8: \"$S8\"}" \
    "      lookup_timeout: 5s"

next_index() {
    tl_get w /api/v1/log | python3 -c 'import json,sys; print(json.load(sys.stdin)["treeSize"])'
}

# payload_of SIGTAG: base64 of the simple-signing payload the registry holds
payload_of() {
    python3 - "$RPORT" "$REPO" "$1" <<'PY'
import base64, json, sys, urllib.request
port, repo, tag = sys.argv[1:4]
base = "http://127.0.0.1:%s/v2/%s" % (port, repo)
rq = urllib.request.Request(base + "/manifests/" + tag, headers={
    "Accept": "application/vnd.oci.image.manifest.v1+json"})
man = json.load(urllib.request.urlopen(rq, timeout=10))
d = man["layers"][0]["digest"]
print(base64.b64encode(urllib.request.urlopen(base + "/blobs/" + d,
                                              timeout=10).read()).decode())
PY
}

# sign NAME INFO [push flags]: push an artifact whose signature names the
# log's next index, append its signing; $T/NAME.ap is the append reply.
SHA=0
sign() {
    local name=$1 info=$2 idx pushed b64
    shift 2
    SHA=$((SHA + 1))
    idx=$(next_index)
    python3 "$TLOGWATCH_SRC/tests/tools/oci_push.py" \
        --registry "127.0.0.1:$RPORT" --ref-host "127.0.0.1:$PPORT" \
        --repo "$REPO" --info "$info" --tag "$name" --log-index "$idx" \
        "$@" >"$T/$name.push"
    check "$name: pushed" test -s "$T/$name.push"
    if [ "${1:-}" = "--no-sig" ]; then
        b64=$(printf 'never signed %s' "$name" | base64 -w0)
    else
        b64=$(payload_of "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sig_tag"])' "$T/$name.push")")
    fi
    tl_admin w append "{\"repository\":\"$REPO\",\"workflow\":\"$WF\",\"ref\":\"refs/heads/main\",\"trigger\":\"push\",\"runner_environment\":\"github-hosted\",\"sha\":\"$(printf '%040x' $SHA)\",\"payload_b64\":\"$b64\"}" >"$T/$name.ap"
    check "$name: appended at index $idx" python3 -c '
import json, sys
ap = json.load(open(sys.argv[1]))
sys.exit(ap["index"] != int(sys.argv[2]))' "$T/$name.ap" "$idx"
}

index_of() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["index"])' "$1"; }

# state_of INDEX: "pcrs_state pcr2" of the signing row at INDEX.
state_of() {
    python3 - "$T/p.db" "$1" <<'PY'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=5)
r = db.execute("SELECT pcrs_state, pcr2 FROM signings WHERE log_index = ?",
               (int(sys.argv[2]),)).fetchone()
print("%s %s" % (r[0], r[1]) if r else "none-yet -")
PY
}

# wait_state INDEX SECONDS: until the row at INDEX is no longer pending
# (at most SECONDS); prints its state.
wait_state() {
    local end=$((SECONDS + $2)) s
    while :; do
        s=$(state_of "$1" 2>/dev/null)
        case "$s" in
        pending* | none-yet* | "") [ "$SECONDS" -lt "$end" ] || break ;;
        *) break ;;
        esac
        sleep 0.1
    done
    echo "$s"
}

# has_pcr_alert OUT INDEX: a PCR alert about INDEX was delivered to OUT.
has_pcr_alert() { [ -n "$(pcr_alerts "$1" "$2")" ]; }

# pcr_alerts OUT INDEX: "type reason..." of the PCR alerts about INDEX.
pcr_alerts() {
    python3 - "$1" "$2" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    if not l.strip().startswith("{"):
        continue
    a = json.loads(l)
    if a["type"].startswith("signing.") and "pcrs" in a["type"] and \
            a.get("entry", {}).get("log_index") == int(sys.argv[2]):
        print(a["type"], " | ".join(a.get("reasons", [])))
PY
}

start_daemon() {
    "$BIN" run -c "$T/p.yaml" >>"$T/run.out" 2>>"$T/run.err" &
    DPID=$!
    E2E_PIDS+=($DPID)
}

start_daemon

# ---- the allowed set: recorded, no PCR alert -----------------------------
sign ok "$T/info-ok.json" --pcr-annotations
I=$(index_of "$T/ok.ap")
S=$(wait_state "$I" 120)
check "allowed set: PCRs found and recorded ($S)" test "$S" = "found $PCR2"
check "allowed set: no PCR alert" test "$(pcr_alerts "$T/run.out" "$I")" = ""

# ---- PCR2 changed: signing.unknown_pcrs naming PCR2 ----------------------
sign pcr2 "$T/info-pcr2.json"
I=$(index_of "$T/pcr2.ap")
S=$(wait_state "$I" 120)
check "PCR2 changed: the found PCRs are recorded" \
    test "$S" = "found $(cat "$T/pcr2-changed")"
wait_until 120 has_pcr_alert "$T/run.out" "$I"
A=$(pcr_alerts "$T/run.out" "$I")
check "PCR2 changed: one signing.unknown_pcrs" \
    test "$(printf '%s\n' "$A" | grep -c '^signing.unknown_pcrs ')" -eq 1
check "PCR2 changed: it names PCR2 (application) and no other PCR" \
    python3 - "$T/run.out" "$I" "$(cat "$T/pcr2-changed")" "$PCR2" <<'PY'
import json, sys
out, idx, found, allowed = sys.argv[1:5]
for l in open(out):
    if l.startswith("{"):
        a = json.loads(l)
        if a["type"] == "signing.unknown_pcrs" and \
                a["entry"]["log_index"] == int(idx):
            r = a["reasons"]
            ok = (len(r) == 1 and r[0].startswith("PCR2 (application)")
                  and found in r[0] and allowed in r[0]
                  and a["pcrs"]["PCR2"] == found and a["rule"] == "app"
                  and a["severity"] == "critical"
                  and a["identity"]["repository"] == "acme/enclave-app")
            sys.exit(0 if ok else "alert: %r" % a)
sys.exit("no alert")
PY

# ---- a signed EIF: PCR8 recorded; another signing certificate is named -----
sign signed "$T/info-signed.json" --pcr-annotations
I=$(index_of "$T/signed.ap")
S=$(wait_state "$I" 120)
check "signed EIF: allowed, PCRs found ($S)" test "$S" = "found $S2"
check "signed EIF: PCR8 recorded with the signing" \
    test "$(sqlite3 "file:$T/p.db?mode=ro" "SELECT pcr8 || ' ' || pcrs_source FROM signings WHERE log_index = $I")" = "$S8 signature"
check "signed EIF: no PCR alert" test "$(pcr_alerts "$T/run.out" "$I")" = ""
"$BIN" status -c "$T/p.yaml" >"$T/status1.out" 2>"$T/status1.err"
check "status: the signed EIF's PCR8" \
    grep -q "pcrs found  PCR0 $S0  PCR1 $S1  PCR2 $S2  PCR8 $S8\$" "$T/status1.out"
sign pcr8 "$T/info-pcr8.json"
I=$(index_of "$T/pcr8.ap")
S=$(wait_state "$I" 120)
wait_until 120 has_pcr_alert "$T/run.out" "$I"
check "PCR8 changed: signing.unknown_pcrs naming PCR8 only" \
    python3 - "$T/run.out" "$I" "$(cat "$T/pcr8-changed")" <<'PY'
import json, sys
out, idx, found = sys.argv[1:4]
for l in open(out):
    if l.startswith("{"):
        a = json.loads(l)
        if a["type"] == "signing.unknown_pcrs" and \
                a["entry"]["log_index"] == int(idx):
            r = a["reasons"]
            ok = (len(r) == 1 and r[0].startswith("PCR8 (signing certificate)")
                  and found in r[0] and a["pcrs"]["PCR8"] == found)
            sys.exit(0 if ok else "alert: %r" % a)
sys.exit("no alert")
PY
"$BIN" report -c "$T/p.yaml" --since 1h --format json >"$T/report.json" 2>"$T/report.err"
check "report: the signed EIF's PCR8, state and source" \
    python3 - "$T/report.json" "$(index_of "$T/signed.ap")" "$S8" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
idx, p8 = int(sys.argv[2]), sys.argv[3]
for rule in r["rules"]:
    for g in rule.get("recent_signings") or []:
        if g["log_index"] == idx:
            ok = (g["pcrs"].get("PCR8") == p8 and g["pcrs_state"] == "found"
                  and g["pcrs_source"] == "signature")
            sys.exit(0 if ok else "signing: %r" % g)
sys.exit("signing %d not in the report" % idx)
PY

# ---- no signature: signing.pcrs_unavailable after lookup_timeout --------
T0=$(date +%s)
sign nosig "$T/info-ok.json" --no-sig
I=$(index_of "$T/nosig.ap")
S=$(wait_state "$I" 120)
T1=$(date +%s)
check "no signature: unavailable ($S)" test "${S%% *}" = "unavailable"
check "no signature: not before the 5s lookup_timeout ($((T1 - T0))s)" \
    test $((T1 - T0)) -ge 4
A=$(pcr_alerts "$T/run.out" "$I")
check "no signature: one signing.pcrs_unavailable naming the timeout" \
    test "$(printf '%s\n' "$A" | grep -c '^signing.pcrs_unavailable .*lookup_timeout')" -eq 1

# ---- a registry that lies: reported at once, never trusted ----------------
# (A lookup retried to the deadline would say "lookup_timeout reached".)
sign lie "$T/info-ok.json" --pcr-annotations --mutate-annotation PCR1
I=$(index_of "$T/lie.ap")
S=$(wait_state "$I" 120)
check "annotation disagrees with the info layer: unavailable ($S)" \
    test "$S" = "unavailable None"
check "annotation disagrees: signing.pcrs_unavailable, reason untrusted" \
    test "$(pcr_alerts "$T/run.out" "$I" | grep -c '^signing.pcrs_unavailable untrusted: ')" -eq 1

# The daemon's lookups share anonymous tokens (oci.h token cache): each
# lookup starts with the commit-SHA tag, so count those against tokens.
NTOK=$(grep -c '^TOKEN ' "$T/reg/requests.log")
NLOOK=$(grep -cE '/manifests/[0-9a-f]{40}( |$)' "$T/reg/requests.log")
check "daemon: anonymous tokens reused ($NTOK tokens for $NLOOK lookups)" \
    test "$NTOK" -ge 1 -a "$NLOOK" -ge 6 -a "$NTOK" -le $((NLOOK / 2))

# ---- once: one attempt per pending lookup; what fails stays pending ---------
# p-dead.yaml: the same rule, its registry on a port nobody listens on and
# a long lookup_timeout, so an attempt fails and the row stays pending.
kill "$DPID"
wait "$DPID" 2>/dev/null
sed -e "s#registry: 127.0.0.1:$PPORT/#registry: 127.0.0.1:$(free_port)/#" \
    -e 's#lookup_timeout: 5s#lookup_timeout: 1h#' "$T/p.yaml" >"$T/p-dead.yaml"
sign later "$T/info-pcr2.json"
I=$(index_of "$T/later.ap")
"$BIN" once -c "$T/p-dead.yaml" >"$T/once1.out" 2>"$T/once1.err"
RC=$?
check "once, registry down: exit 0 (no alert yet) [$RC]" test "$RC" -eq 0
check "once, registry down: the signing stays pending" \
    test "$(state_of "$I")" = "pending None"
check "once, registry down: it says so" grep -q "still pending" "$T/once1.err"
"$BIN" once -c "$T/p.yaml" >"$T/once2.out" 2>"$T/once2.err"
RC=$?
check "once, registry up: the lookup is made, PCRs recorded" \
    test "$(state_of "$I")" = "found $(cat "$T/pcr2-changed")"
check "once, registry up: signing.unknown_pcrs delivered by once" \
    test "$(pcr_alerts "$T/once2.out" "$I" | grep -c '^signing.unknown_pcrs ')" -eq 1
check "once, registry up: exit 1 (a critical alert) [$RC]" test "$RC" -eq 1

# ---- a pending lookup survives the process ---------------------------------
sign later2 "$T/info-ok.json"
I=$(index_of "$T/later2.ap")
"$BIN" once -c "$T/p-dead.yaml" >"$T/once3.out" 2>"$T/once3.err"
check "restart: once leaves the signing pending" \
    test "$(state_of "$I")" = "pending None"
start_daemon
S=$(wait_state "$I" 120)
check "restart: the next run looks it up" test "$S" = "found $PCR2"
check "restart: no PCR alert for the allowed set" \
    test "$(pcr_alerts "$T/run.out" "$I")" = ""
check "daemon: no PCR alert twice" python3 - "$T/run.out" <<'PY'
import json, sys
ids = [json.loads(l)["id"] for l in open(sys.argv[1]) if l.startswith("{")]
sys.exit(len(ids) != len(set(ids)))
PY

# ---- status shows each signing's PCR state ---------------------------------
"$BIN" status -c "$T/p.yaml" >"$T/status.out" 2>"$T/status.err"
check "status: the allowed signing's PCRs" \
    grep -q "pcrs found  PCR0 $PCR0  PCR1 $PCR1  PCR2 $PCR2\$" "$T/status.out"
check "status: the changed PCR2 is shown" \
    grep -q "pcrs found  .* PCR2 $(cat "$T/pcr2-changed")\$" "$T/status.out"
check "status: the unavailable lookup" \
    grep -q "pcrs unavailable  PCR0 -  PCR1 -  PCR2 -\$" "$T/status.out"
check "status: why a lookup ended unavailable" \
    grep -q "pcrs from signature: lookup_timeout reached" "$T/status.out"

# ---- the effective verdict (issue 12): PCRs not allowed are not allowed ----
# The policy allowed the 'later' signing (workflow, ref, runner); its PCRs,
# found afterwards, are not an allowed set (signing.unknown_pcrs).  Every
# surface says it is not allowed: status (text and json) and the three
# report formats (verdict cell, the rule's counts).
IU=$(index_of "$T/later.ap")
"$BIN" status -c "$T/p.yaml" --format json >"$T/status.json" 2>"$T/status.err"
for f in md json html; do
    "$BIN" report -c "$T/p.yaml" --since 1h --format $f >"$T/verdict.$f" 2>>"$T/status.err"
done
check "status json: the unknown PCR set is not allowed (unknown_pcrs, policy allowed)" \
    python3 - "$T/status.json" "$IU" <<'PY'
import json, sys
d, idx = json.load(open(sys.argv[1])), int(sys.argv[2])
(g,) = [g for r in d["rules"] for g in r["signings"] if g["log_index"] == idx]
assert g["verdict"] == "unknown_pcrs" and g["allowed"] is False, g
assert g["policy_verdict"] == "allowed", g
assert any(a["type"] == "signing.unknown_pcrs" for a in g["alerts"]), g
PY
check "status text: the unknown PCR set is not allowed" \
    grep -Eq "  index $IU  unknown_pcrs  \(policy: allowed\)$" "$T/status.out"
check "report json: not allowed, not counted as allowed" \
    python3 - "$T/verdict.json" "$IU" <<'PY'
import json, sys
r, idx = json.load(open(sys.argv[1])), int(sys.argv[2])
(rule,) = [x for x in r["rules"] if any(g["log_index"] == idx
                                       for g in x["recent_signings"])]
(g,) = [g for g in rule["recent_signings"] if g["log_index"] == idx]
assert g["verdict"] == "unknown_pcrs" and g["allowed"] is False, g
allowed = sum(1 for g in rule["recent_signings"] if g["verdict"] == "allowed")
assert rule["verdicts"].get("allowed", 0) == allowed, rule["verdicts"]
assert rule["verdicts"].get("unknown_pcrs", 0) >= 1, rule["verdicts"]
PY
check "report md: its row says unknown_pcrs" \
    grep -Eq "^\| $IU \| [^|]* \| \`unknown_pcrs\` \(policy \`allowed\`\) \|" "$T/verdict.md"
check "report html: its verdict cell is not green" \
    grep -q "<td class=\"mono\">$IU</td><td class=\"mono\">[^<]*</td><td class=\"v-other\">unknown_pcrs" "$T/verdict.html"
finish
