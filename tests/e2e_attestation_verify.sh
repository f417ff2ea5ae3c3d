#!/bin/bash
# e2e_attestation_verify.sh: `tlogwatch attestation verify` end to end
# (issue 14), the real binary on a state made by the real daemon path:
# `tlogwatch once` follows the loopback test log while enclave artifacts
# and their cosign signatures sit in a real registry (Debian's
# docker-registry behind tests/tools/registry.py, pushed as
# tests/tools/oci_push.py does), so the PCRs of each signing are looked
# up and recorded as in production.  Attestation documents are minted by
# tlogwatch-mkattest (a test CA shaped like AWS's; --root names its root)
# with PCRs chosen from those signings.
#  - the reviewed set: known_build naming the commit, run, log and index,
#    exit 0; in base64 from stdin too;
#  - the set whose signing raised signing.unknown_pcrs: known_build with
#    alerted true, exit 1;
#  - PCR2 changed: unknown_build, exit 1;
#  - a stale document with --max-age, a wrong nonce, the AWS root for a
#    test document: invalid naming the check, exit 1; the right nonce: 0;
#  - the real AWS documents of ../shared/testdata/nitro: the valid one is
#    debug_mode (signature and chain pass, no state read: the config need
#    not exist), the invalid one is invalid naming the signature;
#  - input errors exit 2 with a reason (truncated, trailing bytes, not
#    base64, bad --nonce or --max-age); an unreadable state exits 3;
#  - POST /api/v1/attestation on `tlogwatch run`'s status server, with
#    attestation.root the test root: the same answers; unknown_build and
#    debug_mode raise attestation.unknown_build once per PCR set through
#    the stdout sink; an invalid document is answered, not alerted; a
#    body that is not a document gets 400; /metrics counts each verdict.
. "$TLOGWATCH_SRC/tests/lib/e2e.sh"
T=$E2E_TMP
BIN=$TLOGWATCH_BIN
MK=${TLOGWATCH_MKATTEST:?}
ND=$TLOGWATCH_TESTDATA/nitro
REPO=acme/enclave-app
WF=.github/workflows/build-eif.yml
REG_BIN=${TLOGWATCH_REGISTRY_BIN:-/usr/bin/docker-registry}

# ---- the real documents: no state needed ---------------------------------
"$BIN" attestation verify -c "$T/none.yaml" "$ND/attestation-debug-valid.cose.b64" \
    >"$T/real.json" 2>"$T/real.err"
RC=$?
check "real valid document: exit 1 [$RC]" test "$RC" -eq 1
check "real valid document: debug_mode, signature and chain pass" \
    python3 - "$T/real.json" "$ND/attestation-decoded.json" <<'PY'
import json, sys
a = json.load(open(sys.argv[1]))
want = json.load(open(sys.argv[2]))["documents"]["attestation-debug-valid.cose.b64"]
c = a["checks"]
ok = (a["verdict"] == "debug_mode" and c["signature"]["outcome"] == "pass"
      and c["chain"]["outcome"] == "pass" and c["pcrs"]["outcome"] == "skipped"
      and a["document"]["module_id"] == want["module_id"]
      and a["document"]["timestamp"] == want["timestamp_ms"]
      and a["document"]["pcrs"]["PCR3"] == want["pcrs_hex"]["3"]
      and a["document"]["nonce"] == want["nonce_hex"]
      and a["root"]["subject"] == "CN=aws.nitro-enclaves,OU=AWS,O=Amazon,C=US"
      and a["signings"] == [])
sys.exit(0 if ok else "answer: %r" % a)
PY
"$BIN" attestation verify "$ND/attestation-debug-invalid.cose.b64" \
    >"$T/realbad.json" 2>"$T/realbad.err"
RC=$?
check "real invalid document: exit 1 [$RC]" test "$RC" -eq 1
check "real invalid document: invalid, the signature named, the chain passes" \
    python3 -c '
import json, sys
a = json.load(open(sys.argv[1]))
sys.exit(not (a["verdict"] == "invalid" and a["reasons"][0].startswith("signature:")
              and a["checks"]["chain"]["outcome"] == "pass"
              and "signature" in a["summary"]))' "$T/realbad.json"

