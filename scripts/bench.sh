#!/bin/bash
# bench.sh BUILD: the project's benchmarks; prints figures, never fails on a
# slow machine.  `make bench` runs it.  Each part can be run alone:
#   BENCH=catchup|catchup2|catchupct|ratelimit|micro bash scripts/bench.sh build
#   CATCHUP_ENTRIES=1000000 CATCHUPCT_ENTRIES=200000 CATCHUPCT_BATCH=256
#   RATES="20 200" RATE_SECONDS=30
set -u
BUILD=$(cd "${1:-build}" && pwd)
SRC=$(cd "$(dirname "$0")/.." && pwd)
export TLOGWATCH_BIN=$BUILD/bin/tlogwatch TLOGWATCH_TESTLOG=$BUILD/bin/tlogwatch-testlog
export TLOGWATCH_SRC=$SRC TLOGWATCH_TESTDATA=${TLOGWATCH_TESTDATA:-$SRC/../shared/testdata}
. "$SRC/tests/lib/e2e.sh"
T=$E2E_TMP
WHAT=${BENCH:-all}

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r)"

stat_of() { # name key
    tl_get "$1" /admin/stats | python3 -c "import json,sys; print(json.load(sys.stdin)['$2'])"
}

catchup() {
    local n=${CATCHUP_ENTRIES:-1000000} t0 t1
    echo "== (a) unthrottled catch-up of $n entries from the loopback test log"
    t0=$(date +%s.%N)
    tl_start cu "$n" || return
    t1=$(date +%s.%N)
    printf 'test log startup: %.1f s for %d entries\n' "$(echo "$t1 - $t0" | bc)" "$n"
    TW_CONC=${CATCHUP_CONC:-16} tw_config "$T/cu.yaml" "$TL_URL_cu" "$TL_DIR_cu/trusted_root.json" "$T/cu.db"
    /usr/bin/time -f '%e %M' -o "$T/cu.time" "$TLOGWATCH_BIN" once -c "$T/cu.yaml" >/dev/null 2>"$T/cu.err"
    read -r wall rss <"$T/cu.time"
    printf 'catch-up: %d entries in %.1f s = %.0f entries/s; peak RSS %.1f MiB\n' \
        "$(status_field "$T/cu.yaml" cursor)" "$wall" \
        "$(echo "$(status_field "$T/cu.yaml" cursor) / $wall" | bc -l)" \
        "$(echo "$rss / 1024" | bc -l)"
    kill "$TL_PID_cu" 2>/dev/null
}

catchup2() {
    local n=${CATCHUP2_ENTRIES:-1000000} t0 t1
    echo "== (a2) unthrottled catch-up of $n entries from the loopback test log's Rekor v2 (tlog-tiles) view"
    t0=$(date +%s.%N)
    tl_start_tiles cv "$n" || return
    t1=$(date +%s.%N)
    printf 'test log startup: %.1f s for %d entries\n' "$(echo "$t1 - $t0" | bc)" "$n"
    TW_CONC=${CATCHUP_CONC:-16} tw_config "$T/cv.yaml" "$TL_URL_cv" "$TL_DIR_cv/trusted_root.json" "$T/cv.db"
    sed -i 's/^    url: \(.*\)$/    url: \1\n    kind: rekor-v2/' "$T/cv.yaml"
    /usr/bin/time -f '%e %M' -o "$T/cv.time" "$TLOGWATCH_BIN" once -c "$T/cv.yaml" >/dev/null 2>"$T/cv.err"
    read -r wall rss <"$T/cv.time"
    printf 'catch-up (v2): %d entries in %.1f s = %.0f entries/s; peak RSS %.1f MiB\n' \
        "$(status_field "$T/cv.yaml" cursor)" "$wall" \
        "$(echo "$(status_field "$T/cv.yaml" cursor) / $wall" | bc -l)" \
        "$(echo "$rss / 1024" | bc -l)"
    kill "$TL_PID_cv" 2>/dev/null
}

