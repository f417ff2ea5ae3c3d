#!/bin/bash
# e2e_attest.sh: PCRs from the entry's own in-toto attestation (issue 7:
# "an intoto entry whose attestation.data carries a statement with
# Measurements/PCRs in its predicate"), end to end with the real binary.
# The test log serves every intoto/dsse entry with Rekor's
# "attestation": {"data": ...} member (or omits or corrupts it on demand,
# tests/testlog/admin.c); `tlogwatch once` follows it and decides each
# signing of a rule with `pcrs:`:
#  - a statement whose predicate is describe-eif JSON with the allowed set
#    (intoto 0.0.2): PCRs recorded from the attestation, no PCR alert;
#  - cosign's custom-predicate wrapping ({"Data": "<describe-eif text>"})
#    with PCR2 changed: signing.unknown_pcrs naming PCR2;
#  - an attestation that does not hash to the entry's payloadHash:
#    signing.pcrs_unavailable "untrusted: ...", its PCRs never used;
#  - no attestation from the log (Rekor did not store it; and never for
#    dsse entries, which Rekor keeps no attestation of): the statement is
#    found among cosign's .att manifests in the registry by the entry's
#    payloadHash (source "att"), with the PCRs in it, or without them and
#    its subject looked up (an intoto entry with the allowed set; a dsse
#    entry whose image has PCR2 changed: signing.unknown_pcrs); one that
#    never appears stays pending, then signing.pcrs_unavailable;
#  - a statement without PCRs whose subject is an enclave image in the
#    registry (Debian's docker-registry, no .sig at all): PCRs read from
#    that manifest (source "subject"); a subject the registry does not
#    have stays pending, then signing.pcrs_unavailable after the timeout.
# PCR values come from ../shared/testdata/nitro/nitro-cli-pcrs.json.
. "$TLOGWATCH_SRC/tests/lib/e2e.sh"
T=$E2E_TMP
BIN=$TLOGWATCH_BIN
REPO=acme/enclave-app
WF=.github/workflows/build-eif.yml
REG_BIN=${TLOGWATCH_REGISTRY_BIN:-/usr/bin/docker-registry}

python3 - "$TLOGWATCH_TESTDATA/nitro/nitro-cli-pcrs.json" "$T" <<'PY'
import json, sys
src, d = sys.argv[1:3]
m = json.load(open(src))["expectedPcrsForSampleImage"]["x86_64"]
info = {"Measurements": dict({"HashAlgorithm": "Sha384 { ... }"}, **m),
        "IsSigned": False}
bad = json.loads(json.dumps(info))
p2 = bad["Measurements"]["PCR2"]
bad["Measurements"]["PCR2"] = p2[:-1] + ("0" if p2[-1] != "0" else "1")
json.dump(info, open(d + "/info-ok.json", "w"))
open(d + "/info-ok.txt", "w").write(json.dumps(info, indent=2))
open(d + "/info-pcr2.txt", "w").write(json.dumps(bad, indent=2))
open(d + "/pcr2-changed", "w").write(bad["Measurements"]["PCR2"])
for k in ("PCR0", "PCR1", "PCR2"):
    open(d + "/" + k, "w").write(m[k])
PY
PCR0=$(cat "$T/PCR0")
PCR1=$(cat "$T/PCR1")
PCR2=$(cat "$T/PCR2")

# statement OUT DIGEST PREDICATE-KIND [FILE]: an in-toto v1 statement
# about sha256:DIGEST; predicate "eif" = FILE's JSON as the predicate,
# "data" = cosign's custom wrapping of FILE's text, "none" = SLSA-like
# provenance without PCRs.  Writes base64 of it to OUT.
statement() {
    python3 - "$@" <<'PY'
import base64, json, sys
out, digest, kind = sys.argv[1:4]
if kind == "eif":
    pred, ptype = json.load(open(sys.argv[4])), "https://aws.amazon.com/nitro-enclaves/describe-eif"
elif kind == "data":
    pred = {"Data": open(sys.argv[4]).read(), "Timestamp": "2026-11-26T00:00:00Z"}
    ptype = "https://cosign.sigstore.dev/attestation/v1"
else:
    pred = {"buildType": "https://example.com/build", "builder": {"id": "gha"}}
    ptype = "https://slsa.dev/provenance/v1"
st = {"_type": "https://in-toto.io/Statement/v1",
      "subject": [{"name": "ghcr.io/acme/enclave-app", "digest": {"sha256": digest}}],
      "predicateType": ptype, "predicate": pred}
open(out, "w").write(base64.b64encode(json.dumps(st).encode()).decode())
PY
}

