#!/bin/bash
# e2e_misbehave.sh: each misbehaviour of the test log raises exactly its
# alert (or none, for a dropped index, a rotation and throttling), the
# cursor never passes unproven data, and the evidence in the alert is
# checked offline by the independent `tlogwatch verify` subcommands.
. "$TLOGWATCH_SRC/tests/lib/e2e.sh"
T=$E2E_TMP
BIN=$TLOGWATCH_BIN

# evidence FILE TYPE KEY: a field of the evidence of the first TYPE alert.
evidence() {
    python3 - "$1" "$2" "$3" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    if l.startswith("{"):
        a = json.loads(l)
        if a["type"] == sys.argv[2]:
            v = a["evidence"][sys.argv[3]]
            print("\n".join(v) if isinstance(v, list) else v, end="")
            break
PY
}
note_field() { # note-file line-number (1 origin, 2 size, 3 root b64)
    sed -n "${2}p" "$1"
}
b64hex() { python3 -c 'import base64,sys; print(base64.b64decode(sys.argv[1]).hex())' "$1"; }
synced() { # name yaml: once, expect exit 0 and no alert
    "$BIN" once -c "$2" >"$T/$1.sync.out" 2>"$T/$1.sync.err"
}

fresh() { # name entries: a new test log and state, caught up
    tl_start "$1" "$2"
    local dir url
    eval "dir=\$TL_DIR_$1"
    eval "url=\$TL_URL_$1"
    tw_config "$T/$1.yaml" "$url" "$dir/trusted_root.json" "$T/$1.db"
    synced "$1" "$T/$1.yaml"
}
pubkey() { eval "echo \$TL_DIR_$1"/log.pub; }

# ---- fork: same tree id, a changed leaf --------------------------------
fresh fork 400
tl_admin fork fork '{"index":123}' >/dev/null
tl_admin fork grow '{"count":10}' >/dev/null
"$BIN" once -c "$T/fork.yaml" >"$T/fork.out" 2>"$T/fork.err"
check "fork: once exits 1" test $? -eq 1
check "fork: exactly one log.inconsistent" test "$(alert_types "$T/fork.out")" = "log.inconsistent"
check "fork: cursor stays at the verified 400" test "$(status_field "$T/fork.yaml" cursor)" = 400
evidence "$T/fork.out" log.inconsistent old_checkpoint >"$T/fork.old"
evidence "$T/fork.out" log.inconsistent new_checkpoint >"$T/fork.new"
evidence "$T/fork.out" log.inconsistent proof >"$T/fork.proof"
check "fork evidence: old checkpoint verifies offline" \
    bash -c "'$BIN' verify checkpoint --key '$(pubkey fork)' '$T/fork.old' >/dev/null"
check "fork evidence: new checkpoint verifies offline" \
    "$BIN" verify checkpoint --key "$(pubkey fork)" "$T/fork.new"
"$BIN" verify consistency --old-size "$(note_field "$T/fork.old" 2)" \
    --old-root "$(b64hex "$(note_field "$T/fork.old" 3)")" \
    --new-size "$(note_field "$T/fork.new" 2)" \
    --new-root "$(b64hex "$(note_field "$T/fork.new" 3)")" \
    --proof "$T/fork.proof" 2>/dev/null
check "fork evidence: the proof fails offline (exit 1)" test $? -eq 1
"$BIN" once -c "$T/fork.yaml" >"$T/fork2.out" 2>/dev/null
check "fork: a second run does not repeat the alert" test "$(alert_types "$T/fork2.out")" = ""

# ---- rollback ---------------------------------------------------------
fresh rb 300
tl_admin rb rollback '{"count":50}' >/dev/null
"$BIN" once -c "$T/rb.yaml" >"$T/rb.out" 2>"$T/rb.err"
check "rollback: once exits 1" test $? -eq 1
check "rollback: exactly one log.rollback" test "$(alert_types "$T/rb.out")" = "log.rollback"
evidence "$T/rb.out" log.rollback old_checkpoint >"$T/rb.old"
evidence "$T/rb.out" log.rollback new_checkpoint >"$T/rb.new"
check "rollback evidence: both notes verify, new size is smaller" \
    bash -c "'$BIN' verify checkpoint --key '$(pubkey rb)' '$T/rb.old' >/dev/null &&
             '$BIN' verify checkpoint --key '$(pubkey rb)' '$T/rb.new' >/dev/null &&
             [ $(sed -n 2p "$T/rb.new") -lt $(sed -n 2p "$T/rb.old") ]"
check "rollback: verified size stays 300" test "$(status_field "$T/rb.yaml" "verified size")" = 300

# ---- wrong key --------------------------------------------------------
fresh wk 200
tl_admin wk wrong-key '{"on":true}' >/dev/null
tl_admin wk grow '{"count":5}' >/dev/null
"$BIN" once -c "$T/wk.yaml" >"$T/wk.out" 2>"$T/wk.err"
check "wrong key: once exits 1" test $? -eq 1
check "wrong key: exactly one log.bad_signature" test "$(alert_types "$T/wk.out")" = "log.bad_signature"
evidence "$T/wk.out" log.bad_signature new_checkpoint >"$T/wk.new"
"$BIN" verify checkpoint --key "$(pubkey wk)" "$T/wk.new" >/dev/null 2>&1
check "wrong key evidence: fails offline with the pinned key (exit 1)" test $? -eq 1
check "wrong key: verified size stays 200" test "$(status_field "$T/wk.yaml" "verified size")" = 200

