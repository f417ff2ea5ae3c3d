#!/bin/bash
# e2e_ct_misbehave.sh: each misbehaviour of an RFC 6962 CT log (the real
# tlogwatch against `tlogwatch-testlog --ct`, a fresh log each) raises
# exactly its alert, once, and the evidence in the alert is checked
# offline by `tlogwatch verify evidence` with the trusted root's ctlogs
# key (exit 0), while a tampered or forged copy of it is refused (exit 1):
#   fork (same size, another root)      log.inconsistent
#   fork that grew (the proof fails)    log.inconsistent (with the proof)
#   rollback                            log.rollback
#   bad STH signature                   log.bad_signature
#   tampered entry                      log.entries_mismatch
#   withheld entry                      log.entries_withheld
#   an STH of size 2^64 - 1             log.inconsistent (that log stops;
#                                       another log followed by the same
#                                       daemon carries on)
# Each tree head in the evidence also passes `tlogwatch verify sth`.
. "$TLOGWATCH_SRC/tests/lib/e2e.sh"
T=$E2E_TMP
BIN=$TLOGWATCH_BIN

# alert_json FILE TYPE OUT: the first TYPE alert line of FILE into OUT.
alert_json() {
    python3 - "$1" "$2" "$3" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    if l.startswith("{") and json.loads(l)["type"] == sys.argv[2]:
        open(sys.argv[3], "w").write(l)
        break
PY
}
# tamper IN OUT PYTHON: OUT is IN's alert after the python statement
# (on the alert `a`, its evidence `e`) ran.
tamper() {
    python3 - "$1" "$2" "$3" <<'PY'
import base64, json, sys
a = json.load(open(sys.argv[1]))
e = a["evidence"]
def flip_root(text):
    """A tree head with one bit of its root flipped (still well formed)."""
    h = json.loads(text)
    r = bytearray(base64.b64decode(h["sha256_root_hash"]))
    r[7] ^= 1
    h["sha256_root_hash"] = base64.b64encode(bytes(r)).decode()
    return json.dumps(h, separators=(",", ":"))
def set_field(text, k, v):
    h = json.loads(text)
    h[k] = v
    return json.dumps(h, separators=(",", ":"))
exec(sys.argv[3])
open(sys.argv[2], "w").write(json.dumps(a))
PY
}
# verify_ev NAME FILE: tlogwatch verify evidence, exit code printed.
verify_ev() {
    "$BIN" verify evidence --trusted-root "$(eval "echo \$ROOT_$1")" "$2" \
        >"$2.vout" 2>"$2.verr"
    echo $?
}
# heads_ok NAME FILE MEMBER...: each member of FILE's evidence passes
# verify sth.
heads_ok() {
    local n=$1 f=$2 m
    shift 2
    for m in "$@"; do
        python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["evidence"][sys.argv[2]])' \
            "$f" "$m" >"$f.$m"
        "$BIN" verify sth --trusted-root "$(eval "echo \$ROOT_$n")" "$f.$m" \
            >/dev/null 2>&1 || return 1
    done
}

# ct_root NAME: the CT log's trusted root plus the Rekor test log's tlogs
# (the loader wants tlogs); ROOT_<NAME> is its path.
ct_root() {
    local out="$T/root-$1.json" dir
    eval "dir=\$TL_DIR_$1"
    ct_trusted_root "$dir/trusted_root.json" "$TL_DIR_rk/trusted_root.json" "$out"
    eval "ROOT_$1=$out"
}
# fresh NAME ENTRIES [yaml lines]: a new CT test log, its root, a config
# (kind ct) and a state caught up with once.
fresh() {
    local n=$1 e=$2
    shift 2
    tl_start_ct "$n" "$e"
    ct_root "$n"
    tw_config "$T/$n.yaml" "$(cat "$(eval "echo \$TL_DIR_$n")/url")" \
        "$(eval "echo \$ROOT_$n")" "$T/$n.db" "$@"
    sed -i 's/^    url: \(.*\)$/    url: \1\n    kind: ct/' "$T/$n.yaml"
    "$BIN" once -c "$T/$n.yaml" >"$T/$n.sync.out" 2>"$T/$n.sync.err"
}