# append NAME KIND PAYLOAD-FILE [ATTESTATION-MODE]: a signing of the watched
# workflow; $T/NAME.ap is the reply.
append() {
    local att=""
    [ -n "${4:-}" ] && att=",\"attestation\":\"$4\""
    tl_admin a append "{\"repository\":\"$REPO\",\"workflow\":\"$WF\",\"ref\":\"refs/heads/main\",\"trigger\":\"push\",\"runner_environment\":\"github-hosted\",\"kind\":\"$2\",\"payload_b64\":\"$(cat "$3")\"$att}" >"$T/$1.ap"
    check "$1: appended ($2)" test -s "$T/$1.ap"
}


index_of() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["index"])' "$1"; }
# The rule's lookup_timeout: long enough that `once` makes its attempt
# well before it runs out, even on a loaded machine.
LOOKUP_TIMEOUT=30
# timed_out APPEND-REPLY...: now is past the lookup deadline of each entry.
timed_out() {
    python3 - "$LOOKUP_TIMEOUT" "$@" <<'PY'
import json, sys, time
t = int(sys.argv[1])
sys.exit(not all(int(time.time()) >= json.load(open(f))["integrated_time"] + t
                 for f in sys.argv[2:]))
PY
}

# row INDEX: "state source pcr2 note" of the signing row at INDEX.
row() {
    sqlite3 "file:$T/a.db?mode=ro" "SELECT pcrs_state || ' ' || COALESCE(pcrs_source, '-') || ' ' || COALESCE(pcr2, '-') || ' ' || COALESCE(pcrs_note, '-') FROM signings WHERE log_index = $1"
}

# pcr_alerts OUT INDEX: "type | reasons" of the PCR alerts about INDEX.
pcr_alerts() {
    python3 - "$1" "$2" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    if l.strip().startswith("{"):
        a = json.loads(l)
        if "pcrs" in a["type"] and a.get("entry", {}).get("log_index") == int(sys.argv[2]):
            print(a["type"], "|", " | ".join(a.get("reasons", [])))
PY
}

HAVE_REG=0
if [ -x "$REG_BIN" ]; then
    reg_start && HAVE_REG=1
else
    echo "note: $REG_BIN missing: the subject lookups are skipped"
    PPORT=$(free_port)
fi

tl_start a 30
ROOT="$TL_DIR_a/trusted_root.json"
tw_config "$T/a.yaml" "$TL_URL_a" "$ROOT" "$T/a.db" \
    "watch:" \
    "  - name: app" \
    "    repository: $REPO" \
    "    allow:" \
    "      workflows: [\"$WF\"]" \
    "    pcrs:" \
    "      registry: 127.0.0.1:$PPORT/$REPO" \
    "      allow:" \
    "        - {PCR0: \"$PCR0\", PCR1: \"$PCR1\", PCR2: \"$PCR2\"}" \
    "      lookup_timeout: ${LOOKUP_TIMEOUT}s"

ZERO=$(printf '0%.0s' $(seq 1 64))
statement "$T/ok.b64" "$ZERO" eif "$T/info-ok.json"
statement "$T/pcr2.b64" "$ZERO" data "$T/info-pcr2.txt"
append ok intoto "$T/ok.b64"
append pcr2 intoto "$T/pcr2.b64"
append corrupt intoto "$T/ok.b64" corrupt


"$BIN" once -c "$T/a.yaml" >"$T/once1.out" 2>"$T/once1.err"
RC=$?
check "once: exit 1 (alerts of warning and above) [$RC]" test "$RC" -eq 1

I=$(index_of "$T/ok.ap")
check "intoto, allowed set in the predicate: found from the attestation" \
    test "$(row "$I")" = "found attestation $PCR2 -"
check "intoto, allowed set: no PCR alert" test -z "$(pcr_alerts "$T/once1.out" "$I")"

I=$(index_of "$T/pcr2.ap")
check "Data wrapping, PCR2 changed: recorded" \
    test "$(row "$I")" = "found attestation $(cat "$T/pcr2-changed") -"
A=$(pcr_alerts "$T/once1.out" "$I")
check "Data wrapping, PCR2 changed: one signing.unknown_pcrs naming PCR2 only ($A)" \
    python3 -c '
import sys
a = sys.argv[1].split(" | ")
sys.exit(not (len(a) == 2 and a[0] == "signing.unknown_pcrs" and
              a[1].startswith("PCR2 (application)") and sys.argv[2] in a[1]))' \
    "$A" "$(cat "$T/pcr2-changed")"

I=$(index_of "$T/corrupt.ap")
check "corrupted attestation: unavailable, no PCRs kept" \
    python3 -c 'import sys; s = sys.argv[1].split(" "); sys.exit(not (s[0] == "unavailable" and s[2] == "-"))' "$(row "$I")"
check "corrupted attestation: signing.pcrs_unavailable, untrusted" \
    test "$(pcr_alerts "$T/once1.out" "$I" | grep -c '^signing.pcrs_unavailable | untrusted: attestation')" -eq 1

