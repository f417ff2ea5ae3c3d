#!/bin/bash
# e2e_reload.sh: what a reload (SIGHUP) keeps, with the real `tlogwatch run`
# and its status server against the test log.  A reload rebuilds every
# follower from the store; a log the reload leaves unchanged (same name,
# kind, url and log row) keeps its in-memory counters (/metrics:
# tlogwatch_http_responses_total...) and its caught-up time (test_follow
# test_carry); a log the reload adds starts at zero; a log it removes
# leaves /metrics.  The status server, and its attestation counters, are
# not rebuilt by a reload.  Then: a certificate's unlogged verdict after
# a reload while Rekor does not answer (the kept caught-up time).
#
# The pace is the test's: the logs poll once an hour (poll_interval: 1h),
# so after the catch-up nothing is asked until the reload's first poll.
. "$TLOGWATCH_SRC/tests/lib/e2e.sh"
T=$E2E_TMP
BIN=$TLOGWATCH_BIN

tl_start rk 300
ROOT="$TL_DIR_rk/trusted_root.json"
PORT=$(free_port)
S=http://127.0.0.1:$PORT

# config FILE NAME...: every named log on the one test log (each name is
# its own log row), polled hourly.
config() {
    local file=$1 n
    shift
    {
        printf 'state: %s\ntrusted_root: %s\nlogs:\n' "$T/r.db" "$ROOT"
        for n in "$@"; do
            printf '  - {name: %s, url: %s, poll_interval: 1h, start: 0}\n' \
                "$n" "$TL_URL_rk"
        done
        printf 'notify:\n  - {name: console, type: stdout}\n'
        printf 'http: {listen: "127.0.0.1:%s"}\n' "$PORT"
    } >"$file"
}
# metric NAME LABELS: the sample's value in the last /metrics ("" when
# absent).
metric() {
    awk -v k="tlogwatch_$1{$2}" '$1 == k {print $2}' "$T/m.txt"
}
scrape() { curl -s --max-time 30 -o "$T/m.txt" "$S/metrics"; }
cursor_is() { # NAME N: /metrics shows log NAME's cursor at N
    scrape && [ "$(metric log_cursor "log=\"$1\"")" = "$2" ]
}

config "$T/r.yaml" rekor gone
"$BIN" run -c "$T/r.yaml" >"$T/run.out" 2>"$T/run.err" &
RUN=$!
E2E_PIDS+=($RUN)
wait_until 120 cursor_is rekor 300
wait_until 60 cursor_is gone 300
check "before: both logs read to 300" cursor_is rekor 300
R1=$(metric http_responses_total 'log="rekor",class="2xx"')
G1=$(metric http_responses_total 'log="gone",class="2xx"')
check "before: rekor's answers counted (2xx: $R1 >= 30 requests of 10)" \
    test "${R1:-0}" -ge 30
check "before: gone's answers counted (2xx: $G1)" test "${G1:-0}" -ge 30

# An attestation document the server refuses (not one) is counted.
curl -s -o /dev/null --max-time 30 --data-binary 'not a document' \
    "$S/api/v1/attestation"
scrape
check "before: one refused attestation document counted" \
    test "$(metric attestation_documents_total 'verdict="refused"')" = 1

# The reload: rekor unchanged, gone removed, added added.
config "$T/r.yaml" rekor added
kill -HUP $RUN
wait_until 60 grep -q "configuration reloaded: 2 logs" "$T/run.err"
check "reload: rekor is the one log left unchanged" \
    grep -q "reload: 1 of 2 logs unchanged" "$T/run.err"
wait_until 120 cursor_is added 300
scrape
R2=$(metric http_responses_total 'log="rekor",class="2xx"')
A2=$(metric http_responses_total 'log="added",class="2xx"')
check "after: rekor's counter went on from $R1 (now $R2), not from zero" \
    test "${R2:-0}" -ge "$R1"
check "after: ... and only by the reload's own poll or two ($R1 -> $R2)" \
    test "${R2:-0}" -le $((R1 + 3))
check "after: the added log counted from zero (2xx: $A2, about $G1)" \
    test "${A2:-0}" -ge 30 -a "${A2:-0}" -le $((G1 + 3))
check "after: the removed log left /metrics" \
    test -z "$(metric http_responses_total 'log="gone",class="2xx"')"
