#!/bin/bash
# e2e_hostile.sh (issue 11): the real tlogwatch against a hostile
# test log (tests/testlog, see `tlogwatch-testlog --help`), the acceptance
# checks of "What a hostile log gets":
#  (a) Rekor v1, withhold_after 30s, an index withheld for good
#      (/admin/drop count -1): exactly one log.entries_withheld 30-90 s
#      after the drop, with evidence checked offline; a watched signing
#      appended after the gap still raises its alert; the log receives
#      fewer than 200 requests in the minute after the alert; `once`
#      against such a log ends within unreachable_after + 60 s, exit 3 or 1;
#  (b) two logs followed, one signs a checkpoint of size 2^64 - 1
#      (/admin/impossible, once with treeSize an int64-clean number, once
#      with treeSize the same 2^64 - 1 literal): log.inconsistent for it
#      with the note as evidence, while the other keeps following growth
#      (a new signing on it alerts) and the daemon keeps running;
#  (c) memory: a Rekor v2 log at max_concurrency 64 serving ~16 MiB entry
#      bundles slowly (/admin/pad junk + /admin/trickle), and a v1 log
#      answering with 16 MiB bodies (slowly, then fast): the daemon's
#      peak RSS (VmHWM) stays under 64 MiB;
#  (d) as (a) for Rekor v2 (read under /api/v2, --prefix): an entry bundle
#      that never arrives (404).
# Time is only ever waited for (wait_until, generous deadlines) or
# measured over a window after the event; no kill races progress (the
# daemons are stopped after what was measured).  About 10 minutes.
. "$TLOGWATCH_SRC/tests/lib/e2e.sh"
T=$E2E_TMP
BIN=$TLOGWATCH_BIN
WITHHOLD=30    # withhold_after, seconds (the minimum is 10)
UNREACHABLE=30 # unreachable_after for the `once` checks, seconds

RULE=(
    "watch:"
    "  - name: app"
    "    repository: acme/enclave-app"
    "    allow: {workflows: [.github/workflows/build-eif.yml], refs: [refs/heads/main]}"
    "    record_expected: true"
)
SIGN_OK='{"repository":"acme/enclave-app","workflow":".github/workflows/build-eif.yml","ref":"refs/heads/main"}'

# ---- helpers --------------------------------------------------------------

stat_of() { # name key: a number of the test log's /admin/stats
    tl_get "$1" /admin/stats | python3 -c \
        'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$2"
}
# endpoints NAME: "endpoint:count ..." of the requests the log received
endpoints() {
    tl_get "$1" /admin/stats | python3 -c '
import json, sys
e = json.load(sys.stdin)["endpoints"]
print(" ".join("%s:%d" % (k, v) for k, v in sorted(e.items()) if v))'
}
# with_withhold FILE: every log of a tw_config file gets withhold_after.
with_withhold() {
    sed -i "s/^    unreachable_after: .*$/&\n    withhold_after: ${WITHHOLD}s/" "$1"
}
v2_kind() { sed -i 's/^    url: \(.*\)$/    url: \1\n    kind: rekor-v2/' "$1"; }
hwm_mib() { awk '/^VmHWM:/ {print int($2 / 1024)}' "/proc/$1/status"; }
# cursor_in CONFIG LOG: the committed cursor of log LOG (first shard).
cursor_in() {
    "$BIN" status -c "$1" | awk -v l="$2" '
        /^log / { on = ($2 == l) }
        on && index($0, "  cursor ") == 1 { print $2; exit }'
}
# count_alerts FILE TYPE [LOG]: alerts of TYPE (about log LOG) in FILE.
count_alerts() {
    python3 - "$@" <<'PY'
import json, sys
f, t = sys.argv[1], sys.argv[2]
log = sys.argv[3] if len(sys.argv) > 3 else None
n = 0
for l in open(f):
    if l.strip().startswith("{"):
        a = json.loads(l)
        if a["type"] == t and (log is None or a["log"]["name"] == log):
            n += 1
print(n)
PY
}
has_alert() { [ "$(count_alerts "$@")" -ge 1 ]; }
# signed_alert FILE INDEX: a signing.* alert about entry INDEX.
signed_alert() {
    python3 - "$1" "$2" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    if l.strip().startswith("{"):
        a = json.loads(l)
        if a["type"].startswith("signing.") and \
                a.get("entry", {}).get("log_index") == int(sys.argv[2]):
            sys.exit(0)
sys.exit(1)
PY
}
# evidence_of FILE TYPE KEY [LOG]: a field of the first TYPE alert's
# evidence (lists one item a line).
evidence_of() {
    python3 - "$@" <<'PY'
import json, sys
f, t, k = sys.argv[1:4]
log = sys.argv[4] if len(sys.argv) > 4 else None
for l in open(f):
    if l.strip().startswith("{"):
        a = json.loads(l)
        if a["type"] == t and (log is None or a["log"]["name"] == log):
            v = a.get("evidence", {}).get(k, "")
            print("\n".join(v) if isinstance(v, list) else v, end="")
            break
PY
}
# detected_after FILE TYPE EPOCH: seconds from EPOCH (unix) to the first
# TYPE alert's detected_at.
detected_after() {
    python3 - "$@" <<'PY'
import json, sys, datetime
f, t, t0 = sys.argv[1], sys.argv[2], int(sys.argv[3])
for l in open(f):
    if l.strip().startswith("{"):
        a = json.loads(l)
        if a["type"] == t:
            d = datetime.datetime.fromisoformat(a["detected_at"].replace("Z", "+00:00"))
            print(int(d.timestamp()) - t0)
            break
PY
}
alive() { kill -0 "$1" 2>/dev/null; }
ended() { ! kill -0 "$1" 2>/dev/null; }
cursor_is() { [ "$(cursor_in "$1" "$2")" = "$3" ]; } # config log n
padded_at_least() { [ "$(stat_of "$1" padded)" -ge "$2" ]; } # name n
stop_daemon() { # pid: SIGTERM, 0 when it exits 0
    kill -TERM "$1" 2>/dev/null
    wait "$1"
}