catchupct() {
    local n=${CATCHUPCT_ENTRIES:-200000} t0 t1 url
    echo "== (a3) unthrottled catch-up of $n entries from the loopback test log's RFC 6962 CT view (--ct, Fulcio's ctfe shape)"
    tl_start ctrk 10 || return # its tlogs: the trusted root loader wants one
    t0=$(date +%s.%N)
    tl_start_ct cc "$n" ${CATCHUPCT_BATCH:+--ct-batch "$CATCHUPCT_BATCH"} || return
    t1=$(date +%s.%N)
    printf 'test log startup: %.1f s for %d entries\n' "$(echo "$t1 - $t0" | bc)" "$n"
    python3 -c '
import json, sys
ct, rk = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
ct["tlogs"] = rk["tlogs"]
json.dump(ct, open(sys.argv[3], "w"))' "$TL_DIR_cc/trusted_root.json" "$TL_DIR_ctrk/trusted_root.json" "$T/cc.root.json"
    url=$(cat "$TL_DIR_cc/url")
    TW_CONC=${CATCHUP_CONC:-16} tw_config "$T/cc.yaml" "$url" "$T/cc.root.json" "$T/cc.db"
    sed -i 's/^    url: \(.*\)$/    url: \1\n    kind: ct/' "$T/cc.yaml"
    /usr/bin/time -f '%e %M %U %S' -o "$T/cc.time" "$TLOGWATCH_BIN" once -c "$T/cc.yaml" >/dev/null 2>"$T/cc.err"
    read -r wall rss usr sys <"$T/cc.time"
    printf 'catch-up (ct): %d entries in %.1f s = %.0f entries/s; peak RSS %.1f MiB; tlogwatch CPU %.1f s; load average %s\n' \
        "$(status_field "$T/cc.yaml" cursor)" "$wall" \
        "$(echo "$(status_field "$T/cc.yaml" cursor) / $wall" | bc -l)" \
        "$(echo "$rss / 1024" | bc -l)" "$(echo "$usr + $sys" | bc -l)" \
        "$(cut -d' ' -f1-3 /proc/loadavg)"
    kill "$TL_PID_cc" "$TL_PID_ctrk" 2>/dev/null
}

ratelimit() {
    local r secs=${RATE_SECONDS:-30} n wall got rejected
    for r in ${RATES:-20 200}; do
        n=$((10 * r * secs))
        echo "== (b) test log limited to $r requests/s (429 + Retry-After beyond), $n entries"
        tl_start "r$r" "$n" || continue
        eval "url=\$TL_URL_r$r dir=\$TL_DIR_r$r"
        tl_admin "r$r" rate "{\"rps\":$r}" >/dev/null
        tw_config "$T/r$r.yaml" "$url" "$dir/trusted_root.json" "$T/r$r.db"
        /usr/bin/time -f '%e' -o "$T/r$r.time" "$TLOGWATCH_BIN" once -c "$T/r$r.yaml" >/dev/null 2>"$T/r$r.err"
        wall=$(cat "$T/r$r.time")
        got=$(status_field "$T/r$r.yaml" cursor)
        rejected=$(stat_of "r$r" responses_429)
        printf 'R=%d: %d entries in %.1f s = %.0f entries/s = %.0f%% of 10*R; 429s provoked: %s\n' \
            "$r" "$got" "$wall" "$(echo "$got / $wall" | bc -l)" \
            "$(echo "100 * $got / $wall / (10 * $r)" | bc -l)" "$rejected"
    done
}

micro() {
    local b
    for b in bench_merkle bench_store bench_http bench_pipeline bench_fulcio bench_ctleaf; do
        if [ -x "$BUILD/tests/$b" ]; then
            echo "== $b"
            (cd "$T" && "$BUILD/tests/$b")
        fi
    done
}

case $WHAT in
catchup) catchup ;;
catchup2) catchup2 ;;
catchupct) catchupct ;;
ratelimit) ratelimit ;;
micro) micro ;;
*) micro; catchup; catchup2; catchupct; ratelimit ;;
esac