tl_start rk 10

# ---- a fork: another root for the verified size ---------------------------
fresh fk 400
tl_admin fk fork '{"index":123}' >/dev/null
"$BIN" once -c "$T/fk.yaml" >"$T/fk.out" 2>"$T/fk.err"
check "fork: once exits 1" test $? -eq 1
check "fork: exactly one alert, log.inconsistent" test "$(alert_types "$T/fk.out")" = "log.inconsistent"
check "fork: verified size stays 400" test "$(status_field "$T/fk.yaml" "verified size")" = 400
alert_json "$T/fk.out" log.inconsistent "$T/fk.alert"
check "fork evidence: verify evidence exits 0" test "$(verify_ev fk "$T/fk.alert")" = 0
check "fork evidence: the verdict names two roots for size 400" \
    grep -q "two different roots for size 400" "$T/fk.alert.vout"
check "fork evidence: both heads pass verify sth" heads_ok fk "$T/fk.alert" old_checkpoint new_checkpoint
tamper "$T/fk.alert" "$T/fk.t1" 'e["new_checkpoint"] = flip_root(e["new_checkpoint"])'
check "fork evidence, new root flipped: refused (exit 1)" test "$(verify_ev fk "$T/fk.t1")" = 1
tamper "$T/fk.alert" "$T/fk.t2" 'e["new_checkpoint"] = e["old_checkpoint"]'
check "fork evidence, the same head twice: refused (exit 1)" test "$(verify_ev fk "$T/fk.t2")" = 1
tamper "$T/fk.alert" "$T/fk.t3" 'e["old_checkpoint"] = set_field(e["old_checkpoint"], "timestamp", json.loads(e["old_checkpoint"])["timestamp"] + 1)'
check "fork evidence, old timestamp changed: refused (exit 1)" test "$(verify_ev fk "$T/fk.t3")" = 1
"$BIN" once -c "$T/fk.yaml" >"$T/fk2.out" 2>/dev/null
check "fork: a second run does not repeat the alert" test "$(alert_types "$T/fk2.out")" = ""

# ---- a fork that grew: get-sth-consistency cannot link it ------------------
fresh fg 400
tl_admin fg fork '{"index":123}' >/dev/null
tl_admin fg grow '{"count":10}' >/dev/null
"$BIN" once -c "$T/fg.yaml" >"$T/fg.out" 2>"$T/fg.err"
check "grown fork: once exits 1" test $? -eq 1
check "grown fork: exactly one alert, log.inconsistent" test "$(alert_types "$T/fg.out")" = "log.inconsistent"
check "grown fork: cursor stays at 400" test "$(status_field "$T/fg.yaml" cursor)" = 400
alert_json "$T/fg.out" log.inconsistent "$T/fg.alert"
check "grown fork evidence: carries the log's proof" \
    python3 -c 'import json,sys; sys.exit(not json.load(open(sys.argv[1]))["evidence"]["proof"])' "$T/fg.alert"
check "grown fork evidence: verify evidence exits 0 (the proof fails)" test "$(verify_ev fg "$T/fg.alert")" = 0
check "grown fork evidence: the verdict says the proof from 400 to 410 fails" \
    grep -q "consistency proof from size 400 to 410 does not verify" "$T/fg.alert.vout"
tamper "$T/fg.alert" "$T/fg.t1" 'e["old_checkpoint"] = flip_root(e["old_checkpoint"])'
check "grown fork evidence, old root flipped: refused (exit 1)" test "$(verify_ev fg "$T/fg.t1")" = 1
# Forged: an honest log's growth (its recorded head of size 400, its
# live head of 410 and the proof it serves between them) presented as
# log.inconsistent must be refused.
fresh fh 400
tl_admin fh grow '{"count":10}' >/dev/null
python3 - "$(cat "$TL_DIR_fh/url")" "$T/fh.db" "$T/fg.alert" "$T/fh.alert" <<'PY'
import json, sqlite3, sys, urllib.request
url, db, src, out = sys.argv[1:5]
a = json.load(open(src))
# fh's recorded head of size 400 and its live head of size 410 with the
# log's own proof: a consistent pair.
old = sqlite3.connect(db).execute(
    "select note from checkpoints where size = 400").fetchone()[0]