# ---- input errors: exit 2 with a reason ----------------------------------
base64 -d "$ND/attestation-debug-valid.cose.b64" >"$T/real.cbor"
head -c 1000 "$T/real.cbor" >"$T/trunc.cbor"
{ cat "$T/real.cbor"; printf '\0'; } >"$T/trail.cbor"
expect2() { # desc pattern args...
    local desc=$1 pat=$2 rc
    shift 2
    "$BIN" attestation verify "$@" >"$T/e2.out" 2>"$T/e2.err"
    rc=$?
    check "$desc: exit 2 [$rc]" test "$rc" -eq 2
    check "$desc: says '$pat', prints no answer" \
        eval 'grep -q "$pat" "$T/e2.err" && ! test -s "$T/e2.out"'
}
expect2 "truncated document" "ends early" "$T/trunc.cbor"
expect2 "a byte after the document" "1 bytes after the COSE_Sign1" "$T/trail.cbor"
expect2 "not base64" "neither CBOR" "$ND/PROVENANCE.md"
expect2 "bad --nonce" "nonce" --nonce xyz "$T/real.cbor"
expect2 "bad --max-age" "max-age" --max-age soon "$T/real.cbor"
expect2 "no document" "usage"
"$BIN" attestation frob "$T/real.cbor" >"$T/frob.out" 2>"$T/frob.err"
RC=$?
check "unknown subcommand: exit 2 with the usage [$RC]" \
    eval 'test "$RC" -eq 2 && grep -q "usage: tlogwatch attestation verify" "$T/frob.err"'

if [ ! -x "$REG_BIN" ]; then
    echo "SKIP: $REG_BIN missing (apt-get install docker-registry): the rest"
    finish
    exit $?
fi

# ---- a state made by the daemon's own path --------------------------------
reg_start || { finish; exit 1; }

# The reviewed set (the real x86_64 sample's PCRs) and that set with PCR2
# changed, as describe-eif info files.
python3 - "$ND/nitro-cli-pcrs.json" "$T" <<'PY'
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
for k in ("PCR0", "PCR1", "PCR2"):
    open(d + "/" + k, "w").write(m[k])
open(d + "/BADPCR2", "w").write(bad["PCR2"])
never = m["PCR2"][:-1] + ("2" if m["PCR2"][-1] != "2" else "3")
open(d + "/NEVERPCR2", "w").write(never)
PY
PCR0=$(cat "$T/PCR0")
PCR1=$(cat "$T/PCR1")
PCR2=$(cat "$T/PCR2")
BAD2=$(cat "$T/BADPCR2")
NEVER2=$(cat "$T/NEVERPCR2")

tl_start w 20
tw_config "$T/p.yaml" "$TL_URL_w" "$TL_DIR_w/trusted_root.json" "$T/p.db" \
    "watch:" \
    "  - name: app" \
    "    repository: $REPO" \
    "    allow:" \
    "      workflows: [\"$WF\"]" \
    "    pcrs:" \
    "      registry: 127.0.0.1:$PPORT/$REPO" \
    "      allow:" \
    "        - {PCR0: \"$PCR0\", PCR1: \"$PCR1\", PCR2: \"$PCR2\"}" \
    "      lookup_timeout: 5m"

next_index() {
    tl_get w /api/v1/log | python3 -c 'import json,sys; print(json.load(sys.stdin)["treeSize"])'
}
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
# sign NAME INFO SHA: push the artifact and its signature, append the
# signing (commit SHA) to the test log; $T/NAME.ap is the append reply.
sign() {
    local name=$1 info=$2 sha=$3 idx b64
    idx=$(next_index)
    python3 "$TLOGWATCH_SRC/tests/tools/oci_push.py" \
        --registry "127.0.0.1:$RPORT" --ref-host "127.0.0.1:$PPORT" \
        --repo "$REPO" --info "$info" --tag "$name" --log-index "$idx" \
        >"$T/$name.push"
    b64=$(payload_of "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sig_tag"])' "$T/$name.push")")
    tl_admin w append "{\"repository\":\"$REPO\",\"workflow\":\"$WF\",\"ref\":\"refs/heads/main\",\"trigger\":\"push\",\"runner_environment\":\"github-hosted\",\"sha\":\"$sha\",\"payload_b64\":\"$b64\"}" >"$T/$name.ap"
    check "$name: appended at index $idx" python3 -c '
