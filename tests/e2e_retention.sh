#!/bin/bash
# e2e_retention.sh: the real daemon prunes an aged state file at start
# (config retention:), keeps what must never go (the verified checkpoint,
# an alert with a pending delivery and its deliveries) and keeps following
# the loopback test log correctly afterwards.  Twins: without retention:,
# and in `once`, nothing is deleted; the schema itself refuses deleting
# what must stay.
. "$TLOGWATCH_SRC/tests/lib/e2e.sh"
T=$E2E_TMP
BIN=$TLOGWATCH_BIN
AGE=$((500 * 86400)) # older than the 400d retention below

tl_start r 300
ROOT="$TL_DIR_r/trusted_root.json"
RULE=(
    "watch:"
    "  - name: enclave"
    "    repository: acme/enclave-app"
    "    allow: {workflows: [.github/workflows/build-eif.yml], refs: [refs/heads/main]}"
    "    record_expected: true"
)
RETENTION=(
    "retention:"
    "  checkpoints: 400d"
    "  alerts: 400d"
    "  signings: 400d"
)
append_signings() { # one allowed (signing.recorded), one self-hosted (an alert)
    tl_admin r append '{"repository":"acme/enclave-app","workflow":".github/workflows/build-eif.yml","ref":"refs/heads/main"}' >/dev/null
    tl_admin r append '{"repository":"acme/enclave-app","workflow":".github/workflows/build-eif.yml","ref":"refs/heads/main","runner_environment":"self-hosted"}' >/dev/null
}
q() { sqlite3 "$1" "$2"; }

# ---- history: four checkpoints, signings and delivered alerts -----------
tw_config "$T/plain.yaml" "$TL_URL_r" "$ROOT" "$T/s.db" "${RULE[@]}"
for k in 1 2 3 4; do
    append_signings
    "$BIN" once -c "$T/plain.yaml" >>"$T/once.out" 2>>"$T/once.err"
    tl_admin r grow '{"count":25}' >/dev/null
done
"$BIN" once -c "$T/plain.yaml" >>"$T/once.out" 2>>"$T/once.err"
size=$(status_field "$T/plain.yaml" "verified size")
check "history: 5 checkpoints, 8 signings, 8 alerts delivered" test \
    "$(q "$T/s.db" "select count(*) from checkpoints")/$(q "$T/s.db" "select count(*) from signings")/$(q "$T/s.db" "select count(*) from alerts")/$(q "$T/s.db" "select count(*) from deliveries where status = 'sent'")" \
    = "5/8/8/8"
check "cursor at the verified size ($size)" test "$(status_field "$T/plain.yaml" cursor)" = "$size"

# ---- age it: 500 days back; one delivery pending again ------------------
# verified checkpoints are immutable (a trigger): the test lifts that
# trigger for its UPDATE and puts it back as it was.
trig=$(q "$T/s.db" "select sql from sqlite_master where name = 'checkpoints_immutable'")
q "$T/s.db" "BEGIN;
DROP TRIGGER checkpoints_immutable;
UPDATE checkpoints SET verified_at = verified_at - $AGE;
$trig;
UPDATE alerts SET detected_at = detected_at - $AGE;
UPDATE signings SET recorded_at = recorded_at - $AGE;
UPDATE deliveries SET status = 'pending', next_attempt_at = 4000000000
 WHERE alert_seq = (SELECT min(seq) FROM alerts);
COMMIT;"
check "aged: every row is older than 400 days" test \
    "$(q "$T/s.db" "select count(*) from checkpoints where verified_at > strftime('%s','now') - 400*86400")" = 0
pending_id=$(q "$T/s.db" "select id from alerts where seq = (select min(seq) from alerts)")
cp "$T/s.db" "$T/aged.db"
counts() { # db: checkpoints/alerts/deliveries/signings
    echo "$(q "$1" "select count(*) from checkpoints")/$(q "$1" "select count(*) from alerts")/$(q "$1" "select count(*) from deliveries")/$(q "$1" "select count(*) from signings")"
}
AGED=$(counts "$T/aged.db")

# ---- twins: once never prunes; run without retention: deletes nothing ---
cp "$T/aged.db" "$T/once.db"
tw_config "$T/once.yaml" "$TL_URL_r" "$ROOT" "$T/once.db" "${RULE[@]}" "${RETENTION[@]}"
"$BIN" once -c "$T/once.yaml" >"$T/once2.out" 2>"$T/once2.err"
check "once with retention: nothing deleted" test "$(counts "$T/once.db")" = "$AGED"
check "once with retention: no prune logged" bash -c "! grep -q 'retention:' '$T/once2.err'"

