#!/bin/bash
# e2e_ct_watch.sh: the watch rules on Fulcio's CT log, with the real
# tlogwatch following a Rekor v1 test log and a CT test log (--ct) whose
# Fulcio-like CA is the one of the trusted root (the CT log's root, with
# the Rekor log under tlogs).  Certificates are issued by the CT test log
# (/admin/append: a precert entry, no Rekor entry); the same certificate
# is logged in the Rekor test log by /admin/append with its
# certificate_pem and private_key_pem.
#  (a) a certificate for the watched repository never logged in Rekor:
#      exactly one signing.unlogged_certificate after unlogged_after,
#      naming the certificate, its CT index and leaf hash and the STH;
#  (b) one logged in Rekor: none;
#  (c) one from a self-hosted runner: signing.self_hosted_runner from the
#      CT log before any Rekor entry exists, and no second one when the
#      Rekor entry with that certificate arrives;
#  (d) a restart between a certificate's sighting and its deadline loses
#      nothing (once raises it after the deadline) and repeats nothing
#      (the next once raises none).
. "$TLOGWATCH_SRC/tests/lib/e2e.sh"
T=$E2E_TMP
BIN=$TLOGWATCH_BIN
UNLOGGED=20   # unlogged_after, s (the test log backdates NotBefore by 5 s)
UNLOGGED_D=60 # (d)'s: once must have read it before, however loaded the machine

tl_start rk 10
tl_start_ct ct 30
CT_URL=$(cat "$TL_DIR_ct/url")
ct_trusted_root "$TL_DIR_ct/trusted_root.json" "$TL_DIR_rk/trusted_root.json" \
    "$T/root.json"
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
    unlogged_after: ${UNLOGGED}s
  # (c): its Rekor entry comes only once the CT alert was seen, however
  # long that takes on a loaded machine: a deadline the test never reaches
  - name: runner
    repository: acme/runner-app
    allow:
      workflows: [.github/workflows/build-eif.yml]
      refs: [refs/heads/main]
    unlogged_after: 10m
  # (d): seen by one once, raised by a later one
  - name: later
    repository: acme/later-app
    allow:
      workflows: [.github/workflows/build-eif.yml]
      refs: [refs/heads/main]
    unlogged_after: ${UNLOGGED_D}s
notify:
  - {name: console, type: stdout}
YAML

# issue NAME RUNNER [REPO]: a certificate from the CT test log; its reply
# in $T/NAME.json.
issue() {
    tl_admin ct append "{\"repository\":\"${3:-acme/enclave-app}\",
        \"workflow\":\".github/workflows/build-eif.yml\",
        \"ref\":\"refs/heads/main\",\"trigger\":\"push\",
        \"runner_environment\":\"$2\"}" >"$T/$1.json"
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
field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$T/$1.json" "$2"; }
# count FILE TYPE INDEX: alerts of TYPE about CT index INDEX in FILE
count() {
    python3 - "$@" <<'PY'
import json, sys
n = 0
for line in open(sys.argv[1]):
    if line.strip().startswith("{"):
        a = json.loads(line)
        if a["type"] == sys.argv[2] and a["log"]["name"] == "ct" and \
           a["entry"]["log_index"] == int(sys.argv[3]):
            n += 1
print(n)
PY
}
cursor_of() { # config log: its cursor in tlogwatch status
    "$BIN" status -c "$1" | awk -v n="$2" '
        /^log / { cur = $2 }
        cur == n && index($0, "  cursor ") == 1 { print $2; exit }'
}
cursor_past() { c=$(cursor_of "$1" "$2"); [ -n "$c" ] && [ "$c" -gt "$3" ]; }
has() { [ "$(count "$@")" -ge 1 ]; }
past() { [ "$(date +%s)" -ge "$1" ]; }

# A first once records where Rekor is followed from; certificates issued
# before that are not judged (unlogged.h), and the test log backdates
# NotBefore by 5 s: wait 6 s of wall time before issuing.
"$BIN" once -c "$T/w.yaml" >"$T/once0.out" 2>"$T/once0.err"
check "first once exits 0 [$?]" test $? -eq 0
started=$(date +%s)
wait_until 30 past $((started + 6))

"$BIN" run -c "$T/w.yaml" >"$T/run.out" 2>"$T/run.err" &
RUN=$!
E2E_PIDS+=($RUN)

issue a github-hosted
issue b github-hosted
rekor_log b
issue c self-hosted acme/runner-app
IA=$(field a index)
IB=$(field b index)
IC=$(field c index)

# (c) from the CT log first: no Rekor entry has the certificate yet
wait_until 60 has "$T/run.out" signing.self_hosted_runner "$IC"
check "(c) signing.self_hosted_runner from the CT log (index $IC)" \
    test "$(count "$T/run.out" signing.self_hosted_runner "$IC")" = 1
check "(c) it names the certificate and carries the STH" \
    python3 - "$T/run.out" "$IC" "$(field c leaf_hash)" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    if not line.startswith("{"):
        continue
    a = json.loads(line)
    if a["type"] != "signing.self_hosted_runner":
        continue
    ev, idn = a["evidence"], a["identity"]
    assert a["entry"]["log_index"] == int(sys.argv[2])
    assert ev["leaf_hash"] == sys.argv[3] == a["entry"]["leaf_hash"]
    assert json.loads(ev["checkpoint"])["tree_size"] > int(sys.argv[2])
    assert idn["runner_environment"] == "self-hosted"
    assert len(idn["cert_link_id"]) == 64 and idn["not_before"]
    sys.exit(0)
sys.exit(1)
PY
rekor_log c
RC_IDX=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["index"])' "$T/c.rk.json")
wait_until 60 cursor_past "$T/w.yaml" rekor "$RC_IDX"
check "(c) the Rekor entry with the same certificate was read" \
    cursor_past "$T/w.yaml" rekor "$RC_IDX"

