#!/bin/bash
# e2e_discovery.sh: logs_from_trusted_root with the real binary and test
# logs: a trusted root merged (jq) from a Rekor v1, a Rekor v2 and a CT
# (--ct) test log, a config with no logs:, `once` follows all three; reordering the
# trusted root or logs: keeps every cursor; under `run`, a third log
# added to the trusted root then SIGHUP gives log.added and is followed;
# a log whose validFor ends gives log.retired and is still followed.
# A frozen Rekor v2 log (its checkpoint carries "Log frozen", testlog
# /admin/tiles-frozen) is checked to its final size, then polled rarely;
# a later checkpoint that differs gives log.inconsistent with both notes.
. "$TLOGWATCH_SRC/tests/lib/e2e.sh"
T=$E2E_TMP
BIN=$TLOGWATCH_BIN

# log_field CONFIG NAME KEY: a number of `tlogwatch status` for log NAME.
log_field() {
    "$BIN" status -c "$1" | awk -v n="$2" -v k="$3" '
        /^log / { cur = $2 }
        cur == n && index($0, "  " k " ") == 1 {
            sub("^  " k " +", ""); split($0, a, " "); print a[1]; exit }'
}
log_cursor_is() { [ "$(log_field "$1" "$2" cursor)" = "$3" ]; }
name_of() { eval "echo \$TL_URL_$1" | sed 's|^http://||; s|[:/]|-|g'; }
has_alert() { [ "$(alerts_of "$1" "$2")" -ge 1 ]; }
tlogs_of() { jq -c '.tlogs' "$(eval "echo \$TL_DIR_$1")/trusted_root.json"; }
# root FILE LOG...: the first log's trusted root with the tlogs of all.
root() {
    local out=$1 first=$2 l all='[]'
    shift 2
    for l in "$@"; do
        all=$(jq -c --argjson t "$(tlogs_of "$l")" '. + $t' <<<"$all")
    done
    jq --argjson t "$all" --argjson c "$(jq -c .ctlogs "$TL_DIR_x/trusted_root.json")" \
        '.tlogs = $t | .ctlogs = $c' \
        "$(eval "echo \$TL_DIR_$first")/trusted_root.json" >"$out.tmp" &&
        mv "$out.tmp" "$out"
}
dconfig() { # file root state [extra yaml lines]
    local f=$1
    cat >"$f" <<YAML
state: $3
trusted_root: $2
logs_from_trusted_root: true
discovered_start: 0
notify:
  - {name: console, type: stdout}
YAML
    shift 3
    local line
    for line in "$@"; do
        printf '%s\n' "$line" >>"$f"
    done
}

tl_start a 300
# the CT test log (--ct): its ctlogs entry is in every merged root below
port=$(free_port)
TL_DIR_x="$T/testlog-x"
TL_URL_x=http://127.0.0.1:$port
mkdir -p "$TL_DIR_x"
"$TLOGWATCH_TESTLOG" --listen "127.0.0.1:$port" --entries 90 --dir "$TL_DIR_x" \
    --ct >"$TL_DIR_x/stdout" 2>"$TL_DIR_x/stderr" &
E2E_PIDS+=($!)
wait_until 300 e2e_up_or_gone "$TL_URL_x/ct/v1/get-sth" $!
tl_start_tiles b 200 --origin 127.0.0.1
tl_start_tiles c 150 --origin 127.0.0.1
A=$(name_of a)
B=$(name_of b)
C=$(name_of c)
X=$(name_of x)

# ---- once: both logs of the trusted root, no logs: ---------------------
root "$T/root.json" a a b
dconfig "$T/d.yaml" "$T/root.json" "$T/d.db"
"$BIN" once -c "$T/d.yaml" >"$T/d1.out" 2>"$T/d1.err"
check "discovery once exits 0" test $? -eq 0
check "discovery: the v1 log $A read whole (300)" log_cursor_is "$T/d.yaml" "$A" 300
check "discovery: the v2 log $B read whole (200)" log_cursor_is "$T/d.yaml" "$B" 200
check "discovery: the CT log $X (ctlogs) read whole (90)" log_cursor_is "$T/d.yaml" "$X" 90
check "discovery: the trusted root's log not listed is not followed" \
    test -z "$(log_field "$T/d.yaml" "$C" cursor)"
check "discovery: no alert on a fresh state" test "$(alert_types "$T/d1.out")" = ""
check "discovery: says how many it follows" grep -q "trusted root: following 3 logs" "$T/d1.err"

# ---- reordering keeps every cursor ----------------------------------------
tl_admin a grow '{"count":10}' >/dev/null
root "$T/root.json" a b a
"$BIN" once -c "$T/d.yaml" >"$T/d2.out" 2>"$T/d2.err"
check "discovery: reordered trusted root: once exits 0" test $? -eq 0
check "discovery: reordered: v1 cursor went on (310), nothing re-read" \
    grep -q "entries scanned 310;" <("$BIN" status -c "$T/d.yaml")
check "discovery: reordered: v2 cursor kept (200)" log_cursor_is "$T/d.yaml" "$B" 200
# explicit logs: in both orders (their URLs override discovery)
for order in "a b" "b a"; do
    set -- $order
    dconfig "$T/e.yaml" "$T/root.json" "$T/e.db" "logs:"
    for l in "$@"; do
        u=$(eval "echo \$TL_URL_$l")
        k=rekor-v1
        [ "$l" = b ] && k=rekor-v2
        printf '  - {name: mine-%s, url: %s, kind: %s, start: 0}\n' "$l" "$u" "$k" >>"$T/e.yaml"
    done
    "$BIN" once -c "$T/e.yaml" >"$T/e.out" 2>"$T/e.err"
    check "explicit logs: ($order) once exits 0" test $? -eq 0
    check "explicit logs: ($order) cursors 310 and 200 under their own names" \
        test "$(log_field "$T/e.yaml" mine-a cursor)/$(log_field "$T/e.yaml" mine-b cursor)" = 310/200
