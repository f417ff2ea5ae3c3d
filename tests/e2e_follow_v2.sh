#!/bin/bash
# e2e_follow_v2.sh: the real tlogwatch follows Rekor v2 (tlog-tiles) logs:
# the loopback test log with --tiles (catch-up, growth under `run`,
# `start`, watched signings, every misbehaviour with its alert and
# offline-checked evidence, a 429 storm, kill -9 mid catch-up) and the real
# Tessera test log of the test data, served as static files.
. "$TLOGWATCH_SRC/tests/lib/e2e.sh"
T=$E2E_TMP
BIN=$TLOGWATCH_BIN
: "${TLOGWATCH_TESTDATA:?}"
# Under ASan everything is ~5x slower: smaller logs keep CI in budget.
if [ "${TLOGWATCH_SANITIZED:-0}" = 1 ]; then
    BIG=${E2E_V2_ENTRIES:-12000}
else
    BIG=${E2E_V2_ENTRIES:-70000}
fi

# The test log's key is named by its origin; trusted_root.json names a
# key by the host of its baseUrl: the origin is the bare host.
v2_start() { # name entries [flags]
    local name=$1
    shift
    tl_start_tiles "$name" "$@" --origin 127.0.0.1
}
# tw2_config FILE URL ROOT STATE [extra yaml]: tw_config, kind rekor-v2.
tw2_config() {
    tw_config "$@"
    sed -i 's/^    url: \(.*\)$/    url: \1\n    kind: rekor-v2/' "$1"
}
evidence() { # file type key
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
note_field() { sed -n "${2}p" "$1"; }
b64hex() { python3 -c 'import base64,sys; print(base64.b64decode(sys.argv[1]).hex())' "$1"; }
cursor_is() { [ "$(status_field "$1" cursor)" = "$2" ]; }
wait_cursor() { wait_until 120 cursor_is "$@"; } # yaml want
proofs() { # yaml: the consistency proofs verified so far
    "$BIN" status -c "$1" | sed -n 's/.*consistency proofs \([0-9]*\);.*/\1/p'
}
has_alert() { [ "$(alerts_of "$1" "$2")" -ge 1 ]; } # file type
fresh() { # name entries: a new tiles log and state, caught up
    v2_start "$1" "$2"
    local dir url
    eval "dir=\$TL_DIR_$1"
    eval "url=\$TL_URL_$1"
    tw2_config "$T/$1.yaml" "$url" "$dir/trusted_root.json" "$T/$1.db"
    "$BIN" once -c "$T/$1.yaml" >"$T/$1.sync.out" 2>"$T/$1.sync.err"
}
pubkey() { eval "echo \$TL_DIR_$1"/tiles-log.pub; }

RULE=(
    "watch:"
    "  - name: app"
    "    repository: acme/enclave-app"
    "    allow: {workflows: [.github/workflows/build-eif.yml], refs: [refs/heads/main]}"
    "    record_expected: true"
)
SIGN_OK='{"repository":"acme/enclave-app","workflow":".github/workflows/build-eif.yml","ref":"refs/heads/main"}'
SIGN_BAD='{"repository":"acme/enclave-app","workflow":".github/workflows/other.yml","ref":"refs/heads/main"}'

# ---- catch-up of a large log with once, then growth ---------------------
v2_start a "$BIG"
ROOT_A="$TL_DIR_a/trusted_root.json"
tw2_config "$T/a.yaml" "$TL_URL_a" "$ROOT_A" "$T/a.db" "${RULE[@]}"
"$BIN" once -c "$T/a.yaml" >"$T/a1.out" 2>"$T/a1.err"
check "v2 once from 0 exits 0" test $? -eq 0
check "v2 status: verified size $BIG" test "$(status_field "$T/a.yaml" "verified size")" = "$BIG"
check "v2 status: cursor $BIG" test "$(status_field "$T/a.yaml" cursor)" = "$BIG"
# Root checks: at every commit point (each 4,096th entry, a bundle end)
# against the tiles, and at the verified size against the signed root.
CHECKS=$(((BIG - 1) / 4096 + 1))
check "v2 every entry scanned, $CHECKS root checks" \
    grep -Eq "entries scanned $BIG; .* root checks $CHECKS\$" <("$BIN" status -c "$T/a.yaml")
check "v2 no alert on a clean catch-up" test "$(alert_types "$T/a1.out")" = ""
tl_admin a grow '{"count":700}' >/dev/null
"$BIN" once -c "$T/a.yaml" >"$T/a2.out" 2>"$T/a2.err"
check "v2 once after growth exits 0" test $? -eq 0
N=$((BIG + 700))
check "v2 cursor follows growth to $N" test "$(status_field "$T/a.yaml" cursor)" = "$N"
check "v2 a consistency proof (from the tiles) was verified" \
    grep -q "consistency proofs 1;" <("$BIN" status -c "$T/a.yaml")

# ---- watched signings ----------------------------------------------------
echo "$SIGN_OK" >"$T/req.json"
tl_admin a append "$SIGN_OK" >"$T/ap1.json"
tl_admin a append "$SIGN_BAD" >"$T/ap2.json"
"$BIN" once -c "$T/a.yaml" >"$T/a3.out" 2>"$T/a3.err"
check "v2 signings: once exits 1 (a critical alert)" test $? -eq 1
check "v2 signings: signing.recorded and signing.unexpected" \
    test "$(alert_types "$T/a3.out")" = "signing.recorded signing.unexpected"
check "v2 signings: identity fields and indexes of the appended entries" python3 - "$T/a3.out" "$T/ap1.json" "$T/ap2.json" <<'PY'
import json, sys
alerts = {}
for l in open(sys.argv[1]):
    if l.startswith("{"):
        a = json.loads(l)
        alerts[a["type"]] = a
ok, bad = (json.load(open(p)) for p in sys.argv[2:4])
r, u = alerts["signing.recorded"], alerts["signing.unexpected"]
assert r["entry"]["log_index"] == ok["index"], (r["entry"], ok["index"])
assert u["entry"]["log_index"] == bad["index"], (u["entry"], bad["index"])
for a, want in ((r, ".github/workflows/build-eif.yml"), (u, ".github/workflows/other.yml")):
    idn = a["identity"]
    assert idn["repository"] == "acme/enclave-app", idn
    assert idn["workflow_path"] == want, idn
    assert idn["workflow_ref"] == "refs/heads/main", idn
    assert a["rule"] == "app", a
    assert a["log"]["name"] == "testlog" and a["log"]["origin"] == "127.0.0.1", a["log"]
assert u.get("reasons"), u
PY
N=$((N + 2))

# ---- run: growth across several polls; SIGTERM stops cleanly ------------
# Each growth is followed before the next one comes, so each is its own
# poll with its own consistency proof, however slow the machine.
P0=$(proofs "$T/a.yaml")
"$BIN" run -c "$T/a.yaml" >"$T/run.out" 2>"$T/run.err" &
RUN_PID=$!
E2E_PIDS+=($RUN_PID)
followed=0
for k in 1 2 3; do
    tl_admin a grow '{"count":300}' >/dev/null
    N=$((N + 300))
    wait_cursor "$T/a.yaml" "$N" && followed=$((followed + 1))
done
check "v2 run follows growth over several polls ($followed of 3)" test "$followed" -eq 3
kill -TERM $RUN_PID
wait $RUN_PID
check "v2 run exits 0 on SIGTERM" test $? -eq 0
check "v2 run: one consistency proof for each of the 3 polls ($P0 before)" \
    test "$(proofs "$T/a.yaml")" = $((P0 + 3))

# ---- start: latest and an index -----------------------------------------
TW_START=latest tw2_config "$T/l.yaml" "$TL_URL_a" "$ROOT_A" "$T/l.db"
"$BIN" once -c "$T/l.yaml" >"$T/l1.out" 2>"$T/l1.err"
check "v2 start latest: once exits 0" test $? -eq 0
check "v2 start latest: cursor at the tree size" test "$(status_field "$T/l.yaml" cursor)" = "$N"
check "v2 start latest: nothing scanned" grep -q "entries scanned 0;" <("$BIN" status -c "$T/l.yaml")
tl_admin a grow '{"count":33}' >/dev/null
N=$((N + 33))
"$BIN" once -c "$T/l.yaml" >"$T/l2.out" 2>"$T/l2.err"
check "v2 start latest: then reads what follows, root-checked" \
    grep -Eq "entries scanned 33; .* root checks 1\$" <("$BIN" status -c "$T/l.yaml")
TW_START=1234 tw2_config "$T/i.yaml" "$TL_URL_a" "$ROOT_A" "$T/i.db"
"$BIN" once -c "$T/i.yaml" >/dev/null 2>"$T/i.err"
check "v2 start 1234: once exits 0" test $? -eq 0
check "v2 start 1234: scanned exactly the rest" \
    grep -q "entries scanned $((N - 1234));" <("$BIN" status -c "$T/i.yaml")
TW_START=300 tw2_config "$T/j.yaml" "$TL_URL_a" "$ROOT_A" "$T/j.db"
"$BIN" once -c "$T/j.yaml" >/dev/null 2>"$T/j.err"
check "v2 start 300 (mid-bundle): cursor reaches $N" test "$(status_field "$T/j.yaml" cursor)" = "$N"

# ---- fork ---------------------------------------------------------------
fresh fork 400
tl_admin fork fork '{"index":123}' >/dev/null
tl_admin fork grow '{"count":10}' >/dev/null
"$BIN" once -c "$T/fork.yaml" >"$T/fork.out" 2>"$T/fork.err"
check "v2 fork: once exits 1" test $? -eq 1
check "v2 fork: exactly one log.inconsistent" test "$(alert_types "$T/fork.out")" = "log.inconsistent"
check "v2 fork: verified size and cursor stay 400" \
    test "$(status_field "$T/fork.yaml" cursor)$(status_field "$T/fork.yaml" "verified size")" = 400400
evidence "$T/fork.out" log.inconsistent old_checkpoint >"$T/fork.old"
evidence "$T/fork.out" log.inconsistent new_checkpoint >"$T/fork.new"
evidence "$T/fork.out" log.inconsistent proof >"$T/fork.proof"
check "v2 fork evidence: old checkpoint verifies offline" \
    bash -c "'$BIN' verify checkpoint --key '$(pubkey fork)' '$T/fork.old' >/dev/null"
check "v2 fork evidence: new checkpoint verifies offline" \
    bash -c "'$BIN' verify checkpoint --key '$(pubkey fork)' '$T/fork.new' >/dev/null"
check "v2 fork evidence: a non-empty proof" test -s "$T/fork.proof"
"$BIN" verify consistency --old-size "$(note_field "$T/fork.old" 2)" \
    --old-root "$(b64hex "$(note_field "$T/fork.old" 3)")" \
    --new-size "$(note_field "$T/fork.new" 2)" \
    --new-root "$(b64hex "$(note_field "$T/fork.new" 3)")" \
    --proof "$T/fork.proof" 2>/dev/null
check "v2 fork evidence: the proof fails offline (exit 1)" test $? -eq 1
"$BIN" once -c "$T/fork.yaml" >"$T/fork2.out" 2>/dev/null
check "v2 fork: a second run does not repeat the alert" test "$(alert_types "$T/fork2.out")" = ""

# ---- rollback -----------------------------------------------------------
fresh rb 300
tl_admin rb rollback '{"count":50}' >/dev/null
"$BIN" once -c "$T/rb.yaml" >"$T/rb.out" 2>"$T/rb.err"
check "v2 rollback: once exits 1" test $? -eq 1
check "v2 rollback: exactly one log.rollback" test "$(alert_types "$T/rb.out")" = "log.rollback"
evidence "$T/rb.out" log.rollback old_checkpoint >"$T/rb.old"
evidence "$T/rb.out" log.rollback new_checkpoint >"$T/rb.new"
check "v2 rollback evidence: both notes verify, new size is smaller" \
    bash -c "'$BIN' verify checkpoint --key '$(pubkey rb)' '$T/rb.old' >/dev/null &&
             '$BIN' verify checkpoint --key '$(pubkey rb)' '$T/rb.new' >/dev/null &&
             [ $(sed -n 2p "$T/rb.new") -lt $(sed -n 2p "$T/rb.old") ]"
check "v2 rollback: verified size stays 300" test "$(status_field "$T/rb.yaml" "verified size")" = 300

# ---- wrong key ----------------------------------------------------------
fresh wk 200
tl_admin wk wrong-key '{"on":true}' >/dev/null
tl_admin wk grow '{"count":5}' >/dev/null
"$BIN" once -c "$T/wk.yaml" >"$T/wk.out" 2>"$T/wk.err"
check "v2 wrong key: once exits 1" test $? -eq 1
check "v2 wrong key: exactly one log.bad_signature" test "$(alert_types "$T/wk.out")" = "log.bad_signature"
evidence "$T/wk.out" log.bad_signature new_checkpoint >"$T/wk.new"
"$BIN" verify checkpoint --key "$(pubkey wk)" "$T/wk.new" >/dev/null 2>&1
check "v2 wrong key evidence: fails offline with the pinned key (exit 1)" test $? -eq 1
check "v2 wrong key: verified size stays 200" test "$(status_field "$T/wk.yaml" "verified size")" = 200

# ---- tampered entry -----------------------------------------------------
fresh tb 100
tl_admin tb grow '{"count":200}' >/dev/null
tl_admin tb tamper '{"index":217}' >/dev/null
"$BIN" once -c "$T/tb.yaml" >"$T/tb.out" 2>"$T/tb.err"
check "v2 tampered entry: once exits 1" test $? -eq 1
check "v2 tampered entry: exactly one log.entries_mismatch" \
    test "$(alert_types "$T/tb.out")" = "log.entries_mismatch"
c=$(status_field "$T/tb.yaml" cursor)
check "v2 tampered entry: cursor never passes index 217 ($c)" test "$c" -le 217
tl_admin tb tamper '{"index":217,"count":0}' >/dev/null
"$BIN" once -c "$T/tb.yaml" >"$T/tb2.out" 2>/dev/null
check "v2 tamper cleared: catches up to 300" test "$(status_field "$T/tb.yaml" cursor)" = 300

# A tampered entry deep in a catch-up: the commits before the verified
# size are root-checked against the hash tiles, so the cursor stops at the
# last commit point before it.
fresh tbb 10
tl_admin tbb grow '{"count":12000}' >/dev/null
tl_admin tbb tamper '{"index":9000}' >/dev/null
"$BIN" once -c "$T/tbb.yaml" >"$T/tbb.out" 2>"$T/tbb.err"
check "v2 tampered entry mid catch-up: once exits 1" test $? -eq 1
check "v2 tampered entry mid catch-up: exactly one log.entries_mismatch" \
    test "$(alert_types "$T/tbb.out")" = "log.entries_mismatch"
c=$(status_field "$T/tbb.yaml" cursor)
check "v2 tampered entry mid catch-up: cursor stops before 9000 ($c)" \
    test "$c" -le 9000 -a "$c" -ge 4096
check "v2 tampered entry mid catch-up: the mismatch names a size past it" \
    test "$(evidence "$T/tbb.out" log.entries_mismatch size)" -gt 9000
tl_admin tbb tamper '{"index":9000,"count":0}' >/dev/null
tl_admin tbb grow '{"count":10000}' >/dev/null
tl_admin tbb tamper '{"index":13000}' >/dev/null
"$BIN" once -c "$T/tbb.yaml" >"$T/tbb3.out" 2>"$T/tbb3.err"
check "v2 tampered entry before a commit point: exactly one log.entries_mismatch" \
    test "$(alert_types "$T/tbb3.out")" = "log.entries_mismatch"
check "v2 tampered entry before a commit point: caught there, with the tiles' root" \
    test "$(evidence "$T/tbb3.out" log.entries_mismatch size)" -lt 22010 -a \
         -n "$(evidence "$T/tbb3.out" log.entries_mismatch tiles_root)"
c=$(status_field "$T/tbb.yaml" cursor)
check "v2 tampered entry before a commit point: cursor stays before 13000 ($c)" test "$c" -le 13000
tl_admin tbb tamper '{"index":13000,"count":0}' >/dev/null
"$BIN" once -c "$T/tbb.yaml" >"$T/tbb2.out" 2>/dev/null
check "v2 tamper cleared: catches up to 22010" test "$(status_field "$T/tbb.yaml" cursor)" = 22010

# ---- throttling storms -------------------------------------------------
fresh thr 10
tl_admin thr grow '{"count":3000}' >/dev/null
tl_admin thr fail '{"status":429,"count":6,"retry_after":1}' >/dev/null
TLOGWATCH_DEBUG=1 "$BIN" once -c "$T/thr.yaml" >"$T/thr.out" 2>"$T/thr.err"
check "v2 429 storm: once exits 0" test $? -eq 0
check "v2 429 storm: caught up" test "$(status_field "$T/thr.yaml" cursor)" = 3010
tl_admin thr grow '{"count":800}' >/dev/null
tl_admin thr fail '{"status":503,"count":4}' >/dev/null
"$BIN" once -c "$T/thr.yaml" >"$T/thr2.out" 2>"$T/thr2.err"
check "v2 5xx storm: once catches up" test "$(status_field "$T/thr.yaml" cursor)" = 3810
check "v2 throttling raised no alert" test "$(alert_types "$T/thr.out")$(alert_types "$T/thr2.out")" = ""
check "v2 429 storm: the window shrank" grep -q "throttled (429): request window" "$T/thr.err"

# ---- liveness: stale and unreachable ------------------------------------
fresh live 50
TW_STALE=2s tw2_config "$T/live.yaml" "$TL_URL_live" "$TL_DIR_live/trusted_root.json" "$T/live.db"
"$BIN" run -c "$T/live.yaml" >"$T/live.out" 2>"$T/live.err" &
LIVE_PID=$!
E2E_PIDS+=($LIVE_PID)
wait_until 120 has_alert "$T/live.out" log.stale
kill -TERM $LIVE_PID
wait $LIVE_PID
check "v2 a log that stops growing: log.stale" test "$(alerts_of "$T/live.out" log.stale)" -ge 1
kill "$TL_PID_live"
wait "$TL_PID_live" 2>/dev/null
TW_UNREACHABLE=2s tw2_config "$T/live.yaml" "$TL_URL_live" "$TL_DIR_live/trusted_root.json" "$T/live.db"
"$BIN" once -c "$T/live.yaml" >"$T/live2.out" 2>"$T/live2.err"
check "v2 unreachable: once gives up (exit 3)" test $? -eq 3
check "v2 unreachable: log.unreachable" test "$(alerts_of "$T/live2.out" log.unreachable)" = 1

# ---- kill -9 mid catch-up, then restart --------------------------------
# At least 40,000 entries (also under ASan): room for three paced runs.
KN=$((BIG > 40000 ? BIG : 40000))
v2_start c $((KN / 2))
for k in 1 2 3 4 5; do tl_admin c append "$SIGN_BAD" >/dev/null; done
tl_admin c grow "{\"count\":$((KN / 2))}" >/dev/null
for k in 1 2 3 4 5; do tl_admin c append "$SIGN_BAD" >/dev/null; done
NC=$((KN + 10))
tw2_config "$T/c.yaml" "$TL_URL_c" "$TL_DIR_c/trusted_root.json" "$T/c.db" "${RULE[@]}"
tw2_config "$T/ref.yaml" "$TL_URL_c" "$TL_DIR_c/trusted_root.json" "$T/ref.db" "${RULE[@]}"
# stored_below DB CURSOR: one alert and one signing for each signing
# below CURSOR, in order (none lost, none doubled, none committed ahead).
SIGNED="$(seq $((KN / 2)) $((KN / 2 + 4))) $(seq $((KN + 5)) $((KN + 9)))"
stored_below() {
    local want="" i
    for i in $SIGNED; do
        [ "$i" -lt "$2" ] && want="$want${want:+ }$i"
    done
    [ "$(sqlite3 "$1" "select group_concat(log_index, ' ') from (select log_index from alerts order by log_index)")" = "$want" ] &&
        [ "$(sqlite3 "$1" "select group_concat(log_index, ' ') from (select log_index from signings order by log_index)")" = "$want" ]
}
# Three runs killed with kill -9, each after a commit and before the end.
# The test paces each run (tl_pace) to 50 requests: the 16 bundles to the
# next commit point (every 4,096 entries), 16 more read ahead (the
# look-ahead, FOLLOW_LOOKAHEAD_ENTRIES: 4,096 entries at max_concurrency
# 8), 16 hash tiles for the root checks and the checkpoint.  So each run
# makes that commit, and then the log holds it before the end (50
# bundles at most: 12,800 entries, three runs from 0 stay below 40,000),
# whatever the machine's speed; the kill comes once the commit is made
# and the log holds the follower.
kills=0
prev=0
for round in 1 2 3; do
    tl_pace c 50
    "$BIN" once -c "$T/c.yaml" >>"$T/c.out" 2>>"$T/c.err" &
    if kill_at_cursor "$T/c.yaml" $((prev / 4096 * 4096 + 4096)) $! c; then
        kills=$((kills + 1))
    fi
    prev=$(cursor_of "$T/c.yaml")
    check "v2 after kill $round: the store holds the alerts and signings below the cursor ($prev), once each" \
        stored_below "$T/c.db" "$prev"
done
tl_pace c 0
check "v2 killed $kills times mid catch-up (cursor $prev of $NC entries)" \
    test "$kills" -eq 3 -a "$prev" -lt "$NC"
"$BIN" once -c "$T/c.yaml" >>"$T/c.out" 2>>"$T/c.err"
check "v2 restart completes (exit 0 or 1)" test $? -le 1
"$BIN" once -c "$T/ref.yaml" >"$T/ref.out" 2>"$T/ref.err"
check "v2 reference run raises the critical alerts (exit 1)" test $? -eq 1
s1=$("$BIN" status -c "$T/c.yaml" | grep -E "verified size|verified root|cursor")
s2=$("$BIN" status -c "$T/ref.yaml" | grep -E "verified size|verified root|cursor")
check "v2 same verified size, root and cursor as an uninterrupted run" test "$s1" = "$s2"
check "v2 10 alerts stored in both (no duplicate, none lost)" \
    test "$(sqlite3 "$T/c.db" "select count(*) from alerts")" = 10 -a \
         "$(sqlite3 "$T/ref.db" "select count(*) from alerts")" = 10
check "v2 the same alert ids as the uninterrupted run" \
    test "$(sqlite3 "$T/c.db" "select id from alerts order by id" | md5sum)" = \
         "$(sqlite3 "$T/ref.db" "select id from alerts order by id" | md5sum)"

# ---- real data: the Tessera test log, as static files ------------------
TD="$TLOGWATCH_TESTDATA/rekor-v2/tessera-testlog"
port=$(free_port)
(cd "$TD" && exec python3 -m http.server --bind 127.0.0.1 "$port") \
    >"$T/http.out" 2>&1 &
E2E_PIDS+=($!)
wait_until 60 curl -fsS -o /dev/null "http://127.0.0.1:$port/checkpoint" 2>/dev/null
# The note verifier key from PROVENANCE.md: name+hash+base64(0x01 || key).
VKEY=$(grep -o 'example.com/log/testdata+[0-9a-f]*+[A-Za-z0-9+/=]*' \
    "$TLOGWATCH_TESTDATA/rekor-v2/PROVENANCE.md" | head -1)
python3 - "$VKEY" "http://127.0.0.1:$port" "$ROOT_A" "$T/tessera_root.json" <<'PY'
import base64, hashlib, json, sys
vkey, url, template, out = sys.argv[1:5]
raw = base64.b64decode(vkey.split("+", 2)[2])
assert raw[0] == 1 and len(raw) == 33
spki = bytes.fromhex("302a300506032b6570032100") + raw[1:]
root = json.load(open(template))
root["tlogs"] = [{
    "baseUrl": url,
    "hashAlgorithm": "SHA2_256",
    "publicKey": {"rawBytes": base64.b64encode(spki).decode(),
                  "keyDetails": "PKIX_ED25519",
                  "validFor": {"start": "2020-01-01T00:00:00Z"}},
    "logId": {"keyId": base64.b64encode(hashlib.sha256(spki).digest()).decode()},
}]
json.dump(root, open(out, "w"), indent=1)
PY
tw2_config "$T/tess.yaml" "http://127.0.0.1:$port" "$T/tessera_root.json" "$T/tess.db"
"$BIN" once -c "$T/tess.yaml" >"$T/tess.out" 2>"$T/tess.err"
check "tessera: once exits 0 (info alerts only)" test $? -eq 0
check "tessera: verified size 15" test "$(status_field "$T/tess.yaml" "verified size")" = 15
check "tessera: cursor reaches 15, root checked" \
    grep -Eq "entries scanned 15; .* root checks 1\$" <("$BIN" status -c "$T/tess.yaml")
check "tessera: cursor 15" test "$(status_field "$T/tess.yaml" cursor)" = 15
check "tessera: 15 entry.malformed (the ASCII words)" test "$(alerts_of "$T/tess.out" entry.malformed)" = 15
check "tessera: no other alert" test "$(alert_types "$T/tess.out" | tr ' ' '\n' | sort -u)" = entry.malformed
# The same checkpoint without its tiles: once gives up (exit 3) after
# FOLLOW_ONCE_MAX_FAILURES cycles, though the checkpoint itself verifies.
mkdir -p "$T/notiles"
cp "$TD/checkpoint" "$T/notiles/checkpoint"
port2=$(free_port)
(cd "$T/notiles" && exec python3 -m http.server --bind 127.0.0.1 "$port2") \
    >"$T/http2.out" 2>&1 &
E2E_PIDS+=($!)
wait_until 60 curl -fsS -o /dev/null "http://127.0.0.1:$port2/checkpoint" 2>/dev/null
sed "s#http://127.0.0.1:$port#http://127.0.0.1:$port2#" "$T/tessera_root.json" >"$T/notiles_root.json"
TW_START=latest tw2_config "$T/nt.yaml" "http://127.0.0.1:$port2" "$T/notiles_root.json" "$T/nt.db"
timeout 120 "$BIN" once -c "$T/nt.yaml" >"$T/nt.out" 2>"$T/nt.err"
check "no tiles: once gives up with exit 3" test $? -eq 3
check "no tiles: the checkpoint was verified, no cursor" \
    test "$(status_field "$T/nt.yaml" "verified size")" = 15
finish