h = json.loads(old)
sth = json.load(urllib.request.urlopen(url + "/ct/v1/get-sth"))
new = dict(ct_sth=1, log_id=h["log_id"], **sth)
p = json.load(urllib.request.urlopen(url + "/ct/v1/get-sth-consistency?first=400&second=%d" % sth["tree_size"]))
import base64
a["evidence"] = {"old_checkpoint": old,
                 "new_checkpoint": json.dumps(new, separators=(",", ":")),
                 "proof": [base64.b64decode(x).hex() for x in p["consistency"]]}
open(out, "w").write(json.dumps(a))
PY
check "an honest growth presented as log.inconsistent: refused (exit 1)" \
    test "$(verify_ev fh "$T/fh.alert")" = 1
check "  ...because the proof links the two heads" grep -q "they are consistent" "$T/fh.alert.verr"

# ---- rollback --------------------------------------------------------------
fresh rb 300
tl_admin rb rollback '{"count":50}' >/dev/null
"$BIN" once -c "$T/rb.yaml" >"$T/rb.out" 2>"$T/rb.err"
check "rollback: once exits 1" test $? -eq 1
check "rollback: exactly one alert, log.rollback" test "$(alert_types "$T/rb.out")" = "log.rollback"
check "rollback: verified size stays 300" test "$(status_field "$T/rb.yaml" "verified size")" = 300
alert_json "$T/rb.out" log.rollback "$T/rb.alert"
check "rollback evidence: verify evidence exits 0" test "$(verify_ev rb "$T/rb.alert")" = 0
check "rollback evidence: the verdict says size 250 after 300" \
    grep -q "signed size 250 after size 300" "$T/rb.alert.vout"
check "rollback evidence: both heads pass verify sth" heads_ok rb "$T/rb.alert" old_checkpoint new_checkpoint
tamper "$T/rb.alert" "$T/rb.t1" 'e["new_checkpoint"] = set_field(e["new_checkpoint"], "tree_size", 249)'
check "rollback evidence, new size changed: refused (exit 1)" test "$(verify_ev rb "$T/rb.t1")" = 1
tamper "$T/rb.alert" "$T/rb.t2" 'e["old_checkpoint"], e["new_checkpoint"] = e["new_checkpoint"], e["old_checkpoint"]'
check "rollback evidence, heads swapped: refused (exit 1)" test "$(verify_ev rb "$T/rb.t2")" = 1
"$BIN" once -c "$T/rb.yaml" >"$T/rb2.out" 2>/dev/null
check "rollback: a second run does not repeat the alert" test "$(alert_types "$T/rb2.out")" = ""

# ---- a bad STH signature ---------------------------------------------------
fresh bs 200
tl_admin bs wrong-key '{"on":true}' >/dev/null
tl_admin bs grow '{"count":5}' >/dev/null
"$BIN" once -c "$T/bs.yaml" >"$T/bs.out" 2>"$T/bs.err"
check "bad signature: once exits 1" test $? -eq 1
check "bad signature: exactly one alert, log.bad_signature" test "$(alert_types "$T/bs.out")" = "log.bad_signature"
check "bad signature: verified size stays 200" test "$(status_field "$T/bs.yaml" "verified size")" = 200
alert_json "$T/bs.out" log.bad_signature "$T/bs.alert"
check "bad signature evidence: verify evidence exits 0" test "$(verify_ev bs "$T/bs.alert")" = 0
python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["evidence"]["new_checkpoint"])' \
    "$T/bs.alert" >"$T/bs.alert.new"
"$BIN" verify sth --trusted-root "$ROOT_bs" "$T/bs.alert.new" >/dev/null 2>&1
check "bad signature evidence: the new head fails verify sth (exit 1)" test $? -eq 1
tamper "$T/bs.alert" "$T/bs.t1" 'e["new_checkpoint"] = e["old_checkpoint"]'
check "bad signature evidence, a validly signed head instead: refused (exit 1)" \
    test "$(verify_ev bs "$T/bs.t1")" = 1
"$BIN" once -c "$T/bs.yaml" >"$T/bs2.out" 2>/dev/null
check "bad signature: a second run does not repeat the alert" test "$(alert_types "$T/bs2.out")" = ""