# ---- tampered body ----------------------------------------------------
fresh tb 100
tl_admin tb grow '{"count":40}' >/dev/null
tl_admin tb tamper '{"index":117}' >/dev/null
"$BIN" once -c "$T/tb.yaml" >"$T/tb.out" 2>"$T/tb.err"
check "tampered body: once exits 1" test $? -eq 1
check "tampered body: exactly one log.entries_mismatch" test "$(alert_types "$T/tb.out")" = "log.entries_mismatch"
c=$(status_field "$T/tb.yaml" cursor)
check "tampered body: cursor never passes index 117 ($c)" test "$c" -le 117
tl_admin tb tamper '{"index":117,"count":0}' >/dev/null
"$BIN" once -c "$T/tb.yaml" >"$T/tb2.out" 2>/dev/null
check "tampered body cleared: catches up to 140" test "$(status_field "$T/tb.yaml" cursor)" = 140

# ---- dropped index: asked again, no alert ------------------------------
fresh dr 100
tl_admin dr grow '{"count":60}' >/dev/null
tl_admin dr drop '{"index":131,"count":3}' >/dev/null
"$BIN" once -c "$T/dr.yaml" >"$T/dr.out" 2>"$T/dr.err"
check "dropped index: once exits 0" test $? -eq 0
check "dropped index: no alert" test "$(alert_types "$T/dr.out")" = ""
check "dropped index: cursor reaches 160" test "$(status_field "$T/dr.yaml" cursor)" = 160

# ---- shard rotation: followed, no alert ---------------------------------
fresh rot 150
tl_admin rot grow '{"count":20}' >/dev/null
tl_admin rot rotate >/dev/null
tl_admin rot grow '{"count":35}' >/dev/null
"$BIN" once -c "$T/rot.yaml" >"$T/rot.out" 2>"$T/rot.err"
check "rotation: once exits 0" test $? -eq 0
check "rotation: no alert" test "$(alert_types "$T/rot.out")" = ""
check "rotation: two shards in status, the old one frozen" \
    test "$("$BIN" status -c "$T/rot.yaml" | grep -c '^log testlog')" = 2
check "rotation: virtual cursor 205" \
    grep -q "cursor          205 (shard-local 35)" <("$BIN" status -c "$T/rot.yaml")

# ---- a frozen shard whose final checkpoint changes -----------------------
tl_admin rot fork '{"index":10}' >/dev/null
"$BIN" once -c "$T/rot.yaml" >"$T/rot2.out" 2>"$T/rot2.err"
check "frozen shard changed: once exits 1" test $? -eq 1
check "frozen shard changed: exactly one log.inconsistent" \
    test "$(alert_types "$T/rot2.out")" = "log.inconsistent"
evidence "$T/rot2.out" log.inconsistent old_checkpoint >"$T/rot.old"
evidence "$T/rot2.out" log.inconsistent new_checkpoint >"$T/rot.new"
check "frozen shard evidence: two validly signed finals, same size, other roots" \
    bash -c "'$BIN' verify checkpoint --key '$(pubkey rot)' '$T/rot.old' >/dev/null &&
             '$BIN' verify checkpoint --key '$(pubkey rot)' '$T/rot.new' >/dev/null &&
             [ \"\$(sed -n 2p '$T/rot.old')\" = \"\$(sed -n 2p '$T/rot.new')\" ] &&
             [ \"\$(sed -n 3p '$T/rot.old')\" != \"\$(sed -n 3p '$T/rot.new')\" ]"

# ---- throttling storms: survived, window shrinks and recovers -----------
fresh thr 10
tl_admin thr grow '{"count":1500}' >/dev/null
tl_admin thr fail '{"status":429,"count":6,"retry_after":1}' >/dev/null
TLOGWATCH_DEBUG=1 "$BIN" once -c "$T/thr.yaml" >"$T/thr.out" 2>"$T/thr.err"
check "429 storm: once exits 0" test $? -eq 0
check "429 storm: caught up" test "$(status_field "$T/thr.yaml" cursor)" = 1510
check "429 storm: window shrank" grep -q "window .* -> 1" "$T/thr.err"
check "429 storm: window recovered" grep -q "window recovered" "$T/thr.err"
tl_admin thr grow '{"count":800}' >/dev/null
tl_admin thr fail '{"status":503,"count":4}' >/dev/null
"$BIN" once -c "$T/thr.yaml" >"$T/thr2.out" 2>"$T/thr2.err"
check "5xx storm: once exits 0 and catches up" test "$(status_field "$T/thr.yaml" cursor)" = 2310
check "throttling raised no alert" test "$(alert_types "$T/thr.out")$(alert_types "$T/thr2.out")" = ""

finish