"$BIN" status -c "$T/a.yaml" >"$T/status.out" 2>"$T/status.err"
check "status: where the PCRs came from" grep -q "pcrs from attestation" "$T/status.out"

# b64file IN OUT: decode a base64 statement file into raw bytes.
b64file() { base64 -d <"$1" >"$2"; }
# push_art NAME INFO: an enclave image without any cosign signature;
# prints its manifest digest.
push_art() {
    python3 "$TLOGWATCH_SRC/tests/tools/oci_push.py" \
        --registry "127.0.0.1:$RPORT" --repo "$REPO" --info "$2" \
        --tag "$1" --no-sig --pcr-annotations >"$T/$1.push"
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["artifact"])' "$T/$1.push"
}
# push_att ART STATEMENT-B64 LOGINDEX: cosign's .att for image ART.
push_att() {
    b64file "$2" "$2.raw"
    python3 "$TLOGWATCH_SRC/tests/tools/oci_push.py" \
        --registry "127.0.0.1:$RPORT" --repo "$REPO" --att-only "$1" \
        --att "$2.raw" --log-index "$3" >"$2.att"
}
next_index() { tl_get a /api/v1/log | python3 -c 'import json,sys; print(json.load(sys.stdin)["treeSize"])'; }

if [ "$HAVE_REG" -eq 1 ]; then
    # The subject of a statement without PCRs, found in the registry.
    ART=$(push_art v1 "$T/info-ok.json")
    check "subject: artifact pushed without a signature ($ART)" \
        test "${ART#sha256:}" != "$ART"
    statement "$T/subj.b64" "${ART#sha256:}" none
    statement "$T/gone.b64" "$(printf 'ab%.0s' $(seq 1 32))" none
    append subj intoto "$T/subj.b64"
    # Statements the log does not return, in cosign's .att manifests:
    # an intoto one Rekor did not store, with the allowed PCRs; a dsse one
    # without PCRs whose image has PCR2 changed.
    statement "$T/attok.b64" "${ART#sha256:}" eif "$T/info-ok.json"
    push_att "$ART" "$T/attok.b64" "$(next_index)"
    append attok intoto "$T/attok.b64" omit
    ART2=$(push_art v2 "$T/info-pcr2.txt")
    statement "$T/attpcr2.b64" "${ART2#sha256:}" none
    push_att "$ART2" "$T/attpcr2.b64" "$(next_index)"
    append attpcr2 dsse "$T/attpcr2.b64"
    # a dsse statement pushed nowhere
    statement "$T/attnone.b64" "$(printf 'cd%.0s' $(seq 1 32))" none
    # The two lookups that never succeed are appended last, right before
    # once: their lookup_timeout (from the integrated time) runs out only
    # well after once's attempt, however slow the machine.
    append gone intoto "$T/gone.b64"
    append attnone dsse "$T/attnone.b64"

    "$BIN" once -c "$T/a.yaml" >"$T/once2.out" 2>"$T/once2.err"
    I=$(index_of "$T/subj.ap")
    check "subject: PCRs read from the manifest the statement names" \
        test "$(row "$I")" = "found subject $PCR2 -"
    check "subject: no PCR alert" test -z "$(pcr_alerts "$T/once2.out" "$I")"
    I=$(index_of "$T/attok.ap")
    check "intoto not stored by the log: statement from .att, allowed PCRs ($(row "$I"))" \
        test "$(row "$I")" = "found att $PCR2 -"
    check "intoto from .att: no PCR alert" test -z "$(pcr_alerts "$T/once2.out" "$I")"
    I=$(index_of "$T/attpcr2.ap")
    check "dsse: statement from .att, its subject's PCR2 changed ($(row "$I"))" \
        test "$(row "$I")" = "found subject $(cat "$T/pcr2-changed") -"
    check "dsse: signing.unknown_pcrs naming PCR2" \
        test "$(pcr_alerts "$T/once2.out" "$I" | grep -c '^signing.unknown_pcrs | PCR2 (application)')" -eq 1
    for n in gone attnone; do
        I=$(index_of "$T/$n.ap")
        check "$n: still pending after one attempt ($(row "$I"))" \
            test "$(row "$I" | cut -d' ' -f1)" = "pending"
    done
    # Then the clock passes both deadlines (integrated time + lookup_timeout).
    wait_until $((LOOKUP_TIMEOUT + 60)) timed_out "$T/gone.ap" "$T/attnone.ap"
    "$BIN" once -c "$T/a.yaml" >"$T/once3.out" 2>"$T/once3.err"
    for n in gone attnone; do
        I=$(index_of "$T/$n.ap")
        check "$n: unavailable after lookup_timeout" \
            test "$(pcr_alerts "$T/once3.out" "$I" | grep -c '^signing.pcrs_unavailable | lookup_timeout reached')" -eq 1
    done
fi

finish