# ---- a tampered entry ------------------------------------------------------
fresh te 100
tl_admin te grow '{"count":40}' >/dev/null
tl_admin te tamper '{"index":117,"count":-1}' >/dev/null
"$BIN" once -c "$T/te.yaml" >"$T/te.out" 2>"$T/te.err"
check "tampered entry: once exits 1" test $? -eq 1
check "tampered entry: exactly one alert, log.entries_mismatch" \
    test "$(alert_types "$T/te.out")" = "log.entries_mismatch"
c=$(status_field "$T/te.yaml" cursor)
check "tampered entry: the cursor never passes index 117 ($c)" test "$c" -le 117
alert_json "$T/te.out" log.entries_mismatch "$T/te.alert"
check "tampered entry evidence: verify evidence exits 0" test "$(verify_ev te "$T/te.alert")" = 0
check "tampered entry evidence: the signed head passes verify sth" heads_ok te "$T/te.alert" old_checkpoint
tamper "$T/te.alert" "$T/te.t1" 'e["computed_root"] = base64.b64decode(json.loads(e["old_checkpoint"])["sha256_root_hash"]).hex()'
check "tampered entry evidence, computed root = signed root: refused (exit 1)" \
    test "$(verify_ev te "$T/te.t1")" = 1
tamper "$T/te.alert" "$T/te.t2" 'e["old_checkpoint"] = flip_root(e["old_checkpoint"])'
check "tampered entry evidence, signed root flipped: refused (exit 1)" \
    test "$(verify_ev te "$T/te.t2")" = 1
"$BIN" once -c "$T/te.yaml" >"$T/te2.out" 2>/dev/null
check "tampered entry: a second run does not repeat the alert" test "$(alert_types "$T/te2.out")" = ""

# ---- a withheld entry ------------------------------------------------------
# get-entries never returns index 500: one log.entries_withheld after
# withhold_after (10 s); once gives up after unreachable_after (exit 3 or
# 1, as in e2e_follow_ct.sh).
TW_UNREACHABLE=40s fresh wh 400
sed -i 's/^    kind: ct$/    kind: ct\n    withhold_after: 10s/' "$T/wh.yaml"
tl_admin wh grow '{"count":300}' >/dev/null
tl_admin wh drop '{"index":500,"count":-1}' >/dev/null
timeout 300 "$BIN" once -c "$T/wh.yaml" >"$T/wh.out" 2>"$T/wh.err"
RC=$?
check "withheld: once gives up, exit 3 or 1 [$RC]" test "$RC" -eq 3 -o "$RC" -eq 1
check "withheld: exactly one log.entries_withheld" test "$(alerts_of "$T/wh.out" log.entries_withheld)" = 1
check "withheld: the cursor did not pass the gap" test "$(status_field "$T/wh.yaml" cursor)" -le 500
alert_json "$T/wh.out" log.entries_withheld "$T/wh.alert"
check "withheld evidence: verify evidence exits 0" test "$(verify_ev wh "$T/wh.alert")" = 0
check "withheld evidence: the verdict names index 500 of size 700" \
    grep -q "commits to index 500 (size 700)" "$T/wh.alert.vout"
tamper "$T/wh.alert" "$T/wh.t1" 'e["log_index"] = 700'
check "withheld evidence, an index beyond the head: refused (exit 1)" test "$(verify_ev wh "$T/wh.t1")" = 1
tamper "$T/wh.alert" "$T/wh.t2" 'e["checkpoint"] = flip_root(e["checkpoint"])'
check "withheld evidence, signed root flipped: refused (exit 1)" test "$(verify_ev wh "$T/wh.t2")" = 1

# ---- an STH of size 2^64 - 1, on one of two logs -----------------------------
tl_start_ct ia 300
tl_start_ct ib 300
ct_root ia
python3 - "$ROOT_ia" "$TL_DIR_ib/trusted_root.json" <<'PY'
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
a["ctlogs"] += b["ctlogs"]
json.dump(a, open(sys.argv[1], "w"), indent=2)
PY
cat >"$T/imp.yaml" <<YAML
state: $T/imp.db
trusted_root: $ROOT_ia
logs:
  - {name: ia, kind: ct, url: "$(cat "$TL_DIR_ia/url")", poll_interval: 1s, start: 0}
  - {name: ib, kind: ct, url: "$(cat "$TL_DIR_ib/url")", poll_interval: 1s, start: 0}