check "after: the status server kept its attestation counter" \
    test "$(metric attestation_documents_total 'verdict="refused"')" = 1

# A second reload, nothing changed: every counter goes on.
kill -HUP $RUN
wait_until 60 test "$(grep -c 'configuration reloaded' "$T/run.err")" -ge 2
check "reload again: both logs unchanged" \
    grep -q "reload: 2 of 2 logs unchanged" "$T/run.err"
scrape
check "reload again: rekor's counter did not go back ($R2 -> $(metric http_responses_total 'log="rekor",class="2xx"'))" \
    test "$(metric http_responses_total 'log="rekor",class="2xx"')" -ge "$R2"
check "reload again: added's counter did not go back" \
    test "$(metric http_responses_total 'log="added",class="2xx"')" -ge "$A2"
check "no alert" test "$(alert_types "$T/run.out")" = ""

kill -TERM $RUN
wait $RUN
check "run exits 0" test $? -eq 0

# ---- the caught-up time survives a reload ---------------------------------
# signing.unlogged_certificate waits until every Rekor log has been read
# past a certificate's deadline (unlogged.h).  Rekor has been read past
# it, then stops answering (503, Retry-After 1000 s) and the daemon
# reloads; the CT log (polled hourly) sees the certificate only at the
# reload's first poll.  The verdict comes, because the reload kept how
# far Rekor was read; were it reset, no Rekor poll could complete and
# the certificate would wait.
tl_start_ct ct 10
CT_URL=$(cat "$TL_DIR_ct/url")
ct_trusted_root "$TL_DIR_ct/trusted_root.json" "$ROOT" "$T/u-root.json"
cat >"$T/u.yaml" <<YAML
state: $T/u.db
trusted_root: $T/u-root.json
logs:
  - {name: rekor, url: $TL_URL_rk, poll_interval: 1s, start: 0}
  - {name: ct, kind: ct, url: $CT_URL, poll_interval: 1h, start: 0}
watch:
  - name: app
    repository: acme/enclave-app
    allow:
      workflows: [.github/workflows/build-eif.yml]
      refs: [refs/heads/main]
    unlogged_after: 5s
notify:
  - {name: console, type: stdout}
YAML
requests() { tl_get "$1" /admin/stats | jq '.requests'; }
past() { [ "$(date +%s)" -ge "$1" ]; }
unlogged() { grep -c '"type":"signing.unlogged_certificate"' "$T/u.out"; }

"$BIN" run -c "$T/u.yaml" >"$T/u.out" 2>"$T/u.err" &
URUN=$!
E2E_PIDS+=($URUN)
wait_until 60 grep -q "ct: cursor" "$T/u.err"
# Certificates from before Rekor was first followed are not judged, and
# the test log backdates NotBefore by 5 s: issue it 6 s after the start.
started=$(date +%s)
wait_until 30 past $((started + 6))
tl_admin ct append '{"repository":"acme/enclave-app",
    "workflow":".github/workflows/build-eif.yml","ref":"refs/heads/main",
    "trigger":"push","runner_environment":"github-hosted"}' >"$T/cert.json"
# Its deadline (NotBefore + 5 s) is now; two Rekor polls begun after it
# have ended (the log received a third).
due=$(($(date +%s) + 1))
wait_until 30 past "$due"
R0=$(requests rk)
wait_until 60 test "$(requests rk)" -ge $((R0 + 3))
tl_admin rk fail '{"status":503,"count":-1,"retry_after":1000}' >/dev/null
ok2xx() { tl_get rk /admin/stats | jq '.responses_2xx'; }
K0=$(ok2xx)
wait_until 60 grep -q "rekor: .*503" "$T/u.err"
check "before the reload: the CT log has not seen the certificate (no verdict)" \
    test "$(unlogged)" = 0
kill -HUP $URUN
wait_until 60 grep -q "configuration reloaded" "$T/u.err"
check "reload: both logs unchanged" \
    grep -q "reload: 2 of 2 logs unchanged" "$T/u.err"
wait_until 60 test "$(unlogged)" -ge 1
check "after the reload: signing.unlogged_certificate, Rekor not answering" \
    test "$(unlogged)" = 1
check "Rekor answered nothing but 503 since (no poll of it completed)" \
    test "$(ok2xx)" = "$K0"
kill -TERM $URUN
wait $URUN
check "run exits 0" test $? -eq 0
finish
