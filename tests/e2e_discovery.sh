#!/bin/bash
# e2e_discovery.sh: logs_from_trusted_root with the real binary and test
# logs.  A trusted root merged (jq) from a Rekor v1, a Rekor v2 and a CT
# (--ct) test log, a config with no logs:, `once` follows all three;
# reordering the trusted root or logs: keeps every cursor.
# Issue 13's "Done means", literally: a trusted root listing one v1 log,
# two v2 logs and one CT log, a config with logs_from_trusted_root: true
# and no logs:, under `run`: all four followed and proven (status --format
# json: cursor at the log's size, the verified root the log's own, root
# checks passed); a fifth log (CT) added to the trusted root then SIGHUP
# gives one log.added and is followed; a log whose validFor ends gives
# log.retired and is still followed; one of the v2 logs frozen (its
# checkpoint carries "Log frozen", testlog /admin/tiles-frozen), then
# changed, gives exactly one log.inconsistent with both notes.  status
# and report show a discovered log the daemon has not reached yet.
# Then a frozen Rekor v2 log under logs: (polled rarely, `once` after a
# change), and a Rekor v1 inactive shard: checked to its size, not
# re-checked every poll, a change caught at once (one log.inconsistent).
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
# root FILE LOG...: the first log's trusted root with the tlogs and the
# ctlogs of all (a --ct test log's root has only ctlogs).
root() {
    local out=$1 l tl='[]' ct='[]' dir
    shift
    for l in "$@"; do
        dir=$(eval "echo \$TL_DIR_$l")
        tl=$(jq -c --argjson t "$(jq -c '.tlogs // []' "$dir/trusted_root.json")" '. + $t' <<<"$tl")
        ct=$(jq -c --argjson t "$(jq -c '.ctlogs // []' "$dir/trusted_root.json")" '. + $t' <<<"$ct")
    done
    jq --argjson t "$tl" --argjson c "$ct" '.tlogs = $t | .ctlogs = $c' \
        "$(eval "echo \$TL_DIR_$1")/trusted_root.json" >"$out.tmp" &&
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
# proven CONFIG LOG:KIND...: for each test log, `status --format json`
# lists it under its discovered name with that kind and url, and its
# newest shard is proven to the log's current head: cursor = verified
# size = the head's size, verified root = the head's root, at least one
# root check passed.  The head is read from the test log itself
# (v1 /api/v1/log, v2 /checkpoint, CT get-sth).  PROVEN_WHY=1: say why not.
proven() {
    local cfg=$1 l spec=()
    shift
    for l in "$@"; do
        spec+=("$(name_of "${l%%:*}")" "${l#*:}" "$(eval "echo \$TL_URL_${l%%:*}")")
    done
    "$BIN" status -c "$cfg" --format json 2>/dev/null | python3 -c '
import base64, json, os, sys, urllib.request
doc = json.load(sys.stdin)
args = sys.argv[1:]
def why(msg):
    if os.environ.get("PROVEN_WHY"):
        print("not proven: " + msg, file=sys.stderr)
    sys.exit(1)
def get(url):
    with urllib.request.urlopen(url, timeout=30) as r:
        return r.read().decode()
logs = {l["name"]: l for l in doc["logs"]}
for i in range(0, len(args), 3):
    name, kind, url = args[i:i + 3]
    if kind == "rekor-v1":
        h = json.loads(get(url + "/api/v1/log"))
        size, root = h["treeSize"], h["rootHash"]
    elif kind == "rekor-v2":
        lines = get(url + "/checkpoint").split("\n")
        size, root = int(lines[1]), base64.b64decode(lines[2]).hex()
    else:
        h = json.loads(get(url + "/ct/v1/get-sth"))
        size, root = h["tree_size"], base64.b64decode(h["sha256_root_hash"]).hex()
    l = logs.get(name)
    if l is None:
        why("%s not in status" % name)
    if l["kind"] != kind or l["url"] != url:
        why("%s: kind %s url %s" % (name, l["kind"], l["url"]))
    if not l["shards"]:
        why("%s: no shard yet" % name)
    s = l["shards"][-1]
    got = (s["cursor"], s["verified_size"], s["verified_root"])
    if got != (size, size, root) or s["root_checks_passed"] < 1:
        why("%s: cursor/size/root %s, root checks %s; the log: %s %s" %
            (name, got, s["root_checks_passed"], size, root))
' "${spec[@]}"
}

tl_start a 300
tl_start_tiles b 200 --origin 127.0.0.1
tl_start_tiles c 150 --origin 127.0.0.1
tl_start_ct x 90
tl_start_ct y 60
A=$(name_of a)
B=$(name_of b)
C=$(name_of c)
X=$(name_of x)
Y=$(name_of y)

# ---- once: the logs of the trusted root, no logs: -----------------------
root "$T/root.json" a b x
dconfig "$T/d.yaml" "$T/root.json" "$T/d.db"
"$BIN" once -c "$T/d.yaml" >"$T/d1.out" 2>"$T/d1.err"
check "discovery once exits 0" test $? -eq 0
check "discovery: the v1 log $A read whole (300)" log_cursor_is "$T/d.yaml" "$A" 300
check "discovery: the v2 log $B read whole (200)" log_cursor_is "$T/d.yaml" "$B" 200
check "discovery: the CT log $X (ctlogs) read whole (90)" log_cursor_is "$T/d.yaml" "$X" 90
check "discovery: a log the trusted root does not list is not followed" \
    test -z "$(log_field "$T/d.yaml" "$C" cursor)"
check "discovery: no alert on a fresh state" test "$(alert_types "$T/d1.out")" = ""
check "discovery: says how many it follows" grep -q "trusted root: following 3 logs" "$T/d1.err"

# ---- reordering keeps every cursor ----------------------------------------
tl_admin a grow '{"count":10}' >/dev/null
root "$T/root.json" x b a
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

# ---- run: one v1, two v2 and one CT log from the trusted root ------------
root "$T/r-root.json" a b c x
dconfig "$T/r.yaml" "$T/r-root.json" "$T/r.db"
check "run: the config has no logs:" bash -c "! grep -q '^logs:' '$T/r.yaml'"
"$BIN" run -c "$T/r.yaml" >"$T/run.out" 2>"$T/run.err" &
RUN=$!
E2E_PIDS+=($RUN)
FOUR=(a:rekor-v1 b:rekor-v2 c:rekor-v2 x:ct)
wait_until 300 proven "$T/r.yaml" "${FOUR[@]}"
PROVEN_WHY=1 check "run: all four logs followed and proven (v1 $A, v2 $B and $C, CT $X)" \
    proven "$T/r.yaml" "${FOUR[@]}"
check "run: following 4 logs" grep -q "trusted root: following 4 logs" "$T/run.err"
check "run: no alert on a fresh state" test "$(alert_types "$T/run.out")" = ""

# ---- a fifth log (CT) in the trusted root, then SIGHUP -------------------
root "$T/r-root.json" a b c x y
check "status: lists a discovered log the daemon has not reached yet ($Y, kind ct, no cursor)" \
    bash -c "'$BIN' status -c '$T/r.yaml' --format json |
        jq -e --arg n '$Y' '.logs[] | select(.name == \$n) | .kind == \"ct\" and .shards == []' >/dev/null"
check "report: lists it among the logs not reached yet" \
    bash -c "'$BIN' report -c '$T/r.yaml' --format json |
        jq -e --arg n '$Y' '[.unreached_logs[].name] == [\$n]' >/dev/null"
kill -HUP $RUN
wait_until 120 has_alert "$T/run.out" log.added
check "SIGHUP: log.added for the new log" test "$(alerts_of "$T/run.out" log.added)" = 1
check "SIGHUP: log.added names $Y" python3 - "$T/run.out" "$Y" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    if l.startswith("{"):
        a = json.loads(l)
        if a["type"] == "log.added":
            assert a["severity"] == "info", a
            assert a["log"]["name"] == sys.argv[2], a
            assert a["log"]["origin"] == "127.0.0.1", a
PY
wait_until 300 proven "$T/r.yaml" "${FOUR[@]}" y:ct
PROVEN_WHY=1 check "SIGHUP: the fifth log is followed and proven, the four still are" \
    proven "$T/r.yaml" "${FOUR[@]}" y:ct

# ---- a log's validFor ends: log.retired, still followed -----------------
END=$(date -u -d '-1 second' +%Y-%m-%dT%H:%M:%SZ)
jq --arg e "$END" '(.tlogs[] | select(.baseUrl | endswith("'"${B##*-}"'")) | .publicKey.validFor.end) = $e' \
    "$T/r-root.json" >"$T/r-root2.json" && mv "$T/r-root2.json" "$T/r-root.json"
kill -HUP $RUN
wait_until 120 has_alert "$T/run.out" log.retired
check "SIGHUP: log.retired for the ended log" test "$(alerts_of "$T/run.out" log.retired)" = 1
tl_admin b grow '{"count":7}' >/dev/null
wait_until 120 log_cursor_is "$T/r.yaml" "$B" 207
check "retired: still followed to its final checkpoint (207)" log_cursor_is "$T/r.yaml" "$B" 207

# ---- one of the v2 logs frozen, then changed: one log.inconsistent ------
tl_admin c tiles-frozen '{"on":true}' >/dev/null
wait_until 120 grep -q "$C: log frozen at size 150" "$T/run.err"
check "frozen: the discovered v2 log $C is recorded frozen at 150" \
    grep -q "$C: log frozen at size 150" "$T/run.err"
tl_admin c grow '{"count":5}' >/dev/null
kill -HUP $RUN # the followers are rebuilt: the frozen log is polled now
wait_until 120 has_alert "$T/run.out" log.inconsistent
check "frozen then changed: exactly one log.inconsistent, naming $C" python3 - "$T/run.out" "$C" <<'PY'
import json, sys
got = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
inc = [a for a in got if a["type"] == "log.inconsistent"]
assert len(inc) == 1, inc
a = inc[0]
assert a["log"]["name"] == sys.argv[2] and a["severity"] == "critical", a
old, new = a["evidence"]["old_checkpoint"], a["evidence"]["new_checkpoint"]
assert old.split("\n")[1] == "150" and "\nLog frozen\n" in old, old
assert new.split("\n")[1] == "155", new
PY
# Once more: polled again after a reload, the same change is not raised twice.
N=$(grep -c "$C: log.inconsistent" "$T/run.err")
kill -HUP $RUN
wait_until 120 bash -c "[ \$(grep -c '$C: log.inconsistent' '$T/run.err') -gt $N ]"
check "frozen then changed: seen again after a reload, still one alert" \
    test "$(alerts_of "$T/run.out" log.inconsistent)" = 1
check "SIGHUPs: one log.added, one log.retired in all" \
    test "$(alerts_of "$T/run.out" log.added)/$(alerts_of "$T/run.out" log.retired)" = 1/1
PROVEN_WHY=1 check "the other logs are unaffected (v1, v2 $B at 207, both CT)" \
    proven "$T/r.yaml" a:rekor-v1 b:rekor-v2 x:ct y:ct
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

# ---- a Rekor v1 inactive shard -------------------------------------------
# Shard 1 (150 entries) rotated away, shard 2 grown to 20: the shard is
# read to its final size, its final checkpoint recorded; the log is
# polled every second (its active shard), but the inactive shard's head,
# served again unchanged with every poll, is not checked again (the
# record's checked_at stays); once it changes it is caught at the next
# poll: one log.inconsistent.
tl_start s 150
tl_admin s rotate >/dev/null
tl_admin s grow '{"count":20}' >/dev/null
tw_config "$T/s.yaml" "$TL_URL_s" "$TL_DIR_s/trusted_root.json" "$T/s.db"
frozen_row() { # the inactive shard's record: "size checked_at"
    python3 - "$T/s.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
for size, checked in db.execute("SELECT size, checked_at FROM frozen_shards"):
    print(size, checked)
PY
}
v_cursor_is() {
    [ "$("$BIN" status -c "$T/s.yaml" --format json 2>/dev/null |
        jq '[.logs[0].shards[].cursor] | max')" = "$1" ]
}
polls() { tl_get s /admin/stats | jq '.requests'; }
"$BIN" run -c "$T/s.yaml" >"$T/s1.out" 2>"$T/s1.err" &
SR=$!
E2E_PIDS+=($SR)
wait_until 120 v_cursor_is 170
check "v1 inactive shard: read to its final size, then the next shard (cursor 170)" \
    v_cursor_is 170
check "v1 inactive shard: its final checkpoint recorded (size 150)" \
    test "$(frozen_row | cut -d' ' -f1)" = 150
F0=$(frozen_row)
P0=$(polls)
# poll_interval is 1s: wait for five more polls of the log
wait_until 120 bash -c "[ \$(curl -fsS '$TL_URL_s/admin/stats' | jq .requests) -ge $((P0 + 5)) ]"
check "v1 inactive shard: not checked again on every poll (record $F0 -> $(frozen_row), polls $P0 -> $(polls))" \
    test "$(frozen_row)" = "$F0"
tl_admin s fork '{"index":10}' >/dev/null
wait_until 120 has_alert "$T/s1.out" log.inconsistent
check "v1 inactive shard changed: caught by the running daemon" \
    has_alert "$T/s1.out" log.inconsistent
P1=$(polls)
wait_until 120 bash -c "[ \$(curl -fsS '$TL_URL_s/admin/stats' | jq .requests) -ge $((P1 + 3)) ]"
check "v1 inactive shard changed: exactly one log.inconsistent (3 polls later), both notes of size 150" \
    python3 - "$T/s1.out" <<'PY'
import json, sys
got = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
assert [a["type"] for a in got] == ["log.inconsistent"], got
ev = got[0]["evidence"]
old, new = ev["old_checkpoint"], ev["new_checkpoint"]
assert old.split("\n")[1] == "150" and new.split("\n")[1] == "150", ev
assert old.split("\n")[2] != new.split("\n")[2], ev
PY
kill -TERM $SR
wait $SR
check "v1 inactive shard: run exits 0 on SIGTERM" test $? -eq 0

finish