# A Rekor v2 test log read under /api/v2 (--prefix), as production's:
# TL_URL_<NAME> is http://HOST:PORT (/admin/ and trusted_root.json's
# baseUrl), TL_API_<NAME> the URL a config names.
tl_start_v2api() { # name entries [flags]
    local name=$1 n=$2 port dir
    shift 2
    port=$(free_port)
    dir="$E2E_TMP/testlog-$name"
    mkdir -p "$dir"
    "$TLOGWATCH_TESTLOG" --listen "127.0.0.1:$port" --entries "$n" \
        --dir "$dir" --tiles --origin 127.0.0.1 --prefix /api/v2 "$@" \
        >"$dir/stdout" 2>"$dir/stderr" &
    E2E_PIDS+=($!)
    eval "TL_PID_$name=$!"
    eval "TL_URL_$name=http://127.0.0.1:$port"
    eval "TL_API_$name=http://127.0.0.1:$port/api/v2"
    eval "TL_DIR_$name=$dir"
    wait_until 300 test -s "$dir/url" &&
        [ "$(cat "$dir/url")" = "http://127.0.0.1:$port/api/v2" ]
}

# ---- (a) and (d): a withheld entry ----------------------------------------

# withheld KIND NAME GROW: KIND v1 or v2.  A log of 1000 entries, caught
# up; the daemon runs; index 1100 is dropped for good, the log grows by
# GROW and a watched signing is appended at 1000 + GROW, after the gap and
# within a follower's bounded look-ahead (v1: 500 entries past the gap,
# the look-ahead covers at least 4,096; v2: two bundles past the withheld
# one).  Meanwhile `once` runs against
# a second log with the same gap (its own requests stay out of the
# measured window).
withheld() {
    local kind=$1 n=$2 grow=$3 url api dir pub drop_wall t0 dt r0 r1 e0 c rc
    local pid opid at=$((1000 + $3))
    if [ "$kind" = v1 ]; then
        tl_start "$n" 1000
        tl_start "${n}o" 1000
        pub=log.pub
    else
        tl_start_v2api "$n" 1000
        tl_start_v2api "${n}o" 1000
        pub=tiles-log.pub
    fi
    eval "url=\$TL_URL_$n dir=\$TL_DIR_$n"
    eval "api=\${TL_API_$n:-\$url}"
    tw_config "$T/$n.yaml" "$api" "$dir/trusted_root.json" "$T/$n.db" "${RULE[@]}"
    with_withhold "$T/$n.yaml"
    [ "$kind" = v2 ] && v2_kind "$T/$n.yaml"
    "$BIN" once -c "$T/$n.yaml" >"$T/$n.sync.out" 2>"$T/$n.sync.err"
    check "$kind withheld: caught up to 1000 first" test "$(cursor_of "$T/$n.yaml")" = 1000
    "$BIN" run -c "$T/$n.yaml" >"$T/$n.out" 2>"$T/$n.err" &
    pid=$!
    E2E_PIDS+=($pid)

    # the second log: once from 0 over the same gap
    eval "url=\$TL_URL_${n}o"
    eval "api=\${TL_API_${n}o:-\$url}"
    TW_UNREACHABLE=${UNREACHABLE}s tw_config "$T/${n}o.yaml" "$api" \
        "$(eval "echo \$TL_DIR_${n}o")/trusted_root.json" "$T/${n}o.db"
    with_withhold "$T/${n}o.yaml"
    [ "$kind" = v2 ] && v2_kind "$T/${n}o.yaml"
    tl_admin "${n}o" drop '{"index":1100,"count":-1}' >/dev/null
    tl_admin "${n}o" grow "{\"count\":$grow}" >/dev/null
    # its exit status and seconds land in ${n}o.rc when it ends
    (
        s=$SECONDS
        "$BIN" once -c "$T/${n}o.yaml" >"$T/${n}o.out" 2>"$T/${n}o.err"
        echo "$? $((SECONDS - s))" >"$T/${n}o.rc"
    ) &
    opid=$!
    E2E_PIDS+=($opid)

    drop_wall=$(date +%s)
    t0=$SECONDS
    tl_admin "$n" drop '{"index":1100,"count":-1}' >/dev/null
    tl_admin "$n" grow "{\"count\":$grow}" >/dev/null
    tl_admin "$n" append "$SIGN_OK" >"$T/$n.ap.json"
    check "$kind withheld: the signing lands after the gap, at $at" \
        grep -q "\"index\":$at," "$T/$n.ap.json"

    wait_until 300 has_alert "$T/$n.out" log.entries_withheld
    dt=$((SECONDS - t0))
    r0=$(stat_of "$n" requests)
    e0=$(endpoints "$n")
    check "$kind withheld: log.entries_withheld arrived 30-90 s after the drop ($dt s)" \
        test "$dt" -ge "$WITHHOLD" -a "$dt" -le 90
    dt=$(detected_after "$T/$n.out" log.entries_withheld "$drop_wall")
    check "$kind withheld: its detected_at is 30-90 s after the drop ($dt s)" \
        test "$dt" -ge "$((WITHHOLD - 1))" -a "$dt" -le 90
    wait_until 120 signed_alert "$T/$n.out" "$at"
    check "$kind withheld: the watched signing after the gap still alerts" \
        signed_alert "$T/$n.out" "$at"
    evidence_of "$T/$n.out" log.entries_withheld checkpoint >"$T/$n.cp"
    check "$kind withheld evidence: the checkpoint verifies offline" \
        "$BIN" verify checkpoint --key "$dir/$pub" "$T/$n.cp"
    check "$kind withheld evidence: the checkpoint commits to index 1100" \
        test "$(sed -n 2p "$T/$n.cp")" -gt 1100
    check "$kind withheld evidence: index, attempts, times, last status" \
        python3 - "$T/$n.out" "$kind" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    if l.strip().startswith("{"):
        a = json.loads(l)
        if a["type"] == "log.entries_withheld":
            e = a["evidence"]
            first = e["log_index"]
            last = e.get("last_log_index", first)
            assert first <= 1100 <= last, e
            if sys.argv[2] == "v1":
                assert first == last == 1100, e
                assert e["last_status"] == 200, e  # left out of a 200
            else:
                assert e["last_status"] == 404, e  # the bundle is a 404
            assert e["attempts"] >= 2, e
            assert e["first_attempt"] <= e["last_attempt"], e
            assert a["severity"] == "critical", a
            break
PY
    # the measured minute: nothing in it waits for the daemon
    sleep 60
    r1=$(stat_of "$n" requests)
    echo "  requests by endpoint at the alert: $(echo $e0); a minute later: $(endpoints "$n")"
    check "$kind withheld: $((r1 - r0)) requests in the minute after the alert (< 200)" \
        test "$((r1 - r0))" -lt 200
    check "$kind withheld: exactly one log.entries_withheld" \
        test "$(count_alerts "$T/$n.out" log.entries_withheld)" = 1
    c=$(cursor_of "$T/$n.yaml")
    check "$kind withheld: the cursor never passes the gap ($c)" test "$c" -le 1100
    check "$kind withheld: the daemon still runs" alive "$pid"
    stop_daemon "$pid"
    check "$kind withheld: the daemon stops cleanly (exit 0)" test $? -eq 0

    # (only a failing once is still running here: the bound is 90 s)
    wait_until $((UNREACHABLE + 300)) test -s "$T/${n}o.rc"
    read -r rc dt <"$T/${n}o.rc" || rc=none dt=none
    [ "$rc" = none ] || wait "$opid"
    check "$kind withheld: once ends within unreachable_after + 60 s ($dt s)" \
        test "$dt" != none -a "$dt" -le $((UNREACHABLE + 60))
    check "$kind withheld: once exits 3 or 1 (exit $rc)" \
        test "$rc" = 3 -o "$rc" = 1
    check "$kind withheld: once names the unfinished log and why" \
        grep -Eq "testlog.*(withheld|withhold|unreachable|giving up)" "$T/${n}o.err"
}