# (a) after NotBefore + unlogged_after
wait_until 90 has "$T/run.out" signing.unlogged_certificate "$IA"
check "(a) signing.unlogged_certificate for the certificate never logged" \
    test "$(count "$T/run.out" signing.unlogged_certificate "$IA")" = 1
check "(a) it carries the certificate, its CT index, leaf hash and STH" \
    python3 - "$T/run.out" "$IA" "$(field a leaf_hash)" "$T/a.json" <<'PY'
import json, sys, base64, hashlib
for line in open(sys.argv[1]):
    if not line.startswith("{"):
        continue
    a = json.loads(line)
    if a["type"] != "signing.unlogged_certificate":
        continue
    if a["entry"]["log_index"] != int(sys.argv[2]):
        continue
    assert a["severity"] == "warning" and a["rule"] == "app"
    assert a["evidence"]["leaf_hash"] == sys.argv[3]
    sth = json.loads(a["evidence"]["checkpoint"])
    assert sth["ct_sth"] == 1 and sth["tree_size"] > int(sys.argv[2])
    assert a["identity"]["repository"] == "acme/enclave-app"
    assert a["log"]["name"] == "ct"
    sys.exit(0)
sys.exit(1)
PY
# the evidence, checked offline: the signed head holds the index; a copy
# naming an index beyond it is refused
python3 - "$T/run.out" "$IA" "$T/a.alert" "$T/a.forged" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    if line.startswith("{"):
        a = json.loads(line)
        if a["type"] == "signing.unlogged_certificate" and \
           a["entry"]["log_index"] == int(sys.argv[2]):
            open(sys.argv[3], "w").write(line)
            a["evidence"]["log_index"] = 1 << 40
            open(sys.argv[4], "w").write(json.dumps(a))
PY
"$BIN" verify evidence --trusted-root "$T/root.json" "$T/a.alert" >"$T/va.out" 2>&1
check "(a) verify evidence accepts its tree head [$?]" test $? -eq 0
"$BIN" verify evidence --trusted-root "$T/root.json" "$T/a.forged" >"$T/vf.out" 2>&1
check "(a) and refuses a copy naming an index beyond it [$?]" test $? -eq 1
# (b) was logged in Rekor: its deadline passes without an alert
deadline=$(( $(date +%s) + UNLOGGED ))
wait_until 60 past "$deadline"
# one more CT entry, of a repository nobody watches (so it never comes due
# itself): the daemon read past the deadline
issue probe github-hosted acme/unwatched
wait_until 60 cursor_past "$T/w.yaml" ct "$(field probe index)"
kill -TERM $RUN
wait $RUN
check "run exits 0 on SIGTERM" test $? -eq 0
check "(b) no signing.unlogged_certificate for the logged certificate" \
    test "$(count "$T/run.out" signing.unlogged_certificate "$IB")" = 0
check "(c) no second signing.self_hosted_runner when its Rekor entry came" \
    test "$(alerts_of "$T/run.out" signing.self_hosted_runner)" = 1
check "(b) no alert at all about the allowed, logged certificate" \
    test "$(python3 -c '
import json, sys
print(sum(1 for l in open(sys.argv[1]) if l.startswith("{") and
          json.loads(l)["type"] != "signing.unlogged_certificate" and
          json.loads(l)["type"] != "signing.self_hosted_runner"))' "$T/run.out")" = 0
check "(a) exactly one signing.unlogged_certificate in the whole run" \
    test "$(alerts_of "$T/run.out" signing.unlogged_certificate)" = 1

# (d) seen, then the daemon stops before the deadline: a later once
# raises it (after the deadline), the next once does not again.
"$BIN" once -c "$T/w.yaml" >"$T/once1.out" 2>"$T/once1.err"
issue d github-hosted acme/later-app
ID=$(field d index)
d_deadline=$(( $(date +%s) - 5 + UNLOGGED_D ))
"$BIN" once -c "$T/w.yaml" >"$T/once2.out" 2>"$T/once2.err"
check "(d) seen by once before its deadline: no alert yet" \
    test "$(count "$T/once2.out" signing.unlogged_certificate "$ID")" = 0
check "(d) once read it (the CT cursor passed index $ID)" \
    cursor_past "$T/w.yaml" ct "$ID"
wait_until $((UNLOGGED_D + 60)) past $((d_deadline + 1))
"$BIN" once -c "$T/w.yaml" >"$T/once3.out" 2>"$T/once3.err"
RC=$?
check "(d) after the deadline, once raises it [rc $RC: 1, a warning]" \
    test "$RC" -eq 1 -a "$(count "$T/once3.out" signing.unlogged_certificate "$ID")" = 1
"$BIN" once -c "$T/w.yaml" >"$T/once4.out" 2>"$T/once4.err"
check "(d) and never again" test "$(alerts_of "$T/once4.out" signing.unlogged_certificate)" = 0
check "no other once raised any alert" \
    test "$(cat "$T/once1.out" "$T/once4.out" | grep -c '^{')" = 0

finish
