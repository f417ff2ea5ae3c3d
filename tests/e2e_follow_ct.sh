#!/bin/bash
# e2e_follow_ct.sh: the real tlogwatch follows an RFC 6962 Certificate
# Transparency log (the loopback test log with --ct, Fulcio's ctfe shape)
# as a log of kind ct: catch-up from 0 proven against the signed tree head
# (get-entries in the batch the log grants), growth proven by
# get-sth-consistency, start latest seeded from get-proof-by-hash, and each
# misbehaviour raising its alert: a bad STH signature (log.bad_signature),
# a fork (log.inconsistent), a tampered leaf (log.entries_mismatch), a
# withheld entry (log.entries_withheld).
. "$TLOGWATCH_SRC/tests/lib/e2e.sh"
T=$E2E_TMP
BIN=$TLOGWATCH_BIN

# ct_start NAME ENTRIES [flags]: a --ct test log; waits until get-sth
# answers.  Sets TL_URL_<NAME>, TL_DIR_<NAME>, TL_PID_<NAME>.
ct_start() {
    local name=$1 n=$2
    shift 2
    local port dir
    port=$(free_port)
    dir="$E2E_TMP/testlog-$name"
    mkdir -p "$dir"
    "$TLOGWATCH_TESTLOG" --listen "127.0.0.1:$port" --entries "$n" \
        --dir "$dir" --ct "$@" >"$dir/stdout" 2>"$dir/stderr" &
    E2E_PIDS+=($!)
    eval "TL_PID_$name=$!"
    eval "TL_URL_$name=http://127.0.0.1:$port"
    eval "TL_DIR_$name=$dir"
    wait_until 300 e2e_up_or_gone "http://127.0.0.1:$port/ct/v1/get-sth" $!
    if curl -fsS -o /dev/null "http://127.0.0.1:$port/ct/v1/get-sth"; then
        return 0
    fi
    echo "test log $name did not start:" >&2
    cat "$dir/stderr" >&2
    return 1
}
# ct_root NAME: the CT test log's own trusted root (its key under
# ctlogs, "tlogs": [] -- a root with CT logs only loads).  Prints its path.
ct_root() {
    local dir
    eval "dir=\$TL_DIR_$1"
    echo "$dir/trusted_root.json"
}
# twct_config FILE URL ROOT STATE [extra yaml]: tw_config, kind ct.
twct_config() {
    tw_config "$@"
    sed -i 's/^    url: \(.*\)$/    url: \1\n    kind: ct/' "$1"
}
scanned() { # config: entries scanned of the first log
    "$BIN" status -c "$1" | sed -n 's/.*entries scanned \([0-9]*\);.*/\1/p' | head -1
}