withheld v1 wa 600

# ---- (b) an impossible checkpoint on one of two logs -----------------------

# impossible ROUND JSON: logs ia and ib (fresh), the daemon follows both;
# ia signs the impossible checkpoint JSON asks for; ib grows and gets a
# watched signing.
impossible() {
    local r=$1 json=$2 pid c
    tl_start "${r}a" 300
    tl_start "${r}b" 300
    python3 - "$(eval "echo \$TL_DIR_${r}a")/trusted_root.json" \
        "$(eval "echo \$TL_DIR_${r}b")/trusted_root.json" "$T/$r.root.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
a["tlogs"] += b["tlogs"]
a["certificateAuthorities"] += b["certificateAuthorities"]
json.dump(a, open(sys.argv[3], "w"))
PY
    cat >"$T/$r.yaml" <<YAML
state: $T/$r.db
trusted_root: $T/$r.root.json
logs:
  - {name: ia, url: "$(eval "echo \$TL_URL_${r}a")", poll_interval: 1s, start: 0, unreachable_after: 10m}
  - {name: ib, url: "$(eval "echo \$TL_URL_${r}b")", poll_interval: 1s, start: 0, unreachable_after: 10m}
notify:
  - {name: console, type: stdout}
YAML
    printf '%s\n' "${RULE[@]}" >>"$T/$r.yaml"
    "$BIN" once -c "$T/$r.yaml" >/dev/null 2>"$T/$r.sync.err"
    check "$r: both logs caught up" \
        test "$(cursor_in "$T/$r.yaml" ia)$(cursor_in "$T/$r.yaml" ib)" = 300300
    "$BIN" run -c "$T/$r.yaml" >"$T/$r.out" 2>"$T/$r.err" &
    pid=$!
    E2E_PIDS+=($pid)
    tl_admin "${r}a" impossible "$json" >"$T/$r.imp.json"
    wait_until 120 has_alert "$T/$r.out" log.inconsistent ia
    check "$r: log.inconsistent for the log that signed 2^64 - 1" \
        has_alert "$T/$r.out" log.inconsistent ia
    evidence_of "$T/$r.out" log.inconsistent new_checkpoint ia >"$T/$r.new"
    check "$r evidence: the note verifies offline and says 18446744073709551615" \
        bash -c "'$BIN' verify checkpoint --key '$(eval "echo \$TL_DIR_${r}a")/log.pub' '$T/$r.new' >/dev/null &&
                 [ \"\$(sed -n 2p '$T/$r.new')\" = 18446744073709551615 ]"
    # the other log keeps following growth
    tl_admin "${r}b" grow '{"count":40}' >/dev/null
    tl_admin "${r}b" append "$SIGN_OK" >"$T/$r.ap.json"
    wait_until 120 signed_alert "$T/$r.out" 340
    check "$r: a new signing on the other log alerts" signed_alert "$T/$r.out" 340
    wait_until 120 cursor_is "$T/$r.yaml" ib 341
    check "$r: the other log's cursor follows to 341" \
        test "$(cursor_in "$T/$r.yaml" ib)" = 341
    c=$(cursor_in "$T/$r.yaml" ia)
    check "$r: the impossible log's cursor stays at 300 ($c)" test "$c" = 300
    check "$r: exactly one log.inconsistent, none for the other log" \
        test "$(count_alerts "$T/$r.out" log.inconsistent ia)$(count_alerts "$T/$r.out" log.inconsistent ib)" = 10
    check "$r: data from a log is never fatal: the daemon runs" alive "$pid"
    stop_daemon "$pid"
    check "$r: the daemon stops cleanly (exit 0)" test $? -eq 0
}

# treeSize in the JSON is a legal int64 (the real size); the note says
# 2^64 - 1
impossible i1 '{"size":18446744073709551615,"tree_size":300}'
# treeSize is the 2^64 - 1 literal too (valid JSON, beyond int64: a JSON
# reader without big integers refuses the document; the note is signed)
impossible i2 '{"size":18446744073709551615}'

# ---- (c) memory against 16 MiB bodies ---------------------------------------

# peak NAME CONFIG MIN_BODIES: run the daemon until the log started
# sending MIN_BODIES more padded bodies and at least 60 s passed; PEAK
# gets its VmHWM (MiB), read before it is stopped.
peak() {
    local n=$1 y=$2 want=$3 pid t0
    want=$(($(stat_of "$n" padded) + want))
    "$BIN" run -c "$y" >"$T/$n.out" 2>"$T/$n.err" &
    pid=$!
    E2E_PIDS+=($pid)
    t0=$SECONDS
    wait_until 600 padded_at_least "$n" "$want"
    while [ $((SECONDS - t0)) -lt 60 ]; do
        sleep 1
    done
    PEAK=$(hwm_mib "$pid")
    echo "$n: $(stat_of "$n" padded) padded bodies sent in $((SECONDS - t0)) s, VmHWM $PEAK MiB"
    stop_daemon "$pid"
}

if [ "${TLOGWATCH_SANITIZED:-0}" = 1 ]; then
    echo "skip - (c) memory: not measured under ASan"
else
    # v2: bundles of ~16 MiB (16,000,000 bytes of junk after ~550 KB of
    # entries: under a full bundle's 256 * 65537 bytes, so no client can
    # refuse them by Content-Length), 1 MiB/s each
    tl_start_tiles m2 20000 --origin 127.0.0.1
    TW_CONC=64 tw_config "$T/m2.yaml" "$TL_URL_m2" "$TL_DIR_m2/trusted_root.json" "$T/m2.db"
    v2_kind "$T/m2.yaml"
    tl_admin m2 pad '{"bytes":16000000}' >/dev/null
    tl_admin m2 trickle '{"bytes_per_s":1048576}' >/dev/null
    peak m2 "$T/m2.yaml" 16
    check "v2 max_concurrency 64, slow 16 MiB bundles: peak RSS $PEAK MiB < 64 MiB" \
        test "$PEAK" -lt 64
    check "v2 memory: the log really offered them (>= 16 started)" \
        padded_at_least m2 16

    # v1: every entry answer 16 MiB (16,777,216 bytes, valid JSON), first
    # slowly (1 MiB/s each), then at full speed
    tl_start m1 3000
    TW_CONC=64 tw_config "$T/m1.yaml" "$TL_URL_m1" "$TL_DIR_m1/trusted_root.json" "$T/m1.db"
    tl_admin m1 pad '{"bytes":16777216}' >/dev/null
    tl_admin m1 trickle '{"bytes_per_s":1048576}' >/dev/null
    peak m1 "$T/m1.yaml" 16
    check "v1 max_concurrency 64, slow 16 MiB bodies: peak RSS $PEAK MiB < 64 MiB" \
        test "$PEAK" -lt 64
    tl_admin m1 trickle '{"bytes_per_s":0}' >/dev/null
    rm -f "$T/m1.db"*
    peak m1 "$T/m1.yaml" 64
    check "v1 max_concurrency 64, fast 16 MiB bodies: peak RSS $PEAK MiB < 64 MiB" \
        test "$PEAK" -lt 64
fi

# ---- (d) Rekor v2: a bundle that never arrives --------------------------------

withheld v2 wd 600
check "v2 under /api/v2: the bare tiles path is a 404 there" \
    test "$(curl -s -o /dev/null -w '%{http_code}' "$TL_URL_wd/checkpoint")" = 404

finish