cp "$T/aged.db" "$T/keep.db"
tw_config "$T/keep.yaml" "$TL_URL_r" "$ROOT" "$T/keep.db" "${RULE[@]}"
TLOGWATCH_DEBUG=1 "$BIN" run -c "$T/keep.yaml" >"$T/keep.out" 2>"$T/keep.err" &
KEEP_PID=$!
E2E_PIDS+=($KEEP_PID)
wait_until 120 grep -q "retention: none configured" "$T/keep.err"
kill -TERM $KEEP_PID
wait $KEEP_PID
check "run without retention: says nothing is deleted" grep -q "retention: none configured, nothing is deleted" "$T/keep.err"
check "run without retention: nothing deleted" test "$(counts "$T/keep.db")" = "$AGED"

# ---- run with retention: prunes at start --------------------------------
tw_config "$T/r.yaml" "$TL_URL_r" "$ROOT" "$T/s.db" "${RULE[@]}" "${RETENTION[@]}"
"$BIN" run -c "$T/r.yaml" >"$T/run.out" 2>"$T/run.err" &
RUN_PID=$!
E2E_PIDS+=($RUN_PID)
wait_until 120 grep -q "retention: pruned" "$T/run.err"
check "run logs what it pruned" grep -qE \
    "retention: pruned 4 checkpoints, 7 alerts \(7 deliveries\), 8 signings in [0-9]+ transactions, [0-9.]+ s \(expire: checkpoints 400d, alerts 400d, signings 400d\)" \
    "$T/run.err"
check "the verified checkpoint stays, however old" test \
    "$(q "$T/s.db" "select size from checkpoints")" = "$size"
check "the alert with a pending delivery stays, with its delivery" test \
    "$(q "$T/s.db" "select a.id || ' ' || d.status from alerts a join deliveries d on d.alert_seq = a.seq")" \
    = "$pending_id pending"
check "old signings are gone" test "$(q "$T/s.db" "select count(*) from signings")" = 0

# ---- and it keeps following ---------------------------------------------
# The log grows by 42 while it answers each poll with 429 (Retry-After
# 1 s): the daemon's next poll sees all 42 at once, so the new checkpoint
# links to the kept anchor, however slow the machine.
tl_admin r fail '{"status":429,"count":-1,"retry_after":1}' >/dev/null
append_signings
tl_admin r grow '{"count":40}' >/dev/null
tl_admin r fail '{"status":429,"count":0}' >/dev/null
want=$((size + 42))
cursor_is() { [ "$(status_field "$1" cursor)" = "$2" ]; }
wait_until 120 cursor_is "$T/r.yaml" "$want"
check "follows the log after the prune (cursor $want)" test "$(status_field "$T/r.yaml" cursor)" = "$want"
check "verified size $want, with a consistency proof from the kept anchor" test \
    "$(q "$T/s.db" "select size || ':' || link || ':' || prev_size from checkpoints order by size desc limit 1")" \
    = "$want:1:$size"
check "new signings recorded" test "$(q "$T/s.db" "select count(*) from signings")" = 2
delivered() { [ "$(alerts_of "$T/run.out" signing.self_hosted_runner)" = 1 ]; }
wait_until 120 delivered
check "the new alert is delivered" test "$(alerts_of "$T/run.out" signing.self_hosted_runner)" = 1
check "no log.* alert after the prune" bash -c "! grep -q '\"type\":\"log\\.' '$T/run.out'"
kill -TERM $RUN_PID
wait $RUN_PID
check "run exits 0 on SIGTERM" test $? -eq 0

# ---- the schema refuses deleting what must stay -------------------------
check "deleting the verified checkpoint is refused" bash -c \
    "! sqlite3 '$T/s.db' 'DELETE FROM checkpoints' 2>'$T/del.err' && grep -q 'this verified checkpoint is kept' '$T/del.err'"
check "deleting a pending delivery is refused" bash -c \
    "! sqlite3 '$T/s.db' \"DELETE FROM deliveries WHERE status = 'pending'\" 2>'$T/del2.err' && grep -q 'pending deliveries are kept' '$T/del2.err'"
check "status still reads the pruned file" test "$(status_field "$T/r.yaml" "verified size")" = "$want"
finish