notify:
  - {name: console, type: stdout}
YAML
cursor_in() { # config log-name
    "$BIN" status -c "$1" --format json | python3 -c '
import json, sys
for l in json.load(sys.stdin)["logs"]:
    if l["name"] == sys.argv[1]:
        print(l["shards"][0]["cursor"] if l["shards"] else "")' "$2"
}
"$BIN" once -c "$T/imp.yaml" >/dev/null 2>"$T/imp.sync.err"
check "2^64-1: both logs caught up" \
    test "$(cursor_in "$T/imp.yaml" ia)$(cursor_in "$T/imp.yaml" ib)" = 300300
"$BIN" run -c "$T/imp.yaml" >"$T/imp.out" 2>"$T/imp.err" &
PID=$!
E2E_PIDS+=($PID)
tl_admin ia impossible '{"size":"18446744073709551615"}' >/dev/null
has_inconsistent() { [ "$(alerts_of "$T/imp.out" log.inconsistent)" -ge 1 ]; }
wait_until 120 has_inconsistent
check "2^64-1: log.inconsistent raised" has_inconsistent
check "2^64-1: not taken for an unreachable log" test "$(alerts_of "$T/imp.out" log.unreachable)" = 0
tl_admin ib grow '{"count":40}' >/dev/null
ib_at() { [ "$(cursor_in "$T/imp.yaml" ib)" = 340 ]; }
wait_until 120 ib_at
check "2^64-1: the other log carries on (cursor 340)" ib_at
# a few more polls of the impossible head: still exactly one alert
polls() { tl_get ia /admin/stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["endpoints"]["ct_get_sth"])'; }
p0=$(polls)
more_polls() { [ "$(polls)" -ge $((p0 + 2)) ]; }
wait_until 120 more_polls
check "2^64-1: the log is polled again (backoff), no repeat: one alert" \
    test "$(alerts_of "$T/imp.out" log.inconsistent)" = 1
check "2^64-1: the impossible log's cursor stays 300" test "$(cursor_in "$T/imp.yaml" ia)" = 300
kill -TERM $PID
wait $PID
check "2^64-1: the daemon stops cleanly (exit 0)" test $? -eq 0
alert_json "$T/imp.out" log.inconsistent "$T/imp.alert"
check "2^64-1 evidence: the head says 18446744073709551615" \
    grep -q '\\"tree_size\\":18446744073709551615,' "$T/imp.alert"
check "2^64-1 evidence: verify evidence exits 0" test "$(verify_ev ia "$T/imp.alert")" = 0
check "2^64-1 evidence: the verdict names 2^63 or more" grep -q "2^63 or more" "$T/imp.alert.vout"
tamper "$T/imp.alert" "$T/imp.t1" 'e["new_checkpoint"] = e["new_checkpoint"].replace("18446744073709551615", "18446744073709551614")'
check "2^64-1 evidence, size changed: refused (exit 1)" test "$(verify_ev ia "$T/imp.t1")" = 1

# ---- malformed input: exit 2 with one line ---------------------------------
echo '{"type":"log.rollback","evidence":{"new_checkpoint":"origin\n1\nAAAA\n"}}' >"$T/m1"
"$BIN" verify evidence --trusted-root "$ROOT_rb" "$T/m1" >/dev/null 2>"$T/m1.err"
check "a signed note (Rekor) in evidence: exit 2, one line" \
    test $? -eq 2 -a "$(wc -l <"$T/m1.err")" = 1
echo 'not json' >"$T/m2"
"$BIN" verify evidence --trusted-root "$ROOT_rb" "$T/m2" >/dev/null 2>"$T/m2.err"
check "not an alert: exit 2, one line" test $? -eq 2 -a "$(wc -l <"$T/m2.err")" = 1
"$BIN" verify evidence "$T/rb.alert" >/dev/null 2>"$T/m3.err"
check "no --trusted-root: exit 2" test $? -eq 2

finish