import json, sys
sys.exit(json.load(open(sys.argv[1]))["index"] != int(sys.argv[2]))' "$T/$name.ap" "$idx"
}
index_of() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["index"])' "$1"; }

SHA_OK=$(printf '%040x' 0xa11ce)
SHA_BAD=$(printf '%040x' 0xbad)
sign ok "$T/info-ok.json" "$SHA_OK"
sign pcr2 "$T/info-pcr2.json" "$SHA_BAD"
I_OK=$(index_of "$T/ok.ap")
I_BAD=$(index_of "$T/pcr2.ap")
"$BIN" once -c "$T/p.yaml" >"$T/once.out" 2>"$T/once.err"
RC=$?
check "once: exit 1 (the PCR2 signing's critical alert) [$RC]" test "$RC" -eq 1
check "once: both signings' PCRs recorded by the lookup" \
    test "$(sqlite3 "file:$T/p.db?mode=ro" "SELECT group_concat(log_index || ':' || pcrs_state || ':' || pcr2, ' ') FROM (SELECT * FROM signings ORDER BY log_index)")" \
    = "$I_OK:found:$PCR2 $I_BAD:found:$BAD2"

verify() { # name [args...]: the answer in $T/NAME.json, the exit code in RC
    local name=$1
    shift
    "$BIN" attestation verify -c "$T/p.yaml" "$@" >"$T/$name.json" 2>"$T/$name.err"
    RC=$?
}
field() { python3 -c '
import json, sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."):
    v = v[int(k)] if isinstance(v, list) else v[k]
print(json.dumps(v) if isinstance(v, (dict, list, bool)) or v is None else v)' "$T/$1.json" "$2"; }

mkdir "$T/ca"
"$MK" --ca "$T/ca" --pcr "0=$PCR0" --pcr "1=$PCR1" --pcr "2=$PCR2" \
    --nonce 0a0b0c >"$T/known.cbor"
check "mkattest: a document" test -s "$T/known.cbor"
verify known --root "$T/ca/root.pem" "$T/known.cbor"
check "known build: exit 0 [$RC]" test "$RC" -eq 0
check "known build: verdict" test "$(field known verdict)" = known_build
check "known build: names the commit" \
    test "$(field known signings.0.commit)" = "$SHA_OK"
check "known build: names the log, index and rule" \
    test "$(field known signings.0.log.name) $(field known signings.0.log_index) $(field known signings.0.rule)" = "testlog $I_OK app"
check "known build: the run URL" \
    grep -q '"run_url": "https://github.com/acme/enclave-app/actions/runs/' "$T/known.json"
check "known build: the signing raised no alert, PCRs from its signature" \
    test "$(field known signings.0.alerted) $(field known signings.0.pcrs_source) $(field known signings.0.verdict)" = "false signature allowed"
check "known build: one signing" test "$(field known signings | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 1
"$MK" --ca "$T/ca" --pcr "0=$PCR0" --pcr "1=$PCR1" --pcr "2=$PCR2" --base64 \
    | "$BIN" attestation verify -c "$T/p.yaml" --root "$T/ca/root.pem" - \
    >"$T/stdin.json" 2>"$T/stdin.err"
RC=$?
check "known build, base64 on stdin: exit 0 [$RC]" test "$RC" -eq 0

"$MK" --ca "$T/ca" --pcr "0=$PCR0" --pcr "1=$PCR1" --pcr "2=$BAD2" >"$T/alerted.cbor"
verify alerted --root "$T/ca/root.pem" "$T/alerted.cbor"
check "signing that raised an alert: exit 1 [$RC]" test "$RC" -eq 1
check "signing that raised an alert: known_build, alerted, its commit" \
    test "$(field alerted verdict) $(field alerted signings.0.alerted) $(field alerted signings.0.commit) $(field alerted signings.0.alerts.0)" = "known_build true $SHA_BAD signing.unknown_pcrs"

"$MK" --ca "$T/ca" --pcr "0=$PCR0" --pcr "1=$PCR1" --pcr "2=$NEVER2" >"$T/unknown.cbor"
verify unknown --root "$T/ca/root.pem" "$T/unknown.cbor"
check "PCR2 changed: exit 1 [$RC]" test "$RC" -eq 1
check "PCR2 changed: unknown_build, no signing" \
    test "$(field unknown verdict) $(field unknown signings) $(field unknown checks.pcrs.outcome)" = "unknown_build [] fail"

"$MK" --ca "$T/ca" --pcr "0=$PCR0" --pcr "1=$PCR1" --pcr "2=$PCR2" --age 7200 >"$T/stale.cbor"
verify stale --root "$T/ca/root.pem" --max-age 1h "$T/stale.cbor"
check "stale with --max-age 1h: exit 1, invalid naming max_age [$RC]" \
    test "$RC $(field stale verdict) $(field stale reasons.0 | cut -d: -f1)" = "1 invalid max_age"
verify fresh --root "$T/ca/root.pem" --max-age 3h "$T/stale.cbor"
check "the same with --max-age 3h: exit 0 [$RC]" test "$RC" -eq 0
verify nonce --root "$T/ca/root.pem" --nonce 0a0b0d "$T/known.cbor"
check "wrong nonce: exit 1, invalid naming the nonce [$RC]" \
    test "$RC $(field nonce verdict) $(field nonce reasons.0 | cut -d: -f1)" = "1 invalid nonce"
verify nonceok --root "$T/ca/root.pem" --nonce 0A0B0C "$T/known.cbor"
check "right nonce: exit 0 [$RC]" test "$RC" -eq 0
verify awsroot "$T/known.cbor"
check "a test document under the AWS root: invalid naming the chain [$RC]" \
    test "$RC $(field awsroot verdict) $(field awsroot reasons.0 | cut -d: -f1)" = "1 invalid chain"

# ---- the same question over HTTP: POST /api/v1/attestation -----------------
HPORT=$(free_port)
{ cat "$T/p.yaml"; printf 'http:\n  listen: 127.0.0.1:%s\nattestation:\n  root: %s\n' \
    "$HPORT" "$T/ca/root.pem"; } >"$T/h.yaml"
"$BIN" check-config -c "$T/h.yaml" >"$T/cc.out" 2>&1
check "attestation.root: configuration OK" grep -q "configuration OK" "$T/cc.out"
printf 'attestation:\n  root: %s\n' "$T/known.cbor" >"$T/badroot.yaml"
sed -n '/^attestation:/,$!p' "$T/p.yaml" >>"$T/badroot.yaml"
"$BIN" check-config -c "$T/badroot.yaml" >"$T/cc2.out" 2>&1
RC=$?
check "attestation.root not a PEM certificate: refused at load [$RC]" \
    eval 'test "$RC" -eq 2 && grep -q "attestation.root: .*no PEM certificate" "$T/cc2.out"'
"$BIN" run -c "$T/h.yaml" >"$T/run.out" 2>"$T/run.err" &
DPID=$!
E2E_PIDS+=($DPID)
URL=http://127.0.0.1:$HPORT
wait_until 60 e2e_up_or_gone "$URL/livez" "$DPID"
post() { # name file [content-type]: the answer in $T/NAME.json, HTTP code in HC
    HC=$(curl -sS -o "$T/$1.json" -w '%{http_code}' --data-binary "@$2" \
        -H "Content-Type: ${3:-application/cbor}" "$URL/api/v1/attestation")
}
post hknown "$T/known.cbor"
check "POST known build: 200 known_build naming the commit [$HC]" \
    test "$HC $(field hknown verdict) $(field hknown signings.0.commit)" = "200 known_build $SHA_OK"
"$MK" --ca "$T/ca" --pcr "0=$PCR0" --pcr "1=$PCR1" --pcr "2=$PCR2" --base64 >"$T/known.b64"
post hknownb64 "$T/known.b64" text/plain
check "POST known build in base64: 200 known_build [$HC]" \
    test "$HC $(field hknownb64 verdict)" = "200 known_build"
post hunknown "$T/unknown.cbor"
check "POST PCR2 changed: 200 unknown_build [$HC]" \
    test "$HC $(field hunknown verdict)" = "200 unknown_build"
post hunknown2 "$T/unknown.cbor"
check "POST it again: unknown_build again [$HC]" \
    test "$HC $(field hunknown2 verdict)" = "200 unknown_build"
"$MK" --ca "$T/ca" >"$T/debug.cbor" # PCRs all zero
post hdebug "$T/debug.cbor"
check "POST debug-mode document: 200 debug_mode [$HC]" \
    test "$HC $(field hdebug verdict)" = "200 debug_mode"
mkdir "$T/otherca"
"$MK" --ca "$T/otherca" --pcr "0=$PCR0" --pcr "1=$PCR1" --pcr "2=$NEVER2" >"$T/foreign.cbor"
post hforeign "$T/foreign.cbor"
check "POST document of another CA: 200 invalid naming the chain [$HC]" \
    test "$HC $(field hforeign verdict) $(field hforeign reasons.0 | cut -d: -f1)" = "200 invalid chain"
post hgarbage "$ND/PROVENANCE.md" text/plain
check "POST garbage: 400 with the reason [$HC]" \
    eval 'test "$HC" = 400 && grep -q "neither CBOR" "$T/hgarbage.json"'
HC=$(curl -sS -o /dev/null -w '%{http_code}' "$URL/api/v1/attestation")
check "GET /api/v1/attestation: 405 [$HC]" test "$HC" = 405
# attestation.unknown_build: one per distinct PCR set (the PCR2-changed set
# posted twice, the debug-mode one), none for the invalid document.  The
# stdout sink writes in order: wait for the debug-mode one, posted last.
has_debug_alert() {
    python3 - "$T/run.out" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    if l.startswith("{"):
        a = json.loads(l)
        if a["type"] == "attestation.unknown_build" and \
                a["pcrs"]["PCR0"] == "0" * 96:
            sys.exit(0)
sys.exit(1)
PY
}
wait_until 60 has_debug_alert
check "attestation.unknown_build: exactly two (PCR2 changed once, debug mode)" \
    test "$(alerts_of "$T/run.out" attestation.unknown_build)" -eq 2
check "attestation.unknown_build: critical, names the PCRs and the module" \
    python3 - "$T/run.out" "$NEVER2" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    if l.startswith("{"):
        a = json.loads(l)
        if a["type"] == "attestation.unknown_build" and a["pcrs"]["PCR2"] == sys.argv[2]:
            ok = (a["severity"] == "critical"
                  and "module_id i-0123456789abcdef0-enc0123456789abcd" in a["reasons"]
                  and "verdict unknown_build" in a["reasons"])
            sys.exit(0 if ok else "alert: %r" % a)
sys.exit("no alert for the changed PCR2")
PY
curl -sS "$URL/metrics" >"$T/metrics.txt"
check "metrics: answers counted by verdict, the refused one too" \
    eval 'grep -q "^tlogwatch_attestation_documents_total{verdict=\"known_build\"} 2$" "$T/metrics.txt" &&
          grep -q "^tlogwatch_attestation_documents_total{verdict=\"unknown_build\"} 2$" "$T/metrics.txt" &&
          grep -q "^tlogwatch_attestation_documents_total{verdict=\"invalid\"} 1$" "$T/metrics.txt" &&
          grep -q "^tlogwatch_attestation_documents_total{verdict=\"refused\"} 1$" "$T/metrics.txt"'
kill "$DPID" 2>/dev/null
wait "$DPID" 2>/dev/null

# An unreadable state: could not complete.
sed "s|^state: .*|state: $T/missing/state.db|" "$T/p.yaml" >"$T/nostate.yaml"
"$BIN" attestation verify -c "$T/nostate.yaml" --root "$T/ca/root.pem" \
    "$T/known.cbor" >"$T/nostate.out" 2>"$T/nostate.err"
RC=$?
check "no state: exit 3 [$RC]" test "$RC" -eq 3

finish