done
check "explicit logs: nothing re-read after the reorder (310 + 200 + CT 90 scanned in all)" \
    test "$("$BIN" status -c "$T/e.yaml" | sed -n 's/.*entries scanned \([0-9]*\);.*/\1/p' | awk '{s += $1} END {print s}')" = 600
check "explicit logs: the overridden logs are not followed twice" \
    test -z "$(log_field "$T/e.yaml" "$A" cursor)$(log_field "$T/e.yaml" "$B" cursor)"

# ---- run: a log added to the trusted root, then SIGHUP ------------------
"$BIN" run -c "$T/d.yaml" >"$T/run.out" 2>"$T/run.err" &
RUN=$!
E2E_PIDS+=($RUN)
wait_until 60 grep -q "following 3 logs" "$T/run.err"
root "$T/root.json" a a b c
kill -HUP $RUN
wait_until 120 has_alert "$T/run.out" log.added
check "SIGHUP: log.added for the new log" test "$(alerts_of "$T/run.out" log.added)" = 1
check "SIGHUP: log.added names $C" python3 - "$T/run.out" "$C" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    if l.startswith("{"):
        a = json.loads(l)
        if a["type"] == "log.added":
            assert a["severity"] == "info", a
            assert a["log"]["name"] == sys.argv[2], a
            assert a["log"]["origin"] == "127.0.0.1", a
PY
wait_until 120 log_cursor_is "$T/d.yaml" "$C" 150
check "SIGHUP: the new log is followed (cursor 150)" log_cursor_is "$T/d.yaml" "$C" 150

# ---- a log's validFor ends: log.retired, still followed -----------------
END=$(date -u -d '-1 second' +%Y-%m-%dT%H:%M:%SZ)
jq --arg e "$END" '(.tlogs[] | select(.baseUrl | endswith("'"${B##*-}"'")) | .publicKey.validFor.end) = $e' \
    "$T/root.json" >"$T/root2.json" && mv "$T/root2.json" "$T/root.json"
kill -HUP $RUN
wait_until 120 has_alert "$T/run.out" log.retired
check "SIGHUP: log.retired for the ended log" test "$(alerts_of "$T/run.out" log.retired)" = 1
tl_admin b grow '{"count":7}' >/dev/null
wait_until 120 log_cursor_is "$T/d.yaml" "$B" 207
check "retired: still followed to its final checkpoint (207)" log_cursor_is "$T/d.yaml" "$B" 207
kill -HUP $RUN
wait_until 60 bash -c "[ \$(grep -c 'configuration reloaded' '$T/run.err') -ge 3 ]"
check "SIGHUP again: no second log.added or log.retired" \
    test "$(alerts_of "$T/run.out" log.added)/$(alerts_of "$T/run.out" log.retired)" = 1/1
kill -TERM $RUN
wait $RUN
check "run exits 0 on SIGTERM" test $? -eq 0

# ---- a frozen Rekor v2 log ------------------------------------------------
tl_start_tiles f 120 --origin 127.0.0.1
cat >"$T/f.yaml" <<YAML
state: $T/f.db
trusted_root: $TL_DIR_f/trusted_root.json
logs:
  - {name: frozen, kind: rekor-v2, url: $TL_URL_f, start: 0, poll_interval: 1s}
notify:
  - {name: console, type: stdout}
YAML
tl_admin f tiles-frozen '{"on":true}' >/dev/null
"$BIN" run -c "$T/f.yaml" >"$T/f1.out" 2>"$T/f1.err" &
FR=$!
E2E_PIDS+=($FR)
wait_until 120 log_cursor_is "$T/f.yaml" frozen 120
check "frozen: checked to its final size (120)" log_cursor_is "$T/f.yaml" frozen 120
check "frozen: the log says it is frozen" grep -q "frozen: log frozen at size 120" "$T/f1.err"
checkpoints() { tl_get f /admin/stats | jq '.requests'; }
R0=$(checkpoints)
# poll_interval is 1s: a log not frozen would be polled ~6 times in this
# quiet window (one poll may still be due from before the final check)
sleep 6
R1=$(checkpoints)
check "frozen: not polled every poll_interval once checked ($R0 -> $R1 requests)" \
    test "$R1" -le $((R0 + 2))
kill -TERM $FR
wait $FR
check "frozen: run exits 0, no alert" test "$(alert_types "$T/f1.out")" = ""
tl_admin f grow '{"count":5}' >/dev/null
"$BIN" once -c "$T/f.yaml" >"$T/f2.out" 2>"$T/f2.err"
check "frozen then changed: once exits 1" test $? -eq 1
check "frozen then changed: exactly one log.inconsistent" \
    test "$(alert_types "$T/f2.out")" = "log.inconsistent"
check "frozen then changed: evidence holds both notes (120 frozen, then 125)" python3 - "$T/f2.out" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    if l.startswith("{"):
        a = json.loads(l)
        ev = a["evidence"]
        old, new = ev["old_checkpoint"], ev["new_checkpoint"]
        assert old.split("\n")[1] == "120" and "\nLog frozen\n" in old, old
        assert new.split("\n")[1] == "125", new
        assert a["severity"] == "critical", a
PY
check "frozen then changed: verified size stays 120" \
    test "$(log_field "$T/f.yaml" frozen "verified size")" = 120
"$BIN" once -c "$T/f.yaml" >"$T/f3.out" 2>/dev/null
check "frozen then changed: a second run does not repeat the alert" \
    test "$(alert_types "$T/f3.out")" = ""

finish