# ---- catch-up from 0 in short batches, then growth -----------------------
# The log grants 100 entries per get-entries (less than the 256 asked).
ct_start a 1500 --ct-batch 100
ROOT_A=$(ct_root a)
twct_config "$T/a.yaml" "$TL_URL_a" "$ROOT_A" "$T/a.db"
"$BIN" once -c "$T/a.yaml" >"$T/a1.out" 2>"$T/a1.err"
RC=$?
check "once from 0 exits 0 [$RC]" test "$RC" -eq 0
check "status: verified size 1500" test "$(status_field "$T/a.yaml" "verified size")" = 1500
check "status: cursor 1500" test "$(status_field "$T/a.yaml" cursor)" = 1500
check "every entry scanned once" test "$(scanned "$T/a.yaml")" = 1500
check "the root was checked" grep -q "root checks [1-9]" <("$BIN" status -c "$T/a.yaml")
check "no alert on a clean catch-up" test "$(alert_types "$T/a1.out")" = ""
# 1500 entries at 100 a request: at least 15 get-entries (the follower
# went on from each short answer), and not many more.
batches=$(tl_get a /admin/stats | python3 -c '
import json, sys
print(json.load(sys.stdin)["endpoints"]["ct_get_entries"])')
check "short batches: continued from what came ($batches get-entries)" \
    test "$batches" -ge 15 -a "$batches" -le 40

tl_admin a grow '{"count":321}' >/dev/null
"$BIN" once -c "$T/a.yaml" >"$T/a2.out" 2>"$T/a2.err"
RC=$?
check "once after growth exits 0 [$RC]" test "$RC" -eq 0
check "cursor follows growth to 1821" test "$(status_field "$T/a.yaml" cursor)" = 1821
check "a consistency proof was verified" \
    grep -q "consistency proofs [1-9]" <("$BIN" status -c "$T/a.yaml")
check "still no alert" test "$(alert_types "$T/a2.out")" = ""

# ---- run: growth across polls ------------------------------------------
cursor_is() { [ "$(status_field "$1" cursor)" = "$2" ]; }
"$BIN" run -c "$T/a.yaml" >"$T/run.out" 2>"$T/run.err" &
RUN_PID=$!
E2E_PIDS+=($RUN_PID)
want=1821
followed=0
for k in 1 2; do
    tl_admin a grow '{"count":77}' >/dev/null
    want=$((want + 77))
    wait_until 120 cursor_is "$T/a.yaml" "$want" && followed=$((followed + 1))
done
check "run follows growth over several polls ($followed of 2)" test "$followed" -eq 2
kill -TERM $RUN_PID
wait $RUN_PID
check "run exits 0 on SIGTERM" test $? -eq 0

# ---- start latest: seeded from the last leaf's audit path ---------------
TW_START=latest twct_config "$T/l.yaml" "$TL_URL_a" "$ROOT_A" "$T/l.db"
"$BIN" once -c "$T/l.yaml" >"$T/l1.out" 2>"$T/l1.err"
check "start latest: once exits 0" test $? -eq 0
check "start latest: cursor at the tree size" test "$(status_field "$T/l.yaml" cursor)" = "$want"
check "start latest: nothing scanned" test "$(scanned "$T/l.yaml")" = 0
tl_admin a grow '{"count":33}' >/dev/null
"$BIN" once -c "$T/l.yaml" >"$T/l2.out" 2>"$T/l2.err"
check "start latest: then reads what follows, root-checked" \
    bash -c "test \"\$(\"$BIN\" status -c '$T/l.yaml' | sed -n 's/.*entries scanned \([0-9]*\);.*/\1/p' | head -1)\" = 33"
want=$((want + 33))

# ---- a bad STH signature ------------------------------------------------
before=$(status_field "$T/a.yaml" "verified size")
tl_admin a wrong-key '{"on":true}' >/dev/null
tl_admin a grow '{"count":5}' >/dev/null
"$BIN" once -c "$T/a.yaml" >"$T/bs.out" 2>"$T/bs.err"
check "bad STH signature: log.bad_signature" test "$(alerts_of "$T/bs.out" log.bad_signature)" = 1
check "bad STH signature: the verified size did not move" \
    test "$(status_field "$T/a.yaml" "verified size")" = "$before"
tl_admin a wrong-key '{"on":false}' >/dev/null
"$BIN" once -c "$T/a.yaml" >"$T/bs2.out" 2>"$T/bs2.err"
want=$((want + 5))
check "signed properly again: followed to $want" \
    test "$(status_field "$T/a.yaml" cursor)" = "$want"

# ---- a tampered leaf ----------------------------------------------------
ct_start b 600
ROOT_B=$(ct_root b)
twct_config "$T/b.yaml" "$TL_URL_b" "$ROOT_B" "$T/b.db"
tl_admin b tamper '{"index":300,"count":-1}' >/dev/null
"$BIN" once -c "$T/b.yaml" >"$T/b1.out" 2>"$T/b1.err"
check "tampered leaf: log.entries_mismatch" test "$(alerts_of "$T/b1.out" log.entries_mismatch)" = 1
check "tampered leaf: the cursor did not pass it" \
    test "$(status_field "$T/b.yaml" cursor)" -le 300

# ---- a fork: another tree for a verified size ---------------------------
tl_admin b reset >/dev/null
"$BIN" once -c "$T/b.yaml" >"$T/b2.out" 2>"$T/b2.err"
check "honest again: caught up to 600" test "$(status_field "$T/b.yaml" cursor)" = 600
tl_admin b fork '{"index":100}' >/dev/null
"$BIN" once -c "$T/b.yaml" >"$T/b3.out" 2>"$T/b3.err"
check "fork: log.inconsistent" test "$(alerts_of "$T/b3.out" log.inconsistent)" = 1
check "fork: the verified size stays 600" \
    test "$(status_field "$T/b.yaml" "verified size")" = 600

# ---- a withheld entry ---------------------------------------------------
# The log never returns index 500 (get-entries ends each batch before it):
# exactly one log.entries_withheld after withhold_after, the cursor stops
# at the gap, once gives up after unreachable_after (as in
# e2e_hostile.sh: exit 3 or 1).  When it serves it again, the next once
# catches up.
ct_start c 800
ROOT_C=$(ct_root c)
TW_UNREACHABLE=40s twct_config "$T/c.yaml" "$TL_URL_c" "$ROOT_C" "$T/c.db"
sed -i 's/^    kind: ct$/    kind: ct\n    withhold_after: 10s/' "$T/c.yaml"
tl_admin c drop '{"index":500,"count":-1}' >/dev/null
timeout 300 "$BIN" once -c "$T/c.yaml" >"$T/c1.out" 2>"$T/c1.err"
RC=$?
check "withheld: once gives up, exit 3 or 1 [$RC]" test "$RC" -eq 3 -o "$RC" -eq 1
check "withheld: once names the unfinished log and why" \
    grep -Eq "testlog.*(withheld|withhold|unreachable)" "$T/c1.err"
check "withheld: one log.entries_withheld" test "$(alerts_of "$T/c1.out" log.entries_withheld)" = 1
check "withheld: the evidence names index 500" \
    grep -q '"log_index": *500' "$T/c1.out"
check "withheld: the cursor did not pass the gap" \
    test "$(status_field "$T/c.yaml" cursor)" -le 500
tl_admin c reset >/dev/null
"$BIN" once -c "$T/c.yaml" >"$T/c2.out" 2>"$T/c2.err"
check "served again: caught up to 800" test "$(status_field "$T/c.yaml" cursor)" = 800

finish
